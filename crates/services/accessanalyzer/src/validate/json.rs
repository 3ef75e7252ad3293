//! A small JSON parser that records where every value and key is in the text.
//!
//! `ValidatePolicy` answers with spans (line, column, offset) into the document the caller sent.
//! serde_json gives no positions for values, and a span-aware crate would be a new dependency for
//! what fits in one file, so this module parses RFC 8259 JSON itself and keeps, for each node,
//! where it starts and ends. Positions count characters (Unicode scalar values): `line` from 1,
//! `column` and `offset` from 0, as Access Analyzer's `Position` does. The end of a span is the
//! position just past the node's last character.

/// A position in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 0.
    pub column: usize,
    /// Offset in characters from the start of the text, from 0.
    pub offset: usize,
}

/// Where a node is: from its first character to just past its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The first character.
    pub start: Pos,
    /// Just past the last character.
    pub end: Pos,
}

/// One member of an object, with the span of its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key.
    pub key: String,
    /// The key's span (quotes included).
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string, unescaped.
    Str(String),
    /// An array.
    Arr(Vec<Node>),
    /// An object: members in document order (duplicates kept).
    Obj(Vec<Member>),
}

/// A value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where it is.
    pub span: Span,
}

impl Node {
    /// The string, for a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The members, for an object node.
    pub fn members(&self) -> Option<&[Member]> {
        match &self.kind {
            Kind::Obj(m) => Some(m),
            _ => None,
        }
    }

    /// The last member named `key` (the one a JSON decoder keeps).
    pub fn get(&self, key: &str) -> Option<&Member> {
        self.members()?.iter().rev().find(|m| m.key == key)
    }

    /// The JSON type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Num(_) => "number",
            Kind::Str(_) => "string",
            Kind::Arr(_) => "array",
            Kind::Obj(_) => "object",
        }
    }

    /// The value as serde_json's, for comparisons and the policy engine.
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Num(n) => serde_json::from_str(n).unwrap_or(Value::Null),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Arr(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Kind::Obj(m) => Value::Object(
                m.iter()
                    .map(|m| (m.key.clone(), m.value.to_value()))
                    .collect(),
            ),
        }
    }
}

/// A syntax error: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where parsing stopped.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

/// Nesting deeper than this is refused (a policy is at most a few levels deep).
const MAX_DEPTH: usize = 64;

