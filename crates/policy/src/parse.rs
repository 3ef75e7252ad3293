//! Parsing and validation of policy documents, per policy kind, collecting every problem.

use serde_json::{Map, Value};

use crate::action::{ActionPattern, ActionSpec};
use crate::arn::ArnPattern;
use crate::condition::{compile_value, CondValue, Condition, Operator};
use crate::document::{Effect, Policy, PolicyKind, Statement, Version};
use crate::error::{Location, PolicyError, Problem};
use crate::iam_grammar::{STMT_KEYS, TOP_KEYS};
use crate::principal::{parse_aws, PrincipalEntry, PrincipalSpec};
use crate::resource::{ResourceItem, ResourceSpec};
use crate::variables::Template;

/// Collects problems with their location.
struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    fn push(&mut self, stmt: Option<(usize, Option<&str>)>, element: Option<&str>, msg: String) {
        self.list.push(Problem {
            location: Location {
                statement: stmt.map(|s| s.0),
                sid: stmt.and_then(|s| s.1.map(str::to_string)),
                element: element.map(str::to_string),
            },
            message: msg,
        });
    }
}

/// Parses JSON text.
pub fn parse_str(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| PolicyError::single(format!("Syntax errors in policy: {e}")))?;
    parse_value(&v, kind)
}

/// Parses a decoded JSON value.
pub fn parse_value(v: &Value, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let mut p = Problems { list: Vec::new() };
    let Some(obj) = v.as_object() else {
        return Err(PolicyError::single(
            "Syntax errors in policy: the policy must be a JSON object.",
        ));
    };
    for k in obj.keys() {
        if !TOP_KEYS.contains(&k.as_str()) {
            p.push(
                None,
                Some(k),
                format!("Policy document should not specify the field \"{k}\"."),
            );
        }
    }
    let (version, version_given) = match obj.get("Version") {
        None => (Version::V2008, false),
        Some(Value::String(s)) if s == "2012-10-17" => (Version::V2012, true),
        Some(Value::String(s)) if s == "2008-10-17" => (Version::V2008, true),
        Some(other) => {
            p.push(None, Some("Version"), format!("The policy failed legacy parsing: Version {other} is not supported; use \"2012-10-17\" or \"2008-10-17\"."));
            (Version::V2012, true)
        }
    };
    if kind == PolicyKind::Rcp && version != Version::V2012 {
        p.push(
            None,
            Some("Version"),
            "Resource control policies must use Version \"2012-10-17\".".into(),
        );
    }
    let id = match obj.get("Id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            p.push(None, Some("Id"), "Id must be a string.".into());
            None
        }
    };
    let (stmts_raw, single): (Vec<&Value>, bool) = match obj.get("Statement") {
        None => {
            p.push(
                None,
                Some("Statement"),
                "Missing required field Statement.".into(),
            );
            (Vec::new(), false)
        }
        Some(Value::Array(a)) => (a.iter().collect(), false),
        Some(o @ Value::Object(_)) => (vec![o], true),
        Some(_) => {
            p.push(
                None,
                Some("Statement"),
                "Statement must be an object or an array of objects.".into(),
            );
            (Vec::new(), false)
        }
    };
    let vars = version == Version::V2012;
    let mut statements = Vec::with_capacity(stmts_raw.len());
    let mut sids: Vec<String> = Vec::new();
    for (i, sv) in stmts_raw.iter().enumerate() {
        let Some(so) = sv.as_object() else {
            p.push(
                Some((i, None)),
                None,
                "Statement must be a JSON object.".into(),
            );
            continue;
        };
        if let Some(s) = parse_statement(i, so, kind, vars, &mut p) {
            if let Some(sid) = &s.sid {
                if !sid.is_empty() {
                    if sids.contains(sid) {
                        p.push(
                            Some((i, Some(sid))),
                            Some("Sid"),
                            "Statement IDs (SID) in a single policy must be unique.".into(),
                        );
                    }
                    sids.push(sid.clone());
                }
            }
            statements.push(s);
        }
    }
    if !p.list.is_empty() {
        return Err(PolicyError { problems: p.list });
    }
    Ok(Policy {
        name: id.clone().unwrap_or_else(|| "policy".to_string()),
        kind,
        version,
        version_given,
        id,
        statements,
        single_statement: single,
    })
}

/// Reads a string-or-array-of-strings element.
fn strings(v: &Value) -> Option<(Vec<String>, bool)> {
    match v {
        Value::String(s) => Some((vec![s.clone()], true)),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(|v| (v, false)),
        _ => None,
    }
}

