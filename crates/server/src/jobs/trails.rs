//! Trail delivery: each trail reads the audit stream with its own cursor
//! (`cloudtrail:<trail ARN>`) and writes the records its selectors match as log files in its
//! bucket, and, with log file validation, an hourly signed digest per region.
//!
//! A log file is written when the oldest undelivered record has waited the delivery interval
//! (`--trail-delivery-secs`, on the request clock) or when a file's worth of records waits.
//! The file's object, its audit record and the trail's cursor commit in one transaction
//! (`StreamBatch`), so each record is delivered exactly once across restarts and crashes: a
//! crash before the commit leaves at most an unreferenced blob, and the next round reads the
//! same records again. Files are written through S3's `PutObject` as
//! `cloudtrail.amazonaws.com` (`pipeline::service_put`), decided by the bucket policy.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rampart_services::{
    entity,
    json_field::SetField,
    organizations,
    trails::{
        destination, digest, keys,
        logfile::{self, LogFile},
        model::{self, Trail},
        selectors::Facts,
    },
    Authorizer, CallContext, Db, ServiceError,
};
use rampart_store::{Lease, StreamRecord, Tx};
use serde_json::{json, Value};

use super::due::{self, DueJob, RoundFuture};
use crate::{app::App, pipeline::service_put};

/// The job's name.
pub const NAME: &str = "cloudtrail-delivery";
/// Records a log file holds at most.
const MAX_RECORDS: usize = 5_000;
/// Log files a trail writes per round at most, so one trail does not hold the others up.
const FILES_PER_ROUND: usize = 32;

/// The delivery job, every second.
pub const JOB: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(1),
    "trail delivery round done",
    round,
);

/// Delivers what is due for every trail; a trail whose delivery fails is logged and tried
/// again next round.
fn round<'a>(app: &'a App, _now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let run = Run {
            app,
            lease,
            authorizer: due::authorizer(app)?,
        };
        let mut failed = 0;
        for arn in trail_arns(app).await? {
            if let Err(err) = run.trail(&arn).await {
                failed += 1;
                tracing::warn!(trail = %arn, error = %err.message, "trail delivery failed");
            }
        }
        Ok(vec![("failed", failed)])
    })
}

/// The ARN of every trail.
async fn trail_arns(app: &App) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .store
            .entities()
            .list(
                model::SYSTEM_ACCOUNT,
                model::DELIVERY,
                "/",
                after.as_deref(),
                200,
            )
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        out.extend(page.items.into_iter().map(|e| e.name_key));
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// One round's shared state.
struct Run<'a> {
    app: &'a App,
    lease: Option<&'a Lease>,
    authorizer: Authorizer,
}

/// A log file ready to put, with where its records came from.
struct Pending {
    account: String,
    region: String,
    file: LogFile,
}

