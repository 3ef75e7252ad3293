//! restXml (S3): the operation is found by method and URI template as in restJson1 (path-style
//! `/{Bucket}/{Key+}`, or virtual-hosted style with the bucket in the Host); members are read
//! from the path, query string, headers, `x-amz-meta-*` prefix headers and the body. A payload
//! member is the whole body: an XML document whose root is the member's `locationName`, a
//! string (a bucket policy) as text, or a streaming blob (object data), which is never read
//! here: the server stages it. Outputs are written back the same way: header members as
//! headers, body members under the operation's root element in the service namespace,
//! timestamps as ISO 8601 with milliseconds in XML and RFC 7231 in headers; a streaming payload
//! leaves the body empty for the server to fill.

use crate::error::{s3_host_id, ApiError, EncodeError};
use crate::query_decode::scalar;
use crate::query_encode::push_escaped_xml;
use crate::request::HttpRequest;
use crate::rest_json::{header, header_text, header_value, query_value, text_value};
use crate::uri_template::{find_operation_with_headers, UriMatch};
use crate::xml_tree::{self, Element};
use crate::{WireHeader, WireResponse};
use base64::Engine as _;
use rampart_model::{Location, Member, Operation, Service, ShapeId, ShapeKind};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt::Write as _;

/// The content type of restXml bodies.
pub const REST_XML_CONTENT_TYPE: &str = "application/xml";

/// The XML declaration S3 starts its documents with.
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Deepest nesting decoded or encoded.
const MAX_DEPTH: usize = 64;

/// S3's `MalformedXML` (400): a body that is not well-formed or not of the payload's shape.
pub fn malformed_xml() -> ApiError {
    ApiError::new(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
        400,
        true,
    )
}

/// S3's `MethodNotAllowed` (405): no operation has this method for this resource.
fn method_not_allowed() -> ApiError {
    ApiError::new(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        405,
        true,
    )
}

/// A value of the wrong type in the path, query or a header: S3's `InvalidArgument`.
fn invalid_argument(mut e: ApiError) -> ApiError {
    e.code = "InvalidArgument".into();
    e
}

/// The bucket a virtual-hosted-style `Host` names: the labels before one of `domains`
/// (`mybucket.s3.localhost:4566` under `s3.localhost` is `mybucket`; the longest matching
/// domain wins). `None` for a Host that is one of the domains, or under none of them.
pub fn virtual_host_bucket<'h>(host: &'h str, domains: &[String]) -> Option<&'h str> {
    if host.starts_with('[') {
        return None;
    }
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if domains.iter().any(|d| d.eq_ignore_ascii_case(host)) {
        return None;
    }
    domains
        .iter()
        .filter_map(|d| {
            let cut = host.len().checked_sub(d.len())?;
            let (bucket, domain) = host.split_at_checked(cut)?;
            let bucket = bucket.strip_suffix('.')?;
            (domain.eq_ignore_ascii_case(d) && !bucket.is_empty()).then_some((d.len(), bucket))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, bucket)| bucket)
}

/// The path to route on: the request's path, with a virtual-hosted bucket put in front (S3
/// only: S3 Control's Host names an account, not a bucket).
fn routing_path<'a>(service: &Service, req: &HttpRequest<'a>) -> Cow<'a, str> {
    let bucket = req
        .host
        .filter(|_| service.name == "s3")
        .and_then(|h| virtual_host_bucket(h, req.virtual_host_domains));
    match bucket {
        Some(bucket) => {
            let sep = if req.path.starts_with('/') { "" } else { "/" };
            Cow::Owned(format!("/{bucket}{sep}{}", req.path))
        }
        None => Cow::Borrowed(req.path),
    }
}

/// The restXml operation a request is for (method, path or virtual-hosted bucket, query
/// literals), with its labels; `None` when no template matches.
pub fn find_rest_xml_operation(
    service: &'static Service,
    req: &HttpRequest<'_>,
) -> Option<UriMatch> {
    find_operation_with_headers(
        service,
        req.method,
        &routing_path(service, req),
        req.query,
        req.headers,
    )
}

