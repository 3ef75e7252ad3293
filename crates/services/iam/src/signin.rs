//! Console sign-in of people: an IAM user (account id or alias, user name) or the root user
//! (email), with password, MFA code when the person has a device, forced password change,
//! and lockout after repeated failures. The server exposes it as `POST /_rampart/signin`.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{
    common::{find, read_doc, save_doc, Res},
    login_profiles,
    mfa_device::{enabled_for, verify_code, MfaRefusal},
    model::{UserDoc, USER},
    passwords::{self, login_of, policy_of},
};
use rampart_kit::{db::Db, Partition};

/// Failed attempts in a row before an identity is locked out.
pub const MAX_FAILED: u32 = 5;
/// How long a lockout lasts.
pub const LOCKOUT_SECS: i64 = 900;

/// A sign-in attempt.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct SignInRequest {
    /// Account id or alias (IAM users).
    #[serde(default)]
    pub account: Option<String>,
    /// IAM user name.
    #[serde(default)]
    pub user: Option<String>,
    /// Root user's email (instead of account and user).
    #[serde(default)]
    pub email: Option<String>,
    /// The password.
    pub password: String,
    /// The current code of the person's MFA device.
    #[serde(default)]
    pub mfa_code: Option<String>,
    /// A new password, when the current one must be changed.
    #[serde(default)]
    pub new_password: Option<String>,
}

/// The result of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in.
    Success {
        /// The account.
        account_id: String,
        /// The principal's ARN.
        arn: String,
        /// The user name (none for root).
        user_name: Option<String>,
        /// Whether an MFA code was verified.
        mfa_authenticated: bool,
    },
    /// Refused.
    Failure {
        /// A stable code: `InvalidCredentials`, `MfaRequired`, `InvalidMfaCode`, `LockedOut`,
        /// `PasswordResetRequired`, `PasswordExpired`, `PasswordPolicyViolation`.
        code: &'static str,
        /// For people.
        message: String,
        /// Seconds until a lockout ends.
        retry_after_secs: Option<i64>,
        /// The account of the identity tried, when it exists (whose trail shows the attempt).
        account_id: Option<String>,
    },
}

impl SignInOutcome {
    /// The HTTP status that answers this outcome: 200 for success; for a refusal, 429 while
    /// locked out, 403 when the password must change first, 401 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            SignInOutcome::Success { .. } => 200,
            SignInOutcome::Failure { code, .. } => failure_status(code),
        }
    }
}

/// The HTTP status of a refusal's code.
pub fn failure_status(code: &str) -> u16 {
    match code {
        "LockedOut" => 429,
        "PasswordResetRequired" | "PasswordPolicyViolation" | "PasswordExpired" => 403,
        _ => 401,
    }
}

fn failure(code: &'static str, message: impl Into<String>) -> SignInOutcome {
    SignInOutcome::Failure {
        code,
        message: message.into(),
        retry_after_secs: None,
        account_id: None,
    }
}

fn bad_credentials() -> SignInOutcome {
    failure(
        "InvalidCredentials",
        "Your authentication information is incorrect. Please try again.",
    )
}

/// A hash to verify against when the identity does not exist, so that an unknown name costs
/// as much time as a wrong password.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| passwords::hash("rampart-dummy-password").unwrap_or_default())
}

/// Whose password is tried: (account, owner id, ARN, user name).
async fn identify(
    partition: Partition,
    db: &mut Db<'_>,
    req: &SignInRequest,
) -> Res<Option<(String, String, String, Option<String>)>> {
    if let Some(email) = &req.email {
        return Ok(db
            .accounts()
            .get_by_email(email)
            .await?
            .map(|a| (a.id.clone(), a.id.clone(), partition.root_arn(&a.id), None)));
    }
    let (Some(account), Some(user)) = (&req.account, &req.user) else {
        return Ok(None);
    };
    let account_id = if rampart_store::is_valid_account_id(account) {
        account.clone()
    } else {
        match db.entities().get_by_id(&format!("alias:{account}")).await? {
            Some(e) => e.account_id,
            None => return Ok(None),
        }
    };
    Ok(find(db, &account_id, USER, user)
        .await?
        .map(|u| (account_id, u.id, u.arn, Some(u.name))))
}

/// The password half of a sign-in, decided before the write transaction: argon2 costs tens of
/// milliseconds by design, which must be spent neither holding the store's write turn (every
/// writer would wait behind each attempt, a denial of service by unauthenticated callers) nor
/// on an async worker thread.
#[derive(Debug, Clone, Default)]
pub struct PasswordCheck {
    /// The stored hash the password was checked against, and whether it matched.
    checked: Option<(String, bool)>,
}

/// The stored password hash of the identity a sign-in names (`None`: no such identity, or no
/// password). Read outside any transaction.
pub async fn stored_hash(
    partition: Partition,
    db: &mut Db<'_>,
    req: &SignInRequest,
) -> Res<Option<String>> {
    let Some((account, owner_id, _, _)) = identify(partition, db, req).await? else {
        return Ok(None);
    };
    Ok(login_of(db, &account, &owner_id)
        .await?
        .map(|(_, d)| d.hash))
}

/// Checks the password against `stored` (slow: run it on a blocking thread). Unknown
/// identities cost the same as wrong passwords, so timing tells nothing.
pub fn check_password(stored: Option<String>, password: &str) -> PasswordCheck {
    match stored {
        Some(hash) => {
            let ok = passwords::verify(&hash, password);
            PasswordCheck {
                checked: Some((hash, ok)),
            }
        }
        None => {
            passwords::verify(dummy_hash(), password);
            PasswordCheck::default()
        }
    }
}

