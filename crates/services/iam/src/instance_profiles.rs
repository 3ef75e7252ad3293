//! IAM: instance profiles and the (at most one) role each holds.

use super::Op;
use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};

use crate::{
    common::{
        authz_on_entity, bump, checked_path, exists_or, load_doc, new_id, opt_str, page,
        path_prefix_of, read_doc, req_str, save_doc, stored_arn, str_list, tags, to_text, ts,
        IamError, Res,
    },
    model::{self, InstanceProfileDoc, RoleDoc},
    roles::{load_role, role_json},
};
use rampart_kit::json_field::SetField;
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = &ctx.principal.account_id;
    let action = format!("iam:{operation}");
    match op {
        Op::ListInstanceProfiles => Ok(Some(AuthzRequest::on_any(&action, account))),
        Op::ListInstanceProfilesForRole => {
            let name = opt_str(input, "RoleName").unwrap_or_default();
            let arn =
                stored_arn(ctx.partition(), store, account, model::ROLE, "role", name).await?;
            Ok(Some(AuthzRequest::on(&action, arn, account)))
        }
        Op::CreateInstanceProfile => {
            let name = opt_str(input, "InstanceProfileName").unwrap_or_default();
            let path = opt_str(input, "Path").unwrap_or("/");
            let mut q = AuthzRequest::on(
                &action,
                model::arn(ctx.partition(), account, "instance-profile", path, name),
                account,
            );
            q.context = tags::request_context(&tags::from_input(input)?);
            Ok(Some(q))
        }
        _ => {
            let Some(name) = opt_str(input, "InstanceProfileName") else {
                return Ok(None);
            };
            let extra = match op {
                Op::TagInstanceProfile => tags::request_context(&tags::from_input(input)?),
                Op::UntagInstanceProfile => {
                    let keys = str_list(input, "TagKeys");
                    if keys.is_empty() {
                        Vec::new()
                    } else {
                        vec![tags::tag_keys_context(&keys)]
                    }
                }
                _ => Vec::new(),
            };
            let tags_of = |d: InstanceProfileDoc| d.tags;
            let kind = model::INSTANCE_PROFILE;
            let q = authz_on_entity(
                &action,
                ctx,
                store,
                kind,
                "instance-profile",
                name,
                tags_of,
                extra,
            )
            .await?;
            Ok(Some(q))
        }
    }
}

fn no_such_profile(name: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("Instance Profile {name} cannot be found.")).into()
}

async fn load(db: &mut Db<'_>, ctx: &CallContext, name: &str) -> Res<(Entity, InstanceProfileDoc)> {
    let account = &ctx.principal.account_id;
    load_doc(db, account, model::INSTANCE_PROFILE, name, no_such_profile).await
}

/// The `InstanceProfile` structure with its roles.
async fn profile_json(
    db: &mut Db<'_>,
    e: &Entity,
    doc: &InstanceProfileDoc,
    with_tags: bool,
) -> Result<Value, ServiceError> {
    let mut roles = Vec::new();
    for role_id in db
        .links()
        .targets(&e.account_id, model::LINK_PROFILE_ROLE, &e.id)
        .await?
    {
        if let Some(r) = db.entities().get_by_id(&role_id).await? {
            let rdoc: RoleDoc = read_doc(&r)?;
            roles.push(role_json(&r, &rdoc, false));
        }
    }
    let mut v = json!({
        "Path": e.path,
        "InstanceProfileName": e.name,
        "InstanceProfileId": e.id,
        "Arn": e.arn,
        "CreateDate": ts(e.created_at),
        "Roles": roles,
    });
    if with_tags && !doc.tags.is_empty() {
        v.set_field("Tags", tags::to_json(&doc.tags));
    }
    Ok(v)
}

pub async fn create(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "InstanceProfileName")?;
    let path = checked_path(input, "Path")?;
    let doc = InstanceProfileDoc {
        tags: tags::from_input(input)?,
    };
    let e = Entity {
        account_id: account.clone(),
        kind: model::INSTANCE_PROFILE.into(),
        name: name.to_string(),
        name_key: model::name_key(name),
        id: new_id("AIPA")?,
        path: path.clone(),
        arn: model::arn(ctx.partition(), account, "instance-profile", &path, name),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&doc)?,
    };
    db.entities()
        .create(&e)
        .await
        .map_err(|err| exists_or(err, format!("Instance Profile {name} already exists.")))?;
    Ok(json!({ "InstanceProfile": profile_json(db, &e, &doc, true).await? }))
}

