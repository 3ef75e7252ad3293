//! The whole decode step for one HTTP request: route, decode in the service's protocol, then
//! validate against the input shape.

use crate::error::{encode_error, encode_error_protocol, ApiError};
use crate::json::{decode_json, JSON_CONTENT_TYPE_PREFIX};
use crate::query_decode::{decode_query, parse_form};
use crate::rest_json::decode_rest_json;
use crate::rest_xml::{decode_rest_xml, find_rest_xml_operation, virtual_host_bucket};
use crate::route::{route, RouteInput};
use crate::validate::{validate, Violation};
use crate::WireResponse;
use rampart_model::{Operation, Protocol, Service, ShapeId, ShapeKind};
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
    /// The body. For an operation with a streaming input ([`identify`],
    /// [`Operation::streaming_input`]) the server may pass an empty body: the data is not part
    /// of the decoded input.
    pub body: &'a [u8],
    /// The `Host` header (`mybucket.s3.localhost:4566`): S3's virtual-hosted-style bucket.
    pub host: Option<&'a str>,
    /// The domains under which a Host's leading labels name an S3 bucket (see
    /// [`default_virtual_host_domains`]); empty turns virtual-hosted style off.
    pub virtual_host_domains: &'a [String],
}

/// The default S3 virtual-host domains: `s3.localhost` and `localhost`
/// (`mybucket.s3.localhost:4566`, `mybucket.localhost:4566`).
pub fn default_virtual_host_domains() -> &'static [String] {
    static DOMAINS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["s3.localhost".to_string(), "localhost".to_string()]);
    &DOMAINS
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
/// and, for a form-encoded POST body, the body (the body wins on a repeated name); a request
/// signed for a restJson1 or restXml service has none. awsJson requires a
/// JSON content type (`application/x-amz-json-1.x` or `application/json`). restJson1 finds the
/// operation by method and path and reads members from where the model binds them.
pub fn decode_request(req: &HttpRequest<'_>) -> Result<Decoded, DecodeFailure> {
    let target = req.target.map(str::trim).filter(|t| !t.is_empty());
    let mut params = Default::default();
    if target.is_none() && !signed_for_rest(req) {
        params = parse_form(req.query.as_bytes());
        if req.method.eq_ignore_ascii_case("POST") && is_form(req.content_type) {
            let body = parse_form(req.body);
            if params.is_empty() {
                params = body;
            } else {
                params.extend(body);
            }
        }
    }
    let service = route(route_input(
        req,
        target,
        params.get("Action").map(|a| a.as_ref()),
    ))
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
        (Protocol::RestXml, _) => decode_rest_xml(service, req).map_err(|e| fail(None, e))?,
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
            let err = if in_xml_payload(service, id, &violations) {
                // S3 answers a body that breaks the schema (an unknown enum value, a missing
                // element) as XML that does not validate.
                crate::rest_xml::malformed_xml()
            } else {
                crate::invalid_input::constraint_error(service, &violations)
            };
            return Err(fail(Some(operation), err));
        }
    }
    Ok(Decoded {
        service,
        operation,
        input,
    })
}

/// Whether a restXml input's violations lie in its XML body (the payload member).
fn in_xml_payload(service: &Service, input: ShapeId, violations: &[Violation]) -> bool {
    if service.protocol != Protocol::RestXml {
        return false;
    }
    let ShapeKind::Structure(members) = service.shape(input).kind else {
        return false;
    };
    members
        .iter()
        .filter(|m| m.location == rampart_model::Location::Payload)
        .map(|m| crate::validate::path_name(m.name))
        .any(|payload| {
            violations
                .iter()
                .any(|v| v.path == payload || v.path.starts_with(&format!("{payload}.")))
        })
}

/// The request is signed for a restJson1 or restXml service: its query and body are not
/// awsQuery parameters (an S3 upload's body is never parsed as a form).
fn signed_for_rest(req: &HttpRequest<'_>) -> bool {
    req.signed_service
        .and_then(rampart_model::service_by_signing_name)
        .is_some_and(|s| matches!(s.protocol, Protocol::RestJson | Protocol::RestXml))
}

fn route_input<'a>(
    req: &HttpRequest<'a>,
    target: Option<&'a str>,
    action: Option<&'a str>,
) -> RouteInput<'a> {
    RouteInput {
        target,
        action,
        signed_service: req.signed_service,
        method: req.method,
        path: req.path,
        query: req.query,
        s3_virtual_host: req
            .host
            .and_then(|h| virtual_host_bucket(h, req.virtual_host_domains))
            .is_some(),
    }
}

/// The service and operation of a restJson1 or restXml request from its method, path, query
/// and headers alone (the body is not read): how the server learns, before reading the body,
/// that the operation streams its input ([`Operation::streaming_input`]: S3 `PutObject`,
/// `UploadPart`) or output ([`Operation::streaming_output`]: `GetObject`). `None` for the
/// other protocols (their operation is in the target header or the body) and for requests no
/// template matches.
pub fn identify(req: &HttpRequest<'_>) -> Option<(&'static Service, &'static Operation)> {
    let target = req.target.map(str::trim).filter(|t| !t.is_empty());
    let action = form_urlencoded::parse(req.query.as_bytes())
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v);
    let service = route(route_input(req, target, action.as_deref())).ok()?;
    match service.protocol {
        Protocol::RestXml => find_rest_xml_operation(service, req).map(|m| (service, m.operation)),
        Protocol::RestJson => crate::uri_template::find_operation_with_headers(
            service,
            req.method,
            req.path,
            req.query,
            req.headers,
        )
        .map(|m| (service, m.operation)),
        Protocol::Query | Protocol::Json => None,
    }
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
