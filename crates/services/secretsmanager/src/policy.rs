//! Resource policies of secrets: `PutResourcePolicy`, `GetResourcePolicy`,
//! `DeleteResourcePolicy`. The policy takes part in every decision on the secret (see
//! [`super::authz`]); cross-account access needs it and the caller's own policies.

use rampart_policy::{Policy, PolicyKind};
use serde_json::{json, Value};

use super::{
    common::req_str,
    error::{SmError, SmResult},
    repo,
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

/// Largest resource policy, in characters.
const MAX_POLICY_LEN: usize = 20_480;

/// Checks a resource policy's grammar.
pub fn validate(policy: &str) -> SmResult<()> {
    if policy.len() > MAX_POLICY_LEN {
        return Err(SmError::LimitExceededException(
            "The resource policy exceeds the maximum size of 20480 characters.".into(),
        ));
    }
    Policy::parse(policy, PolicyKind::Resource)
        .map(|_| ())
        .map_err(|err| {
            SmError::MalformedPolicyDocumentException(format!(
                "This resource policy contains a syntax error: {err}"
            ))
        })
}

/// `PutResourcePolicy`.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let policy = req_str(input, "ResourcePolicy")?;
    validate(policy)?;
    let mut secret = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    secret.doc.policy = Some(policy.to_string());
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({ "ARN": secret.arn(), "Name": secret.name() }))
}

/// `GetResourcePolicy` (no `ResourcePolicy` member when the secret has none).
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let secret = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let mut out = json!({ "ARN": secret.arn(), "Name": secret.name() });
    if let Some(p) = &secret.doc.policy {
        out.set_field("ResourcePolicy", json!(p));
    }
    Ok(out)
}

/// `DeleteResourcePolicy`.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    secret.doc.policy = None;
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({ "ARN": secret.arn(), "Name": secret.name() }))
}
