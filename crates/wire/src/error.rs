//! API errors, their default statuses and their per-protocol envelopes.

use crate::query_encode::escape_xml;
use crate::{WireHeader, WireResponse};
use rampart_model::{Protocol, Service};

/// An AWS API error as clients see it: the code they match on, the message, the HTTP status and
/// whether the caller is at fault (`Sender`) or the server (`Receiver`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct ApiError {
    /// AWS's error code (`NoSuchEntity`, `ValidationException`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// HTTP status.
    pub status: u16,
    /// True for client errors.
    pub sender_fault: bool,
    /// The error's `Reason` member, for the JSON errors AWS models with one (Organizations'
    /// `ConstraintViolationException`, `InvalidInputException`, ...).
    pub reason: Option<String>,
    /// Further members of the error document (S3's `Region`, ...), in order (boxed: most
    /// errors have none, and errors travel in `Result`s).
    pub details: Box<[(String, String)]>,
}

/// A failure to encode an output value against its shape (a handler bug: answer
/// `InternalFailure`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The value at `path` is not of the shape's type.
    #[error("output member {path}: expected {expected}")]
    TypeMismatch {
        /// Dotted path of AWS member names.
        path: String,
        /// What the shape wanted.
        expected: &'static str,
    },
    /// The output nests deeper than any model allows.
    #[error("output nests too deeply at {0}")]
    TooDeep(String),
}

/// Errors every service can return, whose code differs between awsQuery and the JSON
/// protocols (awsJson, restJson1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommonError {
    /// The caller lacks permission (`AccessDenied` 403 / `AccessDeniedException` 400).
    AccessDenied,
    /// Input failed validation (`ValidationError` / `ValidationException`, 400).
    Validation,
    /// Unknown access key (`InvalidClientTokenId` 403 / `UnrecognizedClientException` 400).
    InvalidClientTokenId,
    /// Bad signature (`SignatureDoesNotMatch` 403 / `InvalidSignatureException` 400).
    SignatureDoesNotMatch,
    /// Malformed Authorization (`IncompleteSignature` / `IncompleteSignatureException`, 400).
    IncompleteSignature,
    /// No credentials (`MissingAuthenticationToken` 403 / `MissingAuthenticationTokenException` 400).
    MissingAuthenticationToken,
    /// Expired session token (`ExpiredToken` 403 / `ExpiredTokenException` 400).
    ExpiredToken,
    /// Request time outside the 15-minute window (`RequestExpired`, 400).
    RequestExpired,
    /// Too many requests (`Throttling` / `ThrottlingException`, 400).
    Throttling,
    /// Server failure (`InternalFailure`, 500).
    InternalFailure,
    /// Temporarily unavailable (`ServiceUnavailable`, 503).
    ServiceUnavailable,
    /// Modelled but not built (`NotImplemented`, 501).
    NotImplemented,
    /// Body over the size limit (`RequestEntityTooLarge`, 413).
    RequestEntityTooLarge,
}

impl CommonError {
    /// The error code in `protocol`.
    pub fn code(self, protocol: Protocol) -> &'static str {
        if protocol == Protocol::RestXml {
            return self.s3_code();
        }
        let json = protocol.is_json();
        match self {
            CommonError::AccessDenied if json => "AccessDeniedException",
            CommonError::AccessDenied => "AccessDenied",
            CommonError::Validation if json => "ValidationException",
            CommonError::Validation => "ValidationError",
            CommonError::InvalidClientTokenId if json => "UnrecognizedClientException",
            CommonError::InvalidClientTokenId => "InvalidClientTokenId",
            CommonError::SignatureDoesNotMatch if json => "InvalidSignatureException",
            CommonError::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            CommonError::IncompleteSignature if json => "IncompleteSignatureException",
            CommonError::IncompleteSignature => "IncompleteSignature",
            CommonError::MissingAuthenticationToken if json => {
                "MissingAuthenticationTokenException"
            }
            CommonError::MissingAuthenticationToken => "MissingAuthenticationToken",
            CommonError::ExpiredToken if json => "ExpiredTokenException",
            CommonError::ExpiredToken => "ExpiredToken",
            CommonError::RequestExpired => "RequestExpired",
            CommonError::Throttling if json => "ThrottlingException",
            CommonError::Throttling => "Throttling",
            CommonError::InternalFailure => "InternalFailure",
            CommonError::ServiceUnavailable => "ServiceUnavailable",
            CommonError::NotImplemented => "NotImplemented",
            CommonError::RequestEntityTooLarge => "RequestEntityTooLarge",
        }
    }
}

