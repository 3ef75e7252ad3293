//! `AssumeRoleWithWebIdentity`: an unsigned call whose proof is an OpenID Connect token.
//!
//! - [`authenticate`]: the token is verified before anything else: its issuer must be an IAM
//!   OpenID Connect provider of the role's account, its signature must verify against the
//!   issuer's keys ([`crate::oidc`]), its audience must be one of the provider's client ids,
//!   and it must be within `nbf`..`exp`. The caller is then the provider
//!   (`WebIdentityUser`), which a trust policy names as `"Federated"`.
//! - [`authz`]: `sts:AssumeRoleWithWebIdentity` on the role, decided by its trust policy with
//!   the token's condition keys (`ISSUER:sub`, `ISSUER:aud`, `ISSUER:amr`, ...).
//! - [`handle`]: issues the role session, with the session tags of the token's
//!   `https://aws.amazon.com/tags` claim.
//!
//! The token itself is never logged or stored: its model shape is sensitive, so the audit
//! record hides it.

use chrono::{DateTime, Utc};
use rampart_policy::PolicyKind;
use rampart_store::{Principal as KeyOwner, PrincipalKind, Store};
use serde_json::{json, Map, Value};

use crate::{
    assume_role::{check_session_name, denied, trust_allows_with},
    issue,
    oidc::{
        jwks::{KeySets, KeysError},
        jwt::{Jwt, JwtError},
    },
    Op, StsError,
};
use rampart_iam::{
    common::{parse_iam_arn, tags as iam_tags},
    model::{self, RoleDoc, RoleLastUsed},
    oidc_providers::{self, provider_arn},
    roles::{self, LINK_ROLE_SESSION},
};
use rampart_kit::{
    authz::{AuthzRequest, ResourcePolicy, ResourceRef},
    context::{CallContext, ContextEntry, Prepared},
    db::Db,
    entity::read_doc,
    error::ServiceError,
    input::{missing_member, opt_int, opt_str, required},
    json_field::SetField,
    principal::{Principal, SessionContext},
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

/// A session tag: key and value.
type Tag = (String, String);

/// What a verified token established, for the authorization and the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentity {
    /// The provider's ARN (`aws:FederatedProvider`, the response's `Provider`).
    pub provider_arn: String,
    /// The token's `sub`.
    pub subject: String,
    /// The client id the token was issued to (`azp`, else the matching `aud`).
    pub audience: String,
    /// The trust policy's condition keys from the token.
    pub keys: Vec<ContextEntry>,
    /// Session tags from the tags claim.
    pub tags: Vec<Tag>,
    /// Which of them are transitive.
    pub transitive: Vec<String>,
    /// The source identity claim.
    pub source_identity: Option<String>,
}

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
    let arn = provider_arn(account, &doc.url);
    let (tags, transitive) = session_tags(&jwt)?;
    let facts = WebIdentity {
        keys: token_keys(&provider.name, &jwt, &subject, &audience),
        provider_arn: arn.clone(),
        source_identity: jwt.claim_str(SOURCE_IDENTITY_CLAIM).map(str::to_string),
        subject: subject.clone(),
        audience: audience.clone(),
        tags,
        transitive,
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

/// The verified token of this call.
fn facts(ctx: &CallContext) -> Result<&WebIdentity, ServiceError> {
    ctx.prepared
        .as_deref()
        .and_then(Prepared::get::<WebIdentity>)
        .ok_or_else(not_authorized)
}

/// Every condition key of the trust policy's decision: the token's, the request's and the
/// session tags.
fn trust_keys(input: &Value, facts: &WebIdentity) -> Vec<ContextEntry> {
    let mut keys = facts.keys.clone();
    keys.push((
        "aws:FederatedProvider".into(),
        vec![facts.provider_arn.clone()],
    ));
    if let Some(name) = opt_str(input, "RoleSessionName") {
        keys.push(("sts:RoleSessionName".into(), vec![name.to_string()]));
    }
    if let Some(si) = &facts.source_identity {
        keys.push(("sts:SourceIdentity".into(), vec![si.clone()]));
    }
    for (k, v) in &facts.tags {
        keys.push((format!("aws:RequestTag/{k}"), vec![v.clone()]));
    }
    if !facts.tags.is_empty() {
        keys.push((
            "aws:TagKeys".into(),
            facts.tags.iter().map(|(k, _)| k.clone()).collect(),
        ));
    }
    if !facts.transitive.is_empty() {
        keys.push(("sts:TransitiveTagKeys".into(), facts.transitive.clone()));
    }
    keys
}

/// `sts:AssumeRoleWithWebIdentity` on the role, its trust policy required; a role that does
/// not exist gets no entry (AccessDenied, as AWS answers).
pub async fn authz(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let facts = facts(ctx)?;
    let Some(arn) = opt_str(input, "RoleArn") else {
        return Ok(None);
    };
    let Some((account, _, name)) = parse_iam_arn(arn, "role") else {
        return Ok(None);
    };
    let Some(role) = store
        .entities()
        .get(account, model::ROLE, &model::name_key(name))
        .await?
        .filter(|r| r.arn == arn)
    else {
        return Ok(None);
    };
    let doc: RoleDoc = read_doc(&role)?;
    let mut context = trust_keys(input, facts);
    context.extend(iam_tags::resource_context(&doc.tags));
    Ok(Some(AuthzRequest {
        action: "sts:AssumeRoleWithWebIdentity".into(),
        resources: vec![ResourceRef {
            arn: role.arn.clone(),
            account: account.to_string(),
            policy: Some(ResourcePolicy {
                name: format!("trust policy of role {}", role.name),
                document: doc.assume_role_policy.clone(),
                required: true,
                kind: PolicyKind::Trust,
                account_only: false,
            }),
        }],
        context,
        always_allowed: false,
    }))
}

/// Issues the role session.
pub async fn handle(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let db = &mut db;
    let facts = facts(ctx)?;
    let role_arn = required(input, "RoleArn", missing_member)?;
    let (account, name) = match parse_iam_arn(role_arn, "role") {
        Some((account, _, name)) => (account.to_string(), name),
        None => return Err(not_authorized()),
    };
    let (role, mut doc) = match roles::load_role(db, &account, name).await {
        Ok(found) if found.0.arn == role_arn => found,
        _ => return Err(not_authorized()),
    };
    let session_name = required(input, "RoleSessionName", missing_member)?;
    check_session_name(session_name, "roleSessionName", 64)?;
    let duration = issue::check_duration(
        opt_int(input, "DurationSeconds"),
        3600,
        doc.max_session_duration,
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )?;
    let keys = trust_keys(input, facts);
    let allows = |action: &str| {
        trust_allows_with(
            &doc.assume_role_policy,
            action,
            &role.arn,
            &account,
            ctx,
            &keys,
        )
    };
    if !facts.tags.is_empty() && !allows("sts:TagSession") {
        return Err(denied(ctx, "sts:TagSession", &role.arn));
    }
    if facts.source_identity.is_some() && !allows("sts:SetSourceIdentity") {
        return Err(denied(ctx, "sts:SetSourceIdentity", &role.arn));
    }
    let (session_policies, mut packed) = issue::session_policies(db, input).await?;
    packed += facts
        .tags
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>();
    let packed_pct = issue::packed_percent(packed)?;

    let assumed_id = format!("{}:{session_name}", role.id);
    let assumed_arn = format!(
        "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
        role.name
    );
    let context = SessionContext {
        role_id: Some(role.id.clone()),
        role_arn: Some(role.arn.clone()),
        session_name: session_name.to_string(),
        session_policies,
        source_identity: facts.source_identity.clone(),
        tags: facts.tags.clone(),
        transitive_tag_keys: facts.transitive.clone(),
        federated_provider: Some(facts.provider_arn.clone()),
        ..SessionContext::default()
    };
    let owner = KeyOwner {
        account_id: account.clone(),
        kind: PrincipalKind::AssumedRole,
        id: assumed_id.clone(),
        arn: assumed_arn.clone(),
    };
    let issued = issue::issue(db, owner, &context, ctx.now, duration).await?;
    db.links()
        .add(&account, LINK_ROLE_SESSION, &role.id, &issued.access_key_id)
        .await?;
    doc.last_used = Some(RoleLastUsed {
        date: ctx.now,
        region: ctx.region.clone(),
    });
    roles::save_role(db, role, &doc, ctx.now).await?;

    let mut out = json!({
        "Credentials": issued.to_json(),
        "SubjectFromWebIdentityToken": facts.subject,
        "AssumedRoleUser": { "AssumedRoleId": assumed_id, "Arn": assumed_arn },
        "PackedPolicySize": packed_pct,
        "Provider": facts.provider_arn,
        "Audience": facts.audience,
    });
    if let Some(si) = &facts.source_identity {
        out.set_field("SourceIdentity", json!(si));
    }
    Ok(out)
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
