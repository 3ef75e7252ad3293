//! Event selectors: which records a trail delivers.
//!
//! Basic selectors (`EventSelectors`: read/write type, management events, S3 object data
//! resources, excluded management event sources) or advanced ones (`AdvancedEventSelectors`:
//! field selectors with `Equals`, `StartsWith`, `EndsWith` and their negations), never both,
//! as in AWS. A trail without selectors logs every management event, read and write.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use rampart_cloudtrail::CloudTrailError;
use rampart_kit::Partition;

/// A trail's selectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Selectors {
    /// `EventSelectors`.
    Basic(Vec<Value>),
    /// `AdvancedEventSelectors`.
    Advanced(Vec<Value>),
}

impl Default for Selectors {
    fn default() -> Selectors {
        Selectors::Basic(vec![default_basic()])
    }
}

fn default_basic() -> Value {
    json!({
        "ReadWriteType": "All",
        "IncludeManagementEvents": true,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    })
}

/// The fields of a record that selectors look at.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// `eventCategory` (`Management`, `Data`).
    #[serde(default)]
    pub event_category: String,
    /// `readOnly`.
    #[serde(default)]
    pub read_only: bool,
    /// `eventSource`.
    #[serde(default)]
    pub event_source: String,
    /// `eventName`.
    #[serde(default)]
    pub event_name: String,
    /// `awsRegion`.
    #[serde(default)]
    pub aws_region: String,
    /// `errorCode`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// `userIdentity`.
    #[serde(default)]
    pub user_identity: Identity,
    /// `resources` of a data event.
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// `userIdentity.arn`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Identity {
    /// The caller's ARN.
    #[serde(default)]
    pub arn: Option<String>,
}

/// One entry of `resources`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Resource {
    /// `AWS::S3::Object`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The ARN.
    #[serde(rename = "ARN", default)]
    pub arn: String,
}

impl Facts {
    /// The facts of a record's JSON; `None` if it does not read.
    pub fn of(event_json: &str) -> Option<Facts> {
        serde_json::from_str(event_json).ok()
    }

    fn is_data(&self) -> bool {
        self.event_category == "Data"
    }
}

fn invalid(message: &str) -> CloudTrailError {
    CloudTrailError::InvalidEventSelectorsException(message.to_string())
}

/// The fields advanced selectors may name.
const FIELDS: &[&str] = &[
    "eventCategory",
    "readOnly",
    "eventSource",
    "eventName",
    "resources.type",
    "resources.ARN",
    "userIdentity.arn",
    "errorCode",
];

const OPERATORS: &[&str] = &[
    "Equals",
    "StartsWith",
    "EndsWith",
    "NotEquals",
    "NotStartsWith",
    "NotEndsWith",
];

/// Reads `PutEventSelectors`' input: exactly one of the two kinds, each valid. S3 data
/// resources are named in the trail's partition (`arn:aws-cn:s3:::bucket/` in China).
pub fn parse(input: &Value, partition: Partition) -> Result<Selectors, CloudTrailError> {
    let basic = input.get("EventSelectors").and_then(Value::as_array);
    let advanced = input
        .get("AdvancedEventSelectors")
        .and_then(Value::as_array);
    match (basic, advanced) {
        (Some(_), Some(_)) | (None, None) => Err(invalid(
            "Specify either EventSelectors or AdvancedEventSelectors, but not both.",
        )),
        (Some(list), None) => parse_basic(list, partition),
        (None, Some(list)) => parse_advanced(list),
    }
}

