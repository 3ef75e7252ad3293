//! The `JsonBody` request component: the body parsed as JSON, its keys and/or leaf values
//! (`MatchScope` `KEY`, `VALUE`, `ALL`) everywhere (`MatchPattern` `All`) or under the JSON
//! Pointers of `IncludedPaths`. When the body does not parse completely,
//! `InvalidFallbackBehavior` decides: `MATCH`, `NO_MATCH`, or `EVALUATE_AS_STRING` (the body
//! as plain text); without it, what parsed before the first error is inspected, as AWS
//! documents. The parser is Rampart's own, so it can stop at the first error and keep what
//! came before.

use super::fields::{Inspected, Oversize, Request, Scope};

/// `InvalidFallbackBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// `MATCH`.
    Match,
    /// `NO_MATCH`.
    NoMatch,
    /// `EVALUATE_AS_STRING`.
    AsString,
}

/// A compiled `JsonBody`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSpec {
    /// `IncludedPaths` (JSON Pointers); `None` for `All`.
    pub paths: Option<Vec<String>>,
    /// `MatchScope`.
    pub scope: Scope,
    /// `InvalidFallbackBehavior`.
    pub fallback: Option<Fallback>,
    /// `OversizeHandling`.
    pub oversize: Oversize,
}

/// A key or a leaf value, with the JSON Pointer of its node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Key(String, String),
    Value(String, String),
}

/// How deep objects and arrays may nest before parsing stops.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    tokens: Vec<Token>,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Parser<'_> {
    fn peek(&mut self) -> Option<u8> {
        while let Some(b) = self.bytes.get(self.at) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(*b);
            }
            self.at += 1;
        }
        None
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    fn value(&mut self, path: &str, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    let key = self.string()?;
                    let child = format!("{path}/{}", escape(&key));
                    self.tokens.push(Token::Key(child.clone(), key));
                    self.eat(b':')?;
                    self.value(&child, depth + 1)?;
                    if self.eat(b',').is_none() {
                        return self.eat(b'}');
                    }
                }
            }
            b'[' => {
                self.at += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                let mut i = 0usize;
                loop {
                    self.value(&format!("{path}/{i}"), depth + 1)?;
                    i += 1;
                    if self.eat(b',').is_none() {
                        return self.eat(b']');
                    }
                }
            }
            b'"' => {
                let s = self.string()?;
                self.tokens.push(Token::Value(path.to_string(), s));
                Some(())
            }
            _ => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
                {
                    self.at += 1;
                }
                let lexeme = std::str::from_utf8(self.bytes.get(start..self.at)?).ok()?;
                let ok = matches!(lexeme, "true" | "false" | "null")
                    || serde_json::from_str::<serde_json::Number>(lexeme).is_ok();
                ok.then(|| {
                    self.tokens
                        .push(Token::Value(path.to_string(), lexeme.to_string()))
                })
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            match b {
                b'\\' if !escaped => escaped = true,
                b'"' if !escaped => break,
                _ => escaped = false,
            }
        }
        let raw = self.bytes.get(start - 1..self.at)?;
        serde_json::from_slice::<String>(raw).ok()
    }
}

/// Parses `body`: the tokens read, and whether the whole body parsed.
fn tokens(body: &[u8]) -> (Vec<Token>, bool) {
    let mut p = Parser {
        bytes: body,
        at: 0,
        tokens: Vec::new(),
    };
    let complete = p.value("", 0).is_some() && p.peek().is_none();
    (p.tokens, complete)
}

