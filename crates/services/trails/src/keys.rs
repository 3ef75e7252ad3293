//! The key pairs that sign digest files: one RSA-2048 pair per region at a time, each valid
//! for [`VALIDITY_DAYS`] on the request clock and replaced when its window ends. The private
//! key (PKCS#8) is sealed under the master key, bound to its entity; the public key is served
//! by `ListPublicKeys` for its validity window, as PKCS#1 `RSAPublicKey` DER, which is what
//! `aws cloudtrail validate-logs` loads, fingerprinted by the hex MD5 of that DER.
//!
//! Keys are entities of kind `cloudtrail:signing-key` in the pseudo-account `~cloudtrail`,
//! path `/<region>/`, keyed by region and the start of their window.

use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{self, KeyPair as _},
};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use md5::{Digest, Md5};
use rampart_cloudtrail::CloudTrailError;
use rampart_kit::{context::CallContext, db::Db, entity, error::ServiceError};
use rampart_store::{aad_for, Entity};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::model::SYSTEM_ACCOUNT;

/// The entity kind of a signing key.
pub const KEY: &str = "cloudtrail:signing-key";
/// How long a key signs before the next one takes over.
pub const VALIDITY_DAYS: i64 = 30;

/// A stored key pair.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyDoc {
    /// The region it signs for.
    pub region: String,
    /// Hex MD5 of the public key's DER.
    pub fingerprint: String,
    /// The public key, PKCS#1 `RSAPublicKey` DER, base64.
    pub public_der: String,
    /// The private key, PKCS#8 DER sealed under the master key, base64.
    pub sealed_private: String,
    /// The start of its window.
    pub valid_from: DateTime<Utc>,
    /// The end of its window.
    pub valid_to: DateTime<Utc>,
}

/// A key ready to sign.
pub struct SigningKey {
    /// The public key's fingerprint (`digestPublicKeyFingerprint`).
    pub fingerprint: String,
    private: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint)
    }
}

impl SigningKey {
    /// SHA256withRSA (PKCS#1 v1.5) over `message`, hex.
    pub fn sign(&self, message: &[u8]) -> Result<String, ServiceError> {
        let pair = signature::RsaKeyPair::from_pkcs8(&self.private).map_err(|_| internal("key"))?;
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message,
            &mut sig,
        )
        .map_err(|_| internal("sign"))?;
        Ok(hex::encode(sig))
    }
}

fn internal(what: &str) -> ServiceError {
    tracing::error!(what, "cloudtrail signing key failure");
    ServiceError::internal()
}

fn aad(name_key: &str) -> Vec<u8> {
    aad_for("entities", "cloudtrail-signing-key", name_key)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn region_path(region: &str) -> String {
    format!("/{region}/")
}

/// Every key of `region`, oldest first.
async fn keys_of(db: &mut Db<'_>, region: &str) -> Result<Vec<KeyDoc>, ServiceError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(
                SYSTEM_ACCOUNT,
                KEY,
                &region_path(region),
                after.as_deref(),
                100,
            )
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        for e in &page.items {
            out.push(entity::read_doc::<KeyDoc>(e)?);
        }
        if !page.truncated {
            break;
        }
    }
    out.retain(|k| k.region == region);
    out.sort_by_key(|k| k.valid_from);
    Ok(out)
}

/// The public keys (PKCS#1 `RSAPublicKey` DER) that ever signed for `region`, by
/// fingerprint: what a validator checks digest signatures against.
pub async fn public_keys(
    db: &mut Db<'_>,
    region: &str,
) -> Result<Vec<(String, Vec<u8>)>, ServiceError> {
    let mut out = Vec::new();
    for k in keys_of(db, region).await? {
        let der = base64::engine::general_purpose::STANDARD
            .decode(&k.public_der)
            .map_err(|_| internal("public key"))?;
        out.push((k.fingerprint, der));
    }
    Ok(out)
}

/// The key that signs for `region` at `now`, made (inside the caller's write transaction)
/// when no stored key's window holds `now`.
pub async fn current(
    db: &mut Db<'_>,
    region: &str,
    now: DateTime<Utc>,
) -> Result<SigningKey, ServiceError> {
    let found = keys_of(db, region)
        .await?
        .into_iter()
        .rev()
        .find(|k| k.valid_from <= now && now < k.valid_to);
    let (doc, name_key) = match found {
        Some(doc) => {
            let name_key = key_name(&doc);
            (doc, name_key)
        }
        None => create(db, region, now).await?,
    };
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&doc.sealed_private)
        .map_err(|_| internal("sealed key"))?;
    let private = db
        .master_key()
        .open(&aad(&name_key), &sealed)
        .map_err(|_| internal("unseal"))?;
    Ok(SigningKey {
        fingerprint: doc.fingerprint,
        private: Zeroizing::new(private.to_vec()),
    })
}

