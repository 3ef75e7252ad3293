//! Turning the store's change log into configuration items and rule evaluations.
//!
//! Every write to a recorded family appends a row to the change log in the writer's own
//! transaction (`rampart_store::Changes`). This module reads the rows after Config's durable
//! cursor, records the resource each one concerns as it stands (a new item when its
//! configuration changed), re-runs the rules whose scope takes it, and moves the cursor, all
//! in one transaction. The server's `config` job runs it every second and as soon as a logged
//! change commits; Config's writes that
//! evaluate (starting a recorder, putting or re-running a rule) run it first in their own
//! transaction. Reads answer from what is recorded, as AWS's do: items and results follow a
//! change within a second, and no read does the job's work. Periodic rules whose
//! `MaximumExecutionFrequency` has passed on the request clock re-run here too.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::{Entity, Lease, Store};

use crate::build::{self, doc_of, Target};
use crate::error::ConfigResult;
use crate::evaluate;
use crate::managed;
use crate::model::{CursorDoc, RuleDoc, CURSOR, RECORDING_INDEX, RULE_INDEX, SYSTEM_ACCOUNT};
use crate::record;

/// Changes read per transaction.
const BATCH: u32 = 200;
const CURSOR_KEY: &str = "log";

async fn cursor(db: &mut Db<'_>) -> ConfigResult<(Option<Entity>, i64)> {
    match db
        .entities()
        .get(SYSTEM_ACCOUNT, CURSOR, CURSOR_KEY)
        .await?
    {
        Some(e) => {
            let doc: CursorDoc = doc_of(&e)?;
            Ok((Some(e), doc.seq))
        }
        None => Ok((None, 0)),
    }
}

async fn save_cursor(
    db: &mut Db<'_>,
    existing: Option<Entity>,
    seq: i64,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let doc = to_text(&CursorDoc { seq })?;
    match existing {
        Some(mut e) => {
            e.doc = doc;
            e.updated_at = now;
            db.entities().update(CURSOR_KEY, &e).await?;
        }
        None => {
            db.entities()
                .create(&Entity {
                    account_id: SYSTEM_ACCOUNT.into(),
                    kind: CURSOR.into(),
                    name: CURSOR_KEY.into(),
                    name_key: CURSOR_KEY.into(),
                    id: "config-cursor/log".into(),
                    path: "/".into(),
                    arn: String::new(),
                    created_at: now,
                    updated_at: now,
                    doc,
                })
                .await?;
        }
    }
    Ok(())
}

/// Records the entity `(kind, key)` as it stands and runs the rules over it.
pub async fn record_entity(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    key: &str,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let snapshot = match db.entities().get(account, kind, key).await? {
        Some(e) => build::snapshot(db, &e).await?,
        None => None,
    };
    if let Some(recorder) = record::recording(db, account).await? {
        if let Some(s) = &snapshot {
            if !recorder.records(&s.resource_type) {
                return Ok(());
            }
        }
    } else {
        return Ok(());
    }
    if let Some(r) = record::record(db, account, (kind, key), snapshot, now).await? {
        evaluate::on_resource(db, account, &r, now).await?;
    }
    Ok(())
}

/// Records every resource of a family in the account (a recorder's first start, an
/// account-level change that alters them all).
pub async fn record_family(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, kind, "", after.as_deref(), 100)
            .await?;
        for e in &page.items {
            record_entity(db, account, kind, &e.name_key, now).await?;
        }
        after = page.items.last().map(|e| e.name_key.clone());
        if !page.truncated {
            return Ok(());
        }
    }
}

/// Processes one batch of the change log on `db` (a write transaction); returns how many
/// changes it read (a full batch means more may follow).
pub async fn process_batch(db: &mut Db<'_>, now: DateTime<Utc>) -> ConfigResult<usize> {
    if !any_recording(db).await? {
        return Ok(0);
    }
    let (entity, seq) = cursor(db).await?;
    let changes = db.changes().after(seq, BATCH).await?;
    let Some(last) = changes.last().map(|c| c.seq) else {
        return Ok(0);
    };
    let mut done: BTreeSet<(String, Target)> = BTreeSet::new();
    for change in &changes {
        if record::recording(db, &change.account_id).await?.is_none() {
            continue;
        }
        for target in build::targets(db, change).await? {
            if !done.insert((change.account_id.clone(), target.clone())) {
                continue;
            }
            let account = change.account_id.as_str();
            match &target {
                Target::Resource { kind, key } => {
                    record_entity(db, account, kind, key, now).await?;
                }
                Target::Family(kind) => record_family(db, account, kind, now).await?,
                Target::Account => evaluate::on_account(db, account, now).await?,
            }
        }
    }
    save_cursor(db, entity, last, now).await?;
    db.changes().trim(last).await?;
    Ok(changes.len())
}

/// True when some account's recorder runs.
pub async fn any_recording(db: &mut Db<'_>) -> ConfigResult<bool> {
    let page = db
        .entities()
        .list(SYSTEM_ACCOUNT, RECORDING_INDEX, "", None, 1)
        .await?;
    Ok(!page.items.is_empty())
}

