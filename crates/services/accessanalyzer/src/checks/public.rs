//! `CheckNoPublicAccess`'s decision: the `Allow` statements of a resource policy that may
//! grant public access to a resource of the given type.
//!
//! A statement is public by `rampart_policy::public`'s rule (the one external-access
//! findings, S3's `GetBucketPolicyStatus` and Secrets Manager's `BlockPublicPolicy` use): it
//! names every principal (`*`, `{"AWS": "*"}`, or a `NotPrincipal`) and no condition limits the
//! callers to fixed accounts, organizations, ARNs, VPCs, VPC endpoints or IP ranges. In a role
//! trust policy a federated identity provider without any condition is public too (anyone the
//! provider signs in). A public statement counts for the resource type when its actions may
//! include an action of the type's service; Denies are not subtracted.

use rampart_policy::{principal::PrincipalEntry, Effect, Policy, Statement};

use super::patterns::{may_match, Kind, Set};
use super::statements::unconditional;

/// The resource types of `AccessCheckResourceType`, each with the service prefixes of the
/// actions its policies grant.
pub const RESOURCE_TYPES: &[(&str, &[&str])] = &[
    ("AWS::DynamoDB::Table", &["dynamodb"]),
    ("AWS::DynamoDB::Stream", &["dynamodb"]),
    ("AWS::EFS::FileSystem", &["elasticfilesystem"]),
    ("AWS::OpenSearchService::Domain", &["es"]),
    ("AWS::Kinesis::Stream", &["kinesis"]),
    ("AWS::Kinesis::StreamConsumer", &["kinesis"]),
    ("AWS::KMS::Key", &["kms"]),
    ("AWS::Lambda::Function", &["lambda"]),
    ("AWS::S3::Bucket", &["s3"]),
    ("AWS::S3::AccessPoint", &["s3"]),
    ("AWS::S3Express::DirectoryBucket", &["s3express"]),
    ("AWS::S3::Glacier", &["glacier"]),
    ("AWS::S3Outposts::Bucket", &["s3-outposts"]),
    ("AWS::S3Outposts::AccessPoint", &["s3-outposts"]),
    ("AWS::SecretsManager::Secret", &["secretsmanager"]),
    ("AWS::SNS::Topic", &["sns"]),
    ("AWS::SQS::Queue", &["sqs"]),
    ("AWS::IAM::AssumeRolePolicyDocument", &["sts"]),
    ("AWS::S3Tables::TableBucket", &["s3tables"]),
    ("AWS::ApiGateway::RestApi", &["execute-api"]),
    ("AWS::CodeArtifact::Domain", &["codeartifact"]),
    ("AWS::Backup::BackupVault", &["backup"]),
    ("AWS::CloudTrail::Dashboard", &["cloudtrail"]),
    ("AWS::CloudTrail::EventDataStore", &["cloudtrail"]),
    ("AWS::S3Tables::Table", &["s3tables"]),
    ("AWS::S3Express::AccessPoint", &["s3express"]),
];

/// The service prefixes of `resource_type`'s actions (`None`: not a type of the enum).
pub fn services(resource_type: &str) -> Option<&'static [&'static str]> {
    RESOURCE_TYPES
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, s)| *s)
}

/// The indexes of the statements that may grant public access for a resource whose actions
/// have the prefixes `services`, in order.
pub fn public_statements(policy: &Policy, services: &[&str], trust: bool) -> Vec<usize> {
    let open = rampart_policy::public::public_statements(policy);
    policy
        .statements
        .iter()
        .enumerate()
        .filter(|(i, s)| open.contains(i) || (trust && open_federation(s)))
        .filter(|(_, s)| {
            let actions = Set::of_action(&s.action);
            services
                .iter()
                .any(|svc| may_match(Kind::Action, &actions, &format!("{svc}:*")))
        })
        .map(|(i, _)| i)
        .collect()
}

/// An Allow naming a federated identity provider without any condition.
fn open_federation(s: &Statement) -> bool {
    s.effect == Effect::Allow
        && unconditional(s)
        && s.principal.as_ref().is_some_and(|p| {
            !p.negated
                && p.entries
                    .iter()
                    .any(|e| matches!(e, PrincipalEntry::Federated(_)))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use rampart_policy::PolicyKind;
    use serde_json::{json, Value};

    fn run(kind: PolicyKind, statements: Value, rtype: &str) -> Vec<usize> {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        let policy = Policy::from_value(&doc, kind).unwrap();
        public_statements(&policy, services(rtype).unwrap(), kind == PolicyKind::Trust)
    }

    const BUCKET: &str = "AWS::S3::Bucket";

    #[test]
    fn wildcard_principals_without_limits_are_public() {
        let open = json!([{"Sid": "Bob", "Effect": "Allow", "Principal": "*",
            "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}]);
        assert_eq!(run(PolicyKind::Resource, open.clone(), BUCKET), vec![0]);
        // The actions of another service grant nothing public on a bucket.
        assert!(run(PolicyKind::Resource, open, "AWS::SQS::Queue").is_empty());
        let star = json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
            "Resource": "*"}]);
        assert_eq!(run(PolicyKind::Resource, star, "AWS::SQS::Queue"), vec![0]);
        let not_action = json!([{"Effect": "Allow", "Principal": "*", "NotAction": "sqs:*",
            "Resource": "*"}]);
        assert!(run(PolicyKind::Resource, not_action.clone(), "AWS::SQS::Queue").is_empty());
        assert_eq!(
            run(PolicyKind::Resource, not_action, "AWS::SNS::Topic"),
            vec![0]
        );
    }

    #[test]
    fn limiting_conditions_and_named_principals_are_not() {
        for cond in [
            json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}),
            json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}}),
            json!({"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
            json!({"StringEquals": {"aws:PrincipalAccount": "111122223333"}}),
        ] {
            let st = json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                "Resource": "*", "Condition": cond}]);
            assert!(run(PolicyKind::Resource, st, BUCKET).is_empty());
        }
        for cond in [
            json!({"Bool": {"aws:SecureTransport": "true"}}),
            json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}),
            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
        ] {
            let st = json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                "Resource": "*", "Condition": cond}]);
            assert_eq!(run(PolicyKind::Resource, st, BUCKET), vec![0]);
        }
        let named = json!([{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:user/JohnDoe"},
            "Action": "s3:GetObject", "Resource": "*"}]);
        assert!(run(PolicyKind::Resource, named, BUCKET).is_empty());
    }

    #[test]
    fn trust_policies_and_federation() {
        let open = json!([{"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"},
            "Action": "sts:AssumeRoleWithWebIdentity"}]);
        let rt = "AWS::IAM::AssumeRolePolicyDocument";
        assert_eq!(run(PolicyKind::Trust, open, rt), vec![0]);
        let bound = json!([{"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"accounts.google.com:aud": "app"}}}]);
        assert!(run(PolicyKind::Trust, bound, rt).is_empty());
        assert_eq!(RESOURCE_TYPES.len(), 26);
    }
}
