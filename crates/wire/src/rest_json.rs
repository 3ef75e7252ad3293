//! restJson1: the operation is found by method and URI template ([`crate::uri_template`]); its
//! input members are read from where the model binds them (path labels, query parameters,
//! headers, a header prefix, the whole body as payload, or members of a JSON body under their
//! `jsonName`) into the same in-memory value as every other protocol. Outputs are written back
//! the same way: JSON body, bound headers, and the status from `http.responseCode` (or a
//! `statusCode` member). Timestamps: epoch seconds in the body, RFC 7231 in headers, ISO 8601 in
//! the path and query, unless the shape names a format.

use crate::error::{ApiError, EncodeError};
use crate::json::{convert, encode};
use crate::query_decode::scalar;
use crate::request::HttpRequest;
use crate::uri_template::find_operation_with_headers;
use crate::{WireHeader, WireResponse};
use base64::Engine as _;
use rampart_model::{Location, Member, Operation, Service, ShapeId, ShapeKind, TimestampFormat};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The content type of restJson1 bodies.
pub const REST_JSON_CONTENT_TYPE: &str = "application/json";

fn serialization(message: impl Into<String>) -> ApiError {
    ApiError::new("SerializationException", message, 400, true)
}

/// `UnknownOperationException` (404): no operation of the service has this method and path.
fn unknown_operation(method: &str, path: &str) -> ApiError {
    ApiError::new(
        "UnknownOperationException",
        format!("No operation matches {method} {path}"),
        404,
        true,
    )
}

/// Decodes a restJson1 request for `service`. Errors: `UnknownOperationException` (404, no
/// template matches), `SerializationException` (a body that is not a JSON object, a value of
/// the wrong type in the body, path, query or headers). Constraint validation is separate.
pub fn decode_rest_json(
    service: &'static Service,
    req: &HttpRequest<'_>,
) -> Result<(&'static Operation, Value), ApiError> {
    let found = find_operation_with_headers(service, req.method, req.path, req.query, req.headers)
        .ok_or_else(|| unknown_operation(req.method, req.path))?;
    let op = found.operation;
    let members = match op.input.map(|id| service.shape(id).kind) {
        Some(ShapeKind::Structure(members)) => members,
        _ => return Ok((op, Value::Object(Map::new()))),
    };
    let mut out = Map::new();
    let mut body: Option<Map<String, Value>> = None;
    let mut query: Option<Vec<(Cow<'_, str>, Cow<'_, str>)>> = None;
    for m in members {
        let value = match m.location {
            Location::Body => {
                let body = match &mut body {
                    Some(b) => b,
                    None => body.insert(body_object(req.body)?),
                };
                match body.remove(m.wire_name()) {
                    Some(v) => convert(service, m.shape, v, 1)?,
                    None => None,
                }
            }
            Location::Uri => match found.labels.iter().find(|(n, _)| *n == m.wire_name()) {
                Some((_, raw)) => Some(text_value(service, m, m.shape, raw, false)?),
                None => None,
            },
            Location::Query => {
                let params = query
                    .get_or_insert_with(|| form_urlencoded::parse(req.query.as_bytes()).collect());
                query_value(service, m, members, params)?
            }
            Location::Header => match header(req, m.wire_name()) {
                Some(raw) => header_value(service, m, raw)?,
                None => None,
            },
            Location::Headers => prefix_headers(req, m.wire_name()),
            Location::Payload => payload_value(service, m, req.body)?,
            Location::StatusCode => None,
        };
        if let Some(v) = value {
            out.insert(m.name.to_string(), v);
        }
    }
    Ok((op, Value::Object(out)))
}

