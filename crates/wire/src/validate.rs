//! Validation of a decoded input against its shape, with AWS's constraint messages
//! ("Value 'x' at 'userName' failed to satisfy constraint: Member must ...").

use rampart_model::{Service, Shape, ShapeId, ShapeKind};
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{OnceLock, RwLock};

/// Deepest nesting validated; deeper values are reported once and not descended into.
const MAX_DEPTH: usize = 64;

/// The kind of constraint a value breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// A required member is missing.
    Required,
    /// A string, list, map or blob is shorter than its minimum.
    MinLength,
    /// A string, list, map or blob is longer than its maximum.
    MaxLength,
    /// A string is not one of its enum's values.
    Enum,
    /// A string does not match its pattern.
    Pattern,
    /// A number is below its minimum.
    MinValue,
    /// A number is above its maximum.
    MaxValue,
    /// A value is not of its shape's type.
    Type,
    /// The value nests deeper than any model allows.
    Depth,
}

/// One broken constraint: where, which, the value, and AWS's words for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The value's path as AWS writes it (`tags.1.member.key`).
    pub path: String,
    /// The AWS name of the structure member the value belongs to (`Key`); empty for the
    /// input itself.
    pub member: &'static str,
    /// The constraint broken.
    pub constraint: Constraint,
    /// The value as given, for a string, number or boolean that is not sensitive.
    pub value: Option<String>,
    /// AWS's words: `Value 'x' at 'p' failed to satisfy constraint: Member must ...`.
    pub text: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks `value` against shape `shape` and returns every violation (empty when valid):
/// required members, string/list/map/blob lengths, enum values, numeric ranges and patterns
/// (Java-style, matched in full; a pattern Rust's regex cannot compile is skipped).
pub fn validate(service: &Service, shape: ShapeId, value: &Value) -> Vec<Violation> {
    let mut v = Validator {
        service,
        out: Vec::new(),
    };
    v.check(shape, value, "", "", 0);
    v.out
}

/// Joins violations into AWS's message: `1 validation error detected: ...` /
/// `2 validation errors detected: ...; ...`.
pub fn validation_message<V: std::fmt::Display>(violations: &[V]) -> String {
    let n = violations.len();
    let s = if n == 1 { "" } else { "s" };
    let joined: Vec<String> = violations.iter().map(ToString::to_string).collect();
    format!("{n} validation error{s} detected: {}", joined.join("; "))
}

/// Member name as AWS writes it in paths: first character lower-cased (`UserName` ->
/// `userName`, `SAMLAssertion` -> `sAMLAssertion`).
pub(crate) fn path_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Joins a path and a segment with a dot.
pub(crate) fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_string()
    } else {
        format!("{path}.{seg}")
    }
}

struct Validator<'a> {
    service: &'a Service,
    out: Vec<Violation>,
}

/// How a value shows in a message: `Value 'x'`, or just `Value` for sensitive or composite data.
fn shown(shape: &Shape, v: &Value) -> String {
    if shape.sensitive {
        return "Value".into();
    }
    match v {
        Value::String(s) => format!("Value '{s}'"),
        Value::Number(n) => format!("Value '{n}'"),
        Value::Bool(b) => format!("Value '{b}'"),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let parts: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            format!("Value '[{}]'", parts.join(", "))
        }
        _ => "Value".into(),
    }
}

