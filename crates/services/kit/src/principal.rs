//! The authenticated caller of a request.

use chrono::{DateTime, Utc};
use rampart_policy::Partition;
use serde::{Deserialize, Serialize};

pub use rampart_store::PrincipalKind;

/// Facts about a temporary-credential session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// When the session's token was issued (`aws:TokenIssueTime`).
    pub issued_at: DateTime<Utc>,
    /// When the session's credentials stop working.
    pub expires_at: DateTime<Utc>,
    /// When MFA was last presented for this session, if it was.
    pub mfa_authenticated_at: Option<DateTime<Utc>>,
    /// What STS recorded when it issued the session.
    pub context: SessionContext,
}

/// What STS records with a temporary key (the store keeps it as JSON in the key's session
/// context) and the authorizer reads back on every request made with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionContext {
    /// For a role session: the role's unique id (`AROA...`).
    #[serde(default)]
    pub role_id: Option<String>,
    /// For a role session: the role ARN with its path (`aws:PrincipalArn`).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// For a federated user or `GetSessionToken` session: the IAM user's id behind it.
    #[serde(default)]
    pub parent_user_id: Option<String>,
    /// For a federated user: true when the account's root user obtained it
    /// (`GetFederationToken` with root credentials), whose permissions are everything.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parent_is_root: bool,
    /// The session name (`RoleSessionName`, or the federated user's name).
    #[serde(default)]
    pub session_name: String,
    /// Session policies (`Policy` and the documents of `PolicyArns`), which cap the session.
    #[serde(default)]
    pub session_policies: Option<Vec<crate::authz::NamedPolicy>>,
    /// When MFA was presented to obtain the session.
    #[serde(default)]
    pub mfa_authenticated_at: Option<DateTime<Utc>>,
    /// `SourceIdentity`, if set.
    #[serde(default)]
    pub source_identity: Option<String>,
    /// Session tags (`aws:PrincipalTag/*` for the session), including transitive ones.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// Keys of the tags that pass on to chained sessions.
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    /// True when this session was obtained with another role session (role chaining).
    #[serde(default)]
    pub chained: bool,
    /// For a session obtained from an identity provider (`AssumeRoleWithWebIdentity`,
    /// `AssumeRoleWithSAML`): the provider's ARN (`aws:FederatedProvider`), carried by
    /// sessions chained from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_provider: Option<String>,
    /// For a root session from `AssumeRoot`: the task policy that scopes it
    /// (`aws:AssumedRoot` is true for its calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_task_policy: Option<String>,
}

impl SessionContext {
    /// True for a privileged root session obtained with `AssumeRoot`.
    pub fn is_assumed_root(&self) -> bool {
        self.root_task_policy.is_some()
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The 12-digit account the principal belongs to.
    pub account_id: String,
    /// The kind of identity.
    pub kind: PrincipalKind,
    /// The principal's ARN (`arn:aws:iam::A:root`, `...:user/path/name`, `arn:aws:sts::A:assumed-role/R/S`).
    pub arn: String,
    /// AWS's unique id as `GetCallerIdentity` reports it (the account id for root,
    /// `AIDA...` for a user, `AROA...:session` for a role session).
    pub user_id: String,
    /// The friendly name (`aws:username` for users; empty for root).
    pub name: String,
    /// The access key id the request was signed with.
    pub access_key_id: String,
    /// The temporary session, for `ASIA` credentials.
    pub session: Option<SessionInfo>,
    /// For an AWS service principal acting for one of the account's resources (a trail, a
    /// detector): that resource's ARN, `aws:SourceArn` in its requests.
    pub source_arn: Option<String>,
}

impl Principal {
    /// The account root user of `account_id` in `partition`, signing with `access_key_id`.
    pub fn root(partition: Partition, account_id: &str, access_key_id: &str) -> Principal {
        Principal {
            account_id: account_id.to_string(),
            kind: PrincipalKind::Root,
            arn: partition.root_arn(account_id),
            user_id: account_id.to_string(),
            name: String::new(),
            access_key_id: access_key_id.to_string(),
            session: None,
            source_arn: None,
        }
    }

