//! AWS-managed policies (`arn:aws:iam::aws:policy/NAME`), written from AWS's published
//! semantics for the services Rampart serves, and seeded into the store under the pseudo
//! account [`AWS_ACCOUNT`].

use chrono::Utc;
use rampart_kit::Partition;
use rampart_store::{Entity, Store, StoreError};

use super::{new_id, read_doc, write_doc, Res};
use crate::model::{arn, name_key, PolicyDoc, PolicyVersion, AWS_ACCOUNT, POLICY};

/// Name, description and document of every AWS-managed policy Rampart ships.
pub const POLICIES: &[(&str, &str, &str)] = &[
    (
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "ReadOnlyAccess",
        "Provides read-only access to AWS services and resources.",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Allow","Action":["iam:Generate*","iam:Get*","iam:List*","iam:Simulate*","sts:GetCallerIdentity","organizations:Describe*","organizations:List*","kms:Describe*","kms:Get*","kms:List*","secretsmanager:DescribeSecret","secretsmanager:GetResourcePolicy","secretsmanager:ListSecrets","secretsmanager:ListSecretVersionIds","cloudtrail:Describe*","cloudtrail:Get*","cloudtrail:List*","cloudtrail:LookupEvents","account:Get*","account:List*"],"Resource":"*"}]}"#,
    ),
    (
        "IAMFullAccess",
        "Provides full access to IAM via the AWS Management Console.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#,
    ),
    (
        "IAMReadOnlyAccess",
        "Provides read only access to IAM via the AWS Management Console.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
    ),
    (
        "PowerUserAccess",
        "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}"#,
    ),
    (
        "AWSKeyManagementServicePowerUser",
        "Provides access to AWS Key Management Service (KMS).",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}"#,
    ),
    (
        "SecretsManagerReadWrite",
        "Provides read/write access to AWS Secrets Manager via the AWS Management Console.",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"SecretsManagerReadWrite","Effect":"Allow","Action":["secretsmanager:*","kms:DescribeKey","kms:ListAliases","kms:ListKeys","tag:GetResources"],"Resource":"*"}]}"#,
    ),
    (
        "AWSOrganizationsFullAccess",
        "Provides full access to AWS Organizations.",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSOrganizationsFullAccess","Effect":"Allow","Action":["organizations:*","account:*"],"Resource":"*"},{"Sid":"AWSOrganizationsFullAccessCreateSLR","Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"*","Condition":{"StringEquals":{"iam:AWSServiceName":"organizations.amazonaws.com"}}}]}"#,
    ),
    (
        "AWSOrganizationsReadOnlyAccess",
        "Provides read-only access to AWS Organizations.",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSOrganizationsReadOnly","Effect":"Allow","Action":["organizations:Describe*","organizations:List*","account:GetAlternateContact","account:GetContactInformation","account:ListRegions","account:GetRegionOptStatus"],"Resource":"*"}]}"#,
    ),
];

/// The ARN of an AWS-managed policy.
pub fn policy_arn(partition: Partition, name: &str) -> String {
    arn(partition, AWS_ACCOUNT, "policy", "/", name)
}

/// Stores every AWS-managed policy that is missing or out of date (its default version gets
/// the shipped document). Idempotent; safe to run on every start and from several nodes.
pub async fn seed_aws_managed_policies(store: &Store, partition: Partition) -> Res<()> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    let mut changed = false;
    for (name, description, document) in POLICIES {
        let key = name_key(name);
        match tx.entities().get(AWS_ACCOUNT, POLICY, &key).await? {
            Some(mut e) => {
                let mut doc: PolicyDoc = read_doc(&e)?;
                if doc.default_document() == Some(*document) {
                    continue;
                }
                let version_id = format!("v{}", doc.next_version.max(1));
                doc.next_version = doc.next_version.max(1) + 1;
                doc.versions = vec![PolicyVersion {
                    version_id: version_id.clone(),
                    document: (*document).to_string(),
                    create_date: now,
                }];
                doc.default_version_id = version_id;
                write_doc(&mut e, &doc, now)?;
                tx.entities().update(&key, &e).await?;
                changed = true;
            }
            None => {
                let doc = PolicyDoc {
                    description: Some((*description).to_string()),
                    default_version_id: "v1".into(),
                    versions: vec![PolicyVersion {
                        version_id: "v1".into(),
                        document: (*document).to_string(),
                        create_date: now,
                    }],
                    next_version: 2,
                    tags: Vec::new(),
                    aws_managed: true,
                };
                let mut e = Entity {
                    account_id: AWS_ACCOUNT.into(),
                    kind: POLICY.into(),
                    name: (*name).to_string(),
                    name_key: key,
                    id: new_id("ANPA")?,
                    path: "/".into(),
                    arn: policy_arn(partition, name),
                    created_at: now,
                    updated_at: now,
                    doc: String::new(),
                };
                write_doc(&mut e, &doc, now)?;
                match tx.entities().create(&e).await {
                    Ok(()) => changed = true,
                    // Another node seeded it first.
                    Err(StoreError::AlreadyExists(_)) => return Ok(()),
                    Err(err) => return Err(err.into()),
                }
            }
        }
    }
    if changed {
        tx.authz_epoch().bump().await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_policy::{Policy, PolicyKind};

    #[test]
    fn shipped_documents_are_valid_identity_policies() {
        for (name, _, doc) in POLICIES {
            Policy::parse(doc, PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
            assert!(super::super::document::counted_size(doc) <= 6_144);
        }
        assert_eq!(
            policy_arn(Partition::Aws, "ReadOnlyAccess"),
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        );
    }
}