fn key_name(doc: &KeyDoc) -> String {
    format!(
        "{}/{}/{}",
        doc.region,
        doc.valid_from.timestamp(),
        doc.fingerprint
    )
}

async fn create(
    db: &mut Db<'_>,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(KeyDoc, String), ServiceError> {
    let pair =
        aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|_| internal("generate"))?;
    let pkcs8 = pair.as_der().map_err(|_| internal("pkcs8"))?;
    let public = pair.public_key().as_ref().to_vec();
    let fingerprint = hex::encode(Md5::digest(&public));
    let mut doc = KeyDoc {
        region: region.to_string(),
        fingerprint,
        public_der: b64(&public),
        sealed_private: String::new(),
        valid_from: now,
        valid_to: now + Duration::days(VALIDITY_DAYS),
    };
    let name_key = key_name(&doc);
    let sealed = db
        .master_key()
        .seal(&aad(&name_key), pkcs8.as_ref())
        .map_err(|_| internal("seal"))?;
    doc.sealed_private = b64(&sealed);
    let e = Entity {
        account_id: SYSTEM_ACCOUNT.into(),
        kind: KEY.into(),
        name: name_key.clone(),
        name_key: name_key.clone(),
        id: format!("cloudtrail:signing-key/{name_key}"),
        path: region_path(region),
        arn: String::new(),
        created_at: now,
        updated_at: now,
        doc: entity::to_text(&doc)?,
    };
    db.entities().create(&e).await?;
    Ok((doc, name_key))
}

/// Decoded timestamps are epoch seconds.
fn time_of(v: Option<&Value>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis((v?.as_f64()? * 1000.0) as i64)
}

/// `ListPublicKeys`: the region's keys whose window overlaps `StartTime`..`EndTime` (the
/// current key when neither is given). `Value` is the DER key (base64 on the wire, which the
/// aws CLI leaves undecoded and `validate-logs` decodes itself).
pub async fn list_public_keys(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let start = time_of(input.get("StartTime"));
    let end = time_of(input.get("EndTime"));
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(CloudTrailError::InvalidTimeRangeException.into());
        }
    }
    if input.get("NextToken").and_then(Value::as_str).is_some() {
        return Err(CloudTrailError::InvalidTokenException("Invalid NextToken.".into()).into());
    }
    let (from, to) = match (start, end) {
        (None, None) => (ctx.now, ctx.now),
        (s, e) => (s.unwrap_or(DateTime::<Utc>::MIN_UTC), e.unwrap_or(ctx.now)),
    };
    let keys: Vec<Value> = keys_of(&mut db, &ctx.region)
        .await?
        .into_iter()
        .filter(|k| k.valid_from <= to && from < k.valid_to)
        .map(|k| {
            json!({
                "Value": k.public_der,
                "ValidityStartTime": k.valid_from.timestamp(),
                "ValidityEndTime": k.valid_to.timestamp(),
                "Fingerprint": k.fingerprint,
            })
        })
        .collect();
    Ok(json!({ "PublicKeyList": keys }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_region_key_is_made_once_per_window_and_signs_verifiably() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut tx = store.begin().await.unwrap();
        let a = current(&mut Db::Write(&mut tx), "us-east-1", t0)
            .await
            .unwrap();
        let b = current(&mut Db::Write(&mut tx), "us-east-1", t0 + Duration::days(1))
            .await
            .unwrap();
        let later = t0 + Duration::days(VALIDITY_DAYS + 1);
        let c = current(&mut Db::Write(&mut tx), "us-east-1", later)
            .await
            .unwrap();
        let other = current(&mut Db::Write(&mut tx), "eu-west-1", t0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_ne!(a.fingerprint, other.fingerprint);
        let keys = keys_of(&mut Db::Read(&store), "us-east-1").await.unwrap();
        assert_eq!(keys.len(), 2);
        assert!(
            !keys[0].sealed_private.contains("MII"),
            "the private key is sealed"
        );
        let sig = hex::decode(a.sign(b"hello").unwrap()).unwrap();
        let der = base64::engine::general_purpose::STANDARD
            .decode(&keys[0].public_der)
            .unwrap();
        let public = signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der);
        assert!(public.verify(b"hello", &sig).is_ok());
        assert!(public.verify(b"hellO", &sig).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
