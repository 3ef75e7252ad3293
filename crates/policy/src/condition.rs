//! Condition operators: every family, `...IfExists`, `ForAnyValue:` / `ForAllValues:`, policy
//! variables in values. Values are parsed when the policy is compiled.

use std::net::IpAddr;

use base64::Engine as _;

use crate::arn::ArnPattern;
use crate::context::{Context, ContextValue};
use crate::variables::Template;
use crate::wildcard::Pattern;

/// A numeric or date comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Equal.
    Eq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
}

impl Cmp {
    fn test(self, ctx: f64, policy: f64) -> bool {
        match self {
            Cmp::Eq => ctx == policy,
            Cmp::Lt => ctx < policy,
            Cmp::Le => ctx <= policy,
            Cmp::Gt => ctx > policy,
            Cmp::Ge => ctx >= policy,
        }
    }
}

/// The operator family with its positive test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// StringEquals (case-sensitive, no wildcards).
    StringEquals,
    /// StringEqualsIgnoreCase.
    StringEqualsIgnoreCase,
    /// StringLike (case-sensitive, `*` and `?`).
    StringLike,
    /// Numeric comparisons.
    Numeric(Cmp),
    /// Date comparisons.
    Date(Cmp),
    /// Bool.
    Bool,
    /// BinaryEquals (base64 values).
    Binary,
    /// IpAddress (CIDR).
    Ip,
    /// ArnEquals / ArnLike (per-segment wildcards).
    Arn,
    /// Null (key absence).
    Null,
}

/// ForAnyValue / ForAllValues qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// No qualifier.
    Single,
    /// `ForAnyValue:`.
    ForAnyValue,
    /// `ForAllValues:`.
    ForAllValues,
}

/// A parsed condition operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator as written.
    pub name: String,
    /// The family.
    pub base: Base,
    /// True for the `Not` forms (StringNotEquals, NotIpAddress, ...).
    pub negated: bool,
    /// True for `...IfExists`.
    pub if_exists: bool,
    /// The set qualifier.
    pub set: SetOp,
}

impl Operator {
    /// Parses an operator name (case-insensitive); `None` when unknown.
    pub fn parse(name: &str) -> Option<Operator> {
        let lower = name.to_ascii_lowercase();
        let (set, rest) = if let Some(r) = lower.strip_prefix("foranyvalue:") {
            (SetOp::ForAnyValue, r)
        } else if let Some(r) = lower.strip_prefix("forallvalues:") {
            (SetOp::ForAllValues, r)
        } else {
            (SetOp::Single, lower.as_str())
        };
        let (if_exists, core) = match rest.strip_suffix("ifexists") {
            Some(c) => (true, c),
            None => (false, rest),
        };
        use Cmp::*;
        let (base, negated) = match core {
            "stringequals" => (Base::StringEquals, false),
            "stringnotequals" => (Base::StringEquals, true),
            "stringequalsignorecase" => (Base::StringEqualsIgnoreCase, false),
            "stringnotequalsignorecase" => (Base::StringEqualsIgnoreCase, true),
            "stringlike" => (Base::StringLike, false),
            "stringnotlike" => (Base::StringLike, true),
            "numericequals" => (Base::Numeric(Eq), false),
            "numericnotequals" => (Base::Numeric(Eq), true),
            "numericlessthan" => (Base::Numeric(Lt), false),
            "numericlessthanequals" => (Base::Numeric(Le), false),
            "numericgreaterthan" => (Base::Numeric(Gt), false),
            "numericgreaterthanequals" => (Base::Numeric(Ge), false),
            "dateequals" => (Base::Date(Eq), false),
            "datenotequals" => (Base::Date(Eq), true),
            "datelessthan" => (Base::Date(Lt), false),
            "datelessthanequals" => (Base::Date(Le), false),
            "dategreaterthan" => (Base::Date(Gt), false),
            "dategreaterthanequals" => (Base::Date(Ge), false),
            "bool" => (Base::Bool, false),
            "binaryequals" => (Base::Binary, false),
            "ipaddress" => (Base::Ip, false),
            "notipaddress" => (Base::Ip, true),
            "arnequals" | "arnlike" => (Base::Arn, false),
            "arnnotequals" | "arnnotlike" => (Base::Arn, true),
            "null" => (Base::Null, false),
            _ => return None,
        };
        if base == Base::Null && (if_exists || set != SetOp::Single) {
            return None;
        }
        Some(Operator {
            name: name.to_string(),
            base,
            negated,
            if_exists,
            set,
        })
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    /// True when `ip` lies in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// One compiled policy value.
#[derive(Debug, Clone, PartialEq)]
pub enum CondValue {
    /// Exact text.
    Text(String),
    /// Lowercased text for the IgnoreCase operators.
    Folded(String),
    /// A StringLike pattern.
    Like(Pattern),
    /// A number.
    Number(f64),
    /// A date as milliseconds since the epoch.
    Date(i64),
    /// A boolean (only `true`/`false`, any case, are booleans).
    Bool(Option<bool>),
    /// Base64-decoded bytes (or the raw text when not base64).
    Binary(Vec<u8>),
    /// A network.
    Ip(Cidr),
    /// An ARN pattern.
    Arn(ArnPattern),
    /// The Null operator's expectation: true = key must be absent.
    Null(bool),
    /// A value with policy variables, compiled per request.
    Template(Template),
}

/// Parses a date as AWS accepts it: ISO 8601 (date, date-time with or without zone and
/// fractional seconds) or epoch seconds.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(1000);
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() {
            return Some((f * 1000.0) as i64);
        }
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%MZ", "%Y%m%dT%H%M%SZ"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc().timestamp_millis());
    }
    // The other forms IAM's parser accepts (a year alone, a one-digit hour, `+hh` zones).
    crate::iam_dates::legacy_date_millis(s)
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn decode_b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_else(|_| s.as_bytes().to_vec())
}