fn under(path: &str, pointer: &str) -> bool {
    path == pointer
        || path
            .strip_prefix(pointer)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl JsonSpec {
    /// The keys and values the statement inspects in `req`.
    pub fn inspect(&self, req: &Request) -> Inspected {
        if req.body_oversize {
            match self.oversize {
                Oversize::Match => return Inspected::Decided(true),
                Oversize::NoMatch => return Inspected::Decided(false),
                Oversize::Continue => {}
            }
        }
        let (found, complete) = tokens(&req.body);
        if !complete {
            match self.fallback {
                Some(Fallback::Match) => return Inspected::Decided(true),
                Some(Fallback::NoMatch) => return Inspected::Decided(false),
                Some(Fallback::AsString) => return Inspected::Values(vec![req.body.clone()]),
                None => {}
            }
        }
        let wanted = |path: &str| {
            self.paths
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|p| under(path, p)))
        };
        let values = found
            .into_iter()
            .filter_map(|t| match t {
                Token::Key(path, k) if self.scope != Scope::Value && wanted(&path) => Some(k),
                Token::Value(path, v) if self.scope != Scope::Key && wanted(&path) => Some(v),
                _ => None,
            })
            .map(String::into_bytes)
            .collect();
        Inspected::Values(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(paths: Option<&[&str]>, scope: Scope, fallback: Option<Fallback>) -> JsonSpec {
        JsonSpec {
            paths: paths.map(|p| p.iter().map(|s| s.to_string()).collect()),
            scope,
            fallback,
            oversize: Oversize::Continue,
        }
    }

    fn got(s: &JsonSpec, body: &str) -> Inspected {
        let req = Request {
            body: body.as_bytes().to_vec(),
            ..Request::default()
        };
        s.inspect(&req)
    }

    fn vals(v: &[&str]) -> Inspected {
        Inspected::Values(v.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    const DOGS: &str =
        r#"{"dogs": [{"name": "Rex", "age": 3}, {"name": "A\u0042"}], "a/b": true, "n": null}"#;

    #[test]
    fn scopes_and_paths_pick_keys_and_values() {
        let all = spec(None, Scope::All, None);
        assert_eq!(
            got(&all, DOGS),
            vals(&["dogs", "name", "Rex", "age", "3", "name", "AB", "a/b", "true", "n", "null"])
        );
        let keys = spec(None, Scope::Key, None);
        assert_eq!(
            got(&keys, DOGS),
            vals(&["dogs", "name", "age", "name", "a/b", "n"])
        );
        let names = spec(Some(&["/dogs/0/name", "/dogs/1/name"]), Scope::Value, None);
        assert_eq!(got(&names, DOGS), vals(&["Rex", "AB"]));
        let first = spec(Some(&["/dogs/0"]), Scope::Value, None);
        assert_eq!(got(&first, DOGS), vals(&["Rex", "3"]));
        let escaped = spec(Some(&["/a~1b"]), Scope::All, None);
        assert_eq!(got(&escaped, DOGS), vals(&["a/b", "true"]));
        let none = spec(Some(&["/dogsx"]), Scope::All, None);
        assert_eq!(got(&none, DOGS), vals(&[]));
    }

    #[test]
    fn invalid_json_takes_the_fallback_or_what_parsed() {
        let bad = r#"{"a": "x", "b": [1, oops"#;
        assert_eq!(
            got(&spec(None, Scope::Value, Some(Fallback::Match)), bad),
            Inspected::Decided(true)
        );
        assert_eq!(
            got(&spec(None, Scope::Value, Some(Fallback::NoMatch)), bad),
            Inspected::Decided(false)
        );
        assert_eq!(
            got(&spec(None, Scope::Value, Some(Fallback::AsString)), bad),
            vals(&[bad])
        );
        assert_eq!(got(&spec(None, Scope::Value, None), bad), vals(&["x", "1"]));
        // Trailing text after a complete document is invalid too.
        assert_eq!(
            got(&spec(None, Scope::Value, Some(Fallback::Match)), "{} x"),
            Inspected::Decided(true)
        );
        // A valid document never takes the fallback.
        assert_eq!(
            got(&spec(None, Scope::Value, Some(Fallback::Match)), "[]"),
            vals(&[])
        );
        let deep = "[".repeat(200);
        assert_eq!(
            got(&spec(None, Scope::Value, Some(Fallback::NoMatch)), &deep),
            Inspected::Decided(false)
        );
    }

    #[test]
    fn oversize_handling_decides_for_a_long_body() {
        let mut s = spec(None, Scope::Value, None);
        s.oversize = Oversize::Match;
        let req = Request {
            body: b"{}".to_vec(),
            body_oversize: true,
            ..Request::default()
        };
        assert_eq!(s.inspect(&req), Inspected::Decided(true));
        s.oversize = Oversize::NoMatch;
        assert_eq!(s.inspect(&req), Inspected::Decided(false));
    }
}
