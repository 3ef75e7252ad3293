//! `GetWebIdentityToken`: a JWT signed by the account's outbound issuer
//! (`rampart_iam::outbound_federation`) that names the caller, for external services that
//! verify it against the issuer's published keys.
//!
//! Claims, as AWS documents them: `iss` (the issuer URL), `aud` (the `Audience` given: a string
//! for one, a list for several), `sub` (the caller: the role of a role session, else the user
//! or root ARN), `iat`, `exp`, `jti`, and under `https://sts.amazonaws.com/`: `aws_account`,
//! `source_region`, `principal_id` (as `sub`), `principal_tags` (a session's tags) and
//! `request_tags` (the request's `Tags`). Signed with `RS256` or `ES384`, as asked.

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, RsaKeyPair, RSA_PKCS1_SHA256},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::Duration;
use serde_json::{json, Map, Value};

use super::{assume_role::session_tags, StsError};
use rampart_iam::outbound_federation::{self, ES384};
use rampart_kit::{
    authz::AuthzRequest,
    context::{CallContext, ContextEntry},
    db::Db,
    error::ServiceError,
    input::opt_str,
    timestamp::ts,
};

/// Token lifetime bounds and default, in seconds.
const MIN_SECS: i64 = 60;
const MAX_SECS: i64 = 3600;
const DEFAULT_SECS: i64 = 300;
/// The largest token payload (the claims' JSON, before encoding) signed, in bytes: AWS
/// refuses larger ones with `JWTPayloadSizeExceededException` but does not publish its limit,
/// so this is Rampart's choice (docs/FEDERATION.md): 8 KiB, which a token of the most
/// claims Rampart writes and a few request tags stays well under, while the model's largest
/// request (10 audiences of 1,000 characters, 50 tags of 128 and 256) is far over.
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024;
/// AWS's text for a payload over [`MAX_PAYLOAD_BYTES`] (the exception's documentation).
const PAYLOAD_TOO_LARGE: &str = "The requested token payload size exceeds the maximum allowed size. Reduce the number of request tags included in the GetWebIdentityToken API call to reduce the token payload size.";
/// The namespace of AWS's own claims.
const NAMESPACE: &str = "https://sts.amazonaws.com/";

