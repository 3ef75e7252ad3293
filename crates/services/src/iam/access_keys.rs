//! IAM: access_keys (not built yet).

use rampart_store::Store;
use serde_json::Value;

use crate::{
    authz::AuthzRequest,
    context::CallContext,
    db::Db,
    error::ServiceError,
    registry::{not_implemented, Access},
};

/// Whether this family owns `operation`, and how it touches state.
pub fn access(_operation: &str) -> Option<Access> {
    None
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    _operation: &str,
    _input: &Value,
    _ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    Ok(None)
}

/// Runs an operation of this family.
pub async fn handle(
    operation: &str,
    _input: Value,
    _ctx: &CallContext,
    _db: Db<'_>,
) -> Result<Value, ServiceError> {
    Err(not_implemented("iam", operation))
}
