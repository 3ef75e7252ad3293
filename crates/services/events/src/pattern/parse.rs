//! Parsing and validation of event patterns, with the reasons AWS gives (its rule compiler's
//! messages) in `InvalidEventPatternException`.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{AnythingBut, Cidr, Field, Matcher, Node, Pattern, Range, Wildcard};

/// A pattern AWS refuses, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Event pattern is not valid. Reason: {}", self.0)
    }
}

type Parsed<T> = Result<T, PatternError>;

fn fail<T>(reason: impl Into<String>) -> Parsed<T> {
    Err(PatternError(reason.into()))
}

/// Parses the text of a pattern.
pub fn parse(text: &str) -> Parsed<Pattern> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(err) => return fail(err.to_string()),
    };
    parse_value(&value)
}

/// Parses a pattern given as JSON.
pub fn parse_value(value: &Value) -> Parsed<Pattern> {
    let Some(object) = value.as_object() else {
        return fail("Filter is not an object");
    };
    Ok(Pattern {
        root: node(object)?,
    })
}

/// One object level.
fn node(object: &Map<String, Value>) -> Parsed<Node> {
    if object.is_empty() {
        return fail("Empty objects are not allowed");
    }
    let mut out = Node::default();
    for (name, value) in object {
        if name == "$or" {
            out.ors.push(or_group(value)?);
            continue;
        }
        let field = match value {
            Value::Object(inner) => Field::Object(node(inner)?),
            Value::Array(items) => Field::Leaf(leaf(items)?),
            _ => return fail(format!("\"{name}\" must be an object or an array")),
        };
        out.fields.push((name.clone(), field));
    }
    Ok(out)
}

fn or_group(value: &Value) -> Parsed<Vec<Node>> {
    let Some(items) = value.as_array() else {
        return fail("It must be an Array followed with $or.");
    };
    let mut alternatives = Vec::with_capacity(items.len());
    for item in items {
        let Some(object) = item.as_object() else {
            return fail("Only JSON object is allowed in array of $or relationship.");
        };
        alternatives.push(node(object)?);
    }
    if alternatives.len() < 2 {
        return fail("There must have at least 2 Objects in $or relationship.");
    }
    Ok(alternatives)
}

fn leaf(items: &[Value]) -> Parsed<Vec<Matcher>> {
    if items.is_empty() {
        return fail("Empty arrays are not allowed");
    }
    items.iter().map(matcher).collect()
}

fn matcher(item: &Value) -> Parsed<Matcher> {
    Ok(match item {
        Value::String(s) => Matcher::Exact(s.clone()),
        Value::Number(n) => match n.as_f64() {
            Some(f) => Matcher::Number(f),
            None => return fail("Invalid number"),
        },
        Value::Bool(b) => Matcher::Bool(*b),
        Value::Null => Matcher::Null,
        Value::Object(expression) => operator(expression)?,
        Value::Array(_) => return fail("Match value must be String, number, true, false, or null"),
    })
}

/// The one `(name, value)` of a match expression.
fn single(expression: &Map<String, Value>) -> Parsed<(&str, &Value)> {
    let mut entries = expression.iter();
    let Some((name, value)) = entries.next() else {
        return fail("Match expression name not found");
    };
    if entries.next().is_some() {
        return fail("Only one key allowed in match expression");
    }
    Ok((name.as_str(), value))
}

fn operator(expression: &Map<String, Value>) -> Parsed<Matcher> {
    let (name, value) = single(expression)?;
    Ok(match name {
        "prefix" => match value {
            Value::String(s) => Matcher::Prefix(s.clone()),
            Value::Object(o) => Matcher::PrefixIgnoreCase(ignore_case_string(o, "prefix")?),
            _ => return fail("prefix match pattern must be a string"),
        },
        "suffix" => match value {
            Value::String(s) => Matcher::Suffix(s.clone()),
            Value::Object(o) => Matcher::SuffixIgnoreCase(ignore_case_string(o, "suffix")?),
            _ => return fail("suffix match pattern must be a string"),
        },
        "equals-ignore-case" => match value {
            Value::String(s) => Matcher::EqualsIgnoreCase(s.clone()),
            _ => return fail("equals-ignore-case match pattern must be a string"),
        },
        "wildcard" => match value {
            Value::String(s) => Matcher::Wildcard(wildcard(s)?),
            _ => return fail("wildcard match pattern must be a string"),
        },
        "numeric" => match value {
            Value::Array(terms) => Matcher::Numeric(numeric(terms)?),
            _ => return fail("Value of numeric must be an array."),
        },
        "exists" => match value {
            Value::Bool(b) => Matcher::Exists(*b),
            _ => return fail("exists match pattern must be either true or false."),
        },
        "cidr" => match value {
            Value::String(s) => Matcher::Cidr(cidr(s)?),
            _ => return fail("prefix match pattern must be a string"),
        },
        "anything-but" => Matcher::AnythingBut(anything_but(value)?),
        other => return fail(format!("Unrecognized match type {other}")),
    })
}

/// `{"equals-ignore-case": "..."}` under `prefix` or `suffix`.
fn ignore_case_string(o: &Map<String, Value>, under: &str) -> Parsed<String> {
    match single(o)? {
        ("equals-ignore-case", Value::String(s)) => Ok(s.clone()),
        _ => fail(format!(
            "Value of {under} must be a string or a valid equals-ignore-case expression"
        )),
    }
}