/// Decodes a restXml request for `service`. Errors: `MethodNotAllowed` (405, no template
/// matches), `InvalidArgument` (a path, query or header value of the wrong type),
/// `MalformedXML` (a body that does not parse or does not fit the payload's shape). A
/// streaming payload (object data) is left out of the input. Constraint validation is separate.
pub fn decode_rest_xml(
    service: &'static Service,
    req: &HttpRequest<'_>,
) -> Result<(&'static Operation, Value), ApiError> {
    let found = find_rest_xml_operation(service, req).ok_or_else(method_not_allowed)?;
    let op = found.operation;
    let members = match op.input.map(|id| service.shape(id).kind) {
        Some(ShapeKind::Structure(members)) => members,
        _ => return Ok((op, Value::Object(Map::new()))),
    };
    let mut out = Map::new();
    let mut body_root: Option<Element> = None;
    let mut query: Option<Vec<(Cow<'_, str>, Cow<'_, str>)>> = None;
    for m in members {
        let value = match m.location {
            Location::Body => {
                if req.body.trim_ascii().is_empty() {
                    continue;
                }
                let root = match &body_root {
                    Some(r) => r,
                    None => body_root.insert(parse_body(req.body)?),
                };
                member_value(service, m, root, 1)?
            }
            Location::Uri => match found.labels.iter().find(|(n, _)| *n == m.wire_name()) {
                Some((_, raw)) => {
                    Some(text_value(service, m, m.shape, raw, false).map_err(invalid_argument)?)
                }
                None => None,
            },
            Location::Query => {
                let params = query
                    .get_or_insert_with(|| form_urlencoded::parse(req.query.as_bytes()).collect());
                query_value(service, m, members, params).map_err(invalid_argument)?
            }
            Location::Header => match header(req, m.wire_name()) {
                Some(raw) => header_value(service, m, raw).map_err(invalid_argument)?,
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

fn parse_body(body: &[u8]) -> Result<Element, ApiError> {
    xml_tree::parse(body).map_err(|_| malformed_xml())
}

/// Every header whose name starts with `prefix` (ignoring case), keyed by the rest of its name
/// in lower case (S3 stores `x-amz-meta-*` keys lowercased).
fn prefix_headers(req: &HttpRequest<'_>, prefix: &str) -> Option<Value> {
    let mut map = Map::new();
    for (name, value) in req.headers {
        let Some(head) = name.get(..prefix.len()) else {
            continue;
        };
        if head.eq_ignore_ascii_case(prefix) {
            let key = name.get(prefix.len()..).filter(|k| !k.is_empty());
            if let (Some(key), Ok(v)) = (key, std::str::from_utf8(value)) {
                map.insert(
                    key.to_ascii_lowercase(),
                    Value::String(v.trim().to_string()),
                );
            }
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

/// The payload member's value: an XML structure under its root element, a string as the text,
/// a non-streaming blob as base64; a streaming blob is not read.
fn payload_value(
    service: &'static Service,
    m: &Member,
    body: &[u8],
) -> Result<Option<Value>, ApiError> {
    if m.streaming || body.is_empty() {
        return Ok(None);
    }
    match service.shape(m.shape).kind {
        ShapeKind::Blob => Ok(Some(Value::String(
            base64::engine::general_purpose::STANDARD.encode(body),
        ))),
        ShapeKind::String => std::str::from_utf8(body)
            .map(|s| Some(Value::String(s.to_string())))
            .map_err(|_| {
                ApiError::new(
                    "InvalidArgument",
                    "The request body is not UTF-8 text",
                    400,
                    true,
                )
            }),
        ShapeKind::Structure(_) => {
            if body.trim_ascii().is_empty() {
                return Ok(None);
            }
            let root = parse_body(body)?;
            if root.name != m.wire_name() {
                return Err(malformed_xml());
            }
            element_value(service, m.shape, &root, 1).map(Some)
        }
        _ => Err(malformed_xml()),
    }
}

/// Member `m` of a structure read from its element `parent`: an attribute, the repeated
/// elements of a flattened list or map, or one child element.
fn member_value(
    service: &'static Service,
    m: &Member,
    parent: &Element,
    depth: usize,
) -> Result<Option<Value>, ApiError> {
    if m.xml_attribute {
        return parent
            .attr(m.wire_name())
            .map(|text| scalar_value(service, m.shape, text))
            .transpose();
    }
    match service.shape(m.shape).kind {
        ShapeKind::List(info) if m.flattened || info.flattened => {
            let name = info.member_name.unwrap_or(m.wire_name());
            let items = parent
                .children_named(name)
                .map(|c| element_value(service, info.member, c, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        ShapeKind::Map(info) if m.flattened || info.flattened => {
            let mut map = Map::new();
            for entry in parent.children_named(m.wire_name()) {
                let (k, v) = map_entry(service, info, entry, depth)?;
                map.insert(k, v);
            }
            Ok((!map.is_empty()).then_some(Value::Object(map)))
        }
        _ => parent
            .child(m.wire_name())
            .map(|c| element_value(service, m.shape, c, depth + 1))
            .transpose(),
    }
}

/// One `<key/><value/>` entry of a map.
fn map_entry(
    service: &'static Service,
    info: rampart_model::MapInfo,
    entry: &Element,
    depth: usize,
) -> Result<(String, Value), ApiError> {
    let key = entry
        .child(info.key_name.unwrap_or("key"))
        .ok_or_else(malformed_xml)?;
    let value = match entry.child(info.value_name.unwrap_or("value")) {
        Some(v) => element_value(service, info.value, v, depth + 1)?,
        None => Value::Null,
    };
    Ok((key.text.clone(), value))
}

/// The in-memory value of element `el` of shape `id`.
fn element_value(
    service: &'static Service,
    id: ShapeId,
    el: &Element,
    depth: usize,
) -> Result<Value, ApiError> {
    if depth > MAX_DEPTH {
        return Err(malformed_xml());
    }
    match service.shape(id).kind {
        ShapeKind::Structure(members) => {
            let mut out = Map::new();
            for m in members {
                if let Some(v) = member_value(service, m, el, depth)? {
                    out.insert(m.name.to_string(), v);
                }
            }
            Ok(Value::Object(out))
        }
        ShapeKind::List(info) => el
            .children
            .iter()
            .map(|c| element_value(service, info.member, c, depth + 1))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        ShapeKind::Map(info) => {
            let mut map = Map::new();
            for entry in el.children_named("entry") {
                let (k, v) = map_entry(service, info, entry, depth)?;
                map.insert(k, v);
            }
            Ok(Value::Object(map))
        }
        _ => scalar_value(service, id, &el.text),
    }
}

/// A scalar from XML text: strings verbatim, blobs as their base64 text, timestamps ISO 8601
/// or, where the shape says `rfc822` (`ObjectIdentifier.LastModifiedTime`), an HTTP date.
fn scalar_value(service: &'static Service, id: ShapeId, text: &str) -> Result<Value, ApiError> {
    match service.shape(id).kind {
        ShapeKind::String | ShapeKind::Document => Ok(Value::String(text.to_string())),
        ShapeKind::Blob => Ok(Value::String(text.trim().to_string())),
        ShapeKind::Timestamp(_) => crate::time::parse_http_date(text)
            .map(crate::time::epoch_to_json)
            .filter(|v| !v.is_null())
            .ok_or_else(malformed_xml),
        kind => scalar(kind, text.trim()).map_err(|_| malformed_xml()),
    }
}

/// S3's request-id headers, on every response.
fn request_headers(request_id: &str) -> Vec<(WireHeader, String)> {
    vec![
        (
            WireHeader::Named("x-amz-request-id"),
            request_id.to_string(),
        ),
        (WireHeader::Named("x-amz-id-2"), s3_host_id(request_id)),
    ]
}

/// Encodes `output` (AWS member names) for a restXml `operation`: header members as headers
/// (the `Metadata` map as `x-amz-meta-*`), body members in an XML document under the
/// operation's root element ([`rampart_model::output_root`]) in the service's namespace, a
/// structure payload as its own document, a string payload as text. A streaming payload
/// (`GetObject`'s `Body`, see [`Operation::streaming_output`]) is not encoded: the body is
/// left empty for the server to attach the data. A 204 or a `HEAD` has no body.
pub fn encode_rest_xml_output(
    service: &'static Service,
    operation: &'static Operation,
    output: &Value,
    request_id: &str,
) -> Result<WireResponse, EncodeError> {
    let mut status = operation.http.status;
    let mut headers = request_headers(request_id);
    let members = match operation.output.map(|id| service.shape(id).kind) {
        Some(ShapeKind::Structure(members)) => members,
        _ => &[],
    };
    let map = match output {
        Value::Object(map) => Some(map),
        Value::Null => None,
        _ if members.is_empty() => None,
        _ => return Err(mismatch(operation.name, "an object")),
    };
    let mut body: Option<Vec<u8>> = None;
    let mut xml = false;
    for m in members {
        let Some(v) = map.and_then(|map| map.get(m.name)).filter(|v| !v.is_null()) else {
            continue;
        };
        match m.location {
            Location::Header => {
                headers.push((
                    WireHeader::Named(m.wire_name()),
                    header_text(service, m, v)?,
                ));
            }
            Location::Headers => {
                let Value::Object(entries) = v else {
                    return Err(mismatch(m.name, "an object"));
                };
                for (k, val) in entries {
                    let text = match val {
                        Value::String(s) => s.clone(),
                        Value::Null => continue,
                        other => other.to_string(),
                    };
                    headers.push((WireHeader::Owned(format!("{}{k}", m.wire_name())), text));
                }
            }
            Location::StatusCode => {
                status = v
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|s| (100..600).contains(s))
                    .ok_or_else(|| mismatch(m.name, "an HTTP status code"))?;
            }
            Location::Payload if m.streaming => {}
            Location::Payload => {
                let (bytes, is_xml) = payload_bytes(service, m, v)?;
                body = Some(bytes);
                xml = is_xml;
            }
            Location::Body | Location::Uri | Location::Query => {}
        }
    }
    if body.is_none() && members.iter().any(|m| m.location == Location::Body) {
        body = Some(body_document(service, operation, members, map)?.into_bytes());
        xml = true;
    }
    if xml {
        headers.push((WireHeader::ContentType, REST_XML_CONTENT_TYPE.to_string()));
    }
    let no_body = status == 204 || operation.http.method.eq_ignore_ascii_case("HEAD");
    Ok(WireResponse {
        status,
        headers,
        body: if no_body {
            Vec::new()
        } else {
            body.unwrap_or_default()
        },
    })
}

fn mismatch(path: &str, expected: &'static str) -> EncodeError {
    EncodeError::TypeMismatch {
        path: path.to_string(),
        expected,
    }
}

/// `<?xml ...?>` and the root's start tag with the namespace.
fn open_document(out: &mut String, root: &str, ns: Option<&str>) {
    out.push_str(XML_DECL);
    out.push('<');
    out.push_str(root);
    if let Some(ns) = ns {
        out.push_str(" xmlns=\"");
        push_escaped_xml(out, ns);
        out.push('"');
    }
    out.push('>');
}

/// The XML document of an output's body members. `GetBucketLocation` is S3's exception: its
/// root element holds the region as text (empty for `us-east-1`).
fn body_document(
    service: &'static Service,
    operation: &'static Operation,
    members: &'static [Member],
    map: Option<&Map<String, Value>>,
) -> Result<String, EncodeError> {
    let root = rampart_model::output_root(service, operation).unwrap_or(operation.name);
    let mut w = XmlWriter {
        service,
        out: String::with_capacity(512),
    };
    open_document(&mut w.out, root, service.xml_namespace);
    if service.name == "s3" && operation.name == "GetBucketLocation" {
        if let Some(Value::String(region)) = map.and_then(|m| m.get("LocationConstraint")) {
            push_escaped_xml(&mut w.out, region);
        }
    } else if let Some(map) = map {
        w.members(members, map, 1)?;
    }
    for part in ["</", root, ">"] {
        w.out.push_str(part);
    }
    Ok(w.out)
}

/// The body of a payload-bound output member, and whether it is XML.
fn payload_bytes(
    service: &'static Service,
    m: &Member,
    v: &Value,
) -> Result<(Vec<u8>, bool), EncodeError> {
    match (service.shape(m.shape).kind, v) {
        (ShapeKind::Blob, Value::String(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map(|b| (b, false))
            .map_err(|_| mismatch(m.name, "base64 bytes")),
        (ShapeKind::String, Value::String(s)) => Ok((s.clone().into_bytes(), false)),
        (ShapeKind::Structure(_), Value::Object(_)) => {
            let mut w = XmlWriter {
                service,
                out: String::with_capacity(256),
            };
            w.out.push_str(XML_DECL);
            let ns = m.xml_namespace.or(service.xml_namespace);
            w.element(m.shape, m.wire_name(), v, ns, m.name, 1)?;
            Ok((w.out.into_bytes(), true))
        }
        _ => Err(mismatch(m.name, "a payload of its shape")),
    }
}

/// Writes XML following the output shapes.
struct XmlWriter {
    service: &'static Service,
    out: String,
}

impl XmlWriter {
    /// The body-bound, non-attribute members of a structure present in `map`, in model order.
    fn members(
        &mut self,
        members: &'static [Member],
        map: &Map<String, Value>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        for m in members {
            if m.location != Location::Body || m.xml_attribute {
                continue;
            }
            let Some(v) = map.get(m.name).filter(|v| !v.is_null()) else {
                continue;
            };
            match (self.service.shape(m.shape).kind, v) {
                (ShapeKind::List(info), Value::Array(items)) if m.flattened || info.flattened => {
                    let name = info.member_name.unwrap_or(m.wire_name());
                    for item in items.iter().filter(|i| !i.is_null()) {
                        self.element(info.member, name, item, None, m.name, depth + 1)?;
                    }
                }
                (ShapeKind::Map(info), Value::Object(entries)) if m.flattened || info.flattened => {
                    for (k, item) in entries {
                        self.open(m.wire_name());
                        self.entry(info, k, item, m.name, depth + 1)?;
                        self.close(m.wire_name());
                    }
                }
                _ => self.element(m.shape, m.wire_name(), v, None, m.name, depth + 1)?,
            }
        }
        Ok(())
    }

    fn open(&mut self, name: &str) {
        for part in ["<", name, ">"] {
            self.out.push_str(part);
        }
    }

    fn close(&mut self, name: &str) {
        for part in ["</", name, ">"] {
            self.out.push_str(part);
        }
    }

    /// `<name attrs>content</name>` for a value of shape `id`; a structure's attribute members
    /// go in the start tag (with the `xsi` namespace declared for `xsi:` names).
    fn element(
        &mut self,
        id: ShapeId,
        name: &str,
        v: &Value,
        ns: Option<&str>,
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooDeep(path.to_string()));
        }
        self.out.push('<');
        self.out.push_str(name);
        if let Some(ns) = ns {
            self.out.push_str(" xmlns=\"");
            push_escaped_xml(&mut self.out, ns);
            self.out.push('"');
        }
        if let (ShapeKind::Structure(members), Value::Object(map)) =
            (self.service.shape(id).kind, v)
        {
            let attrs = members.iter().filter(|m| m.xml_attribute);
            let present: Vec<(&Member, &Value)> = attrs
                .filter_map(|m| map.get(m.name).filter(|v| !v.is_null()).map(|v| (m, v)))
                .collect();
            if present
                .iter()
                .any(|(m, _)| m.wire_name().starts_with("xsi:"))
            {
                self.out
                    .push_str(" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"");
            }
            for (m, av) in present {
                let text = match av {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let _ = write!(self.out, " {}=\"", m.wire_name());
                push_escaped_xml(&mut self.out, &text);
                self.out.push('"');
            }
        }
        self.out.push('>');
        self.content(id, v, path, depth)?;
        self.close(name);
        Ok(())
    }

    /// One `<key/><value/>` pair of a map.
    fn entry(
        &mut self,
        info: rampart_model::MapInfo,
        k: &str,
        item: &Value,
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let kn = info.key_name.unwrap_or("key");
        self.open(kn);
        push_escaped_xml(&mut self.out, k);
        self.close(kn);
        if !item.is_null() {
            let vn = info.value_name.unwrap_or("value");
            self.element(info.value, vn, item, None, path, depth + 1)?;
        }
        Ok(())
    }

    /// The content of an element of shape `id`.
    fn content(
        &mut self,
        id: ShapeId,
        v: &Value,
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        match (self.service.shape(id).kind, v) {
            (ShapeKind::Structure(members), Value::Object(map)) => {
                self.members(members, map, depth)
            }
            (ShapeKind::List(info), Value::Array(items)) => {
                let name = info.member_name.unwrap_or("member");
                for item in items.iter().filter(|i| !i.is_null()) {
                    self.element(info.member, name, item, None, path, depth + 1)?;
                }
                Ok(())
            }
            (ShapeKind::Map(info), Value::Object(map)) => {
                for (k, item) in map {
                    self.open("entry");
                    self.entry(info, k, item, path, depth)?;
                    self.close("entry");
                }
                Ok(())
            }
            (ShapeKind::String | ShapeKind::Blob, Value::String(s)) => {
                push_escaped_xml(&mut self.out, s);
                Ok(())
            }
            (ShapeKind::Integer | ShapeKind::Long, Value::Number(n))
                if n.is_i64() || n.is_u64() =>
            {
                let _ = write!(self.out, "{n}");
                Ok(())
            }
            (ShapeKind::Float | ShapeKind::Double, Value::Number(n)) => {
                let _ = write!(self.out, "{n}");
                Ok(())
            }
            (ShapeKind::Boolean, Value::Bool(b)) => {
                self.out.push_str(if *b { "true" } else { "false" });
                Ok(())
            }
            (ShapeKind::Timestamp(_), v) => {
                let s = crate::time::value_to_epoch(v)
                    .and_then(crate::time::format_iso8601_millis)
                    .ok_or_else(|| mismatch(path, "a timestamp (epoch seconds or RFC 3339)"))?;
                self.out.push_str(&s);
                Ok(())
            }
            (ShapeKind::Structure(_) | ShapeKind::Map(_), _) => Err(mismatch(path, "an object")),
            (ShapeKind::List(_), _) => Err(mismatch(path, "an array")),
            (ShapeKind::String | ShapeKind::Blob, _) => Err(mismatch(path, "a string")),
            (ShapeKind::Boolean, _) => Err(mismatch(path, "a boolean")),
            _ => Err(mismatch(path, "a number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosted_buckets() {
        let domains = vec!["s3.localhost".to_string(), "localhost".to_string()];
        let b = |h| virtual_host_bucket(h, &domains);
        assert_eq!(b("mybucket.s3.localhost:4566"), Some("mybucket"));
        assert_eq!(b("my.dotted.bucket.localhost"), Some("my.dotted.bucket"));
        assert_eq!(b("MyBucket.S3.LOCALHOST."), Some("MyBucket"));
        assert_eq!(b("s3.localhost:4566"), None);
        assert_eq!(b("localhost"), None);
        assert_eq!(b("127.0.0.1:4566"), None);
        assert_eq!(b("[::1]:4566"), None);
        assert_eq!(b("example.com"), None);
        assert_eq!(b(".localhost"), None);
        assert_eq!(virtual_host_bucket("b.localhost", &[]), None);
    }
}
