//! The standards and security controls Rampart runs: AWS's control ids, titles and
//! severities, each backed by the AWS Config managed rule AWS backs it with (and that
//! Rampart's Config evaluates), with the parameters Security Hub gives that rule.

/// A standard.
#[derive(Debug, Clone, Copy)]
pub struct Standard {
    /// The key: `aws-foundational-security-best-practices/v/1.0.0`.
    pub key: &'static str,
    /// `Name`.
    pub name: &'static str,
    /// `Description`.
    pub description: &'static str,
    /// Whether `EnableSecurityHub` enables it by default.
    pub by_default: bool,
}

/// AWS Foundational Security Best Practices.
pub const FSBP: &str = "aws-foundational-security-best-practices/v/1.0.0";
/// NIST SP 800-53 Rev. 5.
pub const NIST: &str = "nist-800-53/v/5.0.0";
/// CIS AWS Foundations Benchmark v3.0.0.
pub const CIS: &str = "cis-aws-foundations-benchmark/v/3.0.0";

/// The standards Rampart offers.
pub const STANDARDS: &[Standard] = &[
    Standard {
        key: FSBP,
        name: "AWS Foundational Security Best Practices v1.0.0",
        description: "The AWS Foundational Security Best Practices standard is a set of controls that detect when your deployed accounts and resources deviate from security best practices.",
        by_default: true,
    },
    Standard {
        key: NIST,
        name: "NIST Special Publication 800-53 Revision 5",
        description: "NIST SP 800-53 Rev. 5 controls that Security Hub can check automatically.",
        by_default: false,
    },
    Standard {
        key: CIS,
        name: "CIS AWS Foundations Benchmark v3.0.0",
        description: "The Center for Internet Security (CIS) AWS Foundations Benchmark v3.0.0 is a set of security configuration best practices for AWS. This Security Hub standard automatically checks for your compliance readiness against a subset of CIS requirements.",
        by_default: false,
    },
];

/// A security control.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    /// AWS's control id (`IAM.1`).
    pub id: &'static str,
    /// AWS's title.
    pub title: &'static str,
    /// `CRITICAL`, `HIGH`, `MEDIUM` or `LOW`.
    pub severity: &'static str,
    /// The Config managed rule's identifier.
    pub rule: &'static str,
    /// The rule's parameters as Security Hub sets them.
    pub params: &'static [(&'static str, &'static str)],
    /// The standards it belongs to.
    pub standards: &'static [&'static str],
}

const BOTH: &[&str] = &[FSBP, NIST];
const NIST_ONLY: &[&str] = &[NIST];
const ALL: &[&str] = &[FSBP, NIST, CIS];
const NIST_CIS: &[&str] = &[NIST, CIS];
const CIS_ONLY: &[&str] = &[CIS];
const NO_BOUNDARY: &[(&str, &str)] = &[("excludePermissionBoundaryPolicy", "true")];

const fn c(
    id: &'static str,
    title: &'static str,
    severity: &'static str,
    rule: &'static str,
    params: &'static [(&'static str, &'static str)],
    standards: &'static [&'static str],
) -> Control {
    Control {
        id,
        title,
        severity,
        rule,
        params,
        standards,
    }
}

