//! AWS's common errors: the codes every service may answer whether or not its model lists them,
//! with their HTTP status and fault. One table for the wire layer (which renders them) and the
//! services (which check their error codes against the models).

use crate::{Protocol, Service};

/// Default `(status, sender_fault)` of error codes common to AWS services (AWS's "common
/// errors" tables), for codes the service model does not list.
pub fn default_status(code: &str) -> Option<(u16, bool)> {
    Some(match code {
        "AccessDenied"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "OptInRequired"
        | "MissingAuthenticationToken"
        | "ExpiredToken" => (403, true),
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException"
        | "RequestExpired"
        | "ValidationError"
        | "ValidationException"
        | "InvalidAction"
        | "MissingAction"
        | "MissingParameter"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "InvalidQueryParameter"
        | "UnknownOperationException"
        | "SerializationException"
        | "Throttling"
        | "ThrottlingException"
        | "NotAuthorized" => (400, true),
        "MalformedQueryString" => (404, true),
        "RequestEntityTooLarge" => (413, true),
        "InternalFailure" | "InternalError" | "InternalServerError" | "ServiceFailure" => {
            (500, false)
        }
        "NotImplemented" => (501, false),
        "ServiceUnavailable" => (503, false),
        _ => return None,
    })
}

impl Service {
    /// The `(status, sender_fault)` of error `code` in this service: the model's entry, else
    /// (restXml) S3's error table, else AWS's common-error default, else `None` (a code none
    /// knows).
    pub fn error_status(&self, code: &str) -> Option<(u16, bool)> {
        self.error(code)
            .map(|e| (e.status, e.sender_fault))
            .or_else(|| {
                (self.protocol == Protocol::RestXml)
                    .then(|| crate::s3_errors::s3_error_status(code))
                    .flatten()
            })
            .or_else(|| {
                (self.protocol == Protocol::RestJson)
                    .then(|| rest_json_auth_status(code))
                    .flatten()
            })
            .or_else(|| default_status(code))
    }
}

/// restJson1 services answer the authentication and access errors with 403 where awsJson
/// answers 400 (the wire layer renders them so).
fn rest_json_auth_status(code: &str) -> Option<(u16, bool)> {
    matches!(
        code,
        "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "MissingAuthenticationTokenException"
            | "ExpiredTokenException"
    )
    .then_some((403, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_comes_before_the_common_table() {
        let iam = crate::service("iam").unwrap();
        assert_eq!(iam.error_status("NoSuchEntity"), Some((404, true)));
        assert_eq!(iam.error_status("InternalFailure"), Some((500, false)));
        assert_eq!(iam.error_status("NoSuchThing"), None);
        assert_eq!(default_status("ExpiredToken"), Some((403, true)));
        let s3 = crate::service("s3").unwrap();
        assert_eq!(s3.error_status("NoSuchKey"), Some((404, true)));
        assert_eq!(s3.error_status("BucketNotEmpty"), Some((409, true)));
        assert_eq!(s3.error_status("InternalFailure"), Some((500, false)));
        assert_eq!(iam.error_status("BucketNotEmpty"), None);
        let kms = crate::service("kms").unwrap();
        assert_eq!(
            kms.error_status("UnrecognizedClientException"),
            Some((400, true))
        );
        let guardduty = crate::service("guardduty").unwrap();
        assert_eq!(
            guardduty.error_status("UnrecognizedClientException"),
            Some((403, true))
        );
    }
}
