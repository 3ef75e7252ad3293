//! AWS's fixed rules: decisions no policy changes, applied by [`crate::evaluate`] before any
//! policy layer, so the server's authorizer, `rampart policy simulate` and IAM's simulation
//! API give the same answer.
//!
//! - `sts:GetCallerIdentity` is always allowed: "No permissions are required to perform this
//!   operation ... you can still perform this operation" even under an explicit deny.
//! - AWS managed policies (`arn:PARTITION:iam::aws:policy/...`) cannot be changed, tagged or
//!   deleted by anyone.
//! - KMS aliases beginning with `alias/aws/` belong to AWS managed keys: customers cannot
//!   create, update or delete them.
//! - Roles whose path begins with `/aws-reserved/` (IAM Identity Center) or
//!   `/aws-service-role/` (service-linked roles) are modifiable only by AWS.
//! - A federated user (`GetFederationToken` credentials) "cannot call any IAM API operations"
//!   and "cannot call any AWS STS API operations except GetCallerIdentity", whatever its
//!   policies say ([`federated_user`]).

/// A refusal: the AWS error code and message the call answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// AWS's error code (`UnmodifiableEntity`, `AccessDenied`, ...).
    pub code: &'static str,
    /// AWS's message.
    pub message: String,
    /// The rule, for explanations.
    pub rule: &'static str,
}

/// A fixed decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fixed {
    /// Allowed whatever the policies say.
    AlwaysAllowed,
    /// Refused whatever the policies say.
    Refused(Refusal),
}

const POLICY_WRITES: [&str; 6] = [
    "createpolicyversion",
    "deletepolicy",
    "deletepolicyversion",
    "setdefaultpolicyversion",
    "tagpolicy",
    "untagpolicy",
];
const ALIAS_WRITES: [&str; 3] = ["createalias", "updatealias", "deletealias"];
const ROLE_WRITES: [&str; 14] = [
    "deleterole",
    "updaterole",
    "updateroledescription",
    "updateassumerolepolicy",
    "putrolepolicy",
    "deleterolepolicy",
    "attachrolepolicy",
    "detachrolepolicy",
    "putrolepermissionsboundary",
    "deleterolepermissionsboundary",
    "tagrole",
    "untagrole",
    "addroletoinstanceprofile",
    "removerolefrominstanceprofile",
];
/// Role paths only AWS may modify.
pub const PROTECTED_ROLE_PATHS: [&str; 2] = ["/aws-reserved/", "/aws-service-role/"];

/// AWS's fixed refusal of `action` for a federated user's session (`GetFederationToken`):
/// IAM, and STS except `GetCallerIdentity` (always allowed by [`fixed`]).
pub fn federated_user(action: &str) -> Option<Refusal> {
    let (service, name) = action.split_once(':')?;
    let service = service.to_ascii_lowercase();
    let refused =
        service == "iam" || (service == "sts" && !name.eq_ignore_ascii_case("GetCallerIdentity"));
    refused.then(|| Refusal {
        code: "AccessDenied",
        message: format!(
            "A federated user session cannot perform: {action} (IAM, and STS except GetCallerIdentity)"
        ),
        rule: "federated users cannot call IAM or STS",
    })
}

/// AWS's fixed decision for `action` on `resource`, if there is one.
pub fn fixed(action: &str, resource: &str) -> Option<Fixed> {
    let (service, name) = action.split_once(':')?;
    let service = service.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    match service.as_str() {
        "sts" if name == "getcalleridentity" => Some(Fixed::AlwaysAllowed),
        "iam" if POLICY_WRITES.contains(&name.as_str()) && is_aws_managed_policy(resource) => {
            Some(Fixed::Refused(Refusal {
                code: "AccessDenied",
                message: format!("Policy {resource} is owned by AWS and cannot be modified."),
                rule: "AWS managed policies cannot be changed or deleted",
            }))
        }
        "iam" if ROLE_WRITES.contains(&name.as_str()) => {
            protected_role_name(resource).map(|role| Fixed::Refused(protected_role(role)))
        }
        "kms" if ALIAS_WRITES.contains(&name.as_str()) && is_aws_alias(resource) => {
            Some(Fixed::Refused(Refusal {
                // CreateAlias models InvalidAliasNameException; the others refuse as access.
                code: if name == "createalias" {
                    "InvalidAliasNameException"
                } else {
                    "AccessDeniedException"
                },
                message:
                    "Alias names that begin with alias/aws/ are reserved for AWS managed keys."
                        .into(),
                rule: "alias/aws/ aliases belong to AWS managed keys",
            }))
        }
        _ => None,
    }
}

