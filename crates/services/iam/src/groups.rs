//! IAM groups: lifecycle, membership and inline policies.

use super::Op;
use crate::common::checked_path;
use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};

use super::{
    common::{
        bump, document, exists_or, find, new_id, page, path_of, path_prefix_of, read_doc, req_str,
        save_doc, stored_arn, ts, write_doc, IamError, Res,
    },
    model::{self, name_key, GroupDoc, UserDoc, GROUP, LINK_ATTACHED, LINK_MEMBER},
    users,
};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// A user may belong to at most this many groups.
pub const GROUPS_PER_USER: usize = 10;

/// The ARN of a group.
pub fn group_arn(partition: Partition, account: &str, path: &str, name: &str) -> String {
    model::arn(partition, account, "group", path, name)
}

/// The group named `name` in `account`, or `NoSuchEntity`.
pub async fn load(db: &mut Db<'_>, account: &str, name: &str) -> Res<Entity> {
    find(db, account, GROUP, name).await?.ok_or_else(|| {
        IamError::NoSuchEntity(format!("The group with name {name} cannot be found.")).into()
    })
}

/// The group's ARN with its stored path (`/` when it does not exist).
pub async fn group_arn_stored(
    partition: Partition,
    store: &Store,
    account: &str,
    name: &str,
) -> Res<String> {
    stored_arn(partition, store, account, GROUP, "group", name).await
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
        Op::CreateGroup => {
            let name = req_str(input, "GroupName")?;
            AuthzRequest::on(
                &action,
                group_arn(ctx.partition(), account, &path_of(input), name),
                account,
            )
        }
        Op::ListGroups => AuthzRequest::on(
            &action,
            group_arn(ctx.partition(), account, "/", "*"),
            account,
        ),
        Op::ListGroupsForUser => {
            let name = req_str(input, "UserName")?;
            users::authz_on_user(&action, name, ctx, store, Vec::new()).await?
        }
        Op::GetGroup
        | Op::UpdateGroup
        | Op::DeleteGroup
        | Op::AddUserToGroup
        | Op::RemoveUserFromGroup
        | Op::PutGroupPolicy
        | Op::DeleteGroupPolicy
        | Op::GetGroupPolicy
        | Op::ListGroupPolicies => {
            let name = req_str(input, "GroupName")?;
            AuthzRequest::on(
                &action,
                group_arn_stored(ctx.partition(), store, account, name).await?,
                account,
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(req))
}

/// A group as outputs carry it.
pub fn group_json(e: &Entity) -> Value {
    json!({
        "Path": e.path,
        "GroupName": e.name,
        "GroupId": e.id,
        "Arn": e.arn,
        "CreateDate": ts(e.created_at),
    })
}

pub async fn create_group(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "GroupName")?;
    let path = checked_path(input, "Path")?;
    let now = ctx.now;
    let mut e = Entity {
        account_id: account.clone(),
        kind: GROUP.into(),
        name: name.to_string(),
        name_key: name_key(name),
        id: new_id("AGPA")?,
        path: path.clone(),
        arn: group_arn(ctx.partition(), account, &path, name),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    };
    write_doc(&mut e, &GroupDoc::default(), now)?;
    db.entities()
        .create(&e)
        .await
        .map_err(|err| exists_or(err, format!("Group with name {name} already exists.")))?;
    Ok(json!({ "Group": group_json(&e) }))
}

/// The members of a group (users of its account), in name order.
pub async fn members(db: &mut Db<'_>, group: &Entity) -> Res<Vec<Entity>> {
    let sources = db.links().sources(LINK_MEMBER, &group.id).await?;
    let mut out = Vec::new();
    for (account, user_id) in sources {
        if account != group.account_id {
            continue;
        }
        if let Some(u) = db.entities().get_by_id(&user_id).await? {
            out.push(u);
        }
    }
    out.sort_by(|a, b| a.name_key.cmp(&b.name_key));
    Ok(out)
}

/// The groups a user belongs to, in name order.
pub async fn groups_of(db: &mut Db<'_>, user: &Entity) -> Res<Vec<Entity>> {
    let ids = db
        .links()
        .targets(&user.account_id, LINK_MEMBER, &user.id)
        .await?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(g) = db.entities().get_by_id(&id).await? {
            out.push(g);
        }
    }
    out.sort_by(|a, b| a.name_key.cmp(&b.name_key));
    Ok(out)
}

pub async fn get_group(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "GroupName")?;
    let g = load(db, &ctx.principal.account_id, name).await?;
    let req = page::page_req(input)?;
    let all = members(db, &g).await?;
    let (items, truncated, last) = page::slice(all, |u| u.name_key.clone(), &req);
    let mut list = Vec::with_capacity(items.len());
    for u in &items {
        let doc: UserDoc = read_doc(u)?;
        list.push(users::user_json(u, &doc, false));
    }
    let mut out = Map::new();
    out.insert("Group".into(), group_json(&g));
    out.insert("Users".into(), Value::Array(list));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

pub async fn list_groups(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let req = page::page_req(input)?;
    let got = db
        .entities()
        .list(
            &ctx.principal.account_id,
            GROUP,
            &path_prefix_of(input),
            req.after.as_deref(),
            req.max,
        )
        .await?;
    let mut out = Map::new();
    out.insert(
        "Groups".into(),
        Value::Array(got.items.iter().map(group_json).collect()),
    );
    page::finish(
        &mut out,
        got.truncated,
        got.items.last().map(|e| e.name_key.as_str()),
    );
    Ok(Value::Object(out))
}