impl Run<'_> {
    async fn trail(&self, arn: &str) -> Result<(), ServiceError> {
        let Some((_, state)) = model::delivery(&mut Db::Read(&self.app.store), arn).await? else {
            return Ok(());
        };
        let found =
            model::find(&mut Db::Read(&self.app.store), &state.account, &state.name).await?;
        let Some(trail) = found.filter(|t| t.arn() == arn) else {
            return Ok(());
        };
        if trail.doc.windows.is_empty() {
            return Ok(());
        }
        for _ in 0..FILES_PER_ROUND {
            if !self.deliver_logs(&trail).await? {
                break;
            }
        }
        self.deliver_digests(&trail).await
    }

    /// The context of CloudTrail's own calls for `trail`.
    fn context(&self, trail: &Trail) -> CallContext {
        service_put::service_context(
            self.app,
            self.authorizer.clone(),
            model::SERVICE_PRINCIPAL,
            trail.account(),
            &trail.doc.home_region,
        )
        .for_source(trail.arn())
    }

    /// Writes one log file's worth of records if they are due; true if it wrote (or passed
    /// over) records and more may be due.
    async fn deliver_logs(&self, trail: &Trail) -> Result<bool, ServiceError> {
        let app = self.app;
        let cursor = model::cursor_name(trail.arn());
        let at = app.store.stream_cursor(&cursor).await?;
        let peek = app.store.read_stream(at, 1).await?;
        let Some(first) = peek.first() else {
            return Ok(false);
        };
        let first_time = first.event.record.event_time;
        let now = app.clock.now();
        let stopped_before = trail
            .doc
            .stopped()
            .is_some_and(|s| first_time.timestamp_millis() > s.timestamp_millis());
        if !trail.doc.logging && stopped_before {
            // Stopped, and everything of its logging periods is delivered.
            return Ok(false);
        }
        let interval = chrono::Duration::seconds(
            i64::try_from(app.config.trail_delivery_secs).unwrap_or(i64::MAX / 2_000),
        );
        let full = app.store.stream_lag(at, MAX_RECORDS).await? >= MAX_RECORDS;
        if !full && now - first_time < interval {
            return Ok(false);
        }
        let mut batch = app.store.consume(&cursor, MAX_RECORDS).await?;
        let accounts = accounts_of(app, trail, batch.records()).await?;
        let pending = files_of(trail, &accounts, batch.records(), now)?;
        if let Some(lease) = self.lease {
            batch.tx().jobs().fence(lease).await?;
        }
        let mut written = Vec::new();
        let outcome = self
            .put_logs(trail, pending, now, batch.tx(), &mut written)
            .await;
        let committed = match outcome {
            Ok(()) => batch.commit().await.map(|_| ()).map_err(ServiceError::from),
            Err(err) => Err(err),
        };
        let ok = committed.is_ok();
        for w in written {
            w.settle(ok);
        }
        match committed {
            Ok(()) => Ok(true),
            Err(err) => {
                self.note_error(trail, now, &err).await;
                Err(err)
            }
        }
    }

    /// Puts each file in `tx` and notes them in the trail's delivery state.
    async fn put_logs(
        &self,
        trail: &Trail,
        pending: Vec<Pending>,
        now: DateTime<Utc>,
        tx: &mut Tx,
        written: &mut Vec<service_put::Written>,
    ) -> Result<(), ServiceError> {
        let Some((entity, mut state)) = model::delivery(&mut Db::Write(tx), trail.arn()).await?
        else {
            return Ok(());
        };
        for p in pending {
            let input = put_input(trail, &p.file.key, None);
            let keys = destination::write_keys();
            let gz = p.file.gz.clone();
            let w = service_put::put_object(
                self.app,
                self.context(trail),
                input,
                gz,
                &keys,
                trail.account(),
                tx,
            )
            .await?;
            written.push(w);
            if trail.doc.validation {
                let key = digest::chain_key(trail.account(), &p.account, &p.region);
                let chain = state.chains.entry(key.clone()).or_default();
                // The period starts when logging did (or now, for another chain).
                let started = trail.doc.started().filter(|_| key == trail.doc.home_region);
                chain.start.get_or_insert(started.unwrap_or(now));
                chain.files.push(digest::Logged {
                    bucket: trail.doc.bucket.clone(),
                    key: p.file.key.clone(),
                    hash: p.file.sha256.clone(),
                    oldest: p.file.oldest,
                    newest: p.file.newest,
                });
            }
            state.latest_delivery = Some(now);
        }
        state.latest_attempt = Some(now);
        state.latest_error = None;
        entity::save_doc(&mut Db::Write(tx), entity, &state, now).await
    }

    /// Records a failed delivery in the trail's state (`GetTrailStatus`).
    async fn note_error(&self, trail: &Trail, now: DateTime<Utc>, err: &ServiceError) {
        let result = async {
            let mut tx = self.app.store.begin_fenced(self.lease).await?;
            if let Some((entity, mut state)) =
                model::delivery(&mut Db::Write(&mut tx), trail.arn()).await?
            {
                state.latest_attempt = Some(now);
                state.latest_error = Some(format!("{}: {}", err.code, err.message));
                entity::save_doc(&mut Db::Write(&mut tx), entity, &state, now).await?;
            }
            tx.commit().await?;
            Ok::<(), ServiceError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e.message, "trail delivery error not recorded");
        }
    }

    /// Writes the digest of every region chain whose hour has run.
    async fn deliver_digests(&self, trail: &Trail) -> Result<(), ServiceError> {
        if !trail.doc.validation {
            return Ok(());
        }
        let now = self.app.clock.now();
        let Some((_, state)) = model::delivery(&mut Db::Read(&self.app.store), trail.arn()).await?
        else {
            return Ok(());
        };
        let mut regions: Vec<String> = state.chains.keys().cloned().collect();
        if trail.doc.logging {
            // Every account the trail logs has a chain in the home region from the trail's
            // start, digested hourly even while it delivers nothing (an empty digest).
            for account in self.logged_accounts(trail).await? {
                let key = digest::chain_key(trail.account(), &account, &trail.doc.home_region);
                if !regions.contains(&key) {
                    regions.push(key);
                }
            }
        }
        for key in regions {
            let chain = state.chains.get(&key).cloned().unwrap_or_default();
            let start = chain
                .start
                .or_else(|| trail.doc.logging.then(|| trail.doc.started()).flatten());
            let chain = digest::Chain { start, ..chain };
            if !chain.due(now) {
                continue;
            }
            self.write_digest(trail, &key, chain, now).await?;
        }
        Ok(())
    }

    /// The accounts the trail logs: its own, and for an organization trail every active
    /// account of its organization.
    async fn logged_accounts(&self, trail: &Trail) -> Result<Vec<String>, ServiceError> {
        let own = vec![trail.account().to_string()];
        if trail.doc.organization_id.is_none() {
            return Ok(own);
        }
        let mut db = Db::Read(&self.app.store);
        let org = organizations::common::org_of(&mut db, trail.account())
            .await
            .map_err(|_| ServiceError::internal())?;
        match org.filter(|o| Some(o.id.as_str()) == trail.doc.organization_id.as_deref()) {
            Some(org) => organizations::accounts::active_ids(&mut db, &org)
                .await
                .map_err(|_| ServiceError::internal()),
            None => Ok(own),
        }
    }

    /// Writes the digest of the chain `chain_key` (`digest::chain_key`).
    async fn write_digest(
        &self,
        trail: &Trail,
        chain_key: &str,
        mut chain: digest::Chain,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let (account, region) = digest::parse_chain_key(trail.account(), chain_key);
        let mut tx = self.app.store.begin_fenced(self.lease).await?;
        let signer = keys::current(&mut Db::Write(&mut tx), region, now).await?;
        let root = destination::logs_root(
            trail.doc.prefix.as_deref(),
            trail.doc.organization_id.as_deref(),
            account,
        );
        let names = digest::Names {
            account,
            region,
            trail: &trail.doc.name,
            home_region: &trail.doc.home_region,
            bucket: &trail.doc.bucket,
            root: &root,
        };
        let file = digest::build(&chain, &names, now, &signer)?;
        let input = put_input(trail, &file.key, Some(&file.signature));
        let keys = destination::write_keys();
        let put = service_put::put_object(
            self.app,
            self.context(trail),
            input,
            file.gz,
            &keys,
            trail.account(),
            &mut tx,
        )
        .await;
        let written = match put {
            Ok(w) => w,
            Err(err) => {
                drop(tx);
                return Err(err);
            }
        };
        let saved = async {
            let Some((entity, mut state)) =
                model::delivery(&mut Db::Write(&mut tx), trail.arn()).await?
            else {
                return Ok(());
            };
            chain.previous = Some(file.link);
            chain.files.clear();
            chain.start = trail.doc.logging.then_some(now);
            state.chains.insert(chain_key.to_string(), chain);
            state.latest_digest = Some(now);
            state.latest_digest_error = None;
            entity::save_doc(&mut Db::Write(&mut tx), entity, &state, now).await
        }
        .await;
        let committed = match saved {
            Ok(()) => tx.commit().await.map_err(ServiceError::from),
            Err(err) => Err(err),
        };
        written.settle(committed.is_ok());
        committed
    }
}

