//! Organizations' stored documents, entity kinds, identifiers and ARNs.
//!
//! Everything an organization owns is stored under its management account: the organization,
//! its root, OUs, member records, policies, handshakes and create-account requests. A member
//! record's store-wide id is [`member_id`], so any account finds its organization in one lookup.

use std::collections::BTreeMap;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use rampart_iam::model::Tag;
use rampart_kit::{error::ServiceError, Partition};

/// The organization (one per management account).
pub const ORG: &str = "organizations:organization";
/// The organization's root.
pub const ROOT: &str = "organizations:root";
/// An organizational unit.
pub const OU: &str = "organizations:ou";
/// An account's membership of the organization.
pub const MEMBER: &str = "organizations:account";
/// A policy (SCP, RCP or management policy).
pub const POLICY: &str = "organizations:policy";
/// A `CreateAccount` request and its status.
pub const CREATE_STATUS: &str = "organizations:create-account-status";
/// A handshake (invitation).
pub const HANDSHAKE: &str = "organizations:handshake";

/// Link: parent (root or OU id) -> child (OU id or account id).
pub const LINK_CHILD: &str = "organizations:child";
/// Link: target (root, OU or account id) -> policy id.
pub const LINK_ATTACHED: &str = "organizations:attached";
/// Link: create-account request id -> [`PENDING`], while it waits for the provisioner.
pub const LINK_PENDING: &str = "organizations:pending";
/// The `to` key of every pending create-account link.
pub const PENDING: &str = "pending";
/// Link (in the invited account): account id -> handshake id.
pub const LINK_HANDSHAKE: &str = "organizations:handshake-for";
/// Link (in the management account): commercial account id -> the `aws-us-gov` account id
/// `CreateGovCloudAccount` paired with it.
pub const LINK_GOVCLOUD: &str = "organizations:govcloud-pair";
/// Link: delegated administrator account id -> service principal.
pub const LINK_DELEGATED: &str = "organizations:delegated";

/// `SERVICE_CONTROL_POLICY`.
pub const SCP: &str = "SERVICE_CONTROL_POLICY";
/// `RESOURCE_CONTROL_POLICY`.
pub const RCP: &str = "RESOURCE_CONTROL_POLICY";
/// `TAG_POLICY`.
pub const TAG_POLICY: &str = "TAG_POLICY";
/// The policy types of the Organizations API (`PolicyType`): the two authorization types
/// and the management policy types.
pub const POLICY_TYPES: [&str; 13] = [
    SCP,
    RCP,
    TAG_POLICY,
    "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
    "CHATBOT_POLICY",
    "DECLARATIVE_POLICY_EC2",
    "SECURITYHUB_POLICY",
    "INSPECTOR_POLICY",
    "UPGRADE_ROLLOUT_POLICY",
    "BEDROCK_POLICY",
    "S3_POLICY",
    "NETWORK_SECURITY_DIRECTOR_POLICY",
];

/// True for the authorization policy types (SCPs and RCPs); every other type is a
/// management policy type with an effective policy.
pub fn is_authorization(policy_type: &str) -> bool {
    policy_type == SCP || policy_type == RCP
}
/// The AWS-managed SCP attached everywhere by default.
pub const FULL_AWS_ACCESS: &str = "p-FullAWSAccess";
/// The AWS-managed RCP attached everywhere by default.
pub const RCP_FULL_AWS_ACCESS: &str = "p-RCPFullAWSAccess";
/// The default role created in new accounts.
pub const DEFAULT_ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

/// The organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDoc {
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
    /// The management account's root email.
    pub management_email: String,
    /// The root id.
    pub root_id: String,
    /// Services with trusted access to the organization, with when it was enabled.
    #[serde(default)]
    pub service_access: BTreeMap<String, DateTime<Utc>>,
    /// IAM's centralized root access features enabled for the member accounts
    /// (`RootCredentialsManagement`, `RootSessions`).
    #[serde(default)]
    pub root_access_features: std::collections::BTreeSet<String>,
}

/// The root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootDoc {
    /// The organization id.
    pub org_id: String,
    /// Policy types enabled on the root.
    #[serde(default)]
    pub policy_types: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An organizational unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OuDoc {
    /// The organization id.
    pub org_id: String,
    /// The parent's id (root or OU).
    pub parent_id: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An account's membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDoc {
    /// The organization id.
    pub org_id: String,
    /// The parent's id (root or OU).
    pub parent_id: String,
    /// `CREATED` or `INVITED`.
    pub joined_method: String,
    /// When it joined.
    pub joined_at: DateTime<Utc>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Services this account is a delegated administrator for, with when.
    #[serde(default)]
    pub delegations: Delegations,
    /// The `aws-us-gov` account paired with this one by `CreateGovCloudAccount`.
    #[serde(default)]
    pub govcloud_account_id: Option<String>,
}

