//! Console passwords: login profiles, `ChangePassword` by the user, and the account password
//! policy, enforced on every password set.

use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};

use super::{
    common::{opt_bool, opt_int, opt_str, req_str, save_doc, to_text, ts, IamError, Res},
    passwords::{self, login_of, new_login, policy_of, LoginDoc, PasswordPolicy, PASSWORD_POLICY},
    users,
};
use crate::{
    authz::AuthzRequest,
    context::CallContext,
    db::Db,
    error::ServiceError,
    principal::{root_arn, PrincipalKind},
    registry::{not_implemented, Access},
};

/// Whether this family owns `operation`, and how it touches state.
pub fn access(operation: &str) -> Option<Access> {
    Some(match operation {
        "GetLoginProfile" | "GetAccountPasswordPolicy" => Access::Read,
        "CreateLoginProfile"
        | "UpdateLoginProfile"
        | "DeleteLoginProfile"
        | "ChangePassword"
        | "UpdateAccountPasswordPolicy"
        | "DeleteAccountPasswordPolicy" => Access::Write,
        _ => return None,
    })
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    operation: &str,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = ctx.principal.account_id.as_str();
    let action = format!("iam:{operation}");
    let req = match operation {
        "CreateLoginProfile" | "UpdateLoginProfile" | "DeleteLoginProfile" | "GetLoginProfile" => {
            match opt_str(input, "UserName") {
                Some(name) => users::authz_on_user(&action, name, ctx, store, Vec::new()).await?,
                None => AuthzRequest::on(&action, ctx.principal.arn.clone(), account),
            }
        }
        // A policy with AllowUsersToChangePassword lets every user change their own password
        // without an iam:ChangePassword grant.
        "ChangePassword" => {
            let allowed = policy_of(&mut Db::Read(store), account)
                .await?
                .is_some_and(|(_, p)| p.allow_users_to_change_password);
            AuthzRequest {
                always_allowed: allowed,
                ..AuthzRequest::on(&action, ctx.principal.arn.clone(), account)
            }
        }
        "UpdateAccountPasswordPolicy"
        | "GetAccountPasswordPolicy"
        | "DeleteAccountPasswordPolicy" => AuthzRequest::on_any(&action, account),
        _ => return Ok(None),
    };
    Ok(Some(req))
}

/// Runs an operation of this family.
pub async fn handle(
    operation: &str,
    input: Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let db = &mut db;
    match operation {
        "CreateLoginProfile" => create(&input, ctx, db).await,
        "GetLoginProfile" => get(&input, ctx, db).await,
        "UpdateLoginProfile" => update(&input, ctx, db).await,
        "DeleteLoginProfile" => delete(&input, ctx, db).await,
        "ChangePassword" => change_password(&input, ctx, db).await,
        "UpdateAccountPasswordPolicy" => update_policy(&input, ctx, db).await,
        "GetAccountPasswordPolicy" => get_policy(ctx, db).await,
        "DeleteAccountPasswordPolicy" => delete_policy(ctx, db).await,
        _ => Err(not_implemented("iam", operation)),
    }
}

/// The user an operation names (or the calling user).
async fn target_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Entity> {
    let p = &ctx.principal;
    let name = match opt_str(input, "UserName") {
        Some(n) => n.to_string(),
        None if p.kind == PrincipalKind::User => p.name.clone(),
        None => {
            return Err(ServiceError::validation(
                "Must specify userName when calling with non-User credentials",
            ))
        }
    };
    users::load(db, &p.account_id, &name).await
}

fn no_profile(name: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("Login Profile for User {name} cannot be found.")).into()
}

fn profile_json(user: &str, e: &Entity, doc: &LoginDoc) -> Value {
    json!({ "LoginProfile": {
        "UserName": user,
        "CreateDate": ts(e.created_at),
        "PasswordResetRequired": doc.password_reset_required,
    }})
}

