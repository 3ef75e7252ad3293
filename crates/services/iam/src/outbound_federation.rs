//! Outbound web identity federation: the account's own JWT issuer, from which STS
//! `GetWebIdentityToken` signs tokens that external services verify against the issuer's
//! published keys. `EnableOutboundWebIdentityFederation`,
//! `DisableOutboundWebIdentityFederation`, `GetOutboundWebIdentityFederationInfo`.
//!
//! - The first enable makes the issuer: a random id, its URL (the server's issuer base, the
//!   setting [`ISSUER_BASE`], then the id; AWS's is `https://<id>.tokens.sts.global.api.aws`),
//!   and two signing keys, RSA 2048 (`RS256`) and P-384 (`ES384`), the algorithms
//!   `GetWebIdentityToken` offers. The private keys are sealed under the master key; the
//!   public keys are the issuer's JWKS, which the server publishes with its discovery
//!   document at `<issuer>/.well-known/jwks.json` and `/.well-known/openid-configuration`.
//! - Disabling stops the vending of tokens; the issuer, its URL and keys stay, so enabling
//!   again gives the same issuer (tokens already handed out verify until they expire).

use aws_lc_rs::{
    encoding::AsDer,
    rsa::KeySize,
    signature::{EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rampart_store::{aad_for, Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::common::{find, read_doc, save_doc, to_text, IamError, Res};
use rampart_kit::{context::CallContext, db::Db, error::ServiceError};

/// Entity kind of an account's issuer (one per account, named [`NAME`]; entity id
/// `outbound-issuer/<id>`, so the published keys are found by issuer id).
pub const OUTBOUND: &str = "iam:outbound-federation";
const NAME: &str = "outbound";

/// The setting holding the base of issuer URLs (`http://<listen>/_rampart/outbound-oidc`
/// unless the operator sets `--outbound-issuer-base`).
pub const ISSUER_BASE: &str = "iam.outbound-issuer-base";

/// The P-384 signing algorithm of ES384 (fixed-size `r || s` signatures, as JWS wants).
pub const ES384: &aws_lc_rs::signature::EcdsaSigningAlgorithm =
    &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING;

/// One signing key of the issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    /// The key id (`kid`).
    pub kid: String,
    /// `RS256` or `ES384`.
    pub alg: String,
    /// The PKCS#8 private key sealed under the master key (base64).
    pub sealed: String,
    /// The public key as a JWK.
    pub jwk: Value,
}

/// An account's issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// Whether tokens are vended (`JwtVendingEnabled`).
    pub enabled: bool,
    /// The issuer's id (a UUID).
    pub id: String,
    /// The issuer URL (`iss`).
    pub url: String,
    /// The signing keys.
    pub keys: Vec<SigningKey>,
}

impl Issuer {
    /// The JWKS the issuer publishes.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// The OpenID Connect discovery document.
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/.well-known/jwks.json", self.url),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES384"],
        })
    }
}

fn internal(what: &str) -> ServiceError {
    tracing::error!(what, "iam: outbound issuer key failure");
    ServiceError::internal()
}

fn key_aad(account: &str, kid: &str) -> Vec<u8> {
    aad_for(OUTBOUND, "signing-key", &format!("{account}/{kid}"))
}

/// A new signing key for `alg`, its private half sealed for `account`.
fn new_key(db: &Db<'_>, account: &str, alg: &str) -> Res<SigningKey> {
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let b = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
    let (pkcs8, jwk) = match alg {
        "RS256" => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| internal("generate"))?;
            let der = pair.as_der().map_err(|_| internal("pkcs8"))?;
            let c = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": alg, "n": b(&c.n), "e": b(&c.e)});
            (der.as_ref().to_vec(), jwk)
        }
        _ => {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let doc =
                EcdsaKeyPair::generate_pkcs8(ES384, &rng).map_err(|_| internal("generate"))?;
            let pair =
                EcdsaKeyPair::from_pkcs8(ES384, doc.as_ref()).map_err(|_| internal("parse"))?;
            // An uncompressed point: 0x04, then x and y of 48 bytes each.
            let point = pair.public_key().as_ref();
            let (x, y) = match (point.get(1..49), point.get(49..97)) {
                (Some(x), Some(y)) => (x, y),
                _ => return Err(internal("point")),
            };
            let jwk = json!({"kty": "EC", "kid": kid, "use": "sig", "alg": alg, "crv": "P-384", "x": b(x), "y": b(y)});
            (doc.as_ref().to_vec(), jwk)
        }
    };
    let sealed = db
        .master_key()
        .seal(&key_aad(account, &kid), &pkcs8)
        .map_err(|_| internal("seal"))?;
    Ok(SigningKey {
        kid,
        alg: alg.to_string(),
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
        jwk,
    })
}

/// The PKCS#8 private key of `key`, opened for signing (zeroized when dropped).
pub fn private_key(
    db: &Db<'_>,
    account: &str,
    key: &SigningKey,
) -> Res<zeroize::Zeroizing<Vec<u8>>> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&key.sealed)
        .map_err(|_| internal("decode"))?;
    db.master_key()
        .open(&key_aad(account, &key.kid), &sealed)
        .map_err(|_| internal("open"))
}

