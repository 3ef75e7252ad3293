//! An input value as an awsQuery form body, named the way botocore names parameters
//! (`A.B`, `List.member.N`, `Map.entry.N.key`). A value that does not fit its shape (a
//! mutation) is sent as text under the member's name.

use rampart_model::{Operation, Service, ShapeId, ShapeKind};
use serde_json::Value;

pub fn form(service: &Service, op: &Operation, input: &Value) -> String {
    let mut pairs = vec![
        ("Action".to_string(), op.name.to_string()),
        ("Version".to_string(), service.api_version.to_string()),
    ];
    if let Some(id) = op.input {
        structure(service, id, input, "", &mut pairs);
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn structure(
    service: &Service,
    id: ShapeId,
    v: &Value,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) {
    let (ShapeKind::Structure(members), Value::Object(map)) = (service.shape(id).kind, v) else {
        return;
    };
    for m in members {
        if let Some(x) = map.get(m.name) {
            let key = format!("{prefix}{}", m.wire_name());
            value(service, m.shape, x, &key, m.flattened, out);
        }
    }
    // Members the model does not know (a mutation) go out under their own names.
    for (name, x) in map {
        if !members.iter().any(|m| m.name == name) {
            out.push((format!("{prefix}{name}"), text(x)));
        }
    }
}

fn value(
    service: &Service,
    id: ShapeId,
    v: &Value,
    key: &str,
    flattened: bool,
    out: &mut Vec<(String, String)>,
) {
    match (service.shape(id).kind, v) {
        (ShapeKind::Structure(_), Value::Object(_)) => {
            structure(service, id, v, &format!("{key}."), out)
        }
        (ShapeKind::List(info), Value::Array(items)) => {
            if items.is_empty() {
                out.push((key.to_string(), String::new()));
            }
            let base = if flattened || info.flattened {
                match (info.member_name, key.rsplit_once('.')) {
                    (Some(n), Some((parent, _))) => format!("{parent}.{n}"),
                    (Some(n), None) => n.to_string(),
                    (None, _) => key.to_string(),
                }
            } else {
                format!("{key}.{}", info.member_name.unwrap_or("member"))
            };
            for (i, item) in items.iter().enumerate() {
                value(
                    service,
                    info.member,
                    item,
                    &format!("{base}.{}", i + 1),
                    false,
                    out,
                );
            }
        }
        (ShapeKind::Map(info), Value::Object(entries)) => {
            if entries.is_empty() {
                out.push((key.to_string(), String::new()));
            }
            let base = if flattened || info.flattened {
                key.to_string()
            } else {
                format!("{key}.entry")
            };
            let (kn, vn) = (
                info.key_name.unwrap_or("key"),
                info.value_name.unwrap_or("value"),
            );
            for (i, (k, x)) in entries.iter().enumerate() {
                let n = i + 1;
                out.push((format!("{base}.{n}.{kn}"), k.clone()));
                value(
                    service,
                    info.value,
                    x,
                    &format!("{base}.{n}.{vn}"),
                    false,
                    out,
                );
            }
        }
        (_, x) => out.push((key.to_string(), text(x))),
    }
}

/// A scalar as form text; composite values (mutations) as their JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