/// Checks a new password against the policy and, when it forbids, the previous passwords.
pub fn check_new_password(
    policy: Option<&PasswordPolicy>,
    doc: Option<&LoginDoc>,
    password: &str,
    names: &[&str],
) -> Res<()> {
    passwords::enforce(policy, password, names)?;
    if let (Some(p), Some(d)) = (policy, doc) {
        if let Some(n) = p.password_reuse_prevention {
            if d.reuses(password, n) {
                return Err(IamError::PasswordPolicyViolation(format!(
                    "Password should not be one of your last {n} passwords"
                ))
                .into());
            }
        }
    }
    Ok(())
}

async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let user = target_user(input, ctx, db).await?;
    let password = req_str(input, "Password")?;
    if login_of(db, account, &user.id).await?.is_some() {
        return Err(IamError::EntityAlreadyExists(format!(
            "Login Profile for user {} already exists.",
            user.name
        ))
        .into());
    }
    let policy = policy_of(db, account).await?.map(|(_, p)| p);
    check_new_password(policy.as_ref(), None, password, &[&user.name])?;
    let mut doc = LoginDoc {
        password_reset_required: opt_bool(input, "PasswordResetRequired").unwrap_or(false),
        ..LoginDoc::default()
    };
    doc.set_password(password, ctx.now)?;
    let e = new_login(account, &user.id, &user.name, &user.arn, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(profile_json(&user.name, &e, &doc))
}

async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = target_user(input, ctx, db).await?;
    let (e, doc) = login_of(db, &ctx.principal.account_id, &user.id)
        .await?
        .ok_or_else(|| no_profile(&user.name))?;
    Ok(profile_json(&user.name, &e, &doc))
}

async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let user = target_user(input, ctx, db).await?;
    let (e, mut doc) = login_of(db, account, &user.id)
        .await?
        .ok_or_else(|| no_profile(&user.name))?;
    if let Some(password) = opt_str(input, "Password") {
        let policy = policy_of(db, account).await?.map(|(_, p)| p);
        check_new_password(policy.as_ref(), Some(&doc), password, &[&user.name])?;
        doc.set_password(password, ctx.now)?;
        doc.failed_attempts = 0;
        doc.locked_until = None;
    }
    if let Some(r) = opt_bool(input, "PasswordResetRequired") {
        doc.password_reset_required = r;
    }
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let user = target_user(input, ctx, db).await?;
    let (e, _) = login_of(db, account, &user.id)
        .await?
        .ok_or_else(|| no_profile(&user.name))?;
    db.entities()
        .delete(account, passwords::LOGIN_PROFILE, &e.name_key)
        .await?;
    Ok(json!({}))
}

/// The caller changes their own password (an IAM user; the root user changes the root
/// password, which nobody else can).
async fn change_password(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let p = &ctx.principal;
    let account = &p.account_id;
    let old = req_str(input, "OldPassword")?;
    let new = req_str(input, "NewPassword")?;
    let (owner_id, name) = match p.kind {
        PrincipalKind::User => (p.user_id.clone(), p.name.clone()),
        PrincipalKind::Root => (account.clone(), account.clone()),
        _ => {
            return Err(IamError::InvalidUserType(
                "Only IAM users can change their own password.".into(),
            )
            .into())
        }
    };
    let (e, mut doc) = login_of(db, account, &owner_id).await?.ok_or_else(|| {
        ServiceError::from(IamError::InvalidUserType(format!(
            "The user {name} has no password to change."
        )))
    })?;
    if !passwords::verify(&doc.hash, old) {
        return Err(IamError::AccessDenied("The old password is incorrect.".into()).into());
    }
    let policy = policy_of(db, account).await?.map(|(_, p)| p);
    let email = db
        .accounts()
        .get(account)
        .await?
        .map(|a| a.email)
        .unwrap_or_default();
    check_new_password(policy.as_ref(), Some(&doc), new, &[&name, &email])?;
    doc.set_password(new, ctx.now)?;
    doc.password_reset_required = false;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

async fn update_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let positive = |v: Option<i64>| v.filter(|n| *n > 0);
    let policy = PasswordPolicy {
        minimum_password_length: opt_int(input, "MinimumPasswordLength").unwrap_or(6),
        require_symbols: opt_bool(input, "RequireSymbols").unwrap_or(false),
        require_numbers: opt_bool(input, "RequireNumbers").unwrap_or(false),
        require_uppercase_characters: opt_bool(input, "RequireUppercaseCharacters")
            .unwrap_or(false),
        require_lowercase_characters: opt_bool(input, "RequireLowercaseCharacters")
            .unwrap_or(false),
        allow_users_to_change_password: opt_bool(input, "AllowUsersToChangePassword")
            .unwrap_or(false),
        max_password_age: positive(opt_int(input, "MaxPasswordAge")),
        password_reuse_prevention: positive(opt_int(input, "PasswordReusePrevention")),
        hard_expiry: opt_bool(input, "HardExpiry").unwrap_or(false),
    };
    match policy_of(db, account).await? {
        Some((e, _)) => save_doc(db, e, &policy, ctx.now).await?,
        None => {
            let e = Entity {
                account_id: account.clone(),
                kind: PASSWORD_POLICY.into(),
                name: "policy".into(),
                name_key: "policy".into(),
                id: format!("password-policy:{account}"),
                path: "/".into(),
                arn: String::new(),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: to_text(&policy)?,
            };
            db.entities().create(&e).await?;
        }
    }
    Ok(json!({}))
}

