//! The tactic families of API calls, as GuardDuty's `*/AnomalousBehavior` finding types name
//! them: which family a call belongs to, and the finding type, severity and wording of each.
//!
//! The families follow AWS's documented examples for each type: Discovery (`List*`,
//! `Describe*`, `Get*` reads such as `DescribeInstances`, `GetRolePolicy`, `ListAccessKeys`),
//! Persistence (`CreateAccessKey`, `ImportKeyPair`, `ModifyInstanceAttribute`, new users and
//! login profiles), PrivilegeEscalation (`AssociateIamInstanceProfile`, `AddUserToGroup`,
//! `PutUserPolicy`, policy attachments, `AssumeRole`), DefenseEvasion (`DeleteFlowLogs`,
//! `DisableAlarmActions`, `StopLogging`, turning off detectors and recorders),
//! CredentialAccess (`GetPasswordData`, `GetSecretValue`, `BatchGetSecretValue`,
//! `GenerateDbAuthToken`), and for S3 data: Discovery (listing), Exfiltration (reads),
//! Impact `.Write`, `.Delete` and `.Permission`.

use crate::finding::Level;

/// A tactic family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tactic {
    /// Reads that map an account: `Discovery:IAMUser/AnomalousBehavior`.
    Discovery,
    /// Ways back in: `Persistence:IAMUser/AnomalousBehavior`.
    Persistence,
    /// Higher permissions: `PrivilegeEscalation:IAMUser/AnomalousBehavior`.
    PrivilegeEscalation,
    /// Turning off what watches: `DefenseEvasion:IAMUser/AnomalousBehavior`.
    DefenseEvasion,
    /// Collecting secrets: `CredentialAccess:IAMUser/AnomalousBehavior`.
    CredentialAccess,
    /// Listing buckets and objects: `Discovery:S3/AnomalousBehavior`.
    S3Discovery,
    /// Reading objects out: `Exfiltration:S3/AnomalousBehavior`.
    S3Exfiltration,
    /// Writing objects: `Impact:S3/AnomalousBehavior.Write`.
    S3Write,
    /// Deleting objects or buckets: `Impact:S3/AnomalousBehavior.Delete`.
    S3Delete,
    /// Changing who may read a bucket: `Impact:S3/AnomalousBehavior.Permission`.
    S3Permission,
}

/// Every family, for tests and documentation.
pub const ALL: [Tactic; 10] = [
    Tactic::Discovery,
    Tactic::Persistence,
    Tactic::PrivilegeEscalation,
    Tactic::DefenseEvasion,
    Tactic::CredentialAccess,
    Tactic::S3Discovery,
    Tactic::S3Exfiltration,
    Tactic::S3Write,
    Tactic::S3Delete,
    Tactic::S3Permission,
];

const PERSISTENCE: &[&str] = &[
    "CreateUser",
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "UpdateAccessKey",
    "CreateServiceSpecificCredential",
    "UploadSSHPublicKey",
    "UploadSigningCertificate",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "CreateOpenIDConnectProvider",
    "CreateSAMLProvider",
    "ImportKeyPair",
    "ModifyInstanceAttribute",
];

const PRIVILEGE_ESCALATION: &[&str] = &[
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "AddUserToGroup",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeleteUserPermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "AssumeRole",
    "AssociateIamInstanceProfile",
];

const DEFENSE_EVASION: &[&str] = &[
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
    "DeleteDetector",
    "DisassociateFromAdministratorAccount",
    "DisassociateFromMasterAccount",
    "CreateIPSet",
    "UpdateIPSet",
    "StopConfigurationRecorder",
    "DeleteConfigurationRecorder",
    "DeleteDeliveryChannel",
    "DisableSecurityHub",
    "DeleteAnalyzer",
    "DeleteGraph",
    "DeleteFlowLogs",
    "DisableAlarmActions",
];

const CREDENTIAL_ACCESS: &[&str] = &[
    "GetSecretValue",
    "BatchGetSecretValue",
    "GetPasswordData",
    "GenerateDbAuthToken",
];

