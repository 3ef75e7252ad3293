//! `FindingCriteria` and `SortCriteria` over findings in AWS's shape.
//!
//! A criterion names an attribute by its JSON path as GuardDuty documents it (`type`,
//! `severity`, `service.archived`, `resource.resourceType`, `updatedAt`,
//! `resource.accessKeyDetails.userName`,
//! `service.action.awsApiCallAction.remoteIpDetails.ipAddressV4`, ...). The path is followed
//! through the finding (member names compared without regard to the case of their first
//! letter); through a list it reaches every element, and a finding matches when any value
//! reached satisfies the condition. Under `service.additionalInfo`, a name other than
//! `value`/`type` is looked up in the JSON text of `value` (so `service.additionalInfo.sample`
//! selects sample findings). A finding matches the criteria when it satisfies every
//! condition of every criterion.
//!
//! Conditions: `Eq`/`Equals` (any of the values), `Neq`/`NotEquals` (none of them), and
//! `Gt`/`Gte`/`Lt`/`Lte` with their long forms `GreaterThan`, ... Values compare as numbers
//! when both sides are numbers, as booleans for `true`/`false`, and timestamps (`createdAt`,
//! `updatedAt`, `service.eventFirstSeen`, ...) compare as epoch milliseconds, as GuardDuty's
//! criteria give them. `Matches`/`NotMatches` take `*` and `?` wildcards.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::Value;

use crate::error::GuardDutyError;

/// The values a path reaches in `finding`.
pub fn values_at(finding: &Value, path: &str) -> Vec<Value> {
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let mut out = Vec::new();
    walk(finding, &parts, &mut out);
    out
}

/// Finds the member `name` of an object, its first letter in either case.
fn member<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn walk(v: &Value, parts: &[&str], out: &mut Vec<Value>) {
    if let Value::Array(items) = v {
        for item in items {
            walk(item, parts, out);
        }
        return;
    }
    let Some((first, rest)) = parts.split_first() else {
        if !v.is_null() {
            out.push(v.clone());
        }
        return;
    };
    match member(v, first) {
        Some(next) => walk(next, rest, out),
        None => {
            // `additionalInfo.<name>`: a member of the JSON text in `Value`.
            let inner = member(v, "Value")
                .and_then(Value::as_str)
                .and_then(|s| serde_json::from_str::<Value>(s).ok());
            if let Some(inner) = inner.filter(|i| i.is_object()) {
                walk(&inner, parts, out);
            }
        }
    }
}

/// A value as a number, when it is one: a JSON number, a numeric string, or a timestamp
/// (epoch milliseconds).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.timestamp_millis() as f64)
        }),
        _ => None,
    }
}

/// A value as the text a criterion compares.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `actual` equals a criterion's `wanted` text.
fn equals(actual: &Value, wanted: &str) -> bool {
    match actual {
        Value::Bool(b) => wanted.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(_) => match (number(actual), wanted.parse::<f64>().ok()) {
            (Some(a), Some(w)) => (a - w).abs() < f64::EPSILON,
            _ => false,
        },
        _ => text(actual) == wanted,
    }
}

