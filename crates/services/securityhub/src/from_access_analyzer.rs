//! IAM Access Analyzer findings in ASFF, as Access Analyzer sends them to Security Hub (IAM
//! User Guide, "Integration with AWS Security Hub"): one Security Hub finding per analyzer and
//! resource grouping all of the resource's findings (`Id` `ANALYZER-ARN/RESOURCE-ARN`,
//! `GeneratorId` `aws/access-analyzer`); public access is `Effects/Data Exposure/External
//! Access Granted` ("... allows public access"), cross-account access `Software and
//! Configuration Checks/AWS Security Best Practices/External Access Granted` ("... allows
//! cross-account access"); the finding is active while one of the resource's findings is
//! active and archived once all are archived or resolved.

use std::collections::BTreeSet;

use rampart_accessanalyzer::model::FindingDoc;
use serde_json::{json, Value};

use crate::{
    asff,
    control_finding::asff_type,
    products::{self, ACCESS_ANALYZER},
    time_text,
};

const PUBLIC_TYPE: &str = "Effects/Data Exposure/External Access Granted";
const CROSS_ACCOUNT_TYPE: &str =
    "Software and Configuration Checks/AWS Security Best Practices/External Access Granted";
const REMEDIATION: &str = "If the access isn't intended, it indicates a potential security risk. Use the console for the resource to modify or remove the policy that grants the unintended access. You can use the Rescan button on the Finding details page in the Access Analyzer console to confirm whether the change removed the access. If the access is removed, the status changes to Resolved.";

/// The Security Hub finding id of an analyzer's findings for a resource.
pub fn finding_id(analyzer_arn: &str, resource_arn: &str) -> String {
    format!("{analyzer_arn}/{resource_arn}")
}

/// `Resources[].Details.Other` of the resource's active findings (all of them when none is
/// active): principal type and principals, actions and conditions, as AWS's example shows.
fn details(findings: &[&FindingDoc]) -> Value {
    let active: Vec<&&FindingDoc> = findings.iter().filter(|f| f.status == "ACTIVE").collect();
    let shown: Vec<&&FindingDoc> = if active.is_empty() {
        findings.iter().collect()
    } else {
        active
    };
    let mut kinds = BTreeSet::new();
    let mut principals = BTreeSet::new();
    let mut actions = BTreeSet::new();
    let mut conditions = BTreeSet::new();
    for f in shown {
        for (k, v) in &f.principal {
            kinds.insert(k.clone());
            principals.insert(v.clone());
        }
        actions.extend(f.action.iter().cloned());
        for (k, v) in &f.condition {
            conditions.insert(format!("{k}={v}"));
        }
    }
    let join = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join(",");
    let condition = if conditions.is_empty() {
        "none".to_string()
    } else {
        join(conditions)
    };
    json!({
        "External Principal Type": join(kinds),
        "External Principal": join(principals),
        "Action Granted": join(actions),
        "Condition": condition,
    })
}

