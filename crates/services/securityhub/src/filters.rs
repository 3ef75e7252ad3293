//! `AwsSecurityFindingFilters` evaluated over stored findings, and `SortCriteria`.
//!
//! Each filter attribute names a place in the finding (`SeverityLabel` is `Severity.Label`,
//! `ResourceType` is every `Resources[].Type`, ...). Within one attribute, positive string
//! and map comparisons (`EQUALS`, `PREFIX`, `CONTAINS`) are joined by OR, negative ones
//! (`NOT_EQUALS`, `PREFIX_NOT_EQUALS`, `NOT_CONTAINS`) by AND, and the two groups by AND;
//! attributes are joined by AND. A value in a list matches when any element does; a
//! negative comparison holds when no element matches. Number filters (`Gte`, `Gt`, `Lte`,
//! `Lt`, `Eq`), date filters (`Start`/`End`, or `DateRange` in days before now) and boolean
//! filters hold when some value satisfies every bound.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::asff::parse_time;
pub use crate::attributes::{place, STRING_ATTRIBUTES};

/// The texts of a finding at a string attribute, each once (a list member's every element).
pub fn texts_at(finding: &Value, attribute: &str) -> Vec<String> {
    let mut out: Vec<String> = values_at(finding, &place(attribute))
        .into_iter()
        .filter_map(as_text)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every value at a dotted place, through lists.
pub fn values_at<'a>(finding: &'a Value, place: &str) -> Vec<&'a Value> {
    let mut current = vec![finding];
    for step in place.split('.') {
        let mut next = Vec::new();
        for v in current {
            match v.get(step) {
                Some(Value::Array(items)) => next.extend(items.iter()),
                Some(Value::Null) | None => {}
                Some(found) => next.push(found),
            }
        }
        current = next;
    }
    current
}

/// A filter that cannot be evaluated: the reason, for `InvalidInputException`.
pub type FilterError = String;

fn string_holds(comparison: &str, actual: &str, wanted: &str) -> bool {
    match comparison {
        "EQUALS" | "NOT_EQUALS" => actual == wanted,
        "PREFIX" | "PREFIX_NOT_EQUALS" => actual.starts_with(wanted),
        "CONTAINS" | "NOT_CONTAINS" => actual.contains(wanted),
        _ => false,
    }
}

fn negative(comparison: &str) -> bool {
    matches!(
        comparison,
        "NOT_EQUALS" | "PREFIX_NOT_EQUALS" | "NOT_CONTAINS"
    )
}

/// The text of a value compared by string filters (numbers and booleans as written).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One string or map comparison over the values found: whether it holds.
fn comparison_holds(filter: &Value, values: &[&Value]) -> Result<bool, FilterError> {
    let comparison = filter
        .get("Comparison")
        .and_then(Value::as_str)
        .ok_or("a filter needs a Comparison")?;
    let wanted = filter.get("Value").and_then(Value::as_str).unwrap_or("");
    let texts: Vec<String> = match filter.get("Key").and_then(Value::as_str) {
        Some(key) => values
            .iter()
            .filter_map(|m| m.get(key).and_then(as_text))
            .collect(),
        None => values.iter().filter_map(|v| as_text(v)).collect(),
    };
    let any = texts.iter().any(|t| string_holds(comparison, t, wanted));
    Ok(if negative(comparison) { !any } else { any })
}

fn number_holds(filter: &Value, values: &[&Value]) -> bool {
    let bound = |k: &str| filter.get(k).and_then(Value::as_f64);
    values.iter().filter_map(|v| v.as_f64()).any(|n| {
        bound("Eq").is_none_or(|b| n == b)
            && bound("Gte").is_none_or(|b| n >= b)
            && bound("Gt").is_none_or(|b| n > b)
            && bound("Lte").is_none_or(|b| n <= b)
            && bound("Lt").is_none_or(|b| n < b)
    })
}