/// The account's issuer, if it was ever enabled.
pub async fn issuer(db: &mut Db<'_>, account: &str) -> Res<Option<(Entity, Issuer)>> {
    match find(db, account, OUTBOUND, NAME).await? {
        Some(e) => {
            let doc = read_doc(&e)?;
            Ok(Some((e, doc)))
        }
        None => Ok(None),
    }
}

/// The issuer whose id is `id` (for its published keys).
pub async fn by_id(store: &Store, id: &str) -> Res<Option<(String, Issuer)>> {
    let found = store
        .entities()
        .get_by_id(&format!("outbound-issuer/{id}"))
        .await?;
    match found.filter(|e| e.kind == OUTBOUND) {
        Some(e) => Ok(Some((e.account_id.clone(), read_doc(&e)?))),
        None => Ok(None),
    }
}

fn disabled() -> ServiceError {
    IamError::FeatureDisabled(
        "Outbound web identity federation is disabled for this account.".into(),
    )
    .into()
}

/// `EnableOutboundWebIdentityFederation`.
pub async fn enable(_input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let issuer = match issuer(db, account).await? {
        Some((_, i)) if i.enabled => {
            return Err(IamError::FeatureEnabled(
                "Outbound web identity federation is already enabled for this account.".into(),
            )
            .into())
        }
        Some((e, mut i)) => {
            i.enabled = true;
            save_doc(db, e, &i, ctx.now).await?;
            i
        }
        None => {
            let base = db
                .settings()
                .get(ISSUER_BASE)
                .await?
                .unwrap_or_else(|| "http://127.0.0.1:4566/_rampart/outbound-oidc".into());
            let id = uuid::Uuid::new_v4().to_string();
            let i = Issuer {
                enabled: true,
                url: format!("{}/{id}", base.trim_end_matches('/')),
                keys: vec![
                    new_key(db, account, "RS256")?,
                    new_key(db, account, "ES384")?,
                ],
                id,
            };
            db.entities()
                .create(&Entity {
                    account_id: account.clone(),
                    kind: OUTBOUND.into(),
                    name: NAME.into(),
                    name_key: NAME.into(),
                    id: format!("outbound-issuer/{}", i.id),
                    path: "/".into(),
                    arn: ctx.partition().root_arn(account),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                    doc: to_text(&i)?,
                })
                .await?;
            i
        }
    };
    Ok(json!({ "IssuerIdentifier": issuer.url }))
}

/// `DisableOutboundWebIdentityFederation`.
pub async fn disable(_input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    match issuer(db, &ctx.principal.account_id).await? {
        Some((e, mut i)) if i.enabled => {
            i.enabled = false;
            save_doc(db, e, &i, ctx.now).await?;
            Ok(json!({}))
        }
        _ => Err(disabled()),
    }
}

/// `GetOutboundWebIdentityFederationInfo`.
pub async fn info(_input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    match issuer(db, &ctx.principal.account_id).await? {
        Some((_, i)) if i.enabled => Ok(json!({
            "IssuerIdentifier": i.url,
            "JwtVendingEnabled": true,
        })),
        _ => Err(disabled()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn enabling_makes_one_issuer_and_disabling_keeps_it() {
        let (store, _dir) = rampart_kit::test_support::store().await;
        let ctx = rampart_kit::test_support::root_context();
        let run = |op: &'static str| {
            let store = store.clone();
            let ctx = ctx.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                let mut db = Db::Write(&mut tx);
                let out = match op {
                    "enable" => enable(&json!({}), &ctx, &mut db).await,
                    "disable" => disable(&json!({}), &ctx, &mut db).await,
                    _ => info(&json!({}), &ctx, &mut db).await,
                };
                tx.commit().await.unwrap();
                out
            }
        };
        assert_eq!(run("info").await.unwrap_err().code, "FeatureDisabled");
        let url = run("enable").await.unwrap()["IssuerIdentifier"].clone();
        assert_eq!(run("enable").await.unwrap_err().code, "FeatureEnabled");
        assert_eq!(run("info").await.unwrap()["IssuerIdentifier"], url);
        run("disable").await.unwrap();
        assert_eq!(run("disable").await.unwrap_err().code, "FeatureDisabled");
        assert_eq!(run("enable").await.unwrap()["IssuerIdentifier"], url);

        let (_, issuer) = issuer(&mut Db::Read(&store), &ctx.principal.account_id)
            .await
            .unwrap()
            .unwrap();
        let (owner, found) = by_id(&store, &issuer.id).await.unwrap().unwrap();
        assert_eq!(owner, ctx.principal.account_id);
        let algs: Vec<_> = found.keys.iter().map(|k| k.alg.as_str()).collect();
        assert_eq!(algs, ["RS256", "ES384"]);
        // The private keys open only for their account and key id.
        let key = &found.keys[1];
        assert!(private_key(&Db::Read(&store), &owner, key).is_ok());
        assert!(private_key(&Db::Read(&store), "999999999999", key).is_err());
        assert!(
            !found.jwks().to_string().contains("\"d\""),
            "no private part published"
        );
    }
}
