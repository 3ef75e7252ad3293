//! S3 Block Public Access at the bucket level: `PutPublicAccessBlock`, `GetPublicAccessBlock`,
//! `DeletePublicAccessBlock`, and what the settings do.
//!
//! - A new bucket has all four settings on (AWS's default for buckets made since April 2023);
//!   `DeletePublicAccessBlock` removes the configuration (and `GetPublicAccessBlock` then
//!   answers `NoSuchPublicAccessBlockConfiguration`).
//! - `BlockPublicPolicy`: `PutBucketPolicy` refuses a public policy (see [`check_policy`]).
//! - `RestrictPublicBuckets`: while the bucket's policy is public, that policy grants nothing
//!   to callers outside the bucket owner's account, anonymous ones included (see
//!   [`restricts_policy`]; the authorizer drops such a policy for them).
//! - `BlockPublicAcls`, `IgnorePublicAcls`: stored and returned; ACLs are disabled
//!   (`BucketOwnerEnforced`), so there is no public ACL to block or ignore.
//!
//! Account-level settings (`s3control`) are not built: a bucket's own settings are the only
//! ones.

use rampart_kit::{context::CallContext, db::Db};
use rampart_policy::{Policy, PolicyKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    error::{S3Error, S3Result},
    input::bucket_name,
    names::bucket_arn,
    repo::{self, Bucket},
};

/// A bucket's Block Public Access settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// Refuse public ACLs (ACLs are disabled: stored only).
    pub block_public_acls: bool,
    /// Ignore public ACLs (ACLs are disabled: stored only).
    pub ignore_public_acls: bool,
    /// Refuse a public bucket policy.
    pub block_public_policy: bool,
    /// While the policy is public, serve only the owner's account through it.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Every setting on: a new bucket's configuration.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// The settings of a `PublicAccessBlockConfiguration` input (an absent one is off); S3
    /// refuses a configuration that names none.
    pub fn from_input(config: &Value) -> S3Result<PublicAccessBlock> {
        let members = [
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        ];
        if !members.iter().any(|m| config.get(m).is_some()) {
            return Err(S3Error::InvalidRequest(
                "Must specify at least one configuration.".into(),
            ));
        }
        let flag = |m: &str| config.get(m).and_then(Value::as_bool).unwrap_or(false);
        Ok(PublicAccessBlock {
            block_public_acls: flag("BlockPublicAcls"),
            ignore_public_acls: flag("IgnorePublicAcls"),
            block_public_policy: flag("BlockPublicPolicy"),
            restrict_public_buckets: flag("RestrictPublicBuckets"),
        })
    }

    /// The configuration as S3 returns it.
    pub fn to_output(self) -> Value {
        json!({
            "BlockPublicAcls": self.block_public_acls,
            "IgnorePublicAcls": self.ignore_public_acls,
            "BlockPublicPolicy": self.block_public_policy,
            "RestrictPublicBuckets": self.restrict_public_buckets,
        })
    }
}

/// `BlockPublicPolicy`: refuses `policy` for `bucket` when it is public and the bucket blocks
/// public policies, with AWS's message.
pub fn check_policy(bucket: &Bucket, policy: &Policy, ctx: &CallContext) -> S3Result<()> {
    let blocks = bucket
        .doc
        .public_access_block
        .is_some_and(|b| b.block_public_policy);
    if blocks && rampart_policy::public::is_public(policy) {
        return Err(S3Error::AccessDenied(format!(
            "User: {} is not authorized to perform: s3:PutBucketPolicy on resource: \"{}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
            ctx.principal.arn,
            bucket_arn(bucket.name())
        )));
    }
    Ok(())
}

/// `RestrictPublicBuckets`: whether the bucket's policy grants only within the owner's
/// account, which holds while the setting is on and the policy is public.
pub fn restricts_policy(bucket: &Bucket) -> bool {
    let restricts = bucket
        .doc
        .public_access_block
        .is_some_and(|b| b.restrict_public_buckets);
    restricts
        && bucket.doc.policy.as_deref().is_some_and(|text| {
            // A stored policy was validated when written; one that no longer parses grants
            // nothing (the authorizer leaves it out), so restricting it changes nothing.
            Policy::parse(text, PolicyKind::Resource)
                .map(|p| rampart_policy::public::is_public(&p))
                .unwrap_or(false)
        })
}

