//! Shield's errors, named after its error codes.

use rampart_kit::error::{service_errors, ServiceError};

service_errors! {
    /// An error of a Shield operation.
    pub enum ShieldError for "shield" {
        /// The resource (subscription, protection, group, attack) does not exist.
        ResourceNotFoundException,
        /// The resource exists already.
        ResourceAlreadyExistsException,
        /// A parameter is not valid.
        InvalidParameterException,
        /// The operation is not valid in the resource's state.
        InvalidOperationException,
        /// The resource is not one Shield can protect.
        InvalidResourceException,
        /// The pagination token is not valid.
        InvalidPaginationTokenException,
        /// A limit of the subscription is reached.
        LimitsExceededException,
        /// The subscription cannot be deleted during its commitment.
        LockedSubscriptionException,
        /// An internal failure.
        InternalErrorException,
    }
}

impl From<rampart_store::StoreError> for ShieldError {
    fn from(err: rampart_store::StoreError) -> ShieldError {
        tracing::error!(error = %err, "shield store failure");
        ShieldError::internal()
    }
}

impl From<ServiceError> for ShieldError {
    fn from(err: ServiceError) -> ShieldError {
        tracing::error!(code = err.code, "shield: a kit call failed");
        ShieldError::internal()
    }
}

impl ShieldError {
    /// The internal failure, whose message carries no detail.
    pub fn internal() -> ShieldError {
        ShieldError::InternalErrorException("An internal error occurred.".into())
    }

    /// A missing resource, in AWS's wording.
    pub fn missing(what: &str) -> ShieldError {
        ShieldError::ResourceNotFoundException(format!("The referenced {what} does not exist."))
    }

    /// An invalid parameter.
    pub fn invalid(message: impl Into<String>) -> ShieldError {
        ShieldError::InvalidParameterException(message.into())
    }
}

/// A `Result` of a Shield operation.
pub type ShieldResult<T> = Result<T, ShieldError>;
