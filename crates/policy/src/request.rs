//! The request being authorized: principal, action, resource and context.

use crate::arn::Arn;
use crate::context::Context;

/// What kind of caller made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// The account root user.
    Root,
    /// An IAM user.
    User,
    /// An IAM role itself (as simulated; real calls come from role sessions).
    Role,
    /// An assumed-role session (`arn:aws:sts::A:assumed-role/R/S`).
    AssumedRole,
    /// A federated user session from GetFederationToken.
    FederatedUser,
    /// An unauthenticated caller.
    Anonymous,
    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    Service,
    /// A web-identity or SAML provider principal (matched by `Federated`).
    Federated,
    /// An S3 canonical user id (matched by `CanonicalUser`).
    CanonicalUser,
}

impl PrincipalType {
    /// Parses a type name as written in the simulate format (case-insensitive).
    pub fn parse(s: &str) -> Option<PrincipalType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "root" | "account" => PrincipalType::Root,
            "user" => PrincipalType::User,
            "role" => PrincipalType::Role,
            "assumedrole" | "assumed-role" => PrincipalType::AssumedRole,
            "federateduser" | "federated-user" => PrincipalType::FederatedUser,
            "anonymous" => PrincipalType::Anonymous,
            "service" => PrincipalType::Service,
            "federated" | "webidentity" | "saml" => PrincipalType::Federated,
            "canonicaluser" => PrincipalType::CanonicalUser,
            _ => return None,
        })
    }

    /// True for IAM identities that have identity-based policies (users, roles and their sessions).
    pub fn is_iam_identity(self) -> bool {
        matches!(
            self,
            PrincipalType::User
                | PrincipalType::Role
                | PrincipalType::AssumedRole
                | PrincipalType::FederatedUser
        )
    }
}

/// The caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's ARN (session ARN for sessions), service name, provider or canonical id.
    pub arn: String,
    /// The caller's kind.
    pub kind: PrincipalType,
    /// The caller's account id (none for anonymous and service principals).
    pub account: Option<String>,
    /// For an assumed-role session, the role ARN (with path); for a federated user, the IAM
    /// user that federated.
    pub parent_arn: Option<String>,
}

impl Principal {
    /// Derives type, account and role ARN from an ARN or name, as SIMULATE_FORMAT.md describes.
    pub fn from_arn(s: &str) -> Principal {
        if s == "*" || s.eq_ignore_ascii_case("anonymous") {
            return Principal {
                arn: "*".to_string(),
                kind: PrincipalType::Anonymous,
                account: None,
                parent_arn: None,
            };
        }
        let Some(arn) = Arn::parse(s) else {
            let kind = if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
                return Principal::root(s, "aws");
            } else if s.contains('.') {
                PrincipalType::Service
            } else {
                PrincipalType::CanonicalUser
            };
            return Principal {
                arn: s.to_string(),
                kind,
                account: None,
                parent_arn: None,
            };
        };
        let account = Some(arn.account.to_string()).filter(|a| !a.is_empty());
        let res = arn.resource;
        let (kind, parent) = if res == "root" {
            (PrincipalType::Root, None)
        } else if res.starts_with("user/") {
            (PrincipalType::User, None)
        } else if res.starts_with("role/") {
            (PrincipalType::Role, None)
        } else if let Some(rest) = res.strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or_default();
            (
                PrincipalType::AssumedRole,
                Some(format!(
                    "arn:{}:iam::{}:role/{}",
                    arn.partition, arn.account, role
                )),
            )
        } else if res.starts_with("federated-user/") {
            (PrincipalType::FederatedUser, None)
        } else if res.starts_with("saml-provider/") || res.starts_with("oidc-provider/") {
            (PrincipalType::Federated, None)
        } else {
            (PrincipalType::User, None)
        };
        Principal {
            arn: s.to_string(),
            kind,
            account,
            parent_arn: parent,
        }
    }

    /// The root user of `account` in `partition`.
    pub fn root(account: &str, partition: &str) -> Principal {
        Principal {
            arn: format!("arn:{partition}:iam::{account}:root"),
            kind: PrincipalType::Root,
            account: Some(account.to_string()),
            parent_arn: None,
        }
    }

    /// True for a service-linked role or its session (path `/aws-service-role/`): SCPs and RCPs
    /// do not restrict them.
    pub fn is_service_linked(&self) -> bool {
        self.parent_arn
            .as_deref()
            .unwrap_or(&self.arn)
            .contains(":role/aws-service-role/")
    }

    /// The ARN that `aws:PrincipalArn` reports (the role ARN for a role session).
    pub fn principal_arn(&self) -> &str {
        match (self.kind, &self.parent_arn) {
            (PrincipalType::AssumedRole, Some(r)) => r,
            _ => &self.arn,
        }
    }

    /// Fills the context keys AWS derives from the caller, without overriding explicit ones:
    /// aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:username (users),
    /// aws:userid (root and federated users), aws:PrincipalIsAWSService, aws:PrincipalServiceName.
    pub fn fill_context(&self, ctx: &mut Context) {
        if self.kind == PrincipalType::Anonymous {
            ctx.set_default("aws:PrincipalType", "Anonymous");
            return;
        }
        ctx.set_default(
            "aws:PrincipalIsAWSService",
            if self.kind == PrincipalType::Service {
                "true"
            } else {
                "false"
            },
        );
        if self.kind == PrincipalType::Service {
            ctx.set_default("aws:PrincipalServiceName", self.arn.clone());
            return;
        }
        if matches!(
            self.kind,
            PrincipalType::Federated | PrincipalType::CanonicalUser
        ) {
            return;
        }
        ctx.set_default("aws:PrincipalArn", self.principal_arn().to_string());
        if let Some(a) = &self.account {
            ctx.set_default("aws:PrincipalAccount", a.clone());
        }
        let ty = match self.kind {
            PrincipalType::Root => "Account",
            PrincipalType::User => "User",
            PrincipalType::FederatedUser => "FederatedUser",
            _ => "AssumedRole",
        };
        ctx.set_default("aws:PrincipalType", ty);
        let name = self.arn.rsplit('/').next().unwrap_or_default().to_string();
        match self.kind {
            PrincipalType::User => ctx.set_default("aws:username", name),
            PrincipalType::Root => {
                if let Some(a) = &self.account {
                    ctx.set_default("aws:userid", a.clone());
                }
            }
            PrincipalType::FederatedUser => {
                if let Some(a) = &self.account {
                    ctx.set_default("aws:userid", format!("{a}:{name}"));
                }
            }
            _ => {}
        }
    }
}