fn date_holds(filter: &Value, values: &[&Value], now: DateTime<Utc>) -> Result<bool, FilterError> {
    let at = |k: &str| -> Result<Option<DateTime<Utc>>, FilterError> {
        match filter.get(k).and_then(Value::as_str) {
            Some(s) => parse_time(s)
                .map(Some)
                .ok_or_else(|| format!("{k} is not a date-time: {s}")),
            None => Ok(None),
        }
    };
    let mut start = at("Start")?;
    let end = at("End")?;
    if let Some(range) = filter.get("DateRange") {
        let days = range.get("Value").and_then(Value::as_i64).unwrap_or(0);
        start = Some(now - Duration::days(days));
    }
    Ok(values
        .iter()
        .filter_map(|v| v.as_str().and_then(parse_time))
        .any(|t| start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e)))
}

/// Whether one attribute's filters hold for a finding.
fn attribute_holds(
    place: &str,
    filters: &[Value],
    finding: &Value,
    now: DateTime<Utc>,
) -> Result<bool, FilterError> {
    let values = values_at(finding, place);
    let mut positives: Option<bool> = None;
    for f in filters {
        if let Some(c) = f.get("Comparison").and_then(Value::as_str) {
            let holds = comparison_holds(f, &values)?;
            if negative(c) {
                if !holds {
                    return Ok(false);
                }
            } else {
                positives = Some(positives.unwrap_or(false) || holds);
            }
        } else if f.get("Start").is_some() || f.get("End").is_some() || f.get("DateRange").is_some()
        {
            if !date_holds(f, &values, now)? {
                return Ok(false);
            }
        } else if ["Eq", "Gte", "Gt", "Lte", "Lt"]
            .iter()
            .any(|k| f.get(*k).is_some())
        {
            if !number_holds(f, &values) {
                return Ok(false);
            }
        } else if let Some(b) = f.get("Value").and_then(Value::as_bool) {
            if !values.iter().any(|v| v.as_bool() == Some(b)) {
                return Ok(false);
            }
        } else {
            return Err(format!("The filter on {place} has no comparison."));
        }
    }
    Ok(positives.unwrap_or(true))
}

/// Refuses what AWS refuses: an `EQUALS` and a `NOT_EQUALS` or `PREFIX_NOT_EQUALS` filter
/// on the same attribute.
pub fn check(filters: &Map<String, Value>) -> Result<(), FilterError> {
    for (name, list) in filters {
        let comparisons: Vec<&str> = list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("Comparison").and_then(Value::as_str))
            .collect();
        if comparisons.contains(&"EQUALS")
            && (comparisons.contains(&"NOT_EQUALS") || comparisons.contains(&"PREFIX_NOT_EQUALS"))
        {
            return Err(format!(
                "Filters on {name} combine EQUALS with NOT_EQUALS or PREFIX_NOT_EQUALS, which is not supported."
            ));
        }
    }
    Ok(())
}

