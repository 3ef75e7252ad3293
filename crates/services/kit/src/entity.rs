//! Entity documents: the typed JSON document a stored entity carries, read, changed and
//! written back inside the handler's transaction (read-modify-write), and the authorization
//! epoch a permission change bumps. Update times come from the request clock (`ctx.now`),
//! never the wall clock, so that dev mode's clock governs them too.

use chrono::{DateTime, Utc};
use rampart_store::Entity;
use serde::{de::DeserializeOwned, Serialize};

use crate::{db::Db, error::ServiceError};

/// An entity's typed document (an empty document reads as the default). A stored document
/// that does not read is an internal error, logged with the entity.
pub fn read_doc<T: DeserializeOwned + Default>(e: &Entity) -> Result<T, ServiceError> {
    if e.doc.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(&e.doc).map_err(|err| {
        tracing::error!(kind = %e.kind, id = %e.id, error = %err, "unreadable entity document");
        ServiceError::internal()
    })
}

/// The JSON text of a document.
pub fn to_text<T: Serialize>(doc: &T) -> Result<String, ServiceError> {
    serde_json::to_string(doc).map_err(|err| {
        tracing::error!(error = %err, "document does not serialize");
        ServiceError::internal()
    })
}

/// Serializes a typed document into the entity and stamps its update time with `now`.
pub fn write_doc<T: Serialize>(
    e: &mut Entity,
    doc: &T,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    e.doc = to_text(doc)?;
    e.updated_at = now;
    Ok(())
}

/// Writes a changed document back to its entity in the store, stamped with `now`.
pub async fn save_doc<T: Serialize>(
    db: &mut Db<'_>,
    mut e: Entity,
    doc: &T,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    write_doc(&mut e, doc, now)?;
    let key = e.name_key.clone();
    db.entities().update(&key, &e).await?;
    Ok(())
}

/// The entity of `kind` under `key` (the service's own name key) in `account`, if any.
pub async fn find(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    key: &str,
) -> Result<Option<Entity>, ServiceError> {
    Ok(db.entities().get(account, kind, key).await?)
}

/// The entity of `kind` under `key` in `account` with its typed document, if any.
pub async fn load_doc<T: DeserializeOwned + Default>(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    key: &str,
) -> Result<Option<(Entity, T)>, ServiceError> {
    match find(db, account, kind, key).await? {
        Some(e) => {
            let doc = read_doc(&e)?;
            Ok(Some((e, doc)))
        }
        None => Ok(None),
    }
}

/// A stored resource with its typed document.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The entity.
    pub entity: Entity,
    /// Its document.
    pub doc: T,
}

impl<T> Loaded<T> {
    /// Its ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }
}

/// The entity of `kind` under `key` in `account` with its typed document, if any.
pub async fn load<T: DeserializeOwned + Default>(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    key: &str,
) -> Result<Option<Loaded<T>>, ServiceError> {
    Ok(load_doc::<T>(db, account, kind, key)
        .await?
        .map(|(entity, doc)| Loaded { entity, doc }))
}

/// Every entity of `kind` under `path` in `account`, in key order.
pub async fn all(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    path: &str,
) -> Result<Vec<Entity>, ServiceError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, kind, path, after.as_deref(), 500)
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        out.extend(page.items);
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// Every entity of `kind` under `path` in `account`, in key order, with its typed document.
pub async fn list_all<T: DeserializeOwned + Default>(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    path: &str,
) -> Result<Vec<Loaded<T>>, ServiceError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, kind, path, after.as_deref(), 500)
            .await?;
        for e in page.items {
            after = Some(e.name_key.clone());
            let doc = read_doc::<T>(&e)?;
            out.push(Loaded { entity: e, doc });
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// Bumps the authorization epoch inside the write transaction of a permission change, so that
/// cached authorization inputs are refreshed on the next request.
pub async fn bump(db: &mut Db<'_>) -> Result<(), ServiceError> {
    db.authz_epoch().bump().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Doc {
        #[serde(default)]
        tags: Vec<String>,
    }

    fn entity(doc: &str) -> Entity {
        let t = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .unwrap_or_default();
        Entity {
            account_id: "123456789012".into(),
            kind: "test:thing".into(),
            name: "Thing".into(),
            name_key: "thing".into(),
            id: format!("id-{}", uuid::Uuid::new_v4()),
            path: "/".into(),
            arn: "arn:aws:test::123456789012:thing/Thing".into(),
            created_at: t,
            updated_at: t,
            doc: doc.into(),
        }
    }

    #[test]
    fn documents_read_and_write() {
        assert_eq!(read_doc::<Doc>(&entity("  ")).unwrap(), Doc::default());
        let d: Doc = read_doc(&entity(r#"{"tags":["a"]}"#)).unwrap();
        assert_eq!(d.tags, vec!["a"]);
        let e = read_doc::<Doc>(&entity("{not json")).unwrap_err();
        assert_eq!(e.code, "InternalFailure");
        let mut e = entity("");
        let now = Utc
            .with_ymd_and_hms(2027, 6, 7, 8, 9, 10)
            .single()
            .unwrap_or_default();
        write_doc(&mut e, &d, now).unwrap();
        assert_eq!(e.doc, r#"{"tags":["a"]}"#);
        assert_eq!(e.updated_at, now);
    }

    #[tokio::test]
    async fn read_modify_write_uses_the_request_clock_and_bumps_the_epoch() {
        let (store, dir) = crate::test_support::store().await;
        let e = entity(r#"{"tags":["a"]}"#);
        store.entities().create(&e).await.unwrap();
        let before = store.authz_epoch().get().await.unwrap();
        let now = Utc
            .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let mut tx = store.begin().await.unwrap();
        {
            let mut db = Db::Write(&mut tx);
            let (found, mut doc): (Entity, Doc) =
                load_doc(&mut db, &e.account_id, &e.kind, "thing")
                    .await
                    .unwrap()
                    .unwrap();
            doc.tags.push("b".into());
            save_doc(&mut db, found, &doc, now).await.unwrap();
            bump(&mut db).await.unwrap();
            assert!(load_doc::<Doc>(&mut db, &e.account_id, &e.kind, "nope")
                .await
                .unwrap()
                .is_none());
        }
        tx.commit().await.unwrap();
        let mut db = Db::Read(&store);
        let (saved, doc): (Entity, Doc) = load_doc(&mut db, &e.account_id, &e.kind, "thing")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(doc.tags, vec!["a", "b"]);
        assert_eq!(saved.updated_at, now);
        assert_eq!(store.authz_epoch().get().await.unwrap(), before + 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
