//! WAF's errors, named after its error codes.

use rampart_kit::error::{service_errors, ServiceError};

service_errors! {
    /// An error of a WAF operation.
    pub enum WafError for "wafv2" {
        /// A parameter is not valid (a rule that does not parse, an unknown scope, ...).
        WAFInvalidParameterException,
        /// The item does not exist.
        WAFNonexistentItemException,
        /// An item with this name exists.
        WAFDuplicateItemException,
        /// The lock token is stale: someone changed the item since it was read.
        WAFOptimisticLockException,
        /// The item is in use (a web ACL associated with a resource, a set a rule references).
        WAFAssociatedItemException,
        /// A limit is exceeded (capacity, items per account).
        WAFLimitsExceededException,
        /// The operation is not valid for the item.
        WAFInvalidOperationException,
        /// The resource ARN is not one WAF can protect.
        WAFInvalidResourceException,
        /// The referenced item is not available yet.
        WAFUnavailableEntityException,
        /// A tagging operation failed.
        WAFTagOperationException,
        /// An internal failure.
        WAFInternalErrorException,
    }
}

impl From<rampart_store::StoreError> for WafError {
    fn from(err: rampart_store::StoreError) -> WafError {
        tracing::error!(error = %err, "wafv2 store failure");
        WafError::internal()
    }
}

impl From<ServiceError> for WafError {
    fn from(err: ServiceError) -> WafError {
        tracing::error!(code = err.code, "wafv2: a kit call failed");
        WafError::internal()
    }
}

impl From<rampart_elbv2::ElbError> for WafError {
    fn from(err: rampart_elbv2::ElbError) -> WafError {
        match err {
            rampart_elbv2::ElbError::LoadBalancerNotFound(m) => {
                WafError::WAFNonexistentItemException(m)
            }
            other => {
                tracing::error!(code = other.code(), "wafv2: an elbv2 call failed");
                WafError::internal()
            }
        }
    }
}

impl WafError {
    /// The internal failure, whose message carries no detail.
    pub fn internal() -> WafError {
        WafError::WAFInternalErrorException(
            "AWS WAF couldn’t perform the operation because of a system problem.".into(),
        )
    }

    /// A parameter that is not valid, in AWS's message format.
    pub fn invalid(field: &str, parameter: &str, reason: &str) -> WafError {
        WafError::WAFInvalidParameterException(format!(
            "Error reason: {reason}, field: {field}, parameter: {parameter}"
        ))
    }

    /// An item that does not exist.
    pub fn missing() -> WafError {
        WafError::WAFNonexistentItemException(
            "AWS WAF couldn’t perform the operation because your resource doesn’t exist.".into(),
        )
    }

    /// A stale lock token.
    pub fn stale() -> WafError {
        WafError::WAFOptimisticLockException(
            "AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it. Reapply your changes.".into(),
        )
    }
}

/// A `Result` of a WAF operation.
pub type WafResult<T> = Result<T, WafError>;
