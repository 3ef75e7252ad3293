//! IAM: instance profiles and the (at most one) role each holds.

use rampart_store::{Entity, Store, StoreError};
use serde_json::{json, Value};

use crate::{
    authz::AuthzRequest,
    context::CallContext,
    db::Db,
    error::ServiceError,
    iam::{
        model::{self, InstanceProfileDoc, RoleDoc},
        role_util::{self as u, load_role, req, role_json, s, RoleError},
    },
    ids,
    registry::{not_implemented, Access},
};

/// Whether this family owns `operation`, and how it touches state.
pub fn access(operation: &str) -> Option<Access> {
    match operation {
        "GetInstanceProfile"
        | "ListInstanceProfiles"
        | "ListInstanceProfilesForRole"
        | "ListInstanceProfileTags" => Some(Access::Read),
        "CreateInstanceProfile"
        | "DeleteInstanceProfile"
        | "AddRoleToInstanceProfile"
        | "RemoveRoleFromInstanceProfile"
        | "TagInstanceProfile"
        | "UntagInstanceProfile" => Some(Access::Write),
        _ => None,
    }
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    operation: &str,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let action = format!("iam:{operation}");
    match operation {
        "ListInstanceProfiles" => Ok(Some(AuthzRequest::on_any(&action, account))),
        "ListInstanceProfilesForRole" => {
            let name = s(input, "RoleName").unwrap_or_default();
            let arn = match store
                .entities()
                .get(account, model::ROLE, &model::name_key(name))
                .await?
            {
                Some(e) => e.arn,
                None => model::arn(account, "role", "/", name),
            };
            Ok(Some(AuthzRequest::on(&action, arn, account)))
        }
        "CreateInstanceProfile" => {
            let name = s(input, "InstanceProfileName").unwrap_or_default();
            let path = s(input, "Path").unwrap_or("/");
            let mut q = AuthzRequest::on(
                &action,
                model::arn(account, "instance-profile", path, name),
                account,
            );
            q.context = u::request_tag_keys(&u::tags_in(input)?);
            Ok(Some(q))
        }
        _ => {
            let Some(name) = s(input, "InstanceProfileName") else {
                return Ok(None);
            };
            let (arn, tags) = match store
                .entities()
                .get(account, model::INSTANCE_PROFILE, &model::name_key(name))
                .await?
            {
                Some(e) => {
                    let doc: InstanceProfileDoc = u::from_doc(&e)?;
                    (e.arn, doc.tags)
                }
                None => (
                    model::arn(account, "instance-profile", "/", name),
                    Vec::new(),
                ),
            };
            let mut q = AuthzRequest::on(&action, arn, account);
            q.context = u::resource_tag_keys(&tags);
            match operation {
                "TagInstanceProfile" => q.context.extend(u::request_tag_keys(&u::tags_in(input)?)),
                "UntagInstanceProfile" => {
                    let keys = u::strings(input, "TagKeys");
                    if !keys.is_empty() {
                        q.context.push(("aws:TagKeys".into(), keys));
                    }
                }
                _ => {}
            }
            Ok(Some(q))
        }
    }
}

/// Runs an operation of this family.
pub async fn handle(
    operation: &str,
    input: Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let db = &mut db;
    let input = &input;
    match operation {
        "CreateInstanceProfile" => create(input, ctx, db).await,
        "GetInstanceProfile" => {
            let (e, doc) = load(db, ctx, req(input, "InstanceProfileName")?).await?;
            Ok(json!({ "InstanceProfile": profile_json(db, &e, &doc, true).await? }))
        }
        "ListInstanceProfiles" => list(input, ctx, db).await,
        "DeleteInstanceProfile" => delete(input, ctx, db).await,
        "AddRoleToInstanceProfile" => add_role(input, ctx, db).await,
        "RemoveRoleFromInstanceProfile" => remove_role(input, ctx, db).await,
        "ListInstanceProfilesForRole" => list_for_role(input, ctx, db).await,
        "TagInstanceProfile" => {
            let (e, mut doc) = load(db, ctx, req(input, "InstanceProfileName")?).await?;
            u::merge_tags(&mut doc.tags, u::tags_in(input)?)?;
            save(db, e, &doc, ctx).await?;
            db.authz_epoch().bump().await?;
            Ok(json!({}))
        }
        "UntagInstanceProfile" => {
            let (e, mut doc) = load(db, ctx, req(input, "InstanceProfileName")?).await?;
            u::remove_tags(&mut doc.tags, &u::strings(input, "TagKeys"));
            save(db, e, &doc, ctx).await?;
            db.authz_epoch().bump().await?;
            Ok(json!({}))
        }
        "ListInstanceProfileTags" => {
            let (_, doc) = load(db, ctx, req(input, "InstanceProfileName")?).await?;
            let keys: Vec<String> = doc.tags.iter().map(|t| t.key.clone()).collect();
            let (page, truncated) = u::page_names(keys, input);
            let tags: Vec<_> = doc
                .tags
                .iter()
                .filter(|t| page.contains(&t.key))
                .cloned()
                .collect();
            Ok(u::paged(
                json!({ "Tags": u::tags_json(&tags) }),
                truncated,
                page.last().map(String::as_str),
            ))
        }
        _ => Err(not_implemented("iam", operation)),
    }
}

fn no_such_profile(name: &str) -> ServiceError {
    RoleError::NoSuchEntity(format!("Instance Profile {name} cannot be found.")).into()
}

