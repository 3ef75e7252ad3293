//! awsQuery response encoding: an output value as `<OpResponse><OpResult>..</OpResult>
//! <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></OpResponse>`, following the
//! output shape (member order, `<member>` list wrappers, `<entry><key/><value/></entry>` maps,
//! ISO 8601 timestamps).
//!
//! The XML is written by hand rather than with quick-xml: the documents are element-only with
//! one attribute (`xmlns`), so a string builder plus [`escape_xml`] is shorter and faster, and
//! [`escape_xml`] covers what quick-xml's escaping does not (line breaks and tabs as character
//! references so parsers keep them verbatim, and characters XML 1.0 cannot carry at all).

use crate::error::EncodeError;
use crate::validate::join;
use crate::WireResponse;
use rampart_model::{Operation, Service, ShapeId, ShapeKind};
use serde_json::Value;
use std::fmt::Write as _;

/// Deepest output nesting encoded.
const MAX_DEPTH: usize = 64;

/// Escapes text for XML element content and attribute values: `& < > " '` as entities, tab, LF
/// and CR as character references (so XML parsers do not normalize them), and characters that
/// XML 1.0 cannot represent even as references (other C0 controls, U+FFFE, U+FFFF) as U+FFFD,
/// since a body no client can parse would be worse than the replacement.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Encodes `output` (AWS member names) for `operation` of an awsQuery service.
pub fn encode_query_output(
    service: &'static Service,
    operation: &'static Operation,
    output: &Value,
    request_id: &str,
) -> Result<WireResponse, EncodeError> {
    let ns = service.xml_namespace.unwrap_or("");
    let mut body = String::with_capacity(512);
    let _ = write!(
        body,
        "<{}Response xmlns=\"{}\">",
        operation.name,
        escape_xml(ns)
    );
    if let Some(id) = operation.output {
        let wrapper = operation
            .result_wrapper
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}Result", operation.name));
        let _ = write!(body, "<{wrapper}>");
        match output {
            Value::Null => {}
            Value::Object(_) => {
                let mut w = Writer { service, out: body };
                w.members(id, output, "", 0)?;
                body = w.out;
            }
            _ => {
                return Err(EncodeError::TypeMismatch {
                    path: operation.name.to_string(),
                    expected: "an object",
                })
            }
        }
        let _ = write!(body, "</{wrapper}>");
    }
    let _ = write!(
        body,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{}Response>",
        escape_xml(request_id),
        operation.name
    );
    Ok(WireResponse {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/xml".into()),
            ("x-amzn-RequestId".into(), request_id.into()),
        ],
        body: body.into_bytes(),
    })
}

struct Writer {
    service: &'static Service,
    out: String,
}

fn mismatch(path: &str, expected: &'static str) -> EncodeError {
    EncodeError::TypeMismatch {
        path: path.to_string(),
        expected,
    }
}

impl Writer {
    /// The members of structure `id` present in `v`, in model order.
    fn members(
        &mut self,
        id: ShapeId,
        v: &Value,
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let ShapeKind::Structure(members) = self.service.shape(id).kind else {
            return Err(mismatch(path, "a structure shape"));
        };
        let Value::Object(map) = v else {
            return Err(mismatch(path, "an object"));
        };
        for m in members {
            let Some(mv) = map.get(m.name) else { continue };
            if mv.is_null() {
                continue;
            }
            let p = join(path, m.name);
            let shape = self.service.shape(m.shape);
            let flat = m.flattened
                || matches!(shape.kind, ShapeKind::List(l) if l.flattened)
                || matches!(shape.kind, ShapeKind::Map(x) if x.flattened);
            if flat {
                self.flattened(m.shape, m.wire_name(), mv, &p, depth + 1)?;
            } else {
                self.element(m.shape, m.wire_name(), mv, &p, depth + 1)?;
            }
        }
        Ok(())
    }

    /// `<name>content</name>` for a value of shape `id`.
    fn element(
        &mut self,
        id: ShapeId,
        name: &str,
        v: &Value,
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let _ = write!(self.out, "<{name}>");
        self.content(id, v, path, depth)?;
        let _ = write!(self.out, "</{name}>");
        Ok(())
    }

    /// A flattened list or map: one `<name>` element per item, without a wrapper.
    fn flattened(
        &mut self,
        id: ShapeId,
        name: &str,
        v: &Value,
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        match (self.service.shape(id).kind, v) {
            (ShapeKind::List(info), Value::Array(items)) => {
                let name = info.member_name.unwrap_or(name);
                for (i, item) in items.iter().enumerate() {
                    self.element(
                        info.member,
                        name,
                        item,
                        &join(path, &i.to_string()),
                        depth + 1,
                    )?;
                }
                Ok(())
            }
            (ShapeKind::Map(info), Value::Object(map)) => {
                for (k, item) in map {
                    let _ = write!(self.out, "<{name}>");
                    self.entry(
                        info.key_name,
                        info.value_name,
                        info.value,
                        k,
                        item,
                        path,
                        depth,
                    )?;
                    let _ = write!(self.out, "</{name}>");
                }
                Ok(())
            }
            _ => self.element(id, name, v, path, depth),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        key_name: Option<&str>,
        value_name: Option<&str>,
        value_shape: ShapeId,
        k: &str,
        item: &Value,
        path: &str,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let kn = key_name.unwrap_or("key");
        let _ = write!(self.out, "<{kn}>{}</{kn}>", escape_xml(k));
        if !item.is_null() {
            self.element(
                value_shape,
                value_name.unwrap_or("value"),
                item,
                &join(path, k),
                depth + 1,
            )?;
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
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooDeep(path.to_string()));
        }
        match (self.service.shape(id).kind, v) {
            (ShapeKind::Structure(_), Value::Object(_)) => self.members(id, v, path, depth),
            (ShapeKind::List(info), Value::Array(items)) => {
                let name = info.member_name.unwrap_or("member");
                for (i, item) in items.iter().enumerate() {
                    self.element(
                        info.member,
                        name,
                        item,
                        &join(path, &i.to_string()),
                        depth + 1,
                    )?;
                }
                Ok(())
            }
            (ShapeKind::Map(info), Value::Object(map)) => {
                for (k, item) in map {
                    self.out.push_str("<entry>");
                    self.entry(
                        info.key_name,
                        info.value_name,
                        info.value,
                        k,
                        item,
                        path,
                        depth,
                    )?;
                    self.out.push_str("</entry>");
                }
                Ok(())
            }
            (ShapeKind::String | ShapeKind::Blob, Value::String(s)) => {
                self.out.push_str(&escape_xml(s));
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
                    .and_then(crate::time::format_iso8601)
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
