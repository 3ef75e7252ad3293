//! The tactics, techniques and procedures (MITRE ATT&CK for cloud) that `TTP_OBSERVED` names:
//! which calls are evidence of a tactic, and which GuardDuty finding types are.
//!
//! | Tactic | Technique | Calls |
//! | --- | --- | --- |
//! | Defense Evasion | T1562.008 Impair Defenses: Disable or Modify Cloud Logs | CloudTrail `StopLogging`, `DeleteTrail`, `UpdateTrail`, `PutEventSelectors`; GuardDuty `DeleteDetector`, `UpdateDetector`, `DeleteThreatIntelSet`, `CreateIPSet` |
//! | Persistence | T1098.001 Account Manipulation: Additional Cloud Credentials | IAM `CreateAccessKey`, `CreateLoginProfile`, `UpdateLoginProfile` |
//! | Persistence | T1136.003 Create Account: Cloud Account | IAM `CreateUser` |
//! | Privilege Escalation | T1098.003 Account Manipulation: Additional Cloud Roles | IAM `AttachUserPolicy`, `PutUserPolicy`, `AttachRolePolicy`, `PutRolePolicy`, `AddUserToGroup`, `UpdateAssumeRolePolicy`, `AttachGroupPolicy`, `PutGroupPolicy` |
//! | Discovery | T1087.004 Account Discovery: Cloud Account | IAM `ListUsers`, `ListRoles`, `ListGroups`, `GetAccountAuthorizationDetails`, `ListAccessKeys` |
//! | Discovery | T1580 Cloud Infrastructure Discovery | S3 `ListBuckets`; KMS `ListKeys`; Secrets Manager `ListSecrets` |
//! | Credential Access | T1555.006 Credentials from Password Stores: Cloud Secrets Management Stores | Secrets Manager `GetSecretValue` |
//! | Exfiltration | T1537 Transfer Data to Cloud Account | S3 `PutBucketPolicy`, `PutBucketAcl` |
//! | Impact | T1485 Data Destruction | S3 `DeleteBucket`; KMS `ScheduleKeyDeletion`; Secrets Manager `DeleteSecret` |
//!
//! A GuardDuty finding type maps by its threat purpose (the part before `:`): `Stealth` is
//! Defense Evasion, `Persistence`, `PrivilegeEscalation`, `Discovery`, `CredentialAccess`,
//! `Exfiltration`, `Impact` themselves, `UnauthorizedAccess` and `Policy` Initial Access,
//! `PenTest` Discovery (technique T1595 Active Scanning).

/// A tactic and technique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttp {
    /// The ATT&CK tactic.
    pub tactic: &'static str,
    /// The ATT&CK technique, with its id.
    pub technique: &'static str,
}

const fn ttp(tactic: &'static str, technique: &'static str) -> Ttp {
    Ttp { tactic, technique }
}

const LOGS: Ttp = ttp(
    "Defense Evasion",
    "T1562.008 Impair Defenses: Disable or Modify Cloud Logs",
);
const CREDENTIALS: Ttp = ttp(
    "Persistence",
    "T1098.001 Account Manipulation: Additional Cloud Credentials",
);
const ACCOUNT: Ttp = ttp("Persistence", "T1136.003 Create Account: Cloud Account");
const ROLES: Ttp = ttp(
    "Privilege Escalation",
    "T1098.003 Account Manipulation: Additional Cloud Roles",
);
const ACCOUNT_DISCOVERY: Ttp = ttp("Discovery", "T1087.004 Account Discovery: Cloud Account");
const INFRA_DISCOVERY: Ttp = ttp("Discovery", "T1580 Cloud Infrastructure Discovery");
const SECRETS: Ttp = ttp(
    "Credential Access",
    "T1555.006 Credentials from Password Stores: Cloud Secrets Management Stores",
);
const EXFILTRATION: Ttp = ttp("Exfiltration", "T1537 Transfer Data to Cloud Account");
const DESTRUCTION: Ttp = ttp("Impact", "T1485 Data Destruction");

/// The tactic a call (`eventSource`, `eventName`) is evidence of, if any.
pub fn of_call(source: &str, name: &str) -> Option<Ttp> {
    let service = source.split('.').next().unwrap_or_default();
    Some(match (service, name) {
        ("cloudtrail", "StopLogging" | "DeleteTrail" | "UpdateTrail" | "PutEventSelectors")
        | (
            "guardduty",
            "DeleteDetector" | "UpdateDetector" | "DeleteThreatIntelSet" | "CreateIPSet",
        ) => LOGS,
        ("iam", "CreateAccessKey" | "CreateLoginProfile" | "UpdateLoginProfile") => CREDENTIALS,
        ("iam", "CreateUser") => ACCOUNT,
        (
            "iam",
            "AttachUserPolicy"
            | "PutUserPolicy"
            | "AttachRolePolicy"
            | "PutRolePolicy"
            | "AddUserToGroup"
            | "UpdateAssumeRolePolicy"
            | "AttachGroupPolicy"
            | "PutGroupPolicy",
        ) => ROLES,
        (
            "iam",
            "ListUsers"
            | "ListRoles"
            | "ListGroups"
            | "GetAccountAuthorizationDetails"
            | "ListAccessKeys",
        ) => ACCOUNT_DISCOVERY,
        ("s3", "ListBuckets") | ("kms", "ListKeys") | ("secretsmanager", "ListSecrets") => {
            INFRA_DISCOVERY
        }
        ("secretsmanager", "GetSecretValue") => SECRETS,
        ("s3", "PutBucketPolicy" | "PutBucketAcl") => EXFILTRATION,
        ("s3", "DeleteBucket")
        | ("kms", "ScheduleKeyDeletion")
        | ("secretsmanager", "DeleteSecret") => DESTRUCTION,
        _ => return None,
    })
}

/// The tactic a GuardDuty finding type names, if any.
pub fn of_finding(kind: &str) -> Option<Ttp> {
    let purpose = kind.split(':').next().unwrap_or_default();
    Some(match purpose {
        "Stealth" | "DefenseEvasion" => LOGS,
        "Persistence" => CREDENTIALS,
        "PrivilegeEscalation" => ROLES,
        "Discovery" => ACCOUNT_DISCOVERY,
        "CredentialAccess" => SECRETS,
        "Exfiltration" => EXFILTRATION,
        "Impact" => DESTRUCTION,
        "UnauthorizedAccess" | "Policy" => {
            ttp("Initial Access", "T1078.004 Valid Accounts: Cloud Accounts")
        }
        "PenTest" | "Recon" => ttp("Discovery", "T1595 Active Scanning"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_findings_map_to_tactics() {
        assert_eq!(
            of_call("cloudtrail.amazonaws.com", "StopLogging"),
            Some(LOGS)
        );
        assert_eq!(
            of_call("iam.amazonaws.com", "ListUsers").map(|t| t.tactic),
            Some("Discovery")
        );
        assert_eq!(of_call("sts.amazonaws.com", "GetCallerIdentity"), None);
        assert_eq!(of_call("s3.amazonaws.com", "GetObject"), None);
        assert_eq!(
            of_finding("UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom").map(|t| t.tactic),
            Some("Initial Access")
        );
        assert_eq!(of_finding("Nonsense"), None);
    }
}
