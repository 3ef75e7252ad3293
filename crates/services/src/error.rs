//! The error every handler returns: an AWS error code and its message.
//!
//! Each service defines a thiserror enum named after its AWS error codes and converts into
//! [`ServiceError`]; the wire layer renders it once per protocol, taking the HTTP status from
//! the service model.

/// An AWS error: the code clients match on and the message they show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// AWS's error code (`NoSuchEntity`, `ValidationError`, ...).
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
    /// Whether the caller is at fault (`Sender`) rather than the server (`Receiver`).
    pub sender_fault: bool,
    /// The `Reason` member of errors AWS models with one (Organizations).
    pub reason: Option<&'static str>,
}

impl ServiceError {
    /// A client-side error.
    pub fn sender(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError {
            code,
            message: message.into(),
            sender_fault: true,
            reason: None,
        }
    }

    /// The same error with AWS's `Reason` member.
    pub fn with_reason(self, reason: &'static str) -> ServiceError {
        ServiceError {
            reason: Some(reason),
            ..self
        }
    }

    /// A server-side failure; the message never carries internal details.
    pub fn internal() -> ServiceError {
        ServiceError {
            code: "InternalFailure",
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
            sender_fault: false,
            reason: None,
        }
    }

    /// An input that fails AWS's validation (`ValidationError` in awsQuery services).
    pub fn validation(message: impl Into<String>) -> ServiceError {
        ServiceError::sender("ValidationError", message)
    }
}

impl From<rampart_store::StoreError> for ServiceError {
    fn from(err: rampart_store::StoreError) -> ServiceError {
        tracing::error!(error = %err, "store failure");
        ServiceError::internal()
    }
}