/// A policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDoc {
    /// The organization id.
    pub org_id: String,
    /// The policy's own id (`p-...`).
    pub policy_id: String,
    /// One of [`POLICY_TYPES`].
    pub policy_type: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The policy text.
    pub content: String,
    /// True for the AWS-managed policies.
    #[serde(default)]
    pub aws_managed: bool,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A `CreateAccount` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateStatusDoc {
    /// The organization id.
    pub org_id: String,
    /// `IN_PROGRESS`, `SUCCEEDED` or `FAILED`.
    pub state: String,
    /// The requested account name.
    pub account_name: String,
    /// The requested root email.
    pub email: String,
    /// The role to create in the account.
    pub role_name: String,
    /// Tags for the account.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// When it was requested.
    pub requested_at: DateTime<Utc>,
    /// When it finished.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The new account's id once created.
    #[serde(default)]
    pub account_id: Option<String>,
    /// AWS's reason for a failure (`EMAIL_ALREADY_EXISTS`, ...).
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// True for a `CreateGovCloudAccount` request.
    #[serde(default)]
    pub govcloud: bool,
    /// The paired `aws-us-gov` account's id once created.
    #[serde(default)]
    pub govcloud_account_id: Option<String>,
}

/// A handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakeDoc {
    /// The organization id.
    pub org_id: String,
    /// The management account.
    pub management_account: String,
    /// The invited account.
    pub target_account: String,
    /// `INVITE`, `ENABLE_ALL_FEATURES` or `APPROVE_ALL_FEATURES`.
    pub action: String,
    /// `REQUESTED`, `OPEN`, `ACCEPTED`, `DECLINED`, `CANCELED`, `EXPIRED`.
    pub state: String,
    /// The handshake this one is part of (an enable-all-features request's).
    #[serde(default)]
    pub parent: Option<String>,
    /// The invitation's notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// When it was sent.
    pub requested_at: DateTime<Utc>,
    /// When it expires (15 days later).
    pub expires_at: DateTime<Utc>,
}

/// Delegated administrator registrations: service principal -> when.
pub type Delegations = BTreeMap<String, DateTime<Utc>>;

/// The store-wide id of an account's membership record.
pub fn member_id(account: &str) -> String {
    format!("organizations:account/{account}")
}

/// The store-wide id of an AWS-managed policy's copy in one organization.
pub fn managed_policy_entity_id(org_id: &str, policy_id: &str) -> String {
    format!("{org_id}/{policy_id}")
}

/// `count` random characters from `alphabet` (its length divides 256).
fn random(alphabet: &[u8], count: usize) -> Result<String, ServiceError> {
    let mut bytes = vec![0u8; count];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ServiceError::internal())?;
    Ok(bytes
        .iter()
        .filter_map(|b| alphabet.get(usize::from(*b) % alphabet.len()))
        .map(|c| char::from(*c))
        .collect())
}

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz012345";
const HEX: &[u8] = b"0123456789abcdef";

/// `o-` and 10 characters.
pub fn new_org_id() -> Result<String, ServiceError> {
    Ok(format!("o-{}", random(LOWER_ALNUM, 10)?))
}

/// `r-` and 4 characters.
pub fn new_root_id() -> Result<String, ServiceError> {
    Ok(format!("r-{}", random(LOWER_ALNUM, 4)?))
}

/// `ou-`, the root's 4 characters, `-` and 8 characters.
pub fn new_ou_id(root_id: &str) -> Result<String, ServiceError> {
    let suffix = root_id.trim_start_matches("r-");
    Ok(format!("ou-{suffix}-{}", random(LOWER_ALNUM, 8)?))
}

/// `p-` and 8 characters.
pub fn new_policy_id() -> Result<String, ServiceError> {
    Ok(format!("p-{}", random(LOWER_ALNUM, 8)?))
}

/// `car-` and 32 hex characters.
pub fn new_create_status_id() -> Result<String, ServiceError> {
    Ok(format!("car-{}", random(HEX, 32)?))
}

/// `h-` and 10 characters.
pub fn new_handshake_id() -> Result<String, ServiceError> {
    Ok(format!("h-{}", random(LOWER_ALNUM, 10)?))
}

