//! Secrets Manager's errors, named after its error codes.

use rampart_kit::error::{service_errors, ServiceError};

service_errors! {
    /// An error of a Secrets Manager operation.
    pub enum SmError for "secretsmanager" {
        /// The secret, version or label does not exist (or is invisible to the caller).
        ResourceNotFoundException,
        /// A secret with this name, or a version with this token and another value, exists.
        ResourceExistsException,
        /// A parameter value is not valid.
        InvalidParameterException,
        /// The request is not valid for the secret's state (scheduled for deletion, ...).
        InvalidRequestException,
        /// The `NextToken` is not valid.
        InvalidNextTokenException,
        /// A quota is exceeded.
        LimitExceededException,
        /// The resource policy is not valid.
        MalformedPolicyDocumentException,
        /// `BlockPublicPolicy` is set and the resource policy grants public access.
        PublicPolicyException,
        /// KMS could not encrypt the value.
        EncryptionFailure,
        /// KMS could not decrypt the value.
        DecryptionFailure,
        /// The caller may not use the KMS key through Secrets Manager.
        AccessDeniedException,
        /// A member fails the model's constraints.
        ValidationException,
        /// An internal failure.
        InternalServiceError,
    }
}

impl SmError {
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

impl From<rampart_store::StoreError> for SmError {
    fn from(err: rampart_store::StoreError) -> SmError {
        tracing::error!(error = %err, "secretsmanager store failure");
        SmError::internal()
    }
}

impl From<rampart_kit::ids::RandomError> for SmError {
    fn from(_: rampart_kit::ids::RandomError) -> SmError {
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
