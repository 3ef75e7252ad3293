//! The reconciliation of an analyzer whose analysis sees all its findings at once (unused
//! access and internal access analyzers): the findings found now against those stored.
//!
//! A finding found for the first time is `ACTIVE`, or `ARCHIVED` when an archive rule matches
//! it; a stored one found again keeps its status and creation time (its `updatedAt` moves only
//! when its details changed); a resolved one found again is active again (and archive rules
//! apply again); a stored one no longer found is `RESOLVED`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;

use crate::{
    engine::{archived_by_rule, ACTIVE, ARCHIVED, RESOLVED},
    model::{self, Analyzer, FindingDoc},
};

/// Brings the analyzer's stored findings in line with `found` (each `ACTIVE`, first seen
/// `now`, with a unique id).
pub async fn sync(
    db: &mut Db<'_>,
    a: &Analyzer,
    found: Vec<FindingDoc>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut existing: BTreeMap<String, (Entity, FindingDoc)> = BTreeMap::new();
    for e in model::all(db, a.account(), model::FINDING, &a.prefix()).await? {
        let doc: FindingDoc = entity::read_doc(&e)?;
        existing.insert(doc.id.clone(), (e, doc));
    }
    for mut doc in found {
        match existing.remove(&doc.id) {
            Some((ent, old)) => {
                doc.created = old.created;
                doc.status = old.status.clone();
                let same = old.details == doc.details && old.action == doc.action;
                doc.updated = if same { old.updated } else { now };
                if old.status == RESOLVED {
                    doc.updated = now;
                    doc.status = if archived_by_rule(a, &doc) {
                        ARCHIVED
                    } else {
                        ACTIVE
                    }
                    .into();
                }
                entity::save_doc(db, ent, &doc, now).await?;
            }
            None => {
                if archived_by_rule(a, &doc) {
                    doc.status = ARCHIVED.into();
                }
                let id = doc.id.clone();
                db.entities()
                    .create(&Entity {
                        account_id: a.account().to_string(),
                        kind: model::FINDING.into(),
                        name: id.clone(),
                        name_key: id.clone(),
                        id: format!("{}/{id}", model::FINDING),
                        path: format!("{}{}/", a.prefix(), doc.resource),
                        arn: format!("{}/finding/{id}", a.arn()),
                        created_at: now,
                        updated_at: now,
                        doc: entity::to_text(&doc)?,
                    })
                    .await?;
            }
        }
    }
    for (_, (ent, mut old)) in existing {
        if old.status != RESOLVED {
            old.status = RESOLVED.into();
            old.analyzed = now;
            old.updated = now;
            entity::save_doc(db, ent, &old, now).await?;
        }
    }
    Ok(())
}
