//! The stored last uses of IAM users and roles (service level, [`LAST_ACCESS`], and action
//! level, [`ACTION_ACCESS`]), one entity of each kind per user or role, named by its ARN.
//! They belong to the user or role as AWS's belong to the entity, not to its name: they are
//! written only while the entity the server saw is still the one of that ARN, removed in the
//! transaction that deletes it, and moved with a renamed user, so a user or role created
//! again under the same name starts with no history.

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;
use rampart_store::{Entity, Store, StoreError};

use super::{
    action_access::{self, ACTION_ACCESS},
    common::{find, parse_iam_arn, read_doc, save_doc, to_text, Res},
    last_accessed::{Noted, UseDoc, LAST_ACCESS},
    model::{self, ROLE, USER},
};

/// The kinds of last-use records, with the prefix of their entity ids.
const KINDS: [(&str, &str); 2] = [
    (LAST_ACCESS, "last-access"),
    (ACTION_ACCESS, "action-access"),
];

/// Whether `arn` still names the user or role whose unique id is `id`.
async fn is_current(db: &mut Db<'_>, account: &str, arn: &str, id: &str) -> Res<bool> {
    let found = [("user", USER), ("role", ROLE)]
        .into_iter()
        .find_map(|(rtype, kind)| Some((kind, parse_iam_arn(arn, rtype)?.2)));
    let Some((kind, name)) = found else {
        return Ok(false);
    };
    Ok(find(db, account, kind, name)
        .await?
        .is_some_and(|e| e.arn == arn && e.id == id))
}

