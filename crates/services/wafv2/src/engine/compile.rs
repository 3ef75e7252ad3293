//! Compiling a rule's `Statement` (AWS's JSON shape) into a [`Stmt`], with its capacity in
//! WCUs as AWS counts them. A statement Rampart cannot evaluate is refused, never ignored.

use std::collections::HashMap;

use base64::Engine as _;
use regex::bytes::{RegexBuilder, RegexSetBuilder};
use serde_json::Value;

use super::{
    fields::{Field, KeyPattern, Oversize, Scope},
    json_body::{Fallback, JsonSpec},
    stmt::{Aggregate, Cmp, Forwarded, ForwardedPosition, Net, Position, Stmt},
    transform::Transform,
};

/// Why a statement does not compile: AWS's `WAFInvalidParameterException` parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field (`STATEMENT`, `FIELD_TO_MATCH`, ...).
    pub field: &'static str,
    /// The parameter.
    pub parameter: String,
    /// The reason.
    pub reason: String,
}

fn invalid(
    field: &'static str,
    parameter: impl Into<String>,
    reason: impl Into<String>,
) -> Invalid {
    Invalid {
        field,
        parameter: parameter.into(),
        reason: reason.into(),
    }
}

/// What compiling needs: the sets a statement references, the label namespace, and the
/// prefix of rate counters.
#[derive(Debug, Clone, Default)]
pub struct Refs {
    /// IP sets by ARN: their addresses.
    pub ip_sets: HashMap<String, Vec<String>>,
    /// Regex pattern sets by ARN: their patterns.
    pub regex_sets: HashMap<String, Vec<String>>,
    /// The web ACL's label namespace (`awswaf:ACCOUNT:webacl:NAME:`).
    pub namespace: String,
    /// The prefix of the rule's rate counter (the web ACL's ARN and the rule's name).
    pub counter: String,
    /// Rule groups of one's own by ARN, as stored.
    pub rule_groups: HashMap<String, GroupDef>,
    /// The operator's geolocation database, when one is configured.
    pub geo: Option<std::sync::Arc<dyn super::geo::Countries>>,
}

/// A rule group of one's own a web ACL references, as stored.
#[derive(Debug, Clone, Default)]
pub struct GroupDef {
    /// Its name.
    pub name: String,
    /// Its owner's account.
    pub account: String,
    /// Its `Rules`.
    pub rules: Vec<Value>,
    /// Its `CustomResponseBodies`.
    pub bodies: Value,
    /// Its `Capacity`.
    pub capacity: u64,
}

type Compiled = Result<(Stmt, u64), Invalid>;

const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// A field's `MatchScope` (`ALL`, `KEY`, `VALUE`); `field` names it in the refusal.
fn scope_of(spec: &Value, field: &'static str) -> Result<Scope, Invalid> {
    match s(spec, "MatchScope") {
        Some("ALL") => Ok(Scope::All),
        Some("KEY") => Ok(Scope::Key),
        Some("VALUE") => Ok(Scope::Value),
        other => Err(invalid(
            field,
            other.unwrap_or_default(),
            "Not a valid match scope.",
        )),
    }
}

