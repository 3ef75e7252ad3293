//! IAM users: lifecycle, tags, permissions boundaries and inline policies.

use super::Op;
use crate::common::checked_path;
use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};

use super::{
    access_keys,
    common::{
        authz_on_entity, bump, document, exists_or, find, new_id, opt_str, page, path_of,
        path_prefix_of, read_doc, req_str, save_doc, str_list, tags, ts, write_doc, IamError, Res,
    },
    model::{self, name_key, UserDoc, LINK_ATTACHED, LINK_BOUNDARY, LINK_MEMBER, USER},
    policies,
};
use rampart_kit::{
    authz::AuthzRequest,
    context::{CallContext, ContextEntry},
    db::Db,
    error::ServiceError,
    principal::PrincipalKind,
};

/// The ARN of a user.
pub fn user_arn(partition: Partition, account: &str, path: &str, name: &str) -> String {
    model::arn(partition, account, "user", path, name)
}

/// The message of a missing user.
pub fn no_such_user(name: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("The user with name {name} cannot be found.")).into()
}

/// The user named `name` in `account`, or `NoSuchEntity`.
pub async fn load(db: &mut Db<'_>, account: &str, name: &str) -> Res<Entity> {
    find(db, account, USER, name)
        .await?
        .ok_or_else(|| no_such_user(name))
}

/// An authorization request on a user, with the user's tags as `aws:ResourceTag/*`
/// (the ARN uses the stored path; a missing user is authorized at path `/` and then answers
/// `NoSuchEntity` from its handler).
pub async fn authz_on_user(
    action: &str,
    name: &str,
    ctx: &CallContext,
    store: &Store,
    extra: Vec<ContextEntry>,
) -> Res<AuthzRequest> {
    let tags_of = |d: UserDoc| d.tags;
    authz_on_entity(action, ctx, store, USER, "user", name, tags_of, extra).await
}

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
        Op::CreateUser => {
            let name = req_str(input, "UserName")?;
            let mut context = tags::request_context(&tags::from_input(input)?);
            if let Some(b) = opt_str(input, "PermissionsBoundary") {
                context.push(("iam:PermissionsBoundary".into(), vec![b.to_string()]));
            }
            let mut req = AuthzRequest::on(
                &action,
                user_arn(ctx.partition(), account, &path_of(input), name),
                account,
            );
            req.context = context;
            req
        }
        Op::ListUsers => AuthzRequest::on(
            &action,
            user_arn(ctx.partition(), account, "/", "*"),
            account,
        ),
        Op::GetUser => match opt_str(input, "UserName") {
            Some(name) => authz_on_user(&action, name, ctx, store, Vec::new()).await?,
            None => AuthzRequest::on(&action, ctx.principal.arn.clone(), account),
        },
        Op::TagUser => {
            let name = req_str(input, "UserName")?;
            let context = tags::request_context(&tags::from_input(input)?);
            authz_on_user(&action, name, ctx, store, context).await?
        }
        Op::UntagUser => {
            let name = req_str(input, "UserName")?;
            let context = vec![tags::tag_keys_context(&str_list(input, "TagKeys"))];
            authz_on_user(&action, name, ctx, store, context).await?
        }
        Op::PutUserPermissionsBoundary | Op::DeleteUserPermissionsBoundary => {
            let name = req_str(input, "UserName")?;
            let context = match opt_str(input, "PermissionsBoundary") {
                Some(b) => vec![("iam:PermissionsBoundary".into(), vec![b.to_string()])],
                None => Vec::new(),
            };
            authz_on_user(&action, name, ctx, store, context).await?
        }
        Op::UpdateUser
        | Op::DeleteUser
        | Op::ListUserTags
        | Op::GetUserPolicy
        | Op::ListUserPolicies
        | Op::PutUserPolicy
        | Op::DeleteUserPolicy => {
            let name = req_str(input, "UserName")?;
            authz_on_user(&action, name, ctx, store, Vec::new()).await?
        }
        _ => return Ok(None),
    };
    Ok(Some(req))
}