/// Parses `text` as one JSON value (whitespace around it allowed).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        i: 0,
        pos: Pos {
            line: 1,
            column: 0,
            offset: 0,
        },
    };
    p.ws();
    let node = p.value(0)?;
    p.ws();
    if p.peek().is_some() {
        return Err(p.error("Unexpected text after the JSON value"));
    }
    Ok(node)
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    pos: Pos,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        self.pos.offset += 1;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 0;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            pos: self.pos,
            message: message.to_string(),
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), SyntaxError> {
        if self.peek() == Some(c) {
            self.bump();
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("The document is nested too deeply"));
        }
        let start = self.pos;
        let kind = match self.peek() {
            Some('{') => Kind::Obj(self.object(depth)?),
            Some('[') => Kind::Arr(self.array(depth)?),
            Some('"') => Kind::Str(self.string()?),
            Some('t') => self.word("true", Kind::Bool(true))?,
            Some('f') => self.word("false", Kind::Bool(false))?,
            Some('n') => self.word("null", Kind::Null)?,
            Some(c) if c == '-' || c.is_ascii_digit() => Kind::Num(self.number()?),
            Some(_) => return Err(self.error("Expected a JSON value")),
            None => return Err(self.error("Unexpected end of the document")),
        };
        Ok(Node {
            kind,
            span: Span {
                start,
                end: self.pos,
            },
        })
    }

    fn word(&mut self, word: &str, kind: Kind) -> Result<Kind, SyntaxError> {
        for w in word.chars() {
            if self.peek() != Some(w) {
                return Err(self.error("Expected a JSON value"));
            }
            self.bump();
        }
        Ok(kind)
    }

    fn object(&mut self, depth: usize) -> Result<Vec<Member>, SyntaxError> {
        self.bump();
        self.ws();
        let mut members = Vec::new();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(members);
        }
        loop {
            self.ws();
            if self.peek() != Some('"') {
                return Err(self.error("Expected a string key"));
            }
            let kstart = self.pos;
            let key = self.string()?;
            let key_span = Span {
                start: kstart,
                end: self.pos,
            };
            self.ws();
            self.expect(':', "Expected ':' after the key")?;
            self.ws();
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_span,
                value,
            });
            self.ws();
            match self.bump() {
                Some(',') => continue,
                Some('}') => return Ok(members),
                _ => return Err(self.error("Expected ',' or '}' in the object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Vec<Node>, SyntaxError> {
        self.bump();
        self.ws();
        let mut items = Vec::new();
        if self.peek() == Some(']') {
            self.bump();
            return Ok(items);
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.bump() {
                Some(',') => continue,
                Some(']') => return Ok(items),
                _ => return Err(self.error("Expected ',' or ']' in the array")),
            }
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("Unterminated string")),
                Some('"') => {
                    self.bump();
                    return Ok(out);
                }
                Some('\\') => {
                    self.bump();
                    out.push(self.escape()?);
                }
                Some(c) if (c as u32) < 0x20 => {
                    return Err(self.error("Control character in a string"))
                }
                Some(c) => {
                    self.bump();
                    out.push(c);
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let c = match self.peek() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                self.bump();
                return self.unicode();
            }
            _ => return Err(self.error("Invalid escape in a string")),
        };
        self.bump();
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.error("Invalid \\u escape"))?;
            self.bump();
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn unicode(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.peek() == Some('\\') {
                self.bump();
                self.expect('u', "Expected a low surrogate")?;
                let lo = self.hex4()?;
                if (0xDC00..0xE000).contains(&lo) {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(c).ok_or_else(|| self.error("Invalid surrogate pair"));
                }
            }
            return Err(self.error("Unpaired surrogate in a \\u escape"));
        }
        char::from_u32(hi).ok_or_else(|| self.error("Invalid \\u escape"))
    }

    fn digits(&mut self, out: &mut String) -> bool {
        let mut any = false;
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            self.bump();
            out.push(c);
            any = true;
        }
        any
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let mut out = String::new();
        if self.peek() == Some('-') {
            self.bump();
            out.push('-');
        }
        if self.peek() == Some('0') {
            self.bump();
            out.push('0');
        } else if !self.digits(&mut out) {
            return Err(self.error("Invalid number"));
        }
        if self.peek() == Some('.') {
            self.bump();
            out.push('.');
            if !self.digits(&mut out) {
                return Err(self.error("Invalid number"));
            }
        }
        if let Some(e @ ('e' | 'E')) = self.peek() {
            self.bump();
            out.push(e);
            if let Some(s @ ('+' | '-')) = self.peek() {
                self.bump();
                out.push(s);
            }
            if !self.digits(&mut out) {
                return Err(self.error("Invalid number"));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_into_the_text() {
        let text = "{\n  \"Action\": [\"s3:Get*\", 1],\n  \"é\": \"x\"\n}";
        let root = parse(text).unwrap();
        let action = root.get("Action").unwrap();
        assert_eq!(
            action.key_span.start,
            Pos {
                line: 2,
                column: 2,
                offset: 4
            }
        );
        let Kind::Arr(items) = &action.value.kind else {
            panic!()
        };
        let first = items[0].span;
        assert_eq!((first.start.line, first.start.column), (2, 13));
        let chars: Vec<char> = text.chars().collect();
        let s: String = chars[first.start.offset..first.end.offset].iter().collect();
        assert_eq!(s, "\"s3:Get*\"");
        let x = root.get("é").unwrap().value.span;
        assert_eq!((x.start.line, x.start.column, x.end.column), (3, 7, 10));
        assert_eq!(root.span.end.offset, chars.len());
    }

    #[test]
    fn errors_say_where() {
        let e = parse("{\"a\": [1, 2,]}").unwrap_err();
        assert_eq!(e.pos.offset, 12);
        assert!(parse("{\"a\": 01}").is_err());
        assert!(parse("\"\\ud800\"").is_err());
        assert_eq!(
            parse("\"\\u00e9\\ud83d\\ude00\"").unwrap().as_str(),
            Some("é😀")
        );
        assert!(parse(&"[".repeat(100)).is_err());
        assert!(parse("{} x").is_err());
        assert_eq!(parse(" -1.5e3 ").unwrap().kind, Kind::Num("-1.5e3".into()));
    }
}
