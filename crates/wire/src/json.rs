//! awsJson 1.0/1.1: `X-Amz-Target: Prefix.Operation` with a JSON body, type-checked against the
//! input shape (blobs base64, timestamps epoch seconds), and output encoding.

use crate::error::{ApiError, EncodeError};
use crate::validate::join;
use crate::{WireHeader, WireResponse};
use rampart_model::{Operation, Service, ShapeId, ShapeKind, TimestampFormat};
use serde_json::{Map, Value};

/// Content types awsJson requests carry (`application/x-amz-json-1.0` / `-1.1`).
pub const JSON_CONTENT_TYPE_PREFIX: &str = "application/x-amz-json-";

/// Deepest nesting handled (serde_json itself stops at 128).
const MAX_DEPTH: usize = 64;

fn unknown_operation(target: &str) -> ApiError {
    ApiError::new(
        "UnknownOperationException",
        format!("Unknown operation {target}"),
        400,
        true,
    )
}

fn serialization(message: impl Into<String>) -> ApiError {
    ApiError::new("SerializationException", message, 400, true)
}

/// Decodes an awsJson request for `service`: the operation named by `target` (the whole
/// `X-Amz-Target` value) and the body type-checked against its input shape. Errors:
/// `UnknownOperationException`, `SerializationException` (malformed JSON or a value of the wrong
/// type). Constraint validation is separate ([`crate::validate`]).
pub fn decode_json(
    service: &'static Service,
    target: &str,
    body: &[u8],
) -> Result<(&'static Operation, Value), ApiError> {
    let (prefix, name) = target
        .trim()
        .rsplit_once('.')
        .ok_or_else(|| unknown_operation(target))?;
    if !service.accepts_target_prefix(prefix) {
        return Err(unknown_operation(target));
    }
    let op = service
        .operation(name)
        .ok_or_else(|| unknown_operation(target))?;
    let text = body.trim_ascii();
    let parsed: Value = if text.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(text).map_err(|e| {
            serialization(format!(
                "Could not parse the request body as JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?
    };
    if !parsed.is_object() {
        return Err(serialization(format!(
            "{} can not be converted to a structure",
            json_kind(&parsed)
        )));
    }
    let input = match op.input {
        None => Value::Object(Map::new()),
        Some(id) => convert(service, id, parsed, 0)?.unwrap_or(Value::Object(Map::new())),
    };
    Ok((op, input))
}

/// Jackson-style name of a JSON token, as AWS's messages use it.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL_VALUE",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(n) if n.is_f64() => "NUMBER_FLOAT_VALUE",
        Value::Number(_) => "NUMBER_VALUE",
        Value::String(_) => "STRING_VALUE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// Type-checks and normalizes one input value; `None` for `null`. Structure members are read
/// under their wire names (restJson1's `jsonName`) and kept under their member names.
pub(crate) fn convert(
    service: &'static Service,
    id: ShapeId,
    v: Value,
    depth: usize,
) -> Result<Option<Value>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    if depth > MAX_DEPTH {
        return Err(serialization("The request body nests too deeply"));
    }
    let shape = service.shape(id);
    let wrong = |v: &Value, to: &str| {
        serialization(format!("{} can not be converted to {to}", json_kind(v)))
    };
    let out = match (shape.kind, v) {
        (ShapeKind::Structure(members), Value::Object(mut map)) => {
            let mut out = Map::new();
            for m in members {
                if let Some(mv) = map.remove(m.wire_name()) {
                    if let Some(c) = convert(service, m.shape, mv, depth + 1)? {
                        out.insert(m.name.to_string(), c);
                    }
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List(info), Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(c) = convert(service, info.member, item, depth + 1)? {
                    out.push(c);
                }
            }
            Value::Array(out)
        }
        (ShapeKind::Map(info), Value::Object(map)) => {
            let mut out = Map::new();
            for (k, item) in map {
                if let Some(c) = convert(service, info.value, item, depth + 1)? {
                    out.insert(k, c);
                }
            }
            Value::Object(out)
        }
        (ShapeKind::Document, v) => v,
        (ShapeKind::String, v @ Value::String(_)) => v,
        (ShapeKind::Boolean, v @ Value::Bool(_)) => v,
        (ShapeKind::Integer, Value::Number(n)) => {
            let i = integral(&n).filter(|i| i32::try_from(*i).is_ok());
            Value::from(i.ok_or_else(|| wrong(&Value::Number(n), "an Integer"))?)
        }
        (ShapeKind::Long, Value::Number(n)) => {
            Value::from(integral(&n).ok_or_else(|| wrong(&Value::Number(n), "a Long"))?)
        }
        (ShapeKind::Float | ShapeKind::Double, v @ Value::Number(_)) => v,
        (ShapeKind::Timestamp(_), Value::Number(n)) => {
            let secs = n.as_f64().filter(|f| f.is_finite());
            let secs = secs.ok_or_else(|| wrong(&Value::Number(n), "a Timestamp"))?;
            crate::time::epoch_to_json(secs)
        }
        (ShapeKind::Timestamp(_), Value::String(s)) => match crate::time::parse_timestamp(&s) {
            Some(secs) => crate::time::epoch_to_json(secs),
            None => return Err(wrong(&Value::String(s), "a Timestamp")),
        },
        (ShapeKind::Blob, Value::String(s)) => {
            use base64::Engine as _;
            if base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .is_err()
            {
                return Err(serialization("Base64 encoded value is not valid"));
            }
            Value::String(s)
        }
        (kind, v) => {
            let to = match kind {
                ShapeKind::Structure(_) => "a Structure",
                ShapeKind::List(_) => "a List",
                ShapeKind::Map(_) => "a Map",
                ShapeKind::String => "a String",
                ShapeKind::Integer => "an Integer",
                ShapeKind::Long => "a Long",
                ShapeKind::Float => "a Float",
                ShapeKind::Double => "a Double",
                ShapeKind::Boolean => "a Boolean",
                ShapeKind::Timestamp(_) => "a Timestamp",
                ShapeKind::Blob => "a Blob",
                ShapeKind::Document => "a Document",
            };
            return Err(wrong(&v, to));
        }
    };
    Ok(Some(out))
}

/// An integer value of a JSON number (also a float with no fraction).
fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    })
}

