//! GuardDuty findings in ASFF, as GuardDuty sends them to Security Hub (GuardDuty User Guide,
//! "Integrating with AWS Security Hub CSPM"): `Id` the finding's ARN, `GeneratorId` the
//! detector's ARN, `Types` from AWS's table of GuardDuty finding types, the severity band as
//! `Severity.Label` with GuardDuty's number as `Original`, the `Service` block flattened into
//! `ProductFields` under `aws/guardduty/service/...`, and the caller's access key (and the
//! bucket, when there is one) as `Resources`.

use serde_json::{json, Map, Value};

use crate::{
    asff,
    products::{self, GUARDDUTY},
};

/// AWS's ASFF type for each GuardDuty finding type Rampart produces (GuardDuty User Guide,
/// "Interpreting GuardDuty finding names in AWS Security Hub CSPM").
const TYPES: &[(&str, &str)] = &[
    (
        "CredentialAccess:IAMUser/AnomalousBehavior",
        "TTPs/Credential Access/IAMUser-AnomalousBehavior",
    ),
    (
        "DefenseEvasion:IAMUser/AnomalousBehavior",
        "TTPs/Defense Evasion/IAMUser-AnomalousBehavior",
    ),
    (
        "Discovery:IAMUser/AnomalousBehavior",
        "TTPs/Discovery/IAMUser-AnomalousBehavior",
    ),
    (
        "PenTest:IAMUser/KaliLinux",
        "TTPs/PenTest:IAMUser/KaliLinux",
    ),
    (
        "PenTest:IAMUser/ParrotLinux",
        "TTPs/PenTest:IAMUser/ParrotLinux",
    ),
    (
        "PenTest:IAMUser/PentooLinux",
        "TTPs/PenTest:IAMUser/PentooLinux",
    ),
    ("PenTest:S3/KaliLinux", "TTPs/PenTest:S3-KaliLinux"),
    ("PenTest:S3/ParrotLinux", "TTPs/PenTest:S3-ParrotLinux"),
    ("PenTest:S3/PentooLinux", "TTPs/PenTest:S3-PentooLinux"),
    (
        "Policy:IAMUser/RootCredentialUsage",
        "TTPs/Policy:IAMUser-RootCredentialUsage",
    ),
    (
        "Policy:IAMUser/ShortTermRootCredentialUsage",
        "TTPs/Policy:IAMUser-ShortTermRootCredentialUsage",
    ),
    (
        "Policy:S3/AccountBlockPublicAccessDisabled",
        "TTPs/Policy:S3-AccountBlockPublicAccessDisabled",
    ),
    (
        "Policy:S3/BucketAnonymousAccessGranted",
        "TTPs/Policy:S3-BucketAnonymousAccessGranted",
    ),
    (
        "Policy:S3/BucketBlockPublicAccessDisabled",
        "Effects/Data Exposure/Policy:S3-BucketBlockPublicAccessDisabled",
    ),
    (
        "Policy:S3/BucketPublicAccessGranted",
        "TTPs/Policy:S3-BucketPublicAccessGranted",
    ),
    (
        "Recon:IAMUser/MaliciousIPCaller.Custom",
        "TTPs/Discovery/Recon:IAMUser-MaliciousIPCaller.Custom",
    ),
    (
        "Recon:IAMUser/TorIPCaller",
        "TTPs/Discovery/Recon:IAMUser-TorIPCaller",
    ),
    (
        "Stealth:IAMUser/CloudTrailLoggingDisabled",
        "TTPs/Defense Evasion/Stealth:IAMUser-CloudTrailLoggingDisabled",
    ),
    (
        "Stealth:IAMUser/PasswordPolicyChange",
        "TTPs/Defense Evasion/Stealth:IAMUser-PasswordPolicyChange",
    ),
    (
        "Stealth:S3/ServerAccessLoggingDisabled",
        "TTPs/Defense Evasion/Stealth:S3-ServerAccessLoggingDisabled",
    ),
    (
        "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
        "TTPs/UnauthorizedAccess:IAMUser-ConsoleLoginSuccess.B",
    ),
    (
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        "TTPs/UnauthorizedAccess:IAMUser-MaliciousIPCaller",
    ),
    (
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
        "TTPs/UnauthorizedAccess:IAMUser-MaliciousIPCaller.Custom",
    ),
    (
        "UnauthorizedAccess:IAMUser/TorIPCaller",
        "TTPs/Command and Control/UnauthorizedAccess:IAMUser-TorIPCaller",
    ),
];

/// The ASFF type of a GuardDuty finding type: AWS's table, else (a type missing from it) the
/// `TTPs` namespace with the type's `/` written `-`, the table's usual form.
pub fn asff_type(finding_type: &str) -> String {
    TYPES
        .iter()
        .find(|(gd, _)| *gd == finding_type)
        .map_or_else(
            || format!("TTPs/{}", finding_type.replace('/', "-")),
            |(_, t)| (*t).to_string(),
        )
}

