//! The resources an analyzer reads, from the stores of the services that own them: IAM roles
//! (trust policy), KMS keys (key policy and grants), Secrets Manager secrets (resource policy)
//! and S3 buckets (bucket policy and ACL under Block Public Access).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_model::ServiceOp;
use rampart_policy::{Policy, PolicyKind};
use rampart_store::Entity;

use crate::analysis::{self, Access, Zone};

/// `AWS::IAM::Role`.
pub const ROLE: &str = "AWS::IAM::Role";
/// `AWS::IAM::User` (unused access analyzers only).
pub const USER: &str = "AWS::IAM::User";
/// `AWS::KMS::Key`.
pub const KEY: &str = "AWS::KMS::Key";
/// `AWS::SecretsManager::Secret`.
pub const SECRET: &str = "AWS::SecretsManager::Secret";
/// `AWS::S3::Bucket`.
pub const BUCKET: &str = "AWS::S3::Bucket";
/// The resource types analysed.
pub const TYPES: [&str; 4] = [ROLE, KEY, SECRET, BUCKET];

/// The actions of a role's trust policy.
const ROLE_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:SetContext",
    "sts:SetSourceIdentity",
    "sts:TagSession",
];

/// `service:Operation` for every operation of a service, sorted.
fn op_actions<O: ServiceOp>(prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = O::all()
        .iter()
        .map(|o| format!("{prefix}:{}", o.name()))
        .collect();
    v.sort();
    v
}

fn kms_actions() -> &'static [String] {
    static A: OnceLock<Vec<String>> = OnceLock::new();
    A.get_or_init(|| op_actions::<rampart_kms::Op>("kms"))
}

fn secret_actions() -> &'static [String] {
    static A: OnceLock<Vec<String>> = OnceLock::new();
    A.get_or_init(|| op_actions::<rampart_secretsmanager::Op>("secretsmanager"))
}

fn s3_actions() -> &'static [String] {
    static A: OnceLock<Vec<String>> = OnceLock::new();
    A.get_or_init(|| {
        let set: BTreeSet<String> = rampart_s3::Op::all()
            .iter()
            .filter_map(|op| rampart_s3::authz::action(*op))
            .map(str::to_string)
            .collect();
        set.into_iter().collect()
    })
}

/// What a resource's access is decided by.
#[derive(Debug, Clone)]
pub enum Body {
    /// A role's trust policy.
    Role {
        /// The trust policy (JSON text).
        trust: String,
    },
    /// A KMS key's policy and grants.
    Key {
        /// The key policy.
        policy: String,
        /// The grants.
        grants: Vec<rampart_kms::model::Grant>,
    },
    /// A secret's resource policy.
    Secret {
        /// The policy, if any.
        policy: Option<String>,
    },
    /// A bucket.
    Bucket(Box<rampart_s3::repo::Bucket>),
}

/// One analysed resource as read from its service's store.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The ARN.
    pub arn: String,
    /// The type (`AWS::IAM::Role`, ...).
    pub rtype: &'static str,
    /// The owning account.
    pub owner: String,
    /// The region it lives in; `None` for IAM roles (global).
    pub region: Option<String>,
    /// Its policies.
    pub body: Body,
}

impl Resource {
    /// What it grants outside `zone`. A policy that no longer parses grants nothing (the
    /// authorizer leaves it out too).
    pub fn accesses(&self, zone: &Zone) -> Vec<Access> {
        let parse = |text: &str, kind| Policy::parse(text, kind).ok();
        let refs = |v: &'static [String]| v.iter().map(String::as_str).collect::<Vec<_>>();
        match &self.body {
            Body::Role { trust } => parse(trust, PolicyKind::Trust)
                .map(|p| analysis::policy_accesses(&p, &self.arn, ROLE_ACTIONS, zone, None))
                .unwrap_or_default(),
            Body::Secret { policy } => policy
                .as_deref()
                .and_then(|t| parse(t, PolicyKind::Resource))
                .map(|p| {
                    analysis::policy_accesses(&p, &self.arn, &refs(secret_actions()), zone, None)
                })
                .unwrap_or_default(),
            Body::Key { policy, grants } => {
                let mut out = parse(policy, PolicyKind::Resource)
                    .map(|p| {
                        analysis::policy_accesses(&p, &self.arn, &refs(kms_actions()), zone, None)
                    })
                    .unwrap_or_default();
                for g in grants {
                    if let Some(a) = grant_access(g, zone) {
                        analysis::merge(&mut out, a);
                    }
                }
                out
            }
            Body::Bucket(bucket) => bucket_accesses(bucket, &self.arn, zone),
        }
    }
}