/// The ASFF finding of an analyzer's findings for one resource (`findings` non-empty, all
/// about the same resource).
pub fn to_asff(
    analyzer_arn: &str,
    region: &str,
    account: &str,
    findings: &[&FindingDoc],
) -> Option<Value> {
    let first = findings.first()?;
    let resource = first.resource.as_str();
    let active = findings.iter().any(|f| f.status == "ACTIVE");
    let public = findings
        .iter()
        .filter(|f| !active || f.status == "ACTIVE")
        .any(|f| f.is_public);
    let created = findings.iter().map(|f| f.created).min()?;
    let updated = findings.iter().map(|f| f.updated).max()?;
    let resource_type = asff_type(&first.resource_type);
    let (kind, reach, label) = if public {
        (PUBLIC_TYPE, "public access", "HIGH")
    } else {
        (CROSS_ACCOUNT_TYPE, "cross-account access", "LOW")
    };
    let principals: BTreeSet<&str> = findings
        .iter()
        .flat_map(|f| f.principal.values().map(String::as_str))
        .collect();
    let from = principals.into_iter().collect::<Vec<_>>().join(", ");
    let product = products::product_arn(region, &ACCESS_ANALYZER);
    let id = finding_id(analyzer_arn, resource);
    let description = if public {
        format!("{}/{resource}/ allows public access", first.resource_type)
    } else {
        format!(
            "{}/{resource}/ allows cross-account access from {from}",
            first.resource_type
        )
    };
    Some(json!({
        "SchemaVersion": asff::SCHEMA_VERSION,
        "Id": id,
        "ProductArn": product,
        "ProductName": ACCESS_ANALYZER.name,
        "CompanyName": ACCESS_ANALYZER.company,
        "Region": region,
        "GeneratorId": "aws/access-analyzer",
        "AwsAccountId": account,
        "Types": [kind],
        "CreatedAt": time_text(created),
        "UpdatedAt": time_text(updated),
        "Severity": {"Label": label},
        "Title": format!("{resource_type}/{resource}/ allows {reach}"),
        "Description": description,
        "Remediation": {"Recommendation": {"Text": REMEDIATION}},
        "ProductFields": {
            "aws/securityhub/FindingId": format!("{product}/{id}"),
            "aws/securityhub/ProductName": ACCESS_ANALYZER.name,
            "aws/securityhub/CompanyName": ACCESS_ANALYZER.company,
        },
        "Resources": [{
            "Type": resource_type,
            "Id": resource,
            "Partition": "aws",
            "Region": region,
            "Details": {"Other": details(findings)},
        }],
        "RecordState": if active { "ACTIVE" } else { "ARCHIVED" },
        "FindingProviderFields": {"Severity": {"Label": label}, "Types": [kind]},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn finding(status: &str, public: bool, at: i64) -> FindingDoc {
        let t = Utc.timestamp_opt(1_800_000_000 + at, 0).single().unwrap();
        FindingDoc {
            id: format!("f{at}"),
            resource: "arn:aws:iam::123456789012:role/shared".into(),
            resource_type: "AWS::IAM::Role".into(),
            owner: "123456789012".into(),
            principal: [("AWS".to_string(), "444455556666".to_string())].into(),
            action: vec!["sts:AssumeRole".into()],
            is_public: public,
            status: status.into(),
            created: t,
            analyzed: t,
            updated: t,
            ..FindingDoc::default()
        }
    }

    const ANALYZER: &str = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/a";

    #[test]
    fn cross_account_access_maps_as_access_analyzer_sends_it() {
        let f = finding("ACTIVE", false, 1);
        let a = to_asff(ANALYZER, "us-east-1", "123456789012", &[&f]).unwrap();
        assert_eq!(
            a["Id"],
            "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/a/arn:aws:iam::123456789012:role/shared"
        );
        assert_eq!(a["GeneratorId"], "aws/access-analyzer");
        assert_eq!(a["ProductName"], "IAM Access Analyzer");
        assert_eq!(a["Types"], json!([CROSS_ACCOUNT_TYPE]));
        assert_eq!(
            a["Title"],
            "AwsIamRole/arn:aws:iam::123456789012:role/shared/ allows cross-account access"
        );
        assert_eq!(a["Severity"]["Label"], "LOW");
        assert_eq!(a["Resources"][0]["Type"], "AwsIamRole");
        assert_eq!(
            a["Resources"][0]["Details"]["Other"]["External Principal"],
            "444455556666"
        );
        assert_eq!(
            a["Resources"][0]["Details"]["Other"]["Action Granted"],
            "sts:AssumeRole"
        );
        assert_eq!(a["RecordState"], "ACTIVE");
    }

    #[test]
    fn public_access_and_archiving_follow_the_resource_findings() {
        let public = finding("ACTIVE", true, 1);
        let archived = finding("ARCHIVED", false, 5);
        let a = to_asff(ANALYZER, "us-east-1", "123456789012", &[&public, &archived]).unwrap();
        assert_eq!(a["Types"], json!([PUBLIC_TYPE]));
        assert_eq!(a["RecordState"], "ACTIVE");
        assert_eq!(a["UpdatedAt"], time_text(archived.updated));
        let resolved = finding("RESOLVED", true, 6);
        let b = to_asff(
            ANALYZER,
            "us-east-1",
            "123456789012",
            &[&resolved, &archived],
        )
        .unwrap();
        assert_eq!(b["RecordState"], "ARCHIVED");
        assert!(to_asff(ANALYZER, "us-east-1", "123456789012", &[]).is_none());
    }
}
