//! IAM Access Analyzer's errors, named after its error codes.

use rampart_kit::error::{service_errors, ServiceError};

service_errors! {
    /// An error of an IAM Access Analyzer operation.
    pub enum AnalyzerError for "accessanalyzer", details = details {
        /// The analyzer, archive rule, finding or resource does not exist.
        ResourceNotFoundException,
        /// An analyzer or archive rule of this name exists: message, resource id and type.
        #[error("{0}")]
        ConflictException(String, String, String),
        /// A member fails the model's constraints, or the request is not valid.
        ValidationException,
        /// A quota is exceeded (one account analyzer per type, account and region): message,
        /// resource id and type.
        #[error("{0}")]
        ServiceQuotaExceededException(String, String, String),
        /// The caller may not do this.
        AccessDeniedException,
        /// An internal failure.
        InternalServerException,
    }
}

/// The `resourceId` and `resourceType` members of the errors that have them.
fn details(err: &AnalyzerError) -> Vec<(&'static str, String)> {
    match err {
        AnalyzerError::ConflictException(_, id, t)
        | AnalyzerError::ServiceQuotaExceededException(_, id, t) => {
            vec![("resourceId", id.clone()), ("resourceType", t.clone())]
        }
        _ => Vec::new(),
    }
}

/// The result type of the handlers.
pub type AaResult<T> = Result<T, ServiceError>;

/// A `ValidationException` with `message`.
pub fn invalid(message: impl Into<String>) -> ServiceError {
    AnalyzerError::ValidationException(message.into()).into()
}

/// A `ResourceNotFoundException` with `message`.
pub fn not_found(message: impl Into<String>) -> ServiceError {
    AnalyzerError::ResourceNotFoundException(message.into()).into()
}
