//! The AWS Security Finding Format: checking an imported finding as Security Hub does
//! (required attributes, the schema version, the caller's account and product, finding types,
//! timestamps, severity, resources, size), and completing it as Security Hub does on import
//! (severity label and normalized score, region, product names, record and workflow state).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// The only ASFF version.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Largest finding accepted, in bytes of JSON.
const MAX_BYTES: usize = 240 * 1024;
/// The finding type namespaces ASFF defines.
const NAMESPACES: &[&str] = &[
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];
/// The attributes every finding must have.
const REQUIRED: &[&str] = &[
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
];
const LABELS: &[&str] = &["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// Why a finding was refused: `FailedFindings`' error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `ErrorCode`.
    pub code: &'static str,
    /// `ErrorMessage`.
    pub message: String,
}

fn invalid(why: impl std::fmt::Display) -> Refusal {
    Refusal {
        code: "InvalidInput",
        message: format!("Finding does not adhere to Amazon Finding Format. {why}"),
    }
}

/// Parses an ASFF timestamp (ISO 8601 with a zone: `2026-12-07T05:00:00Z`, fractions and
/// offsets allowed).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn text<'a>(f: &'a Value, key: &str) -> Option<&'a str> {
    f.get(key).and_then(Value::as_str)
}

fn check_lengths(f: &Value) -> Result<(), Refusal> {
    for (key, max) in [
        ("Id", 512),
        ("Title", 256),
        ("Description", 1024),
        ("GeneratorId", 512),
    ] {
        let len = text(f, key).map_or(0, |s| s.chars().count());
        if len == 0 {
            return Err(invalid(format!(
                "data.{key} should NOT be shorter than 1 characters"
            )));
        }
        if len > max {
            return Err(invalid(format!(
                "data.{key} should NOT be longer than {max} characters"
            )));
        }
    }
    Ok(())
}

fn check_types(f: &Value) -> Result<(), Refusal> {
    let types = f
        .get("Types")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if types.is_empty() {
        return Err(invalid("data.Types should NOT have fewer than 1 items"));
    }
    if types.len() > 50 {
        return Err(invalid("data.Types should NOT have more than 50 items"));
    }
    for t in types {
        let t = t.as_str().unwrap_or("");
        let parts: Vec<&str> = t.split('/').collect();
        let namespace = parts.first().copied().unwrap_or("");
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) || !NAMESPACES.contains(&namespace)
        {
            return Err(invalid(format!(
                "data.Types should match format namespace/category/classifier with a namespace of {}: {t:?}",
                NAMESPACES.join(", ")
            )));
        }
    }
    Ok(())
}

fn check_times(f: &Value) -> Result<(), Refusal> {
    for key in [
        "CreatedAt",
        "UpdatedAt",
        "FirstObservedAt",
        "LastObservedAt",
    ] {
        if let Some(v) = f.get(key) {
            if v.as_str().and_then(parse_time).is_none() {
                return Err(invalid(format!(
                    "data.{key} should match format \"date-time\""
                )));
            }
        }
    }
    Ok(())
}

fn check_severity(f: &Value) -> Result<(), Refusal> {
    let s = f.get("Severity").cloned().unwrap_or(Value::Null);
    let label = s.get("Label").and_then(Value::as_str);
    let normalized = s.get("Normalized").and_then(Value::as_i64);
    if let Some(l) = label {
        if !LABELS.contains(&l) {
            return Err(invalid(format!(
                "data.Severity.Label should be equal to one of the allowed values: {l:?}"
            )));
        }
    }
    if let Some(n) = normalized {
        if !(0..=100).contains(&n) {
            return Err(invalid(
                "data.Severity.Normalized should be between 0 and 100",
            ));
        }
    }
    if label.is_none() && normalized.is_none() {
        return Err(invalid(
            "data.Severity should have required property 'Label'",
        ));
    }
    Ok(())
}

fn check_resources(f: &Value) -> Result<(), Refusal> {
    let rs = f
        .get("Resources")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if rs.is_empty() {
        return Err(invalid("data.Resources should NOT have fewer than 1 items"));
    }
    if rs.len() > 32 {
        return Err(invalid("data.Resources should NOT have more than 32 items"));
    }
    for (i, r) in rs.iter().enumerate() {
        for key in ["Type", "Id"] {
            if text(r, key).is_none_or(str::is_empty) {
                return Err(invalid(format!(
                    "data.Resources[{i}] should have required property '{key}'"
                )));
            }
        }
    }
    Ok(())
}