/// A user as `GetUser`/`CreateUser` return it (`full`: with boundary and tags, which the
/// listing operations leave out).
pub fn user_json(e: &Entity, doc: &UserDoc, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("Path".into(), json!(e.path));
    m.insert("UserName".into(), json!(e.name));
    m.insert("UserId".into(), json!(e.id));
    m.insert("Arn".into(), json!(e.arn));
    m.insert("CreateDate".into(), json!(ts(e.created_at)));
    if let Some(t) = doc.password_last_used {
        m.insert("PasswordLastUsed".into(), json!(ts(t)));
    }
    if full {
        if let Some(b) = &doc.permissions_boundary {
            m.insert("PermissionsBoundary".into(), boundary_json(b));
        }
        if !doc.tags.is_empty() {
            m.insert("Tags".into(), tags::to_json(&doc.tags));
        }
    }
    Value::Object(m)
}

/// `PermissionsBoundary` as outputs carry it.
pub fn boundary_json(arn: &str) -> Value {
    json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn})
}

pub async fn create_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "UserName")?;
    let path = checked_path(input, "Path")?;
    let tag_list = tags::from_input(input)?;
    let boundary = match opt_str(input, "PermissionsBoundary") {
        Some(arn) => {
            policies::resolve(db, account, arn).await?;
            Some(arn.to_string())
        }
        None => None,
    };
    let now = ctx.now;
    let doc = UserDoc {
        tags: tag_list,
        permissions_boundary: boundary,
        ..UserDoc::default()
    };
    let mut e = Entity {
        account_id: account.clone(),
        kind: USER.into(),
        name: name.to_string(),
        name_key: name_key(name),
        id: new_id("AIDA")?,
        path: path.clone(),
        arn: user_arn(ctx.partition(), account, &path, name),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    };
    write_doc(&mut e, &doc, now)?;
    db.entities()
        .create(&e)
        .await
        .map_err(|err| exists_or(err, format!("User with name {name} already exists.")))?;
    if let Some(b) = &doc.permissions_boundary {
        db.links().add(account, LINK_BOUNDARY, &e.id, b).await?;
    }
    // No epoch bump: a new user has no keys or sessions yet, so no cached policy set can
    // depend on it, and bumping would make every caller reload its policies after each
    // CreateUser.
    Ok(json!({ "User": user_json(&e, &doc, true) }))
}

pub async fn get_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let p = &ctx.principal;
    let name = match opt_str(input, "UserName") {
        Some(n) => n.to_string(),
        None => match p.kind {
            PrincipalKind::User => p.name.clone(),
            PrincipalKind::Root => {
                let created = db
                    .accounts()
                    .get(&p.account_id)
                    .await?
                    .map(|a| a.created_at)
                    .unwrap_or(ctx.now);
                return Ok(json!({"User": {
                    "UserId": p.account_id,
                    "Arn": p.arn,
                    "CreateDate": ts(created),
                }}));
            }
            _ => {
                return Err(ServiceError::validation(
                    "Must specify userName when calling with non-User credentials",
                ))
            }
        },
    };
    let e = load(db, &p.account_id, &name).await?;
    let doc: UserDoc = read_doc(&e)?;
    Ok(json!({ "User": user_json(&e, &doc, true) }))
}

pub async fn list_users(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let req = page::page_req(input)?;
    let prefix = path_prefix_of(input);
    let got = db
        .entities()
        .list(
            &ctx.principal.account_id,
            USER,
            &prefix,
            req.after.as_deref(),
            req.max,
        )
        .await?;
    let mut users = Vec::with_capacity(got.items.len());
    for e in &got.items {
        let doc: UserDoc = read_doc(e)?;
        users.push(user_json(e, &doc, false));
    }
    let mut out = Map::new();
    out.insert("Users".into(), Value::Array(users));
    page::finish(
        &mut out,
        got.truncated,
        got.items.last().map(|e| e.name_key.as_str()),
    );
    Ok(Value::Object(out))
}

