//! Writing configuration items: a resource's new snapshot becomes a new item when its
//! configuration differs from the last one, and the discovered resource follows it.

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::Entity;
use serde_json::Value;

use crate::build::{doc_of, is_global};
use crate::error::ConfigResult;
use crate::model::{
    item_key, resource_key, source_path, ItemDoc, RecorderDoc, ResourceDoc, Snapshot, ITEM,
    RECORDER, RESOURCE,
};

/// What the account's running recorder records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    all_supported: bool,
    include_global: bool,
    types: Vec<String>,
}

impl Recording {
    /// True when resources of `resource_type` are recorded.
    pub fn records(&self, resource_type: &str) -> bool {
        if self.all_supported {
            return self.include_global || !is_global(resource_type);
        }
        self.types.iter().any(|t| t == resource_type)
    }

    /// What a recording group records.
    pub fn of(group: &Value) -> Recording {
        let all_supported = group
            .get("allSupported")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let include_global = group
            .get("includeGlobalResourceTypes")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let types = group
            .get("resourceTypes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Recording {
            all_supported,
            include_global,
            types,
        }
    }
}

/// The account's running recorder's scope, or `None` when nothing records.
pub async fn recording(db: &mut Db<'_>, account: &str) -> ConfigResult<Option<Recording>> {
    let page = db.entities().list(account, RECORDER, "", None, 10).await?;
    for e in page.items {
        let doc: RecorderDoc = doc_of(&e)?;
        if doc.recording {
            return Ok(Some(Recording::of(&doc.recording_group)));
        }
    }
    Ok(None)
}

/// The region of the account's running recorder (its entity's path is `/REGION/`), if one runs.
pub async fn recorder_region(db: &mut Db<'_>, account: &str) -> ConfigResult<Option<String>> {
    let page = db.entities().list(account, RECORDER, "", None, 10).await?;
    for e in page.items {
        let doc: RecorderDoc = doc_of(&e)?;
        if doc.recording {
            return Ok(Some(e.path.trim_matches('/').to_string()));
        }
    }
    Ok(None)
}

/// The discovered resource recorded from the entity `(kind, key)`, if any.
pub async fn by_source(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    key: &str,
) -> ConfigResult<Option<(Entity, ResourceDoc)>> {
    let page = db
        .entities()
        .list(account, RESOURCE, &source_path(kind, key), None, 1)
        .await?;
    match page.items.into_iter().next() {
        Some(e) => {
            let doc = doc_of(&e)?;
            Ok(Some((e, doc)))
        }
        None => Ok(None),
    }
}

/// The discovered resource `(type, id)`, if any.
pub async fn resource(
    db: &mut Db<'_>,
    account: &str,
    resource_type: &str,
    resource_id: &str,
) -> ConfigResult<Option<(Entity, ResourceDoc)>> {
    match db
        .entities()
        .get(account, RESOURCE, &resource_key(resource_type, resource_id))
        .await?
    {
        Some(e) => {
            let doc = doc_of(&e)?;
            Ok(Some((e, doc)))
        }
        None => Ok(None),
    }
}

async fn write_item(db: &mut Db<'_>, account: &str, item: &ItemDoc) -> ConfigResult<()> {
    let s = &item.snapshot;
    let key = item_key(&s.resource_type, &s.resource_id, item.version);
    db.entities()
        .create(&Entity {
            account_id: account.to_string(),
            kind: ITEM.into(),
            name: key.clone(),
            id: format!("config-item/{account}/{key}"),
            name_key: key,
            path: "/".into(),
            arn: s.arn.clone(),
            created_at: item.captured,
            updated_at: item.captured,
            doc: to_text(item)?,
        })
        .await?;
    Ok(())
}

