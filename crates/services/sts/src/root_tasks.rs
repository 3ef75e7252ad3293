//! AWS's five task policies, which scope a root session from `AssumeRoot`
//! (`arn:aws:iam::aws:policy/root-task/NAME`). The documents are AWS's published versions
//! (v1, 2024-11-06): each denies everything but its task, and the task's actions on anything
//! but a root user (or for callers that are not root). They are session policies only: AWS
//! does not let them be attached, so they are not among the attachable AWS-managed policies.

/// The ARN prefix of the task policies.
pub const PREFIX: &str = "arn:aws:iam::aws:policy/root-task/";

/// (name, document) of every task policy.
pub const POLICIES: [(&str, &str); 5] = [
    (
        "IAMAuditRootUserCredentials",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAllOtherActionsOnAnyResource","Effect":"Deny","NotAction":["iam:ListAccessKeys","iam:ListSigningCertificates","iam:GetLoginProfile","iam:ListMFADevices","iam:GetAccountSummary","iam:GetUser","iam:GetAccessKeyLastUsed"],"Resource":"*"},{"Sid":"DenyAuditingCredentialsOnNonRootUserResource","Effect":"Deny","Action":["iam:ListAccessKeys","iam:ListSigningCertificates","iam:GetLoginProfile","iam:ListMFADevices","iam:GetUser","iam:GetAccessKeyLastUsed"],"NotResource":"arn:aws:iam::*:root"}]}"#,
    ),
    (
        "IAMCreateRootUserPassword",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAllOtherActionsOnAnyResource","Effect":"Deny","NotAction":["iam:CreateLoginProfile","iam:GetLoginProfile"],"Resource":"*"},{"Sid":"DenyCreatingPasswordOnNonRootUserResource","Effect":"Deny","Action":["iam:CreateLoginProfile","iam:GetLoginProfile"],"NotResource":"arn:aws:iam::*:root"}]}"#,
    ),
    (
        "IAMDeleteRootUserCredentials",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAllOtherActionsOnAnyResource","Effect":"Deny","NotAction":["iam:DeleteAccessKey","iam:DeleteSigningCertificate","iam:DeleteLoginProfile","iam:DeactivateMFADevice","iam:DeleteVirtualMFADevice","iam:ListAccessKeys","iam:ListSigningCertificates","iam:GetLoginProfile","iam:ListMFADevices","iam:GetUser","iam:GetAccessKeyLastUsed"],"Resource":"*"},{"Sid":"DenyDeletingRootUserCredentialsOnNonRootUserResource","Effect":"Deny","Action":["iam:DeleteAccessKey","iam:DeleteSigningCertificate","iam:DeleteLoginProfile","iam:DeactivateMFADevice","iam:DeleteVirtualMFADevice","iam:ListAccessKeys","iam:ListSigningCertificates","iam:GetLoginProfile","iam:ListMFADevices","iam:GetUser","iam:GetAccessKeyLastUsed"],"NotResource":"arn:aws:iam::*:root"}]}"#,
    ),
    (
        "S3UnlockBucketPolicy",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAllOtherActionsOnAnyResource","Effect":"Deny","NotAction":["s3:DeleteBucketPolicy","s3:PutBucketPolicy","s3:GetBucketPolicy","s3:ListAllMyBuckets"],"Resource":"*"},{"Sid":"DenyManagingBucketPolicyForNonRootCallers","Effect":"Deny","Action":["s3:DeleteBucketPolicy","s3:PutBucketPolicy","s3:GetBucketPolicy","s3:ListAllMyBuckets"],"Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}"#,
    ),
    (
        "SQSUnlockQueuePolicy",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAllOtherActionsOnAnyResource","Effect":"Deny","NotAction":["sqs:SetQueueAttributes","sqs:GetQueueAttributes","sqs:ListQueues","sqs:GetQueueUrl"],"Resource":"*"},{"Sid":"DenyGettingQueueAttributesOnNonOwnQueue","Effect":"Deny","Action":["sqs:GetQueueAttributes"],"Resource":"arn:aws:sqs:*:*:*","Condition":{"StringNotEqualsIfExists":{"aws:ResourceAccount":["${aws:PrincipalAccount}"]}}},{"Sid":"DenyActionsForNonRootUser","Effect":"Deny","Action":["sqs:SetQueueAttributes","sqs:GetQueueAttributes","sqs:ListQueues","sqs:GetQueueUrl"],"Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}"#,
    ),
];

/// The document of the task policy at `arn`, if it is one of AWS's five.
pub fn document(arn: &str) -> Option<&'static str> {
    let name = arn.strip_prefix(PREFIX)?;
    POLICIES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_policy::{Policy, PolicyKind};

    #[test]
    fn every_task_policy_parses_as_a_session_policy() {
        for (name, doc) in POLICIES {
            Policy::parse(doc, PolicyKind::Session)
                .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
        }
        assert!(document("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy").is_some());
        assert!(document("arn:aws:iam::aws:policy/AdministratorAccess").is_none());
        assert!(document("arn:aws:iam::aws:policy/root-task/Other").is_none());
    }
}