impl CommonError {
    /// The code S3 answers with (its own names: `InvalidAccessKeyId`, `SlowDown`, ...).
    fn s3_code(self) -> &'static str {
        match self {
            CommonError::AccessDenied | CommonError::MissingAuthenticationToken => "AccessDenied",
            CommonError::Validation => "InvalidArgument",
            CommonError::InvalidClientTokenId => "InvalidAccessKeyId",
            CommonError::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            CommonError::IncompleteSignature => "AuthorizationHeaderMalformed",
            CommonError::ExpiredToken => "ExpiredToken",
            CommonError::RequestExpired => "RequestTimeTooSkewed",
            CommonError::Throttling => "SlowDown",
            CommonError::InternalFailure => "InternalError",
            CommonError::ServiceUnavailable => "ServiceUnavailable",
            CommonError::NotImplemented => "NotImplemented",
            CommonError::RequestEntityTooLarge => "EntityTooLarge",
        }
    }
}

/// AWS's common errors' `(status, sender_fault)` (one table in `rampart-model`, shared with the
/// services' error-code checks).
pub use rampart_model::default_status;

impl ApiError {
    /// An error with every field given.
    pub fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        status: u16,
        sender_fault: bool,
    ) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault,
            reason: None,
            details: Box::default(),
        }
    }

    /// An error named by its code: status and fault from `service`'s model table, else from
    /// [`default_status`], else 400/Sender.
    pub fn from_code(service: &Service, code: &str, message: impl Into<String>) -> ApiError {
        let (status, sender_fault) = service.error_status(code).unwrap_or((400, true));
        ApiError::new(code, message, status, sender_fault)
    }

    /// A common error in `protocol`'s spelling. restJson1 services answer the authentication
    /// and access errors with 403 (awsJson with 400).
    pub fn common(protocol: Protocol, kind: CommonError, message: impl Into<String>) -> ApiError {
        let code = kind.code(protocol);
        if protocol == Protocol::RestXml {
            let (status, sender_fault) = rampart_model::s3_error_status(code)
                .or_else(|| default_status(code))
                .unwrap_or((400, true));
            // S3 tells an anonymous caller no more than this.
            let message = match kind {
                CommonError::MissingAuthenticationToken => "Access Denied".to_string(),
                _ => message.into(),
            };
            return ApiError::new(code, message, status, sender_fault);
        }
        let (mut status, sender_fault) = default_status(code).unwrap_or((400, true));
        if protocol == Protocol::RestJson
            && matches!(
                kind,
                CommonError::AccessDenied
                    | CommonError::InvalidClientTokenId
                    | CommonError::SignatureDoesNotMatch
                    | CommonError::MissingAuthenticationToken
                    | CommonError::ExpiredToken
            )
        {
            status = 403;
        }
        ApiError::new(code, message, status, sender_fault)
    }

    /// `ValidationError` (awsQuery) / `ValidationException` (awsJson, restJson1).
    pub fn validation(protocol: Protocol, message: impl Into<String>) -> ApiError {
        ApiError::common(protocol, CommonError::Validation, message)
    }

    /// `InternalFailure` with AWS's generic message (never internal details).
    pub fn internal() -> ApiError {
        ApiError::new(
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            500,
            false,
        )
    }

    /// `NotImplemented` (501) for an operation that is modelled but not built yet.
    pub fn not_implemented(operation: &str) -> ApiError {
        ApiError::new(
            "NotImplemented",
            format!("The operation {operation} is not implemented by Rampart yet."),
            501,
            false,
        )
    }
}

/// Renders `err` in `service`'s protocol (XML namespace from the model for awsQuery, the
/// awsJson version's content type).
pub fn encode_error(service: &Service, err: &ApiError, request_id: &str) -> WireResponse {
    match service.protocol {
        Protocol::Json if service.json_version == Some("1.0") => {
            let mut r = encode_error_protocol(Protocol::Json, None, err, request_id);
            for (h, v) in &mut r.headers {
                if *h == WireHeader::ContentType {
                    *v = "application/x-amz-json-1.0".into();
                }
            }
            r
        }
        _ => encode_error_protocol(service.protocol, service.xml_namespace, err, request_id),
    }
}

/// S3's `x-amz-id-2` for a request: an opaque token derived from the request id (AWS's is an
/// opaque host and request token too).
pub(crate) fn s3_host_id(request_id: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(request_id.as_bytes())
}