/// Records the resource of entity `(kind, key)` as `snapshot` shows it now (`None`: it is
/// gone). Returns the discovered resource when its configuration or facts changed, for the
/// rules to evaluate.
pub async fn record(
    db: &mut Db<'_>,
    account: &str,
    source: (&str, &str),
    snapshot: Option<Snapshot>,
    now: DateTime<Utc>,
) -> ConfigResult<Option<ResourceDoc>> {
    let (kind, key) = source;
    let existing = match &snapshot {
        Some(s) => resource(db, account, &s.resource_type, &s.resource_id).await?,
        None => by_source(db, account, kind, key).await?,
    };
    let Some(snapshot) = snapshot else {
        let Some((e, doc)) = existing else {
            return Ok(None);
        };
        return record_deleted(db, account, e, doc, now).await;
    };
    let path = source_path(kind, key);
    match existing {
        Some((e, mut doc)) => {
            let same = doc.deleted_at.is_none() && doc.snapshot.same_configuration(&snapshot);
            if same && doc.snapshot.facts == snapshot.facts {
                return Ok(None);
            }
            if !same {
                let status = if doc.deleted_at.is_some() {
                    "ResourceDiscovered"
                } else {
                    "OK"
                };
                doc.version += 1;
                write_item(
                    db,
                    account,
                    &ItemDoc {
                        status: status.into(),
                        captured: now,
                        version: doc.version,
                        snapshot: snapshot.clone(),
                    },
                )
                .await?;
            }
            doc.deleted_at = None;
            doc.resource_name = snapshot.resource_name.clone();
            doc.snapshot = snapshot;
            let mut e = e;
            e.path = path;
            save_resource(db, e, &doc, now).await?;
            Ok(Some(doc))
        }
        None => {
            let doc = ResourceDoc {
                resource_type: snapshot.resource_type.clone(),
                resource_id: snapshot.resource_id.clone(),
                resource_name: snapshot.resource_name.clone(),
                version: 1,
                deleted_at: None,
                snapshot: snapshot.clone(),
            };
            write_item(
                db,
                account,
                &ItemDoc {
                    status: "ResourceDiscovered".into(),
                    captured: now,
                    version: 1,
                    snapshot: snapshot.clone(),
                },
            )
            .await?;
            let rkey = resource_key(&snapshot.resource_type, &snapshot.resource_id);
            db.entities()
                .create(&Entity {
                    account_id: account.to_string(),
                    kind: RESOURCE.into(),
                    name: rkey.clone(),
                    id: format!("config-resource/{account}/{rkey}"),
                    name_key: rkey,
                    path,
                    arn: snapshot.arn.clone(),
                    created_at: now,
                    updated_at: now,
                    doc: to_text(&doc)?,
                })
                .await?;
            Ok(Some(doc))
        }
    }
}

/// Records the discovered resource `(e, doc)` as deleted: one `ResourceDeleted` item, unless
/// it is already recorded as deleted. Returns the resource when it was not.
pub async fn record_deleted(
    db: &mut Db<'_>,
    account: &str,
    e: Entity,
    mut doc: ResourceDoc,
    now: DateTime<Utc>,
) -> ConfigResult<Option<ResourceDoc>> {
    if doc.deleted_at.is_some() {
        return Ok(None);
    }
    doc.version += 1;
    doc.deleted_at = Some(now);
    let mut gone = doc.snapshot.clone();
    gone.configuration = Value::Null;
    gone.supplementary.clear();
    gone.relationships.clear();
    gone.tags.clear();
    write_item(
        db,
        account,
        &ItemDoc {
            status: "ResourceDeleted".into(),
            captured: now,
            version: doc.version,
            snapshot: gone,
        },
    )
    .await?;
    save_resource(db, e, &doc, now).await?;
    Ok(Some(doc))
}

async fn save_resource(
    db: &mut Db<'_>,
    mut e: Entity,
    doc: &ResourceDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    e.doc = to_text(doc)?;
    e.updated_at = now;
    let key = e.name_key.clone();
    db.entities().update(&key, &e).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Recording;
    use serde_json::json;

    #[test]
    fn global_types_need_include_global() {
        let r = Recording::of(&json!({"allSupported": true}));
        assert!(r.records("AWS::S3::Bucket"));
        assert!(!r.records("AWS::IAM::User"));
        let r = Recording::of(&json!({"allSupported": true, "includeGlobalResourceTypes": true}));
        assert!(r.records("AWS::IAM::User"));
        let r = Recording::of(&json!({"allSupported": false, "resourceTypes": ["AWS::KMS::Key"]}));
        assert!(r.records("AWS::KMS::Key"));
        assert!(!r.records("AWS::S3::Bucket"));
    }
}