/// Checks the account and product: the caller imports for its own account, under a product
/// of its own account in this region (AWS's own products are imported by AWS services only).
fn check_origin(f: &Value, account: &str, region: &str) -> Result<(), Refusal> {
    let finding_account = text(f, "AwsAccountId").unwrap_or("");
    if finding_account.len() != 12 || !finding_account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "data.AwsAccountId should match pattern \"^[0-9]{12}$\"",
        ));
    }
    if finding_account != account {
        return Err(Refusal {
            code: "AccessDeniedException",
            message: format!(
                "The account {account} is not authorized to import findings for account {finding_account}."
            ),
        });
    }
    let product = text(f, "ProductArn").unwrap_or("");
    let own = format!(
        "arn:{partition}:securityhub:{region}:{account}:product/",
        partition = rampart_kit::Partition::of_region(region)
    );
    if !product.starts_with(&own) || product.len() == own.len() {
        return Err(Refusal {
            code: "AccessDeniedException",
            message: format!(
                "The product {product} is not a product of account {account} in {region}; import findings under arn:aws:securityhub:{region}:{account}:product/{account}/default."
            ),
        });
    }
    Ok(())
}

/// Checks one imported finding as Security Hub does.
pub fn validate(f: &Value, account: &str, region: &str) -> Result<(), Refusal> {
    if !f.is_object() {
        return Err(invalid("data should be object"));
    }
    if let Some(missing) = REQUIRED
        .iter()
        .find(|k| f.get(**k).is_none_or(Value::is_null))
    {
        return Err(invalid(format!(
            "data should have required property '{missing}'"
        )));
    }
    if text(f, "SchemaVersion") != Some(SCHEMA_VERSION) {
        return Err(invalid(format!(
            "data.SchemaVersion should be equal to \"{SCHEMA_VERSION}\""
        )));
    }
    check_lengths(f)?;
    check_origin(f, account, region)?;
    check_types(f)?;
    check_times(f)?;
    check_severity(f)?;
    check_resources(f)?;
    if serde_json::to_vec(f).map_or(0, |b| b.len()) > MAX_BYTES {
        return Err(Refusal {
            code: "FindingSizeExceeded",
            message: "The finding is larger than 240 KB.".into(),
        });
    }
    Ok(())
}

/// The label of a normalized severity score.
pub fn label_of(normalized: i64) -> &'static str {
    match normalized {
        i64::MIN..=0 => "INFORMATIONAL",
        1..=39 => "LOW",
        40..=69 => "MEDIUM",
        70..=89 => "HIGH",
        _ => "CRITICAL",
    }
}

/// The normalized score of a severity label.
pub fn normalized_of(label: &str) -> i64 {
    match label {
        "LOW" => 1,
        "MEDIUM" => 40,
        "HIGH" => 70,
        "CRITICAL" => 90,
        _ => 0,
    }
}

/// Fills in `Label` from `Normalized` or the other way round.
pub fn complete_severity(sev: &mut Map<String, Value>) {
    let label = sev.get("Label").and_then(Value::as_str).map(str::to_string);
    let normalized = sev.get("Normalized").and_then(Value::as_i64);
    match (label, normalized) {
        (Some(l), None) => {
            sev.insert("Normalized".into(), json!(normalized_of(&l)));
        }
        (None, Some(n)) => {
            sev.insert("Label".into(), json!(label_of(n)));
        }
        _ => {}
    }
}

