//! A selection's field test (`field|modifier|...: value or list`) and how it matches one
//! CloudTrail record.
//!
//! Values match as Sigma defines: text compares without regard to case (unless `cased`), the
//! whole field, with `*` (any run) and `?` (any one character) as wildcards and `\*`, `\?`,
//! `\\` as their literal characters; a list matches when any value does (`all`: every value).
//! A field that is an array matches when any element does. `null` matches a missing or null
//! field.

use regex::{Regex, RegexBuilder};
use serde_json::Value;
use serde_yaml::Value as Yaml;

use crate::lists::Cidr;

/// A numeric comparison (`gt`, `gte`, `lt`, `lte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One value of a field test, ready to match.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// `null`: the field is missing or null.
    Null,
    /// `exists: true/false`.
    Exists(bool),
    /// Text (plain, wildcard, `contains`, `startswith`, `endswith`) or `re`.
    Text(Regex),
    /// `cidr`.
    Cidr(Cidr),
    /// `gt`, `gte`, `lt`, `lte`.
    Compare(Cmp, f64),
}

/// A field test: the field's dotted path, its values, and whether all must match.
#[derive(Debug, Clone)]
pub struct FieldTest {
    /// The field as written (`requestParameters.bucketName`).
    pub field: String,
    path: Vec<String>,
    patterns: Vec<Pattern>,
    all: bool,
}

/// How text values are turned into patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
    Re,
    Cidr,
    Exists,
    Compare(Cmp),
}

/// The modifiers that change no value but how it is read.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    all: bool,
    cased: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
}

/// Longest regular expression (or wildcard value) a rule may hold, in bytes.
const MAX_PATTERN: usize = 4_096;

impl FieldTest {
    /// The test of `key` (`field|modifiers`) with `value` (a scalar or a list of scalars).
    pub fn parse(key: &str, value: &Yaml) -> Result<FieldTest, String> {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default().trim().to_string();
        if field.is_empty() {
            return Err(format!(
                "`{key}`: a field name is required (keyword selections are not supported)"
            ));
        }
        let mut shape = Shape::Exact;
        let mut flags = Flags::default();
        for m in parts {
            let next = match m {
                "contains" => Shape::Contains,
                "startswith" => Shape::StartsWith,
                "endswith" => Shape::EndsWith,
                "re" => Shape::Re,
                "cidr" => Shape::Cidr,
                "exists" => Shape::Exists,
                "gt" => Shape::Compare(Cmp::Gt),
                "gte" => Shape::Compare(Cmp::Gte),
                "lt" => Shape::Compare(Cmp::Lt),
                "lte" => Shape::Compare(Cmp::Lte),
                "all" => {
                    flags.all = true;
                    continue;
                }
                "cased" => {
                    flags.cased = true;
                    continue;
                }
                "i" | "m" | "s" if shape == Shape::Re => {
                    match m {
                        "i" => flags.re_i = true,
                        "m" => flags.re_m = true,
                        _ => flags.re_s = true,
                    }
                    continue;
                }
                other => {
                    return Err(format!(
                        "`{key}`: the modifier `{other}` is not supported (supported: contains, \
                         startswith, endswith, all, cased, re (with i, m, s), cidr, exists, gt, \
                         gte, lt, lte)"
                    ))
                }
            };
            if shape != Shape::Exact {
                return Err(format!(
                    "`{key}`: `{m}` cannot follow another value modifier"
                ));
            }
            shape = next;
        }
        if flags.cased
            && !matches!(
                shape,
                Shape::Exact | Shape::Contains | Shape::StartsWith | Shape::EndsWith
            )
        {
            return Err(format!("`{key}`: `cased` applies only to text values"));
        }
        let values: Vec<&Yaml> = match value {
            Yaml::Sequence(items) => items.iter().collect(),
            v => vec![v],
        };
        if values.is_empty() {
            return Err(format!("`{key}`: an empty list of values matches nothing"));
        }
        let patterns = values
            .into_iter()
            .map(|v| pattern(key, shape, flags, v))
            .collect::<Result<Vec<_>, _>>()?;
        if shape == Shape::Exists && patterns.len() != 1 {
            return Err(format!("`{key}`: `exists` takes one value, true or false"));
        }
        Ok(FieldTest {
            path: field.split('.').map(str::to_string).collect(),
            field,
            patterns,
            all: flags.all,
        })
    }

