//! Account-level managed rules (`AWS::::Account`): the facts they read, gathered from IAM's,
//! S3's and CloudTrail's stores, and their checks.

use chrono::{DateTime, Utc};
use rampart_iam::mfa_device::LINK_MFA;
use rampart_iam::passwords::{self, PasswordPolicy};
use rampart_kit::db::Db;
use rampart_s3::public_access::{self, PublicAccessBlock};
use rampart_trails::model::TrailDoc;

use crate::build::doc_of;
use crate::error::{ConfigError, ConfigResult};
use crate::managed::{boolean, int, Params, Verdict};

/// What account-level rules look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountFacts {
    /// The custom password policy, if set.
    pub password_policy: Option<PasswordPolicy>,
    /// MFA devices of the root user.
    pub root_mfa: usize,
    /// Active access keys of the root user.
    pub root_keys: usize,
    /// The account's trails.
    pub trails: Vec<TrailDoc>,
    /// The account-level S3 public access block.
    pub s3_block: Option<PublicAccessBlock>,
    /// GuardDuty, Security Hub and IAM Access Analyzer in the account.
    pub services: crate::checks_account_more::ServiceFacts,
}

/// Reads the account's facts.
pub async fn gather(db: &mut Db<'_>, account: &str) -> ConfigResult<AccountFacts> {
    let password_policy = passwords::policy_of(db, account).await?.map(|(_, p)| p);
    let root_mfa = db.links().targets(account, LINK_MFA, account).await?.len();
    let root_keys = db
        .credentials()
        .list_for_principal(account, account)
        .await?
        .iter()
        .filter(|k| k.session.is_none() && k.status.as_str() == "Active")
        .count();
    let mut trails = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, "cloudtrail:trail", "", after.as_deref(), 100)
            .await?;
        for e in &page.items {
            trails.push(doc_of::<TrailDoc>(e)?);
        }
        after = page.items.last().map(|e| e.name_key.clone());
        if !page.truncated {
            break;
        }
    }
    let s3_block = public_access::account_block(db, account)
        .await
        .map_err(|_| ConfigError::internal())?;
    Ok(AccountFacts {
        password_policy,
        root_mfa,
        root_keys,
        trails,
        s3_block,
        services: crate::checks_account_more::gather(db, account).await?,
    })
}

/// `ROOT_ACCOUNT_MFA_ENABLED`.
pub fn root_mfa(f: &AccountFacts, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(f.root_mfa > 0, "The root user has no MFA device.")
}

/// `IAM_ROOT_ACCESS_KEY_CHECK`.
pub fn root_access_key(f: &AccountFacts, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(f.root_keys == 0, "The root user has an active access key.")
}

/// `IAM_PASSWORD_POLICY`: the custom policy meets every parameter.
pub fn password_policy(f: &AccountFacts, params: &Params, _: DateTime<Utc>) -> Verdict {
    let Some(p) = &f.password_policy else {
        return Verdict::fail("The account has no password policy.");
    };
    let mut failed = Vec::new();
    let flags = [
        ("RequireUppercaseCharacters", p.require_uppercase_characters),
        ("RequireLowercaseCharacters", p.require_lowercase_characters),
        ("RequireSymbols", p.require_symbols),
        ("RequireNumbers", p.require_numbers),
    ];
    for (name, set) in flags {
        if boolean(params, name) == Some(true) && !set {
            failed.push(name);
        }
    }
    if int(params, "MinimumPasswordLength").is_some_and(|n| p.minimum_password_length < n) {
        failed.push("MinimumPasswordLength");
    }
    if int(params, "PasswordReusePrevention")
        .is_some_and(|n| p.password_reuse_prevention.is_none_or(|r| r < n))
    {
        failed.push("PasswordReusePrevention");
    }
    if int(params, "MaxPasswordAge").is_some_and(|n| p.max_password_age.is_none_or(|a| a > n)) {
        failed.push("MaxPasswordAge");
    }
    Verdict::check(
        failed.is_empty(),
        format!("The password policy does not meet: {}.", failed.join(", ")),
    )
}

fn trail_matches(t: &TrailDoc, params: &Params) -> bool {
    params.get("s3BucketName").is_none_or(|b| *b == t.bucket)
        && params
            .get("snsTopicArn")
            .is_none_or(|s| t.sns_topic.as_deref() == Some(s.as_str()))
}

/// `CLOUD_TRAIL_ENABLED`: a logging trail (delivering to `s3BucketName`, when given).
pub fn trail_enabled(f: &AccountFacts, params: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(
        f.trails
            .iter()
            .any(|t| t.logging && trail_matches(t, params)),
        "No trail is logging in the account.",
    )
}

/// `MULTI_REGION_CLOUD_TRAIL_ENABLED`: a logging multi-region trail.
pub fn multi_region_trail(f: &AccountFacts, params: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(
        f.trails
            .iter()
            .any(|t| t.logging && t.multi_region && trail_matches(t, params)),
        "No multi-region trail is logging in the account.",
    )
}

/// `S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC`: the account-level block has the settings
/// the parameters ask for.
pub fn account_public_access_blocks(
    f: &AccountFacts,
    params: &Params,
    _: DateTime<Utc>,
) -> Verdict {
    let b = f.s3_block.unwrap_or(PublicAccessBlock::NONE);
    let wanted = [
        ("BlockPublicAcls", b.block_public_acls),
        ("IgnorePublicAcls", b.ignore_public_acls),
        ("BlockPublicPolicy", b.block_public_policy),
        ("RestrictPublicBuckets", b.restrict_public_buckets),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(name, set)| boolean(params, name) == Some(true) && !set)
        .map(|(name, _)| *name)
        .collect();
    Verdict::check(
        missing.is_empty(),
        format!(
            "The account's public access block lacks: {}.",
            missing.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weak_password_policy_fails_the_strict_parameters() {
        let params = Params::from([("MinimumPasswordLength".to_string(), "14".to_string())]);
        let none = AccountFacts::default();
        assert_eq!(
            password_policy(&none, &params, Utc::now()).compliance,
            "NON_COMPLIANT"
        );
        let weak = AccountFacts {
            password_policy: Some(PasswordPolicy {
                minimum_password_length: 8,
                ..passwords_default()
            }),
            ..AccountFacts::default()
        };
        assert_eq!(
            password_policy(&weak, &params, Utc::now()).compliance,
            "NON_COMPLIANT"
        );
        let strong = AccountFacts {
            password_policy: Some(PasswordPolicy {
                minimum_password_length: 16,
                ..passwords_default()
            }),
            ..AccountFacts::default()
        };
        assert_eq!(
            password_policy(&strong, &params, Utc::now()).compliance,
            "COMPLIANT"
        );
    }

    fn passwords_default() -> PasswordPolicy {
        PasswordPolicy {
            minimum_password_length: 8,
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
