//! Key policies: `GetKeyPolicy`, `PutKeyPolicy`, `ListKeyPolicies`. A key has exactly one
//! policy, named `default`.

use serde_json::{json, Value};

use super::{
    common::{opt_str, req_str},
    error::{KmsError, KmsResult},
    keys::validate_policy,
    repo,
};
use rampart_kit::{context::CallContext, db::Db};

fn check_name(input: &Value) -> KmsResult<()> {
    match opt_str(input, "PolicyName") {
        None | Some("default") => Ok(()),
        Some(other) => Err(KmsError::NotFoundException(format!(
            "No such policy exists: {other}. The only valid key policy name is default."
        ))),
    }
}

/// `GetKeyPolicy`.
pub async fn get_key_policy(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    check_name(input)?;
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    Ok(json!({ "Policy": key.doc.policy, "PolicyName": "default" }))
}

/// `PutKeyPolicy` (the lockout safety check ran with the authorization entry, which can
/// evaluate the caller's policies).
pub async fn put_key_policy(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    check_name(input)?;
    let policy = req_str(input, "Policy")?;
    validate_policy(policy, ctx.partition())?;
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    key.doc.policy = policy.to_string();
    // The authorizer reads the key policy fresh on every call, so no cache needs clearing.
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({}))
}

/// `ListKeyPolicies`.
pub async fn list_key_policies(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> KmsResult<Value> {
    repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    Ok(json!({ "PolicyNames": ["default"], "Truncated": false }))
}