fn parse_statement(
    i: usize,
    so: &Map<String, Value>,
    kind: PolicyKind,
    vars: bool,
    p: &mut Problems,
) -> Option<Statement> {
    let sid = match so.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            p.push(Some((i, None)), Some("Sid"), "Sid must be a string.".into());
            None
        }
    };
    let at = Some((i, sid.as_deref()));
    let before = p.list.len();
    for k in so.keys() {
        if !STMT_KEYS.contains(&k.as_str()) {
            p.push(
                at,
                Some(k),
                format!("Statement has an unknown field \"{k}\"."),
            );
        }
    }
    if let Some(s) = &sid {
        let strict = matches!(
            kind,
            PolicyKind::Identity
                | PolicyKind::Boundary
                | PolicyKind::Session
                | PolicyKind::Trust
                | PolicyKind::Scp
        );
        if strict && !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            p.push(
                at,
                Some("Sid"),
                format!("Statement IDs (SID) must be alpha-numeric: \"{s}\"."),
            );
        }
    }
    let effect = match so.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Some(Effect::Allow),
        Some(Value::String(e)) if e == "Deny" => Some(Effect::Deny),
        Some(other) => {
            p.push(
                at,
                Some("Effect"),
                format!("Invalid effect: {other}; use \"Allow\" or \"Deny\"."),
            );
            None
        }
        None => {
            p.push(at, Some("Effect"), "Missing required field Effect.".into());
            None
        }
    };

    // Action / NotAction
    let action = match (so.get("Action"), so.get("NotAction")) {
        (Some(_), Some(_)) => {
            p.push(
                at,
                Some("Action"),
                "Statement cannot contain both Action and NotAction.".into(),
            );
            None
        }
        (None, None) => {
            p.push(
                at,
                Some("Action"),
                "Policy statement must contain actions.".into(),
            );
            None
        }
        (a, n) => {
            let (el, v, negated) = match (a, n) {
                (Some(v), _) => ("Action", v, false),
                (_, Some(v)) => ("NotAction", v, true),
                _ => return None,
            };
            parse_actions(el, v, negated, at, p)
        }
    };

    // Resource / NotResource
    let resource = match (so.get("Resource"), so.get("NotResource")) {
        (Some(_), Some(_)) => {
            p.push(
                at,
                Some("Resource"),
                "Statement cannot contain both Resource and NotResource.".into(),
            );
            None
        }
        (None, None) => {
            if !matches!(kind, PolicyKind::Trust | PolicyKind::Scp) {
                p.push(
                    at,
                    Some("Resource"),
                    "Policy statement must contain resources.".into(),
                );
            }
            None
        }
        (r, n) => {
            let (el, v, negated) = match (r, n) {
                (Some(v), _) => ("Resource", v, false),
                (_, Some(v)) => ("NotResource", v, true),
                _ => return None,
            };
            if kind == PolicyKind::Trust {
                p.push(
                    at,
                    Some(el),
                    format!(
                        "Has prohibited field {el}: a role trust policy does not name resources."
                    ),
                );
            }
            parse_resources(el, v, negated, vars, at, p)
        }
    };

    // Principal / NotPrincipal
    let principal = match (so.get("Principal"), so.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            p.push(
                at,
                Some("Principal"),
                "Statement cannot contain both Principal and NotPrincipal.".into(),
            );
            None
        }
        (None, None) => {
            if kind.has_principal() {
                p.push(
                    at,
                    Some("Principal"),
                    "Missing required field Principal.".into(),
                );
            }
            None
        }
        (pr, np) => {
            let (el, v, negated) = match (pr, np) {
                (Some(v), _) => ("Principal", v, false),
                (_, Some(v)) => ("NotPrincipal", v, true),
                _ => return None,
            };
            if !kind.has_principal() {
                p.push(
                    at,
                    Some(el),
                    format!(
                        "Has prohibited field {el}: {} policies do not name principals.",
                        kind_name(kind)
                    ),
                );
                None
            } else {
                parse_principal(el, v, negated, at, p)
            }
        }
    };

    let (conditions, condition_raw) = match so.get("Condition") {
        None => (Vec::new(), None),
        Some(v) => (parse_conditions(v, vars, at, p), Some(v.clone())),
    };

    // Kind-specific rules.
    if let Some(pr) = &principal {
        if pr.negated && effect == Some(Effect::Allow) {
            p.push(
                at,
                Some("NotPrincipal"),
                "NotPrincipal must be used with \"Effect\": \"Deny\".".into(),
            );
        }
        if pr.negated && kind == PolicyKind::Trust {
            p.push(
                at,
                Some("NotPrincipal"),
                "NotPrincipal is not supported in a role trust policy.".into(),
            );
        }
        if kind == PolicyKind::Rcp && (pr.negated || !pr.is_wildcard()) {
            p.push(
                at,
                Some(if pr.negated {
                    "NotPrincipal"
                } else {
                    "Principal"
                }),
                "Resource control policies support only \"Principal\": \"*\".".into(),
            );
        }
    }
    if kind == PolicyKind::Rcp {
        if let Some(a) = &action {
            if a.negated {
                p.push(
                    at,
                    Some("NotAction"),
                    "Resource control policies do not support NotAction.".into(),
                );
            }
        }
        if effect == Some(Effect::Allow) {
            let full = action
                .as_ref()
                .is_some_and(|a| !a.negated && a.raw == ["*"])
                && resource
                    .as_ref()
                    .is_some_and(|r| !r.negated && r.raw == ["*"])
                && conditions.is_empty();
            if !full {
                p.push(at, Some("Effect"), "Resource control policies support \"Allow\" only as in RCPFullAWSAccess (Principal, Action and Resource \"*\", no Condition); use \"Deny\".".into());
            }
        }
    }
    if p.list.len() > before {
        return None;
    }
    Some(Statement {
        sid,
        effect: effect?,
        action: action?,
        resource,
        principal,
        conditions,
        condition_raw,
    })
}

