//! S3's errors, named after its error codes (AWS's "Error responses" list; S3's botocore model
//! lists only a few, so the wire layer's S3 table gives the others their HTTP status).

use rampart_kit::error::service_errors;

service_errors! {
    /// An error of an S3 operation.
    pub enum S3Error for "s3", details = S3Error::details {
        /// The bucket does not exist.
        NoSuchBucket,
        /// The key does not exist.
        NoSuchKey,
        /// The version does not exist.
        NoSuchVersion,
        /// The method does not apply to the resource (a delete marker's version).
        MethodNotAllowed,
        /// The multipart upload does not exist (aborted or completed).
        NoSuchUpload,
        /// The bucket has no policy.
        NoSuchBucketPolicy,
        /// The bucket has no lifecycle configuration.
        NoSuchLifecycleConfiguration,
        /// The bucket has no tag set.
        NoSuchTagSet,
        /// The bucket has no Block Public Access configuration.
        NoSuchPublicAccessBlockConfiguration,
        /// Another account owns a bucket of this name.
        BucketAlreadyExists,
        /// The caller already owns a bucket of this name (outside us-east-1).
        BucketAlreadyOwnedByYou,
        /// The bucket still holds objects.
        BucketNotEmpty,
        /// The bucket name breaks S3's naming rules.
        InvalidBucketName,
        /// An argument is not valid.
        InvalidArgument,
        /// The request is not valid as a whole.
        InvalidRequest,
        /// The XML body does not parse or does not fit the schema.
        MalformedXML,
        /// The bucket policy is not valid.
        MalformedPolicy,
        /// A precondition (`If-Match`, `If-Unmodified-Since`, ...) failed.
        PreconditionFailed,
        /// `If-None-Match`/`If-Modified-Since` say the client's copy is current.
        NotModified,
        /// The range is not satisfiable.
        InvalidRange,
        /// A part of `CompleteMultipartUpload` is missing or its ETag differs.
        InvalidPart,
        /// The parts of `CompleteMultipartUpload` are not in ascending order.
        InvalidPartOrder,
        /// A part other than the last is smaller than 5 MiB.
        EntityTooSmall,
        /// The body exceeds the size allowed.
        EntityTooLarge,
        /// The key is longer than 1024 bytes.
        KeyTooLongError,
        /// `Content-MD5` does not match the body.
        BadDigest,
        /// `Content-MD5` is not a valid MD5 digest.
        InvalidDigest,
        /// The caller may not perform the action.
        AccessDenied,
        /// `LocationConstraint` names another region than the endpoint's.
        IllegalLocationConstraintException,
        /// `LocationConstraint` is not valid (`us-east-1` given explicitly).
        InvalidLocationConstraint,
        /// A tag is not valid.
        InvalidTag,
        /// The account has as many buckets as it may.
        TooManyBuckets,
        /// The bucket's ACLs are disabled (`BucketOwnerEnforced`).
        AccessControlListNotSupported,
        /// ACLs were asked for on a bucket whose ACLs are disabled.
        InvalidBucketAclWithObjectOwnership,
        /// An ACL document is not valid.
        MalformedACLError,
        /// A request carries both ACL headers and an ACL body.
        UnexpectedContent,
        /// An ACL call sets no ACL.
        MissingSecurityHeader,
        /// A grant names an e-mail address (not supported).
        UnresolvableGrantByEmailAddress,
        /// The bucket has no ownership controls.
        OwnershipControlsNotFoundError,
        /// The bucket has no Object Lock configuration, or the object no retention or legal
        /// hold.
        ObjectLockConfigurationNotFoundError,
        /// The object has no retention or legal hold.
        NoSuchObjectLockConfiguration,
        /// The object is in a state the operation does not allow.
        InvalidBucketState,
        /// The operation is not built.
        NotImplemented,
        /// The request was signed for another region than the bucket's (message, the
        /// bucket's region).
        #[error("{0}")]
        AuthorizationHeaderMalformed(String, String),
        /// An internal failure.
        InternalError,
    }
}

impl S3Error {
    /// The further members of the error document: the bucket's `Region` for a request signed
    /// for another one (with the `x-amz-bucket-region` header, which SDKs follow).
    pub fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            S3Error::AuthorizationHeaderMalformed(_, region) => vec![("Region", region.clone())],
            _ => Vec::new(),
        }
    }

    /// A request signed for `asked` on a bucket in `region`.
    pub fn wrong_region(asked: &str, region: &str) -> S3Error {
        S3Error::AuthorizationHeaderMalformed(
            format!(
                "The authorization header is malformed; the region '{asked}' is wrong; expecting '{region}'"
            ),
            region.to_string(),
        )
    }

    /// The internal failure, whose message carries no detail.
    pub fn internal() -> S3Error {
        S3Error::InternalError("We encountered an internal error. Please try again.".into())
    }

    /// The bucket does not exist.
    pub fn no_bucket() -> S3Error {
        S3Error::NoSuchBucket("The specified bucket does not exist".into())
    }

    /// The key does not exist.
    pub fn no_key() -> S3Error {
        S3Error::NoSuchKey("The specified key does not exist.".into())
    }

    /// The upload does not exist.
    pub fn no_upload() -> S3Error {
        S3Error::NoSuchUpload(
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
                .into(),
        )
    }

    /// A precondition failed.
    pub fn precondition() -> S3Error {
        S3Error::PreconditionFailed(
            "At least one of the pre-conditions you specified did not hold".into(),
        )
    }

    /// An argument is not valid.
    pub fn argument(message: impl Into<String>) -> S3Error {
        S3Error::InvalidArgument(message.into())
    }
}

/// A result of an S3 operation.
pub type S3Result<T> = Result<T, S3Error>;

impl From<rampart_store::StoreError> for S3Error {
    fn from(err: rampart_store::StoreError) -> S3Error {
        tracing::error!(error = %err, "s3 store failure");
        S3Error::internal()
    }
}

impl From<rampart_kit::ServiceError> for S3Error {
    fn from(err: rampart_kit::ServiceError) -> S3Error {
        tracing::error!(code = err.code, "s3: a shared helper failed");
        S3Error::internal()
    }
}
