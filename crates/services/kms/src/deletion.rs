//! Deletion and the scheduler: `ScheduleKeyDeletion`, `CancelKeyDeletion`, and
//! [`run_due`], which destroys keys whose window has ended, rotates keys whose automatic
//! rotation is due, and deletes expired imported material. What is due is indexed in the
//! store, so the schedule survives restarts. Each change commits with its CloudTrail service
//! event (`DeleteKey`, `RotateKey`, `DeleteExpiredKeyMaterial`), as AWS records them.
//! A multi-Region primary key with replicas waits in `PendingReplicaDeletion` until its last
//! replica is destroyed; only then does its own waiting period start.

use chrono::{DateTime, Utc};
use rampart_store::{AuditRecord, Lease, Store};
use serde_json::{json, Value};

use super::{
    common::{epoch, invalid_state, req_str},
    error::{KmsError, KmsResult},
    model::{KeyState, DUE_ACCOUNT, DUE_KIND},
    multi_region,
    repo::{self, Key},
    rotation,
};
use rampart_cloudtrail::service_event::ServiceEvent;
use rampart_kit::{context::CallContext, db::Db};

/// The event source of KMS's own work.
const KMS: &str = "kms.amazonaws.com";

/// `ScheduleKeyDeletion` (7-30 days, default 30).
pub async fn schedule(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let days = input["PendingWindowInDays"].as_i64().unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(KmsError::ValidationException(format!(
            "PendingWindowInDays value {days} is not valid: enter a waiting period between 7 and 30 days."
        )));
    }
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    if let s @ (KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) = key.doc.state {
        return Err(invalid_state(&key, s));
    }
    if key.doc.key_manager == "AWS" {
        return Err(KmsError::UnsupportedOperationException(
            "AWS managed keys cannot be scheduled for deletion.".into(),
        ));
    }
    if has_replicas(&key) {
        // AWS: the primary's waiting period starts when its last replica is deleted.
        key.doc.state = KeyState::PendingReplicaDeletion;
        key.doc.deletion_date = None;
        key.doc.pending_window_days = Some(days);
        repo::save(&mut db, &mut key, ctx.now).await?;
        return Ok(json!({
            "KeyId": key.arn(),
            "KeyState": "PendingReplicaDeletion",
            "PendingWindowInDays": days,
        }));
    }
    let date = rampart_kit::checked_time::plus_days(ctx.now, days).ok_or_else(|| {
        KmsError::KMSInternalException("The resulting date is out of range.".into())
    })?;
    key.doc.state = KeyState::PendingDeletion;
    key.doc.deletion_date = Some(date);
    key.doc.pending_window_days = Some(days);
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({
        "KeyId": key.arn(),
        "DeletionDate": epoch(date),
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": days,
    }))
}

/// A multi-Region primary key with replicas (which it cannot be deleted before).
fn has_replicas(key: &Key) -> bool {
    key.doc.is_primary()
        && key
            .doc
            .multi_region
            .as_ref()
            .is_some_and(|m| !m.replica_regions.is_empty())
}

/// `CancelKeyDeletion`: the key comes back disabled (or pending import without material).
pub async fn cancel(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    if !matches!(
        key.doc.state,
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
    ) {
        return Err(invalid_state(&key, key.doc.state));
    }
    key.doc.state = if key.doc.current().is_some() {
        KeyState::Disabled
    } else {
        KeyState::PendingImport
    };
    key.doc.deletion_date = None;
    key.doc.pending_window_days = None;
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({ "KeyId": key.arn() }))
}

/// What the scheduler did in one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DueReport {
    /// Keys destroyed.
    pub destroyed: usize,
    /// Keys rotated.
    pub rotated: usize,
    /// Imported materials expired.
    pub expired: usize,
}

/// Applies everything due at `now`, one key per transaction, each with its events. Under a
/// job `lease`, each transaction commits only while the lease is still current.
pub async fn run_due(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> KmsResult<DueReport> {
    let mut report = DueReport::default();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entities()
            .list(DUE_ACCOUNT, DUE_KIND, "/", after.as_deref(), 100)
            .await?;
        for entry in &page.items {
            let mut tx = store.begin_fenced(lease).await?;
            let mut events = Vec::new();
            let mut db = Db::Write(&mut tx);
            if let Some(key) = repo::load_by_id(&mut db, &entry.name_key).await? {
                apply_due(&mut db, key, now, &mut report, &mut events).await?;
            } else {
                db.entities()
                    .delete(DUE_ACCOUNT, DUE_KIND, &entry.name_key)
                    .await?;
            }
            tx.append_audit_batch(&events).await?;
            tx.commit().await?;
        }
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    Ok(report)
}

async fn apply_due(
    db: &mut Db<'_>,
    mut key: Key,
    now: DateTime<Utc>,
    report: &mut DueReport,
    events: &mut Vec<AuditRecord>,
) -> KmsResult<()> {
    let event = |key: &Key, name: &str, details: Option<Value>| {
        ServiceEvent {
            source: KMS,
            name,
            account_id: key.account(),
            region: &key.doc.region,
            time: now,
            resources: vec![("AWS::KMS::Key", key.arn())],
            details,
        }
        .to_record()
    };
    if repo::is_destroyed(&key.doc, now) && !has_replicas(&key) {
        // The material goes with the row; nothing of the key remains (but other members of
        // a multi-Region key keep theirs).
        repo::destroy(db, &key).await?;
        multi_region::on_destroyed(db, &key, now).await?;
        events.push(event(&key, "DeleteKey", None));
        tracing::info!(key = %key.arn(), "kms key deleted at the end of its waiting period");
        report.destroyed += 1;
        return Ok(());
    }
    let mut changed = false;
    if key.doc.state == KeyState::Enabled {
        if let (Some(next), Some(days)) = (key.doc.next_rotation, key.doc.rotation_period_days) {
            if next <= now {
                let previous = key.doc.materials.last().map(|m| m.id.clone());
                rotation::rotate(db, &mut key, now, "AUTOMATIC")?;
                let details = json!({
                    "rotationType": "AUTOMATIC",
                    "keyOrigin": key.doc.origin,
                    "previousKeyMaterialId": previous,
                    "currentKeyMaterialId": key.doc.materials.last().map(|m| m.id.clone()),
                });
                events.push(event(&key, "RotateKey", Some(details)));
                key.doc.next_rotation = rampart_kit::checked_time::plus_days(now, days);
                report.rotated += 1;
                changed = true;
                multi_region::sync_shared(db, &key, now).await?;
            }
        }
    }
    let mut expired = false;
    for m in &mut key.doc.materials {
        if m.sealed.is_some() && m.valid_to.is_some_and(|t| t <= now) {
            m.sealed = None;
            expired = true;
        }
    }
    if expired {
        events.push(event(&key, "DeleteExpiredKeyMaterial", None));
        report.expired += 1;
        changed = true;
        if matches!(key.doc.state, KeyState::Enabled | KeyState::Disabled) {
            key.doc.state = KeyState::PendingImport;
        }
    }
    if changed {
        repo::save(db, &mut key, now).await?;
    }
    Ok(())
}