fn field_of(v: &Value) -> Result<(Field, u64), Invalid> {
    let f = v
        .get("FieldToMatch")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("FIELD_TO_MATCH", "", "A FieldToMatch is required."))?;
    let (name, spec) = f.iter().next().ok_or_else(|| {
        invalid(
            "FIELD_TO_MATCH",
            "",
            "Exactly one field to match is required.",
        )
    })?;
    if f.len() != 1 {
        return Err(invalid(
            "FIELD_TO_MATCH",
            "",
            "Exactly one field to match is required.",
        ));
    }
    let oversize = |spec: &Value| {
        Oversize::parse(s(spec, "OversizeHandling")).ok_or_else(|| {
            invalid(
                "OVERSIZE_HANDLING",
                s(spec, "OversizeHandling").unwrap_or_default(),
                "Not a valid oversize handling.",
            )
        })
    };
    let keys =
        |spec: &Value, inc: &str, exc: &str, fold: bool| -> Result<(KeyPattern, Scope), Invalid> {
            let p = spec.get("MatchPattern").cloned().unwrap_or(Value::Null);
            let list = |k: &str| -> Option<Vec<String>> {
                p.get(k).and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|x| {
                            if fold {
                                x.to_ascii_lowercase()
                            } else {
                                x.to_string()
                            }
                        })
                        .collect()
                })
            };
            let pattern = if p.get("All").is_some() {
                KeyPattern::All
            } else if let Some(l) = list(inc) {
                KeyPattern::Included(l)
            } else if let Some(l) = list(exc) {
                KeyPattern::Excluded(l)
            } else {
                return Err(invalid("MATCH_PATTERN", "", "A match pattern is required."));
            };
            let scope = scope_of(spec, "MATCH_SCOPE")?;
            Ok((pattern, scope))
        };
    Ok(match name.as_str() {
        "UriPath" => (Field::UriPath, 0),
        "QueryString" => (Field::QueryString, 0),
        "Method" => (Field::Method, 0),
        "AllQueryArguments" => (Field::AllQueryArguments, 10),
        "SingleQueryArgument" | "SingleHeader" => {
            let n = s(spec, "Name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| invalid("FIELD_TO_MATCH", name.clone(), "A name is required."))?
                .to_ascii_lowercase();
            if name == "SingleHeader" {
                (Field::SingleHeader(n), 0)
            } else {
                (Field::SingleQueryArgument(n), 0)
            }
        }
        "Headers" => {
            let (p, sc) = keys(spec, "IncludedHeaders", "ExcludedHeaders", true)?;
            (Field::Headers(p, sc, oversize(spec)?), 0)
        }
        "Cookies" => {
            let (p, sc) = keys(spec, "IncludedCookies", "ExcludedCookies", false)?;
            (Field::Cookies(p, sc, oversize(spec)?), 0)
        }
        "Body" => (Field::Body(oversize(spec)?), 0),
        "JsonBody" => (Field::JsonBody(Box::new(json_spec(spec)?)), 0),
        other => {
            return Err(invalid(
                "FIELD_TO_MATCH",
                other,
                "This field to match is not supported by Rampart.",
            ))
        }
    })
}

/// A statement's base WCUs: doubled when it inspects the JSON body, as AWS counts it.
fn doubled(field: &Field, base: u64) -> u64 {
    if matches!(field, Field::JsonBody(_)) {
        base * 2
    } else {
        base
    }
}

/// A `JsonBody` field: match pattern, scope, invalid fallback and oversize handling.
fn json_spec(spec: &Value) -> Result<JsonSpec, Invalid> {
    let pattern = spec.get("MatchPattern").cloned().unwrap_or(Value::Null);
    let paths = match (pattern.get("All"), pattern.get("IncludedPaths")) {
        (Some(_), None) => None,
        (None, Some(list)) => {
            let paths: Vec<String> = list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            let bad = paths.iter().find(|p| !valid_pointer(p));
            if paths.is_empty() || bad.is_some() {
                return Err(invalid(
                    "JSON_MATCH_PATTERN",
                    bad.cloned().unwrap_or_default(),
                    "IncludedPaths takes JSON Pointers (RFC 6901).",
                ));
            }
            Some(paths)
        }
        _ => {
            return Err(invalid(
                "JSON_MATCH_PATTERN",
                "",
                "Exactly one of All and IncludedPaths is required.",
            ))
        }
    };
    let scope = scope_of(spec, "JSON_MATCH_SCOPE")?;
    let fallback = match s(spec, "InvalidFallbackBehavior") {
        None => None,
        Some("MATCH") => Some(Fallback::Match),
        Some("NO_MATCH") => Some(Fallback::NoMatch),
        Some("EVALUATE_AS_STRING") => Some(Fallback::AsString),
        Some(other) => {
            return Err(invalid(
                "BODY_PARSING_FALLBACK_BEHAVIOR",
                other,
                "Not a valid fallback behavior.",
            ))
        }
    };
    let oversize = Oversize::parse(s(spec, "OversizeHandling")).ok_or_else(|| {
        invalid(
            "OVERSIZE_HANDLING",
            s(spec, "OversizeHandling").unwrap_or_default(),
            "Not a valid oversize handling.",
        )
    })?;
    Ok(JsonSpec {
        paths,
        scope,
        fallback,
        oversize,
    })
}