/// Records what was noted of the user or role `entity_arn` whose unique id is `entity_id`
/// (the server calls this off the request path, at most once a minute per entity and service
/// or action), in one transaction. Nothing is written when that entity no longer exists
/// (deleted, or deleted and created again, since the request was noted).
pub async fn record(
    store: &Store,
    account: &str,
    (entity_arn, entity_id): (&str, &str),
    noted: &Noted,
    at: DateTime<Utc>,
) -> Res<()> {
    let mut tx = store.begin().await?;
    let mut db = Db::Write(&mut tx);
    if !is_current(&mut db, account, entity_arn, entity_id).await? {
        return Ok(());
    }
    for ((kind, id), uses) in KINDS.into_iter().zip([&noted.services, &noted.actions]) {
        if uses.is_empty() {
            continue;
        }
        match find(&mut db, account, kind, entity_arn).await? {
            Some(e) => {
                let mut doc: UseDoc = read_doc(&e)?;
                action_access::merge(&mut doc, uses);
                save_doc(&mut db, e, &doc, at).await?;
            }
            None => {
                let e = Entity {
                    account_id: account.to_string(),
                    kind: kind.into(),
                    name: entity_arn.to_string(),
                    name_key: model::name_key(entity_arn),
                    id: format!("{id}:{entity_arn}"),
                    path: "/".into(),
                    arn: entity_arn.to_string(),
                    created_at: at,
                    updated_at: at,
                    doc: to_text(uses)?,
                };
                db.entities().create(&e).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Removes the last uses of `entity_arn`, in the transaction that deletes the user or role.
pub async fn forget(db: &mut Db<'_>, account: &str, entity_arn: &str) -> Res<()> {
    for (kind, _) in KINDS {
        match db
            .entities()
            .delete(account, kind, &model::name_key(entity_arn))
            .await
        {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Moves the last uses of a renamed user from `old_arn` to `new_arn`, in the rename's
/// transaction (records are named and identified by the ARN, so they are made again).
pub async fn rename(db: &mut Db<'_>, account: &str, old_arn: &str, new_arn: &str) -> Res<()> {
    if old_arn == new_arn {
        return Ok(());
    }
    let mut moved = Vec::new();
    for (kind, id) in KINDS {
        if let Some(old) = find(db, account, kind, old_arn).await? {
            moved.push(Entity {
                name: new_arn.to_string(),
                name_key: model::name_key(new_arn),
                id: format!("{id}:{new_arn}"),
                arn: new_arn.to_string(),
                ..old
            });
        }
    }
    forget(db, account, old_arn).await?;
    forget(db, account, new_arn).await?;
    for e in &moved {
        db.entities().create(e).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::last_accessed::LastUse;
    use rampart_kit::context::CallContext;
    use serde_json::{json, Value};

    const ACCOUNT: &str = "111122223333";

    async fn write(store: &Store, op: &str, input: Value, ctx: &CallContext) -> Value {
        let mut tx = store.begin().await.unwrap();
        let route = crate::Op::from_name(op).and_then(crate::route).unwrap();
        let out = route.handle(input, ctx, Db::Write(&mut tx)).await.unwrap();
        tx.commit().await.unwrap();
        out
    }

    async fn user(store: &Store, ctx: &CallContext, name: &str) -> (String, String) {
        let out = write(store, "CreateUser", json!({ "UserName": name }), ctx).await;
        let u = &out["User"];
        (
            u["Arn"].as_str().unwrap().to_string(),
            u["UserId"].as_str().unwrap().to_string(),
        )
    }

    fn noted(at: DateTime<Utc>) -> Noted {
        let used = LastUse {
            at,
            region: "us-east-1".into(),
        };
        Noted {
            services: [("iam".to_string(), used.clone())].into(),
            actions: [("iam:ListUsers".to_string(), used)].into(),
        }
    }

    async fn records(store: &Store, arn: &str) -> usize {
        let mut n = 0;
        for (kind, _) in KINDS {
            n += usize::from(
                find(&mut Db::Read(store), ACCOUNT, kind, arn)
                    .await
                    .unwrap()
                    .is_some(),
            );
        }
        n
    }

    /// A user deleted and created again under its name has no last uses, and a use noted of
    /// the deleted one (flushed after the delete) is not written for the new one.
    #[tokio::test]
    async fn last_uses_belong_to_the_user_not_its_name() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let ctx = rampart_kit::test_support::root_context();
        let (arn, old_id) = user(&store, &ctx, "lena").await;
        record(&store, ACCOUNT, (&arn, &old_id), &noted(ctx.now), ctx.now)
            .await
            .unwrap();
        assert_eq!(records(&store, &arn).await, 2);

        write(&store, "DeleteUser", json!({ "UserName": "lena" }), &ctx).await;
        assert_eq!(records(&store, &arn).await, 0);
        let (again, new_id) = user(&store, &ctx, "lena").await;
        assert_eq!(again, arn);
        record(&store, ACCOUNT, (&arn, &old_id), &noted(ctx.now), ctx.now)
            .await
            .unwrap();
        assert_eq!(
            records(&store, &arn).await,
            0,
            "the old user's use is not the new one's"
        );
        record(&store, ACCOUNT, (&arn, &new_id), &noted(ctx.now), ctx.now)
            .await
            .unwrap();
        assert_eq!(records(&store, &arn).await, 2);
        std::fs::remove_dir_all(dir).ok();
    }

    /// A renamed user keeps its last uses under its new ARN; its old name starts empty.
    #[tokio::test]
    async fn last_uses_move_with_a_renamed_user() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let ctx = rampart_kit::test_support::root_context();
        let (arn, id) = user(&store, &ctx, "lena").await;
        record(&store, ACCOUNT, (&arn, &id), &noted(ctx.now), ctx.now)
            .await
            .unwrap();
        let input = json!({ "UserName": "lena", "NewUserName": "lena2" });
        write(&store, "UpdateUser", input, &ctx).await;
        let renamed = format!("arn:aws:iam::{ACCOUNT}:user/lena2");
        assert_eq!(records(&store, &arn).await, 0);
        assert_eq!(records(&store, &renamed).await, 2);
        // A rename that changes only the case keeps them too.
        let input = json!({ "UserName": "lena2", "NewUserName": "Lena2" });
        write(&store, "UpdateUser", input, &ctx).await;
        assert_eq!(
            records(&store, &format!("arn:aws:iam::{ACCOUNT}:user/Lena2")).await,
            2
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