fn no_configuration() -> S3Error {
    S3Error::NoSuchPublicAccessBlockConfiguration(
        "The public access block configuration was not found".into(),
    )
}

/// `PutPublicAccessBlock`: replaces the bucket's settings.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let config = input
        .get("PublicAccessBlockConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    bucket.doc.public_access_block = Some(PublicAccessBlock::from_input(&config)?);
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    // The settings take part in authorization decisions.
    rampart_kit::entity::bump(&mut db).await?;
    Ok(json!({}))
}

/// `GetPublicAccessBlock`.
pub async fn get(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let block = bucket
        .doc
        .public_access_block
        .ok_or_else(no_configuration)?;
    Ok(json!({ "PublicAccessBlockConfiguration": block.to_output() }))
}

/// `DeletePublicAccessBlock` (succeeds when there is none).
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if bucket.doc.public_access_block.take().is_some() {
        repo::save_bucket(&mut db, bucket, ctx.now).await?;
        rampart_kit::entity::bump(&mut db).await?;
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::BucketDoc;
    use rampart_kit::principal::Principal;

    const PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}]}"#;
    const PRIVATE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}]}"#;

    fn bucket(block: Option<PublicAccessBlock>, policy: Option<&str>) -> Bucket {
        let doc = BucketDoc {
            region: "us-east-1".into(),
            policy: policy.map(str::to_string),
            public_access_block: block,
            ..BucketDoc::default()
        };
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        Bucket {
            entity: rampart_store::Entity {
                account_id: "111122223333".into(),
                kind: repo::BUCKET.into(),
                name: "docs".into(),
                name_key: "docs".into(),
                id: "s3:bucket/docs".into(),
                path: "/".into(),
                arn: bucket_arn("docs"),
                created_at: now,
                updated_at: now,
                doc: String::new(),
            },
            doc,
        }
    }

    fn parsed(text: &str) -> Policy {
        Policy::parse(text, PolicyKind::Resource).unwrap()
    }

    #[test]
    fn a_configuration_names_at_least_one_setting_and_absent_ones_are_off() {
        assert!(matches!(
            PublicAccessBlock::from_input(&json!({})),
            Err(S3Error::InvalidRequest(_))
        ));
        assert!(PublicAccessBlock::from_input(&Value::Null).is_err());
        let b = PublicAccessBlock::from_input(&json!({ "BlockPublicPolicy": true })).unwrap();
        assert!(b.block_public_policy && !b.restrict_public_buckets && !b.block_public_acls);
        let out = PublicAccessBlock::ALL.to_output();
        assert_eq!(out["RestrictPublicBuckets"], json!(true));
        assert_eq!(
            PublicAccessBlock::from_input(&out).unwrap(),
            PublicAccessBlock::ALL
        );
    }

    #[test]
    fn block_public_policy_refuses_only_public_policies_with_aws_message() {
        let ctx = rampart_kit::test_support::context(Principal::root("111122223333", "AKIA"));
        let blocked = bucket(Some(PublicAccessBlock::ALL), None);
        match check_policy(&blocked, &parsed(PUBLIC), &ctx) {
            Err(S3Error::AccessDenied(m)) => assert_eq!(
                m,
                "User: arn:aws:iam::111122223333:root is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::docs\" because public policies are blocked by the BlockPublicPolicy block public access setting."
            ),
            other => panic!("{other:?}"),
        }
        assert!(check_policy(&blocked, &parsed(PRIVATE), &ctx).is_ok());
        let off = PublicAccessBlock {
            block_public_policy: false,
            ..PublicAccessBlock::ALL
        };
        assert!(check_policy(&bucket(Some(off), None), &parsed(PUBLIC), &ctx).is_ok());
        assert!(check_policy(&bucket(None, None), &parsed(PUBLIC), &ctx).is_ok());
    }

    #[test]
    fn restrict_public_buckets_applies_to_a_public_policy_only() {
        let all = Some(PublicAccessBlock::ALL);
        assert!(restricts_policy(&bucket(all, Some(PUBLIC))));
        assert!(!restricts_policy(&bucket(all, Some(PRIVATE))));
        assert!(!restricts_policy(&bucket(all, None)));
        assert!(!restricts_policy(&bucket(None, Some(PUBLIC))));
        let off = PublicAccessBlock {
            restrict_public_buckets: false,
            ..PublicAccessBlock::ALL
        };
        assert!(!restricts_policy(&bucket(Some(off), Some(PUBLIC))));
    }
}