/// `arn:PARTITION:organizations::OWNER:RESOURCE`: Organizations' ARNs name no region, and
/// carry the partition of the organization (`arn:aws-cn:organizations::` in China).
pub fn arn(partition: Partition, owner: &str, resource: &str) -> String {
    partition.arn("organizations", "", owner, resource)
}

/// The organization's ARN.
pub fn org_arn(partition: Partition, management: &str, org_id: &str) -> String {
    arn(partition, management, &format!("organization/{org_id}"))
}

/// A root's ARN.
pub fn root_arn(partition: Partition, management: &str, org_id: &str, root_id: &str) -> String {
    arn(partition, management, &format!("root/{org_id}/{root_id}"))
}

/// An OU's ARN.
pub fn ou_arn(partition: Partition, management: &str, org_id: &str, ou_id: &str) -> String {
    arn(partition, management, &format!("ou/{org_id}/{ou_id}"))
}

/// An account's ARN within the organization.
pub fn account_arn(partition: Partition, management: &str, org_id: &str, account: &str) -> String {
    arn(
        partition,
        management,
        &format!("account/{org_id}/{account}"),
    )
}

/// The lower-case path segment of a policy type in ARNs.
pub fn type_segment(policy_type: &str) -> String {
    policy_type.to_ascii_lowercase()
}

/// A policy's ARN. AWS-managed policies live in the `aws` account of the partition
/// (`arn:aws-us-gov:organizations::aws:policy/service_control_policy/p-FullAWSAccess`).
pub fn policy_arn(
    partition: Partition,
    management: &str,
    org_id: &str,
    policy_type: &str,
    policy_id: &str,
) -> String {
    let seg = type_segment(policy_type);
    if policy_id == FULL_AWS_ACCESS || policy_id == RCP_FULL_AWS_ACCESS {
        arn(partition, "aws", &format!("policy/{seg}/{policy_id}"))
    } else {
        arn(
            partition,
            management,
            &format!("policy/{org_id}/{seg}/{policy_id}"),
        )
    }
}

/// A handshake's ARN.
pub fn handshake_arn(
    partition: Partition,
    management: &str,
    org_id: &str,
    action: &str,
    handshake_id: &str,
) -> String {
    let action = action.to_ascii_lowercase();
    arn(
        partition,
        management,
        &format!("handshake/{org_id}/{action}/{handshake_id}"),
    )
}

/// The AWS-managed policy of a type, if it has one: (id, name, description, content).
pub fn managed_policy(
    policy_type: &str,
) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    match policy_type {
        SCP => Some((
            FULL_AWS_ACCESS,
            "FullAWSAccess",
            "Allows access to every operation",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )),
        RCP => Some((
            RCP_FULL_AWS_ACCESS,
            "RCPFullAWSAccess",
            "Allows access to every operation",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let org = new_org_id().unwrap();
        assert_eq!(org.len(), 12);
        assert!(org.starts_with("o-"));
        let root = new_root_id().unwrap();
        assert_eq!(root.len(), 6);
        let ou = new_ou_id(&root).unwrap();
        assert!(ou.starts_with(&format!("ou-{}-", &root[2..])));
        assert_eq!(ou.len(), 3 + 4 + 1 + 8);
        assert_eq!(new_policy_id().unwrap().len(), 10);
        assert_eq!(new_create_status_id().unwrap().len(), 36);
        assert_eq!(new_handshake_id().unwrap().len(), 12);
    }

    #[test]
    fn managed_policy_arns_live_in_the_aws_account() {
        assert_eq!(
            policy_arn(Partition::Aws, "111122223333", "o-x", SCP, FULL_AWS_ACCESS),
            "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
        );
        assert_eq!(
            policy_arn(Partition::Aws, "111122223333", "o-x", SCP, "p-abc"),
            "arn:aws:organizations::111122223333:policy/o-x/service_control_policy/p-abc"
        );
        // China's organizations and their AWS managed policies are in `aws-cn`.
        assert_eq!(
            policy_arn(
                Partition::AwsCn,
                "111122223333",
                "o-x",
                SCP,
                FULL_AWS_ACCESS
            ),
            "arn:aws-cn:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
        );
        assert_eq!(
            ou_arn(Partition::AwsUsGov, "111122223333", "o-x", "ou-ab-12345678"),
            "arn:aws-us-gov:organizations::111122223333:ou/o-x/ou-ab-12345678"
        );
    }
}
