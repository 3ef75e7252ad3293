//! Where each filter attribute of `AwsSecurityFindingFilters` (and
//! `AutomationRulesFindingFilters`) lives in an ASFF finding, and which are strings.
//!
//! An attribute not listed in [`PLACES`] is the ASFF member of the same name
//! (`Title`, `ProductName`, `RecordState`, ...).

/// Filter attributes whose place in the finding is not the attribute's own name.
const PLACES: &[(&str, &str)] = &[
    ("Type", "Types"),
    ("SeverityLabel", "Severity.Label"),
    ("SeverityNormalized", "Severity.Normalized"),
    ("SeverityProduct", "Severity.Product"),
    ("ResourceType", "Resources.Type"),
    ("ResourceId", "Resources.Id"),
    ("ResourcePartition", "Resources.Partition"),
    ("ResourceRegion", "Resources.Region"),
    ("ResourceTags", "Resources.Tags"),
    ("ComplianceStatus", "Compliance.Status"),
    (
        "ComplianceSecurityControlId",
        "Compliance.SecurityControlId",
    ),
    (
        "ComplianceAssociatedStandardsId",
        "Compliance.AssociatedStandards.StandardsId",
    ),
    ("WorkflowStatus", "Workflow.Status"),
    ("NoteText", "Note.Text"),
    ("NoteUpdatedAt", "Note.UpdatedAt"),
    ("NoteUpdatedBy", "Note.UpdatedBy"),
    ("RelatedFindingsProductArn", "RelatedFindings.ProductArn"),
    ("RelatedFindingsId", "RelatedFindings.Id"),
    (
        "FindingProviderFieldsSeverityLabel",
        "FindingProviderFields.Severity.Label",
    ),
    (
        "FindingProviderFieldsSeverityOriginal",
        "FindingProviderFields.Severity.Original",
    ),
    ("FindingProviderFieldsTypes", "FindingProviderFields.Types"),
    (
        "FindingProviderFieldsRelatedFindingsId",
        "FindingProviderFields.RelatedFindings.Id",
    ),
    (
        "FindingProviderFieldsRelatedFindingsProductArn",
        "FindingProviderFields.RelatedFindings.ProductArn",
    ),
    ("ResourceDetailsOther", "Resources.Details.Other"),
    ("ResourceApplicationArn", "Resources.ApplicationArn"),
    ("ResourceApplicationName", "Resources.ApplicationName"),
    (
        "ResourceAwsIamAccessKeyUserName",
        "Resources.Details.AwsIamAccessKey.UserName",
    ),
    (
        "ResourceAwsIamAccessKeyPrincipalName",
        "Resources.Details.AwsIamAccessKey.PrincipalName",
    ),
    (
        "ResourceAwsIamAccessKeyStatus",
        "Resources.Details.AwsIamAccessKey.Status",
    ),
    (
        "ResourceAwsIamUserUserName",
        "Resources.Details.AwsIamUser.UserName",
    ),
    ("ResourceContainerName", "Resources.Details.Container.Name"),
    (
        "ResourceContainerImageId",
        "Resources.Details.Container.ImageId",
    ),
    (
        "ResourceContainerImageName",
        "Resources.Details.Container.ImageName",
    ),
    (
        "ComplianceSecurityControlParametersName",
        "Compliance.SecurityControlParameters.Name",
    ),
    (
        "ComplianceSecurityControlParametersValue",
        "Compliance.SecurityControlParameters.Value",
    ),
    ("RecommendationText", "Remediation.Recommendation.Text"),
    ("MalwareName", "Malware.Name"),
    ("MalwareType", "Malware.Type"),
    ("MalwarePath", "Malware.Path"),
    ("MalwareState", "Malware.State"),
    ("NetworkDirection", "Network.Direction"),
    ("NetworkProtocol", "Network.Protocol"),
    ("NetworkSourceDomain", "Network.SourceDomain"),
    ("NetworkSourceMac", "Network.SourceMac"),
    ("NetworkDestinationDomain", "Network.DestinationDomain"),
    ("ProcessName", "Process.Name"),
    ("ProcessPath", "Process.Path"),
    ("ThreatIntelIndicatorType", "ThreatIntelIndicators.Type"),
    ("ThreatIntelIndicatorValue", "ThreatIntelIndicators.Value"),
    (
        "ThreatIntelIndicatorCategory",
        "ThreatIntelIndicators.Category",
    ),
    ("ThreatIntelIndicatorSource", "ThreatIntelIndicators.Source"),
    (
        "ThreatIntelIndicatorSourceUrl",
        "ThreatIntelIndicators.SourceUrl",
    ),
    (
        "VulnerabilitiesExploitAvailable",
        "Vulnerabilities.ExploitAvailable",
    ),
    (
        "VulnerabilitiesFixAvailable",
        "Vulnerabilities.FixAvailable",
    ),
    (
        "FindingProviderFieldsConfidence",
        "FindingProviderFields.Confidence",
    ),
    (
        "FindingProviderFieldsCriticality",
        "FindingProviderFields.Criticality",
    ),
];

