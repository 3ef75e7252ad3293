//! `AssumeRoleWithWebIdentity`: an unsigned call whose proof is an OpenID Connect token.
//!
//! - [`authenticate`]: the token is verified before anything else: its issuer must be an IAM
//!   OpenID Connect provider of the role's account, its signature must verify against the
//!   issuer's keys ([`crate::oidc`]), its audience must be one of the provider's client ids,
//!   and it must be within `nbf`..`exp`. The caller is then the provider
//!   (`WebIdentityUser`), which a trust policy names as `"Federated"`.
//! - [`crate::federated`]: `sts:AssumeRoleWithWebIdentity` on the role, decided by its trust
//!   policy with the token's condition keys (`ISSUER:sub`, `ISSUER:aud`, `ISSUER:amr`, ...), and
//!   the role session, with the session tags of the token's `https://aws.amazon.com/tags`
//!   claim.
//!
//! The token itself is never logged or stored: its model shape is sensitive, so the audit
//! record hides it.

use chrono::{DateTime, Utc};
use rampart_store::{PrincipalKind, Store};
use serde_json::{json, Map, Value};

use crate::{
    federated::{Proven, Tag},
    oidc::{
        jwks::{KeySets, KeysError},
        jwt::{Jwt, JwtError},
    },
    StsError,
};
use rampart_iam::{
    common::parse_iam_arn,
    oidc_providers::{self, provider_arn},
};
use rampart_kit::{
    context::{CallContext, ContextEntry, Prepared},
    db::Db,
    error::ServiceError,
    input::{missing_member, required},
    principal::Principal,
    route::{Extensions, Proof},
};

/// How far in the future `nbf` may lie (clock skew between the issuer and Rampart).
const CLOCK_SKEW_SECS: i64 = 300;
/// The claim that carries session tags, as AWS documents.
const TAGS_CLAIM: &str = "https://aws.amazon.com/tags";
/// The claim that carries a source identity.
const SOURCE_IDENTITY_CLAIM: &str = "https://aws.amazon.com/source_identity";
/// Most session tags.
const MAX_SESSION_TAGS: usize = 50;

fn invalid(message: impl Into<String>) -> ServiceError {
    StsError::InvalidIdentityToken(message.into()).into()
}

fn not_authorized() -> ServiceError {
    StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity".into()).into()
}

/// The keys of servers that set none up (unit tests): fetched, never offline.
fn fallback_keys() -> &'static KeySets {
    static KEYS: std::sync::OnceLock<KeySets> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| KeySets::new(None))
}

/// Verifies the token and names the caller (see the module's documentation).
pub async fn authenticate(
    input: &Value,
    ctx: &CallContext,
    store: &Store,
    extensions: &Extensions,
) -> Result<Proof, ServiceError> {
    let token = required(input, "WebIdentityToken", missing_member)?;
    let role_arn = required(input, "RoleArn", missing_member)?;
    let Some((account, _, _)) = parse_iam_arn(role_arn, "role") else {
        return Err(not_authorized());
    };
    let jwt = Jwt::parse(token).map_err(|_| {
        invalid("The web identity token that was passed could not be validated by AWS. It is not a well-formed JWT.")
    })?;
    let iss = jwt
        .claim_str("iss")
        .ok_or_else(|| invalid("The web identity token has no iss claim."))?;
    let mut db = Db::Read(store);
    let Some((provider, doc)) = oidc_providers::for_issuer(&mut db, account, iss).await? else {
        return Err(invalid(format!(
            "No OpenIDConnect provider found in your account for {iss}"
        )));
    };
    let keys = extensions
        .get::<KeySets>()
        .unwrap_or_else(|| fallback_keys());
    let kid = jwt.header.get("kid").and_then(Value::as_str);
    let set = keys
        .keys(&doc.url, &provider.name, &doc.thumbprints, kid)
        .await
        .map_err(|e| match e {
            KeysError::Thumbprint => invalid(
                "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
            ),
            KeysError::Unreachable(_) => StsError::IDPCommunicationError(
                "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached.".into(),
            )
            .into(),
            KeysError::Invalid(_) => invalid(
                "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
            ),
        })?;
    jwt.verify(&set).map_err(|e| match e {
        JwtError::Algorithm(alg) => invalid(format!("Unsupported token signing algorithm: {alg}")),
        JwtError::NoKey => invalid(
            "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
        ),
        JwtError::Malformed | JwtError::Signature => {
            invalid("The web identity token that was passed could not be validated by AWS. Its signature does not verify.")
        }
    })?;
    check_times(&jwt, ctx.now)?;
    let audience = audience(&jwt, &doc.client_ids)?;
    let subject = jwt
        .claim_str("sub")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("The web identity token has no sub claim."))?
        .to_string();
    let arn = provider_arn(ctx.partition(), account, &doc.url);
    let (tags, transitive) = session_tags(&jwt)?;
    let keys = token_keys(&provider.name, &jwt, &subject, &audience);
    let facts = Proven {
        action: "sts:AssumeRoleWithWebIdentity",
        provider_arn: arn.clone(),
        keys,
        tags,
        transitive,
        source_identity: jwt.claim_str(SOURCE_IDENTITY_CLAIM).map(str::to_string),
        session_name: None,
        session_duration: None,
        output: json!({
            "SubjectFromWebIdentityToken": subject,
            "Provider": arn,
            "Audience": audience,
        }),
    };
    Ok(Proof {
        principal: Principal::federated(
            PrincipalKind::WebIdentityUser,
            account,
            &arn,
            format!("{arn}:{audience}:{subject}"),
            subject,
        ),
        facts: Prepared::of(facts),
    })
}