/// Compiles one policy value for `base`; `Err` explains a malformed value.
pub fn compile_value(base: Base, text: &str) -> Result<CondValue, String> {
    Ok(match base {
        Base::StringEquals => CondValue::Text(text.to_string()),
        Base::StringEqualsIgnoreCase => CondValue::Folded(text.to_lowercase()),
        Base::StringLike => CondValue::Like(Pattern::new(text, false)),
        Base::Numeric(_) => CondValue::Number(
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("\"{text}\" is not a valid number"))?,
        ),
        Base::Date(_) => CondValue::Date(
            parse_date(text).ok_or_else(|| format!("\"{text}\" is not a valid date"))?,
        ),
        Base::Bool => CondValue::Bool(parse_bool(text)),
        Base::Binary => CondValue::Binary(decode_b64(text)),
        Base::Ip => CondValue::Ip(
            Cidr::parse(text)
                .ok_or_else(|| format!("\"{text}\" is not a valid IP address or CIDR"))?,
        ),
        Base::Arn => CondValue::Arn(ArnPattern::strict(text)),
        Base::Null => CondValue::Null(
            parse_bool(text)
                .ok_or_else(|| format!("Null expects \"true\" or \"false\", not \"{text}\""))?,
        ),
    })
}

/// One key test: `"Operator": { "key": [values] }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub op: Operator,
    /// The key as written.
    pub key: String,
    /// The key lowercased (context lookups).
    pub key_lc: String,
    /// The compiled values (OR).
    pub values: Vec<CondValue>,
}

impl Condition {
    /// Evaluates against the context; absent keys (other than for Null) go to `missing`.
    pub fn evaluate(&self, ctx: &Context, missing: &mut Vec<String>) -> bool {
        let cv = ctx.get_lower(&self.key_lc);
        if self.op.base == Base::Null {
            let absent = cv.is_none_or(|v| v.values.is_empty());
            return self
                .values
                .iter()
                .any(|v| matches!(v, CondValue::Null(b) if *b == absent));
        }
        let cv: &ContextValue = match cv {
            Some(v) => v,
            None => {
                missing.push(self.key.clone());
                if self.op.if_exists {
                    return true;
                }
                return match self.op.set {
                    SetOp::ForAllValues => true,
                    SetOp::ForAnyValue => false,
                    SetOp::Single => self.op.negated,
                };
            }
        };
        let neg = self.op.negated;
        match self.op.set {
            SetOp::Single => {
                if cv.values.is_empty() {
                    return self.op.if_exists || neg;
                }
                cv.values.iter().any(|v| self.any_value(v, ctx, missing)) != neg
            }
            SetOp::ForAnyValue => cv
                .values
                .iter()
                .any(|v| self.any_value(v, ctx, missing) != neg),
            SetOp::ForAllValues => cv
                .values
                .iter()
                .all(|v| self.any_value(v, ctx, missing) != neg),
        }
    }

