//! `GetCallerIdentity`, `GetAccessKeyInfo` and `DecodeAuthorizationMessage`.

use serde_json::{json, Map, Value};

use crate::StsError;
use rampart_kit::{
    context::CallContext,
    db::Db,
    error::ServiceError,
    input::{missing_member, required},
};

/// `GetCallerIdentity`: who signed the request (root, user, role session, federated user).
pub fn get_caller_identity(ctx: &CallContext) -> Value {
    let p = &ctx.principal;
    // Sized up front: `json!` would grow the map entry by entry on every call.
    let mut out = Map::with_capacity(3);
    out.insert("UserId".into(), p.user_id.clone().into());
    out.insert("Account".into(), p.account_id.clone().into());
    out.insert("Arn".into(), p.arn.clone().into());
    Value::Object(out)
}

/// `GetAccessKeyInfo`: the account owning an access key id.
pub async fn get_access_key_info(input: &Value, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let akid = required(input, "AccessKeyId", missing_member)?;
    match db.credentials().get(akid).await? {
        Some(key) => Ok(json!({ "Account": key.principal.account_id })),
        None => Err(StsError::InvalidParameterValue(format!(
            "The access key ID {akid} is not valid."
        ))
        .into()),
    }
}

/// `DecodeAuthorizationMessage`: Rampart's denials carry plain messages, never encoded ones,
/// so there is nothing this server could decode.
pub fn decode_authorization_message() -> ServiceError {
    StsError::InvalidAuthorizationMessageException(
        "The message is not an encoded authorization message issued by this server.".into(),
    )
    .into()
}
