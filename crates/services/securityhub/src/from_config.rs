//! AWS Config rule evaluations in ASFF, as Config sends them to Security Hub (Security Hub
//! User Guide, "Available AWS service integrations", AWS Config): one finding per rule and
//! resource (`Id` `RULE-ARN/finding/HASH`, `GeneratorId` the rule's ARN, `Title` the rule's
//! name, AWS's fixed `Description`, `Types` `Software and Configuration Checks`, `Severity`
//! MEDIUM for every result, `CreatedAt`/`UpdatedAt` the result's recorded time), the resource
//! by its configuration item's ARN, `Compliance.Status` from the compliance type (`COMPLIANT`
//! PASSED, `NON_COMPLIANT` FAILED, `NOT_APPLICABLE` NOT_AVAILABLE, `INSUFFICIENT_DATA`
//! WARNING), the rule's name, ARN and compliance type in `ProductFields`. Only rules Security
//! Hub did not create are sent (its service-linked `securityhub-*` rules feed its controls).
//! A NOT_AVAILABLE result is archived, as Security Hub archives control findings whose Config
//! result is `NOT_APPLICABLE` (the integration page does not say).

use rampart_config::model::EvaluationDoc;
use serde_json::{json, Value};

use crate::{
    asff,
    control_finding::asff_type,
    products::{self, CONFIG},
    time_text,
};

/// The prefix of the rules Security Hub creates for its controls.
const SECURITY_HUB_RULES: &str = "securityhub-";

/// True when Config sends the rule `name`'s results to Security Hub.
pub fn sent(name: &str) -> bool {
    !name.starts_with(SECURITY_HUB_RULES)
}

/// The region of a rule from its ARN (`arn:aws:config:REGION:...`).
pub fn region_of(rule_arn: &str) -> &str {
    rule_arn.split(':').nth(3).unwrap_or("")
}

/// `PASSED`, `FAILED`, `WARNING` or `NOT_AVAILABLE` for a Config compliance type.
pub fn status_of(compliance: &str) -> &'static str {
    match compliance {
        "COMPLIANT" => "PASSED",
        "NON_COMPLIANT" => "FAILED",
        "INSUFFICIENT_DATA" => "WARNING",
        _ => "NOT_AVAILABLE",
    }
}

/// The Security Hub finding id of a rule's result for a resource.
pub fn finding_id(rule_arn: &str, resource_type: &str, resource_id: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{resource_type}\n{resource_id}").as_bytes(),
    );
    let h = hex::encode(d.as_ref());
    format!("{rule_arn}/finding/{}", h.get(..40).unwrap_or(&h))
}

/// What the finding needs of the rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its ARN.
    pub arn: &'a str,
}

/// The ASFF finding of one evaluation; `resource_arn` is the resource's ARN when Config knows
/// it (the resource id otherwise).
pub fn to_asff(rule: Rule<'_>, e: &EvaluationDoc, resource_arn: &str, account: &str) -> Value {
    let region = region_of(rule.arn);
    let product = products::product_arn(region, &CONFIG);
    let id = finding_id(rule.arn, &e.resource_type, &e.resource_id);
    let status = status_of(&e.compliance);
    let description = format!(
        "This finding is created for a resource compliance change for config rule: {}",
        rule.name
    );
    let types = ["Software and Configuration Checks"];
    json!({
        "SchemaVersion": asff::SCHEMA_VERSION,
        "Id": id,
        "ProductArn": product,
        "ProductName": CONFIG.name,
        "CompanyName": CONFIG.company,
        "Region": region,
        "GeneratorId": rule.arn,
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": time_text(e.recorded),
        "UpdatedAt": time_text(e.recorded),
        "Severity": {"Label": "MEDIUM"},
        "Title": rule.name,
        "Description": description,
        "ProductFields": {
            "aws/config/ConfigRuleName": rule.name,
            "aws/config/ConfigRuleArn": rule.arn,
            "aws/config/ConfigComplianceType": e.compliance,
            "aws/securityhub/FindingId": format!("{product}/{id}"),
            "aws/securityhub/ProductName": CONFIG.name,
            "aws/securityhub/CompanyName": CONFIG.company,
        },
        "Resources": [{
            "Type": asff_type(&e.resource_type),
            "Id": resource_arn,
            "Partition": "aws",
            "Region": region,
        }],
        "Compliance": {"Status": status},
        "RecordState": if status == "NOT_AVAILABLE" { "ARCHIVED" } else { "ACTIVE" },
        "FindingProviderFields": {"Severity": {"Label": "MEDIUM"}, "Types": types},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    const RULE_ARN: &str = "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abc123";

    fn evaluation(compliance: &str) -> EvaluationDoc {
        let t = Utc.timestamp_opt(1_800_000_000, 0).single().unwrap();
        EvaluationDoc {
            rule: "users-without-policies".into(),
            resource_type: "AWS::IAM::User".into(),
            resource_id: "AIDAEXAMPLE".into(),
            compliance: compliance.into(),
            annotation: None,
            invoked: t,
            recorded: t,
            ordering: t,
        }
    }

    fn rule() -> Rule<'static> {
        Rule {
            name: "users-without-policies",
            arn: RULE_ARN,
        }
    }

    #[test]
    fn a_failed_evaluation_maps_as_config_sends_it() {
        let user = "arn:aws:iam::123456789012:user/alice";
        let a = to_asff(rule(), &evaluation("NON_COMPLIANT"), user, "123456789012");
        assert!(a["Id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{RULE_ARN}/finding/")));
        assert_eq!(a["GeneratorId"], RULE_ARN);
        assert_eq!(
            a["ProductArn"],
            "arn:aws:securityhub:us-east-1::product/aws/config"
        );
        assert_eq!(a["ProductName"], "Config");
        assert_eq!(a["Types"], json!(["Software and Configuration Checks"]));
        assert_eq!(a["Compliance"]["Status"], "FAILED");
        assert_eq!(a["RecordState"], "ACTIVE");
        assert_eq!(a["Resources"][0]["Type"], "AwsIamUser");
        assert_eq!(a["Resources"][0]["Id"], user);
        assert_eq!(
            a["ProductFields"]["aws/config/ConfigComplianceType"],
            "NON_COMPLIANT"
        );
        assert_eq!(
            a["Description"],
            "This finding is created for a resource compliance change for config rule: users-without-policies"
        );
        assert_eq!(a["Severity"]["Label"], "MEDIUM");
        assert_eq!(a["CreatedAt"], a["UpdatedAt"]);
    }

    #[test]
    fn compliance_maps_to_status_and_not_applicable_archives() {
        let a = to_asff(rule(), &evaluation("COMPLIANT"), "x", "123456789012");
        assert_eq!(a["Compliance"]["Status"], "PASSED");
        assert_eq!(a["RecordState"], "ACTIVE");
        let b = to_asff(rule(), &evaluation("NOT_APPLICABLE"), "x", "123456789012");
        assert_eq!(b["Compliance"]["Status"], "NOT_AVAILABLE");
        assert_eq!(b["RecordState"], "ARCHIVED");
        assert_eq!(status_of("INSUFFICIENT_DATA"), "WARNING");
        assert!(sent("my-rule"));
        assert!(!sent("securityhub-iam-user-no-policies-check"));
        assert_eq!(region_of(RULE_ARN), "us-east-1");
        assert_eq!(
            finding_id(RULE_ARN, "AWS::IAM::User", "a"),
            finding_id(RULE_ARN, "AWS::IAM::User", "a")
        );
    }
}