const S3_EXFILTRATION: &[&str] = &[
    "GetObject",
    "CopyObject",
    "UploadPartCopy",
    "SelectObjectContent",
    "GetObjectTorrent",
];
const S3_WRITE: &[&str] = &["PutObject", "CompleteMultipartUpload", "RestoreObject"];
const S3_DELETE: &[&str] = &["DeleteObject", "DeleteObjects", "DeleteBucket"];
const S3_PERMISSION: &[&str] = &[
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketAcl",
    "PutObjectAcl",
    "PutPublicAccessBlock",
    "DeletePublicAccessBlock",
];

/// Whether an operation name reads (`List*`, `Describe*`, `Get*`, `Head*`, `Lookup*`,
/// `Search*`).
fn reads(name: &str) -> bool {
    ["List", "Describe", "Get", "Head", "Lookup", "Search"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The family of the call `name` to `source` (`iam.amazonaws.com`), if it has one.
pub fn classify(source: &str, name: &str) -> Option<Tactic> {
    let of = |list: &[&str]| list.contains(&name);
    if source == "s3.amazonaws.com" {
        return if of(S3_EXFILTRATION) {
            Some(Tactic::S3Exfiltration)
        } else if of(S3_WRITE) {
            Some(Tactic::S3Write)
        } else if of(S3_DELETE) {
            Some(Tactic::S3Delete)
        } else if of(S3_PERMISSION) {
            Some(Tactic::S3Permission)
        } else if reads(name) {
            Some(Tactic::S3Discovery)
        } else {
            None
        };
    }
    if of(CREDENTIAL_ACCESS) {
        Some(Tactic::CredentialAccess)
    } else if of(PERSISTENCE) {
        Some(Tactic::Persistence)
    } else if of(PRIVILEGE_ESCALATION) {
        Some(Tactic::PrivilegeEscalation)
    } else if of(DEFENSE_EVASION) {
        Some(Tactic::DefenseEvasion)
    } else if reads(name) {
        Some(Tactic::Discovery)
    } else {
        None
    }
}

impl Tactic {
    /// The finding type.
    pub fn finding_type(self) -> &'static str {
        match self {
            Tactic::Discovery => "Discovery:IAMUser/AnomalousBehavior",
            Tactic::Persistence => "Persistence:IAMUser/AnomalousBehavior",
            Tactic::PrivilegeEscalation => "PrivilegeEscalation:IAMUser/AnomalousBehavior",
            Tactic::DefenseEvasion => "DefenseEvasion:IAMUser/AnomalousBehavior",
            Tactic::CredentialAccess => "CredentialAccess:IAMUser/AnomalousBehavior",
            Tactic::S3Discovery => "Discovery:S3/AnomalousBehavior",
            Tactic::S3Exfiltration => "Exfiltration:S3/AnomalousBehavior",
            Tactic::S3Write => "Impact:S3/AnomalousBehavior.Write",
            Tactic::S3Delete => "Impact:S3/AnomalousBehavior.Delete",
            Tactic::S3Permission => "Impact:S3/AnomalousBehavior.Permission",
        }
    }

    /// The family's name in the profile (its key in the stored baseline).
    pub fn key(self) -> &'static str {
        match self {
            Tactic::Discovery => "Discovery",
            Tactic::Persistence => "Persistence",
            Tactic::PrivilegeEscalation => "PrivilegeEscalation",
            Tactic::DefenseEvasion => "DefenseEvasion",
            Tactic::CredentialAccess => "CredentialAccess",
            Tactic::S3Discovery => "S3Discovery",
            Tactic::S3Exfiltration => "S3Exfiltration",
            Tactic::S3Write => "S3Write",
            Tactic::S3Delete => "S3Delete",
            Tactic::S3Permission => "S3Permission",
        }
    }

    /// The tactic's name in titles ("APIs commonly used in Discovery tactics").
    pub fn tactic_name(self) -> &'static str {
        match self {
            Tactic::Discovery | Tactic::S3Discovery => "Discovery",
            Tactic::Persistence => "Persistence",
            Tactic::PrivilegeEscalation => "Privilege Escalation",
            Tactic::DefenseEvasion => "Defense Evasion",
            Tactic::CredentialAccess => "Credential Access",
            Tactic::S3Exfiltration => "Exfiltration",
            Tactic::S3Write | Tactic::S3Delete | Tactic::S3Permission => "Impact",
        }
    }

    /// AWS's default severity of the type.
    pub fn level(self) -> Level {
        match self {
            Tactic::Discovery | Tactic::S3Discovery => Level::Low,
            Tactic::Persistence
            | Tactic::PrivilegeEscalation
            | Tactic::DefenseEvasion
            | Tactic::CredentialAccess
            | Tactic::S3Write => Level::Medium,
            Tactic::S3Exfiltration | Tactic::S3Delete | Tactic::S3Permission => Level::High,
        }
    }

    /// Whether the family is about S3 data (its findings name the bucket).
    pub fn on_s3(self) -> bool {
        matches!(
            self,
            Tactic::S3Discovery
                | Tactic::S3Exfiltration
                | Tactic::S3Write
                | Tactic::S3Delete
                | Tactic::S3Permission
        )
    }

    /// Whether a burst of the family's calls by volume is itself anomalous (reads out of
    /// and deletes in S3).
    pub fn volume_matters(self) -> bool {
        matches!(self, Tactic::S3Exfiltration | Tactic::S3Delete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fall_into_the_documented_families() {
        let iam = "iam.amazonaws.com";
        let s3 = "s3.amazonaws.com";
        assert_eq!(classify(iam, "ListUsers"), Some(Tactic::Discovery));
        assert_eq!(
            classify("ec2.amazonaws.com", "DescribeInstances"),
            Some(Tactic::Discovery)
        );
        assert_eq!(classify(iam, "GetRolePolicy"), Some(Tactic::Discovery));
        assert_eq!(classify(iam, "CreateAccessKey"), Some(Tactic::Persistence));
        assert_eq!(
            classify(iam, "PutUserPolicy"),
            Some(Tactic::PrivilegeEscalation)
        );
        assert_eq!(
            classify("sts.amazonaws.com", "AssumeRole"),
            Some(Tactic::PrivilegeEscalation)
        );
        assert_eq!(
            classify("cloudtrail.amazonaws.com", "StopLogging"),
            Some(Tactic::DefenseEvasion)
        );
        assert_eq!(
            classify("secretsmanager.amazonaws.com", "GetSecretValue"),
            Some(Tactic::CredentialAccess)
        );
        assert_eq!(classify(s3, "GetObject"), Some(Tactic::S3Exfiltration));
        assert_eq!(classify(s3, "ListObjectsV2"), Some(Tactic::S3Discovery));
        assert_eq!(classify(s3, "DeleteObjects"), Some(Tactic::S3Delete));
        assert_eq!(classify(s3, "PutBucketPolicy"), Some(Tactic::S3Permission));
        assert_eq!(classify(s3, "PutObject"), Some(Tactic::S3Write));
        assert_eq!(classify(iam, "TagUser"), None);
        assert_eq!(classify(s3, "CreateBucket"), None);
    }

    #[test]
    fn each_family_has_its_own_type_and_aws_severity() {
        let types: std::collections::BTreeSet<_> = ALL.iter().map(|t| t.finding_type()).collect();
        assert_eq!(types.len(), ALL.len());
        assert_eq!(Tactic::Discovery.level(), Level::Low);
        assert_eq!(Tactic::Persistence.level(), Level::Medium);
        assert_eq!(Tactic::S3Exfiltration.level(), Level::High);
        assert!(ALL
            .iter()
            .all(|t| t.on_s3() == t.finding_type().contains(":S3/")));
    }
}
