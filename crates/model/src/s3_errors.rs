//! S3's error codes and statuses (AWS's "Amazon S3 error responses" list): botocore models only
//! a dozen of them, while S3 answers many more. Consulted by [`crate::Service::error_status`]
//! for restXml services after the model's own table.

/// `(code, status)` of S3's errors, sorted by code (all client faults below 500).
static S3_ERRORS: [(&str, u16); 68] = [
    ("AccessControlListNotSupported", 400),
    ("AccessDenied", 403),
    ("AccountProblem", 403),
    ("AllAccessDisabled", 403),
    ("AuthorizationHeaderMalformed", 400),
    ("BadDigest", 400),
    ("BucketAlreadyExists", 409),
    ("BucketAlreadyOwnedByYou", 409),
    ("BucketNotEmpty", 409),
    ("EntityTooLarge", 400),
    ("EntityTooSmall", 400),
    ("ExpiredToken", 400),
    ("IllegalLocationConstraintException", 400),
    ("IllegalVersioningConfigurationException", 400),
    ("IncompleteBody", 400),
    ("InternalError", 500),
    ("InvalidAccessKeyId", 403),
    ("InvalidArgument", 400),
    ("InvalidBucketAclWithObjectOwnership", 400),
    ("InvalidBucketName", 400),
    ("InvalidBucketState", 409),
    ("InvalidDigest", 400),
    ("InvalidLocationConstraint", 400),
    ("InvalidObjectState", 403),
    ("InvalidPart", 400),
    ("InvalidPartOrder", 400),
    ("InvalidRange", 416),
    ("InvalidRequest", 400),
    ("InvalidStorageClass", 400),
    ("InvalidTag", 400),
    ("InvalidToken", 400),
    ("KeyTooLongError", 400),
    ("MalformedACLError", 400),
    ("MalformedPolicy", 400),
    ("MalformedXML", 400),
    ("MaxMessageLengthExceeded", 400),
    ("MetadataTooLarge", 400),
    ("MethodNotAllowed", 405),
    ("MissingContentLength", 411),
    ("MissingRequestBodyError", 400),
    ("MissingSecurityHeader", 400),
    ("NoSuchBucket", 404),
    ("NoSuchBucketPolicy", 404),
    ("NoSuchCORSConfiguration", 404),
    ("NoSuchKey", 404),
    ("NoSuchLifecycleConfiguration", 404),
    ("NoSuchObjectLockConfiguration", 404),
    ("NoSuchPublicAccessBlockConfiguration", 404),
    ("NoSuchTagSet", 404),
    ("NoSuchUpload", 404),
    ("NoSuchVersion", 404),
    ("NotImplemented", 501),
    ("NotModified", 304),
    ("ObjectLockConfigurationNotFoundError", 404),
    ("OwnershipControlsNotFoundError", 404),
    ("PermanentRedirect", 301),
    ("PreconditionFailed", 412),
    ("RequestTimeTooSkewed", 403),
    ("RequestTimeout", 400),
    ("ServerSideEncryptionConfigurationNotFoundError", 404),
    ("ServiceUnavailable", 503),
    ("SignatureDoesNotMatch", 403),
    ("SlowDown", 503),
    ("TemporaryRedirect", 307),
    ("TooManyBuckets", 400),
    ("UnexpectedContent", 400),
    ("UnresolvableGrantByEmailAddress", 400),
    ("XAmzContentSHA256Mismatch", 400),
];

/// S3's `(status, sender_fault)` for `code`; server faults are the 5xx statuses.
pub fn s3_error_status(code: &str) -> Option<(u16, bool)> {
    S3_ERRORS
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .and_then(|i| S3_ERRORS.get(i))
        .map(|(_, status)| (*status, *status < 500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_finds_its_codes() {
        assert!(S3_ERRORS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(s3_error_status("NoSuchKey"), Some((404, true)));
        assert_eq!(s3_error_status("InvalidRange"), Some((416, true)));
        assert_eq!(
            s3_error_status("IllegalLocationConstraintException"),
            Some((400, true))
        );
        assert_eq!(s3_error_status("SlowDown"), Some((503, false)));
        assert_eq!(s3_error_status("NoSuchEntity"), None);
    }
}
