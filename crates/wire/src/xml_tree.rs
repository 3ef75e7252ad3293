//! A small XML element tree for restXml request bodies, parsed with quick-xml: element local
//! names, attributes under their qualified names, child elements and text. Request documents
//! are small (S3 caps them), so a tree is simpler than streaming against the shape.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Deepest element nesting accepted (no S3 document nests deeper than a dozen levels).
const MAX_DEPTH: usize = 64;

/// One element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    /// Local name (the prefix, if any, dropped).
    pub name: String,
    /// Attributes by qualified name (`xsi:type`), values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own text and CDATA, concatenated and unescaped.
    pub text: String,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The attribute with qualified name `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a document did not parse (rendered by the caller as S3's `MalformedXML`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed;

fn utf8(bytes: &[u8]) -> Result<String, Malformed> {
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|_| Malformed)
}

fn open(start: &BytesStart<'_>) -> Result<Element, Malformed> {
    let mut attrs = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(|_| Malformed)?;
        let value = a.unescape_value().map_err(|_| Malformed)?;
        attrs.push((utf8(a.key.as_ref())?, value.into_owned()));
    }
    Ok(Element {
        name: utf8(start.local_name().as_ref())?,
        attrs,
        ..Element::default()
    })
}

/// Parses a document with exactly one root element (an XML declaration, comments and
/// whitespace around it allowed).
pub(crate) fn parse(body: &[u8]) -> Result<Element, Malformed> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|_| Malformed)?;
        match event {
            Event::Start(start) => {
                if root.is_some() || stack.len() >= MAX_DEPTH {
                    return Err(Malformed);
                }
                stack.push(open(&start)?);
            }
            Event::Empty(start) => {
                let el = open(&start)?;
                close(&mut stack, &mut root, el)?;
            }
            Event::End(_) => {
                let el = stack.pop().ok_or(Malformed)?;
                close(&mut stack, &mut root, el)?;
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|_| Malformed)?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(Malformed),
                }
            }
            Event::CData(data) => {
                let text = utf8(&data.into_inner())?;
                stack.last_mut().ok_or(Malformed)?.text.push_str(&text);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(Malformed),
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(Malformed);
    }
    root.ok_or(Malformed)
}

/// Attaches a finished element to its parent, or makes it the root (only one root).
fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), Malformed> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(Malformed),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_elements_attributes_and_text() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a &amp; b </Key></Object><Object><Key><![CDATA[<c>]]></Key></Object><Quiet>true</Quiet><g:Grantee xmlns:xsi="x" xsi:type="CanonicalUser"/></Delete>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Delete");
        let keys: Vec<&str> = root
            .children_named("Object")
            .filter_map(|o| o.child("Key"))
            .map(|k| k.text.as_str())
            .collect();
        assert_eq!(keys, ["a & b ", "<c>"]);
        assert_eq!(root.child("Quiet").unwrap().text, "true");
        let g = root.child("Grantee").unwrap();
        assert_eq!(g.attr("xsi:type"), Some("CanonicalUser"));
    }

    #[test]
    fn rejects_malformed_documents() {
        for doc in [
            &b""[..],
            b"<a>",
            b"<a></b>",
            b"<a/><b/>",
            b"text",
            b"<a>x</a>junk",
            b"<a><b></a></b>",
            b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        ] {
            assert_eq!(
                parse(doc),
                Err(Malformed),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(parse(deep.as_bytes()), Err(Malformed));
    }
}