pub async fn update_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "UserName")?;
    let mut e = load(db, account, name).await?;
    let old_key = e.name_key.clone();
    let old_arn = e.arn.clone();
    let new_name = opt_str(input, "NewUserName").unwrap_or(&e.name).to_string();
    let new_path = opt_str(input, "NewPath").unwrap_or(&e.path).to_string();
    if name_key(&new_name) != old_key && find(db, account, USER, &new_name).await?.is_some() {
        return Err(IamError::EntityAlreadyExists(format!(
            "User with name {new_name} already exists."
        ))
        .into());
    }
    e.name_key = name_key(&new_name);
    e.name = new_name.clone();
    e.path = new_path.clone();
    e.arn = user_arn(ctx.partition(), account, &new_path, &new_name);
    e.updated_at = ctx.now;
    db.entities()
        .update(&old_key, &e)
        .await
        .map_err(|err| exists_or(err, format!("User with name {new_name} already exists.")))?;
    access_keys::rehome_keys(db, account, &e.id, &e.arn).await?;
    super::last_use::rename(db, account, &old_arn, &e.arn).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn delete_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "UserName")?;
    let e = load(db, account, name).await?;
    let doc: UserDoc = read_doc(&e)?;
    let conflict = |what: &str| -> ServiceError {
        IamError::DeleteConflict(format!("Cannot delete entity, must {what} first.")).into()
    };
    let keys = db
        .credentials()
        .count_long_term_for_principal(account, &e.id)
        .await?;
    if keys > 0 {
        return Err(conflict("delete access keys"));
    }
    if super::passwords::login_of(db, account, &e.id)
        .await?
        .is_some()
    {
        return Err(conflict("delete login profile"));
    }
    if !super::mfa_device::enabled_for(db, account, &e.id)
        .await?
        .is_empty()
    {
        return Err(conflict("delete MFA device"));
    }
    if super::user_items::any(db, super::ssh_keys::SSH_KEY, &e).await? {
        return Err(conflict("delete SSH public keys"));
    }
    if super::user_items::any(db, super::signing_certs::SIGNING_CERT, &e).await? {
        return Err(conflict("delete signing certificates"));
    }
    if super::user_items::any(db, super::service_credentials::SERVICE_CREDENTIAL, &e).await? {
        return Err(conflict("delete service specific credentials"));
    }
    if !doc.inline_policies.is_empty() {
        return Err(conflict("delete policies"));
    }
    if !db
        .links()
        .targets(account, LINK_ATTACHED, &e.id)
        .await?
        .is_empty()
    {
        return Err(conflict("detach all policies"));
    }
    if !db
        .links()
        .targets(account, LINK_MEMBER, &e.id)
        .await?
        .is_empty()
    {
        return Err(conflict("remove users from group"));
    }
    db.entities().delete(account, USER, &e.name_key).await?;
    super::last_use::forget(db, account, &e.arn).await?;
    db.links().remove_all(account, LINK_BOUNDARY, &e.id).await?;
    bump(db).await?;
    Ok(json!({}))
}

async fn update_doc(
    db: &mut Db<'_>,
    e: Entity,
    doc: &UserDoc,
    permission_change: bool,
    now: DateTime<Utc>,
) -> Res<()> {
    save_doc(db, e, doc, now).await?;
    if permission_change {
        bump(db).await?;
    }
    Ok(())
}

pub async fn tag_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let new = tags::from_input(input)?;
    let e = load(db, &ctx.principal.account_id, name).await?;
    let mut doc: UserDoc = read_doc(&e)?;
    doc.tags = tags::merge(&doc.tags, &new)?;
    update_doc(db, e, &doc, true, ctx.now).await?;
    Ok(json!({}))
}

pub async fn untag_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let keys = str_list(input, "TagKeys");
    let e = load(db, &ctx.principal.account_id, name).await?;
    let mut doc: UserDoc = read_doc(&e)?;
    doc.tags = tags::remove(&doc.tags, &keys);
    update_doc(db, e, &doc, true, ctx.now).await?;
    Ok(json!({}))
}

pub async fn list_user_tags(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let e = load(db, &ctx.principal.account_id, name).await?;
    let doc: UserDoc = read_doc(&e)?;
    page::tags_page(&doc.tags, input)
}

pub async fn put_boundary(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "UserName")?;
    let arn = req_str(input, "PermissionsBoundary")?;
    let e = load(db, account, name).await?;
    policies::resolve(db, account, arn).await?;
    let mut doc: UserDoc = read_doc(&e)?;
    if let Some(old) = doc.permissions_boundary.replace(arn.to_string()) {
        db.links()
            .remove(account, LINK_BOUNDARY, &e.id, &old)
            .await?;
    }
    db.links().add(account, LINK_BOUNDARY, &e.id, arn).await?;
    update_doc(db, e, &doc, true, ctx.now).await?;
    Ok(json!({}))
}

