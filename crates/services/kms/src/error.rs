//! KMS's errors, named after its error codes.

use rampart_kit::error::service_errors;

service_errors! {
    /// An error of a KMS operation.
    pub enum KmsError for "kms" {
        /// The key, alias or grant does not exist (or is invisible to the caller).
        NotFoundException,
        /// The key is disabled.
        DisabledException,
        /// The key's state does not allow the operation.
        KMSInvalidStateException,
        /// The ciphertext, its context or its key do not match.
        InvalidCiphertextException,
        /// The ciphertext was made under another key than the one named.
        IncorrectKeyException,
        /// The key's usage or spec does not allow the operation.
        InvalidKeyUsageException,
        /// A value fails AWS's validation.
        ValidationException,
        /// An ARN is malformed.
        InvalidArnException,
        /// The name is taken.
        AlreadyExistsException,
        /// The alias name is not valid or is reserved.
        InvalidAliasNameException,
        /// The key policy is not valid.
        MalformedPolicyDocumentException,
        /// The operation does not apply to this kind of key.
        UnsupportedOperationException,
        /// The grant id is not valid.
        InvalidGrantIdException,
        /// The grant token is not valid.
        InvalidGrantTokenException,
        /// The pagination marker is not valid.
        InvalidMarkerException,
        /// A tag is not valid.
        TagException,
        /// The signature does not verify.
        KMSInvalidSignatureException,
        /// The MAC does not verify.
        KMSInvalidMacException,
        /// The import token has expired.
        ExpiredImportTokenException,
        /// The import token is not valid for this key.
        InvalidImportTokenException,
        /// The imported material is not the key's material.
        IncorrectKeyMaterialException,
        /// A quota is exceeded.
        LimitExceededException,
        /// The caller may not do this.
        AccessDeniedException,
        /// The request would have succeeded; `DryRun` was set.
        DryRunOperationException,
        /// An internal failure.
        KMSInternalException,
        /// No such custom key store in the account and Region.
        CustomKeyStoreNotFoundException,
        /// A custom key store of that name exists.
        CustomKeyStoreNameInUseException,
        /// The custom key store's connection state does not allow the operation.
        CustomKeyStoreInvalidStateException,
        /// The custom key store holds keys.
        CustomKeyStoreHasCMKsException,
        /// The CloudHSM cluster belongs to another custom key store.
        CloudHsmClusterInUseException,
        /// The trust anchor certificate is not the cluster's.
        IncorrectTrustAnchorException,
        /// The XKS proxy URI endpoint and path belong to another external key store.
        XksProxyUriInUseException,
        /// The XKS proxy URI endpoint belongs to another external key store.
        XksProxyUriEndpointInUseException,
        /// The VPC endpoint service belongs to another external key store.
        XksProxyVpcEndpointServiceInUseException,
        /// The proxy configuration is not valid.
        XksProxyInvalidConfigurationException,
        /// The external key store proxy does not know the external key.
        XksKeyNotFoundException,
        /// The external key is not an enabled AES-256 key that encrypts and decrypts.
        XksKeyInvalidConfigurationException,
        /// The external key backs another KMS key in the external key store.
        XksKeyAlreadyInUseException,
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