pub async fn update_group(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "GroupName")?;
    let mut g = load(db, account, name).await?;
    let old_key = g.name_key.clone();
    let new_name = super::common::opt_str(input, "NewGroupName")
        .unwrap_or(&g.name)
        .to_string();
    let new_path = super::common::opt_str(input, "NewPath")
        .unwrap_or(&g.path)
        .to_string();
    let taken = format!("Group with name {new_name} already exists.");
    if name_key(&new_name) != old_key && find(db, account, GROUP, &new_name).await?.is_some() {
        return Err(IamError::EntityAlreadyExists(taken).into());
    }
    g.name_key = name_key(&new_name);
    g.name = new_name;
    g.path = new_path;
    g.arn = group_arn(ctx.partition(), account, &g.path, &g.name);
    g.updated_at = ctx.now;
    db.entities()
        .update(&old_key, &g)
        .await
        .map_err(|err| exists_or(err, taken))?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn delete_group(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "GroupName")?;
    let g = load(db, account, name).await?;
    let doc: GroupDoc = read_doc(&g)?;
    let conflict = |what: &str| -> ServiceError {
        IamError::DeleteConflict(format!("Cannot delete entity, must {what} first.")).into()
    };
    if !members(db, &g).await?.is_empty() {
        return Err(conflict("remove users from group"));
    }
    if !doc.inline_policies.is_empty() {
        return Err(conflict("delete policies"));
    }
    if !db
        .links()
        .targets(account, LINK_ATTACHED, &g.id)
        .await?
        .is_empty()
    {
        return Err(conflict("detach all policies"));
    }
    db.entities().delete(account, GROUP, &g.name_key).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn add_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let g = load(db, account, req_str(input, "GroupName")?).await?;
    let u = users::load(db, account, req_str(input, "UserName")?).await?;
    let current = db.links().targets(account, LINK_MEMBER, &u.id).await?;
    if current.contains(&g.id) {
        return Ok(json!({}));
    }
    if current.len() >= GROUPS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}"
        ))
        .into());
    }
    db.links().add(account, LINK_MEMBER, &u.id, &g.id).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn remove_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let group_name = req_str(input, "GroupName")?;
    let user_name = req_str(input, "UserName")?;
    let g = load(db, account, group_name).await?;
    let u = users::load(db, account, user_name).await?;
    if !db
        .links()
        .remove(account, LINK_MEMBER, &u.id, &g.id)
        .await?
    {
        return Err(IamError::NoSuchEntity(format!(
            "The user with name {user_name} cannot be found in group {group_name}."
        ))
        .into());
    }
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_groups_for_user(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let u = users::load(db, &ctx.principal.account_id, req_str(input, "UserName")?).await?;
    let req = page::page_req(input)?;
    let all = groups_of(db, &u).await?;
    let (items, truncated, last) = page::slice(all, |g| g.name_key.clone(), &req);
    let mut out = Map::new();
    out.insert(
        "Groups".into(),
        Value::Array(items.iter().map(group_json).collect()),
    );
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

async fn save(db: &mut Db<'_>, g: Entity, doc: &GroupDoc, now: DateTime<Utc>) -> Res<()> {
    save_doc(db, g, doc, now).await?;
    bump(db).await
}

fn no_such_policy(name: &str) -> ServiceError {
    IamError::NoSuchEntity(format!(
        "The group policy with name {name} cannot be found."
    ))
    .into()
}

pub async fn put_group_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let g = load(db, &ctx.principal.account_id, req_str(input, "GroupName")?).await?;
    let policy_name = req_str(input, "PolicyName")?;
    let text = req_str(input, "PolicyDocument")?;
    document::validate_inline(
        ctx.partition(),
        text,
        "GroupPolicySize",
        document::GROUP_POLICY_SIZE,
    )?;
    let mut doc: GroupDoc = read_doc(&g)?;
    if let Some(old) = users::inline_key(&doc.inline_policies, policy_name) {
        doc.inline_policies.remove(&old);
    }
    doc.inline_policies
        .insert(policy_name.to_string(), text.to_string());
    save(db, g, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn get_group_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let g = load(db, &ctx.principal.account_id, req_str(input, "GroupName")?).await?;
    let policy_name = req_str(input, "PolicyName")?;
    let doc: GroupDoc = read_doc(&g)?;
    let key = users::inline_key(&doc.inline_policies, policy_name)
        .ok_or_else(|| no_such_policy(policy_name))?;
    let text = doc.inline_policies.get(&key).cloned().unwrap_or_default();
    Ok(json!({
        "GroupName": g.name,
        "PolicyName": key,
        "PolicyDocument": document::url_encode(&text),
    }))
}

pub async fn delete_group_policy(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let g = load(db, &ctx.principal.account_id, req_str(input, "GroupName")?).await?;
    let policy_name = req_str(input, "PolicyName")?;
    let mut doc: GroupDoc = read_doc(&g)?;
    let key = users::inline_key(&doc.inline_policies, policy_name)
        .ok_or_else(|| no_such_policy(policy_name))?;
    doc.inline_policies.remove(&key);
    save(db, g, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn list_group_policies(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let g = load(db, &ctx.principal.account_id, req_str(input, "GroupName")?).await?;
    let doc: GroupDoc = read_doc(&g)?;
    page::names_page(doc.inline_policies.keys().cloned().collect(), input)
}
