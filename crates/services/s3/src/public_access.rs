//! S3 Block Public Access: the bucket-level calls (`PutPublicAccessBlock`,
//! `GetPublicAccessBlock`, `DeletePublicAccessBlock`), the account-level settings S3 Control
//! sets (stored here, see [`account_block`]), and what the settings do.
//!
//! - A new bucket has all four settings on (AWS's default for buckets made since April 2023);
//!   `DeletePublicAccessBlock` removes the configuration (and `GetPublicAccessBlock` then
//!   answers `NoSuchPublicAccessBlockConfiguration`).
//! - What applies to a bucket is the most restrictive combination of its own settings and its
//!   owner's account-level ones: each setting is on when either level has it on
//!   ([`effective`]).
//! - `BlockPublicPolicy`: `PutBucketPolicy` refuses a public policy (see [`check_policy`]).
//! - `RestrictPublicBuckets`: while the bucket's policy is public, that policy grants nothing
//!   to callers outside the bucket owner's account, anonymous ones included (see
//!   [`restricts_policy`]; the authorizer drops such a policy for them).
//! - `BlockPublicAcls`: a call that sets a public ACL is refused; `IgnorePublicAcls`: public
//!   grants take no part in authorization (see [`crate::ownership`]).

use rampart_kit::{context::CallContext, db::Db};
use rampart_policy::{Policy, PolicyKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use chrono::{DateTime, Utc};
use rampart_kit::entity;
use rampart_store::Entity;

use crate::{
    error::{S3Error, S3Result},
    input::bucket_name,
    names::bucket_arn,
    repo::{self, Bucket},
};

/// The entity kind of an account's Block Public Access settings (one per account, keyed
/// [`ACCOUNT_BLOCK_KEY`]).
pub const ACCOUNT_BLOCK: &str = "s3:account-public-access-block";

/// The name key of an account's settings.
const ACCOUNT_BLOCK_KEY: &str = "default";

/// A bucket's Block Public Access settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// Refuse calls that set a public ACL.
    pub block_public_acls: bool,
    /// Leave public ACL grants out of authorization.
    pub ignore_public_acls: bool,
    /// Refuse a public bucket policy.
    pub block_public_policy: bool,
    /// While the policy is public, serve only the owner's account through it.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Every setting off.
    pub const NONE: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: false,
        ignore_public_acls: false,
        block_public_policy: false,
        restrict_public_buckets: false,
    };

    /// Each setting on where either configuration has it on.
    pub fn or(self, other: PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }

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

/// The settings in force for a bucket: its own and its owner's account-level ones, combined
/// (the most restrictive of the two, as AWS applies them).
pub fn effective(bucket: &Bucket) -> PublicAccessBlock {
    let own = bucket
        .doc
        .public_access_block
        .unwrap_or(PublicAccessBlock::NONE);
    own.or(bucket.account_block.unwrap_or(PublicAccessBlock::NONE))
}

/// `BlockPublicPolicy`: refuses `policy` for `bucket` when it is public and the bucket or its
/// owner's account blocks public policies, with AWS's message.
pub fn check_policy(bucket: &Bucket, policy: &Policy, ctx: &CallContext) -> S3Result<()> {
    let blocks = effective(bucket).block_public_policy;
    if blocks && rampart_policy::public::is_public(policy) {
        return Err(S3Error::AccessDenied(format!(
            "User: {} is not authorized to perform: s3:PutBucketPolicy on resource: \"{}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
            ctx.principal.arn,
            bucket_arn(bucket.partition(), bucket.name())
        )));
    }
    Ok(())
}