/// A JSON Pointer as AWS takes it: `/` then segments where `~` is only `~0` or `~1`.
fn valid_pointer(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 512
        && p.split('~')
            .skip(1)
            .all(|rest| rest.starts_with(['0', '1']))
}

fn transforms_of(v: &Value) -> Result<(Vec<Transform>, u64), Invalid> {
    let mut list: Vec<(i64, Transform)> = Vec::new();
    for t in v
        .get("TextTransformations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ty = s(t, "Type").unwrap_or_default();
        let tr = Transform::parse(ty).ok_or_else(|| {
            invalid(
                "TEXT_TRANSFORMATION",
                ty,
                "This text transformation is not supported by Rampart.",
            )
        })?;
        let prio = t.get("Priority").and_then(Value::as_i64).unwrap_or(0);
        if list.iter().any(|(p, _)| *p == prio) {
            return Err(invalid(
                "TEXT_TRANSFORMATION",
                prio.to_string(),
                "Duplicate priority.",
            ));
        }
        list.push((prio, tr));
    }
    if list.is_empty() {
        return Err(invalid(
            "TEXT_TRANSFORMATION",
            "",
            "At least one text transformation is required.",
        ));
    }
    list.sort_by_key(|(p, _)| *p);
    let cost = 10 * list.iter().filter(|(_, t)| *t != Transform::None).count() as u64;
    Ok((list.into_iter().map(|(_, t)| t).collect(), cost))
}

fn forwarded(v: Option<&Value>, with_position: bool) -> Result<Option<Forwarded>, Invalid> {
    let Some(v) = v else { return Ok(None) };
    let header = s(v, "HeaderName")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("HEADER_NAME", "", "A header name is required."))?;
    let fallback_match = match s(v, "FallbackBehavior") {
        Some("MATCH") => true,
        Some("NO_MATCH") => false,
        other => {
            return Err(invalid(
                "FALLBACK_BEHAVIOR",
                other.unwrap_or_default(),
                "Not a valid fallback behavior.",
            ))
        }
    };
    let position = match (with_position, s(v, "Position")) {
        (false, _) | (true, Some("FIRST")) => ForwardedPosition::First,
        (true, Some("LAST")) => ForwardedPosition::Last,
        (true, Some("ANY")) => ForwardedPosition::Any,
        (true, other) => {
            return Err(invalid(
                "POSITION",
                other.unwrap_or_default(),
                "Not a valid position.",
            ))
        }
    };
    Ok(Some(Forwarded {
        header: header.to_string(),
        fallback_match,
        position,
    }))
}