/// The severity label of a GuardDuty severity: GuardDuty's bands (Low 1.0-3.9, Medium
/// 4.0-6.9, High 7.0-8.9, 9.0-10.0 reserved, read as Critical).
pub fn label_of(severity: f64) -> &'static str {
    if severity >= 9.0 {
        "CRITICAL"
    } else if severity >= 7.0 {
        "HIGH"
    } else if severity >= 4.0 {
        "MEDIUM"
    } else if severity >= 1.0 {
        "LOW"
    } else {
        "INFORMATIONAL"
    }
}

/// A JSON member name in camelCase (`EventFirstSeen` is `eventFirstSeen`).
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_lowercase());
    }
    out.extend(chars);
    out
}

/// Flattens `v` into `out` under `prefix`, one text value per leaf, as AWS writes
/// `ProductFields` (`aws/guardduty/service/action/actionType`).
fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                flatten(&format!("{prefix}/{}", camel(k)), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}:{i}"), v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), json!(s));
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_string(), json!(other.to_string()));
        }
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The affected resources: the access key (`AwsIamAccessKey`) and the buckets acted on.
fn resources(finding: &Value, region: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(key) = finding.pointer("/Resource/AccessKeyDetails") {
        out.push(json!({
            "Type": "AwsIamAccessKey",
            "Id": format!("AWS::IAM::AccessKey:{}", text(key, "/AccessKeyId")),
            "Partition": "aws",
            "Region": region,
            "Details": {"AwsIamAccessKey": {
                "PrincipalId": text(key, "/PrincipalId"),
                "PrincipalName": text(key, "/UserName"),
                "PrincipalType": text(key, "/UserType"),
            }},
        }));
    }
    let buckets = finding
        .pointer("/Resource/S3BucketDetails")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for b in buckets {
        out.push(json!({
            "Type": "AwsS3Bucket",
            "Id": text(b, "/Arn"),
            "Partition": "aws",
            "Region": region,
        }));
    }
    out
}

/// The ASFF finding of a GuardDuty finding (`GetFindings`' shape), in its own region.
pub fn to_asff(finding: &Value) -> Value {
    let region = text(finding, "/Region");
    let arn = text(finding, "/Arn");
    let detector = arn.split("/finding/").next().unwrap_or(arn);
    let product = products::product_arn(region, &GUARDDUTY);
    let severity = finding
        .get("Severity")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let label = label_of(severity);
    let original = severity.to_string();
    let types = vec![asff_type(text(finding, "/Type"))];
    let mut fields = Map::new();
    if let Some(service) = finding.get("Service") {
        flatten("aws/guardduty/service", service, &mut fields);
    }
    fields.insert(
        "aws/securityhub/FindingId".into(),
        json!(format!("{product}/{arn}")),
    );
    fields.insert("aws/securityhub/ProductName".into(), json!(GUARDDUTY.name));
    fields.insert(
        "aws/securityhub/CompanyName".into(),
        json!(GUARDDUTY.company),
    );
    let sample = text(finding, "/Service/AdditionalInfo/Value").contains("\"sample\":true");
    json!({
        "SchemaVersion": asff::SCHEMA_VERSION,
        "Id": arn,
        "ProductArn": product,
        "ProductName": GUARDDUTY.name,
        "CompanyName": GUARDDUTY.company,
        "Region": region,
        "GeneratorId": detector,
        "AwsAccountId": text(finding, "/AccountId"),
        "Types": types,
        "FirstObservedAt": finding.pointer("/Service/EventFirstSeen"),
        "LastObservedAt": finding.pointer("/Service/EventLastSeen"),
        "CreatedAt": finding.get("CreatedAt"),
        "UpdatedAt": finding.get("UpdatedAt"),
        "Severity": {"Label": label, "Original": original},
        "Title": text(finding, "/Title"),
        "Description": text(finding, "/Description"),
        "ProductFields": Value::Object(fields),
        "Resources": resources(finding, region),
        "RecordState": "ACTIVE",
        "Sample": sample,
        "FindingProviderFields": {
            "Severity": {"Label": label, "Original": severity.to_string()},
            "Types": types,
        },
    })
}

/// How often GuardDuty exports a finding's new observations (`FindingPublishingFrequency`;
/// six hours by default), to Security Hub as to EventBridge and S3.
pub fn export_period(frequency: &str) -> chrono::Duration {
    match frequency {
        "FIFTEEN_MINUTES" => chrono::Duration::minutes(15),
        "ONE_HOUR" => chrono::Duration::hours(1),
        _ => chrono::Duration::hours(6),
    }
}

