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
use crate::{WireHeader, WireResponse};
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
    push_escaped_xml(&mut out, s);
    out
}

/// True for the bytes [`push_escaped_xml`] may have to rewrite: the five markup characters,
/// C0 controls, and 0xEF, the lead byte of U+FFFE and U+FFFF.
fn needs_care(b: u8) -> bool {
    matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | 0x00..=0x1f | 0xef)
}

/// Appends [`escape_xml`] of `s` to `out`; text without special characters (most of it) is
/// copied whole.
pub fn push_escaped_xml(out: &mut String, s: &str) {
    // A plain fold (no early exit) vectorizes; most text has nothing to escape.
    if !s.bytes().fold(false, |acc, b| acc | needs_care(b)) {
        out.push_str(s);
        return;
    }
    let first = s.bytes().position(needs_care).unwrap_or(s.len());
    let (plain, rest) = s.split_at(first);
    out.push_str(plain);
    for c in rest.chars() {
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
    for part in ["<", operation.name, "Response xmlns=\""] {
        body.push_str(part);
    }
    push_escaped_xml(&mut body, ns);
    body.push_str("\">");
    if let Some(id) = operation.output {
        let push_wrapper = |body: &mut String| match operation.result_wrapper {
            Some(w) => body.push_str(w),
            None => {
                body.push_str(operation.name);
                body.push_str("Result");
            }
        };
        body.push('<');
        push_wrapper(&mut body);
        body.push('>');
        match output {
            Value::Null => {}
            Value::Object(_) => {
                let mut w = Writer { service, out: body };
                w.members(id, output, &Path::Root, 0)?;
                body = w.out;
            }
            _ => {
                return Err(EncodeError::TypeMismatch {
                    path: operation.name.to_string(),
                    expected: "an object",
                })
            }
        }
        body.push_str("</");
        push_wrapper(&mut body);
        body.push('>');
    }
    body.push_str("<ResponseMetadata><RequestId>");
    push_escaped_xml(&mut body, request_id);
    for part in [
        "</RequestId></ResponseMetadata></",
        operation.name,
        "Response>",
    ] {
        body.push_str(part);
    }
    Ok(WireResponse {
        status: 200,
        headers: vec![
            (WireHeader::ContentType, "text/xml".into()),
            (WireHeader::RequestId, request_id.into()),
        ],
        body: body.into_bytes(),
    })
}

/// Where a value sits in the output; rendered as a dotted path (`User.Tags.0.Key`) only for
/// an error message, so encoding builds no path strings.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// The dotted path, as [`join`] would have built it segment by segment.
    fn render(&self) -> String {
        match *self {
            Path::Root => String::new(),
            Path::Member(parent, name) => join(&parent.render(), name),
            Path::Index(parent, i) => join(&parent.render(), &i.to_string()),
        }
    }
}

struct Writer {
    service: &'static Service,
    out: String,
}

fn mismatch(path: &Path<'_>, expected: &'static str) -> EncodeError {
    EncodeError::TypeMismatch {
        path: path.render(),
        expected,
    }
}

impl Writer {
    /// The members of structure `id` present in `v`, in model order.
    fn members(
        &mut self,
        id: ShapeId,
        v: &Value,
        path: &Path<'_>,
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
            let p = Path::Member(path, m.name);
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
        path: &Path<'_>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        for part in ["<", name, ">"] {
            self.out.push_str(part);
        }
        self.content(id, v, path, depth)?;
        for part in ["</", name, ">"] {
            self.out.push_str(part);
        }
        Ok(())
    }

    /// A flattened list or map: one `<name>` element per item, without a wrapper.
    fn flattened(
        &mut self,
        id: ShapeId,
        name: &str,
        v: &Value,
        path: &Path<'_>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        match (self.service.shape(id).kind, v) {
            (ShapeKind::List(info), Value::Array(items)) => {
                let name = info.member_name.unwrap_or(name);
                for (i, item) in items.iter().enumerate() {
                    self.element(info.member, name, item, &Path::Index(path, i), depth + 1)?;
                }
                Ok(())
            }
            (ShapeKind::Map(info), Value::Object(map)) => {
                for (k, item) in map {
                    for part in ["<", name, ">"] {
                        self.out.push_str(part);
                    }
                    self.entry(
                        info.key_name,
                        info.value_name,
                        info.value,
                        k,
                        item,
                        path,
                        depth,
                    )?;
                    for part in ["</", name, ">"] {
                        self.out.push_str(part);
                    }
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
        path: &Path<'_>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        let kn = key_name.unwrap_or("key");
        for part in ["<", kn, ">"] {
            self.out.push_str(part);
        }
        push_escaped_xml(&mut self.out, k);
        for part in ["</", kn, ">"] {
            self.out.push_str(part);
        }
        if !item.is_null() {
            self.element(
                value_shape,
                value_name.unwrap_or("value"),
                item,
                &Path::Member(path, k),
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
        path: &Path<'_>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooDeep(path.render()));
        }
        match (self.service.shape(id).kind, v) {
            (ShapeKind::Structure(_), Value::Object(_)) => self.members(id, v, path, depth),
            (ShapeKind::List(info), Value::Array(items)) => {
                let name = info.member_name.unwrap_or("member");
                for (i, item) in items.iter().enumerate() {
                    self.element(info.member, name, item, &Path::Index(path, i), depth + 1)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The char-by-char escaper `push_escaped_xml` replaced, as the oracle.
    fn reference_escape(s: &str) -> String {
        let mut out = String::new();
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

    #[test]
    fn escapes_as_the_reference_does() {
        for s in [
            "",
            "plain",
            "a&b<c>d\"e'f",
            "tab\there\nand\r",
            "\u{1}\u{1f}\u{7f}",
            "\u{fffe}\u{ffff}\u{fffd}\u{efff}\u{f000}é",
        ] {
            assert_eq!(escape_xml(s), reference_escape(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn escaping_matches_the_reference(s in "\\PC*|[\\x00-\\x1f&<>'\"\u{fffe}\u{ffff}a-z]*") {
            prop_assert_eq!(escape_xml(&s), reference_escape(&s));
        }
    }

    #[test]
    fn paths_render_as_joined_segments() {
        let root = Path::Root;
        let user = Path::Member(&root, "User");
        let tags = Path::Member(&user, "Tags");
        let first = Path::Index(&tags, 0);
        let key = Path::Member(&first, "Key");
        assert_eq!(key.render(), "User.Tags.0.Key");
        let empty = Path::Member(&root, "");
        assert_eq!(Path::Member(&empty, "x").render(), join(&join("", ""), "x"));
        assert_eq!(root.render(), "");
    }
}