fn audiences(input: &Value) -> Vec<String> {
    input
        .get("Audience")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The identity a token names: the role of a role session, else the caller's ARN.
fn subject(ctx: &CallContext) -> String {
    let p = &ctx.principal;
    p.session
        .as_ref()
        .and_then(|s| s.context.role_arn.clone())
        .unwrap_or_else(|| p.arn.clone())
}

/// The question of `sts:GetWebIdentityToken`, with its condition keys
/// (`sts:IdentityTokenAudience`, `sts:DurationSeconds`, `sts:SigningAlgorithm`, request tags).
pub fn authz(input: &Value, ctx: &CallContext) -> AuthzRequest {
    let mut req = AuthzRequest::on_any("sts:GetWebIdentityToken", &ctx.principal.account_id);
    let mut keys: Vec<ContextEntry> = vec![("sts:IdentityTokenAudience".into(), audiences(input))];
    let secs = input["DurationSeconds"].as_i64().unwrap_or(DEFAULT_SECS);
    keys.push(("sts:DurationSeconds".into(), vec![secs.to_string()]));
    if let Some(alg) = opt_str(input, "SigningAlgorithm") {
        keys.push(("sts:SigningAlgorithm".into(), vec![alg.to_string()]));
    }
    let tags = session_tags(input);
    for (k, v) in &tags {
        keys.push((format!("aws:RequestTag/{k}"), vec![v.clone()]));
    }
    if !tags.is_empty() {
        keys.push((
            "aws:TagKeys".into(),
            tags.into_iter().map(|(k, _)| k).collect(),
        ));
    }
    req.context = keys;
    req
}

fn invalid(message: String) -> ServiceError {
    StsError::ValidationError(message).into()
}

/// Runs `GetWebIdentityToken`.
pub async fn handle(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let secs = input["DurationSeconds"].as_i64().unwrap_or(DEFAULT_SECS);
    if !(MIN_SECS..=MAX_SECS).contains(&secs) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{secs}' at 'durationSeconds' failed to satisfy constraint: Member must have value between {MIN_SECS} and {MAX_SECS}"
        )));
    }
    let alg = opt_str(input, "SigningAlgorithm").unwrap_or_default();
    if alg != "RS256" && alg != "ES384" {
        return Err(invalid(format!(
            "1 validation error detected: Value '{alg}' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]"
        )));
    }
    let account = &ctx.principal.account_id;
    let issuer = match outbound_federation::issuer(&mut db, account).await? {
        Some((_, i)) if i.enabled => i,
        _ => {
            return Err(StsError::OutboundWebIdentityFederationDisabledException(
                "Outbound web identity federation is disabled for this account.".into(),
            )
            .into())
        }
    };
    let expires = ctx.now + Duration::seconds(secs);
    // A session cannot vend a token that outlives it.
    if let Some(s) = &ctx.principal.session {
        if expires > s.expires_at {
            return Err(StsError::SessionDurationEscalationException(
                "The requested token duration would extend the session beyond its original expiration time.".into(),
            )
            .into());
        }
    }
    let Some(key) = issuer.keys.iter().find(|k| k.alg == alg) else {
        return Err(ServiceError::internal());
    };
    let claims = claims(input, ctx, &issuer.url, secs);
    if claims.to_string().len() > MAX_PAYLOAD_BYTES {
        return Err(StsError::JWTPayloadSizeExceededException(PAYLOAD_TOO_LARGE.into()).into());
    }
    let token = sign(&db, account, key, &claims)?;
    Ok(json!({ "WebIdentityToken": token, "Expiration": ts(expires) }))
}

/// The token's claims.
fn claims(input: &Value, ctx: &CallContext, issuer: &str, secs: i64) -> Value {
    let aud = audiences(input);
    let iat = ctx.now.timestamp();
    let sub = subject(ctx);
    let mut aws = Map::new();
    aws.insert("aws_account".into(), json!(ctx.principal.account_id));
    aws.insert("source_region".into(), json!(ctx.region));
    aws.insert("principal_id".into(), json!(sub));
    let held = ctx
        .principal
        .session
        .as_ref()
        .map(|s| s.context.tags.clone())
        .unwrap_or_default();
    if !held.is_empty() {
        aws.insert("principal_tags".into(), json!(pairs(held)));
    }
    let request_tags = session_tags(input);
    if !request_tags.is_empty() {
        aws.insert("request_tags".into(), json!(pairs(request_tags)));
    }
    let aud = match aud.as_slice() {
        [one] => json!(one),
        all => json!(all),
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), aud);
    claims.insert("sub".into(), json!(sub));
    claims.insert("iat".into(), json!(iat));
    claims.insert("exp".into(), json!(iat + secs));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    claims.insert(NAMESPACE.into(), Value::Object(aws));
    Value::Object(claims)
}

