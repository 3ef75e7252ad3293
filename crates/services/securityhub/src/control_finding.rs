//! One control finding in ASFF: its stable id, its document, and how its workflow status
//! follows its compliance, as AWS writes control findings.

use rampart_config::{managed::Verdict, model::ACCOUNT_TYPE};
use serde_json::{json, Value};

use crate::{
    asff,
    catalog::{self, Control},
    controls::{product_arn, GENERATOR_PREFIX},
};

/// The ASFF resource type of a Config resource type.
pub(crate) fn asff_type(config_type: &str) -> &'static str {
    match config_type {
        "AWS::IAM::User" => "AwsIamUser",
        "AWS::IAM::Group" => "AwsIamGroup",
        "AWS::IAM::Role" => "AwsIamRole",
        "AWS::IAM::Policy" => "AwsIamPolicy",
        "AWS::KMS::Key" => "AwsKmsKey",
        "AWS::S3::Bucket" => "AwsS3Bucket",
        "AWS::CloudTrail::Trail" => "AwsCloudTrailTrail",
        "AWS::SecretsManager::Secret" => "AwsSecretsManagerSecret",
        ACCOUNT_TYPE => "AwsAccount",
        _ => "Other",
    }
}

/// One control's result for one resource.
pub(crate) struct Outcome<'a> {
    pub(crate) control: &'a Control,
    pub(crate) standards: &'a [&'static str],
    pub(crate) resource_type: &'a str,
    pub(crate) resource_id: String,
    pub(crate) verdict: Verdict,
}

/// A stable finding id for a control and resource (a UUID-shaped digest).
pub(crate) fn finding_id(region: &str, account: &str, control: &str, resource: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{control}\n{resource}").as_bytes(),
    );
    let h = hex::encode(d.as_ref());
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or("0");
    format!(
        "arn:{partition}:securityhub:{region}:{account}:security-control/{control}/finding/{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32), partition = rampart_kit::Partition::of_region(region))
}

/// The rule's name as Security Hub's service-linked rules are named.
pub(crate) fn rule_name(rule: &str) -> String {
    format!(
        "securityhub-{}",
        rule.to_ascii_lowercase().replace('_', "-")
    )
}

/// `PASSED` or `FAILED` for a Config verdict.
pub(crate) fn status_of(v: &Verdict) -> &'static str {
    if v.compliance == "COMPLIANT" {
        "PASSED"
    } else {
        "FAILED"
    }
}

/// The control finding for an outcome, carrying over the stored one's history.
pub(crate) fn finding_doc(
    o: &Outcome<'_>,
    previous: Option<&Value>,
    region: &str,
    account: &str,
    now: &str,
) -> Value {
    let c = o.control;
    let status = status_of(&o.verdict);
    let id = finding_id(region, account, c.id, &o.resource_id);
    let product = product_arn(region);
    let first = previous
        .and_then(|p| p.get("FirstObservedAt"))
        .cloned()
        .unwrap_or(json!(now));
    let created = previous
        .and_then(|p| p.get("CreatedAt"))
        .cloned()
        .unwrap_or(json!(now));
    let standards: Vec<Value> = o
        .standards
        .iter()
        .map(|s| json!({"StandardsId": format!("standards/{s}")}))
        .collect();
    let mut product_fields = json!({
        "RelatedAWSResources:0/name": rule_name(c.rule),
        "RelatedAWSResources:0/type": "AWS::Config::ConfigRule",
        "aws/securityhub/ProductName": "Security Hub",
        "aws/securityhub/CompanyName": "AWS",
        "aws/securityhub/FindingId": format!("{product}/{id}"),
    });
    if let Some(a) = &o.verdict.annotation {
        crate::set(&mut product_fields, "aws/securityhub/annotation", json!(a));
    }
    json!({
        "SchemaVersion": asff::SCHEMA_VERSION,
        "Id": id,
        "ProductArn": product,
        "ProductName": "Security Hub",
        "CompanyName": "AWS",
        "Region": region,
        "GeneratorId": format!("{GENERATOR_PREFIX}{}", c.id),
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "FirstObservedAt": first,
        "LastObservedAt": now,
        "CreatedAt": created,
        "UpdatedAt": now,
        "Severity": {"Label": c.severity, "Normalized": asff::normalized_of(c.severity), "Original": c.severity},
        "Title": c.title,
        "Description": c.title,
        "Remediation": {"Recommendation": {
            "Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.",
            "Url": catalog::remediation_url(c.id),
        }},
        "ProductFields": product_fields,
        "Resources": [{
            "Type": asff_type(o.resource_type),
            "Id": o.resource_id,
            "Partition": "aws",
            "Region": region,
        }],
        "Compliance": {
            "Status": status,
            "SecurityControlId": c.id,
            "AssociatedStandards": standards,
        },
        "RecordState": "ACTIVE",
        "FindingProviderFields": {
            "Severity": {"Label": c.severity, "Original": c.severity},
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        },
    })
}

