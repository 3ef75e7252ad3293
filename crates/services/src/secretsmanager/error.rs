//! Secrets Manager's errors, named after its error codes.

use crate::error::ServiceError;

/// An error of a Secrets Manager operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmError {
    /// The secret, version or label does not exist (or is invisible to the caller).
    #[error("{0}")]
    ResourceNotFoundException(String),
    /// A secret with this name, or a version with this token and another value, exists.
    #[error("{0}")]
    ResourceExistsException(String),
    /// A parameter value is not valid.
    #[error("{0}")]
    InvalidParameterException(String),
    /// The request is not valid for the secret's state (scheduled for deletion, ...).
    #[error("{0}")]
    InvalidRequestException(String),
    /// The `NextToken` is not valid.
    #[error("{0}")]
    InvalidNextTokenException(String),
    /// A quota is exceeded.
    #[error("{0}")]
    LimitExceededException(String),
    /// The resource policy is not valid.
    #[error("{0}")]
    MalformedPolicyDocumentException(String),
    /// KMS could not encrypt the value.
    #[error("{0}")]
    EncryptionFailure(String),
    /// KMS could not decrypt the value.
    #[error("{0}")]
    DecryptionFailure(String),
    /// The caller may not use the KMS key through Secrets Manager.
    #[error("{0}")]
    AccessDeniedException(String),
    /// A member fails the model's constraints.
    #[error("{0}")]
    ValidationException(String),
    /// An internal failure.
    #[error("{0}")]
    InternalServiceError(String),
}

impl SmError {
    fn code(&self) -> &'static str {
        match self {
            SmError::ResourceNotFoundException(_) => "ResourceNotFoundException",
            SmError::ResourceExistsException(_) => "ResourceExistsException",
            SmError::InvalidParameterException(_) => "InvalidParameterException",
            SmError::InvalidRequestException(_) => "InvalidRequestException",
            SmError::InvalidNextTokenException(_) => "InvalidNextTokenException",
            SmError::LimitExceededException(_) => "LimitExceededException",
            SmError::MalformedPolicyDocumentException(_) => "MalformedPolicyDocumentException",
            SmError::EncryptionFailure(_) => "EncryptionFailure",
            SmError::DecryptionFailure(_) => "DecryptionFailure",
            SmError::AccessDeniedException(_) => "AccessDeniedException",
            SmError::ValidationException(_) => "ValidationException",
            SmError::InternalServiceError(_) => "InternalServiceError",
        }
    }

    /// The internal failure, whose message carries no detail.
    pub fn internal() -> SmError {
        SmError::InternalServiceError("An error occurred on the server side.".into())
    }

    /// The refusal of a secret scheduled for deletion.
    pub fn marked_for_deletion() -> SmError {
        SmError::InvalidRequestException(
            "You can't perform this operation on the secret because it was marked for deletion."
                .into(),
        )
    }

    /// The secret does not exist (or is invisible to the caller).
    pub fn no_secret() -> SmError {
        SmError::ResourceNotFoundException(
            "Secrets Manager can't find the specified secret.".into(),
        )
    }
}

impl From<SmError> for ServiceError {
    fn from(err: SmError) -> ServiceError {
        let internal = matches!(err, SmError::InternalServiceError(_));
        ServiceError {
            code: err.code(),
            message: err.to_string(),
            sender_fault: !internal,
            reason: None,
        }
    }
}

impl From<rampart_store::StoreError> for SmError {
    fn from(err: rampart_store::StoreError) -> SmError {
        tracing::error!(error = %err, "secretsmanager store failure");
        SmError::internal()
    }
}

impl From<crate::ids::RandomError> for SmError {
    fn from(_: crate::ids::RandomError) -> SmError {
        tracing::error!("secretsmanager: the random generator failed");
        SmError::internal()
    }
}

impl From<ServiceError> for SmError {
    fn from(err: ServiceError) -> SmError {
        tracing::error!(
            code = err.code,
            "secretsmanager: a call to another service failed"
        );
        SmError::internal()
    }
}

/// A `Result` of a Secrets Manager operation.
pub type SmResult<T> = Result<T, SmError>;