/// The value of a violation: a scalar that is not sensitive.
fn scalar(shape: &Shape, v: &Value) -> Option<String> {
    match v {
        _ if shape.sensitive => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

/// Where a value is: its path and the member it belongs to.
#[derive(Clone, Copy)]
struct At<'p> {
    path: &'p str,
    member: &'static str,
}

impl Validator<'_> {
    fn fail(&mut self, shape: &Shape, v: &Value, at: At<'_>, constraint: Constraint, words: &str) {
        self.out.push(Violation {
            path: at.path.to_string(),
            member: at.member,
            constraint,
            value: scalar(shape, v),
            text: format!(
                "{} at '{}' failed to satisfy constraint: Member must {words}",
                shown(shape, v),
                at.path
            ),
        });
    }

    fn length(&mut self, shape: &Shape, v: &Value, at: At<'_>, len: i64) {
        if let Some(min) = shape.min {
            if len < min {
                let words = format!("have length greater than or equal to {min}");
                self.fail(shape, v, at, Constraint::MinLength, &words);
            }
        }
        if let Some(max) = shape.max {
            if len > max {
                let words = format!("have length less than or equal to {max}");
                self.fail(shape, v, at, Constraint::MaxLength, &words);
            }
        }
    }

    /// The range checks of a number (`min`/`max` as the model gives them).
    fn range(&mut self, shape: &Shape, v: &Value, at: At<'_>, below: bool, above: bool) {
        if below {
            let min = shape.min.unwrap_or_default();
            let words = format!("have value greater than or equal to {min}");
            self.fail(shape, v, at, Constraint::MinValue, &words);
        }
        if above {
            let max = shape.max.unwrap_or_default();
            let words = format!("have value less than or equal to {max}");
            self.fail(shape, v, at, Constraint::MaxValue, &words);
        }
    }

    fn check(&mut self, id: ShapeId, v: &Value, path: &str, member: &'static str, depth: usize) {
        let shape = self.service.shape(id);
        let at = At { path, member };
        if depth > MAX_DEPTH {
            self.fail(shape, v, at, Constraint::Depth, "not nest this deeply");
            return;
        }
        match (shape.kind, v) {
            (ShapeKind::Structure(members), Value::Object(map)) => {
                for m in members {
                    let p = join(path, &path_name(m.name));
                    match map.get(m.name) {
                        None | Some(Value::Null) => {
                            if m.required {
                                self.out.push(Violation {
                                    text: format!(
                                        "Value null at '{p}' failed to satisfy constraint: Member must not be null"
                                    ),
                                    path: p,
                                    member: m.name,
                                    constraint: Constraint::Required,
                                    value: None,
                                });
                            }
                        }
                        Some(mv) => self.check(m.shape, mv, &p, m.name, depth + 1),
                    }
                }
            }
            (ShapeKind::List(info), Value::Array(items)) => {
                self.length(shape, v, at, items.len() as i64);
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{}.member", join(path, &(i + 1).to_string()));
                    self.check(info.member, item, &p, member, depth + 1);
                }
            }
            (ShapeKind::Map(info), Value::Object(map)) => {
                self.length(shape, v, at, map.len() as i64);
                for (i, (k, val)) in map.iter().enumerate() {
                    let base = join(path, &(i + 1).to_string());
                    let key = Value::String(k.clone());
                    self.check(info.key, &key, &join(&base, "key"), member, depth + 1);
                    self.check(info.value, val, &join(&base, "value"), member, depth + 1);
                }
            }
            (ShapeKind::String, Value::String(s)) => {
                let len: usize = s.chars().map(char::len_utf16).sum();
                self.length(shape, v, at, len as i64);
                if !shape.enum_values.is_empty() && !shape.enum_values.contains(&s.as_str()) {
                    let set = shape.enum_values.join(", ");
                    let words = format!("satisfy enum value set: [{set}]");
                    self.fail(shape, v, at, Constraint::Enum, &words);
                }
                if let Some(p) = shape.pattern {
                    if compiled(p).is_some_and(|re| !re.is_match(s)) {
                        let words = format!("satisfy regular expression pattern: {p}");
                        self.fail(shape, v, at, Constraint::Pattern, &words);
                    }
                }
            }
            (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    let below = shape.min.is_some_and(|min| i < min);
                    let above = shape.max.is_some_and(|max| i > max);
                    self.range(shape, v, at, below, above);
                }
            }
            (ShapeKind::Float | ShapeKind::Double, Value::Number(n)) => {
                if let Some(f) = n.as_f64() {
                    let below = shape.min.is_some_and(|min| f < min as f64);
                    let above = shape.max.is_some_and(|max| f > max as f64);
                    self.range(shape, v, at, below, above);
                }
            }
            (ShapeKind::Blob, Value::String(b64)) => {
                if shape.min.is_some() || shape.max.is_some() {
                    let len = decoded_len(b64);
                    self.length(shape, v, at, len as i64);
                }
            }
            (ShapeKind::Boolean, Value::Bool(_)) | (ShapeKind::Timestamp(_), Value::Number(_)) => {}
            (ShapeKind::Timestamp(_), Value::String(s))
                if crate::time::parse_timestamp(s).is_some() => {}
            (ShapeKind::Document, _) | (_, Value::Null) => {}
            (kind, _) => {
                let what = match kind {
                    ShapeKind::Structure(_) | ShapeKind::Map(_) => "be an object",
                    ShapeKind::List(_) => "be a list",
                    ShapeKind::String | ShapeKind::Blob => "be a string",
                    ShapeKind::Boolean => "be a boolean",
                    ShapeKind::Timestamp(_) => "be a timestamp",
                    _ => "be a number",
                };
                self.fail(shape, v, at, Constraint::Type, what);
            }
        }
    }
}