/// Whether a finding satisfies every filter.
pub fn matches(
    filters: &Map<String, Value>,
    finding: &Value,
    now: DateTime<Utc>,
) -> Result<bool, FilterError> {
    for (name, list) in filters {
        let list = list.as_array().map(Vec::as_slice).unwrap_or(&[]);
        if list.is_empty() {
            continue;
        }
        if !attribute_holds(&place(name), list, finding, now)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn sort_value(finding: &Value, field: &str) -> Option<Value> {
    let field = if field == "SeverityLabel" {
        "SeverityNormalized"
    } else {
        field
    };
    values_at(finding, &place(field))
        .first()
        .map(|v| (*v).clone())
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => as_text(x).cmp(&as_text(y)),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

/// Sorts findings by `SortCriteria` (`Field`, `SortOrder` `asc`/`desc`), then by
/// `UpdatedAt` newest first and `Id`, so pages are stable.
pub fn sort(findings: &mut [Value], criteria: &[(String, bool)]) {
    findings.sort_by(|a, b| {
        for (field, descending) in criteria {
            let o = compare_values(sort_value(a, field).as_ref(), sort_value(b, field).as_ref());
            let o = if *descending { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        compare_values(b.get("UpdatedAt"), a.get("UpdatedAt"))
            .then_with(|| compare_values(a.get("Id"), b.get("Id")))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding() -> Value {
        json!({
            "Id": "f-1",
            "Title": "S3 bucket is public",
            "ProductName": "Scanner",
            "Types": ["Effects/Data Exposure", "TTPs/Initial Access"],
            "Severity": {"Label": "HIGH", "Normalized": 70},
            "Confidence": 80,
            "CreatedAt": "2026-12-01T10:00:00Z",
            "UpdatedAt": "2026-12-05T10:00:00Z",
            "Resources": [
                {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b1", "Tags": {"env": "prod"}},
                {"Type": "AwsIamRole", "Id": "arn:aws:iam::1:role/r"}
            ],
            "ProductFields": {"scanner/rule": "public-bucket"},
            "Sample": false,
            "Workflow": {"Status": "NEW"}
        })
    }

    fn now() -> DateTime<Utc> {
        parse_time("2026-12-07T00:00:00Z").unwrap()
    }

    fn hit(filters: Value) -> bool {
        matches(filters.as_object().unwrap(), &finding(), now()).unwrap()
    }

    fn s(comparison: &str, value: &str) -> Value {
        json!([{"Comparison": comparison, "Value": value}])
    }

    #[test]
    fn string_comparisons() {
        assert!(hit(json!({"Title": s("EQUALS", "S3 bucket is public")})));
        assert!(!hit(json!({"Title": s("EQUALS", "S3 bucket")})));
        assert!(hit(json!({"Title": s("PREFIX", "S3 bucket")})));
        assert!(!hit(json!({"Title": s("PREFIX", "bucket")})));
        assert!(hit(json!({"Title": s("NOT_EQUALS", "other")})));
        assert!(!hit(
            json!({"Title": s("NOT_EQUALS", "S3 bucket is public")})
        ));
        assert!(hit(json!({"Title": s("PREFIX_NOT_EQUALS", "IAM")})));
        assert!(!hit(json!({"Title": s("PREFIX_NOT_EQUALS", "S3")})));
        assert!(hit(json!({"Title": s("CONTAINS", "is pub")})));
        assert!(!hit(json!({"Title": s("CONTAINS", "private")})));
        assert!(hit(json!({"Title": s("NOT_CONTAINS", "private")})));
        assert!(!hit(json!({"Title": s("NOT_CONTAINS", "public")})));
    }

    #[test]
    fn renamed_attributes_and_lists() {
        assert!(hit(json!({"SeverityLabel": s("EQUALS", "HIGH")})));
        assert!(hit(json!({"ResourceType": s("EQUALS", "AwsIamRole")})));
        assert!(!hit(json!({"ResourceType": s("NOT_EQUALS", "AwsIamRole")})));
        assert!(hit(json!({"Type": s("PREFIX", "TTPs/")})));
        assert!(hit(json!({"WorkflowStatus": s("EQUALS", "NEW")})));
        assert!(!hit(json!({"ComplianceStatus": s("EQUALS", "FAILED")})));
        assert!(hit(json!({"ComplianceStatus": s("NOT_EQUALS", "FAILED")})));
    }

    #[test]
    fn positives_or_negatives_and() {
        let either = json!({"SeverityLabel": [
            {"Comparison": "EQUALS", "Value": "LOW"},
            {"Comparison": "EQUALS", "Value": "HIGH"}
        ]});
        assert!(hit(either));
        let neither = json!({"SeverityLabel": [
            {"Comparison": "NOT_EQUALS", "Value": "LOW"},
            {"Comparison": "NOT_EQUALS", "Value": "HIGH"}
        ]});
        assert!(!hit(neither));
        let two_attributes =
            json!({"SeverityLabel": s("EQUALS", "HIGH"), "Title": s("PREFIX", "IAM")});
        assert!(!hit(two_attributes));
        let mixed = json!({"Title": [{"Comparison": "EQUALS", "Value": "x"}, {"Comparison": "NOT_EQUALS", "Value": "y"}]});
        assert!(check(mixed.as_object().unwrap()).is_err());
    }

    #[test]
    fn number_filters() {
        assert!(hit(json!({"Confidence": [{"Gte": 80}]})));
        assert!(!hit(json!({"Confidence": [{"Gt": 80}]})));
        assert!(hit(json!({"Confidence": [{"Lte": 80, "Gte": 50}]})));
        assert!(!hit(json!({"Confidence": [{"Lt": 80}]})));
        assert!(hit(json!({"Confidence": [{"Eq": 80}]})));
        assert!(hit(json!({"SeverityNormalized": [{"Gte": 70}]})));
        assert!(!hit(json!({"Criticality": [{"Gte": 0}]})));
    }

    #[test]
    fn date_filters() {
        assert!(hit(
            json!({"CreatedAt": [{"Start": "2026-11-30T00:00:00Z", "End": "2026-12-02T00:00:00Z"}]})
        ));
        assert!(!hit(
            json!({"CreatedAt": [{"Start": "2026-12-02T00:00:00Z"}]})
        ));
        assert!(hit(json!({"CreatedAt": [{"End": "2026-12-01T10:00:00Z"}]})));
        assert!(hit(
            json!({"UpdatedAt": [{"DateRange": {"Value": 3, "Unit": "DAYS"}}]})
        ));
        assert!(!hit(
            json!({"CreatedAt": [{"DateRange": {"Value": 3, "Unit": "DAYS"}}]})
        ));
        assert!(matches(
            json!({"CreatedAt": [{"Start": "soon"}]})
                .as_object()
                .unwrap(),
            &finding(),
            now()
        )
        .is_err());
    }

    #[test]
    fn map_and_boolean_filters() {
        let tag = |c: &str, v: &str| json!([{"Key": "env", "Value": v, "Comparison": c}]);
        assert!(hit(json!({"ResourceTags": tag("EQUALS", "prod")})));
        assert!(!hit(json!({"ResourceTags": tag("EQUALS", "dev")})));
        assert!(hit(json!({"ResourceTags": tag("NOT_EQUALS", "dev")})));
        assert!(hit(json!({"ResourceTags": tag("CONTAINS", "ro")})));
        assert!(!hit(json!({"ResourceTags": tag("NOT_CONTAINS", "ro")})));
        assert!(hit(
            json!({"ProductFields": [{"Key": "scanner/rule", "Value": "public-bucket", "Comparison": "EQUALS"}]})
        ));
        assert!(hit(json!({"Sample": [{"Value": false}]})));
        assert!(!hit(json!({"Sample": [{"Value": true}]})));
    }

    #[test]
    fn sorting() {
        let mut fs = vec![
            json!({"Id": "a", "Severity": {"Label": "LOW", "Normalized": 1}, "UpdatedAt": "2026-12-01T00:00:00Z"}),
            json!({"Id": "b", "Severity": {"Label": "CRITICAL", "Normalized": 90}, "UpdatedAt": "2026-12-03T00:00:00Z"}),
            json!({"Id": "c", "Severity": {"Label": "MEDIUM", "Normalized": 40}, "UpdatedAt": "2026-12-02T00:00:00Z"}),
        ];
        sort(&mut fs, &[("SeverityLabel".into(), true)]);
        let ids: Vec<&str> = fs.iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        sort(&mut fs, &[]);
        let ids: Vec<&str> = fs.iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        sort(&mut fs, &[("Id".into(), false)]);
        let ids: Vec<&str> = fs.iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