/// A request: who, what action, on which resource (owned by which account), with what context.
#[derive(Debug, Clone)]
pub struct Request {
    /// The caller.
    pub principal: Principal,
    /// The action as given, e.g. `kms:CreateKey`.
    pub action: String,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The account owning the resource.
    pub resource_account: Option<String>,
    /// The condition keys.
    pub context: Context,
    action_lc: String,
    colon: usize,
}

impl Request {
    /// Builds a request; the resource account defaults to the ARN's account field, else the
    /// principal's account. Context keys are used as given (see [`Principal::fill_context`]).
    pub fn new(
        principal: Principal,
        action: &str,
        resource: &str,
        resource_account: Option<String>,
        context: Context,
    ) -> Request {
        let action_lc = action.to_ascii_lowercase();
        let colon = action_lc.find(':').unwrap_or(action_lc.len());
        let resource_account = resource_account
            .or_else(|| {
                Arn::parse(resource)
                    .map(|a| a.account.to_string())
                    .filter(|a| !a.is_empty())
            })
            .or_else(|| principal.account.clone());
        Request {
            principal,
            action: action.to_string(),
            resource: resource.to_string(),
            resource_account,
            context,
            action_lc,
            colon,
        }
    }

    /// The lowercased service prefix of the action.
    pub fn service_lc(&self) -> &str {
        &self.action_lc[..self.colon]
    }

    /// The lowercased operation name of the action.
    pub fn name_lc(&self) -> &str {
        self.action_lc.get(self.colon + 1..).unwrap_or("")
    }

    /// True when the principal's account differs from the resource's account.
    pub fn is_cross_account(&self) -> bool {
        match (&self.principal.account, &self.resource_account) {
            (Some(p), Some(r)) => p != r,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_principal() {
        let p = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/Admin/s1");
        assert_eq!(p.kind, PrincipalType::AssumedRole);
        assert_eq!(p.account.as_deref(), Some("111122223333"));
        assert_eq!(
            p.parent_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
        assert_eq!(
            Principal::from_arn("arn:aws:iam::111122223333:root").kind,
            PrincipalType::Root
        );
        assert_eq!(
            Principal::from_arn("cloudtrail.amazonaws.com").kind,
            PrincipalType::Service
        );
        assert_eq!(Principal::from_arn("*").kind, PrincipalType::Anonymous);
        let r = Request::new(
            Principal::from_arn("arn:aws:iam::111122223333:user/a"),
            "S3:GetObject",
            "arn:aws:s3:::b/k",
            None,
            Context::new(),
        );
        assert_eq!(r.service_lc(), "s3");
        assert_eq!(r.name_lc(), "getobject");
        assert_eq!(r.resource_account.as_deref(), Some("111122223333"));
    }
}