/// Every control Rampart evaluates.
pub const CONTROLS: &[Control] = &[
    c("CloudTrail.1", "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events", "HIGH", "MULTI_REGION_CLOUD_TRAIL_ENABLED", &[("readWriteType", "ALL"), ("includeManagementEvents", "true")], ALL),
    c("CloudTrail.2", "CloudTrail should have encryption at-rest enabled", "MEDIUM", "CLOUD_TRAIL_ENCRYPTION_ENABLED", &[], ALL),
    c("CloudTrail.4", "CloudTrail log file validation should be enabled", "LOW", "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", &[], ALL),
    c("IAM.1", "IAM policies should not allow full \"*\" administrative privileges", "HIGH", "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", NO_BOUNDARY, BOTH),
    c("IAM.2", "IAM users should not have IAM policies attached", "LOW", "IAM_USER_NO_POLICIES_CHECK", &[], ALL),
    c("IAM.3", "IAM users' access keys should be rotated every 90 days or less", "MEDIUM", "ACCESS_KEYS_ROTATED", &[("maxAccessKeyAge", "90")], ALL),
    c("IAM.4", "IAM root user access key should not exist", "CRITICAL", "IAM_ROOT_ACCESS_KEY_CHECK", &[], ALL),
    c("IAM.5", "MFA should be enabled for all IAM users that have a console password", "MEDIUM", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS", &[], ALL),
    c("IAM.7", "Password policies for IAM users should have strong configurations", "MEDIUM", "IAM_PASSWORD_POLICY", &[("RequireUppercaseCharacters", "true"), ("RequireLowercaseCharacters", "true"), ("RequireSymbols", "true"), ("RequireNumbers", "true"), ("MinimumPasswordLength", "8")], BOTH),
    c("IAM.8", "Unused IAM user credentials should be removed", "MEDIUM", "IAM_USER_UNUSED_CREDENTIALS_CHECK", &[("maxCredentialUsageAge", "90")], BOTH),
    c("IAM.9", "MFA should be enabled for the root user", "CRITICAL", "ROOT_ACCOUNT_MFA_ENABLED", &[], NIST_CIS),
    c("IAM.15", "Ensure IAM password policy requires minimum password length of 14 or greater", "MEDIUM", "IAM_PASSWORD_POLICY", &[("MinimumPasswordLength", "14")], CIS_ONLY),
    c("IAM.16", "Ensure IAM password policy prevents password reuse", "LOW", "IAM_PASSWORD_POLICY", &[("PasswordReusePrevention", "24")], CIS_ONLY),
    c("IAM.19", "MFA should be enabled for all IAM users", "MEDIUM", "IAM_USER_MFA_ENABLED", &[], NIST_ONLY),
    c("IAM.21", "IAM customer managed policies that you create should not allow wildcard actions for services", "LOW", "IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS", NO_BOUNDARY, BOTH),
    c("IAM.22", "IAM user credentials unused for 45 days should be removed", "MEDIUM", "IAM_USER_UNUSED_CREDENTIALS_CHECK", &[("maxCredentialUsageAge", "45")], CIS_ONLY),
    c("KMS.3", "AWS KMS keys should not be deleted unintentionally", "CRITICAL", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", &[], BOTH),
    c("KMS.4", "AWS KMS key rotation should be enabled", "MEDIUM", "CMK_BACKING_KEY_ROTATION_ENABLED", &[], NIST_CIS),
    c("S3.1", "S3 general purpose buckets should have block public access settings enabled", "MEDIUM", "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC", &[], ALL),
    c("S3.2", "S3 general purpose buckets should block public read access", "CRITICAL", "S3_BUCKET_PUBLIC_READ_PROHIBITED", &[], BOTH),
    c("S3.3", "S3 general purpose buckets should block public write access", "CRITICAL", "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", &[], BOTH),
    c("S3.5", "S3 general purpose buckets should require requests to use SSL", "MEDIUM", "S3_BUCKET_SSL_REQUESTS_ONLY", &[], ALL),
    c("S3.8", "S3 general purpose buckets should block public access", "HIGH", "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", &[], ALL),
    c("S3.14", "S3 general purpose buckets should have versioning enabled", "LOW", "S3_BUCKET_VERSIONING_ENABLED", &[], NIST_ONLY),
    c("S3.17", "S3 general purpose buckets should be encrypted at rest with AWS KMS keys", "MEDIUM", "S3_DEFAULT_ENCRYPTION_KMS", &[], NIST_ONLY),
    c("SecretsManager.1", "Secrets Manager secrets should have automatic rotation enabled", "MEDIUM", "SECRETSMANAGER_ROTATION_ENABLED_CHECK", &[], BOTH),
    c("SecretsManager.3", "Remove unused Secrets Manager secrets", "MEDIUM", "SECRETSMANAGER_SECRET_UNUSED", &[("unusedForDays", "90")], BOTH),
    c("SecretsManager.4", "Secrets Manager secrets should be rotated within a specified number of days", "MEDIUM", "SECRETSMANAGER_SECRET_PERIODIC_ROTATION", &[("maxDaysSinceRotation", "90")], BOTH),
];

/// The standard with this key.
pub fn standard(key: &str) -> Option<&'static Standard> {
    STANDARDS.iter().find(|s| s.key == key)
}

/// The standard a standards ARN names (`arn:PARTITION:securityhub:REGION::standards/KEY`),
/// if the ARN is of `region` and its partition (or region-less, as CIS v1.2.0's ruleset ARN
/// is).
pub fn standard_of_arn(arn: &str, region: &str) -> Option<&'static Standard> {
    let rest = rampart_kit::Partition::of_region(region).strip_arn(arn, "securityhub")?;
    let (arn_region, rest) = rest.split_once(':')?;
    if !arn_region.is_empty() && arn_region != region {
        return None;
    }
    let key = rest.strip_prefix(":standards/")?;
    standard(key)
}

/// The ARN of a standard in `region`.
pub fn standards_arn(region: &str, key: &str) -> String {
    format!(
        "arn:{partition}:securityhub:{region}::standards/{key}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The ARN of an account's subscription to a standard.
pub fn subscription_arn(region: &str, account: &str, key: &str) -> String {
    format!(
        "arn:{partition}:securityhub:{region}:{account}:subscription/{key}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The ARN of a control in a standard (`StandardsControlArn`).
pub fn control_arn(region: &str, account: &str, key: &str, control: &str) -> String {
    format!(
        "arn:{partition}:securityhub:{region}:{account}:control/{key}/{control}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The ARN of a security control (`SecurityControlArn`).
pub fn security_control_arn(region: &str, account: &str, control: &str) -> String {
    format!(
        "arn:{partition}:securityhub:{region}:{account}:security-control/{control}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The control with this id.
pub fn control(id: &str) -> Option<&'static Control> {
    CONTROLS.iter().find(|c| c.id == id)
}

/// The controls of a standard.
pub fn controls_of(key: &str) -> impl Iterator<Item = &'static Control> + '_ {
    CONTROLS.iter().filter(move |c| c.standards.contains(&key))
}

/// The remediation page AWS links for a control.
pub fn remediation_url(id: &str) -> String {
    format!("https://docs.aws.amazon.com/console/securityhub/{id}/remediation")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_names_a_rule_config_evaluates_and_a_known_standard() {
        for c in CONTROLS {
            assert!(rampart_config::managed::find(c.rule).is_some(), "{}", c.id);
            assert!(
                c.standards.iter().all(|s| standard(s).is_some()),
                "{}",
                c.id
            );
            assert!(["CRITICAL", "HIGH", "MEDIUM", "LOW"].contains(&c.severity));
        }
        let mut ids: Vec<&str> = CONTROLS.iter().map(|c| c.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), CONTROLS.len());
    }

    #[test]
    fn standards_arns_name_their_standard_in_their_region() {
        let arn = standards_arn("us-east-1", FSBP);
        assert_eq!(
            arn,
            "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"
        );
        assert_eq!(
            standard_of_arn(&arn, "us-east-1").map(|s| s.key),
            Some(FSBP)
        );
        assert!(standard_of_arn(&arn, "eu-west-1").is_none());
        assert!(standard_of_arn(
            "arn:aws:securityhub:us-east-1::standards/x/v/1",
            "us-east-1"
        )
        .is_none());
    }
}