/// `RestrictPublicBuckets`: whether the bucket's policy grants only within the owner's
/// account, which holds while the setting is on and the policy is public.
pub fn restricts_policy(bucket: &Bucket) -> bool {
    effective(bucket).restrict_public_buckets
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

/// The account's own Block Public Access settings (S3 Control's), if set.
pub async fn account_block(db: &mut Db<'_>, account: &str) -> S3Result<Option<PublicAccessBlock>> {
    let found = entity::load_doc::<Option<PublicAccessBlock>>(
        db,
        account,
        ACCOUNT_BLOCK,
        ACCOUNT_BLOCK_KEY,
    )
    .await?;
    Ok(found.and_then(|(_, block)| block))
}

/// Sets the account's Block Public Access settings, which apply to all its buckets.
pub async fn put_account_block(
    db: &mut Db<'_>,
    account: &str,
    block: PublicAccessBlock,
    now: DateTime<Utc>,
) -> S3Result<()> {
    let found = entity::find(db, account, ACCOUNT_BLOCK, ACCOUNT_BLOCK_KEY).await?;
    match found {
        Some(e) => entity::save_doc(db, e, &Some(block), now).await?,
        None => {
            let e = Entity {
                account_id: account.to_string(),
                kind: ACCOUNT_BLOCK.to_string(),
                name: ACCOUNT_BLOCK_KEY.to_string(),
                name_key: ACCOUNT_BLOCK_KEY.to_string(),
                id: format!("{ACCOUNT_BLOCK}/{account}"),
                path: "/".to_string(),
                arn: String::new(),
                created_at: now,
                updated_at: now,
                doc: entity::to_text(&Some(block))?,
            };
            db.entities().create(&e).await?;
        }
    }
    entity::bump(db).await?;
    Ok(())
}

/// Removes the account's Block Public Access settings; `false` when there were none.
pub async fn delete_account_block(db: &mut Db<'_>, account: &str) -> S3Result<bool> {
    if entity::find(db, account, ACCOUNT_BLOCK, ACCOUNT_BLOCK_KEY)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    db.entities()
        .delete(account, ACCOUNT_BLOCK, ACCOUNT_BLOCK_KEY)
        .await?;
    entity::bump(db).await?;
    Ok(true)
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
            account_block: None,
            entity: rampart_store::Entity {
                account_id: "111122223333".into(),
                kind: repo::BUCKET.into(),
                name: "docs".into(),
                name_key: "docs".into(),
                id: "s3:bucket/docs".into(),
                path: "/".into(),
                arn: bucket_arn(rampart_kit::Partition::Aws, "docs"),
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
        let ctx = rampart_kit::test_support::context(Principal::root(
            rampart_kit::Partition::Aws,
            "111122223333",
            "AKIA",
        ));
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
    fn the_account_settings_add_to_the_bucket_settings() {
        let ctx = rampart_kit::test_support::context(Principal::root(
            rampart_kit::Partition::Aws,
            "111122223333",
            "AKIA",
        ));
        let mut b = bucket(None, Some(PUBLIC));
        assert_eq!(effective(&b), PublicAccessBlock::NONE);
        assert!(!restricts_policy(&b));
        b.account_block = Some(PublicAccessBlock {
            restrict_public_buckets: true,
            ..PublicAccessBlock::NONE
        });
        assert!(restricts_policy(&b));
        assert!(check_policy(&b, &parsed(PUBLIC), &ctx).is_ok());
        b.account_block = Some(PublicAccessBlock {
            block_public_policy: true,
            ..PublicAccessBlock::NONE
        });
        assert!(matches!(
            check_policy(&b, &parsed(PUBLIC), &ctx),
            Err(S3Error::AccessDenied(_))
        ));
        // A bucket setting that is off does not turn the account's off.
        b.doc.public_access_block = Some(PublicAccessBlock::NONE);
        assert!(check_policy(&b, &parsed(PUBLIC), &ctx).is_err());
        let own = PublicAccessBlock {
            ignore_public_acls: true,
            ..PublicAccessBlock::NONE
        };
        b.doc.public_access_block = Some(own);
        let both = effective(&b);
        assert!(both.ignore_public_acls && both.block_public_policy);
        assert!(!both.block_public_acls && !both.restrict_public_buckets);
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