fn kind_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Identity => "identity-based",
        PolicyKind::Resource => "resource-based",
        PolicyKind::Trust => "role trust",
        PolicyKind::Scp => "service control",
        PolicyKind::Rcp => "resource control",
        PolicyKind::Session => "session",
        PolicyKind::Boundary => "permissions boundary",
    }
}

/// A string-or-array element that must name at least one `what` (actions, resources).
fn listed(
    el: &str,
    v: &Value,
    what: &str,
    at: Option<(usize, Option<&str>)>,
    p: &mut Problems,
) -> Option<(Vec<String>, bool)> {
    let without_nulls = match v {
        Value::Array(a) => Value::Array(a.iter().filter(|x| !x.is_null()).cloned().collect()),
        other => other.clone(),
    };
    let Some((raw, single)) = strings(&without_nulls) else {
        p.push(
            at,
            Some(el),
            format!("{el} must be a string or an array of strings."),
        );
        return None;
    };
    if raw.is_empty() {
        p.push(
            at,
            Some(el),
            format!("Policy statement must contain {what}."),
        );
        return None;
    }
    Some((raw, single))
}

fn parse_actions(
    el: &str,
    v: &Value,
    negated: bool,
    at: Option<(usize, Option<&str>)>,
    p: &mut Problems,
) -> Option<ActionSpec> {
    let (raw, single) = listed(el, v, "actions", at, p)?;
    let mut patterns = Vec::with_capacity(raw.len());
    let mut ok = true;
    for a in &raw {
        match ActionPattern::parse(a) {
            Ok(pat) => patterns.push(pat),
            Err(m) => {
                ok = false;
                p.push(at, Some(el), m);
            }
        }
    }
    ok.then_some(ActionSpec {
        negated,
        patterns,
        raw,
        single,
    })
}

fn parse_resources(
    el: &str,
    v: &Value,
    negated: bool,
    vars: bool,
    at: Option<(usize, Option<&str>)>,
    p: &mut Problems,
) -> Option<ResourceSpec> {
    let (raw, single) = listed(el, v, "resources", at, p)?;
    let mut items = Vec::with_capacity(raw.len());
    let mut ok = true;
    for r in &raw {
        let arn_like = r == "*" || (r.starts_with("arn:") && r.split(':').count() >= 3);
        if !arn_like {
            ok = false;
            p.push(
                at,
                Some(el),
                format!("Resource {r} must be in ARN format or \"*\"."),
            );
            continue;
        }
        match vars.then(|| Template::parse(r)).flatten() {
            Some(t) => items.push(ResourceItem::Template(t)),
            None => items.push(ResourceItem::Static(ArnPattern::new(r))),
        }
    }
    ok.then_some(ResourceSpec {
        negated,
        items,
        raw,
        single,
    })
}