    /// Whether `record` passes the test.
    pub fn matches(&self, record: &Value) -> bool {
        let mut leaves = Vec::new();
        collect(record, &self.path, &mut leaves);
        let hit = |p: &Pattern| matches_one(p, &leaves);
        if self.all {
            self.patterns.iter().all(hit)
        } else {
            self.patterns.iter().any(hit)
        }
    }
}

/// The pattern of one value.
fn pattern(key: &str, shape: Shape, flags: Flags, v: &Yaml) -> Result<Pattern, String> {
    let text = match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match (shape, v) {
        (Shape::Exact, Yaml::Null) => return Ok(Pattern::Null),
        (Shape::Exists, Yaml::Bool(b)) => return Ok(Pattern::Exists(*b)),
        (Shape::Exists, _) => {
            return Err(format!("`{key}`: `exists` takes true or false"));
        }
        (Shape::Compare(c), _) => {
            let n = match v {
                Yaml::Number(n) => n.as_f64(),
                _ => None,
            };
            return n
                .map(|n| Pattern::Compare(c, n))
                .ok_or_else(|| format!("`{key}`: a comparison takes a number"));
        }
        _ => {}
    }
    let Some(text) = text else {
        return Err(format!(
            "`{key}`: values must be text, numbers, booleans or null"
        ));
    };
    if text.len() > MAX_PATTERN {
        return Err(format!(
            "`{key}`: a value is longer than {MAX_PATTERN} bytes"
        ));
    }
    match shape {
        Shape::Cidr => Cidr::parse(&text)
            .map(Pattern::Cidr)
            .ok_or_else(|| format!("`{key}`: `{text}` is not an address range")),
        Shape::Re => RegexBuilder::new(&text)
            .case_insensitive(flags.re_i)
            .multi_line(flags.re_m)
            .dot_matches_new_line(flags.re_s)
            .size_limit(1 << 20)
            .build()
            .map(Pattern::Text)
            .map_err(|e| format!("`{key}`: `{text}` is not a regular expression: {e}")),
        _ => {
            let body = wildcard(&text);
            let (lead, tail) = match shape {
                Shape::Contains => (".*", ".*"),
                Shape::StartsWith => ("", ".*"),
                Shape::EndsWith => (".*", ""),
                _ => ("", ""),
            };
            RegexBuilder::new(&format!("^(?:{lead}{body}{tail})$"))
                .case_insensitive(!flags.cased)
                .dot_matches_new_line(true)
                .size_limit(1 << 20)
                .build()
                .map(Pattern::Text)
                .map_err(|e| format!("`{key}`: `{text}` cannot be matched: {e}"))
        }
    }
}

/// A Sigma value with wildcards as a regular expression body.
fn wildcard(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push_str(&regex::escape(&n.to_string()));
                }
                _ => out.push_str(r"\\"),
            },
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

/// The values at `path` under `v` (arrays along the way are searched element by element).
/// A member is found by its exact name, else without regard to case.
fn collect<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    if let Value::Array(items) = v {
        for item in items {
            collect(item, path, out);
        }
        return;
    }
    let Some((first, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    let Some(map) = v.as_object() else {
        return;
    };
    let next = map.get(first.as_str()).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(first))
            .map(|(_, v)| v)
    });
    if let Some(next) = next {
        collect(next, rest, out);
    }
}