/// IAM's refusal of an edit to a role only AWS may modify.
pub fn protected_role(name: &str) -> Refusal {
    Refusal {
        code: "UnmodifiableEntity",
        message: format!(
            "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
        ),
        rule: "roles under /aws-reserved/ and service-linked roles are modifiable only by AWS",
    }
}

/// `arn:PARTITION:iam::aws:policy/...`.
pub fn is_aws_managed_policy(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some()
        && parts.next() == Some("iam")
        && parts.next() == Some("")
        && parts.next() == Some("aws")
        && parts.next().is_some_and(|r| r.starts_with("policy/"))
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:alias/aws/...`.
fn is_aws_alias(arn: &str) -> bool {
    arn.starts_with("arn:")
        && arn.split(':').nth(2) == Some("kms")
        && arn
            .splitn(6, ':')
            .nth(5)
            .is_some_and(|r| r.starts_with("alias/aws/"))
}

/// The name of a role ARN whose path only AWS may modify.
fn protected_role_name(arn: &str) -> Option<&str> {
    if !arn.starts_with("arn:") || arn.split(':').nth(2) != Some("iam") {
        return None;
    }
    let path_and_name = arn.splitn(6, ':').nth(5)?.strip_prefix("role")?;
    PROTECTED_ROLE_PATHS
        .iter()
        .any(|p| path_and_name.starts_with(p))
        .then(|| path_and_name.rsplit('/').next())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn federated_users_cannot_call_iam_or_sts_but_get_caller_identity() {
        assert!(federated_user("iam:ListUsers").is_some());
        assert!(federated_user("sts:GetSessionToken").is_some());
        assert!(federated_user("STS:AssumeRole").is_some());
        assert!(federated_user("sts:GetCallerIdentity").is_none());
        assert!(federated_user("kms:ListKeys").is_none());
    }

    #[test]
    fn rules() {
        assert_eq!(
            fixed("sts:GetCallerIdentity", "*"),
            Some(Fixed::AlwaysAllowed)
        );
        let aws = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        assert!(matches!(
            fixed("iam:DeletePolicy", aws),
            Some(Fixed::Refused(_))
        ));
        assert_eq!(fixed("iam:GetPolicy", aws), None);
        assert_eq!(
            fixed("iam:DeletePolicy", "arn:aws:iam::123456789012:policy/aws"),
            None
        );
        let reserved =
            "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1";
        match fixed("iam:DeleteRole", reserved) {
            Some(Fixed::Refused(r)) => {
                assert_eq!(r.code, "UnmodifiableEntity");
                assert!(
                    r.message.contains("'AWSReservedSSO_Admin_1'"),
                    "{}",
                    r.message
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fixed("iam:GetRole", reserved), None);
        assert_eq!(
            fixed(
                "iam:DeleteRole",
                "arn:aws:iam::123456789012:role/app/aws-reserved"
            ),
            None
        );
        let alias = "arn:aws:kms:us-east-1:123456789012:alias/aws/s3";
        assert!(matches!(
            fixed("kms:DeleteAlias", alias),
            Some(Fixed::Refused(_))
        ));
        assert_eq!(
            fixed(
                "kms:DeleteAlias",
                "arn:aws:kms:us-east-1:123456789012:alias/awsome"
            ),
            None
        );
    }
}