    /// True when the context value matches at least one policy value (positive test).
    fn any_value(&self, ctx_v: &str, ctx: &Context, missing: &mut Vec<String>) -> bool {
        let base = self.op.base;
        // Parse the context value once per family.
        let parsed = Parsed::new(base, ctx_v);
        self.values.iter().any(|pv| match pv {
            CondValue::Template(t) => match template_matches(t, base, ctx, ctx_v, &parsed) {
                Ok(m) => m,
                Err(k) => {
                    missing.push(k);
                    false
                }
            },
            v => value_matches(v, base, ctx_v, &parsed),
        })
    }
}

/// Tests a policy value with variables, substituting into reused buffers.
fn template_matches(
    t: &Template,
    base: Base,
    ctx: &Context,
    ctx_v: &str,
    parsed: &Parsed,
) -> Result<bool, String> {
    match base {
        Base::StringLike => crate::scratch::with_tokens(|buf| {
            t.resolve_tokens_into(ctx, false, buf)?;
            Ok(crate::wildcard::glob_tokens(buf, ctx_v))
        }),
        Base::Arn => crate::scratch::with_tokens(|buf| {
            t.resolve_tokens_into(ctx, false, buf)?;
            Ok(crate::arn::match_tokens(buf, ctx_v, false))
        }),
        Base::StringEquals => crate::scratch::with_text(|s| {
            t.resolve_text_into(ctx, s)?;
            Ok(s == ctx_v)
        }),
        Base::StringEqualsIgnoreCase => crate::scratch::with_text(|s| {
            t.resolve_text_into(ctx, s)?;
            Ok(if s.is_ascii() && ctx_v.is_ascii() {
                s.eq_ignore_ascii_case(ctx_v)
            } else {
                s.to_lowercase() == ctx_v.to_lowercase()
            })
        }),
        _ => {
            let s = t.resolve_text(ctx)?;
            Ok(compile_value(base, &s)
                .map(|v| value_matches(&v, base, ctx_v, parsed))
                .unwrap_or(false))
        }
    }
}

/// A context value parsed for the family being tested.
enum Parsed {
    None,
    Num(Option<f64>),
    Date(Option<i64>),
    Ip(Option<IpAddr>),
    Bool(Option<bool>),
    Bin(Vec<u8>),
}

impl Parsed {
    fn new(base: Base, v: &str) -> Parsed {
        match base {
            Base::Numeric(_) => Parsed::Num(v.trim().parse::<f64>().ok()),
            Base::Date(_) => Parsed::Date(parse_date(v)),
            Base::Ip => Parsed::Ip(v.trim().parse::<IpAddr>().ok()),
            Base::Bool => Parsed::Bool(parse_bool(v)),
            Base::Binary => Parsed::Bin(decode_b64(v)),
            _ => Parsed::None,
        }
    }
}

