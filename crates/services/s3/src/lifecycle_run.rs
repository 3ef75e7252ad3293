//! Applying lifecycle rules: [`run_due`] expires what the enabled rules of every bucket with a
//! configuration say is due at `now`, one key per transaction, through the same deletes the
//! API makes (a delete marker in a versioned bucket, the object itself otherwise), so a step
//! cut short leaves nothing half-done and the next one finds what is still due.
//!
//! As in AWS, lifecycle actions are not API calls and leave no CloudTrail record; buckets with
//! MFA Delete enabled are skipped (S3 does not support lifecycle on them).

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, CallContext};
use rampart_store::{Lease, Store};
use serde_json::json;

use crate::{
    error::S3Result,
    lifecycle::{self, due_after, expires_at, Rule, INDEX_ACCOUNT, INDEX_KIND},
    repo::{self, Bucket, Object},
};

/// Rows read per page.
const PAGE: u32 = 500;

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// Current versions expired (deleted, or hidden behind a delete marker).
    pub current: usize,
    /// Noncurrent versions and expired delete markers removed for good.
    pub removed: usize,
    /// Incomplete multipart uploads aborted.
    pub uploads: usize,
}

/// The context of the work done for a bucket's owner: its payload releases the blobs a
/// committed expiration leaves unreferenced.
pub trait Host: Sync {
    /// A context acting for `account` in `region` at `now`.
    fn context(&self, account: &str, region: &str, now: DateTime<Utc>) -> CallContext;
}

/// Applies every bucket's enabled rules at `now`. Under a job `lease`, each transaction
/// commits only while the lease is current.
pub async fn run_due(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
    host: &dyn Host,
) -> S3Result<Expired> {
    let mut done = Expired::default();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entities()
            .list(INDEX_ACCOUNT, INDEX_KIND, "/", after.as_deref(), 100)
            .await?;
        for entry in &page.items {
            let bucket = repo::find_bucket(&mut Db::Read(store), &entry.name_key).await?;
            let rules = bucket.as_ref().map(lifecycle::enabled_rules);
            match (bucket, rules) {
                (Some(b), Some(_)) if b.doc.mfa_delete_enabled() => {}
                (Some(b), Some(rules)) if b.doc.lifecycle.is_some() => {
                    let run = BucketRun {
                        store,
                        lease,
                        now,
                        ctx: host.context(b.owner(), &b.doc.region, now),
                        bucket: b,
                    };
                    for rule in &rules {
                        run.apply(rule, &mut done).await?;
                    }
                }
                _ => {
                    let mut tx = store.begin_fenced(lease).await?;
                    lifecycle::unindex(&mut Db::Write(&mut tx), &entry.name_key).await?;
                    tx.commit().await?;
                }
            }
        }
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    Ok(done)
}

/// One expiration.
enum Action<'a> {
    /// The current version (or lone delete marker) of `key`, under `rule`.
    Current { rule: &'a Rule, key: &'a str },
    /// A noncurrent version.
    Version { key: &'a str, version: &'a str },
    /// An incomplete multipart upload.
    Upload { id: &'a str },
}

/// One bucket's work.
struct BucketRun<'a> {
    store: &'a Store,
    lease: Option<&'a Lease>,
    now: DateTime<Utc>,
    ctx: CallContext,
    bucket: Bucket,
}