    /// The caller of an unsigned request: AWS's anonymous principal (`*` in a policy's
    /// `Principal`, `AnonymousUser` in CloudTrail, `aws:userid` `anonymous`). It belongs to no
    /// account and has no policies of its own: only a resource policy that allows everyone
    /// lets it act.
    pub fn anonymous() -> Principal {
        Principal {
            account_id: String::new(),
            kind: PrincipalKind::Anonymous,
            arn: ANONYMOUS_ARN.to_string(),
            user_id: "anonymous".to_string(),
            name: String::new(),
            access_key_id: String::new(),
            session: None,
            source_arn: None,
        }
    }

    /// An AWS service principal (`cloudtrail.amazonaws.com`) acting for `account_id` (the
    /// account whose resources it writes to, whose trail records the call). It has no
    /// policies of its own: only a resource policy that names the service lets it act.
    pub fn service(service: &str, account_id: &str) -> Principal {
        Principal {
            account_id: account_id.to_string(),
            kind: PrincipalKind::Service,
            arn: service.to_string(),
            user_id: service.to_string(),
            name: String::new(),
            access_key_id: String::new(),
            session: None,
            source_arn: None,
        }
    }

    /// The service principal `service` acting for the resource `source_arn` of `account_id`
    /// (a trail writing its logs, a detector exporting findings): its requests carry
    /// `aws:SourceAccount` and `aws:SourceArn`, which AWS's documented bucket and key
    /// policies test against confused deputies, in its calls on other services too.
    pub fn service_for(service: &str, account_id: &str, source_arn: &str) -> Principal {
        Principal {
            source_arn: Some(source_arn.to_string()),
            ..Principal::service(service, account_id)
        }
    }

    /// True for an AWS service principal.
    pub fn is_service(&self) -> bool {
        self.kind == PrincipalKind::Service
    }

    /// True for callers with no IAM identity (anonymous, an AWS service, or a caller proven by
    /// an identity provider): no identity policies, boundary, session policies, SCPs or
    /// organization apply to them; only a resource policy (a bucket policy, a role's trust
    /// policy) lets them act.
    pub fn has_no_identity(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Anonymous
                | PrincipalKind::Service
                | PrincipalKind::WebIdentityUser
                | PrincipalKind::SamlUser
        )
    }

    /// True for the caller of an unsigned request.
    pub fn is_anonymous(&self) -> bool {
        self.kind == PrincipalKind::Anonymous
    }

    /// The caller of an unsigned federation call, proven by a token or assertion of the
    /// identity provider `provider_arn` (`arn:aws:iam::A:oidc-provider/...`, which a trust
    /// policy's `Federated` element names) of `account_id`. `user_id` is CloudTrail's
    /// `principalId` and `name` its `userName` (the token's subject).
    pub fn federated(
        kind: PrincipalKind,
        account_id: &str,
        provider_arn: &str,
        user_id: String,
        name: String,
    ) -> Principal {
        Principal {
            account_id: account_id.to_string(),
            kind,
            arn: provider_arn.to_string(),
            user_id,
            name,
            access_key_id: String::new(),
            session: None,
            source_arn: None,
        }
    }
}

/// The anonymous principal's "ARN": `*`, the name the policy engine reads as anonymous.
pub const ANONYMOUS_ARN: &str = "*";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_principal_uses_account_as_user_id() {
        let p = Principal::root(Partition::Aws, "123456789012", "AKIAEXAMPLE");
        assert_eq!(p.arn, "arn:aws:iam::123456789012:root");
        assert_eq!(p.user_id, "123456789012");
        assert_eq!(p.kind.as_str(), "Root");
    }

    #[test]
    fn the_anonymous_principal_has_no_account_and_reads_as_anonymous() {
        let p = Principal::anonymous();
        assert!(p.is_anonymous() && p.account_id.is_empty());
        assert_eq!(p.kind.as_str(), "AnonymousUser");
        let policy = rampart_policy::Principal::from_arn(&p.arn);
        assert_eq!(policy.kind, rampart_policy::PrincipalType::Anonymous);
        assert_eq!(policy.account, None);
        assert!(!Principal::root(Partition::Aws, "111122223333", "AKIA").is_anonymous());
    }

    #[test]
    fn a_service_principal_reads_as_a_service_with_no_identity() {
        let p = Principal::service("cloudtrail.amazonaws.com", "111122223333");
        assert!(p.is_service() && p.has_no_identity() && !p.is_anonymous());
        assert_eq!(p.kind.as_str(), "AWSService");
        let policy = rampart_policy::Principal::from_arn(&p.arn);
        assert_eq!(policy.kind, rampart_policy::PrincipalType::Service);
        assert_eq!(policy.account, None);
    }
}
