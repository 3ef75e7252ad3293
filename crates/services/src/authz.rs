//! What an operation asks of the policy engine: its IAM action, resources and condition keys.

use crate::context::ContextEntry;

/// A resource an operation acts on, with the account that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// The resource ARN, or `*` for actions that take no resource.
    pub arn: String,
    /// The owning account.
    pub account: String,
}

/// The authorization question for one call; every resource must be allowed.
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
    /// An action on the account's `*` resource with no extra keys.
    pub fn on_any(action: &str, account: &str) -> AuthzRequest {
        AuthzRequest {
            action: action.to_string(),
            resources: vec![ResourceRef {
                arn: "*".into(),
                account: account.to_string(),
            }],
            context: Vec::new(),
            always_allowed: false,
        }
    }
}
