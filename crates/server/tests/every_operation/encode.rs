//! An input value as a request: an awsQuery form body, named the way botocore names
//! parameters (`A.B`, `List.member.N`, `Map.entry.N.key`), or a REST request bound the way
//! the model binds each member (path label, query, header, prefix headers, payload, body).
//! A value that does not fit its shape (a mutation) is sent as text under the member's name.

use base64::Engine as _;
use rampart_model::{
    Location, MapInfo, Member, Operation, Protocol, Service, ShapeId, ShapeKind, TimestampFormat,
};
use serde_json::{Map, Value};

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

/// A REST request (restXml, restJson1) as the model binds the input: the method, the URI
/// template with its labels filled, query literals and members, header members, the
/// `x-amz-meta-` style prefix maps and the body.
pub struct RestRequest {
    pub method: &'static str,
    /// The path, percent-encoded.
    pub path: String,
    /// The query string without `?`, percent-encoded (empty when none).
    pub query: String,
    /// Header members, by name (values as bytes: hostile text may not be ASCII).
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// The body's content type when no member names one.
    pub content_type: Option<String>,
}

/// Where a scalar goes: timestamps are RFC 7231 dates in headers, ISO 8601 elsewhere.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Header,
    Text,
}

pub fn rest(service: &Service, op: &Operation, input: &Value) -> RestRequest {
    let members = match op.input.map(|id| service.shape(id).kind) {
        Some(ShapeKind::Structure(members)) => members,
        _ => &[],
    };
    let map = input.as_object();
    let (template, literals) = op.http.uri.split_once('?').unwrap_or((op.http.uri, ""));
    let mut query: Vec<String> = literals
        .split('&')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut headers = Vec::new();
    let mut body_members = Vec::new();
    let mut payload = None;
    for m in members {
        let Some(v) = given(map, m) else { continue };
        match m.location {
            Location::Uri | Location::StatusCode => {}
            Location::Query => query_member(service, m, v, &mut query),
            Location::Header => {
                // The HTTP layer writes the body's real length; a client never sends another.
                if !m.wire_name().eq_ignore_ascii_case("content-length") {
                    let text = header_text(service, m.shape, v);
                    headers.push((m.wire_name().to_string(), text.into_bytes()));
                }
            }
            Location::Headers => {
                for (k, x) in v.as_object().into_iter().flatten() {
                    let name = format!("{}{k}", m.wire_name());
                    headers.push((name, text(x).into_bytes()));
                }
            }
            Location::Payload => payload = Some((m, v)),
            Location::Body => body_members.push((m, v)),
        }
    }
    let path = fill_labels(service, template, members, map);
    let (body, content_type): (Vec<u8>, Option<&str>) = match (payload, service.protocol) {
        (Some((m, v)), _) => payload_body(service, m, v),
        (None, _) if body_members.is_empty() => (Vec::new(), None),
        (None, Protocol::RestXml) => {
            let root = op.input.map_or("Request", |id| service.shape(id).name);
            let mut out = String::new();
            open(&mut out, root, service.xml_namespace, &[]);
            for (m, v) in body_members {
                xml_member(service, m, v, &mut out);
            }
            close(&mut out, root);
            (out.into_bytes(), Some("application/xml"))
        }
        (None, _) => {
            let object: Map<String, Value> = body_members
                .into_iter()
                .map(|(m, v)| (m.wire_name().to_string(), v.clone()))
                .collect();
            (
                Value::Object(object).to_string().into_bytes(),
                Some("application/json"),
            )
        }
    };
    RestRequest {
        method: op.http.method,
        path,
        query: query.join("&"),
        headers,
        body,
        content_type: content_type.map(str::to_string),
    }
}

/// Member `m` of the input, when given and not null.
fn given<'a>(map: Option<&'a Map<String, Value>>, m: &Member) -> Option<&'a Value> {
    map.and_then(|o| o.get(m.name)).filter(|v| !v.is_null())
}