/// True when GuardDuty has archived the finding (`Service.Archived`).
pub fn archived(finding: &Value) -> bool {
    finding
        .pointer("/Service/Archived")
        .and_then(Value::as_bool)
        == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> Value {
        json!({
            "AccountId": "123456789012",
            "Arn": "arn:aws:guardduty:us-east-1:123456789012:detector/d1/finding/f1",
            "CreatedAt": "2026-12-07T08:00:00.000Z",
            "Description": "d",
            "Id": "f1",
            "Region": "us-east-1",
            "Resource": {
                "ResourceType": "AccessKey",
                "AccessKeyDetails": {"AccessKeyId": "AKIAEXAMPLE", "PrincipalId": "AIDAX",
                    "UserName": "alice", "UserType": "IAMUser"},
                "S3BucketDetails": [{"Arn": "arn:aws:s3:::b", "Name": "b", "Type": "Destination"}],
            },
            "Service": {"Action": {"ActionType": "AWS_API_CALL",
                    "AwsApiCallAction": {"Api": "ListUsers", "UserAgent": "kali"}},
                "Archived": false, "Count": 2, "DetectorId": "d1",
                "EventFirstSeen": "2026-12-07T07:59:00.000Z",
                "EventLastSeen": "2026-12-07T08:01:00.000Z", "ResourceRole": "TARGET",
                "ServiceName": "guardduty"},
            "Severity": 5.0,
            "Title": "t",
            "Type": "PenTest:IAMUser/KaliLinux",
            "UpdatedAt": "2026-12-07T08:01:00.000Z",
        })
    }

    #[test]
    fn a_finding_maps_as_guardduty_sends_it() {
        let a = to_asff(&finding());
        assert_eq!(
            a["Id"],
            "arn:aws:guardduty:us-east-1:123456789012:detector/d1/finding/f1"
        );
        assert_eq!(
            a["ProductArn"],
            "arn:aws:securityhub:us-east-1::product/aws/guardduty"
        );
        assert_eq!(
            a["GeneratorId"],
            "arn:aws:guardduty:us-east-1:123456789012:detector/d1"
        );
        assert_eq!(a["ProductName"], "GuardDuty");
        assert_eq!(a["CompanyName"], "Amazon");
        assert_eq!(a["Types"], json!(["TTPs/PenTest:IAMUser/KaliLinux"]));
        assert_eq!(a["Severity"], json!({"Label": "MEDIUM", "Original": "5"}));
        assert_eq!(a["FirstObservedAt"], "2026-12-07T07:59:00.000Z");
        assert_eq!(a["UpdatedAt"], "2026-12-07T08:01:00.000Z");
        assert_eq!(a["ProductFields"]["aws/guardduty/service/count"], "2");
        assert_eq!(
            a["ProductFields"]["aws/guardduty/service/archived"],
            "false"
        );
        assert_eq!(
            a["ProductFields"]["aws/guardduty/service/action/awsApiCallAction/api"],
            "ListUsers"
        );
        assert_eq!(a["Resources"][0]["Type"], "AwsIamAccessKey");
        assert_eq!(a["Resources"][0]["Id"], "AWS::IAM::AccessKey:AKIAEXAMPLE");
        assert_eq!(
            a["Resources"][0]["Details"]["AwsIamAccessKey"]["PrincipalName"],
            "alice"
        );
        assert_eq!(a["Resources"][1]["Id"], "arn:aws:s3:::b");
    }

    #[test]
    fn types_follow_aws_table_and_severity_guardduty_bands() {
        assert_eq!(
            asff_type("Policy:S3/BucketBlockPublicAccessDisabled"),
            "Effects/Data Exposure/Policy:S3-BucketBlockPublicAccessDisabled"
        );
        assert_eq!(
            asff_type("Stealth:IAMUser/CloudTrailLoggingDisabled"),
            "TTPs/Defense Evasion/Stealth:IAMUser-CloudTrailLoggingDisabled"
        );
        assert_eq!(
            asff_type("Policy:IAMUser/RootCredentialUsage"),
            "TTPs/Policy:IAMUser-RootCredentialUsage"
        );
        assert_eq!(asff_type("Foo:Bar/Baz"), "TTPs/Foo:Bar-Baz");
        assert_eq!(label_of(2.0), "LOW");
        assert_eq!(label_of(5.0), "MEDIUM");
        assert_eq!(label_of(8.0), "HIGH");
        assert_eq!(label_of(9.5), "CRITICAL");
        assert!(!archived(&finding()));
        assert_eq!(
            export_period("FIFTEEN_MINUTES"),
            chrono::Duration::minutes(15)
        );
        assert_eq!(export_period("SIX_HOURS"), chrono::Duration::hours(6));
    }
}