/// Tries a sign-in whose password was checked beforehand ([`check_password`]). Failures are
/// outcomes, not errors: the caller commits the transaction either way, so failed attempts
/// count towards the lockout.
pub async fn sign_in(
    partition: Partition,
    db: &mut Db<'_>,
    req: &SignInRequest,
    now: DateTime<Utc>,
    check: &PasswordCheck,
) -> Res<SignInOutcome> {
    let found = identify(partition, db, req).await?;
    let Some((account, owner_id, arn, user_name)) = found else {
        return Ok(bad_credentials());
    };
    let mut outcome = attempt(
        db,
        req,
        now,
        check,
        (account.clone(), owner_id, arn, user_name),
    )
    .await?;
    if let SignInOutcome::Failure { account_id, .. } = &mut outcome {
        *account_id = Some(account);
    }
    Ok(outcome)
}

/// The attempt on an identity that exists.
async fn attempt(
    db: &mut Db<'_>,
    req: &SignInRequest,
    now: DateTime<Utc>,
    check: &PasswordCheck,
    (account, owner_id, arn, user_name): (String, String, String, Option<String>),
) -> Res<SignInOutcome> {
    let Some((e, mut doc)) = login_of(db, &account, &owner_id).await? else {
        return Ok(bad_credentials());
    };
    if let Some(until) = doc.locked_until.filter(|u| now < *u) {
        return Ok(SignInOutcome::Failure {
            code: "LockedOut",
            message: "Too many failed sign-in attempts. Try again later.".into(),
            retry_after_secs: Some((until - now).num_seconds().max(1)),
            account_id: None,
        });
    }
    let fail = |doc: &mut passwords::LoginDoc| {
        doc.failed_attempts += 1;
        if doc.failed_attempts >= MAX_FAILED {
            doc.failed_attempts = 0;
            doc.locked_until = Some(now + Duration::seconds(LOCKOUT_SECS));
        }
    };
    let password_ok = match &check.checked {
        Some((hash, ok)) if *hash == doc.hash => *ok,
        // The password changed between the check and this transaction (or no check was
        // made): decide on the current hash.
        _ => passwords::verify(&doc.hash, &req.password),
    };
    if !password_ok {
        fail(&mut doc);
        save_doc(db, e, &doc, now).await?;
        return Ok(bad_credentials());
    }

    let devices = enabled_for(db, &account, &owner_id).await?;
    let mut mfa_authenticated = false;
    if !devices.is_empty() {
        let Some(code) = req.mfa_code.as_deref() else {
            return Ok(failure(
                "MfaRequired",
                "Enter the code from your MFA device (mfa_code).",
            ));
        };
        let mut refusal = MfaRefusal::BadCode;
        for serial in &devices {
            match verify_code(db, &account, serial, &owner_id, code, now, true).await? {
                Ok(()) => {
                    mfa_authenticated = true;
                    break;
                }
                Err(r) => refusal = r,
            }
        }
        if !mfa_authenticated {
            fail(&mut doc);
            save_doc(db, e, &doc, now).await?;
            let message = match refusal {
                MfaRefusal::Throttled => "Too many wrong MFA codes. Try again later.",
                _ => "The MFA code is not valid.",
            };
            return Ok(failure("InvalidMfaCode", message));
        }
    }

    // The entity may have been rewritten by the MFA check; reload before saving.
    let Some((e, _)) = login_of(db, &account, &owner_id).await? else {
        return Ok(bad_credentials());
    };
    doc.failed_attempts = 0;
    doc.locked_until = None;
    let policy = policy_of(db, &account).await?.map(|(_, p)| p);
    let expired = doc.expires_at(policy.as_ref()).is_some_and(|t| t <= now);
    if expired && policy.as_ref().is_some_and(|p| p.hard_expiry) {
        save_doc(db, e, &doc, now).await?;
        return Ok(failure(
            "PasswordExpired",
            "Your password has expired; an administrator must reset it.",
        ));
    }
    if expired || doc.password_reset_required {
        let Some(new) = req.new_password.as_deref() else {
            save_doc(db, e, &doc, now).await?;
            return Ok(failure(
                "PasswordResetRequired",
                "You must choose a new password (new_password).",
            ));
        };
        let name = user_name.clone().unwrap_or_else(|| account.clone());
        if let Err(err) =
            login_profiles::check_new_password(policy.as_ref(), Some(&doc), new, &[&name])
        {
            save_doc(db, e, &doc, now).await?;
            return Ok(failure("PasswordPolicyViolation", err.message));
        }
        doc.set_password(new, now)?;
        doc.password_reset_required = false;
    }
    doc.last_used = Some(now);
    save_doc(db, e, &doc, now).await?;
    if let Some(name) = &user_name {
        if let Some(u) = find(db, &account, USER, name).await? {
            let mut udoc: UserDoc = read_doc(&u)?;
            udoc.password_last_used = Some(now);
            save_doc(db, u, &udoc, now).await?;
        }
    }
    Ok(SignInOutcome::Success {
        account_id: account,
        arn,
        user_name,
        mfa_authenticated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_their_statuses() {
        let refused = |code| SignInOutcome::Failure {
            code,
            message: String::new(),
            retry_after_secs: None,
            account_id: None,
        };
        assert_eq!(refused("LockedOut").http_status(), 429);
        assert_eq!(refused("PasswordExpired").http_status(), 403);
        assert_eq!(refused("InvalidCredentials").http_status(), 401);
        assert_eq!(refused("MfaRequired").http_status(), 401);
    }
}
