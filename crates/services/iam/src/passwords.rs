//! Passwords: the account password policy, checking a password against it, argon2id hashes,
//! and the stored login profiles of IAM users and of the root user.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use chrono::{DateTime, Utc};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};

use super::{
    common::{find, read_doc, to_text, IamError, Res},
    model,
};
use rampart_kit::{db::Db, error::ServiceError};

/// Entity kind of the account password policy (one per account, name key `policy`).
pub const PASSWORD_POLICY: &str = "iam:password-policy";
/// Entity kind of login profiles; name key: the user id, or the account id for root.
pub const LOGIN_PROFILE: &str = "iam:login-profile";
/// The symbols AWS counts for `RequireSymbols`.
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";
/// Longest password AWS accepts.
pub const MAX_LEN: usize = 128;

/// The account password policy as `UpdateAccountPasswordPolicy` sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// 6..=128; AWS's default for an updated policy is 6.
    pub minimum_password_length: i64,
    /// At least one of [`SYMBOLS`].
    pub require_symbols: bool,
    /// At least one digit.
    pub require_numbers: bool,
    /// At least one A-Z.
    pub require_uppercase_characters: bool,
    /// At least one a-z.
    pub require_lowercase_characters: bool,
    /// Users may change their own password without an `iam:ChangePassword` grant.
    pub allow_users_to_change_password: bool,
    /// Days a password lasts (`None`: forever).
    pub max_password_age: Option<i64>,
    /// How many previous passwords may not be reused (`None`: any may).
    pub password_reuse_prevention: Option<i64>,
    /// An expired password cannot be reset by its user at sign-in.
    pub hard_expiry: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: 6,
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            allow_users_to_change_password: false,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: false,
        }
    }
}

/// The account's custom password policy, if one is set.
pub async fn policy_of(db: &mut Db<'_>, account: &str) -> Res<Option<(Entity, PasswordPolicy)>> {
    match find(db, account, PASSWORD_POLICY, "policy").await? {
        Some(e) => {
            let p: PasswordPolicy = read_doc(&e)?;
            Ok(Some((e, p)))
        }
        None => Ok(None),
    }
}

/// The reasons `password` breaks the policy (AWS's default policy when none is set: 8 to 128
/// characters, three of the four character classes, not the account name or email).
pub fn violations(policy: Option<&PasswordPolicy>, password: &str, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    let len = password.chars().count();
    if len > MAX_LEN {
        out.push(format!(
            "Password should have a maximum length of {MAX_LEN}"
        ));
    }
    match policy {
        Some(p) => {
            if (len as i64) < p.minimum_password_length {
                out.push(format!(
                    "Password should have a minimum length of {}",
                    p.minimum_password_length
                ));
            }
            if p.require_lowercase_characters && !lower {
                out.push("Password should have at least one lowercase letter".into());
            }
            if p.require_uppercase_characters && !upper {
                out.push("Password should have at least one uppercase letter".into());
            }
            if p.require_numbers && !digit {
                out.push("Password should have at least one number".into());
            }
            if p.require_symbols && !symbol {
                out.push("Password should have at least one symbol".into());
            }
        }
        None => {
            if len < 8 {
                out.push("Password should have a minimum length of 8".into());
            }
            if [upper, lower, digit, symbol].iter().filter(|b| **b).count() < 3 {
                out.push(
                    "Password should have at least three of: uppercase letters, lowercase letters, numbers, symbols".into(),
                );
            }
            if names
                .iter()
                .any(|n| !n.is_empty() && n.eq_ignore_ascii_case(password))
            {
                out.push("Password should not be the account name or email address".into());
            }
        }
    }
    out
}

/// `PasswordPolicyViolation` unless `password` satisfies the account's policy.
pub fn enforce(policy: Option<&PasswordPolicy>, password: &str, names: &[&str]) -> Res<()> {
    let v = violations(policy, password, names);
    if v.is_empty() {
        return Ok(());
    }
    Err(IamError::PasswordPolicyViolation(v.join("; ")).into())
}

/// An argon2id hash (PHC string, random salt) of a password.
pub fn hash(password: &str) -> Res<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ServiceError::internal())
}