/// The string attributes of `AwsSecurityFindingFilters`: what an insight may group by.
pub const STRING_ATTRIBUTES: &[&str] = &[
    "ProductArn",
    "AwsAccountId",
    "Id",
    "GeneratorId",
    "Region",
    "Type",
    "SeverityLabel",
    "Title",
    "Description",
    "RecommendationText",
    "SourceUrl",
    "ProductName",
    "CompanyName",
    "MalwareName",
    "MalwareType",
    "MalwarePath",
    "MalwareState",
    "NetworkDirection",
    "NetworkProtocol",
    "NetworkSourceDomain",
    "NetworkSourceMac",
    "NetworkDestinationDomain",
    "ProcessName",
    "ProcessPath",
    "ThreatIntelIndicatorType",
    "ThreatIntelIndicatorValue",
    "ThreatIntelIndicatorCategory",
    "ThreatIntelIndicatorSource",
    "ThreatIntelIndicatorSourceUrl",
    "ResourceType",
    "ResourceId",
    "ResourcePartition",
    "ResourceRegion",
    "ResourceAwsIamAccessKeyUserName",
    "ResourceAwsIamAccessKeyPrincipalName",
    "ResourceAwsIamAccessKeyStatus",
    "ResourceAwsIamUserUserName",
    "ResourceContainerName",
    "ResourceContainerImageId",
    "ResourceContainerImageName",
    "ComplianceStatus",
    "VerificationState",
    "WorkflowState",
    "WorkflowStatus",
    "RecordState",
    "RelatedFindingsProductArn",
    "RelatedFindingsId",
    "NoteText",
    "NoteUpdatedBy",
    "FindingProviderFieldsRelatedFindingsId",
    "FindingProviderFieldsRelatedFindingsProductArn",
    "FindingProviderFieldsSeverityLabel",
    "FindingProviderFieldsSeverityOriginal",
    "FindingProviderFieldsTypes",
    "ComplianceSecurityControlId",
    "ComplianceAssociatedStandardsId",
    "VulnerabilitiesExploitAvailable",
    "VulnerabilitiesFixAvailable",
    "ComplianceSecurityControlParametersName",
    "ComplianceSecurityControlParametersValue",
    "AwsAccountName",
    "ResourceApplicationName",
    "ResourceApplicationArn",
];

/// The dotted place in a finding of a filter or sort attribute.
pub fn place(attribute: &str) -> String {
    PLACES
        .iter()
        .find(|(name, _)| *name == attribute)
        .map_or_else(|| attribute.to_string(), |(_, p)| (*p).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::texts_at;
    use serde_json::json;

    #[test]
    fn attributes_name_their_places_in_a_finding() {
        let f = json!({
            "Title": "t",
            "Resources": [{
                "Type": "AwsIamAccessKey",
                "Id": "AWS::IAM::AccessKey:AKIA1",
                "Details": {
                    "AwsIamAccessKey": {"PrincipalName": "admin"},
                    "Other": {"External Principal": "123456789012"}
                }
            }],
            "Remediation": {"Recommendation": {"Text": "Rotate it."}},
        });
        assert_eq!(
            texts_at(&f, "ResourceAwsIamAccessKeyPrincipalName"),
            ["admin"]
        );
        assert_eq!(texts_at(&f, "RecommendationText"), ["Rotate it."]);
        assert_eq!(texts_at(&f, "Title"), ["t"]);
        assert_eq!(place("ResourceDetailsOther"), "Resources.Details.Other");
        let other = json!({"ResourceDetailsOther": [
            {"Key": "External Principal", "Value": "123456789012", "Comparison": "EQUALS"}
        ]});
        let now = crate::asff::parse_time("2026-12-07T00:00:00Z").unwrap();
        assert!(crate::filters::matches(other.as_object().unwrap(), &f, now).unwrap());
    }
}