async fn get_policy(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let (_, p) = policy_of(db, account)
        .await?
        .ok_or_else(|| no_policy(account))?;
    let mut m = Map::new();
    m.insert(
        "MinimumPasswordLength".into(),
        json!(p.minimum_password_length),
    );
    m.insert("RequireSymbols".into(), json!(p.require_symbols));
    m.insert("RequireNumbers".into(), json!(p.require_numbers));
    m.insert(
        "RequireUppercaseCharacters".into(),
        json!(p.require_uppercase_characters),
    );
    m.insert(
        "RequireLowercaseCharacters".into(),
        json!(p.require_lowercase_characters),
    );
    m.insert(
        "AllowUsersToChangePassword".into(),
        json!(p.allow_users_to_change_password),
    );
    m.insert(
        "ExpirePasswords".into(),
        json!(p.max_password_age.is_some()),
    );
    if let Some(age) = p.max_password_age {
        m.insert("MaxPasswordAge".into(), json!(age));
    }
    if let Some(n) = p.password_reuse_prevention {
        m.insert("PasswordReusePrevention".into(), json!(n));
    }
    m.insert("HardExpiry".into(), json!(p.hard_expiry));
    Ok(json!({ "PasswordPolicy": m }))
}

fn no_policy(account: &str) -> ServiceError {
    IamError::NoSuchEntity(format!(
        "The Password Policy with domain name {account} cannot be found."
    ))
    .into()
}

async fn delete_policy(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    policy_of(db, account)
        .await?
        .ok_or_else(|| no_policy(account))?;
    db.entities()
        .delete(account, PASSWORD_POLICY, "policy")
        .await?;
    Ok(json!({}))
}

/// Sets the root user's password (first start, from the operator), unless one is set.
/// Returns true when it was set.
pub async fn ensure_root_password(
    db: &mut Db<'_>,
    account: &str,
    email: &str,
    password: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Res<bool> {
    if login_of(db, account, account).await?.is_some() {
        return Ok(false);
    }
    passwords::enforce(None, password, &[account, email])?;
    let mut doc = LoginDoc::default();
    doc.set_password(password, now)?;
    let e = new_login(account, account, account, &root_arn(account), &doc, now)?;
    db.entities().create(&e).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(access("ChangePassword"), Some(Access::Write));
        assert_eq!(access("GetAccountPasswordPolicy"), Some(Access::Read));
        assert_eq!(access("GetUser"), None);
    }

    #[test]
    fn reuse_needs_a_policy() {
        let mut d = LoginDoc::default();
        d.set_password("Old-pass-1", chrono::Utc::now()).unwrap();
        let p = PasswordPolicy {
            password_reuse_prevention: Some(3),
            ..PasswordPolicy::default()
        };
        assert!(check_new_password(Some(&p), Some(&d), "Old-pass-1", &[]).is_err());
        assert!(check_new_password(Some(&p), Some(&d), "New-pass-2", &[]).is_ok());
        assert!(check_new_password(None, Some(&d), "Old-pass-1", &[]).is_ok());
    }
}
