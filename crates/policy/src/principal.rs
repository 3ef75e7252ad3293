//! Principal / NotPrincipal: parsing the element and matching the caller as AWS does.

use crate::request::{Principal, PrincipalType};

/// How a resource-policy statement names the caller, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grant {
    /// Not named.
    None,
    /// Named through its account (account id or root ARN): delegates to the account's own
    /// identity-based policies.
    Account,
    /// Named as the role (or IAM user) behind a session: limited by boundary and session policies.
    Role,
    /// Named directly (`*`, user ARN, session ARN, service, ...).
    Direct,
}

/// One named principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalEntry {
    /// `AWS: "*"` or `"*"`.
    Any,
    /// An account, from a 12-digit id or `arn:...:iam::ID:root`.
    Account(String),
    /// A user, role, assumed-role session or federated-user ARN.
    Arn(String),
    /// A unique id such as `AIDA...` (matched against aws:userid is not done; kept for printing).
    UniqueId(String),
    /// A service principal, lowercased.
    Service(String),
    /// A web-identity or SAML provider.
    Federated(String),
    /// An S3 canonical user id.
    CanonicalUser(String),
}

/// The Principal or NotPrincipal element.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalSpec {
    /// True for NotPrincipal.
    pub negated: bool,
    /// The named principals.
    pub entries: Vec<PrincipalEntry>,
    /// The element as written, for printing.
    pub raw: serde_json::Value,
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses one `AWS` value; `Err` explains an invalid principal.
pub fn parse_aws(v: &str) -> Result<PrincipalEntry, String> {
    if v == "*" {
        return Ok(PrincipalEntry::Any);
    }
    if is_account_id(v) {
        return Ok(PrincipalEntry::Account(v.to_string()));
    }
    if v.contains('*') || v.contains('?') {
        return Err(format!(
            "Invalid principal in policy: \"AWS\":\"{v}\" (wildcards are only allowed as \"*\")"
        ));
    }
    if let Some(arn) = crate::arn::Arn::parse(v) {
        let ok_service = arn.service == "iam" || arn.service == "sts";
        if !ok_service || !is_account_id(arn.account) {
            return Err(format!("Invalid principal in policy: \"AWS\":\"{v}\""));
        }
        if arn.resource == "root" {
            return Ok(PrincipalEntry::Account(arn.account.to_string()));
        }
        let r = arn.resource;
        let valid = (arn.service == "iam" && (r.starts_with("user/") || r.starts_with("role/")))
            || (arn.service == "sts"
                && (r.starts_with("assumed-role/") || r.starts_with("federated-user/")));
        if !valid {
            return Err(format!("Invalid principal in policy: \"AWS\":\"{v}\""));
        }
        return Ok(PrincipalEntry::Arn(v.to_string()));
    }
    if v.len() == 21 && v.starts_with('A') && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(PrincipalEntry::UniqueId(v.to_string()));
    }
    Err(format!("Invalid principal in policy: \"AWS\":\"{v}\""))
}

impl PrincipalEntry {
    /// How this entry names the caller.
    pub fn grant(&self, p: &Principal) -> Grant {
        match self {
            PrincipalEntry::Any => Grant::Direct,
            PrincipalEntry::Account(a) => {
                let in_account = matches!(
                    p.kind,
                    PrincipalType::Root
                        | PrincipalType::User
                        | PrincipalType::Role
                        | PrincipalType::AssumedRole
                        | PrincipalType::FederatedUser
                );
                if in_account && p.account.as_deref() == Some(a.as_str()) {
                    if p.kind == PrincipalType::Root {
                        Grant::Direct
                    } else {
                        Grant::Account
                    }
                } else {
                    Grant::None
                }
            }
            PrincipalEntry::Arn(x) => {
                if *x == p.arn {
                    if p.kind == PrincipalType::Role {
                        Grant::Role
                    } else {
                        Grant::Direct
                    }
                } else if p.parent_arn.as_deref() == Some(x.as_str()) {
                    Grant::Role
                } else {
                    Grant::None
                }
            }
            PrincipalEntry::UniqueId(_) => Grant::None,
            PrincipalEntry::Service(s) => {
                if p.kind == PrincipalType::Service && p.arn.eq_ignore_ascii_case(s) {
                    Grant::Direct
                } else {
                    Grant::None
                }
            }
            PrincipalEntry::Federated(f) => {
                if p.kind == PrincipalType::Federated && p.arn == *f {
                    Grant::Direct
                } else {
                    Grant::None
                }
            }
            PrincipalEntry::CanonicalUser(c) => {
                if p.kind == PrincipalType::CanonicalUser && p.arn == *c {
                    Grant::Direct
                } else {
                    Grant::None
                }
            }
        }
    }
}