/// Completes a checked finding as Security Hub stores it. `previous` is the stored finding
/// with the same identity: the workflow attributes customers own (`Note`,
/// `UserDefinedFields`, `VerificationState`, `Workflow`) stay as they were.
pub fn complete(mut f: Value, previous: Option<&Value>, region: &str, now: DateTime<Utc>) -> Value {
    let now_text = crate::time_text(now);
    let Some(obj) = f.as_object_mut() else {
        return f;
    };
    if let Some(Value::Object(sev)) = obj.get_mut("Severity") {
        complete_severity(sev);
    }
    obj.insert("Region".into(), json!(region));
    let product = obj
        .get("ProductArn")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if product.ends_with("/default") {
        obj.entry("CompanyName").or_insert(json!("Personal"));
        obj.entry("ProductName").or_insert(json!("Default"));
    }
    obj.entry("RecordState").or_insert(json!("ACTIVE"));
    obj.insert("ProcessedAt".into(), json!(now_text));
    let kept = [
        "Note",
        "UserDefinedFields",
        "VerificationState",
        "Workflow",
        "WorkflowState",
    ];
    match previous {
        Some(prev) => {
            for key in kept {
                match prev.get(key) {
                    Some(v) => obj.insert(key.into(), v.clone()),
                    None => obj.remove(key),
                };
            }
        }
        None => {
            obj.entry("Workflow").or_insert(json!({"Status": "NEW"}));
            obj.entry("WorkflowState").or_insert(json!("NEW"));
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";

    fn good() -> Value {
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": "scanner/finding/1",
            "ProductArn": format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"),
            "GeneratorId": "scanner-rule-7",
            "AwsAccountId": ACCOUNT,
            "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
            "CreatedAt": "2026-12-01T10:00:00Z",
            "UpdatedAt": "2026-12-01T10:00:00.123Z",
            "Severity": {"Label": "HIGH"},
            "Title": "Outdated library",
            "Description": "A library with a known CVE",
            "Resources": [{"Type": "Other", "Id": "host-1"}]
        })
    }

    fn refused(f: &Value) -> String {
        validate(f, ACCOUNT, REGION)
            .err()
            .map(|r| r.message)
            .unwrap_or_default()
    }

    #[test]
    fn a_well_formed_finding_passes() {
        assert_eq!(validate(&good(), ACCOUNT, REGION), Ok(()));
    }

    #[test]
    fn every_required_attribute_is_required() {
        for key in REQUIRED {
            let mut f = good();
            f.as_object_mut().unwrap().remove(*key);
            assert!(
                refused(&f).contains(&format!("required property '{key}'")),
                "{key}"
            );
        }
    }

    #[test]
    fn schema_version_types_times_severity_and_resources_are_checked() {
        let cases: Vec<(&str, Value)> = vec![
            ("SchemaVersion", json!("2020-01-01")),
            ("Types", json!([])),
            ("Types", json!(["Made Up/Thing"])),
            ("Types", json!(["TTPs//x"])),
            ("CreatedAt", json!("yesterday")),
            ("UpdatedAt", json!("2026-12-01 10:00:00")),
            ("Severity", json!({"Product": 3})),
            ("Severity", json!({"Label": "SEVERE"})),
            ("Severity", json!({"Normalized": 101})),
            ("Resources", json!([])),
            ("Resources", json!([{"Type": "Other"}])),
            ("Title", json!("")),
            ("Id", json!("x".repeat(513))),
        ];
        for (key, value) in cases {
            let mut f = good();
            f[key] = value.clone();
            assert!(validate(&f, ACCOUNT, REGION).is_err(), "{key} = {value}");
        }
    }

    #[test]
    fn another_account_or_product_is_refused() {
        let mut f = good();
        f["AwsAccountId"] = json!("210987654321");
        assert_eq!(
            validate(&f, ACCOUNT, REGION).unwrap_err().code,
            "AccessDeniedException"
        );
        let mut f = good();
        f["ProductArn"] = json!("arn:aws:securityhub:us-east-1::product/aws/guardduty");
        assert_eq!(
            validate(&f, ACCOUNT, REGION).unwrap_err().code,
            "AccessDeniedException"
        );
        let mut f = good();
        f["AwsAccountId"] = json!("12345");
        assert_eq!(
            validate(&f, ACCOUNT, REGION).unwrap_err().code,
            "InvalidInput"
        );
        assert!(validate(&good(), ACCOUNT, "eu-west-1").is_err());
    }

    #[test]
    fn severity_is_completed_both_ways() {
        for (label, n) in [
            ("INFORMATIONAL", 0),
            ("LOW", 1),
            ("MEDIUM", 40),
            ("HIGH", 70),
            ("CRITICAL", 90),
        ] {
            assert_eq!(label_of(normalized_of(label)), label);
            assert_eq!(normalized_of(label), n);
        }
        assert_eq!(label_of(55), "MEDIUM");
        assert_eq!(label_of(100), "CRITICAL");
    }

    #[test]
    fn completion_keeps_the_customers_workflow() {
        let now = Utc::now();
        let first = complete(good(), None, REGION, now);
        assert_eq!(first["Workflow"]["Status"], "NEW");
        assert_eq!(first["Severity"]["Normalized"], 70);
        assert_eq!(first["CompanyName"], "Personal");
        let mut stored = first.clone();
        stored["Workflow"] = json!({"Status": "SUPPRESSED"});
        stored["Note"] =
            json!({"Text": "known", "UpdatedBy": "me", "UpdatedAt": "2026-12-01T10:00:00Z"});
        let mut again = good();
        again["Workflow"] = json!({"Status": "NEW"});
        let second = complete(again, Some(&stored), REGION, now);
        assert_eq!(second["Workflow"]["Status"], "SUPPRESSED");
        assert_eq!(second["Note"]["Text"], "known");
    }
}
