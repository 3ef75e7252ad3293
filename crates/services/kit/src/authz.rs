//! What an operation asks of the policy engine: its IAM action, resources and condition keys.

use crate::context::ContextEntry;

/// A resource an operation acts on, with the account that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// The resource ARN, or `*` for actions that take no resource.
    pub arn: String,
    /// The owning account.
    pub account: String,
    /// The resource's own policy (role trust policy, key policy, secret policy), if any.
    pub policy: Option<ResourcePolicy>,
}

/// A resource-based policy that takes part in the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePolicy {
    /// A name for explanations (`trust policy of role Admin`).
    pub name: String,
    /// The policy document (JSON).
    pub document: String,
    /// True when the resource's own policy must allow (KMS key policies, role trust
    /// policies): identity policies alone then grant nothing.
    pub required: bool,
    /// The policy's type, which decides its validation rules (a trust policy has no
    /// `Resource` element: its statements apply to the role itself).
    pub kind: rampart_policy::PolicyKind,
    /// True when the policy grants nothing to callers outside the resource's account
    /// (anonymous ones included): S3's `RestrictPublicBuckets` on a bucket whose policy is
    /// public. Its statements still apply to the account's own principals.
    pub account_only: bool,
}

/// A named identity-based policy document of the caller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NamedPolicy {
    /// The name shown in explanations (`PolicyName`, or the managed policy ARN).
    pub name: String,
    /// The policy document (JSON).
    pub document: String,
}

/// The caller's own policies: what its identity allows, capped by its boundary and, for a
/// session, the session policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerPolicies {
    /// Identity-based policies (inline, attached, and those of the user's groups).
    pub identity: Vec<NamedPolicy>,
    /// The permissions boundary, if set.
    pub boundary: Option<NamedPolicy>,
    /// Session policies (`Policy`/`PolicyArns` of `AssumeRole`, `GetFederationToken`).
    pub session: Option<Vec<NamedPolicy>>,
    /// The principal's tags (`aws:PrincipalTag/*`): an IAM user's tags, or a role session's
    /// role tags overridden by its session tags.
    pub principal_tags: Vec<(String, String)>,
}

/// One request of an authorization question: an action on resources; every resource must be
/// allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzRequest {
    /// The IAM action, `service:Operation`.
    pub action: String,
    /// The resources acted on (at least one; `*` for none).
    pub resources: Vec<ResourceRef>,
    /// Service-specific condition keys (`iam:PolicyARN`, `kms:EncryptionContext:...`, ...).
    pub context: Vec<ContextEntry>,
    /// Actions AWS lets every authenticated caller perform (`sts:GetCallerIdentity`).
    pub always_allowed: bool,
}

impl AuthzRequest {
    /// An action on one resource of the caller's account or another, with no extra keys.
    pub fn on(action: &str, arn: String, account: &str) -> AuthzRequest {
        AuthzRequest {
            action: action.to_string(),
            resources: vec![ResourceRef {
                arn,
                account: account.to_string(),
                policy: None,
            }],
            context: Vec::new(),
            always_allowed: false,
        }
    }

    /// An action on the account's `*` resource with no extra keys.
    pub fn on_any(action: &str, account: &str) -> AuthzRequest {
        AuthzRequest {
            action: action.to_string(),
            resources: vec![ResourceRef {
                arn: "*".into(),
                account: account.to_string(),
                policy: None,
            }],
            context: Vec::new(),
            always_allowed: false,
        }
    }
}

/// The authorization question of one call: one request, or several when the call acts on
/// several resources with different actions (KMS `ReEncrypt`: `kms:ReEncryptFrom` on the source
/// key and `kms:ReEncryptTo` on the destination, each with its own condition keys). Every
/// request must be allowed; the call is audited once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzQuestion {
    /// The requests, decided in order.
    pub requests: Vec<AuthzRequest>,
}

impl From<AuthzRequest> for AuthzQuestion {
    fn from(request: AuthzRequest) -> AuthzQuestion {
        AuthzQuestion {
            requests: vec![request],
        }
    }
}

impl AuthzQuestion {
    /// True when every request is one AWS lets every authenticated caller make (never for a
    /// question without requests).
    pub fn always_allowed(&self) -> bool {
        !self.requests.is_empty() && self.requests.iter().all(|r| r.always_allowed)
    }
}