/// S3's error document: `<Error><Code/><Message/><RequestId/><HostId/></Error>`.
fn s3_error(err: &ApiError, request_id: &str) -> WireResponse {
    let host_id = s3_host_id(request_id);
    // The generic server failure has S3's own name.
    let code = match err.code.as_str() {
        "InternalFailure" => "InternalError",
        code => code,
    };
    let details: String = err
        .details
        .iter()
        .map(|(name, value)| format!("<{name}>{}</{name}>", escape_xml(value)))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{details}<RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        escape_xml(code),
        escape_xml(&err.message),
        escape_xml(request_id),
        escape_xml(&host_id)
    );
    let mut headers = vec![
        (WireHeader::ContentType, "application/xml".into()),
        (WireHeader::Named("x-amz-request-id"), request_id.into()),
        (WireHeader::Named("x-amz-id-2"), host_id),
    ];
    // S3 names a bucket's region in a header too, for a `HEAD` whose error has no body.
    if let Some((_, region)) = err.details.iter().find(|(name, _)| name == "Region") {
        headers.push((WireHeader::Named("x-amz-bucket-region"), region.clone()));
    }
    WireResponse {
        status: err.status,
        headers,
        body: body.into_bytes(),
    }
}

/// Renders `err` for a protocol when no service could be determined (awsQuery without a
/// namespace uses IAM's).
pub fn encode_error_protocol(
    protocol: Protocol,
    xml_namespace: Option<&str>,
    err: &ApiError,
    request_id: &str,
) -> WireResponse {
    match protocol {
        Protocol::RestXml => s3_error(err, request_id),
        Protocol::Query => {
            let ns = xml_namespace.unwrap_or("https://iam.amazonaws.com/doc/2010-05-08/");
            let kind = if err.sender_fault {
                "Sender"
            } else {
                "Receiver"
            };
            let body = format!(
                "<ErrorResponse xmlns=\"{}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                escape_xml(ns),
                escape_xml(&err.code),
                escape_xml(&err.message),
                escape_xml(request_id)
            );
            WireResponse {
                status: err.status,
                headers: vec![
                    (WireHeader::ContentType, "text/xml".into()),
                    (WireHeader::RequestId, request_id.into()),
                ],
                body: body.into_bytes(),
            }
        }
        // botocore and the Smithy SDKs take the code from `x-amzn-ErrorType` (else the body's
        // `__type`/`code`) and the message from the body's `message`; both protocols send both.
        Protocol::Json | Protocol::RestJson => {
            let mut body = serde_json::json!({ "__type": err.code, "message": err.message });
            if let (Some(reason), Some(fields)) = (&err.reason, body.as_object_mut()) {
                fields.insert("Reason".into(), serde_json::json!(reason));
            }
            // Further members of the modeled error (Detective's `ErrorCode`,
            // `ErrorCodeReason`), which the SDKs read from the body.
            if let Some(fields) = body.as_object_mut() {
                for (name, value) in err.details.iter() {
                    fields.insert(name.clone(), serde_json::json!(value));
                }
            }
            let content_type = if protocol == Protocol::RestJson {
                "application/json"
            } else {
                "application/x-amz-json-1.1"
            };
            WireResponse {
                status: err.status,
                headers: vec![
                    (WireHeader::ContentType, content_type.into()),
                    (WireHeader::RequestId, request_id.into()),
                    (WireHeader::ErrorType, err.code.clone()),
                ],
                body: body.to_string().into_bytes(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_from_model_then_defaults() {
        let iam = rampart_model::service("iam").unwrap();
        let e = ApiError::from_code(iam, "EntityAlreadyExists", "x");
        assert_eq!((e.status, e.sender_fault), (409, true));
        let e = ApiError::from_code(iam, "ServiceFailure", "x");
        assert_eq!((e.status, e.sender_fault), (500, false));
        let e = ApiError::from_code(iam, "AccessDenied", "x");
        assert_eq!(e.status, 403);
        let e = ApiError::from_code(iam, "Whatever", "x");
        assert_eq!((e.status, e.sender_fault), (400, true));
        let kms = rampart_model::service("kms").unwrap();
        let e = ApiError::common(Protocol::Json, CommonError::AccessDenied, "no");
        assert_eq!((e.code.as_str(), e.status), ("AccessDeniedException", 400));
        let e = ApiError::from_code(kms, "KMSInternalException", "x");
        assert_eq!((e.status, e.sender_fault), (500, false));
        let e = ApiError::common(Protocol::Query, CommonError::AccessDenied, "no");
        assert_eq!((e.code.as_str(), e.status), ("AccessDenied", 403));
    }

    #[test]
    fn query_error_envelope() {
        let sts = rampart_model::service("sts").unwrap();
        let err = ApiError::common(
            Protocol::Query,
            CommonError::AccessDenied,
            "User: a<b> & \"c\" is not authorized",
        );
        let r = encode_error(sts, &err, "req-1");
        assert_eq!(r.status, 403);
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: a&lt;b&gt; &amp; &quot;c&quot; is not authorized</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"
        );
        assert_eq!(r.header(WireHeader::ContentType), Some("text/xml"));
    }

    #[test]
    fn json_error_carries_its_reason() {
        let orgs = rampart_model::service("organizations").expect("organizations");
        let mut err = ApiError::from_code(orgs, "ConstraintViolationException", "Too many.");
        err.reason = Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED".into());
        let resp = encode_error(orgs, &err, "rid");
        assert_eq!(resp.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&resp.body).expect("json");
        assert_eq!(
            body,
            serde_json::json!({
                "__type": "ConstraintViolationException",
                "message": "Too many.",
                "Reason": "ACCOUNT_NUMBER_LIMIT_EXCEEDED",
            })
        );
    }

    #[test]
    fn rest_json_error_envelope() {
        let gd = rampart_model::service("guardduty").expect("guardduty");
        let err = ApiError::not_implemented("ListDetectors");
        let r = encode_error(gd, &err, "rid");
        assert_eq!(r.status, 501);
        assert_eq!(r.header(WireHeader::ErrorType), Some("NotImplemented"));
        assert_eq!(r.header(WireHeader::ContentType), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(body["message"], err.message.as_str());
        assert_eq!(body["__type"], "NotImplemented");
        let e = ApiError::common(
            Protocol::RestJson,
            CommonError::MissingAuthenticationToken,
            "m",
        );
        assert_eq!(
            (e.code.as_str(), e.status),
            ("MissingAuthenticationTokenException", 403)
        );
        let e = ApiError::common(Protocol::RestJson, CommonError::Validation, "m");
        assert_eq!((e.code.as_str(), e.status), ("ValidationException", 400));
        let e = ApiError::from_code(gd, "BadRequestException", "m");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn s3_error_document() {
        let s3 = rampart_model::service("s3").unwrap();
        let err = ApiError::from_code(s3, "NoSuchKey", "The specified key does not exist.");
        assert_eq!((err.status, err.sender_fault), (404, true));
        let r = encode_error(s3, &err, "RID");
        assert_eq!(r.status, 404);
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>RID</RequestId><HostId>UklE</HostId></Error>"
        );
        assert_eq!(r.header(WireHeader::ContentType), Some("application/xml"));
        assert_eq!(r.header(WireHeader::Named("x-amz-request-id")), Some("RID"));
        assert_eq!(r.header(WireHeader::Named("x-amz-id-2")), Some("UklE"));
        let e = ApiError::from_code(s3, "BucketNotEmpty", "m");
        assert_eq!(e.status, 409);
        let p = Protocol::RestXml;
        let e = ApiError::common(p, CommonError::InvalidClientTokenId, "m");
        assert_eq!((e.code.as_str(), e.status), ("InvalidAccessKeyId", 403));
        let e = ApiError::common(p, CommonError::SignatureDoesNotMatch, "m");
        assert_eq!((e.code.as_str(), e.status), ("SignatureDoesNotMatch", 403));
        let e = ApiError::common(p, CommonError::MissingAuthenticationToken, "m");
        assert_eq!(
            (e.code.as_str(), e.status, e.message.as_str()),
            ("AccessDenied", 403, "Access Denied")
        );
        let e = ApiError::common(p, CommonError::RequestExpired, "m");
        assert_eq!((e.code.as_str(), e.status), ("RequestTimeTooSkewed", 403));
        let e = ApiError::common(p, CommonError::InternalFailure, "m");
        assert_eq!(
            (e.code.as_str(), e.status, e.sender_fault),
            ("InternalError", 500, false)
        );
    }

    #[test]
    fn json_error_envelope() {
        let kms = rampart_model::service("kms").unwrap();
        let err = ApiError::from_code(kms, "NotFoundException", "Key 'arn' does not exist");
        let r = encode_error(kms, &err, "req-2");
        assert_eq!(r.status, 400);
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            r#"{"__type":"NotFoundException","message":"Key 'arn' does not exist"}"#
        );
        assert_eq!(r.header(WireHeader::ErrorType), Some("NotFoundException"));
        assert_eq!(
            r.header(WireHeader::ContentType),
            Some("application/x-amz-json-1.1")
        );
    }
}