/// A KMS grant to a principal outside the zone; its encryption context constraints are its
/// conditions (`kms:EncryptionContext:KEY`).
fn grant_access(g: &rampart_kms::model::Grant, zone: &Zone) -> Option<Access> {
    let account = if g.grantee.len() == 12 && g.grantee.bytes().all(|b| b.is_ascii_digit()) {
        g.grantee.as_str()
    } else {
        // A service principal (`dynamodb.amazonaws.com`) is no external principal.
        analysis::arn_account(&g.grantee)?
    };
    if zone.trusts(account) {
        return None;
    }
    let mut condition = std::collections::BTreeMap::new();
    for (k, v) in g
        .context_subset
        .iter()
        .flatten()
        .chain(g.context_equals.iter().flatten())
    {
        condition.insert(format!("kms:EncryptionContext:{k}"), v.clone());
    }
    Some(Access {
        principal: [("AWS".to_string(), g.grantee.clone())].into(),
        condition,
        actions: g.operations.iter().map(|o| format!("kms:{o}")).collect(),
        is_public: false,
        sources: BTreeSet::new(),
    })
}

/// A bucket's policy and ACL under its Block Public Access settings (the bucket's and its
/// account's, combined): `RestrictPublicBuckets` leaves a public policy granting nothing
/// outside the owner's account; `IgnorePublicAcls` drops public ACL grants; ACLs take no part
/// when Object Ownership is `BucketOwnerEnforced`.
fn bucket_accesses(bucket: &rampart_s3::repo::Bucket, arn: &str, zone: &Zone) -> Vec<Access> {
    let block = rampart_s3::public_access::effective(bucket);
    let actions: Vec<&str> = s3_actions().iter().map(String::as_str).collect();
    let mut out = Vec::new();
    if !rampart_s3::public_access::restricts_policy(bucket) {
        if let Some(p) = bucket
            .doc
            .policy
            .as_deref()
            .and_then(|t| Policy::parse(t, PolicyKind::Resource).ok())
        {
            out = analysis::policy_accesses(&p, arn, &actions, zone, Some("POLICY"));
        }
    }
    if bucket.doc.acls_enabled() {
        if let Some(acl) = &bucket.doc.acl {
            let statements = rampart_s3::acl::statements(
                bucket.partition(),
                acl,
                bucket.name(),
                None,
                bucket.owner(),
                block.ignore_public_acls,
            );
            let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
            if let Ok(p) = Policy::from_value(&doc, PolicyKind::Resource) {
                for a in analysis::policy_accesses(&p, arn, &actions, zone, Some("BUCKET_ACL")) {
                    analysis::merge(&mut out, a);
                }
            }
        }
    }
    out
}