/// True when `password` matches the stored hash (argon2 compares in constant time).
pub fn verify(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A login profile's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginDoc {
    /// The argon2id hash of the current password.
    pub hash: String,
    /// The user must choose a new password at next sign-in.
    #[serde(default)]
    pub password_reset_required: bool,
    /// When the password was last set.
    pub changed_at: DateTime<Utc>,
    /// When the password was last used to sign in.
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    /// Hashes of previous passwords, newest first (for `PasswordReusePrevention`).
    #[serde(default)]
    pub history: Vec<String>,
    /// Failed sign-ins in a row.
    #[serde(default)]
    pub failed_attempts: u32,
    /// Sign-in refused until then after too many failures.
    #[serde(default)]
    pub locked_until: Option<DateTime<Utc>>,
}

impl LoginDoc {
    /// A new password: hashed, the old one kept in the history (at most 24, AWS's maximum).
    pub fn set_password(&mut self, password: &str, now: DateTime<Utc>) -> Res<()> {
        self.set_password_hash(hash(password)?, now);
        Ok(())
    }

    /// [`Self::set_password`] with the hash already computed.
    pub fn set_password_hash(&mut self, new: String, now: DateTime<Utc>) {
        if !self.hash.is_empty() {
            self.history.insert(0, std::mem::take(&mut self.hash));
            self.history.truncate(24);
        }
        self.hash = new;
        self.changed_at = now;
    }

    /// True when `password` is the current one or one of the last `n - 1` previous ones.
    pub fn reuses(&self, password: &str, n: i64) -> bool {
        let n = usize::try_from(n).unwrap_or(0);
        if n == 0 {
            return false;
        }
        std::iter::once(&self.hash)
            .chain(self.history.iter())
            .take(n)
            .any(|h| verify(h, password))
    }

    /// When the password expires under `policy`, if it does.
    pub fn expires_at(&self, policy: Option<&PasswordPolicy>) -> Option<DateTime<Utc>> {
        let days = policy?.max_password_age?;
        rampart_kit::checked_time::plus_days(self.changed_at, days)
    }
}

/// The argon2 work of a call that sets a password, done before its write transaction: each
/// hash or check costs tens of milliseconds by design, and inside the transaction every other
/// writer would wait for it (the embedded store has one writer). The transaction uses the
/// results only while the login profile is the one they were computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordWork {
    /// The profile's password hash when the work was done (empty: no profile).
    seen: String,
    /// The new password's hash.
    new_hash: String,
    /// Whether the new password is the current one, then each previous one, newest first
    /// (as far as the reuse policy looked back then).
    reused: Vec<bool>,
    /// Whether the old password given (`ChangePassword`) is the current one.
    old_ok: Option<bool>,
}

/// The inputs of a [`PasswordWork`], read from the store before the transaction.
#[derive(Debug, Clone)]
pub struct PasswordPlan {
    /// The login profile as read (`None`: none yet).
    pub doc: Option<LoginDoc>,
    /// The password being set.
    pub new: String,
    /// The old password given (`ChangePassword`).
    pub old: Option<String>,
    /// How many passwords the reuse policy looks back over (0: none).
    pub look_back: usize,
}

impl PasswordPlan {
    /// Does the work. Slow by design: run it on a blocking thread.
    pub fn run(self) -> Res<PasswordWork> {
        PasswordWork::compute(
            self.doc.as_ref(),
            &self.new,
            self.old.as_deref(),
            self.look_back,
        )
    }
}

impl PasswordWork {
    /// Hashes `new` and, against `doc`, checks `old` and the last `look_back` passwords.
    /// Slow: run it on a blocking thread.
    pub fn compute(
        doc: Option<&LoginDoc>,
        new: &str,
        old: Option<&str>,
        look_back: usize,
    ) -> Res<PasswordWork> {
        let (seen, reused, old_ok) = match doc {
            None => (String::new(), Vec::new(), None),
            Some(d) => (
                d.hash.clone(),
                std::iter::once(&d.hash)
                    .chain(d.history.iter())
                    .take(look_back)
                    .map(|h| verify(h, new))
                    .collect(),
                old.map(|o| verify(&d.hash, o)),
            ),
        };
        Ok(PasswordWork {
            seen,
            new_hash: hash(new)?,
            reused,
            old_ok,
        })
    }