fn parse_principal(
    el: &str,
    v: &Value,
    negated: bool,
    at: Option<(usize, Option<&str>)>,
    p: &mut Problems,
) -> Option<PrincipalSpec> {
    let mut entries = Vec::new();
    let mut ok = true;
    match v {
        Value::String(s) if s == "*" => entries.push(PrincipalEntry::Any),
        Value::Object(m) if !m.is_empty() => {
            for (k, val) in m {
                let Some((vals, _)) = strings(val) else {
                    ok = false;
                    p.push(
                        at,
                        Some(el),
                        format!("{el} \"{k}\" must be a string or an array of strings."),
                    );
                    continue;
                };
                if vals.is_empty() {
                    ok = false;
                    p.push(at, Some(el), format!("{el} \"{k}\" must not be empty."));
                }
                for s in vals {
                    let entry = match k.as_str() {
                        "AWS" => parse_aws(&s),
                        "Service" => {
                            if s.is_empty() || s.contains('*') && s != "*" {
                                Err(format!("Invalid principal in policy: \"Service\":\"{s}\""))
                            } else if s == "*" {
                                Ok(PrincipalEntry::Any)
                            } else {
                                Ok(PrincipalEntry::Service(s.to_ascii_lowercase()))
                            }
                        }
                        "Federated" => {
                            if s.is_empty() || s.contains('*') {
                                Err(format!("Invalid principal in policy: \"Federated\":\"{s}\""))
                            } else {
                                Ok(PrincipalEntry::Federated(s))
                            }
                        }
                        "CanonicalUser" => {
                            if s.is_empty() {
                                Err("Invalid principal in policy: empty CanonicalUser".to_string())
                            } else {
                                Ok(PrincipalEntry::CanonicalUser(s))
                            }
                        }
                        other => Err(format!("Invalid principal type \"{other}\"; use AWS, Service, Federated or CanonicalUser.")),
                    };
                    match entry {
                        Ok(e) => entries.push(e),
                        Err(m) => {
                            ok = false;
                            p.push(at, Some(el), m);
                        }
                    }
                }
            }
        }
        _ => {
            ok = false;
            p.push(
                at,
                Some(el),
                format!("{el} must be \"*\" or an object such as {{\"AWS\": ...}}."),
            );
        }
    }
    ok.then(|| PrincipalSpec {
        negated,
        entries,
        raw: v.clone(),
    })
}

fn parse_conditions(
    v: &Value,
    vars: bool,
    at: Option<(usize, Option<&str>)>,
    p: &mut Problems,
) -> Vec<Condition> {
    let mut out = Vec::new();
    let Some(ops) = v.as_object() else {
        p.push(
            at,
            Some("Condition"),
            "Condition must be an object of operators.".into(),
        );
        return out;
    };
    for (opname, keys) in ops {
        if keys.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        let Some(op) = Operator::parse(opname) else {
            p.push(
                at,
                Some("Condition"),
                format!("Invalid Condition type : {opname}."),
            );
            continue;
        };
        let Some(keys) = keys.as_object() else {
            p.push(
                at,
                Some("Condition"),
                format!("Condition operator {opname} must map keys to values."),
            );
            continue;
        };
        for (key, vals) in keys {
            let texts: Option<Vec<String>> = match vals {
                Value::Array(a) => a.iter().map(scalar_text).collect(),
                other => scalar_text(other).map(|t| vec![t]),
            };
            let Some(texts) = texts else {
                p.push(
                    at,
                    Some("Condition"),
                    format!("{opname} {key}: values must be strings, numbers or booleans."),
                );
                continue;
            };
            let mut values = Vec::with_capacity(texts.len());
            for t in &texts {
                if let Some(tpl) = vars.then(|| Template::parse(t)).flatten() {
                    values.push(CondValue::Template(tpl));
                    continue;
                }
                match compile_value(op.base, t) {
                    Ok(cv) => values.push(cv),
                    Err(m) => p.push(at, Some("Condition"), format!("{opname} {key}: {m}.")),
                }
            }
            out.push(Condition {
                op: op.clone(),
                key: key.clone(),
                key_lc: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    out
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem_with_location() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"A","Effect":"allow","Action":"s3Get","Resource":"bucket"},
            {"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*"}]}"#;
        let e = Policy::parse(doc, PolicyKind::Identity).unwrap_err();
        assert_eq!(e.problems.len(), 4, "{e}");
        let text = e.to_string();
        assert!(text.contains("Statement 0 (Sid \"A\"), Effect"), "{text}");
        assert!(text.contains("Statement 1, Principal"), "{text}");
    }

    #[test]
    fn kinds() {
        let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert!(Policy::parse(trust, PolicyKind::Trust).is_ok());
        assert!(Policy::parse(trust, PolicyKind::Identity).is_err());
        let scp = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        assert!(Policy::parse(scp, PolicyKind::Scp).is_ok());
        let rcp_allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#;
        assert!(Policy::parse(rcp_allow, PolicyKind::Rcp).is_err());
        let rcp_full = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#;
        assert!(Policy::parse(rcp_full, PolicyKind::Rcp).is_ok());
        let np_allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}}"#;
        assert!(Policy::parse(np_allow, PolicyKind::Resource).is_err());
        let dup = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert!(Policy::parse(dup, PolicyKind::Identity).is_err());
        let bad_cond = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"},"Foo":{"a:b":"c"}}}}"#;
        assert_eq!(
            Policy::parse(bad_cond, PolicyKind::Identity)
                .unwrap_err()
                .problems
                .len(),
            2
        );
    }
}