/// `*`/`?` wildcard match, in time linear in the pattern times the text (the greedy match
/// with one backtrack point: a later `*` supersedes an earlier one).
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == b'?' || Some(c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

/// Strings of a condition's list member.
fn strings(cond: &Value, name: &str) -> Option<Vec<String>> {
    cond.get(name).and_then(Value::as_array).map(|a| {
        a.iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    })
}

/// A numeric bound's test: (value, bound) -> holds.
type Bound = fn(f64, f64) -> bool;

/// Whether the values a path reached satisfy one `Condition`.
fn satisfies(values: &[Value], cond: &Value) -> bool {
    let mut ok = true;
    for name in ["Eq", "Equals"] {
        if let Some(wanted) = strings(cond, name) {
            ok &= values.iter().any(|v| wanted.iter().any(|w| equals(v, w)));
        }
    }
    for name in ["Neq", "NotEquals"] {
        if let Some(unwanted) = strings(cond, name) {
            ok &= !values.iter().any(|v| unwanted.iter().any(|w| equals(v, w)));
        }
    }
    if let Some(patterns) = strings(cond, "Matches") {
        ok &= values.iter().any(|v| {
            patterns
                .iter()
                .any(|p| wildcard(p.as_bytes(), text(v).as_bytes()))
        });
    }
    if let Some(patterns) = strings(cond, "NotMatches") {
        ok &= !values.iter().any(|v| {
            patterns
                .iter()
                .any(|p| wildcard(p.as_bytes(), text(v).as_bytes()))
        });
    }
    let bounds: [(&str, Bound); 8] = [
        ("Gt", |a, b| a > b),
        ("GreaterThan", |a, b| a > b),
        ("Gte", |a, b| a >= b),
        ("GreaterThanOrEqual", |a, b| a >= b),
        ("Lt", |a, b| a < b),
        ("LessThan", |a, b| a < b),
        ("Lte", |a, b| a <= b),
        ("LessThanOrEqual", |a, b| a <= b),
    ];
    for (name, test) in bounds {
        if let Some(bound) = cond.get(name).and_then(Value::as_f64) {
            ok &= values.iter().filter_map(number).any(|a| test(a, bound));
        }
    }
    ok
}

/// A checked `FindingCriteria`: (attribute path, condition) pairs.
#[derive(Debug, Clone, Default)]
pub struct Criteria(Vec<(String, Value)>);

impl Criteria {
    /// Reads the `FindingCriteria` member of an input (none: every finding matches).
    pub fn of(input: &Value) -> Result<Criteria, GuardDutyError> {
        let mut out = Vec::new();
        let criterion = input
            .pointer("/FindingCriteria/Criterion")
            .and_then(Value::as_object);
        for (path, cond) in criterion.into_iter().flatten() {
            if path.is_empty() || !cond.is_object() {
                return Err(GuardDutyError::invalid_input());
            }
            out.push((path.clone(), cond.clone()));
        }
        Ok(Criteria(out))
    }

    /// Whether `finding` satisfies every criterion.
    pub fn matches(&self, finding: &Value) -> bool {
        self.0
            .iter()
            .all(|(path, cond)| satisfies(&values_at(finding, path), cond))
    }
}

/// Orders two values of a sort attribute: numbers (and timestamps) numerically, else as text;
/// a missing value first.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => text(a).cmp(&text(b)),
        },
    }
}

