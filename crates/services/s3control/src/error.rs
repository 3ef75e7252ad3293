//! S3 Control's errors, named after its error codes (its model's, and S3's common ones, whose
//! statuses the wire layer's S3 table gives).

use rampart_kit::error::service_errors;
use rampart_s3::S3Error;

service_errors! {
    /// An error of an S3 Control operation.
    pub enum S3ControlError for "s3control" {
        /// The account has no Block Public Access configuration.
        NoSuchPublicAccessBlockConfiguration,
        /// The request is not valid as a whole.
        InvalidRequest,
        /// The caller may not perform the action.
        AccessDenied,
        /// An internal failure.
        InternalError,
    }
}

/// A result of an S3 Control operation.
pub type S3ControlResult<T> = Result<T, S3ControlError>;

impl S3ControlError {
    /// The internal failure, whose message carries no detail.
    pub fn internal() -> S3ControlError {
        S3ControlError::InternalError("We encountered an internal error. Please try again.".into())
    }
}

/// The S3 helpers' errors as S3 Control reports them: the codes both share keep their
/// message; any other is an internal failure (logged).
impl From<S3Error> for S3ControlError {
    fn from(err: S3Error) -> S3ControlError {
        match err {
            S3Error::InvalidRequest(m) => S3ControlError::InvalidRequest(m),
            S3Error::AccessDenied(m) => S3ControlError::AccessDenied(m),
            other => {
                tracing::error!(error = ?other, "s3control: an S3 helper failed");
                S3ControlError::internal()
            }
        }
    }
}

impl From<rampart_store::StoreError> for S3ControlError {
    fn from(err: rampart_store::StoreError) -> S3ControlError {
        tracing::error!(error = %err, "s3control store failure");
        S3ControlError::internal()
    }
}
