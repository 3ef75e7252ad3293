//! KMS's errors, named after its error codes.

use crate::error::ServiceError;

/// An error of a KMS operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// The key, alias or grant does not exist (or is invisible to the caller).
    #[error("{0}")]
    NotFoundException(String),
    /// The key is disabled.
    #[error("{0}")]
    DisabledException(String),
    /// The key's state does not allow the operation.
    #[error("{0}")]
    KMSInvalidStateException(String),
    /// The ciphertext, its context or its key do not match.
    #[error("{0}")]
    InvalidCiphertextException(String),
    /// The ciphertext was made under another key than the one named.
    #[error("{0}")]
    IncorrectKeyException(String),
    /// The key's usage or spec does not allow the operation.
    #[error("{0}")]
    InvalidKeyUsageException(String),
    /// A value fails AWS's validation.
    #[error("{0}")]
    ValidationException(String),
    /// An ARN is malformed.
    #[error("{0}")]
    InvalidArnException(String),
    /// The name is taken.
    #[error("{0}")]
    AlreadyExistsException(String),
    /// The alias name is not valid or is reserved.
    #[error("{0}")]
    InvalidAliasNameException(String),
    /// The key policy is not valid.
    #[error("{0}")]
    MalformedPolicyDocumentException(String),
    /// The operation does not apply to this kind of key.
    #[error("{0}")]
    UnsupportedOperationException(String),
    /// The grant id is not valid.
    #[error("{0}")]
    InvalidGrantIdException(String),
    /// The grant token is not valid.
    #[error("{0}")]
    InvalidGrantTokenException(String),
    /// The pagination marker is not valid.
    #[error("{0}")]
    InvalidMarkerException(String),
    /// A tag is not valid.
    #[error("{0}")]
    TagException(String),
    /// The signature does not verify.
    #[error("{0}")]
    KMSInvalidSignatureException(String),
    /// The MAC does not verify.
    #[error("{0}")]
    KMSInvalidMacException(String),
    /// The import token has expired.
    #[error("{0}")]
    ExpiredImportTokenException(String),
    /// The import token is not valid for this key.
    #[error("{0}")]
    InvalidImportTokenException(String),
    /// The imported material is not the key's material.
    #[error("{0}")]
    IncorrectKeyMaterialException(String),
    /// A quota is exceeded.
    #[error("{0}")]
    LimitExceededException(String),
    /// The caller may not do this.
    #[error("{0}")]
    AccessDeniedException(String),
    /// An internal failure.
    #[error("{0}")]
    KMSInternalException(String),
}

impl KmsError {
    fn code(&self) -> &'static str {
        match self {
            KmsError::NotFoundException(_) => "NotFoundException",
            KmsError::DisabledException(_) => "DisabledException",
            KmsError::KMSInvalidStateException(_) => "KMSInvalidStateException",
            KmsError::InvalidCiphertextException(_) => "InvalidCiphertextException",
            KmsError::IncorrectKeyException(_) => "IncorrectKeyException",
            KmsError::InvalidKeyUsageException(_) => "InvalidKeyUsageException",
            KmsError::ValidationException(_) => "ValidationException",
            KmsError::InvalidArnException(_) => "InvalidArnException",
            KmsError::AlreadyExistsException(_) => "AlreadyExistsException",
            KmsError::InvalidAliasNameException(_) => "InvalidAliasNameException",
            KmsError::MalformedPolicyDocumentException(_) => "MalformedPolicyDocumentException",
            KmsError::UnsupportedOperationException(_) => "UnsupportedOperationException",
            KmsError::InvalidGrantIdException(_) => "InvalidGrantIdException",
            KmsError::InvalidGrantTokenException(_) => "InvalidGrantTokenException",
            KmsError::InvalidMarkerException(_) => "InvalidMarkerException",
            KmsError::TagException(_) => "TagException",
            KmsError::KMSInvalidSignatureException(_) => "KMSInvalidSignatureException",
            KmsError::KMSInvalidMacException(_) => "KMSInvalidMacException",
            KmsError::ExpiredImportTokenException(_) => "ExpiredImportTokenException",
            KmsError::InvalidImportTokenException(_) => "InvalidImportTokenException",
            KmsError::IncorrectKeyMaterialException(_) => "IncorrectKeyMaterialException",
            KmsError::LimitExceededException(_) => "LimitExceededException",
            KmsError::AccessDeniedException(_) => "AccessDeniedException",
            KmsError::KMSInternalException(_) => "KMSInternalException",
        }
    }
}

impl From<KmsError> for ServiceError {
    fn from(err: KmsError) -> ServiceError {
        let internal = matches!(err, KmsError::KMSInternalException(_));
        ServiceError {
            code: err.code(),
            message: err.to_string(),
            sender_fault: !internal,
            reason: None,
        }
    }
}

impl From<super::crypto::CryptoError> for KmsError {
    fn from(err: super::crypto::CryptoError) -> KmsError {
        match err {
            super::crypto::CryptoError::InvalidCiphertext => KmsError::InvalidCiphertextException(
                "The ciphertext is invalid or was not made with this key and encryption context."
                    .into(),
            ),
            super::crypto::CryptoError::InvalidInput => KmsError::ValidationException(
                "The input is not valid for the key's algorithm.".into(),
            ),
            super::crypto::CryptoError::Internal => {
                tracing::error!("kms cryptographic failure");
                KmsError::KMSInternalException("An internal error occurred.".into())
            }
        }
    }
}

impl From<rampart_store::StoreError> for KmsError {
    fn from(err: rampart_store::StoreError) -> KmsError {
        tracing::error!(error = %err, "kms store failure");
        KmsError::KMSInternalException("An internal error occurred.".into())
    }
}

/// A `Result` of a KMS operation.
pub type KmsResult<T> = Result<T, KmsError>;