/// Sorts findings by the input's `SortCriteria` (by id when there is none; ties by id).
pub fn sort(findings: &mut [Value], input: &Value) -> Result<(), GuardDutyError> {
    let sort = input.get("SortCriteria");
    let attr = sort
        .and_then(|s| s.get("AttributeName"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let descending = match sort.and_then(|s| s.get("OrderBy")).and_then(Value::as_str) {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(_) => return Err(GuardDutyError::invalid_input()),
    };
    let id = |f: &Value| {
        f.get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    findings.sort_by(|a, b| {
        let by = match &attr {
            Some(path) => {
                let (va, vb) = (values_at(a, path), values_at(b, path));
                compare(va.first(), vb.first())
            }
            None => Ordering::Equal,
        };
        let by = if descending { by.reverse() } else { by };
        by.then_with(|| id(a).cmp(&id(b)))
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(id: &str, kind: &str, severity: f64, archived: bool, updated: &str) -> Value {
        json!({
            "Id": id, "Type": kind, "Severity": severity, "AccountId": "123456789012",
            "UpdatedAt": updated,
            "Resource": { "ResourceType": "AccessKey",
                          "AccessKeyDetails": { "UserName": "alice" },
                          "S3BucketDetails": [{ "Name": "a" }, { "Name": "b" }] },
            "Service": { "Archived": archived, "Count": 3,
                         "AdditionalInfo": { "Value": "{\"sample\":true}", "Type": "default" } },
        })
    }

    fn criteria(c: Value) -> Criteria {
        Criteria::of(&json!({ "FindingCriteria": { "Criterion": c } })).unwrap()
    }

    #[test]
    fn conditions_compare_as_guardduty_does() {
        let f = finding(
            "a1",
            "PenTest:IAMUser/KaliLinux",
            5.0,
            false,
            "2026-12-06T10:00:00.000Z",
        );
        assert!(criteria(json!({ "type": { "Eq": ["PenTest:IAMUser/KaliLinux"] } })).matches(&f));
        assert!(!criteria(json!({ "type": { "Neq": ["PenTest:IAMUser/KaliLinux"] } })).matches(&f));
        assert!(criteria(json!({ "severity": { "Gte": 4 } })).matches(&f));
        assert!(!criteria(json!({ "severity": { "Gt": 5 } })).matches(&f));
        assert!(criteria(json!({ "severity": { "Eq": ["5"] } })).matches(&f));
        assert!(criteria(json!({ "service.archived": { "Eq": ["false"] } })).matches(&f));
        assert!(!criteria(json!({ "service.archived": { "Eq": ["true"] } })).matches(&f));
        assert!(criteria(json!({ "resource.resourceType": { "Eq": ["AccessKey"] } })).matches(&f));
        assert!(
            criteria(json!({ "resource.accessKeyDetails.userName": { "Equals": ["alice"] } }))
                .matches(&f)
        );
        assert!(criteria(json!({ "resource.s3BucketDetails.name": { "Eq": ["b"] } })).matches(&f));
        assert!(
            criteria(json!({ "service.additionalInfo.sample": { "Eq": ["true"] } })).matches(&f)
        );
        assert!(criteria(json!({ "type": { "Matches": ["PenTest:*"] } })).matches(&f));
        assert!(criteria(json!({ "type": { "Matches": ["*IAMUser?Kali*"] } })).matches(&f));
        assert!(!criteria(json!({ "type": { "Matches": ["*Parrot*"] } })).matches(&f));
        assert!(wildcard(&[b'*'; 40], &[]));
        let slow = format!("{}b", "*a".repeat(30));
        assert!(!wildcard(slow.as_bytes(), "a".repeat(200).as_bytes()));
        assert!(!criteria(json!({ "type": { "NotMatches": ["*Kali*"] } })).matches(&f));
        // updatedAt against epoch milliseconds.
        let t = DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert!(criteria(json!({ "updatedAt": { "Gte": t } })).matches(&f));
        assert!(!criteria(json!({ "updatedAt": { "GreaterThan": t } })).matches(&f));
        // Every criterion must hold.
        assert!(!criteria(json!({
            "type": { "Eq": ["PenTest:IAMUser/KaliLinux"] },
            "accountId": { "Eq": ["999999999999"] },
        }))
        .matches(&f));
        // A path that reaches nothing satisfies no Eq.
        assert!(
            !criteria(json!({ "resource.instanceDetails.instanceId": { "Eq": ["i-1"] } }))
                .matches(&f)
        );
        assert!(
            Criteria::of(&json!({ "FindingCriteria": { "Criterion": { "type": 3 } } })).is_err()
        );
    }

    #[test]
    fn sorting_follows_the_attribute_and_order() {
        let mut v = vec![
            finding("b", "T", 2.0, false, "2026-12-06T10:00:00.000Z"),
            finding("a", "T", 8.0, false, "2026-12-06T09:00:00.000Z"),
            finding("c", "T", 5.0, false, "2026-12-06T11:00:00.000Z"),
        ];
        sort(
            &mut v,
            &json!({ "SortCriteria": { "AttributeName": "severity", "OrderBy": "DESC" } }),
        )
        .unwrap();
        let ids: Vec<&str> = v.iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
        sort(
            &mut v,
            &json!({ "SortCriteria": { "AttributeName": "updatedAt" } }),
        )
        .unwrap();
        let ids: Vec<&str> = v.iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        sort(&mut v, &json!({})).unwrap();
        let ids: Vec<&str> = v.iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(sort(&mut v, &json!({ "SortCriteria": { "OrderBy": "UP" } })).is_err());
    }
}
