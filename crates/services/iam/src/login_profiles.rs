//! Console passwords: login profiles, `ChangePassword` by the user, and the account password
//! policy, enforced on every password set.

use super::Op;
use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};

use super::{
    common::{opt_bool, opt_int, opt_str, req_str, save_doc, to_text, ts, IamError, Res},
    passwords::{
        self, login_of, new_login, policy_of, LoginDoc, PasswordPlan, PasswordPolicy, PasswordWork,
        PASSWORD_POLICY,
    },
    users,
};
use rampart_kit::{
    authz::AuthzRequest,
    context::{CallContext, Preparation, Prepared},
    db::Db,
    error::ServiceError,
    principal::PrincipalKind,
    Partition,
};

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = ctx.principal.account_id.as_str();
    let action = format!("iam:{operation}");
    let req = match op {
        Op::CreateLoginProfile
        | Op::UpdateLoginProfile
        | Op::DeleteLoginProfile
        | Op::GetLoginProfile => match opt_str(input, "UserName") {
            Some(name) => users::authz_on_user(&action, name, ctx, store, Vec::new()).await?,
            None => AuthzRequest::on(&action, ctx.principal.arn.clone(), account),
        },
        // A policy with AllowUsersToChangePassword lets every user change their own password
        // without an iam:ChangePassword grant.
        Op::ChangePassword => {
            let allowed = policy_of(&mut Db::Read(store), account)
                .await?
                .is_some_and(|(_, p)| p.allow_users_to_change_password);
            AuthzRequest {
                always_allowed: allowed,
                ..AuthzRequest::on(&action, ctx.principal.arn.clone(), account)
            }
        }
        Op::UpdateAccountPasswordPolicy
        | Op::GetAccountPasswordPolicy
        | Op::DeleteAccountPasswordPolicy => AuthzRequest::on_any(&action, account),
        _ => return Ok(None),
    };
    Ok(Some(req))
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
    check_password_with(policy, doc, password, names, None)
}

