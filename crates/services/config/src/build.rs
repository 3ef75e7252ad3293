//! From a logged change to the resource it is about, and from a stored resource to its
//! snapshot: the one place that knows which store families are which Config resource types.

use rampart_kit::db::Db;
use rampart_store::{Change, Entity};
use serde::de::DeserializeOwned;

use crate::error::{ConfigError, ConfigResult};
use crate::model::Snapshot;
use crate::{build_iam, build_other};

/// The store families Config records, with their resource types (global ones first).
pub const RECORDED: &[(&str, &str)] = &[
    ("iam:user", "AWS::IAM::User"),
    ("iam:group", "AWS::IAM::Group"),
    ("iam:role", "AWS::IAM::Role"),
    ("iam:policy", "AWS::IAM::Policy"),
    ("kms:key", "AWS::KMS::Key"),
    ("secretsmanager:secret", "AWS::SecretsManager::Secret"),
    ("s3:bucket", "AWS::S3::Bucket"),
    (
        rampart_s3::public_access::ACCOUNT_BLOCK,
        "AWS::S3::AccountPublicAccessBlock",
    ),
    ("cloudtrail:trail", "AWS::CloudTrail::Trail"),
];

/// The resource type of a store family, if Config records it.
pub fn type_of_kind(kind: &str) -> Option<&'static str> {
    RECORDED.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}

/// True for IAM's types, which AWS records as global resources.
pub fn is_global(resource_type: &str) -> bool {
    resource_type.starts_with("AWS::IAM::")
}

/// What a change is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A recorded resource, by its entity's kind and name key.
    Resource {
        /// The entity kind.
        kind: String,
        /// The entity's name key.
        key: String,
    },
    /// Every resource of one family in the account (the account-level public access block
    /// changes every bucket's effective settings, besides being a resource of its own).
    Family(String),
    /// The account itself (password policy, root credentials): account-level rules.
    Account,
}

/// The document of an entity.
pub fn doc_of<T: DeserializeOwned>(e: &Entity) -> ConfigResult<T> {
    serde_json::from_str(&e.doc).map_err(|err| {
        tracing::error!(kind = %e.kind, id = %e.id, error = %err, "config: unreadable document");
        ConfigError::internal()
    })
}

/// The targets of one change (none when it concerns nothing Config records).
pub async fn targets(db: &mut Db<'_>, change: &Change) -> ConfigResult<Vec<Target>> {
    let kind = change.kind.as_str();
    if type_of_kind(kind).is_some() {
        let mut out = vec![Target::Resource {
            kind: change.kind.clone(),
            key: change.key.clone(),
        }];
        if kind == "cloudtrail:trail" {
            // CLOUD_TRAIL_ENABLED and MULTI_REGION_CLOUD_TRAIL_ENABLED look at every trail.
            out.push(Target::Account);
        }
        if kind == rampart_s3::public_access::ACCOUNT_BLOCK {
            // The account-level block changes every bucket's effective settings, and the
            // account-level rules read it.
            out.push(Target::Family("s3:bucket".into()));
            out.push(Target::Account);
        }
        return Ok(out);
    }
    match kind {
        "iam:password-policy" => Ok(vec![Target::Account]),
        // Links, login profiles and access keys are keyed by the owning entity's id.
        _ => {
            if change.key == change.account_id {
                return Ok(vec![Target::Account]);
            }
            match db.entities().get_by_id(&change.key).await? {
                Some(e) if type_of_kind(&e.kind).is_some() => Ok(vec![Target::Resource {
                    kind: e.kind,
                    key: e.name_key,
                }]),
                _ => Ok(Vec::new()),
            }
        }
    }
}

/// The snapshot of a stored resource of a recorded family.
pub async fn snapshot(db: &mut Db<'_>, e: &Entity) -> ConfigResult<Option<Snapshot>> {
    Ok(Some(match e.kind.as_str() {
        "iam:user" => build_iam::user(db, e).await?,
        "iam:group" => build_iam::group(db, e).await?,
        "iam:role" => build_iam::role(db, e).await?,
        "iam:policy" => build_iam::policy(db, e).await?,
        "kms:key" => build_other::kms_key(e)?,
        "secretsmanager:secret" => build_other::secret(e)?,
        "s3:bucket" => build_other::bucket(db, e).await?,
        "cloudtrail:trail" => build_other::trail(e)?,
        rampart_s3::public_access::ACCOUNT_BLOCK => {
            return build_other::account_public_access_block(db, e).await;
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_map_to_aws_types() {
        assert_eq!(type_of_kind("s3:bucket"), Some("AWS::S3::Bucket"));
        assert_eq!(type_of_kind("s3:object"), None);
        assert_eq!(
            type_of_kind("s3:account-public-access-block"),
            Some("AWS::S3::AccountPublicAccessBlock")
        );
        assert!(is_global("AWS::IAM::Role"));
        assert!(!is_global("AWS::KMS::Key"));
    }
}