/// Notes whether `account`'s recorder runs (see [`RECORDING_INDEX`]).
pub async fn set_recording(
    db: &mut Db<'_>,
    account: &str,
    on: bool,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let found = db
        .entities()
        .get(SYSTEM_ACCOUNT, RECORDING_INDEX, account)
        .await?
        .is_some();
    if on && !found {
        db.entities()
            .create(&Entity {
                account_id: SYSTEM_ACCOUNT.into(),
                kind: RECORDING_INDEX.into(),
                name: account.to_string(),
                name_key: account.to_string(),
                id: format!("config-recording-account/{account}"),
                path: "/".into(),
                arn: String::new(),
                created_at: now,
                updated_at: now,
                doc: "{}".into(),
            })
            .await?;
    } else if !on && found {
        db.entities()
            .delete(SYSTEM_ACCOUNT, RECORDING_INDEX, account)
            .await?;
    }
    Ok(())
}

/// While nothing records, forgets the logged changes (nothing will ever read them).
async fn trim_unrecorded(store: &Store, lease: Option<&Lease>) -> ConfigResult<()> {
    let mut tx = store.begin_fenced(lease).await?;
    let mut db = Db::Write(&mut tx);
    let mut trimmed = 0;
    if !any_recording(&mut db).await? {
        loop {
            let rows = db.changes().after(0, BATCH).await?;
            let Some(last) = rows.last().map(|c| c.seq) else {
                break;
            };
            trimmed += db.changes().trim(last).await?;
            if rows.len() < BATCH as usize {
                break;
            }
        }
    }
    if trimmed > 0 {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(())
}

/// Processes the whole change log on `db`.
pub async fn catch_up_in(db: &mut Db<'_>, now: DateTime<Utc>) -> ConfigResult<()> {
    while process_batch(db, now).await? >= BATCH as usize {}
    Ok(())
}

/// The frequency's length.
pub fn frequency(name: Option<&str>) -> Duration {
    match name.unwrap_or("TwentyFour_Hours") {
        "One_Hour" => Duration::hours(1),
        "Three_Hours" => Duration::hours(3),
        "Six_Hours" => Duration::hours(6),
        "Twelve_Hours" => Duration::hours(12),
        _ => Duration::hours(24),
    }
}

/// Re-runs the periodic rules whose frequency has passed.
async fn run_due(db: &mut Db<'_>, now: DateTime<Utc>) -> ConfigResult<usize> {
    let mut n = 0;
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    let mut after: Option<String> = None;
    // Accounts with rules: the rule entities say which (one listing per account is cheap).
    loop {
        let page = db
            .entities()
            .list(SYSTEM_ACCOUNT, RULE_INDEX, "", after.as_deref(), 200)
            .await?;
        for e in &page.items {
            accounts.insert(e.name.clone());
        }
        after = page.items.last().map(|e| e.name_key.clone());
        if !page.truncated {
            break;
        }
    }
    for account in accounts {
        for (mut e, mut rule) in evaluate::rules(db, &account).await? {
            let periodic = managed::find(&rule.source_identifier).is_some_and(|m| m.periodic)
                || rule.periodic_custom();
            let due = rule
                .last_run
                .is_none_or(|t| t + frequency(rule.frequency.as_deref()) <= now);
            if !periodic || !due {
                continue;
            }
            if rule.is_lambda() {
                crate::lambda::enqueue_scheduled(db, &account, &e.name, &rule, now).await?;
            } else {
                evaluate::run_rule(db, &account, &e.name, &rule, now).await?;
            }
            rule.last_run = Some(now);
            save_rule(db, &mut e, &rule, now).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Saves a rule's document.
pub async fn save_rule(
    db: &mut Db<'_>,
    e: &mut Entity,
    rule: &RuleDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    e.doc = to_text(rule)?;
    e.updated_at = now;
    let key = e.name_key.clone();
    db.entities().update(&key, e).await?;
    Ok(())
}

/// The job's step: the whole change log, each batch in its own transaction (fenced by the
/// job's lease), then, when `periodic`, the periodic rules that are due. While nothing
/// records, it only trims the log, when `periodic`. The job passes `periodic` once a period,
/// not on every change that wakes it, so a change pays only for its own processing. Returns
/// the changes' batches run.
pub async fn run(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
    periodic: bool,
) -> ConfigResult<usize> {
    if !any_recording(&mut Db::Read(store)).await? {
        if periodic && lease.is_some() {
            trim_unrecorded(store, lease).await?;
        }
        return Ok(0);
    }
    let mut batches = 0;
    loop {
        let mut tx = store.begin_fenced(lease).await?;
        let read = process_batch(&mut Db::Write(&mut tx), now).await?;
        if read == 0 {
            tx.rollback().await?;
            break;
        }
        tx.commit().await?;
        batches += 1;
        if read < BATCH as usize {
            break;
        }
    }
    if !periodic {
        return Ok(batches);
    }
    let mut tx = store.begin_fenced(lease).await?;
    let due = run_due(&mut Db::Write(&mut tx), now).await?;
    if due > 0 {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(batches)
}