async fn load(
    db: &mut Db<'_>,
    ctx: &CallContext,
    name: &str,
) -> Result<(Entity, InstanceProfileDoc), ServiceError> {
    match db
        .entities()
        .get(
            &ctx.principal.account_id,
            model::INSTANCE_PROFILE,
            &model::name_key(name),
        )
        .await?
    {
        Some(e) => {
            let doc = u::from_doc(&e)?;
            Ok((e, doc))
        }
        None => Err(no_such_profile(name)),
    }
}

async fn save(
    db: &mut Db<'_>,
    mut e: Entity,
    doc: &InstanceProfileDoc,
    ctx: &CallContext,
) -> Result<(), ServiceError> {
    e.doc = u::to_doc(doc)?;
    e.updated_at = ctx.now;
    let key = e.name_key.clone();
    db.entities()
        .update(&key, &e)
        .await
        .map_err(|err| u::store_err(err, "instance profile"))
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
            let rdoc: RoleDoc = u::from_doc(&r)?;
            roles.push(role_json(&r, &rdoc, false));
        }
    }
    let mut v = json!({
        "Path": e.path,
        "InstanceProfileName": e.name,
        "InstanceProfileId": e.id,
        "Arn": e.arn,
        "CreateDate": u::ts(e.created_at),
        "Roles": roles,
    });
    if with_tags && !doc.tags.is_empty() {
        v["Tags"] = u::tags_json(&doc.tags);
    }
    Ok(v)
}

async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Result<Value, ServiceError> {
    let account = &ctx.principal.account_id;
    let name = req(input, "InstanceProfileName")?;
    let path = u::path_in(input, "Path")?;
    let doc = InstanceProfileDoc {
        tags: u::tags_in(input)?,
    };
    let e = Entity {
        account_id: account.clone(),
        kind: model::INSTANCE_PROFILE.into(),
        name: name.to_string(),
        name_key: model::name_key(name),
        id: ids::unique_id("AIPA").map_err(|_| ServiceError::internal())?,
        path: path.clone(),
        arn: model::arn(account, "instance-profile", &path, name),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: u::to_doc(&doc)?,
    };
    db.entities().create(&e).await.map_err(|err| match err {
        StoreError::AlreadyExists(_) => {
            RoleError::EntityAlreadyExists(format!("Instance Profile {name} already exists."))
                .into()
        }
        other => ServiceError::from(other),
    })?;
    Ok(json!({ "InstanceProfile": profile_json(db, &e, &doc, true).await? }))
}

async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Result<Value, ServiceError> {
    let prefix = s(input, "PathPrefix").unwrap_or("/");
    let (marker, max) = u::page_args(input);
    let page = db
        .entities()
        .list(
            &ctx.principal.account_id,
            model::INSTANCE_PROFILE,
            prefix,
            marker.as_deref(),
            max,
        )
        .await?;
    let mut out = Vec::with_capacity(page.items.len());
    for e in &page.items {
        let doc: InstanceProfileDoc = u::from_doc(e)?;
        out.push(profile_json(db, e, &doc, false).await?);
    }
    let last = page.items.last().map(|e| e.name_key.as_str());
    Ok(u::paged(
        json!({ "InstanceProfiles": out }),
        page.truncated,
        last,
    ))
}

async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Result<Value, ServiceError> {
    let (e, _) = load(db, ctx, req(input, "InstanceProfileName")?).await?;
    if !db
        .links()
        .targets(&e.account_id, model::LINK_PROFILE_ROLE, &e.id)
        .await?
        .is_empty()
    {
        return Err(RoleError::DeleteConflict(
            "Cannot delete entity, must remove roles from instance profile first.".into(),
        )
        .into());
    }
    db.entities()
        .delete(&e.account_id, model::INSTANCE_PROFILE, &e.name_key)
        .await
        .map_err(|err| u::store_err(err, "instance profile"))?;
    Ok(json!({}))
}

async fn add_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, _) = load(db, ctx, req(input, "InstanceProfileName")?).await?;
    let (role, _) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    let current = db
        .links()
        .targets(&e.account_id, model::LINK_PROFILE_ROLE, &e.id)
        .await?;
    if !current.is_empty() {
        return Err(RoleError::LimitExceeded(
            "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1".into(),
        )
        .into());
    }
    db.links()
        .add(&e.account_id, model::LINK_PROFILE_ROLE, &e.id, &role.id)
        .await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

async fn remove_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, _) = load(db, ctx, req(input, "InstanceProfileName")?).await?;
    let role_name = req(input, "RoleName")?;
    let (role, _) = load_role(db, &ctx.principal.account_id, role_name).await?;
    if !db
        .links()
        .remove(&e.account_id, model::LINK_PROFILE_ROLE, &e.id, &role.id)
        .await?
    {
        return Err(RoleError::NoSuchEntity(format!(
            "The role with name {role_name} cannot be found in instance profile {}.",
            e.name
        ))
        .into());
    }
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

async fn list_for_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (role, _) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
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
    let names: Vec<String> = profiles.iter().map(|p| p.name_key.clone()).collect();
    let (page, truncated) = u::page_names(names, input);
    let mut out = Vec::new();
    for p in profiles.iter().filter(|p| page.contains(&p.name_key)) {
        let doc: InstanceProfileDoc = u::from_doc(p)?;
        out.push(profile_json(db, p, &doc, false).await?);
    }
    Ok(u::paged(
        json!({ "InstanceProfiles": out }),
        truncated,
        page.last().map(String::as_str),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_classified() {
        assert_eq!(access("GetInstanceProfile"), Some(Access::Read));
        assert_eq!(access("AddRoleToInstanceProfile"), Some(Access::Write));
        assert_eq!(access("CreateRole"), None);
    }
}