/// `exp` (required, no skew, as AWS) and `nbf` (with [`CLOCK_SKEW_SECS`]).
fn check_times(jwt: &Jwt, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let now = now.timestamp();
    let exp = jwt
        .claim_time("exp")
        .ok_or_else(|| invalid("The web identity token has no exp claim."))?;
    if now >= exp {
        return Err(StsError::ExpiredTokenException(format!(
            "Token expired: current date/time {now} must be before the expiration date/time {exp}"
        ))
        .into());
    }
    if jwt
        .claim_time("nbf")
        .is_some_and(|nbf| nbf > now.saturating_add(CLOCK_SKEW_SECS))
    {
        return Err(invalid("The web identity token is not valid yet (nbf)."));
    }
    Ok(())
}

/// The client id the token was issued to: `azp` when present, else an `aud` value; it must
/// be one of the provider's client ids.
fn audience(jwt: &Jwt, client_ids: &[String]) -> Result<String, ServiceError> {
    let auds: Vec<&str> = match jwt.claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let known = |a: &&str| client_ids.iter().any(|c| c == a);
    let chosen = match jwt.claim_str("azp") {
        Some(azp) => Some(azp).filter(known),
        None => auds.iter().copied().find(known),
    };
    chosen
        .map(str::to_string)
        .ok_or_else(|| invalid("Incorrect token audience"))
}

/// The condition keys of the token: `NAME:sub`, `NAME:aud`, `NAME:oaud` (the `aud` claim
/// when `azp` is the audience), `NAME:amr`, where NAME is the provider's URL without
/// `https://`.
fn token_keys(name: &str, jwt: &Jwt, subject: &str, audience: &str) -> Vec<ContextEntry> {
    let mut keys = vec![
        (format!("{name}:sub"), vec![subject.to_string()]),
        (format!("{name}:aud"), vec![audience.to_string()]),
    ];
    if jwt.claims.contains_key("azp") {
        let oaud: Vec<String> = match jwt.claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        if !oaud.is_empty() {
            keys.push((format!("{name}:oaud"), oaud));
        }
    }
    let amr: Vec<String> = match jwt.claims.get("amr") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if !amr.is_empty() {
        keys.push((format!("{name}:amr"), amr));
    }
    keys
}

