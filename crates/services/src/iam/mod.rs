//! AWS Identity and Access Management (awsQuery).
//!
//! One file per resource family; each exposes the same trio (`access`, `authz`, `handle`) for
//! the operations it owns, and this module chains them. Entities are stored as generic store
//! entities whose JSON documents are defined in [`model`].

pub mod access_keys;
pub mod account;
pub mod caller;
pub mod common;
pub mod credential_report;
pub mod groups;
pub mod instance_profiles;
pub mod last_accessed;
pub mod login_profiles;
pub mod mfa;
pub mod mfa_device;
pub mod model;
pub mod passwords;
pub mod policies;
pub mod roles;
pub mod signin;
pub mod sim_principal;
pub mod simulate;
pub mod totp;
pub mod users;

use rampart_store::Store;
use serde_json::Value;

use crate::{
    authz::{AuthzRequest, CallerPolicies},
    context::CallContext,
    db::Db,
    error::ServiceError,
    principal::Principal,
    registry::{not_implemented, Access},
};

macro_rules! chain {
    ($($family:ident),* $(,)?) => {
        /// Whether an IAM operation is built, and how it touches state.
        pub fn access(operation: &str) -> Option<Access> {
            None$(.or_else(|| $family::access(operation)))*
        }

        /// The authorization entry of an IAM operation (`Ok(None)`: no entry, denied).
        pub async fn authz(
            operation: &str,
            input: &Value,
            ctx: &CallContext,
            store: &Store,
        ) -> Result<Option<AuthzRequest>, ServiceError> {
            session_token_gate(ctx)?;
            $(
                if $family::access(operation).is_some() {
                    return $family::authz(operation, input, ctx, store).await;
                }
            )*
            Ok(None)
        }

        /// Runs an IAM operation.
        pub async fn handle(
            operation: &str,
            input: Value,
            ctx: &CallContext,
            db: Db<'_>,
        ) -> Result<Value, ServiceError> {
            $(
                if $family::access(operation).is_some() {
                    return $family::handle(operation, input, ctx, db).await;
                }
            )*
            Err(not_implemented("iam", operation))
        }
    };
}

chain!(
    users,
    groups,
    policies,
    access_keys,
    account,
    roles,
    instance_profiles,
    simulate,
    mfa,
    login_profiles,
    credential_report,
    last_accessed
);

/// AWS: credentials from `GetSessionToken` cannot call any IAM operation unless MFA was
/// presented to obtain them; AWS answers as if the token were invalid.
fn session_token_gate(ctx: &CallContext) -> Result<(), ServiceError> {
    let p = &ctx.principal;
    let from_get_session_token = matches!(
        p.kind,
        crate::principal::PrincipalKind::User | crate::principal::PrincipalKind::Root
    );
    match &p.session {
        Some(s) if from_get_session_token && s.mfa_authenticated_at.is_none() => {
            Err(ServiceError::sender(
                "InvalidClientTokenId",
                "The security token included in the request is invalid",
            ))
        }
        _ => Ok(()),
    }
}

/// The caller's identity-based policies, boundary and session policies, read fresh.
pub async fn caller_policies(
    principal: &Principal,
    store: &Store,
) -> Result<CallerPolicies, ServiceError> {
    caller::policies(principal, store).await
}