/// Every resource of `rtype` that `account` owns in `region` (roles in every region).
pub async fn list(
    db: &mut Db<'_>,
    account: &str,
    rtype: &str,
    region: &str,
) -> Result<Vec<Resource>, ServiceError> {
    let kind = match rtype {
        ROLE => rampart_iam::model::ROLE,
        KEY => rampart_kms::model::KEY_KIND,
        SECRET => rampart_secretsmanager::model::SECRET_KIND,
        BUCKET => rampart_s3::repo::BUCKET,
        _ => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    let account_block = if rtype == BUCKET {
        rampart_s3::public_access::account_block(db, account)
            .await
            .map_err(ServiceError::from)?
    } else {
        None
    };
    loop {
        let page = db
            .entities()
            .list(account, kind, "/", after.as_deref(), 500)
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        for e in page.items {
            if let Some(r) = from_entity(e, account_block)? {
                if r.region.as_deref().is_none_or(|r| r == region) {
                    out.push(r);
                }
            }
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// The resource an entity holds.
fn from_entity(
    e: Entity,
    account_block: Option<rampart_s3::public_access::PublicAccessBlock>,
) -> Result<Option<Resource>, ServiceError> {
    let (rtype, region, body) = match e.kind.as_str() {
        k if k == rampart_iam::model::ROLE => {
            let doc: rampart_iam::model::RoleDoc = entity::read_doc(&e)?;
            (
                ROLE,
                None,
                Body::Role {
                    trust: doc.assume_role_policy,
                },
            )
        }
        k if k == rampart_kms::model::KEY_KIND => {
            let key = rampart_kms::repo::parse(e.clone()).map_err(ServiceError::from)?;
            (
                KEY,
                Some(key.doc.region.clone()),
                Body::Key {
                    policy: key.doc.policy,
                    grants: key.doc.grants,
                },
            )
        }
        k if k == rampart_secretsmanager::model::SECRET_KIND => {
            let doc: rampart_secretsmanager::model::SecretDoc =
                serde_json::from_str(&e.doc).map_err(|_| ServiceError::internal())?;
            (
                SECRET,
                Some(doc.region),
                Body::Secret { policy: doc.policy },
            )
        }
        k if k == rampart_s3::repo::BUCKET => {
            let doc: rampart_s3::repo::BucketDoc = entity::read_doc(&e)?;
            let region = doc.region.clone();
            let bucket = rampart_s3::repo::Bucket {
                entity: e.clone(),
                doc,
                account_block,
            };
            (BUCKET, Some(region), Body::Bucket(Box::new(bucket)))
        }
        _ => return Ok(None),
    };
    let arn = match rtype {
        BUCKET => rampart_s3::names::bucket_arn(
            rampart_kit::Partition::of_region(region.as_deref().unwrap_or_default()),
            &e.name,
        ),
        _ => e.arn.clone(),
    };
    Ok(Some(Resource {
        arn,
        rtype,
        owner: e.account_id,
        region,
        body,
    }))
}

/// How a changed resource is named in its audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// A role by name.
    Role(String),
    /// A key by id.
    Key(String),
    /// A secret by ARN.
    SecretArn(String),
    /// A secret by name in a region.
    SecretName {
        /// The region.
        region: String,
        /// The name.
        name: String,
    },
    /// A bucket by name.
    Bucket(String),
}

/// The resource a locator finds in `account`, if it exists.
pub async fn find(
    db: &mut Db<'_>,
    account: &str,
    at: &Locator,
) -> Result<Option<Resource>, ServiceError> {
    let found = match at {
        Locator::Role(name) => {
            db.entities()
                .get(
                    account,
                    rampart_iam::model::ROLE,
                    &rampart_iam::model::name_key(name),
                )
                .await?
        }
        Locator::Key(id) => db
            .entities()
            .get_by_id(id)
            .await?
            .filter(|e| e.kind == rampart_kms::model::KEY_KIND),
        Locator::SecretArn(arn) => db
            .entities()
            .get_by_id(arn)
            .await?
            .filter(|e| e.kind == rampart_secretsmanager::model::SECRET_KIND),
        Locator::SecretName { region, name } => {
            db.entities()
                .get(
                    account,
                    rampart_secretsmanager::model::SECRET_KIND,
                    &rampart_secretsmanager::repo::name_key(region, name),
                )
                .await?
        }
        Locator::Bucket(name) => {
            let bucket = rampart_s3::repo::find_bucket(db, name)
                .await
                .map_err(ServiceError::from)?;
            return Ok(bucket.map(|b| Resource {
                arn: rampart_s3::names::bucket_arn(b.partition(), b.name()),
                rtype: BUCKET,
                owner: b.owner().to_string(),
                region: Some(b.doc.region.clone()),
                body: Body::Bucket(Box::new(b)),
            }));
        }
    };
    match found {
        Some(e) => {
            let block = None;
            from_entity(e, block)
        }
        None => Ok(None),
    }
}

/// The type of a resource ARN this analyzer reads, if any.
pub fn type_of_arn(arn: &str) -> Option<&'static str> {
    let service = arn.split(':').nth(2)?;
    Some(match service {
        "iam" if arn.contains(":role/") => ROLE,
        "kms" if arn.contains(":key/") => KEY,
        "secretsmanager" => SECRET,
        "s3" => BUCKET,
        _ => return None,
    })
}

/// The locator of a resource ARN.
pub fn locator_of_arn(arn: &str) -> Option<Locator> {
    let last = |sep: char| arn.rsplit(sep).next().map(str::to_string);
    Some(match type_of_arn(arn)? {
        ROLE => Locator::Role(last('/')?),
        // A multi-Region key's members share a key id; the store tells them apart by region.
        KEY => Locator::Key(rampart_kms::repo::storage_id(
            arn.split(':').nth(3)?,
            &last('/')?,
        )),
        SECRET => Locator::SecretArn(arn.to_string()),
        _ => Locator::Bucket(
            rampart_kit::Partition::of_arn(arn)?
                .strip_arn(arn, "s3")?
                .strip_prefix("::")?
                .to_string(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_types_and_locators() {
        assert_eq!(
            type_of_arn("arn:aws:iam::111122223333:role/a/b"),
            Some(ROLE)
        );
        assert_eq!(
            locator_of_arn("arn:aws:iam::111122223333:role/a/b"),
            Some(Locator::Role("b".into()))
        );
        assert_eq!(
            locator_of_arn("arn:aws:kms:us-east-1:111122223333:key/abc"),
            Some(Locator::Key("abc".into()))
        );
        assert_eq!(
            locator_of_arn("arn:aws:kms:eu-west-1:111122223333:key/mrk-abc"),
            Some(Locator::Key("mrk-abc/eu-west-1".into()))
        );
        assert_eq!(
            locator_of_arn("arn:aws-cn:s3:::bkt"),
            Some(Locator::Bucket("bkt".into()))
        );
        assert_eq!(type_of_arn("arn:aws:sqs:us-east-1:111122223333:q"), None);
        assert!(kms_actions().iter().any(|a| a == "kms:Decrypt"));
        assert!(s3_actions().iter().any(|a| a == "s3:GetObject"));
    }

    fn bucket(
        policy: Option<&str>,
        acl: Option<&str>,
        block: Option<PublicAccessBlock>,
    ) -> Resource {
        let now = chrono::Utc::now();
        let entity = Entity {
            account_id: "111122223333".into(),
            kind: rampart_s3::repo::BUCKET.into(),
            name: "b".into(),
            name_key: "b".into(),
            id: "s3:bucket/b".into(),
            path: "/".into(),
            arn: "arn:aws:s3:::b".into(),
            created_at: now,
            updated_at: now,
            doc: String::new(),
        };
        let doc = rampart_s3::repo::BucketDoc {
            region: "us-east-1".into(),
            policy: policy.map(str::to_string),
            public_access_block: block,
            acl: acl
                .map(|c| rampart_s3::acl::Acl::canned(c, "111122223333", "111122223333").unwrap()),
            ..Default::default()
        };
        Resource {
            arn: "arn:aws:s3:::b".into(),
            rtype: BUCKET,
            owner: "111122223333".into(),
            region: Some("us-east-1".into()),
            body: Body::Bucket(Box::new(rampart_s3::repo::Bucket {
                entity,
                doc,
                account_block: None,
            })),
        }
    }

    use rampart_s3::public_access::PublicAccessBlock;

    #[test]
    fn block_public_access_decides_what_a_bucket_grants() {
        let zone = Zone::of(["111122223333".to_string()], None);
        let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",
            "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let found = bucket(Some(public), None, None).accesses(&zone);
        assert_eq!(found.len(), 1);
        assert!(found[0].is_public);
        assert_eq!(found[0].sources.iter().collect::<Vec<_>>(), vec!["POLICY"]);
        let restrict = PublicAccessBlock {
            restrict_public_buckets: true,
            ..PublicAccessBlock::NONE
        };
        assert!(bucket(Some(public), None, Some(restrict))
            .accesses(&zone)
            .is_empty());
        // BlockPublicPolicy refuses new public policies; it leaves a stored one public.
        let block_policy = PublicAccessBlock {
            block_public_policy: true,
            ..PublicAccessBlock::NONE
        };
        assert!(bucket(Some(public), None, Some(block_policy)).accesses(&zone)[0].is_public);
        let acl = bucket(None, Some("public-read"), None).accesses(&zone);
        assert_eq!(acl.len(), 1);
        assert!(acl[0].is_public);
        assert_eq!(
            acl[0].sources.iter().collect::<Vec<_>>(),
            vec!["BUCKET_ACL"]
        );
        let ignore = PublicAccessBlock {
            ignore_public_acls: true,
            ..PublicAccessBlock::NONE
        };
        assert!(bucket(None, Some("public-read"), Some(ignore))
            .accesses(&zone)
            .is_empty());
        assert!(bucket(None, Some("private"), None)
            .accesses(&zone)
            .is_empty());
    }
}