/// [`check_new_password`] with the reuse checks made before the transaction, when they apply.
fn check_password_with(
    policy: Option<&PasswordPolicy>,
    doc: Option<&LoginDoc>,
    password: &str,
    names: &[&str],
    work: Option<&PasswordWork>,
) -> Res<()> {
    passwords::enforce(policy, password, names)?;
    if let (Some(p), Some(d)) = (policy, doc) {
        if let Some(n) = p.password_reuse_prevention {
            let reused = work
                .and_then(|w| w.reuses(d, n))
                .unwrap_or_else(|| d.reuses(password, n));
            if reused {
                return Err(IamError::PasswordPolicyViolation(format!(
                    "Password should not be one of your last {n} passwords"
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// The password work done for this call before its transaction, if it was computed from the
/// login profile as it is now (`None`: no profile).
fn work_for<'a>(ctx: &'a CallContext, doc: Option<&LoginDoc>) -> Option<&'a PasswordWork> {
    ctx.prepared
        .as_deref()
        .and_then(Prepared::get::<PasswordWork>)
        .filter(|w| w.applies_to(doc))
}

/// Sets the new password, with the hash computed before the transaction when there is one.
fn set_password(
    doc: &mut LoginDoc,
    password: &str,
    work: Option<&PasswordWork>,
    ctx: &CallContext,
) -> Res<()> {
    match work {
        Some(w) => {
            doc.set_password_hash(w.new_hash().to_string(), ctx.now);
            Ok(())
        }
        None => doc.set_password(password, ctx.now),
    }
}

/// Whose password `ChangePassword` changes: (owner id, name) of the calling user, or of the
/// root user (whose password nobody else can change).
fn password_owner(ctx: &CallContext) -> Res<(String, String)> {
    let p = &ctx.principal;
    match p.kind {
        PrincipalKind::User => Ok((p.user_id.clone(), p.name.clone())),
        PrincipalKind::Root => Ok((p.account_id.clone(), p.account_id.clone())),
        _ => Err(
            IamError::InvalidUserType("Only IAM users can change their own password.".into())
                .into(),
        ),
    }
}

/// Plans the argon2 work of a call that sets a password, to be done before its write
/// transaction (see [`PasswordWork`]); reads the store, hashes nothing. `None` when the call
/// sets no password, or when it will fail anyway (the handler then says why).
pub async fn prepare(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Res<Option<Preparation>> {
    Ok(plan(op, input, ctx, store)
        .await?
        .map(|plan| Preparation::new(move || plan.run())))
}

async fn plan(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Res<Option<PasswordPlan>> {
    let (new, old) = match op {
        Op::CreateLoginProfile | Op::UpdateLoginProfile => (opt_str(input, "Password"), None),
        Op::ChangePassword => (opt_str(input, "NewPassword"), opt_str(input, "OldPassword")),
        _ => return Ok(None),
    };
    let Some(new) = new else {
        return Ok(None);
    };
    let db = &mut Db::Read(store);
    let account = &ctx.principal.account_id;
    let owner = if op == Op::ChangePassword {
        password_owner(ctx).ok().map(|(id, _)| id)
    } else {
        target_user(input, ctx, db).await.ok().map(|u| u.id)
    };
    let Some(owner) = owner else {
        return Ok(None);
    };
    let doc = login_of(db, account, &owner).await?.map(|(_, d)| d);
    let look_back = policy_of(db, account)
        .await?
        .and_then(|(_, p)| p.password_reuse_prevention)
        .map_or(0, |n| usize::try_from(n).unwrap_or(0));
    Ok(Some(PasswordPlan {
        doc,
        new: new.to_string(),
        old: old.map(str::to_string),
        look_back,
    }))
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
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
    let work = work_for(ctx, None);
    check_password_with(policy.as_ref(), None, password, &[&user.name], work)?;
    let mut doc = LoginDoc {
        password_reset_required: opt_bool(input, "PasswordResetRequired").unwrap_or(false),
        ..LoginDoc::default()
    };
    set_password(&mut doc, password, work, ctx)?;
    let e = new_login(account, &user.id, &user.name, &user.arn, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(profile_json(&user.name, &e, &doc))
}

pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = target_user(input, ctx, db).await?;
    let (e, doc) = login_of(db, &ctx.principal.account_id, &user.id)
        .await?
        .ok_or_else(|| no_profile(&user.name))?;
    Ok(profile_json(&user.name, &e, &doc))
}

pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let user = target_user(input, ctx, db).await?;
    let (e, mut doc) = login_of(db, account, &user.id)
        .await?
        .ok_or_else(|| no_profile(&user.name))?;
    if let Some(password) = opt_str(input, "Password") {
        let policy = policy_of(db, account).await?.map(|(_, p)| p);
        let work = work_for(ctx, Some(&doc));
        check_password_with(policy.as_ref(), Some(&doc), password, &[&user.name], work)?;
        set_password(&mut doc, password, work, ctx)?;
        doc.failed_attempts = 0;
        doc.locked_until = None;
    }
    if let Some(r) = opt_bool(input, "PasswordResetRequired") {
        doc.password_reset_required = r;
    }
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
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
pub async fn change_password(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let old = req_str(input, "OldPassword")?;
    let new = req_str(input, "NewPassword")?;
    let (owner_id, name) = password_owner(ctx)?;
    let (e, mut doc) = login_of(db, account, &owner_id).await?.ok_or_else(|| {
        ServiceError::from(IamError::InvalidUserType(format!(
            "The user {name} has no password to change."
        )))
    })?;
    let work = work_for(ctx, Some(&doc));
    let old_ok = work
        .and_then(PasswordWork::old_ok)
        .unwrap_or_else(|| passwords::verify(&doc.hash, old));
    if !old_ok {
        return Err(IamError::AccessDenied("The old password is incorrect.".into()).into());
    }
    let policy = policy_of(db, account).await?.map(|(_, p)| p);
    let email = db
        .accounts()
        .get(account)
        .await?
        .map(|a| a.email)
        .unwrap_or_default();
    check_password_with(policy.as_ref(), Some(&doc), new, &[&name, &email], work)?;
    set_password(&mut doc, new, work, ctx)?;
    doc.password_reset_required = false;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn update_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
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

pub async fn get_policy(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
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

pub async fn delete_policy(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
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
    partition: Partition,
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
    let e = new_login(
        account,
        account,
        account,
        &partition.root_arn(account),
        &doc,
        now,
    )?;
    db.entities().create(&e).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn root(prepared: Option<Prepared>) -> CallContext {
        CallContext {
            now: chrono::Utc::now(),
            prepared: prepared.map(Arc::new),
            ..rampart_kit::test_support::root_context()
        }
    }

    async fn write(store: &Store, op: &str, input: &Value, ctx: &CallContext) -> Value {
        let mut tx = store.begin().await.unwrap();
        let op = crate::Op::from_name(op).and_then(crate::route).unwrap();
        let out = op
            .handle(input.clone(), ctx, Db::Write(&mut tx))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        out
    }

    async fn stored(store: &Store, user: &str) -> LoginDoc {
        let db = &mut Db::Read(store);
        let u = users::load(db, "111122223333", user).await.unwrap();
        login_of(db, "111122223333", &u.id)
            .await
            .unwrap()
            .unwrap()
            .1
    }

    /// The hash computed before the transaction is the one stored, while the profile is the
    /// one it was computed from; once the profile changed in between, the handler hashes
    /// again. (The work is marked with the hash of another password to tell them apart.)
    #[tokio::test]
    async fn password_work_is_used_only_for_the_profile_it_was_computed_from() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let ctx = root(None);
        write(&store, "CreateUser", &json!({"UserName": "ann"}), &ctx).await;
        let marked = |plan: Option<PasswordPlan>, marker: &str| {
            let work = plan.expect("planned").run().unwrap();
            Prepared::of(work.with_new_hash(passwords::hash(marker).unwrap()))
        };

        let create = json!({"UserName": "ann", "Password": "First-pass-1"});
        let plan = super::plan(Op::CreateLoginProfile, &create, &ctx, &store)
            .await
            .unwrap();
        let prepared = root(Some(marked(plan, "Marker-one-1")));
        write(&store, "CreateLoginProfile", &create, &prepared).await;
        assert!(passwords::verify(
            &stored(&store, "ann").await.hash,
            "Marker-one-1"
        ));

        let update = json!({"UserName": "ann", "Password": "Second-pass-2"});
        let plan = super::plan(Op::UpdateLoginProfile, &update, &ctx, &store)
            .await
            .unwrap();
        let stale = root(Some(marked(plan, "Marker-two-2")));
        let between = json!({"UserName": "ann", "Password": "Between-pass-3"});
        write(&store, "UpdateLoginProfile", &between, &ctx).await;
        write(&store, "UpdateLoginProfile", &update, &stale).await;
        let doc = stored(&store, "ann").await;
        assert!(passwords::verify(&doc.hash, "Second-pass-2"));
        assert!(!passwords::verify(&doc.hash, "Marker-two-2"));
        assert_eq!(doc.history.len(), 2, "each change keeps the previous hash");

        // No password, no work.
        let reset = json!({"UserName": "ann", "PasswordResetRequired": true});
        assert!(super::plan(Op::UpdateLoginProfile, &reset, &ctx, &store)
            .await
            .unwrap()
            .is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn reuse_checks_made_beforehand_cover_only_what_they_looked_back_over() {
        let now = chrono::Utc::now();
        let mut d = LoginDoc::default();
        for p in ["Pass-one-1", "Pass-two-2", "Pass-three-3"] {
            d.set_password(p, now).unwrap();
        }
        let work = PasswordWork::compute(Some(&d), "Pass-two-2", None, 2).unwrap();
        assert!(work.applies_to(Some(&d)));
        assert!(!work.applies_to(None));
        assert_eq!(work.reuses(&d, 1), Some(false));
        assert_eq!(work.reuses(&d, 2), Some(true));
        assert_eq!(
            work.reuses(&d, 3),
            None,
            "not looked at: the handler checks itself"
        );
        let none = PasswordWork::compute(None, "Pass-four-4", Some("x"), 24).unwrap();
        assert!(none.applies_to(None));
        assert_eq!(none.old_ok(), None);
        let change =
            PasswordWork::compute(Some(&d), "Pass-four-4", Some("Pass-three-3"), 0).unwrap();
        assert_eq!(change.old_ok(), Some(true));
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
