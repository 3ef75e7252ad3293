//! Detective's errors, named after its error codes.

use rampart_kit::error::service_errors;

service_errors! {
    /// An error of a Detective operation.
    pub enum DetectiveError for "detective" {
        /// The request is not valid.
        ValidationException,
        /// The graph, member, invitation or investigation does not exist.
        ResourceNotFoundException,
        /// The request conflicts with the resource's state (a second graph in a region).
        ConflictException,
        /// A quota would be exceeded (members of a graph).
        ServiceQuotaExceededException,
        /// The caller may not do this.
        AccessDeniedException,
        /// An internal failure.
        InternalServerException,
    }
}

impl DetectiveError {
    /// The answer for a graph, member or investigation that does not exist (guessed text).
    pub fn not_found() -> DetectiveError {
        DetectiveError::ResourceNotFoundException(
            "The request refers to a nonexistent resource.".into(),
        )
    }

    /// The answer for a request that conflicts with the resource's state (guessed text).
    pub fn conflict() -> DetectiveError {
        DetectiveError::ConflictException("The request attempted an invalid action.".into())
    }

    /// A `ValidationException` with `message`.
    pub fn invalid(message: impl Into<String>) -> DetectiveError {
        DetectiveError::ValidationException(message.into())
    }
}