/// The workflow status after a compliance change, as AWS moves it: a finding that passes
/// again is `RESOLVED` (from `NEW` or `NOTIFIED`); one that fails again, or comes back from
/// the archive, is `NEW` (from `RESOLVED`).
pub(crate) fn workflow_after(previous: Option<&Value>, status: &str) -> String {
    let Some(p) = previous else {
        return if status == "PASSED" {
            "RESOLVED"
        } else {
            "NEW"
        }
        .into();
    };
    let old = p
        .pointer("/Workflow/Status")
        .and_then(Value::as_str)
        .unwrap_or("NEW");
    let was = p
        .pointer("/Compliance/Status")
        .and_then(Value::as_str)
        .unwrap_or("");
    let archived = p.get("RecordState").and_then(Value::as_str) == Some("ARCHIVED");
    match (was, status, old) {
        (_, "PASSED", "NEW" | "NOTIFIED") if was != "PASSED" => "RESOLVED".into(),
        (_, "FAILED", "RESOLVED") if was != "FAILED" || archived => "NEW".into(),
        _ => old.to_string(),
    }
}

/// Whether two control findings say the same (compliance, annotation, standards, state).
pub(crate) fn same_result(a: &Value, b: &Value) -> bool {
    let keys = [
        "/Compliance",
        "/ProductFields/aws~1securityhub~1annotation",
        "/RecordState",
        "/Resources",
    ];
    keys.iter().all(|k| a.pointer(k) == b.pointer(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_follows_compliance_as_aws_moves_it() {
        let f = |c: &str, w: &str| json!({"Compliance": {"Status": c}, "Workflow": {"Status": w}, "RecordState": "ACTIVE"});
        assert_eq!(workflow_after(None, "FAILED"), "NEW");
        assert_eq!(
            workflow_after(Some(&f("FAILED", "NEW")), "PASSED"),
            "RESOLVED"
        );
        assert_eq!(
            workflow_after(Some(&f("FAILED", "NOTIFIED")), "PASSED"),
            "RESOLVED"
        );
        assert_eq!(
            workflow_after(Some(&f("FAILED", "SUPPRESSED")), "PASSED"),
            "SUPPRESSED"
        );
        assert_eq!(
            workflow_after(Some(&f("PASSED", "RESOLVED")), "FAILED"),
            "NEW"
        );
        assert_eq!(
            workflow_after(Some(&f("FAILED", "NOTIFIED")), "FAILED"),
            "NOTIFIED"
        );
    }

    #[test]
    fn finding_ids_are_stable_per_control_and_resource() {
        let a = finding_id(
            "us-east-1",
            "123456789012",
            "IAM.2",
            "arn:aws:iam::123456789012:user/a",
        );
        assert_eq!(
            a,
            finding_id(
                "us-east-1",
                "123456789012",
                "IAM.2",
                "arn:aws:iam::123456789012:user/a"
            )
        );
        assert_ne!(
            a,
            finding_id(
                "us-east-1",
                "123456789012",
                "IAM.2",
                "arn:aws:iam::123456789012:user/b"
            )
        );
        assert!(a.starts_with(
            "arn:aws:securityhub:us-east-1:123456789012:security-control/IAM.2/finding/"
        ));
    }
}