fn anything_but(value: &Value) -> Parsed<AnythingBut> {
    Ok(match value {
        Value::String(s) => AnythingBut::Strings(vec![s.clone()]),
        Value::Number(n) => AnythingBut::Numbers(vec![number(n)?]),
        Value::Array(items) => {
            let strings: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let numbers = items
                .iter()
                .filter_map(|v| v.as_number())
                .map(number)
                .collect::<Parsed<Vec<f64>>>()?;
            if items.iter().any(|v| !v.is_string() && !v.is_number()) {
                return fail("Inside anything but list, start|null|boolean is not supported.");
            }
            match (strings.is_empty(), numbers.is_empty()) {
                (false, true) => AnythingBut::Strings(strings),
                (true, false) => AnythingBut::Numbers(numbers),
                _ => {
                    return fail(
                        "Inside anything but list, either all values are number or string, mixed type is not supported",
                    )
                }
            }
        }
        Value::Object(o) => {
            let (name, inner) = single(o)?;
            match (name, inner) {
                ("prefix", Value::String(s)) | ("suffix", Value::String(s)) if s.is_empty() => {
                    return fail("Null prefix/suffix not allowed")
                }
                ("prefix", Value::String(s)) => AnythingBut::Prefix(s.clone()),
                ("suffix", Value::String(s)) => AnythingBut::Suffix(s.clone()),
                ("prefix" | "suffix", _) => {
                    return fail("prefix/suffix match pattern must be a string")
                }
                ("equals-ignore-case", v) => AnythingBut::IgnoreCase(strings_of(
                    v,
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                )?),
                ("wildcard", v) => AnythingBut::Wildcards(
                    strings_of(
                        v,
                        "Inside anything-but/wildcard list, number|start|null|boolean is not supported.",
                    )?
                    .iter()
                    .map(|s| wildcard(s))
                    .collect::<Parsed<_>>()?,
                ),
                (other, _) => return fail(format!("Unsupported anything-but pattern: {other}")),
            }
        }
        _ => return fail("Value of anything-but must be an array or single string/number value."),
    })
}

/// A string or a non-empty list of strings.
fn strings_of(value: &Value, reason: &str) -> Parsed<Vec<String>> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => fail(reason),
            })
            .collect(),
        _ => fail(reason),
    }
}

fn number(n: &serde_json::Number) -> Parsed<f64> {
    match n.as_f64() {
        Some(f) if f.is_finite() => Ok(f),
        _ => fail("Invalid number"),
    }
}

fn numeric(terms: &[Value]) -> Parsed<Range> {
    let op = |i: usize| -> Parsed<&str> {
        match terms.get(i) {
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(other) => fail(format!("Invalid member in numeric match: {other}")),
            None => fail("Invalid member in numeric match: ]"),
        }
    };
    let value = |i: usize, op: &str| -> Parsed<f64> {
        match terms.get(i) {
            Some(Value::Number(n)) => number(n),
            _ => fail(format!("Value of {op} must be numeric")),
        }
    };
    let first = op(0)?;
    let v = value(1, first)?;
    let mut range = match first {
        "=" => {
            if terms.len() > 2 {
                return fail("Too many elements in numeric expression");
            }
            return Ok(Range {
                low: Some((v, true)),
                high: Some((v, true)),
            });
        }
        ">" | ">=" => Range {
            low: Some((v, first == ">=")),
            high: None,
        },
        "<" | "<=" => Range {
            low: None,
            high: Some((v, first == "<=")),
        },
        other => return fail(format!("Unrecognized numeric range operator: {other}")),
    };
    if terms.len() == 2 {
        return Ok(range);
    }
    if range.high.is_some() {
        return fail("Too many elements in numeric expression");
    }
    let second = match terms.get(2) {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return fail(format!("Bad value in numeric range: {other}")),
        None => return fail("Bad value in numeric range: ]"),
    };
    if second != "<" && second != "<=" {
        return fail(format!("Bad numeric range operator: {second}"));
    }
    let top = value(3, second)?;
    if terms.len() > 4 {
        return fail("Too many terms in numeric range expression");
    }
    if range.low.is_some_and(|(low, _)| low >= top) {
        return fail("Bottom must be less than top");
    }
    range.high = Some((top, second == "<="));
    Ok(range)
}

/// A wildcard expression: `*` any run, `\*` a literal star, `\\` a literal backslash.
fn wildcard(text: &str) -> Parsed<Wildcard> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars().enumerate().peekable();
    let mut last_star = false;
    while let Some((pos, c)) = chars.next() {
        match c {
            '*' => {
                if last_star {
                    return fail(format!(
                        "Consecutive wildcard characters at pos {}",
                        pos.saturating_sub(1)
                    ));
                }
                parts.push(String::new());
                last_star = true;
                continue;
            }
            '\\' => match chars.peek() {
                Some((_, next @ ('*' | '\\'))) => {
                    let next = *next;
                    chars.next();
                    push_char(&mut parts, next);
                }
                _ => return fail(format!("Invalid escape character at pos {pos}")),
            },
            other => push_char(&mut parts, other),
        }
        last_star = false;
    }
    Ok(Wildcard { parts })
}

fn push_char(parts: &mut [String], c: char) {
    if let Some(last) = parts.last_mut() {
        last.push(c);
    }
}

/// An address block `ADDRESS/BITS`.
fn cidr(text: &str) -> Parsed<Cidr> {
    let Some((address, bits)) = text.split_once('/') else {
        return fail(format!("Malformed CIDR, one '/' required: {text}"));
    };
    let net: IpAddr = match address.parse() {
        Ok(a) => a,
        Err(_) => return fail(format!("Nonstandard IP address: {address}")),
    };
    let max = if net.is_ipv4() { 32 } else { 128 };
    match bits.parse::<u8>() {
        Ok(b) if b <= max => Ok(Cidr { net, bits: b }),
        _ => fail(format!(
            "Malformed CIDR, mask bits must be between 0 and {max}: {text}"
        )),
    }
}