pub async fn delete_boundary(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let e = load(db, &ctx.principal.account_id, name).await?;
    let mut doc: UserDoc = read_doc(&e)?;
    let Some(old) = doc.permissions_boundary.take() else {
        return Err(IamError::NoSuchEntity(format!(
            "The user with name {name} does not have a permissions boundary."
        ))
        .into());
    };
    db.links()
        .remove(&ctx.principal.account_id, LINK_BOUNDARY, &e.id, &old)
        .await?;
    update_doc(db, e, &doc, true, ctx.now).await?;
    Ok(json!({}))
}

/// Finds an inline policy by name (policy names compare case-insensitively in IAM).
pub fn inline_key(
    policies: &std::collections::BTreeMap<String, String>,
    name: &str,
) -> Option<String> {
    policies
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

pub async fn put_user_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let policy_name = req_str(input, "PolicyName")?;
    let text = req_str(input, "PolicyDocument")?;
    let e = load(db, &ctx.principal.account_id, name).await?;
    document::validate_inline(
        ctx.partition(),
        text,
        "UserPolicySize",
        document::USER_POLICY_SIZE,
    )?;
    let mut doc: UserDoc = read_doc(&e)?;
    if let Some(old) = inline_key(&doc.inline_policies, policy_name) {
        doc.inline_policies.remove(&old);
    }
    doc.inline_policies
        .insert(policy_name.to_string(), text.to_string());
    update_doc(db, e, &doc, true, ctx.now).await?;
    Ok(json!({}))
}

pub async fn get_user_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let policy_name = req_str(input, "PolicyName")?;
    let e = load(db, &ctx.principal.account_id, name).await?;
    let doc: UserDoc = read_doc(&e)?;
    let key = inline_key(&doc.inline_policies, policy_name).ok_or_else(|| {
        IamError::NoSuchEntity(format!(
            "The user policy with name {policy_name} cannot be found."
        ))
    })?;
    let text = doc.inline_policies.get(&key).cloned().unwrap_or_default();
    Ok(json!({
        "UserName": e.name,
        "PolicyName": key,
        "PolicyDocument": document::url_encode(&text),
    }))
}

pub async fn delete_user_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let policy_name = req_str(input, "PolicyName")?;
    let e = load(db, &ctx.principal.account_id, name).await?;
    let mut doc: UserDoc = read_doc(&e)?;
    let key = inline_key(&doc.inline_policies, policy_name).ok_or_else(|| {
        IamError::NoSuchEntity(format!(
            "The user policy with name {policy_name} cannot be found."
        ))
    })?;
    doc.inline_policies.remove(&key);
    update_doc(db, e, &doc, true, ctx.now).await?;
    Ok(json!({}))
}

pub async fn list_user_policies(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "UserName")?;
    let e = load(db, &ctx.principal.account_id, name).await?;
    let doc: UserDoc = read_doc(&e)?;
    page::names_page(doc.inline_policies.keys().cloned().collect(), input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_json_hides_boundary_and_tags_in_lists() {
        let now = Utc::now();
        let e = Entity {
            account_id: "111122223333".into(),
            kind: USER.into(),
            name: "Bob".into(),
            name_key: "bob".into(),
            id: "AIDAX".into(),
            path: "/".into(),
            arn: user_arn(Partition::Aws, "111122223333", "/", "Bob"),
            created_at: now,
            updated_at: now,
            doc: String::new(),
        };
        let doc = UserDoc {
            permissions_boundary: Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
            tags: vec![model::Tag {
                key: "k".into(),
                value: "v".into(),
            }],
            ..UserDoc::default()
        };
        assert!(user_json(&e, &doc, false).get("Tags").is_none());
        let full = user_json(&e, &doc, true);
        assert_eq!(
            full["PermissionsBoundary"]["PermissionsBoundaryType"],
            "PermissionsBoundaryPolicy"
        );
        assert_eq!(full["Arn"], "arn:aws:iam::111122223333:user/Bob");
    }

    #[test]
    fn inline_names_match_case_insensitively() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("ReadAll".to_string(), "{}".to_string());
        assert_eq!(inline_key(&m, "readall").as_deref(), Some("ReadAll"));
        assert_eq!(inline_key(&m, "other"), None);
    }
}