fn value_matches(pv: &CondValue, base: Base, ctx_v: &str, parsed: &Parsed) -> bool {
    match (pv, parsed) {
        (CondValue::Text(t), _) => t == ctx_v,
        (CondValue::Folded(t), _) => {
            if ctx_v.is_ascii() {
                t.eq_ignore_ascii_case(ctx_v)
            } else {
                *t == ctx_v.to_lowercase()
            }
        }
        (CondValue::Like(p), _) => p.matches(ctx_v),
        (CondValue::Number(n), Parsed::Num(Some(c))) => match base {
            Base::Numeric(cmp) => cmp.test(*c, *n),
            _ => false,
        },
        (CondValue::Date(d), Parsed::Date(Some(c))) => match base {
            Base::Date(cmp) => cmp.test(*c as f64, *d as f64),
            _ => false,
        },
        (CondValue::Bool(Some(b)), Parsed::Bool(Some(c))) => b == c,
        (CondValue::Binary(b), Parsed::Bin(c)) => b == c,
        (CondValue::Ip(n), Parsed::Ip(Some(ip))) => n.contains(*ip),
        (CondValue::Arn(p), _) => p.matches(ctx_v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, vals: &[&str]) -> Condition {
        let op = Operator::parse(op).unwrap();
        let values = vals
            .iter()
            .map(|v| match Template::parse(v) {
                Some(t) => CondValue::Template(t),
                None => compile_value(op.base, v).unwrap(),
            })
            .collect();
        Condition {
            op,
            key: key.into(),
            key_lc: key.to_ascii_lowercase(),
            values,
        }
    }

    fn ctx(pairs: &[(&str, ContextValue)]) -> Context {
        let mut c = Context::new();
        for (k, v) in pairs {
            c.insert(k, v.clone());
        }
        c
    }

    #[test]
    fn families() {
        let mut m = Vec::new();
        let c = ctx(&[
            ("aws:SourceIp", ContextValue::single("203.0.113.7")),
            (
                "aws:CurrentTime",
                ContextValue::single("2024-05-01T12:00:00Z"),
            ),
            ("n", ContextValue::single("10")),
            ("aws:SecureTransport", ContextValue::single("TRUE")),
            ("aws:TagKeys", ContextValue::multi(["a", "b"])),
            ("aws:username", ContextValue::single("bob")),
        ]);
        assert!(cond("IpAddress", "aws:sourceip", &["203.0.113.0/24"]).evaluate(&c, &mut m));
        assert!(cond("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"]).evaluate(&c, &mut m));
        assert!(cond("DateLessThan", "aws:CurrentTime", &["2025-01-01"]).evaluate(&c, &mut m));
        assert!(cond("NumericGreaterThanEquals", "n", &["10"]).evaluate(&c, &mut m));
        assert!(!cond("NumericLessThan", "n", &["10"]).evaluate(&c, &mut m));
        assert!(cond("Bool", "aws:SecureTransport", &["true"]).evaluate(&c, &mut m));
        assert!(
            cond("ForAllValues:StringEquals", "aws:TagKeys", &["a", "b", "c"]).evaluate(&c, &mut m)
        );
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", &["a"]).evaluate(&c, &mut m));
        assert!(cond("ForAnyValue:StringEquals", "aws:TagKeys", &["b"]).evaluate(&c, &mut m));
        assert!(cond("ForAllValues:StringEquals", "missing:key", &["x"]).evaluate(&c, &mut m));
        assert!(!cond("ForAnyValue:StringEquals", "missing:key", &["x"]).evaluate(&c, &mut m));
        assert!(cond("StringNotEquals", "missing:key", &["x"]).evaluate(&c, &mut m));
        assert!(!cond("StringEquals", "missing:key", &["x"]).evaluate(&c, &mut m));
        assert!(cond("StringEqualsIfExists", "missing:key", &["x"]).evaluate(&c, &mut m));
        assert!(cond("Null", "missing:key", &["true"]).evaluate(&c, &mut m));
        assert!(cond("Null", "n", &["false"]).evaluate(&c, &mut m));
        assert!(cond("StringLike", "aws:username", &["b*"]).evaluate(&c, &mut m));
        assert!(cond("StringEquals", "aws:username", &["${aws:username}"]).evaluate(&c, &mut m));
        assert!(cond("ArnLike", "aws:username", &["*"]).evaluate(&c, &mut m));
        assert!(cond("StringEqualsIgnoreCase", "aws:username", &["BOB"]).evaluate(&c, &mut m));
        assert!(m.iter().any(|k| k == "missing:key"));
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("Bogus").is_none());
        let v6 = ctx(&[("aws:SourceIp", ContextValue::single("2001:db8::1"))]);
        assert!(cond("IpAddress", "aws:SourceIp", &["2001:db8::/32"]).evaluate(&v6, &mut m));
        assert!(!cond("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]).evaluate(&v6, &mut m));
    }
}