/// The JSON body as an object (empty when there is no body).
fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let text = body.trim_ascii();
    if text.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(serialization("The request body must be a JSON object")),
        Err(e) => Err(serialization(format!(
            "Could not parse the request body as JSON (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

/// A header's value (names compare ignoring case); `None` when absent or not text.
pub(crate) fn header<'a>(req: &HttpRequest<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

/// One text value (a path label, query parameter or header) as shape `id`'s in-memory value.
pub(crate) fn text_value(
    service: &'static Service,
    m: &Member,
    id: ShapeId,
    raw: &str,
    in_header: bool,
) -> Result<Value, ApiError> {
    let kind = service.shape(id).kind;
    let parsed = match kind {
        ShapeKind::Timestamp(format) => {
            let secs = match (format, in_header) {
                (Some(TimestampFormat::Rfc822), _) | (None, true) => {
                    crate::time::parse_http_date(raw)
                }
                _ => crate::time::parse_timestamp(raw),
            };
            secs.map(crate::time::epoch_to_json)
                .filter(|v| !v.is_null())
                .ok_or("be a timestamp")
        }
        ShapeKind::String | ShapeKind::Document => Ok(Value::String(raw.to_string())),
        ShapeKind::Structure(_) | ShapeKind::List(_) | ShapeKind::Map(_) => {
            Err("be a single value")
        }
        other => scalar(other, raw),
    };
    parsed.map_err(|what| {
        serialization(format!(
            "Value '{raw}' at '{}' failed to satisfy constraint: Member must {what}",
            m.wire_name()
        ))
    })
}

/// A query-bound member: a list takes every value of its parameter, a map every parameter no
/// other member is bound to, a scalar the first value.
pub(crate) fn query_value(
    service: &'static Service,
    m: &Member,
    members: &[Member],
    params: &[(Cow<'_, str>, Cow<'_, str>)],
) -> Result<Option<Value>, ApiError> {
    let name = m.wire_name();
    match service.shape(m.shape).kind {
        ShapeKind::List(info) => {
            let mut items = Vec::new();
            for (_, v) in params.iter().filter(|(k, _)| k == name) {
                items.push(text_value(service, m, info.member, v, false)?);
            }
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        ShapeKind::Map(info) => {
            let bound = |k: &str| {
                members
                    .iter()
                    .any(|o| o.location == Location::Query && o.wire_name() == k)
            };
            let mut map = Map::new();
            for (k, v) in params.iter().filter(|(k, _)| !bound(k)) {
                let v = text_value(service, m, info.value, v, false)?;
                map.entry(k.to_string()).or_insert(v);
            }
            Ok((!map.is_empty()).then_some(Value::Object(map)))
        }
        _ => match params.iter().find(|(k, _)| k == name) {
            Some((_, v)) => text_value(service, m, m.shape, v, false).map(Some),
            None => Ok(None),
        },
    }
}

/// A header-bound member: a list is the comma-separated values.
pub(crate) fn header_value(
    service: &'static Service,
    m: &Member,
    raw: &str,
) -> Result<Option<Value>, ApiError> {
    match service.shape(m.shape).kind {
        ShapeKind::List(info) => {
            let mut items = Vec::new();
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                items.push(text_value(service, m, info.member, part, true)?);
            }
            Ok(Some(Value::Array(items)))
        }
        _ => text_value(service, m, m.shape, raw.trim(), true).map(Some),
    }
}

/// Every header whose name starts with `prefix` (ignoring case), keyed by the rest of its name.
fn prefix_headers(req: &HttpRequest<'_>, prefix: &str) -> Option<Value> {
    let mut map = Map::new();
    for (name, value) in req.headers {
        let Some(head) = name.get(..prefix.len()) else {
            continue;
        };
        if head.eq_ignore_ascii_case(prefix) {
            if let (Some(key), Ok(v)) = (name.get(prefix.len()..), std::str::from_utf8(value)) {
                map.insert(key.to_string(), Value::String(v.to_string()));
            }
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

/// The member bound to the whole body: a blob is the bytes (base64 in memory), a string the
/// text, anything else JSON of its shape.
fn payload_value(
    service: &'static Service,
    m: &Member,
    body: &[u8],
) -> Result<Option<Value>, ApiError> {
    match service.shape(m.shape).kind {
        ShapeKind::Blob if body.is_empty() => Ok(None),
        ShapeKind::Blob => Ok(Some(Value::String(
            base64::engine::general_purpose::STANDARD.encode(body),
        ))),
        ShapeKind::String if body.is_empty() => Ok(None),
        ShapeKind::String => std::str::from_utf8(body)
            .map(|s| Some(Value::String(s.to_string())))
            .map_err(|_| serialization("The request body is not UTF-8 text")),
        _ => {
            let text = body.trim_ascii();
            if text.is_empty() {
                return Ok(None);
            }
            let v: Value = serde_json::from_slice(text).map_err(|e| {
                serialization(format!(
                    "Could not parse the request body as JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
            convert(service, m.shape, v, 1)
        }
    }
}

/// Encodes `output` (AWS member names) for a restJson1 `operation`: body members as JSON under
/// their `jsonName`, header-bound members as headers, a payload member as the whole body, and
/// the status from the model (or a `statusCode` member). A 204 has no body.
pub fn encode_rest_json_output(
    service: &'static Service,
    operation: &'static Operation,
    output: &Value,
    request_id: &str,
) -> Result<WireResponse, EncodeError> {
    let mut status = operation.http.status;
    let mut headers = vec![
        (WireHeader::ContentType, REST_JSON_CONTENT_TYPE.to_string()),
        (WireHeader::RequestId, request_id.to_string()),
    ];
    let mut body_members = Map::new();
    let mut payload: Option<Vec<u8>> = None;
    let members = match operation.output.map(|id| service.shape(id).kind) {
        Some(ShapeKind::Structure(members)) => members,
        _ => &[],
    };
    let map = match output {
        Value::Object(map) => Some(map),
        Value::Null => None,
        _ if members.is_empty() => None,
        _ => {
            return Err(EncodeError::TypeMismatch {
                path: operation.name.to_string(),
                expected: "an object",
            })
        }
    };
    for m in members {
        let Some(v) = map.and_then(|map| map.get(m.name)).filter(|v| !v.is_null()) else {
            continue;
        };
        match m.location {
            Location::Body => {
                let c = encode(service, m.shape, v, m.name, 1)?;
                body_members.insert(m.wire_name().to_string(), c);
            }
            Location::Header => {
                headers.push((
                    WireHeader::Named(m.wire_name()),
                    header_text(service, m, v)?,
                ));
            }
            Location::StatusCode => {
                status = v
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|s| (100..600).contains(s))
                    .ok_or_else(|| EncodeError::TypeMismatch {
                        path: m.name.to_string(),
                        expected: "an HTTP status code",
                    })?;
            }
            Location::Payload => payload = Some(payload_bytes(service, m, v)?),
            Location::Headers => {
                // Header names from a map are not static; no modelled output uses them.
                return Err(EncodeError::TypeMismatch {
                    path: m.name.to_string(),
                    expected: "no prefix-header binding (unsupported in outputs)",
                });
            }
            Location::Uri | Location::Query => {}
        }
    }
    let body = if status == 204 {
        Vec::new()
    } else {
        match payload {
            Some(bytes) => bytes,
            None => Value::Object(body_members).to_string().into_bytes(),
        }
    };
    Ok(WireResponse {
        status,
        headers,
        body,
    })
}

/// An output member's header text: timestamps as RFC 7231 dates unless the shape says
/// otherwise, lists comma-separated.
pub(crate) fn header_text(
    service: &'static Service,
    m: &Member,
    v: &Value,
) -> Result<String, EncodeError> {
    let mismatch = |expected| EncodeError::TypeMismatch {
        path: m.name.to_string(),
        expected,
    };
    let one = |id: ShapeId, v: &Value| -> Result<String, EncodeError> {
        match (service.shape(id).kind, v) {
            (ShapeKind::Timestamp(format), v) => {
                let secs = crate::time::value_to_epoch(v).ok_or(mismatch("a timestamp"))?;
                match format {
                    Some(TimestampFormat::Iso8601) => crate::time::format_iso8601(secs),
                    Some(TimestampFormat::UnixTimestamp) => {
                        Some(crate::time::epoch_to_json(secs).to_string())
                    }
                    _ => crate::time::format_http_date(secs),
                }
                .ok_or(mismatch("a timestamp"))
            }
            (_, Value::String(s)) => Ok(s.clone()),
            (_, Value::Number(n)) => Ok(n.to_string()),
            (_, Value::Bool(b)) => Ok(b.to_string()),
            _ => Err(mismatch("a scalar")),
        }
    };
    match (service.shape(m.shape).kind, v) {
        (ShapeKind::List(info), Value::Array(items)) => {
            let parts: Result<Vec<String>, EncodeError> =
                items.iter().map(|i| one(info.member, i)).collect();
            Ok(parts?.join(", "))
        }
        _ => one(m.shape, v),
    }
}

/// The body bytes of a payload-bound output member.
fn payload_bytes(service: &'static Service, m: &Member, v: &Value) -> Result<Vec<u8>, EncodeError> {
    match (service.shape(m.shape).kind, v) {
        (ShapeKind::Blob, Value::String(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| EncodeError::TypeMismatch {
                path: m.name.to_string(),
                expected: "base64 bytes",
            }),
        (ShapeKind::String, Value::String(s)) => Ok(s.clone().into_bytes()),
        _ => Ok(encode(service, m.shape, v, m.name, 1)?
            .to_string()
            .into_bytes()),
    }
}