/// Compiles a `Statement` with its WCUs.
pub fn compile(v: &Value, refs: &Refs) -> Compiled {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("STATEMENT", "", "A statement is required."))?;
    let (kind, body) = obj
        .iter()
        .next()
        .filter(|_| obj.len() == 1)
        .ok_or_else(|| invalid("STATEMENT", "", "Exactly one statement is required."))?;
    match kind.as_str() {
        "ByteMatchStatement" => {
            let (field, fc) = field_of(body)?;
            let (t, tc) = transforms_of(body)?;
            let b64 = s(body, "SearchString").unwrap_or_default();
            let search = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| invalid("SEARCH_STRING", b64, "Not valid Base64."))?;
            let (pos, base) = match s(body, "PositionalConstraint").unwrap_or_default() {
                "EXACTLY" => (Position::Exactly, 2),
                "STARTS_WITH" => (Position::StartsWith, 2),
                "ENDS_WITH" => (Position::EndsWith, 2),
                "CONTAINS" => (Position::Contains, 10),
                "CONTAINS_WORD" => (Position::ContainsWord, 10),
                other => {
                    return Err(invalid(
                        "POSITIONAL_CONSTRAINT",
                        other,
                        "Not a valid positional constraint.",
                    ))
                }
            };
            if pos == Position::ContainsWord
                && !search
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                return Err(invalid(
                    "SEARCH_STRING",
                    b64,
                    "CONTAINS_WORD takes alphanumeric characters and underscores only.",
                ));
            }
            if search.is_empty() || search.len() > 200 {
                return Err(invalid(
                    "SEARCH_STRING",
                    b64,
                    "The search string must be 1 to 200 bytes.",
                ));
            }
            let cost = doubled(&field, base) + fc + tc;
            Ok((Stmt::Byte(field, t, pos, search), cost))
        }
        "RegexMatchStatement" => {
            let (field, fc) = field_of(body)?;
            let (t, tc) = transforms_of(body)?;
            let pattern = s(body, "RegexString").unwrap_or_default();
            let re = RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|_| {
                    invalid(
                        "REGEX_STRING",
                        pattern,
                        "The regular expression is not valid.",
                    )
                })?;
            let cost = doubled(&field, 3) + fc + tc;
            Ok((Stmt::Regex(field, t, re), cost))
        }
        "RegexPatternSetReferenceStatement" => {
            let (field, fc) = field_of(body)?;
            let (t, tc) = transforms_of(body)?;
            let arn = s(body, "ARN").unwrap_or_default();
            let patterns = refs.regex_sets.get(arn).ok_or_else(|| {
                invalid(
                    "REGEX_PATTERN_SET",
                    arn,
                    "The regex pattern set does not exist.",
                )
            })?;
            let set = RegexSetBuilder::new(patterns)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|_| {
                    invalid(
                        "REGEX_PATTERN_SET",
                        arn,
                        "A pattern of the set is not valid.",
                    )
                })?;
            let cost = doubled(&field, 25) + fc + tc;
            Ok((Stmt::RegexSet(field, t, set), cost))
        }
        "SizeConstraintStatement" => {
            let (field, fc) = field_of(body)?;
            let (t, tc) = transforms_of(body)?;
            let cmp = match s(body, "ComparisonOperator").unwrap_or_default() {
                "EQ" => Cmp::Eq,
                "NE" => Cmp::Ne,
                "LE" => Cmp::Le,
                "LT" => Cmp::Lt,
                "GE" => Cmp::Ge,
                "GT" => Cmp::Gt,
                other => {
                    return Err(invalid(
                        "COMPARISON_OPERATOR",
                        other,
                        "Not a valid comparison operator.",
                    ))
                }
            };
            let size = body.get("Size").and_then(Value::as_u64).unwrap_or(0);
            let cost = doubled(&field, 1) + fc + tc;
            Ok((Stmt::Size(field, t, cmp, size), cost))
        }
        "SqliMatchStatement" => {
            let (field, fc) = field_of(body)?;
            let (t, tc) = transforms_of(body)?;
            let (high, base) = match s(body, "SensitivityLevel") {
                None | Some("LOW") => (false, 20),
                Some("HIGH") => (true, 30),
                Some(other) => {
                    return Err(invalid(
                        "SENSITIVITY_LEVEL",
                        other,
                        "Not a valid sensitivity level.",
                    ))
                }
            };
            let cost = doubled(&field, base) + fc + tc;
            Ok((Stmt::Sqli(field, t, high), cost))
        }
        "XssMatchStatement" => {
            let (field, fc) = field_of(body)?;
            let (t, tc) = transforms_of(body)?;
            let cost = doubled(&field, 40) + fc + tc;
            Ok((Stmt::Xss(field, t), cost))
        }
        "IPSetReferenceStatement" => {
            let arn = s(body, "ARN").unwrap_or_default();
            let addresses = refs
                .ip_sets
                .get(arn)
                .ok_or_else(|| invalid("IP_SET", arn, "The IP set does not exist."))?;
            let nets = addresses.iter().filter_map(|a| Net::parse(a)).collect();
            let fwd = forwarded(body.get("IPSetForwardedIPConfig"), true)?;
            let extra = if fwd
                .as_ref()
                .is_some_and(|f| f.position == ForwardedPosition::Any)
            {
                4
            } else {
                0
            };
            Ok((Stmt::IpSet(nets, fwd), 1 + extra))
        }
        "LabelMatchStatement" => {
            let key = s(body, "Key").unwrap_or_default();
            let namespace = match s(body, "Scope") {
                Some("LABEL") => false,
                Some("NAMESPACE") => true,
                other => {
                    return Err(invalid(
                        "LABEL_MATCH_SCOPE",
                        other.unwrap_or_default(),
                        "Not a valid scope.",
                    ))
                }
            };
            if namespace && !key.ends_with(':') {
                return Err(invalid(
                    "LABEL_MATCH_KEY",
                    key,
                    "A namespace must end with a colon.",
                ));
            }
            let full = if key.starts_with("awswaf:") {
                key.to_string()
            } else {
                format!("{}{key}", refs.namespace)
            };
            Ok((Stmt::Label(namespace, full), 1))
        }
        "AndStatement" | "OrStatement" => {
            let list = body
                .get("Statements")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if list.len() < 2 {
                return Err(invalid(
                    "STATEMENT",
                    kind.clone(),
                    "A logical statement needs at least two statements.",
                ));
            }
            let mut out = Vec::new();
            let mut cost = 0;
            for st in &list {
                let (c, w) = compile(st, refs)?;
                out.push(c);
                cost += w;
            }
            Ok((
                if kind == "AndStatement" {
                    Stmt::And(out)
                } else {
                    Stmt::Or(out)
                },
                cost,
            ))
        }
        "NotStatement" => {
            let inner = body
                .get("Statement")
                .ok_or_else(|| invalid("STATEMENT", "NotStatement", "A statement is required."))?;
            let (c, w) = compile(inner, refs)?;
            Ok((Stmt::Not(Box::new(c)), w))
        }
        "RateBasedStatement" => {
            let limit = body.get("Limit").and_then(Value::as_u64).unwrap_or(0);
            if !(10..=2_000_000_000).contains(&limit) {
                return Err(invalid(
                    "RATE_BASED_STATEMENT",
                    limit.to_string(),
                    "The limit must be from 10 to 2,000,000,000.",
                ));
            }
            let window = body
                .get("EvaluationWindowSec")
                .and_then(Value::as_u64)
                .unwrap_or(300);
            if ![60, 120, 300, 600].contains(&window) {
                return Err(invalid(
                    "EVALUATION_WINDOW_SEC",
                    window.to_string(),
                    "The window must be 60, 120, 300 or 600 seconds.",
                ));
            }
            let agg = match s(body, "AggregateKeyType").unwrap_or("IP") {
                "IP" => Aggregate::Ip,
                "CONSTANT" => Aggregate::Constant,
                "FORWARDED_IP" => Aggregate::ForwardedIp(
                    forwarded(body.get("ForwardedIPConfig"), false)?.ok_or_else(|| {
                        invalid(
                            "FORWARDED_IP_CONFIG",
                            "",
                            "A forwarded IP config is required.",
                        )
                    })?,
                ),
                other => {
                    return Err(invalid(
                        "AGGREGATE_KEY_TYPE",
                        other,
                        "This aggregation is not supported by Rampart.",
                    ))
                }
            };
            if matches!(agg, Aggregate::Constant) && body.get("ScopeDownStatement").is_none() {
                return Err(invalid(
                    "SCOPE_DOWN",
                    "",
                    "A CONSTANT aggregation requires a scope-down statement.",
                ));
            }
            let (scope, sc) = match body.get("ScopeDownStatement") {
                Some(st) => {
                    let (c, w) = compile(st, refs)?;
                    (Some(Box::new(c)), w)
                }
                None => (None, 0),
            };
            Ok((
                Stmt::Rate(refs.counter.clone(), limit, window, agg, scope),
                2 + sc,
            ))
        }
        "GeoMatchStatement" => {
            let countries = refs.geo.clone().ok_or_else(|| {
                invalid(
                    "STATEMENT",
                    "GeoMatchStatement",
                    "No geolocation database is configured: start Rampart with --geoip-city-db (a MaxMind city or country database) to use geo match statements.",
                )
            })?;
            let codes = body
                .get("CountryCodes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            if codes.is_empty() {
                return Err(invalid(
                    "COUNTRY_CODES",
                    "",
                    "At least one country code is required.",
                ));
            }
            if let Some(bad) = codes
                .iter()
                .find(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
            {
                return Err(invalid(
                    "COUNTRY_CODES",
                    bad.clone(),
                    "Not a valid ISO 3166 alpha-2 country code.",
                ));
            }
            let fwd = forwarded(body.get("ForwardedIPConfig"), false)?;
            Ok((Stmt::Geo(codes, fwd, countries), 1))
        }
        "ManagedRuleGroupStatement" | "RuleGroupReferenceStatement" => Err(invalid(
            "STATEMENT",
            kind.clone(),
            "A rule group statement cannot be nested in another statement.",
        )),
        other => Err(invalid(
            "STATEMENT",
            other,
            "This statement is not supported by Rampart.",
        )),
    }
}
