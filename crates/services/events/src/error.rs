//! EventBridge's errors, named after its error codes.

use rampart_kit::error::{service_errors, ServiceError};

service_errors! {
    /// An error of an EventBridge operation.
    pub enum EventsError for "events" {
        /// The rule, target, bus, connection or API destination does not exist.
        ResourceNotFoundException,
        /// A resource with this name exists.
        ResourceAlreadyExistsException,
        /// The event pattern is not valid.
        InvalidEventPatternException,
        /// A quota is exceeded.
        LimitExceededException,
        /// The request conflicts with the resource's state (a rule that has targets, ...).
        ValidationException,
        /// The resource is in a state that refuses the operation.
        InvalidStateException,
        /// The rule is managed by an AWS service.
        ManagedRuleException,
        /// An internal failure.
        InternalException,
    }
}

impl EventsError {
    /// The internal failure, whose message carries no detail.
    pub fn internal() -> EventsError {
        EventsError::InternalException("An internal error occurred.".into())
    }

    /// A member that is not valid (`ValidationException`).
    pub fn invalid(message: impl Into<String>) -> EventsError {
        EventsError::ValidationException(message.into())
    }
}

impl From<rampart_store::StoreError> for EventsError {
    fn from(err: rampart_store::StoreError) -> EventsError {
        tracing::error!(error = %err, "events store failure");
        EventsError::internal()
    }
}

impl From<ServiceError> for EventsError {
    fn from(err: ServiceError) -> EventsError {
        tracing::error!(code = err.code, "events: a kit call failed");
        EventsError::internal()
    }
}

/// A `Result` of an EventBridge operation.
pub type EventsResult<T> = Result<T, EventsError>;
