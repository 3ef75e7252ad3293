//! Credentials that belong to one IAM user and are addressed by an id of their own (SSH public
//! keys, signing certificates): stored as entities at the path `/<user id>/` so one user's
//! items list by prefix, and removed with the user.

use rampart_store::Entity;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use super::{
    common::{opt_str, read_doc, to_text, Res},
    model, users,
};
use rampart_kit::{
    context::CallContext, db::Db, entity, error::ServiceError, principal::PrincipalKind,
};

/// Most items of one kind a user can have, far above any quota.
const LIST_LIMIT: u32 = 1000;

fn path_of(user: &Entity) -> String {
    format!("/{}/", user.id)
}

fn key_of(user: &Entity, item_id: &str) -> String {
    model::name_key(&format!("{}/{item_id}", user.id))
}

/// The user an operation addresses: `UserName`, or the calling IAM user when it is absent.
pub async fn owner(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Entity> {
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

/// Every item of `kind` of `user`, with its document.
pub async fn list<T: DeserializeOwned + Default>(
    db: &mut Db<'_>,
    kind: &str,
    user: &Entity,
) -> Res<Vec<(Entity, T)>> {
    let got = db
        .entities()
        .list(&user.account_id, kind, &path_of(user), None, LIST_LIMIT)
        .await?;
    got.items
        .into_iter()
        .map(|e| read_doc(&e).map(|d| (e, d)))
        .collect()
}

/// The item `item_id` of `kind` of `user`, with its document.
pub async fn get<T: DeserializeOwned + Default>(
    db: &mut Db<'_>,
    kind: &str,
    user: &Entity,
    item_id: &str,
) -> Res<Option<(Entity, T)>> {
    match entity::find(db, &user.account_id, kind, &key_of(user, item_id)).await? {
        Some(e) => {
            let d = read_doc(&e)?;
            Ok(Some((e, d)))
        }
        None => Ok(None),
    }
}

/// Stores a new item `item_id` of `kind` for `user`.
pub async fn insert<T: Serialize>(
    db: &mut Db<'_>,
    ctx: &CallContext,
    kind: &str,
    user: &Entity,
    item_id: &str,
    doc: &T,
) -> Res<Entity> {
    let e = Entity {
        account_id: user.account_id.clone(),
        kind: kind.into(),
        name: item_id.into(),
        name_key: key_of(user, item_id),
        id: item_id.into(),
        path: path_of(user),
        arn: user.arn.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(doc)?,
    };
    db.entities().create(&e).await?;
    Ok(e)
}

/// Deletes an item.
pub async fn delete(db: &mut Db<'_>, e: &Entity) -> Res<()> {
    db.entities()
        .delete(&e.account_id, &e.kind, &e.name_key)
        .await?;
    Ok(())
}

/// True when `user` still has an item of `kind` (its deletion then conflicts).
pub async fn any(db: &mut Db<'_>, kind: &str, user: &Entity) -> Res<bool> {
    let got = db
        .entities()
        .list(&user.account_id, kind, &path_of(user), None, 1)
        .await?;
    Ok(!got.items.is_empty())
}
