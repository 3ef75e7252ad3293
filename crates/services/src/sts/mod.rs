//! AWS Security Token Service.

use rampart_store::Store;
use serde_json::{json, Value};

use crate::{
    authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError,
    registry::not_implemented, registry::Access,
};

/// Whether an STS operation is built, and how it touches state.
pub fn access(operation: &str) -> Option<Access> {
    match operation {
        "GetCallerIdentity" => Some(Access::Read),
        _ => None,
    }
}

/// The authorization entry of an STS operation.
pub async fn authz(
    operation: &str,
    _input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    Ok(match operation {
        // AWS: "No permissions are required to perform this operation."
        "GetCallerIdentity" => Some(AuthzRequest {
            always_allowed: true,
            ..AuthzRequest::on_any("sts:GetCallerIdentity", &ctx.principal.account_id)
        }),
        _ => None,
    })
}

/// Runs an STS operation.
pub async fn handle(
    operation: &str,
    _input: Value,
    ctx: &CallContext,
    _db: Db<'_>,
) -> Result<Value, ServiceError> {
    match operation {
        "GetCallerIdentity" => Ok(get_caller_identity(ctx)),
        _ => Err(not_implemented("sts", operation)),
    }
}

fn get_caller_identity(ctx: &CallContext) -> Value {
    let p = &ctx.principal;
    json!({ "UserId": p.user_id, "Account": p.account_id, "Arn": p.arn })
}
