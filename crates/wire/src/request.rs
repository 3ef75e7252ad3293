//! The whole decode step for one HTTP request: route, decode in the service's protocol, then
//! validate against the input shape.

use crate::error::{encode_error, encode_error_protocol, ApiError};
use crate::json::{decode_json, JSON_CONTENT_TYPE_PREFIX};
use crate::query_decode::{decode_query, parse_form};
use crate::rest_json::decode_rest_json;
use crate::route::{route, RouteInput};
use crate::validate::{validate, validation_message};
use crate::WireResponse;
use rampart_model::{Operation, Protocol, Service};
use serde_json::Value;

/// The parts of an HTTP request the protocols read.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpRequest<'a> {
    /// The HTTP method (awsQuery accepts `GET` and `POST`; awsJson is `POST`; restJson1 routes
    /// on it).
    pub method: &'a str,
    /// The path as sent, percent-encoded (restJson1 routes on it).
    pub path: &'a str,
    /// The raw query string, without `?` (may carry awsQuery parameters and presigned auth).
    pub query: &'a str,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `X-Amz-Target` header.
    pub target: Option<&'a str>,
    /// The service in the SigV4 credential scope, from the parsed (not yet verified)
    /// Authorization header or presigned query.
    pub signed_service: Option<&'a str>,
    /// Every header as `(name, value)` (names in any case): restJson1 members bound to headers.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The body.
    pub body: &'a [u8],
}

/// A decoded, validated request.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The service.
    pub service: &'static Service,
    /// The operation.
    pub operation: &'static Operation,
    /// The input, AWS member names (see the crate docs for the value conventions).
    pub input: Value,
}

/// A request that failed to decode, with what is known about it (for the response and audit).
#[derive(Debug, Clone)]
pub struct DecodeFailure {
    /// The service, when routing succeeded.
    pub service: Option<&'static Service>,
    /// The protocol to answer in.
    pub protocol: Protocol,
    /// The operation, when it was identified (validation failures).
    pub operation: Option<&'static Operation>,
    /// The error to return.
    pub error: ApiError,
}

impl DecodeFailure {
    /// Renders the error in the right protocol and namespace.
    pub fn encode(&self, request_id: &str) -> WireResponse {
        match self.service {
            Some(s) => encode_error(s, &self.error, request_id),
            None => encode_error_protocol(self.protocol, None, &self.error, request_id),
        }
    }
}

/// `text` starts with `prefix`, ignoring ASCII case.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn is_form(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(ct) => starts_with_ignore_case(ct.trim(), "application/x-www-form-urlencoded"),
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(ct) => {
            let ct = ct.trim();
            starts_with_ignore_case(ct, JSON_CONTENT_TYPE_PREFIX)
                || starts_with_ignore_case(ct, "application/json")
        }
    }
}

/// Routes, decodes and validates one request. awsQuery parameters come from the query string
/// and, for a form-encoded body, the body (the body wins on a repeated name). awsJson requires a
/// JSON content type (`application/x-amz-json-1.x` or `application/json`). restJson1 finds the
/// operation by method and path and reads members from where the model binds them.
pub fn decode_request(req: &HttpRequest<'_>) -> Result<Decoded, DecodeFailure> {
    let target = req.target.map(str::trim).filter(|t| !t.is_empty());
    let mut params = Default::default();
    if target.is_none() {
        params = parse_form(req.query.as_bytes());
        if !req.method.eq_ignore_ascii_case("GET") && is_form(req.content_type) {
            let body = parse_form(req.body);
            if params.is_empty() {
                params = body;
            } else {
                params.extend(body);
            }
        }
    }
    let service = route(RouteInput {
        target,
        action: params.get("Action").map(|a| a.as_ref()),
        signed_service: req.signed_service,
        method: req.method,
        path: req.path,
        query: req.query,
    })
    .map_err(|(protocol, error)| DecodeFailure {
        service: None,
        protocol,
        operation: None,
        error,
    })?;
    let fail = |operation, error| DecodeFailure {
        service: Some(service),
        protocol: service.protocol,
        operation,
        error,
    };
    let (operation, input) = match (service.protocol, target) {
        (Protocol::RestJson, _) => decode_rest_json(service, req).map_err(|e| fail(None, e))?,
        (Protocol::Query, _) => decode_query(service, &params).map_err(|e| fail(None, e))?,
        (Protocol::Json, None) => {
            return Err(fail(
                None,
                ApiError::new(
                    "UnknownOperationException",
                    "Missing X-Amz-Target header",
                    400,
                    true,
                ),
            ))
        }
        (Protocol::Json, Some(t)) => {
            if !is_json(req.content_type) {
                return Err(fail(
                    None,
                    ApiError::new(
                        "UnknownOperationException",
                        format!(
                            "Unsupported content type {}",
                            req.content_type.unwrap_or_default()
                        ),
                        400,
                        true,
                    ),
                ));
            }
            decode_json(service, t, req.body).map_err(|e| fail(None, e))?
        }
    };
    if let Some(id) = operation.input {
        let violations = validate(service, id, &input);
        if !violations.is_empty() {
            let err = ApiError::validation(service.protocol, validation_message(&violations));
            return Err(fail(Some(operation), err));
        }
    }
    Ok(Decoded {
        service,
        operation,
        input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_ignoring_case() {
        assert!(is_form(None));
        assert!(is_form(Some(
            " Application/X-WWW-Form-Urlencoded; charset=utf-8"
        )));
        assert!(!is_form(Some("application/json")));
        assert!(!is_form(Some("application/x-www")));
        assert!(is_json(Some("APPLICATION/X-AMZ-JSON-1.1")));
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(!is_json(Some("text/xml")));
        assert!(!is_json(Some("é")));
    }
}