pub async fn list(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let req = page::page_req(input)?;
    let got = db
        .entities()
        .list(
            &ctx.principal.account_id,
            model::INSTANCE_PROFILE,
            &path_prefix_of(input),
            req.after.as_deref(),
            req.max,
        )
        .await?;
    let last = got.items.last().map(|e| e.name_key.clone());
    profiles_page(db, &got.items, got.truncated, last).await
}

pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, _) = load(db, ctx, req_str(input, "InstanceProfileName")?).await?;
    if !db
        .links()
        .targets(&e.account_id, model::LINK_PROFILE_ROLE, &e.id)
        .await?
        .is_empty()
    {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must remove roles from instance profile first.".into(),
        )
        .into());
    }
    db.entities()
        .delete(&e.account_id, model::INSTANCE_PROFILE, &e.name_key)
        .await?;
    Ok(json!({}))
}

pub async fn add_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, _) = load(db, ctx, req_str(input, "InstanceProfileName")?).await?;
    let (role, _) = load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    let current = db
        .links()
        .targets(&e.account_id, model::LINK_PROFILE_ROLE, &e.id)
        .await?;
    if !current.is_empty() {
        return Err(IamError::LimitExceeded(
            "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1".into(),
        )
        .into());
    }
    db.links()
        .add(&e.account_id, model::LINK_PROFILE_ROLE, &e.id, &role.id)
        .await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn remove_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, _) = load(db, ctx, req_str(input, "InstanceProfileName")?).await?;
    let role_name = req_str(input, "RoleName")?;
    let (role, _) = load_role(db, &ctx.principal.account_id, role_name).await?;
    if !db
        .links()
        .remove(&e.account_id, model::LINK_PROFILE_ROLE, &e.id, &role.id)
        .await?
    {
        return Err(IamError::NoSuchEntity(format!(
            "The role with name {role_name} cannot be found in instance profile {}.",
            e.name
        ))
        .into());
    }
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_for_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (role, _) = load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    let mut profiles = Vec::new();
    for (account, profile_id) in db
        .links()
        .sources(model::LINK_PROFILE_ROLE, &role.id)
        .await?
    {
        if account != role.account_id {
            continue;
        }
        if let Some(p) = db.entities().get_by_id(&profile_id).await? {
            profiles.push(p);
        }
    }
    profiles.sort_by(|a, b| a.name_key.cmp(&b.name_key));
    let req = page::page_req(input)?;
    let (items, truncated, last) = page::slice(profiles, |p| p.name_key.clone(), &req);
    profiles_page(db, &items, truncated, last).await
}

/// `InstanceProfiles` output for a page of profiles.
async fn profiles_page(
    db: &mut Db<'_>,
    items: &[Entity],
    truncated: bool,
    last: Option<String>,
) -> Res<Value> {
    let mut list = Vec::with_capacity(items.len());
    for p in items {
        let doc: InstanceProfileDoc = read_doc(p)?;
        list.push(profile_json(db, p, &doc, false).await?);
    }
    let mut out = Map::new();
    out.insert("InstanceProfiles".into(), Value::Array(list));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

/// `GetInstanceProfile`.
pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, doc) = load(db, ctx, req_str(input, "InstanceProfileName")?).await?;
    Ok(json!({ "InstanceProfile": profile_json(db, &e, &doc, true).await? }))
}

/// `TagInstanceProfile`.
pub async fn tag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, mut doc) = load(db, ctx, req_str(input, "InstanceProfileName")?).await?;
    doc.tags = tags::merge(&doc.tags, &tags::from_input(input)?)?;
    save_doc(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

/// `UntagInstanceProfile`.
pub async fn untag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, mut doc) = load(db, ctx, req_str(input, "InstanceProfileName")?).await?;
    doc.tags = tags::remove(&doc.tags, &str_list(input, "TagKeys"));
    save_doc(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

/// `ListInstanceProfileTags`.
pub async fn list_tags(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (_, doc) = load(db, ctx, req_str(input, "InstanceProfileName")?).await?;
    page::tags_page(&doc.tags, input)
}