/// Decoded length of a base64 string (its padding excluded).
fn decoded_len(b64: &str) -> usize {
    let t = b64.trim_end_matches('=');
    t.len() * 3 / 4
}

/// The compiled full-match form of a model pattern, cached; `None` when it does not compile.
fn compiled(pattern: &'static str) -> Option<Regex> {
    static CACHE: OnceLock<RwLock<HashMap<&'static str, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| RwLock::new(HashMap::new()));
    if let Ok(map) = cache.read() {
        if let Some(r) = map.get(pattern) {
            return r.clone();
        }
    }
    let re = regex::RegexBuilder::new(&format!("\\A(?:{})\\z", java_to_rust(pattern)))
        .size_limit(1 << 22)
        .build()
        .ok();
    if let Ok(mut map) = cache.write() {
        map.insert(pattern, re.clone());
    }
    re
}

/// The code unit of a `\\uXXXX` escape starting at `chars[i]`.
fn utf16_escape(chars: &[char], i: usize) -> Option<u32> {
    if chars.get(i) != Some(&'\\') || chars.get(i + 1) != Some(&'u') {
        return None;
    }
    let hex: String = chars.get(i + 2..i + 6)?.iter().collect();
    u32::from_str_radix(&hex, 16).ok()
}

/// Rewrites the Java regex features botocore patterns use into Rust regex syntax: `\uXXXX`
/// escapes, and ASCII-only `\w`, `\d`, `\s` (Java's defaults; Rust's are Unicode-aware).
pub(crate) fn java_to_rust(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = 0usize;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if let Some(&n) = chars.get(i + 1).filter(|_| c == '\\') {
            let ascii = match n {
                'w' => Some("0-9A-Za-z_"),
                'd' => Some("0-9"),
                's' => Some(" \\t\\n\\x0B\\f\\r"),
                _ => None,
            };
            if let Some(set) = ascii {
                if in_class > 0 {
                    out.push_str(set);
                } else {
                    out.push('[');
                    out.push_str(set);
                    out.push(']');
                }
                i += 2;
                continue;
            }
            if let Some(unit) = utf16_escape(&chars, i) {
                // A surrogate pair (`\uD800\uDC00`) is one supplementary code point.
                let pair = (0xD800..0xDC00)
                    .contains(&unit)
                    .then(|| utf16_escape(&chars, i + 6))
                    .flatten()
                    .filter(|low| (0xDC00..0xE000).contains(low));
                let (cp, used) = match pair {
                    Some(low) => (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), 12),
                    None => (unit, 6),
                };
                // A lone surrogate stays invalid and the pattern is skipped.
                let _ = write!(out, "\\x{{{cp:X}}}");
                i += used;
                continue;
            }
            out.push(c);
            out.push(n);
            i += 2;
            continue;
        }
        if c == '[' {
            in_class += 1;
        } else if c == ']' && in_class > 0 {
            in_class -= 1;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_java_patterns() {
        assert_eq!(java_to_rust("[\\w+=,.@-]+"), "[0-9A-Za-z_+=,.@-]+");
        assert_eq!(java_to_rust("\\w+"), "[0-9A-Za-z_]+");
        assert_eq!(
            java_to_rust("[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"),
            "[\\x{9}\\x{A}\\x{D}\\x{20}-\\x{FF}]+"
        );
        let re = compiled("[\\w+=,.@-]+").unwrap();
        assert!(re.is_match("alice@example.com"));
        assert!(!re.is_match("bad name"));
        assert!(!re.is_match("ü"));
    }

    #[test]
    fn every_model_pattern_compiles() {
        let mut failed = Vec::new();
        for s in rampart_model::SERVICES {
            for sh in s.shapes {
                if let Some(p) = sh.pattern {
                    if compiled(p).is_none() {
                        failed.push(format!("{}:{}: {p}", s.name, sh.name));
                    }
                }
            }
        }
        // Rust's regex has no look-around; only patterns with one are skipped.
        assert!(failed.len() >= 9, "{failed:?}");
        assert!(
            failed
                .iter()
                .all(|p| p.contains("(?!") || p.contains("(?=") || p.contains("(?<")),
            "patterns that do not compile: {failed:?}"
        );
        let ct =
            compiled("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*").unwrap();
        assert!(ct.is_match("a\u{1F600}b\t"));
        assert!(!ct.is_match("a\u{1}"));
    }
}