/// The URI template's path with each `{Label}` percent-encoded and each greedy `{Label+}`
/// percent-encoded segment by segment (its `/` kept).
fn fill_labels(
    service: &Service,
    template: &str,
    members: &[Member],
    map: Option<&Map<String, Value>>,
) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        path.push_str(&rest[..start]);
        let label = &rest[start + 1..start + len];
        let (name, greedy) = match label.strip_suffix('+') {
            Some(n) => (n, true),
            None => (label, false),
        };
        let value = members
            .iter()
            .find(|m| m.location == Location::Uri && m.wire_name() == name)
            .and_then(|m| given(map, m).map(|v| scalar_text(service, m.shape, v, Place::Text)))
            .unwrap_or_default();
        if greedy {
            let segments: Vec<String> = value.split('/').map(percent).collect();
            path.push_str(&segments.join("/"));
        } else {
            path.push_str(&percent(&value));
        }
        rest = &rest[start + len + 1..];
    }
    path.push_str(rest);
    path
}

/// A query member: a scalar as one parameter, a list as the parameter repeated, a map
/// (restJson1's `httpQueryParams`) as one parameter per entry.
fn query_member(service: &Service, m: &Member, v: &Value, query: &mut Vec<String>) {
    let name = percent(m.wire_name());
    match (service.shape(m.shape).kind, v) {
        (ShapeKind::List(info), Value::Array(items)) => {
            for item in items {
                let t = scalar_text(service, info.member, item, Place::Text);
                query.push(format!("{name}={}", percent(&t)));
            }
        }
        (ShapeKind::Map(info), Value::Object(entries)) => {
            for (k, x) in entries {
                let t = scalar_text(service, info.value, x, Place::Text);
                query.push(format!("{}={}", percent(k), percent(&t)));
            }
        }
        _ => {
            let t = scalar_text(service, m.shape, v, Place::Text);
            query.push(format!("{name}={}", percent(&t)));
        }
    }
}

/// A header member's value: a scalar, or a list's items joined by commas.
fn header_text(service: &Service, id: ShapeId, v: &Value) -> String {
    match (service.shape(id).kind, v) {
        (ShapeKind::List(info), Value::Array(items)) => items
            .iter()
            .map(|x| scalar_text(service, info.member, x, Place::Header))
            .collect::<Vec<_>>()
            .join(","),
        _ => scalar_text(service, id, v, Place::Header),
    }
}