fn pairs(tags: Vec<(String, String)>) -> Map<String, Value> {
    tags.into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// The compact JWS of `claims` under `key`.
fn sign(
    db: &Db<'_>,
    account: &str,
    key: &outbound_federation::SigningKey,
    claims: &Value,
) -> Result<String, ServiceError> {
    let header = json!({ "alg": key.alg, "kid": key.kid, "typ": "JWT" });
    let b = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", b(&header), b(claims));
    let pkcs8 = outbound_federation::private_key(db, account, key)?;
    let rng = SystemRandom::new();
    let failed = |_| {
        tracing::error!("sts: a web identity token could not be signed");
        ServiceError::internal()
    };
    let signature = if key.alg == "RS256" {
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| ServiceError::internal())?;
        let mut out = vec![0u8; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut out)
            .map_err(failed)?;
        out
    } else {
        let pair = EcdsaKeyPair::from_pkcs8(ES384, &pkcs8).map_err(|_| ServiceError::internal())?;
        pair.sign(&rng, input.as_bytes())
            .map_err(failed)?
            .as_ref()
            .to_vec()
    };
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jwt::Jwt;

    #[tokio::test]
    async fn tokens_verify_against_the_published_keys_only() {
        let (store, _dir) = rampart_kit::test_support::store().await;
        let ctx = rampart_kit::test_support::root_context();
        let input = json!({"Audience": ["https://api.example.com"], "SigningAlgorithm": "ES384"});
        let refused = handle(&input, &ctx, Db::Read(&store)).await.unwrap_err();
        assert_eq!(
            refused.code,
            "OutboundWebIdentityFederationDisabledException"
        );
        let mut tx = store.begin().await.unwrap();
        outbound_federation::enable(&json!({}), &ctx, &mut Db::Write(&mut tx))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (_, issuer) =
            outbound_federation::issuer(&mut Db::Read(&store), &ctx.principal.account_id)
                .await
                .unwrap()
                .unwrap();
        let keys = issuer.jwks()["keys"].as_array().unwrap().clone();
        for alg in ["RS256", "ES384"] {
            let input = json!({
                "Audience": ["https://api.example.com"],
                "SigningAlgorithm": alg,
                "Tags": [{"Key": "job", "Value": "42"}],
            });
            let out = handle(&input, &ctx, Db::Read(&store)).await.unwrap();
            let jwt = Jwt::parse(out["WebIdentityToken"].as_str().unwrap()).unwrap();
            assert_eq!(jwt.alg(), alg);
            jwt.verify(&keys).unwrap();
            assert_eq!(jwt.claim_str("iss"), Some(issuer.url.as_str()));
            assert_eq!(jwt.claim_str("aud"), Some("https://api.example.com"));
            assert_eq!(jwt.claim_str("sub"), Some(ctx.principal.arn.as_str()));
            assert_eq!(jwt.claims[NAMESPACE]["request_tags"]["job"], "42");
            assert_eq!(
                jwt.claim_time("exp").unwrap() - jwt.claim_time("iat").unwrap(),
                DEFAULT_SECS
            );
        }
        // A payload over the limit is refused; one just under it is signed.
        let tags = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"Key": format!("k{i:03}"), "Value": "v".repeat(200)}))
                .collect()
        };
        let big = json!({"Audience": ["a"], "SigningAlgorithm": "RS256", "Tags": tags(50)});
        let err = handle(&big, &ctx, Db::Read(&store)).await.unwrap_err();
        assert_eq!(err.code, "JWTPayloadSizeExceededException");
        assert_eq!(err.message, PAYLOAD_TOO_LARGE);
        let fits = json!({"Audience": ["a"], "SigningAlgorithm": "RS256", "Tags": tags(30)});
        let out = handle(&fits, &ctx, Db::Read(&store)).await.unwrap();
        let jwt = Jwt::parse(out["WebIdentityToken"].as_str().unwrap()).unwrap();
        let size = serde_json::to_string(&jwt.claims).unwrap().len();
        assert!(
            size <= MAX_PAYLOAD_BYTES && size > MAX_PAYLOAD_BYTES * 3 / 4,
            "{size}"
        );
        for (bad, member) in [
            (
                json!({"Audience": ["a"], "SigningAlgorithm": "HS256"}),
                "signingAlgorithm",
            ),
            (
                json!({"Audience": ["a"], "SigningAlgorithm": "RS256", "DurationSeconds": 59}),
                "durationSeconds",
            ),
            (
                json!({"Audience": ["a"], "SigningAlgorithm": "RS256", "DurationSeconds": 3601}),
                "durationSeconds",
            ),
        ] {
            let err = handle(&bad, &ctx, Db::Read(&store)).await.unwrap_err();
            assert!(err.message.contains(member), "{}", err.message);
        }
    }
}