/// `PutObject`'s input for a file of `trail` (a digest carries its signature as metadata).
fn put_input(trail: &Trail, key: &str, signature: Option<&str>) -> Value {
    let mut input = json!({
        "Bucket": trail.doc.bucket,
        "Key": key,
        "ContentType": "application/json",
        "ACL": "bucket-owner-full-control",
    });
    if let Some(sig) = signature {
        input.set_field(
            "Metadata",
            json!({
                "signature": sig,
                "signature-algorithm": digest::ALGORITHM,
            }),
        );
    }
    if let Some(kms) = &trail.doc.kms_key_arn {
        let context = json!({ "aws:cloudtrail:arn": trail.arn() }).to_string();
        input.set_field("ServerSideEncryption", json!("aws:kms"));
        input.set_field("SSEKMSKeyId", json!(kms));
        input.set_field(
            "SSEKMSEncryptionContext",
            json!(base64::engine::general_purpose::STANDARD.encode(context)),
        );
    }
    input
}

/// Whether an event source is a global service's (logged only with
/// `IncludeGlobalServiceEvents`).
fn is_global(source: &str) -> bool {
    matches!(
        source,
        "iam.amazonaws.com" | "sts.amazonaws.com" | "organizations.amazonaws.com"
    )
}

/// A record's JSON and time.
type Timed<'a> = (&'a str, DateTime<Utc>);