/// A scalar as text: timestamps (epoch seconds in the input) as the shape's format or the
/// place's default, everything else as `text` does. A value that does not fit (a mutation)
/// goes out as its own text.
fn scalar_text(service: &Service, id: ShapeId, v: &Value, place: Place) -> String {
    let ShapeKind::Timestamp(format) = service.shape(id).kind else {
        return text(v);
    };
    let Some(t) = v
        .as_i64()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
    else {
        return text(v);
    };
    match (format, place) {
        (Some(TimestampFormat::UnixTimestamp), _) => t.timestamp().to_string(),
        (Some(TimestampFormat::Rfc822), _) | (None, Place::Header) => {
            t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
        }
        _ => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// The body of a payload member: a structure as its XML document (restXml) or JSON
/// (restJson1), a blob as its bytes (the input holds base64; text that is not base64 goes
/// out as it is), a string as its text.
fn payload_body(service: &Service, m: &Member, v: &Value) -> (Vec<u8>, Option<&'static str>) {
    match (service.shape(m.shape).kind, service.protocol) {
        (ShapeKind::Structure(_), Protocol::RestXml) => {
            let mut out = String::new();
            let root = m.location_name.unwrap_or(service.shape(m.shape).name);
            xml_element(service, m.shape, v, root, m.xml_namespace, &mut out);
            (out.into_bytes(), Some("application/xml"))
        }
        (ShapeKind::Structure(_) | ShapeKind::Document, _) => {
            (v.to_string().into_bytes(), Some("application/json"))
        }
        (ShapeKind::Blob, _) => {
            let raw = text(v);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&raw)
                .unwrap_or_else(|_| raw.into_bytes());
            (bytes, Some("application/octet-stream"))
        }
        _ => (text(v).into_bytes(), Some("text/plain")),
    }
}

/// Member `m` of a structure: the repeated elements of a flattened list or map, else one
/// element named by the member's wire name (as botocore's serializer writes them).
fn xml_member(service: &Service, m: &Member, v: &Value, out: &mut String) {
    let name = m.wire_name();
    match (service.shape(m.shape).kind, v) {
        (ShapeKind::List(info), Value::Array(items)) if m.flattened || info.flattened => {
            for item in items {
                xml_element(service, info.member, item, name, None, out);
            }
        }
        (ShapeKind::Map(info), Value::Object(entries)) if m.flattened || info.flattened => {
            for (k, x) in entries {
                open(out, name, None, &[]);
                xml_entry(service, info, k, x, out);
                close(out, name);
            }
        }
        _ => xml_element(service, m.shape, v, name, m.xml_namespace, out),
    }
}

/// Element `name` holding `v` of shape `id`: a structure's members (its attribute members on
/// the start tag), a list's items, a map's entries, or a scalar's text.
fn xml_element(
    service: &Service,
    id: ShapeId,
    v: &Value,
    name: &str,
    ns: Option<&str>,
    out: &mut String,
) {
    match (service.shape(id).kind, v) {
        (ShapeKind::Structure(members), Value::Object(map)) => {
            let present = |m: &&Member| map.get(m.name).is_some_and(|x| !x.is_null());
            let attributes: Vec<(&str, String)> = members
                .iter()
                .filter(|m| m.xml_attribute)
                .filter(present)
                .map(|m| {
                    (
                        m.wire_name(),
                        scalar_text(service, m.shape, &map[m.name], Place::Text),
                    )
                })
                .collect();
            open(out, name, ns, &attributes);
            for m in members.iter().filter(|m| !m.xml_attribute).filter(present) {
                xml_member(service, m, &map[m.name], out);
            }
            // Members the model does not know (a mutation) go out as text elements.
            for (k, x) in map {
                if !members.iter().any(|m| m.name == k) {
                    open(out, k, None, &[]);
                    escape(&text(x), out);
                    close(out, k);
                }
            }
            close(out, name);
        }
        (ShapeKind::List(info), Value::Array(items)) => {
            open(out, name, ns, &[]);
            for item in items {
                let item_name = info.member_name.unwrap_or("member");
                xml_element(service, info.member, item, item_name, None, out);
            }
            close(out, name);
        }
        (ShapeKind::Map(info), Value::Object(entries)) => {
            open(out, name, ns, &[]);
            for (k, x) in entries {
                open(out, "entry", None, &[]);
                xml_entry(service, info, k, x, out);
                close(out, "entry");
            }
            close(out, name);
        }
        _ => {
            open(out, name, ns, &[]);
            escape(&scalar_text(service, id, v, Place::Text), out);
            close(out, name);
        }
    }
}

fn xml_entry(service: &Service, info: MapInfo, key: &str, v: &Value, out: &mut String) {
    let (kn, vn) = (
        info.key_name.unwrap_or("key"),
        info.value_name.unwrap_or("value"),
    );
    open(out, kn, None, &[]);
    escape(key, out);
    close(out, kn);
    xml_element(service, info.value, v, vn, None, out);
}

fn open(out: &mut String, name: &str, ns: Option<&str>, attributes: &[(&str, String)]) {
    out.push('<');
    out.push_str(name);
    if let Some(ns) = ns {
        out.push_str(" xmlns=\"");
        escape(ns, out);
        out.push('"');
    }
    for (k, v) in attributes {
        out.push_str(&format!(" {k}=\""));
        escape(v, out);
        out.push('"');
    }
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// XML text with the five markup characters escaped; anything else (hostile control
/// characters included) as it is.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, Pool, Rng};
    use rampart_services::registry::Registry;
    use serde_json::json;

    /// Without what a decoder cannot give back: nulls, empty lists and maps, and numbers as
    /// `f64` (a timestamp comes back as epoch seconds whatever text carried it).
    fn normal(v: &Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, x)| (k.clone(), normal(x)))
                    .filter(|(_, x)| !is_empty(x))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(normal).collect()),
            Value::Number(n) => json!(n.as_f64()),
            other => other.clone(),
        }
    }

    fn is_empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        }
    }

    /// Valid generated inputs of every built S3 operation, encoded here, decode on the
    /// server to the same operation and the same input (less the streamed body and
    /// `Content-Length`, which the HTTP layer owns).
    #[test]
    fn the_server_decodes_what_the_encoder_sends() {
        let service = rampart_model::service("s3").unwrap();
        let pool = Pool::default();
        let mut rng = Rng::new(7);
        let domains = rampart_wire::default_virtual_host_domains();
        let mut wrong = Vec::new();
        for op in service.operations {
            if Registry.lookup("s3", op.name).is_none() {
                continue;
            }
            for case in 0..20 {
                let mut input = Generator {
                    service,
                    rng: &mut rng,
                    pool: &pool,
                    hostile: false,
                    minimal: case % 2 == 0,
                    reuse: 0,
                }
                .input(op);
                let req = rest(service, op, &input);
                let headers: Vec<(&str, &[u8])> = req
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_slice()))
                    .collect();
                let decoded = rampart_wire::decode_rest_xml(
                    service,
                    &rampart_wire::HttpRequest {
                        method: req.method,
                        path: &req.path,
                        query: &req.query,
                        content_type: req.content_type.as_deref(),
                        target: None,
                        signed_service: Some("s3"),
                        headers: &headers,
                        body: &req.body,
                        host: Some("localhost"),
                        virtual_host_domains: domains,
                    },
                );
                let map = input.as_object_mut().unwrap();
                map.remove("ContentLength");
                if op.streaming_input {
                    map.remove("Body");
                }
                match decoded {
                    Ok((found, got)) if found.name == op.name && normal(&got) == normal(&input) => {
                    }
                    Ok((found, got)) => wrong.push(format!(
                        "{}: sent {input}\n  decoded as {}: {got}",
                        op.name, found.name
                    )),
                    Err(e) => wrong.push(format!("{}: sent {input}\n  refused: {e:?}", op.name)),
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    fn s3_rest(op: &str, input: Value) -> RestRequest {
        let service = rampart_model::service("s3").unwrap();
        rest(service, service.operation(op).unwrap(), &input)
    }

    #[test]
    fn labels_query_and_an_xml_payload_follow_the_model() {
        let req = s3_rest(
            "PutObjectTagging",
            json!({"Bucket": "b", "Key": "a b/c+d", "VersionId": "v1",
                   "Tagging": {"TagSet": [{"Key": "k", "Value": "v&"}]}}),
        );
        assert_eq!((req.method, req.path.as_str()), ("PUT", "/b/a%20b/c%2Bd"));
        assert_eq!(req.query, "tagging&versionId=v1");
        assert_eq!(
            String::from_utf8(req.body).unwrap(),
            "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag>\
             <Key>k</Key><Value>v&amp;</Value></Tag></TagSet></Tagging>"
        );
    }

    #[test]
    fn flattened_lists_headers_and_prefix_maps() {
        let req = s3_rest(
            "DeleteObjects",
            json!({"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}}),
        );
        assert_eq!((req.path.as_str(), req.query.as_str()), ("/b", "delete"));
        assert!(String::from_utf8(req.body)
            .unwrap()
            .ends_with("><Object><Key>x</Key></Object><Object><Key>y</Key></Object></Delete>"));
        let req = s3_rest(
            "CopyObject",
            json!({"Bucket": "b", "Key": "k", "CopySource": "b/j",
                   "CopySourceIfModifiedSince": 0, "Metadata": {"m": "v"}}),
        );
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        };
        assert_eq!(
            header("x-amz-copy-source-if-modified-since").as_deref(),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        assert_eq!(header("x-amz-meta-m").as_deref(), Some("v"));
        assert!(req.body.is_empty());
    }
}
