//! `GetCallerIdentity`, `GetAccessKeyInfo` and `DecodeAuthorizationMessage`.

use serde_json::{json, Value};

use crate::{
    context::CallContext, db::Db, error::ServiceError, iam::common::req_str, sts::StsError,
};

/// `GetCallerIdentity`: who signed the request (root, user, role session, federated user).
pub fn get_caller_identity(ctx: &CallContext) -> Value {
    let p = &ctx.principal;
    json!({ "UserId": p.user_id, "Account": p.account_id, "Arn": p.arn })
}

/// `GetAccessKeyInfo`: the account owning an access key id.
pub async fn get_access_key_info(input: &Value, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let akid = req_str(input, "AccessKeyId")?;
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
