//! IAM's stored shapes: entity kinds, link kinds and the JSON documents kept in
//! [`rampart_store::Entity::doc`].
//!
//! Names are unique case-insensitively in IAM, so an entity's `name_key` is its lower-cased
//! name. IDs use AWS's prefixes (`AIDA` users, `AGPA` groups, `AROA` roles, `ANPA` policies,
//! `AIPA` instance profiles). AWS-managed policies live under the pseudo-account
//! [`AWS_ACCOUNT`] so that `arn:aws:iam::aws:policy/...` resolves like any other policy.

use rampart_kit::Partition;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Entity kind of IAM users.
pub const USER: &str = "iam:user";
/// Entity kind of IAM groups.
pub const GROUP: &str = "iam:group";
/// Entity kind of IAM roles.
pub const ROLE: &str = "iam:role";
/// Entity kind of managed policies (customer- and AWS-managed).
pub const POLICY: &str = "iam:policy";
/// Entity kind of instance profiles.
pub const INSTANCE_PROFILE: &str = "iam:instance-profile";

/// Entity kind of account aliases (id `alias:NAME`, unique across the store).
pub const ACCOUNT_ALIAS: &str = "iam:account-alias";

/// Link kind: user id -> group id (group membership).
pub const LINK_MEMBER: &str = "iam:member";
/// Link kind: user, group or role id -> managed policy ARN (attachment).
pub const LINK_ATTACHED: &str = "iam:attached";
/// Link kind: user or role id -> managed policy ARN used as its permissions boundary
/// (`PolicyUsageFilter=PermissionsBoundary`, `PermissionsBoundaryUsageCount`).
pub const LINK_BOUNDARY: &str = "iam:boundary";

/// Link kind: instance profile id -> role id.
pub const LINK_PROFILE_ROLE: &str = "iam:profile-role";

/// The account id under which AWS-managed policies are stored.
pub const AWS_ACCOUNT: &str = "aws";

/// The uniqueness key of an IAM name.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// A tag, as IAM's API spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Tag key (unique case-insensitively per resource).
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// An IAM user's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDoc {
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// ARN of the managed policy used as permissions boundary.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Inline policies: name -> document (JSON text as given, whitespace kept).
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// Last console sign-in.
    #[serde(default)]
    pub password_last_used: Option<DateTime<Utc>>,
}

/// An IAM group's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDoc {
    /// Inline policies: name -> document.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
}

/// When and where a role was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleLastUsed {
    /// Last time the role was assumed.
    pub date: DateTime<Utc>,
    /// Region of that call.
    pub region: String,
}

/// An IAM role's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDoc {
    /// The trust policy (JSON text).
    pub assume_role_policy: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Maximum session duration in seconds (3600..=43200).
    pub max_session_duration: i64,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// ARN of the permissions boundary policy.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Inline policies: name -> document.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// Last use.
    #[serde(default)]
    pub last_used: Option<RoleLastUsed>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub version_id: String,
    /// The document (JSON text).
    pub document: String,
    /// When the version was created.
    pub create_date: DateTime<Utc>,
}

/// A managed policy's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDoc {
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The default version's id.
    pub default_version_id: String,
    /// Every version (at most 5).
    pub versions: Vec<PolicyVersion>,
    /// The number the next version gets (`v{n}`); never reused.
    pub next_version: u32,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// True for `arn:aws:iam::aws:policy/...` (not deletable or editable).
    #[serde(default)]
    pub aws_managed: bool,
}

impl PolicyDoc {
    /// The default version's document.
    pub fn default_document(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version_id)
            .map(|v| v.document.as_str())
    }
}

/// An instance profile's document (its roles are links).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfileDoc {
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The ARN of an IAM entity: `arn:aws:iam::ACCOUNT:KIND_PREFIX/PATH/NAME` (path starts and
/// ends with `/`).
pub fn arn(
    partition: Partition,
    account: &str,
    resource_type: &str,
    path: &str,
    name: &str,
) -> String {
    partition.iam_arn(account, &format!("{resource_type}{path}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_keys() {
        assert_eq!(
            arn(Partition::Aws, "123456789012", "user", "/eng/", "Bob"),
            "arn:aws:iam::123456789012:user/eng/Bob"
        );
        assert_eq!(name_key("Bob"), "bob");
    }

    #[test]
    fn default_document_follows_default_version() {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let doc = PolicyDoc {
            default_version_id: "v2".into(),
            versions: vec![
                PolicyVersion {
                    version_id: "v1".into(),
                    document: "a".into(),
                    create_date: now,
                },
                PolicyVersion {
                    version_id: "v2".into(),
                    document: "b".into(),
                    create_date: now,
                },
            ],
            next_version: 3,
            ..Default::default()
        };
        assert_eq!(doc.default_document(), Some("b"));
    }
}