impl BucketRun<'_> {
    async fn apply(&self, rule: &Rule, done: &mut Expired) -> S3Result<()> {
        if rule.expiry.is_some() || rule.expired_delete_marker {
            self.current_versions(rule, done).await?;
        }
        if let Some(n) = rule.noncurrent {
            self.noncurrent_versions(rule, n, done).await?;
        }
        if let Some(days) = rule.abort_after_days {
            self.uploads(rule, days, done).await?;
        }
        Ok(())
    }

    /// Does one action in its own transaction on a fresh read of the bucket, then releases
    /// the blobs it left unreferenced; false when there was nothing left to do.
    async fn act(&self, action: Action<'_>) -> S3Result<bool> {
        let mut tx = self.store.begin_fenced(self.lease).await?;
        let mut db = Db::Write(&mut tx);
        let bucket = match repo::find_bucket(&mut db, self.bucket.name()).await? {
            Some(b) if b.owner() == self.bucket.owner() => b,
            _ => return Ok(false),
        };
        self.ctx.payload.reset_attempt();
        let ctx = &self.ctx;
        let acted = match action {
            Action::Current { rule, key } => {
                expire_current(&mut db, &bucket, ctx, rule, key, self.now).await?
            }
            Action::Version { key, version } => {
                remove_version(&mut db, &bucket, ctx, key, version).await?
            }
            Action::Upload { id } => {
                crate::multipart::remove_upload(&mut db, ctx, &bucket, id, &[]).await?;
                true
            }
        };
        tx.commit().await?;
        self.ctx.payload.settle(true);
        Ok(acted)
    }

    async fn current_versions(&self, rule: &Rule, done: &mut Expired) -> S3Result<()> {
        let mut after: Option<String> = None;
        loop {
            let (objects, truncated) = repo::list_objects(
                &mut Db::Read(self.store),
                &self.bucket,
                &rule.filter.prefix,
                after.as_deref(),
                PAGE,
            )
            .await?;
            for object in &objects {
                if !self.current_due(rule, object) {
                    continue;
                }
                let action = Action::Current {
                    rule,
                    key: object.key(),
                };
                let acted = self.act(action).await?;
                if acted {
                    if object.doc.delete_marker {
                        done.removed += 1;
                    } else {
                        done.current += 1;
                    }
                }
            }
            if !truncated {
                return Ok(());
            }
            after = objects.last().map(|o| o.key().to_string());
        }
    }

    /// Whether the rule makes this current version (or delete marker) due, as listed.
    fn current_due(&self, rule: &Rule, object: &Object) -> bool {
        if !rule
            .filter
            .matches(object.key(), object.doc.size, &object.doc.tags)
        {
            return false;
        }
        if object.doc.delete_marker {
            return rule.expired_delete_marker;
        }
        expires_at(rule, object.last_modified()).is_some_and(|at| at <= self.now)
    }

    async fn noncurrent_versions(
        &self,
        rule: &Rule,
        n: lifecycle::NoncurrentExpiry,
        done: &mut Expired,
    ) -> S3Result<()> {
        // Versions come newest first per key; each became noncurrent when the next newer one
        // was written.
        let mut key = String::new();
        let mut newer_written: Option<DateTime<Utc>> = None;
        let mut index = 0u32;
        let mut after: Option<String> = None;
        loop {
            let (versions, truncated) = repo::list_versions(
                &mut Db::Read(self.store),
                &self.bucket,
                &rule.filter.prefix,
                after.as_deref(),
                PAGE,
            )
            .await?;
            for version in &versions {
                if version.key() != key {
                    key = version.key().to_string();
                    index = 0;
                    newer_written =
                        repo::find_object(&mut Db::Read(self.store), &self.bucket, &key)
                            .await?
                            .map(|o| o.last_modified());
                }
                let since = newer_written.unwrap_or_else(|| version.last_modified());
                newer_written = Some(version.last_modified());
                let kept = index < n.keep;
                index += 1;
                let applies =
                    rule.filter
                        .matches(version.key(), version.doc.size, &version.doc.tags);
                if kept || !applies || due_after(since, n.days) > self.now {
                    continue;
                }
                let action = Action::Version {
                    key: &key,
                    version: version.doc.version(),
                };
                let acted = self.act(action).await?;
                if acted {
                    done.removed += 1;
                }
            }
            if !truncated {
                return Ok(());
            }
            after = versions.last().map(|v| v.entity.name_key.clone());
        }
    }

    async fn uploads(&self, rule: &Rule, days: u32, done: &mut Expired) -> S3Result<()> {
        let stale = crate::multipart::uploads_under(
            &mut Db::Read(self.store),
            &self.bucket,
            &rule.filter.prefix,
        )
        .await?;
        for upload in stale {
            if due_after(upload.created_at, days) > self.now {
                continue;
            }
            let acted = self
                .act(Action::Upload {
                    id: &upload.name_key,
                })
                .await?;
            if acted {
                done.uploads += 1;
            }
        }
        Ok(())
    }
}

/// Expires the current version of `key` if the rule still makes it due: a lone delete marker
/// is removed; an object is deleted as `DeleteObject` without a version deletes it.
async fn expire_current(
    db: &mut Db<'_>,
    bucket: &Bucket,
    ctx: &CallContext,
    rule: &Rule,
    key: &str,
    now: DateTime<Utc>,
) -> S3Result<bool> {
    let Some(object) = repo::find_object(db, bucket, key).await? else {
        return Ok(false);
    };
    if object.doc.delete_marker {
        if !rule.expired_delete_marker || repo::newest_version(db, bucket, key).await?.is_some() {
            return Ok(false);
        }
        repo::delete_object(db, bucket, key).await?;
        return Ok(true);
    }
    if expires_at(rule, object.last_modified()).is_none_or(|at| at > now) {
        return Ok(false);
    }
    crate::versioning::delete(&json!({}), key, None, ctx, db, bucket).await?;
    Ok(true)
}

/// Removes a noncurrent version for good, if it is still there and still noncurrent.
async fn remove_version(
    db: &mut Db<'_>,
    bucket: &Bucket,
    ctx: &CallContext,
    key: &str,
    version: &str,
) -> S3Result<bool> {
    let Some(found) = repo::find_version(db, bucket, key, version).await? else {
        return Ok(false);
    };
    // Object Lock holds a version against lifecycle as against anyone (AWS's rule).
    let locked = found.doc.legal_hold == Some(true)
        || found.doc.retention.is_some_and(|r| r.active(ctx.now));
    if locked {
        return Ok(false);
    }
    crate::versioning::delete(&json!({}), key, Some(version), ctx, db, bucket).await?;
    Ok(true)
}
