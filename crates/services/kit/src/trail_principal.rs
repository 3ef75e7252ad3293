//! Which audit records are one IAM user's or role's, as the services that read the trail for a
//! principal (Access Analyzer's policy generation, Detective's investigations) recognise them.
//!
//! A record is the principal's when its `userIdentity.arn` is the user's ARN, or for a role
//! any of its sessions (`arn:<partition>:sts::<account>:assumed-role/<role name>/<session>`).

/// One IAM user or role, as its audit records name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailPrincipal {
    /// An IAM user: `userIdentity.arn` is exactly this ARN.
    User {
        /// The user's ARN.
        arn: String,
        /// The user's name.
        name: String,
    },
    /// An IAM role: `userIdentity.arn` starts with this assumed-role prefix (ending in `/`).
    Role {
        /// The assumed-role prefix of its sessions.
        prefix: String,
        /// The role's name.
        name: String,
    },
}

impl TrailPrincipal {
    /// The principal an IAM user or role ARN (account of 12 digits) names; `None` for
    /// anything else.
    pub fn of_arn(arn: &str) -> Option<TrailPrincipal> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let name = res
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())?
            .to_string();
        if res.starts_with("role/") {
            Some(TrailPrincipal::Role {
                prefix: format!("arn:{partition}:sts::{account}:assumed-role/{name}/"),
                name,
            })
        } else if res.starts_with("user/") {
            Some(TrailPrincipal::User {
                arn: arn.to_string(),
                name,
            })
        } else {
            None
        }
    }

    /// `IAM_USER` or `IAM_ROLE`.
    pub fn entity_type(&self) -> &'static str {
        match self {
            TrailPrincipal::User { .. } => "IAM_USER",
            TrailPrincipal::Role { .. } => "IAM_ROLE",
        }
    }

    /// The user's or role's name.
    pub fn name(&self) -> &str {
        match self {
            TrailPrincipal::User { name, .. } | TrailPrincipal::Role { name, .. } => name,
        }
    }

    /// Whether a record made by `caller` (its `userIdentity.arn`) is this principal's.
    pub fn made(&self, caller: &str) -> bool {
        match self {
            TrailPrincipal::User { arn, .. } => caller == arn,
            TrailPrincipal::Role { prefix, .. } => caller.starts_with(prefix.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TrailPrincipal;

    #[test]
    fn a_role_owns_every_session_of_its_own_name() {
        let Some(role) = TrailPrincipal::of_arn("arn:aws:iam::111122223333:role/path/deployer")
        else {
            panic!("a role ARN");
        };
        assert_eq!(role.entity_type(), "IAM_ROLE");
        assert_eq!(role.name(), "deployer");
        assert!(role.made("arn:aws:sts::111122223333:assumed-role/deployer/ci-run"));
        assert!(!role.made("arn:aws:sts::111122223333:assumed-role/deployer2/ci-run"));
        assert!(!role.made("arn:aws:sts::444455556666:assumed-role/deployer/ci-run"));
    }

    #[test]
    fn users_match_exactly_and_other_arns_name_no_principal() {
        let Some(user) = TrailPrincipal::of_arn("arn:aws:iam::111122223333:user/alice") else {
            panic!("a user ARN");
        };
        assert_eq!(user.entity_type(), "IAM_USER");
        assert!(user.made("arn:aws:iam::111122223333:user/alice"));
        assert!(!user.made("arn:aws:iam::111122223333:user/alice2"));
        for other in [
            "arn:aws:iam::111122223333:group/g",
            "arn:aws:iam::1111:user/short-account",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:s3:::bucket",
            "nonsense",
        ] {
            assert_eq!(TrailPrincipal::of_arn(other), None, "{other}");
        }
    }
}