/// The session tags of the tags claim: `{"principal_tags": {"K": ["V"]},
/// "transitive_tag_keys": ["K"]}`; a claim of another shape is rejected.
fn session_tags(jwt: &Jwt) -> Result<(Vec<Tag>, Vec<String>), ServiceError> {
    let Some(claim) = jwt.claims.get(TAGS_CLAIM) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let rejected = |why: &str| -> ServiceError {
        StsError::IDPRejectedClaim(format!("The session tags claim is not valid: {why}")).into()
    };
    let empty = Map::new();
    let principal_tags = match claim.get("principal_tags") {
        Some(Value::Object(m)) => m,
        None => &empty,
        Some(_) => return Err(rejected("principal_tags must be an object")),
    };
    let mut tags = Vec::new();
    for (k, v) in principal_tags {
        let value = match v {
            Value::Array(a) if a.len() == 1 => a.first().and_then(Value::as_str),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        };
        let Some(value) = value else {
            return Err(rejected("each tag takes exactly one string value"));
        };
        if k.is_empty() || k.len() > 128 || value.len() > 256 {
            return Err(rejected("a tag key or value has the wrong length"));
        }
        if tags
            .iter()
            .any(|(t, _): &(String, String)| t.eq_ignore_ascii_case(k))
        {
            return Err(rejected(
                "duplicate tag keys (tag keys are case insensitive)",
            ));
        }
        tags.push((k.clone(), value.to_string()));
    }
    if tags.len() > MAX_SESSION_TAGS {
        return Err(rejected("more than 50 session tags"));
    }
    let mut transitive = Vec::new();
    match claim.get("transitive_tag_keys") {
        None => {}
        Some(Value::Array(a)) => {
            for k in a {
                let Some(k) = k.as_str() else {
                    return Err(rejected("transitive_tag_keys must be strings"));
                };
                if !tags.iter().any(|(t, _)| t.eq_ignore_ascii_case(k)) {
                    return Err(rejected("a transitive tag key is not a session tag key"));
                }
                transitive.push(k.to_string());
            }
        }
        Some(_) => return Err(rejected("transitive_tag_keys must be a list")),
    }
    Ok((tags, transitive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jwt::tests::TestKey;

    fn jwt(claims: Value) -> Jwt {
        Jwt::parse(&TestKey::ec().sign("k", &claims)).unwrap()
    }

    #[test]
    fn expiry_is_exact_and_not_before_allows_skew() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert!(check_times(&jwt(json!({"exp": 1_000_001})), now).is_ok());
        let e = check_times(&jwt(json!({"exp": 1_000_000})), now).unwrap_err();
        assert_eq!(e.code, "ExpiredTokenException");
        assert_eq!(
            e.message,
            "Token expired: current date/time 1000000 must be before the expiration date/time 1000000"
        );
        assert_eq!(
            check_times(&jwt(json!({})), now).unwrap_err().code,
            "InvalidIdentityToken"
        );
        assert!(check_times(&jwt(json!({"exp": 2_000_000, "nbf": 1_000_300})), now).is_ok());
        assert!(check_times(&jwt(json!({"exp": 2_000_000, "nbf": 1_000_301})), now).is_err());
    }

    #[test]
    fn the_audience_is_azp_or_a_matching_aud() {
        let ids = vec!["app".to_string(), "cli".to_string()];
        assert_eq!(audience(&jwt(json!({"aud": "app"})), &ids).unwrap(), "app");
        assert_eq!(
            audience(&jwt(json!({"aud": ["x", "cli"]})), &ids).unwrap(),
            "cli"
        );
        assert_eq!(
            audience(&jwt(json!({"aud": "x", "azp": "app"})), &ids).unwrap(),
            "app"
        );
        assert!(audience(&jwt(json!({"aud": "app", "azp": "x"})), &ids).is_err());
        let e = audience(&jwt(json!({"aud": "other"})), &ids).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("InvalidIdentityToken", "Incorrect token audience")
        );
    }

    #[test]
    fn token_keys_and_session_tags_come_from_the_claims() {
        let t = jwt(json!({
            "aud": "x", "azp": "app", "amr": ["pwd", "mfa"],
            TAGS_CLAIM: {"principal_tags": {"team": ["red"], "cc": ["42"]}, "transitive_tag_keys": ["cc"]},
        }));
        let keys = token_keys("id.example.com/r", &t, "alice", "app");
        let get = |k: &str| keys.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("id.example.com/r:sub"), Some(vec!["alice".into()]));
        assert_eq!(get("id.example.com/r:aud"), Some(vec!["app".into()]));
        assert_eq!(get("id.example.com/r:oaud"), Some(vec!["x".into()]));
        assert_eq!(
            get("id.example.com/r:amr"),
            Some(vec!["pwd".into(), "mfa".into()])
        );
        let (tags, transitive) = session_tags(&t).unwrap();
        assert_eq!(
            tags,
            [("team".into(), "red".into()), ("cc".into(), "42".into())]
        );
        assert_eq!(transitive, ["cc"]);
        for bad in [
            json!({TAGS_CLAIM: {"principal_tags": {"a": ["1", "2"]}}}),
            json!({TAGS_CLAIM: {"principal_tags": {"a": ["1"]}, "transitive_tag_keys": ["b"]}}),
            json!({TAGS_CLAIM: {"principal_tags": {"a": ["1"], "A": ["2"]}}}),
            json!({TAGS_CLAIM: {"principal_tags": []}}),
        ] {
            assert_eq!(
                session_tags(&jwt(bad)).unwrap_err().code,
                "IDPRejectedClaim"
            );
        }
    }
}