    /// True when the work was computed from `doc` as it is now (`None`: no profile yet).
    pub fn applies_to(&self, doc: Option<&LoginDoc>) -> bool {
        self.seen == doc.map_or("", |d| d.hash.as_str())
    }

    /// The new password's hash.
    pub fn new_hash(&self) -> &str {
        &self.new_hash
    }

    /// Whether `old` matched, if it was checked.
    pub fn old_ok(&self) -> Option<bool> {
        self.old_ok
    }

    /// The same work with another new hash (tests tell the hashes apart with it).
    #[cfg(test)]
    pub(crate) fn with_new_hash(self, new_hash: String) -> PasswordWork {
        PasswordWork { new_hash, ..self }
    }

    /// [`LoginDoc::reuses`] from the checks made, if they reach back `n` passwords of `doc`.
    pub fn reuses(&self, doc: &LoginDoc, n: i64) -> Option<bool> {
        let n = usize::try_from(n).unwrap_or(0).min(1 + doc.history.len());
        (n <= self.reused.len()).then(|| self.reused.iter().take(n).any(|r| *r))
    }
}

/// The login profile of the principal `owner_id` (user id, or account id for root).
pub async fn login_of(
    db: &mut Db<'_>,
    account: &str,
    owner_id: &str,
) -> Res<Option<(Entity, LoginDoc)>> {
    match find(db, account, LOGIN_PROFILE, owner_id).await? {
        Some(e) => {
            let d: LoginDoc = read_doc(&e)?;
            Ok(Some((e, d)))
        }
        None => Ok(None),
    }
}

/// A new login profile entity for `owner_id` (display name `name`, ARN `arn`).
pub fn new_login(
    account: &str,
    owner_id: &str,
    name: &str,
    arn: &str,
    doc: &LoginDoc,
    now: DateTime<Utc>,
) -> Res<Entity> {
    Ok(Entity {
        account_id: account.to_string(),
        kind: LOGIN_PROFILE.into(),
        name: name.to_string(),
        name_key: model::name_key(owner_id),
        id: format!("login:{owner_id}"),
        path: "/".into(),
        arn: arn.to_string(),
        created_at: now,
        updated_at: now,
        doc: to_text(doc)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_needs_three_classes_and_eight_chars() {
        assert!(violations(None, "Abcdef1!", &[]).is_empty());
        assert!(violations(None, "abcdefg1", &[]).len() == 1);
        assert!(!violations(None, "Ab1!", &[]).is_empty());
        assert!(!violations(None, "Acct-Name1", &["acct-name1"]).is_empty());
    }

    #[test]
    fn custom_policy_rules() {
        let p = PasswordPolicy {
            minimum_password_length: 12,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            ..PasswordPolicy::default()
        };
        let v = violations(Some(&p), "short", &[]);
        assert!(v.iter().any(|m| m.contains("minimum length of 12")));
        assert!(v.iter().any(|m| m.contains("uppercase")));
        assert!(v.iter().any(|m| m.contains("symbol")));
        assert!(v.iter().any(|m| m.contains("number")));
        assert!(violations(Some(&p), "Long-enough-1", &[]).is_empty());
        assert_eq!(
            enforce(Some(&p), "x", &[]).unwrap_err().code,
            "PasswordPolicyViolation"
        );
    }

    #[test]
    fn hashes_verify_and_history_prevents_reuse() {
        let now = Utc::now();
        let mut d = LoginDoc::default();
        d.set_password("First-pass1", now).unwrap();
        assert!(d.hash.starts_with("$argon2id$"));
        assert!(verify(&d.hash, "First-pass1"));
        assert!(!verify(&d.hash, "first-pass1"));
        d.set_password("Second-pass2", now).unwrap();
        assert!(d.reuses("First-pass1", 2));
        assert!(!d.reuses("First-pass1", 1));
        assert!(!d.reuses("First-pass1", 0));
    }
}