/// The accounts whose records `trail` delivers among a batch's: its own, and for an
/// organization trail every account of its organization at delivery time.
async fn accounts_of(
    app: &App,
    trail: &Trail,
    records: &[StreamRecord],
) -> Result<BTreeSet<String>, ServiceError> {
    let mut out = BTreeSet::from([trail.account().to_string()]);
    let Some(org_id) = trail.doc.organization_id.as_deref() else {
        return Ok(out);
    };
    let seen: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r.event.record.account_id.as_deref())
        .collect();
    for account in seen {
        let org = organizations::common::org_of(&mut Db::Read(&app.store), account)
            .await
            .map_err(|_| ServiceError::internal())?;
        if org.is_some_and(|o| o.id == org_id) {
            out.insert(account.to_string());
        }
    }
    Ok(out)
}

/// The log files of a batch: the records `trail` delivers for `accounts`, one file per
/// account and region.
fn files_of(
    trail: &Trail,
    accounts: &BTreeSet<String>,
    records: &[StreamRecord],
    now: DateTime<Utc>,
) -> Result<Vec<Pending>, ServiceError> {
    let doc = &trail.doc;
    let mut groups: BTreeMap<(String, String), Vec<Timed<'_>>> = BTreeMap::new();
    for r in records {
        let rec = &r.event.record;
        if !doc.logged_at(rec.event_time) {
            continue;
        }
        let Some(account) = rec.account_id.as_deref() else {
            continue;
        };
        if !accounts.contains(account) {
            continue;
        }
        let Some(facts) = Facts::of(&rec.event_json) else {
            continue;
        };
        if !doc.multi_region && facts.aws_region != doc.home_region {
            continue;
        }
        if !doc.include_global && is_global(&facts.event_source) {
            continue;
        }
        if !doc.selectors.matches(&facts) {
            continue;
        }
        groups
            .entry((account.to_string(), facts.aws_region.clone()))
            .or_default()
            .push((rec.event_json.as_str(), rec.event_time));
    }
    let mut out = Vec::new();
    for ((account, region), records) in groups {
        let root = destination::logs_root(
            doc.prefix.as_deref(),
            doc.organization_id.as_deref(),
            &account,
        );
        let key = logfile::key(&root, &account, &region, now, &logfile::unique());
        let file = logfile::build(key, &records).map_err(|_| ServiceError::internal())?;
        out.push(Pending {
            account,
            region,
            file,
        });
    }
    Ok(out)
}
