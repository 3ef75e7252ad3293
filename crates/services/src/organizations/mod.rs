//! AWS Organizations (awsJson1.1, `AWSOrganizationsV20161128.*`).
//!
//! One file per resource family, each exposing `access`, `authz` and `handle` for the
//! operations it owns; this module chains them. Everything an organization owns is stored as
//! generic store entities under its management account ([`model`]). Every change that can
//! alter an authorization decision (membership, tree, policies, attachments) bumps the store's
//! authorization epoch, so SCPs and RCPs take effect on the next request.
//!
//! - [`organization`] — create, describe, delete, leave.
//! - [`tree`] — roots and organizational units.
//! - [`accounts`] — accounts, `CreateAccount` requests, moves and removals.
//! - [`provision`] — completes `CreateAccount` requests in the background.
//! - [`handshakes`] — invitations.
//! - [`policies`] — SCPs, RCPs and tag policies, policy types, attachments.
//! - [`delegated`] — delegated administrators.
//! - [`tags`] — tags on accounts, OUs, roots and policies.
//! - [`enforcement`] — the SCP and RCP levels of an account, for the authorizer.
//! - [`authz`] — the authorization entry of each operation.

pub mod accounts;
pub mod authz;
pub mod common;
pub mod delegated;
pub mod enforcement;
pub mod handshakes;
pub mod model;
pub mod organization;
pub mod policies;
pub mod provision;
pub mod tags;
pub mod tree;

use rampart_store::Store;
use serde_json::Value;

pub use common::OrgError;

use crate::{
    authz::AuthzRequest,
    context::CallContext,
    db::Db,
    error::ServiceError,
    registry::{not_implemented, Access},
};

macro_rules! chain {
    ($($family:ident),* $(,)?) => {
        /// Whether an Organizations operation is built, and how it touches state.
        pub fn access(operation: &str) -> Option<Access> {
            None$(.or_else(|| $family::access(operation)))*
        }

        /// The authorization entry of an Organizations operation: `organizations:<Op>` on
        /// the resources it names. Who may call at all (the management account, a delegated
        /// administrator, a member) is the handler's check, as in AWS where it is not a
        /// matter of IAM policy.
        pub async fn authz(
            operation: &str,
            input: &Value,
            ctx: &CallContext,
            store: &Store,
        ) -> Result<Option<AuthzRequest>, ServiceError> {
            if access(operation).is_none() {
                return Ok(None);
            }
            Ok(Some(authz::request(operation, input, ctx, store).await?))
        }

        /// Runs an Organizations operation.
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
            Err(not_implemented("organizations", operation))
        }
    };
}

chain!(
    organization,
    tree,
    accounts,
    handshakes,
    policies,
    delegated,
    tags
);