/// Whether one pattern matches the field's values.
fn matches_one(p: &Pattern, leaves: &[&Value]) -> bool {
    let present = leaves.iter().any(|v| !v.is_null());
    match p {
        Pattern::Null => !present,
        Pattern::Exists(want) => present == *want,
        Pattern::Text(re) => leaves.iter().any(|v| match v {
            Value::String(s) => re.is_match(s),
            Value::Number(n) => re.is_match(&n.to_string()),
            Value::Bool(b) => re.is_match(&b.to_string()),
            _ => false,
        }),
        Pattern::Cidr(range) => leaves.iter().any(|v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .is_some_and(|ip| range.contains(ip))
        }),
        Pattern::Compare(cmp, bound) => leaves.iter().any(|v| {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            n.is_some_and(|n| match cmp {
                Cmp::Gt => n > *bound,
                Cmp::Gte => n >= *bound,
                Cmp::Lt => n < *bound,
                Cmp::Lte => n <= *bound,
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn test(key: &str, yaml: &str) -> FieldTest {
        FieldTest::parse(key, &serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    fn refused(key: &str, yaml: &str) -> String {
        FieldTest::parse(key, &serde_yaml::from_str(yaml).unwrap()).unwrap_err()
    }

    fn record() -> Value {
        json!({
            "eventName": "GetObject",
            "userAgent": "Boto3/1.35 os/linux",
            "errorCode": "AccessDenied",
            "sourceIPAddress": "198.51.100.7",
            "userIdentity": { "type": "IAMUser", "userName": "alice" },
            "requestParameters": { "bucketName": "logs", "maxKeys": 500, "tags": ["a*b", "prod"] },
            "readOnly": true,
            "responseElements": null,
        })
    }

    #[test]
    fn plain_values_match_the_whole_field_without_regard_to_case() {
        let r = record();
        assert!(test("eventName", "getobject").matches(&r));
        assert!(!test("eventName", "GetObj").matches(&r));
        assert!(test("eventName", "[PutObject, GetObject]").matches(&r));
        assert!(!test("eventName|cased", "getobject").matches(&r));
        assert!(test("userIdentity.type", "IAMUser").matches(&r));
        assert!(test("requestParameters.maxKeys", "500").matches(&r));
        assert!(test("requestParameters.maxKeys", "'500'").matches(&r));
        assert!(test("readOnly", "true").matches(&r));
        // Array fields match through any element.
        assert!(test("requestParameters.tags", "prod").matches(&r));
    }

    #[test]
    fn wildcards_and_escapes_follow_sigma() {
        let r = record();
        assert!(test("userAgent", "boto3*").matches(&r));
        assert!(test("eventName", "Get?bject").matches(&r));
        assert!(!test("eventName", "Get?object").matches(&r));
        assert!(test("requestParameters.tags", r"'a\*b'").matches(&r));
        assert!(!test("requestParameters.tags", r"'a\*c'").matches(&r));
        assert!(test("requestParameters.tags", "'a*'").matches(&r));
        // Regular-expression characters in values are literal.
        assert!(!test("eventName", "'Get.bject'").matches(&r));
    }

    #[test]
    fn modifiers_shape_the_values() {
        let r = record();
        assert!(test("userAgent|contains", "linux").matches(&r));
        assert!(!test("userAgent|contains", "kali").matches(&r));
        assert!(test("userAgent|startswith", "BOTO3").matches(&r));
        assert!(!test("userAgent|startswith", "os").matches(&r));
        assert!(test("userAgent|endswith", "linux").matches(&r));
        assert!(test("userAgent|contains|all", "[boto3, linux]").matches(&r));
        assert!(!test("userAgent|contains|all", "[boto3, kali]").matches(&r));
        assert!(test("userAgent|re", "'^Boto3/1\\.3[0-9]'").matches(&r));
        assert!(!test("userAgent|re", "'^boto3'").matches(&r));
        assert!(test("userAgent|re|i", "'^boto3'").matches(&r));
        assert!(test("sourceIPAddress|cidr", "198.51.100.0/24").matches(&r));
        assert!(!test("sourceIPAddress|cidr", "[10.0.0.0/8, 192.168.0.0/16]").matches(&r));
        assert!(test("errorCode|exists", "true").matches(&r));
        assert!(!test("errorMessage|exists", "true").matches(&r));
        assert!(test("errorMessage|exists", "false").matches(&r));
        assert!(test("requestParameters.maxKeys|gt", "100").matches(&r));
        assert!(test("requestParameters.maxKeys|gte", "500").matches(&r));
        assert!(!test("requestParameters.maxKeys|lt", "500").matches(&r));
        assert!(test("requestParameters.maxKeys|lte", "500").matches(&r));
        assert!(!test("requestParameters.bucketName|gt", "1").matches(&r));
    }

    #[test]
    fn null_matches_missing_or_null_fields() {
        let r = record();
        assert!(test("errorMessage", "null").matches(&r));
        assert!(test("responseElements", "null").matches(&r));
        assert!(!test("errorCode", "null").matches(&r));
        assert!(test("errorCode", "[null, AccessDenied]").matches(&r));
    }

    #[test]
    fn unsupported_or_malformed_tests_are_refused() {
        assert!(refused("eventName|base64", "x").contains("`base64` is not supported"));
        assert!(refused("eventName|windash", "x").contains("not supported"));
        assert!(refused("eventName|contains|startswith", "x").contains("cannot follow"));
        assert!(refused("eventName|re", "'(['").contains("not a regular expression"));
        assert!(refused("sourceIPAddress|cidr", "10.0.0.0/33").contains("not an address range"));
        assert!(refused("errorCode|exists", "yes please").contains("true or false"));
        assert!(refused("x|gt", "ten").contains("takes a number"));
        assert!(refused("eventName", "[]").contains("empty list"));
        assert!(refused("eventName", "{a: b}").contains("values must be"));
        assert!(refused("|contains", "x").contains("field name"));
    }
}