impl PrincipalSpec {
    /// For `Principal`: the strongest way any entry names the caller.
    pub fn grant(&self, p: &Principal) -> Grant {
        self.entries
            .iter()
            .map(|e| e.grant(p))
            .max()
            .unwrap_or(Grant::None)
    }

    /// For `NotPrincipal`: true when the caller is excluded, i.e. every identity in its chain is
    /// listed: its account, the role behind a session, and the caller itself (AWS may check the
    /// account, then the role, then the session).
    pub fn excludes(&self, p: &Principal) -> bool {
        if self.entries.contains(&PrincipalEntry::Any) {
            return true;
        }
        let listed_arn = |a: &str| {
            self.entries
                .iter()
                .any(|e| matches!(e, PrincipalEntry::Arn(x) if x == a))
        };
        let listed_account = |a: &Option<String>| match a {
            Some(a) => self
                .entries
                .iter()
                .any(|e| matches!(e, PrincipalEntry::Account(x) if x == a)),
            None => false,
        };
        match p.kind {
            PrincipalType::Root => listed_account(&p.account),
            PrincipalType::User | PrincipalType::Role | PrincipalType::FederatedUser => {
                listed_account(&p.account) && listed_arn(&p.arn)
            }
            PrincipalType::AssumedRole => {
                listed_account(&p.account)
                    && listed_arn(&p.arn)
                    && p.parent_arn.as_deref().is_none_or(listed_arn)
            }
            PrincipalType::Anonymous => false,
            PrincipalType::Service | PrincipalType::Federated | PrincipalType::CanonicalUser => {
                self.entries.iter().any(|e| e.grant(p) == Grant::Direct)
            }
        }
    }

    /// True when the element is exactly `"*"` (or `{"AWS": "*"}`).
    pub fn is_wildcard(&self) -> bool {
        matches!(self.entries.as_slice(), [PrincipalEntry::Any])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(entries: Vec<PrincipalEntry>, negated: bool) -> PrincipalSpec {
        PrincipalSpec {
            negated,
            entries,
            raw: serde_json::Value::Null,
        }
    }

    #[test]
    fn grants() {
        let sess = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/R/s");
        let acct = spec(vec![PrincipalEntry::Account("111122223333".into())], false);
        assert_eq!(acct.grant(&sess), Grant::Account);
        let role = spec(
            vec![PrincipalEntry::Arn(
                "arn:aws:iam::111122223333:role/R".into(),
            )],
            false,
        );
        assert_eq!(role.grant(&sess), Grant::Role);
        let direct = spec(
            vec![PrincipalEntry::Arn(
                "arn:aws:sts::111122223333:assumed-role/R/s".into(),
            )],
            false,
        );
        assert_eq!(direct.grant(&sess), Grant::Direct);
        assert!(parse_aws("arn:aws:iam::111122223333:role/*").is_err());
        assert_eq!(
            parse_aws("arn:aws:iam::111122223333:root"),
            Ok(PrincipalEntry::Account("111122223333".into()))
        );
    }

    #[test]
    fn not_principal_needs_the_chain() {
        let user = Principal::from_arn("arn:aws:iam::444455556666:user/Bob");
        let only_user = spec(
            vec![PrincipalEntry::Arn(
                "arn:aws:iam::444455556666:user/Bob".into(),
            )],
            true,
        );
        assert!(!only_user.excludes(&user));
        let both = spec(
            vec![
                PrincipalEntry::Arn("arn:aws:iam::444455556666:user/Bob".into()),
                PrincipalEntry::Account("444455556666".into()),
            ],
            true,
        );
        assert!(both.excludes(&user));
    }
}