/// Encodes `output` (AWS member names) for `operation` of an awsJson service: members in model
/// order, nulls and unmodelled members dropped, timestamps as epoch seconds, blobs as given
/// (base64).
pub fn encode_json_output(
    service: &'static Service,
    operation: &'static Operation,
    output: &Value,
    request_id: &str,
) -> Result<WireResponse, EncodeError> {
    let body = match (operation.output, output) {
        (None, _) | (Some(_), Value::Null) => Value::Object(Map::new()),
        (Some(id), v) => encode(service, id, v, operation.name, 0)?,
    };
    let ct = format!(
        "{JSON_CONTENT_TYPE_PREFIX}{}",
        service.json_version.unwrap_or("1.1")
    );
    Ok(WireResponse {
        status: 200,
        headers: vec![
            (WireHeader::ContentType, ct),
            (WireHeader::RequestId, request_id.into()),
        ],
        body: body.to_string().into_bytes(),
    })
}

/// Encodes one output value against its shape: members under their wire names, timestamps as
/// epoch seconds unless the shape says otherwise.
pub(crate) fn encode(
    service: &'static Service,
    id: ShapeId,
    v: &Value,
    path: &str,
    depth: usize,
) -> Result<Value, EncodeError> {
    if depth > MAX_DEPTH {
        return Err(EncodeError::TooDeep(path.to_string()));
    }
    let mismatch = |expected| EncodeError::TypeMismatch {
        path: path.to_string(),
        expected,
    };
    Ok(match (service.shape(id).kind, v) {
        (ShapeKind::Structure(members), Value::Object(map)) => {
            let mut out = Map::new();
            for m in members {
                match map.get(m.name) {
                    None | Some(Value::Null) => {}
                    Some(mv) => {
                        let c = encode(service, m.shape, mv, &join(path, m.name), depth + 1)?;
                        out.insert(m.wire_name().to_string(), c);
                    }
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List(info), Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(encode(
                    service,
                    info.member,
                    item,
                    &join(path, &i.to_string()),
                    depth + 1,
                )?);
            }
            Value::Array(out)
        }
        (ShapeKind::Map(info), Value::Object(map)) => {
            let mut out = Map::new();
            for (k, item) in map {
                if !item.is_null() {
                    out.insert(
                        k.clone(),
                        encode(service, info.value, item, &join(path, k), depth + 1)?,
                    );
                }
            }
            Value::Object(out)
        }
        (ShapeKind::String | ShapeKind::Blob, Value::String(_))
        | (ShapeKind::Boolean, Value::Bool(_))
        | (ShapeKind::Float | ShapeKind::Double, Value::Number(_)) => v.clone(),
        (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            v.clone()
        }
        (ShapeKind::Document, v) => v.clone(),
        (ShapeKind::Timestamp(format), v) => crate::time::value_to_epoch(v)
            .and_then(|secs| match format {
                Some(TimestampFormat::Iso8601) => {
                    crate::time::format_iso8601(secs).map(Value::String)
                }
                Some(TimestampFormat::Rfc822) => {
                    crate::time::format_http_date(secs).map(Value::String)
                }
                _ => Some(crate::time::epoch_to_json(secs)),
            })
            .filter(|v| !v.is_null())
            .ok_or_else(|| mismatch("a timestamp (epoch seconds or RFC 3339)"))?,
        (ShapeKind::Structure(_) | ShapeKind::Map(_), _) => return Err(mismatch("an object")),
        (ShapeKind::List(_), _) => return Err(mismatch("an array")),
        (ShapeKind::String | ShapeKind::Blob, _) => return Err(mismatch("a string")),
        (ShapeKind::Boolean, _) => return Err(mismatch("a boolean")),
        _ => return Err(mismatch("a number")),
    })
}
