//! Security Hub's errors, named after its error codes.

use rampart_kit::error::service_errors;

service_errors! {
    /// An error of a Security Hub operation.
    pub enum SecurityHubError for "securityhub" {
        /// The input is not valid.
        InvalidInputException,
        /// The account is not subscribed to Security Hub (in this region).
        InvalidAccessException,
        /// The resource already exists (the hub, when it is enabled twice).
        ResourceConflictException,
        /// The named resource does not exist.
        ResourceNotFoundException,
        /// A quota is exceeded.
        LimitExceededException,
        /// The caller may not do this (not the organization's management account or
        /// Security Hub administrator, or a member account doing an administrator's work).
        AccessDeniedException,
        /// An internal failure.
        InternalException,
    }
}

impl SecurityHubError {
    /// AWS's answer to a call that needs the hub when the account has none here.
    pub fn not_subscribed(account: &str) -> SecurityHubError {
        SecurityHubError::InvalidAccessException(format!(
            "Account {account} is not subscribed to AWS Security Hub"
        ))
    }

    /// An invalid input, with its reason.
    pub fn invalid(why: impl Into<String>) -> SecurityHubError {
        SecurityHubError::InvalidInputException(why.into())
    }
}