fn parse_basic(list: &[Value], partition: Partition) -> Result<Selectors, CloudTrailError> {
    if list.len() > 5 {
        return Err(invalid("You can specify at most 5 event selectors."));
    }
    let mut out = Vec::new();
    for s in list {
        let rw = s
            .get("ReadWriteType")
            .and_then(Value::as_str)
            .unwrap_or("All");
        if !matches!(rw, "All" | "ReadOnly" | "WriteOnly") {
            return Err(invalid("ReadWriteType must be ReadOnly, WriteOnly or All."));
        }
        let resources = s
            .get("DataResources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut values = 0usize;
        for r in &resources {
            let kind = r.get("Type").and_then(Value::as_str).unwrap_or("");
            if kind != "AWS::S3::Object" {
                return Err(invalid(&format!(
                    "Data resource type {kind} is not supported: AWS::S3::Object is."
                )));
            }
            for v in r
                .get("Values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let v = v.as_str().unwrap_or("");
                if partition.strip_arn(&format!("{v}:"), "s3").is_none() {
                    return Err(invalid(&format!("Value {v} is not a valid S3 ARN.")));
                }
                values += 1;
            }
        }
        if values > 250 {
            return Err(invalid("A trail can name at most 250 data resources."));
        }
        out.push(json!({
            "ReadWriteType": rw,
            "IncludeManagementEvents": s.get("IncludeManagementEvents").and_then(Value::as_bool).unwrap_or(true),
            "DataResources": resources,
            "ExcludeManagementEventSources": s.get("ExcludeManagementEventSources").cloned().unwrap_or_else(|| json!([])),
        }));
    }
    Ok(Selectors::Basic(out))
}

fn parse_advanced(list: &[Value]) -> Result<Selectors, CloudTrailError> {
    if list.is_empty() || list.len() > 500 {
        return Err(invalid(
            "Specify between 1 and 500 advanced event selectors.",
        ));
    }
    for s in list {
        let fields = s
            .get("FieldSelectors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut category = false;
        for f in &fields {
            let name = f.get("Field").and_then(Value::as_str).unwrap_or("");
            if !FIELDS.contains(&name) {
                return Err(invalid(&format!("Field {name} is not a valid field.")));
            }
            category |= name == "eventCategory";
            let has_operator = OPERATORS.iter().any(|op| {
                f.get(*op)
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            });
            if !has_operator {
                return Err(invalid(&format!(
                    "Field {name} needs an operator with values."
                )));
            }
        }
        if !category {
            return Err(invalid(
                "Each advanced event selector needs an eventCategory field.",
            ));
        }
    }
    Ok(Selectors::Advanced(list.to_vec()))
}

impl Selectors {
    /// Whether a trail with these selectors delivers a record.
    pub fn matches(&self, facts: &Facts) -> bool {
        match self {
            Selectors::Basic(list) => list.iter().any(|s| basic_matches(s, facts)),
            Selectors::Advanced(list) => list.iter().any(|s| advanced_matches(s, facts)),
        }
    }

    /// Whether any selector is not the default (`HasCustomEventSelectors`).
    pub fn custom(&self) -> bool {
        match self {
            Selectors::Basic(list) => list.as_slice() != [default_basic()],
            Selectors::Advanced(_) => true,
        }
    }

    /// `GetEventSelectors`' members.
    pub fn describe(&self) -> (&'static str, Value) {
        match self {
            Selectors::Basic(list) => ("EventSelectors", json!(list)),
            Selectors::Advanced(list) => ("AdvancedEventSelectors", json!(list)),
        }
    }
}

fn basic_matches(s: &Value, facts: &Facts) -> bool {
    let rw_ok = match s.get("ReadWriteType").and_then(Value::as_str) {
        Some("ReadOnly") => facts.read_only,
        Some("WriteOnly") => !facts.read_only,
        _ => true,
    };
    if !rw_ok {
        return false;
    }
    if facts.is_data() {
        return s
            .get("DataResources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::S3::Object"))
            .flat_map(|r| {
                r.get("Values")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|v| v.as_str().map(str::to_string))
            .any(|v| object_selected(&v, facts));
    }
    let management = s
        .get("IncludeManagementEvents")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let excluded = s
        .get("ExcludeManagementEventSources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|v| v.as_str() == Some(facts.event_source.as_str()));
    management && !excluded
}

/// Whether a data resource value (`arn:PARTITION:s3` or `arn:PARTITION:s3:::` for every
/// bucket, `arn:PARTITION:s3:::bucket/` or a prefix of object ARNs) selects one of the
/// record's objects.
fn object_selected(value: &str, facts: &Facts) -> bool {
    let every_bucket = Partition::of_arn(value)
        .filter(|p| matches!(p.strip_arn(&format!("{value}:"), "s3"), Some("" | ":::")));
    facts
        .resources
        .iter()
        .filter(|r| r.kind == "AWS::S3::Object")
        .any(|r| match every_bucket {
            Some(p) => p.strip_arn(&r.arn, "s3").is_some(),
            None => r.arn.starts_with(value),
        })
}

fn advanced_matches(s: &Value, facts: &Facts) -> bool {
    s.get("FieldSelectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|f| field_matches(f, facts))
}

/// The values of a field in a record (several for `resources.*`).
fn field_values(field: &str, facts: &Facts) -> Vec<String> {
    match field {
        "eventCategory" => vec![facts.event_category.clone()],
        "readOnly" => vec![facts.read_only.to_string()],
        "eventSource" => vec![facts.event_source.clone()],
        "eventName" => vec![facts.event_name.clone()],
        "errorCode" => facts.error_code.iter().cloned().collect(),
        "userIdentity.arn" => facts.user_identity.arn.iter().cloned().collect(),
        "resources.type" => facts.resources.iter().map(|r| r.kind.clone()).collect(),
        "resources.ARN" => facts.resources.iter().map(|r| r.arn.clone()).collect(),
        _ => Vec::new(),
    }
}

fn field_matches(f: &Value, facts: &Facts) -> bool {
    let field = f.get("Field").and_then(Value::as_str).unwrap_or("");
    let values = field_values(field, facts);
    let list = |op: &str| -> Vec<String> {
        f.get(op)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let any_value = |test: &dyn Fn(&str) -> bool| values.iter().any(|v| test(v));
    let positive = [
        (
            "Equals",
            &(|v: &str, p: &str| v == p) as &dyn Fn(&str, &str) -> bool,
        ),
        ("StartsWith", &|v: &str, p: &str| v.starts_with(p)),
        ("EndsWith", &|v: &str, p: &str| v.ends_with(p)),
    ];
    for (op, test) in positive {
        let wanted = list(op);
        if !wanted.is_empty() && !wanted.iter().any(|p| any_value(&|v| test(v, p))) {
            return false;
        }
    }
    let negative = [
        (
            "NotEquals",
            &(|v: &str, p: &str| v == p) as &dyn Fn(&str, &str) -> bool,
        ),
        ("NotStartsWith", &|v: &str, p: &str| v.starts_with(p)),
        ("NotEndsWith", &|v: &str, p: &str| v.ends_with(p)),
    ];
    for (op, test) in negative {
        if list(op).iter().any(|p| any_value(&|v| test(v, p))) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(category: &str, read_only: bool, source: &str, object: Option<&str>) -> Facts {
        Facts {
            event_category: category.into(),
            read_only,
            event_source: source.into(),
            event_name: "X".into(),
            resources: object
                .map(|o| {
                    vec![Resource {
                        kind: "AWS::S3::Object".into(),
                        arn: o.into(),
                    }]
                })
                .unwrap_or_default(),
            ..Facts::default()
        }
    }

    #[test]
    fn the_default_logs_management_events_only() {
        let s = Selectors::default();
        assert!(s.matches(&facts("Management", true, "iam.amazonaws.com", None)));
        assert!(s.matches(&facts("Management", false, "kms.amazonaws.com", None)));
        let data = facts("Data", false, "s3.amazonaws.com", Some("arn:aws:s3:::b/k"));
        assert!(!s.matches(&data));
        assert!(!s.custom());
    }

    #[test]
    fn basic_selectors_pick_objects_and_exclude_sources() {
        let s = parse(
            &json!({"EventSelectors": [{
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": true,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b/logs/"]}],
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }]}),
            Partition::Aws,
        )
        .unwrap();
        assert!(s.custom());
        assert!(s.matches(&facts(
            "Data",
            false,
            "s3.amazonaws.com",
            Some("arn:aws:s3:::b/logs/x")
        )));
        assert!(!s.matches(&facts(
            "Data",
            false,
            "s3.amazonaws.com",
            Some("arn:aws:s3:::b/other")
        )));
        assert!(!s.matches(&facts(
            "Data",
            true,
            "s3.amazonaws.com",
            Some("arn:aws:s3:::b/logs/x")
        )));
        assert!(!s.matches(&facts("Management", false, "kms.amazonaws.com", None)));
        assert!(s.matches(&facts("Management", false, "iam.amazonaws.com", None)));
        assert!(!s.matches(&facts("Management", true, "iam.amazonaws.com", None)));
    }

    #[test]
    fn advanced_selectors_match_fields() {
        let s = parse(
            &json!({"AdvancedEventSelectors": [{
                "Name": "s3 writes but not tags",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                    {"Field": "eventName", "NotStartsWith": ["PutObjectTag"]},
                ],
            }]}),
            Partition::Aws,
        )
        .unwrap();
        let mut put = facts("Data", false, "s3.amazonaws.com", Some("arn:aws:s3:::b/k"));
        put.event_name = "PutObject".into();
        assert!(s.matches(&put));
        put.event_name = "PutObjectTagging".into();
        assert!(!s.matches(&put));
        assert!(!s.matches(&facts("Management", false, "iam.amazonaws.com", None)));
    }

    #[test]
    fn bad_selectors_are_refused() {
        for bad in [
            json!({}),
            json!({"EventSelectors": [], "AdvancedEventSelectors": []}),
            json!({"EventSelectors": [{"ReadWriteType": "Some"}]}),
            json!({"EventSelectors": [{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": []}]}]}),
            json!({"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws-cn:s3:::b/"]}]}]}),
            json!({"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3x"]}]}]}),
            json!({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventName", "Equals": ["X"]}]}]}),
            json!({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "nope", "Equals": ["X"]}]}]}),
            json!({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory"}]}]}),
        ] {
            let err = parse(&bad, Partition::Aws).unwrap_err();
            assert_eq!(err.code(), "InvalidEventSelectorsException", "{bad}");
        }
    }

    #[test]
    fn data_resources_are_named_in_the_trails_partition() {
        let cn = |values: Value| {
            parse(
                &json!({"EventSelectors": [{
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": values}],
                }]}),
                Partition::AwsCn,
            )
        };
        let object = |arn: &str| facts("Data", false, "s3.amazonaws.com", Some(arn));
        let bucket = cn(json!(["arn:aws-cn:s3:::b/"])).unwrap();
        assert!(bucket.matches(&object("arn:aws-cn:s3:::b/k")));
        assert!(!bucket.matches(&object("arn:aws-cn:s3:::c/k")));
        for every in ["arn:aws-cn:s3", "arn:aws-cn:s3:::"] {
            let all = cn(json!([every])).unwrap();
            assert!(all.matches(&object("arn:aws-cn:s3:::c/k")), "{every}");
            assert!(!all.matches(&object("arn:aws:s3:::c/k")), "{every}");
        }
        // The commercial spelling names no bucket of an `aws-cn` trail.
        for other in ["arn:aws:s3:::b/", "arn:aws:s3", "arn:aws-us-gov:s3:::b/"] {
            let err = cn(json!([other])).unwrap_err();
            assert_eq!(err.code(), "InvalidEventSelectorsException", "{other}");
        }
    }
}
