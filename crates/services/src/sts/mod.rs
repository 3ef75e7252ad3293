//! AWS Security Token Service: caller identity and temporary credentials.
//!
//! - [`assume_role`]: `AssumeRole` (trust policy, session policies, tags, chaining).
//! - [`session_token`]: `GetSessionToken` and `GetFederationToken`.
//! - [`info`]: `GetCallerIdentity`, `GetAccessKeyInfo`, `DecodeAuthorizationMessage`.
//! - [`issue`]: issuing a temporary key with its session context.
//! - [`mfa`]: MFA codes presented to STS.

pub mod assume_role;
pub mod info;
pub mod issue;
pub mod mfa;
pub mod session_token;

use rampart_store::Store;
use serde_json::Value;

use crate::{
    authz::AuthzRequest,
    context::CallContext,
    db::Db,
    error::{service_errors, ServiceError},
    registry::not_implemented,
    registry::Access,
};

service_errors! {
    /// STS's errors, named after its codes.
    pub enum StsError for "sts" {
        /// A value fails AWS's validation.
        ValidationError,
        /// A session policy is not valid.
        MalformedPolicyDocument,
        /// Session policies and tags together are too large.
        PackedPolicyTooLarge,
        /// The caller may not do this (session credentials, MFA, ...).
        AccessDenied,
        /// The message was not encoded by this server.
        InvalidAuthorizationMessageException,
        /// A parameter value is not valid.
        InvalidParameterValue,
    }
}

/// Whether an STS operation is built, and how it touches state. Operations that issue a key
/// write it in the same transaction as their audit record.
pub fn access(operation: &str) -> Option<Access> {
    match operation {
        "GetCallerIdentity" | "GetAccessKeyInfo" | "DecodeAuthorizationMessage" => {
            Some(Access::Read)
        }
        "AssumeRole" | "GetSessionToken" | "GetFederationToken" => Some(Access::Write),
        _ => None,
    }
}

/// The authorization entry of an STS operation.
pub async fn authz(
    operation: &str,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    Ok(match operation {
        // AWS: "No permissions are required to perform this operation."
        "GetCallerIdentity" => Some(AuthzRequest {
            always_allowed: true,
            ..AuthzRequest::on_any("sts:GetCallerIdentity", account)
        }),
        // AWS: "No permissions are required for users to perform this operation ... You
        // cannot use policies to control authentication operations."
        "GetSessionToken" => Some(AuthzRequest {
            always_allowed: true,
            ..AuthzRequest::on_any("sts:GetSessionToken", account)
        }),
        "GetAccessKeyInfo" => Some(AuthzRequest::on_any("sts:GetAccessKeyInfo", account)),
        "DecodeAuthorizationMessage" => Some(AuthzRequest::on_any(
            "sts:DecodeAuthorizationMessage",
            account,
        )),
        "GetFederationToken" => Some(session_token::federation_authz(input, ctx)),
        "AssumeRole" => assume_role::authz(input, ctx, store).await?,
        _ => None,
    })
}

/// Runs an STS operation.
pub async fn handle(
    operation: &str,
    input: Value,
    ctx: &CallContext,
    db: Db<'_>,
) -> Result<Value, ServiceError> {
    match operation {
        "GetCallerIdentity" => Ok(info::get_caller_identity(ctx)),
        "GetAccessKeyInfo" => info::get_access_key_info(&input, db).await,
        "DecodeAuthorizationMessage" => Err(info::decode_authorization_message()),
        "AssumeRole" => assume_role::handle(&input, ctx, db).await,
        "GetSessionToken" => session_token::get_session_token(&input, ctx, db).await,
        "GetFederationToken" => session_token::get_federation_token(&input, ctx, db).await,
        _ => Err(not_implemented("sts", operation)),
    }
}
