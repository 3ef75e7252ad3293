//! Delivery to the channel's bucket: configuration history files every six hours (of the
//! items recorded since the last), configuration snapshots at the channel's
//! `deliveryFrequency` and on `DeliverConfigSnapshot`, and `DescribeDeliveryChannelStatus`.
//!
//! The API side only notes what is asked (a snapshot id) and answers from the delivery
//! state. The server's `config-delivery` job plans the files due ([`due`]), writes them
//! through S3's own `PutObject` as `config.amazonaws.com` (the bucket policy decides; the
//! bucket's default encryption or the channel's `s3KmsKeyArn` applies), and notes the outcome
//! ([`delivered`], [`failed`]) in the same transaction as the objects.

use chrono::{DateTime, Duration, Utc};
use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::{all, to_text};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::common::strings;
use crate::delivery_file as file;
use crate::error::{ConfigError, ConfigResult};
use crate::model::{
    epoch, item_key, ItemDoc, RecorderDoc, CHANNEL, ITEM, RECORDER, RECORDING_INDEX, SYSTEM_ACCOUNT,
};

/// Kind of a channel's delivery state (name key: the channel's, `REGION/NAME`).
pub const DELIVERY: &str = "config:delivery";
/// The service principal that writes the files.
pub const SERVICE_PRINCIPAL: &str = "config.amazonaws.com";
/// How often history files are delivered (AWS: every six hours).
pub const HISTORY_PERIOD_HOURS: i64 = 6;

/// The outcome of the last delivery of one kind (`ConfigExportDeliveryInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// `Success` or `Failure`.
    pub last_status: Option<String>,
    /// The last error's code.
    pub error_code: Option<String>,
    /// The last error's message.
    pub error_message: Option<String>,
    /// The last attempt.
    pub last_attempt: Option<DateTime<Utc>>,
    /// The last success.
    pub last_success: Option<DateTime<Utc>>,
    /// When the next delivery is due.
    pub next: Option<DateTime<Utc>>,
}

/// A channel's delivery state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDoc {
    /// Snapshot ids asked by `DeliverConfigSnapshot`, not yet delivered.
    pub pending: Vec<String>,
    /// Items captured after this are not delivered yet (`None`: none delivered).
    pub history_since: Option<DateTime<Utc>>,
    /// Snapshot deliveries.
    pub snapshot: Info,
    /// History deliveries.
    pub history: Info,
}

/// A delivery channel, as the job delivers for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// The owning account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The channel's name key (`REGION/NAME`).
    pub key: String,
    /// `s3BucketName`.
    pub bucket: String,
    /// `s3KeyPrefix`.
    pub prefix: Option<String>,
    /// `s3KmsKeyArn`.
    pub kms_key: Option<String>,
    /// `configSnapshotDeliveryProperties.deliveryFrequency`, as a duration.
    pub frequency: Option<Duration>,
}

/// A file due, with what it delivers.
#[derive(Debug, Clone)]
pub struct DueFile {
    /// The object key.
    pub key: String,
    /// The uncompressed body.
    pub body: Vec<u8>,
    /// The snapshot id it delivers, for a snapshot.
    pub snapshot: Option<String>,
}

/// `MaximumExecutionFrequency` names as durations.
fn frequency(name: &str) -> Option<Duration> {
    let hours = match name {
        "One_Hour" => 1,
        "Three_Hours" => 3,
        "Six_Hours" => 6,
        "Twelve_Hours" => 12,
        "TwentyFour_Hours" => 24,
        _ => return None,
    };
    Some(Duration::hours(hours))
}

fn channel_of(e: &Entity) -> Channel {
    let doc: Value = serde_json::from_str(&e.doc).unwrap_or(Value::Null);
    let text = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Channel {
        account: e.account_id.clone(),
        region: e.path.trim_matches('/').to_string(),
        key: e.name_key.clone(),
        bucket: text("s3BucketName").unwrap_or_default(),
        prefix: text("s3KeyPrefix"),
        kms_key: text("s3KmsKeyArn"),
        frequency: doc
            .pointer("/configSnapshotDeliveryProperties/deliveryFrequency")
            .and_then(Value::as_str)
            .and_then(frequency),
    }
}

/// The accounts whose recorder runs (Config delivers for them).
pub async fn recording_accounts(db: &mut Db<'_>) -> ConfigResult<Vec<String>> {
    Ok(all(db, SYSTEM_ACCOUNT, RECORDING_INDEX, "/")
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect())
}

/// The channels of `account`, in every region.
pub async fn channels(db: &mut Db<'_>, account: &str) -> ConfigResult<Vec<Channel>> {
    Ok(all(db, account, CHANNEL, "/")
        .await?
        .iter()
        .map(channel_of)
        .collect())
}

/// The delivery state of a channel (a fresh one when none is stored).
pub async fn state(db: &mut Db<'_>, ch: &Channel) -> ConfigResult<(Option<Entity>, DeliveryDoc)> {
    match db.entities().get(&ch.account, DELIVERY, &ch.key).await? {
        Some(e) => {
            let doc = doc_of(&e)?;
            Ok((Some(e), doc))
        }
        None => Ok((None, DeliveryDoc::default())),
    }
}

async fn save(
    db: &mut Db<'_>,
    ch: &Channel,
    existing: Option<Entity>,
    doc: &DeliveryDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let text = to_text(doc)?;
    match existing {
        Some(mut e) => {
            e.doc = text;
            e.updated_at = now;
            db.entities().update(&ch.key, &e).await?;
        }
        None => {
            db.entities()
                .create(&Entity {
                    account_id: ch.account.clone(),
                    kind: DELIVERY.into(),
                    name: ch.key.clone(),
                    name_key: ch.key.clone(),
                    id: format!("config-delivery/{}/{}", ch.account, ch.key),
                    path: format!("/{}/", ch.region),
                    arn: String::new(),
                    created_at: now,
                    updated_at: now,
                    doc: text,
                })
                .await?;
        }
    }
    Ok(())
}

/// Whether an item belongs in the channel's region (IAM's global items go with every region).
fn in_region(ch: &Channel, item: &ItemDoc) -> bool {
    item.snapshot.region == ch.region || item.snapshot.region == "global"
}

/// The current item of every resource of the channel's region that is not deleted.
async fn current_items(db: &mut Db<'_>, ch: &Channel) -> ConfigResult<Vec<ItemDoc>> {
    let mut out = Vec::new();
    for r in crate::evaluate::resources(db, &ch.account).await? {
        let key = item_key(&r.resource_type, &r.resource_id, r.version);
        if let Some(e) = db.entities().get(&ch.account, ITEM, &key).await? {
            let item: ItemDoc = doc_of(&e)?;
            if in_region(ch, &item) {
                out.push(item);
            }
        }
    }
    Ok(out)
}

/// The items captured after `since`, grouped by resource type.
async fn new_items(
    db: &mut Db<'_>,
    ch: &Channel,
    since: Option<DateTime<Utc>>,
) -> ConfigResult<std::collections::BTreeMap<String, Vec<ItemDoc>>> {
    let mut out: std::collections::BTreeMap<String, Vec<ItemDoc>> = Default::default();
    for e in all(db, &ch.account, ITEM, "/").await? {
        let item: ItemDoc = doc_of(&e)?;
        if since.is_none_or(|s| item.captured > s) && in_region(ch, &item) {
            out.entry(item.snapshot.resource_type.clone())
                .or_default()
                .push(item);
        }
    }
    for items in out.values_mut() {
        items.sort_by_key(|i| i.captured);
    }
    Ok(out)
}

/// Whether the periodic snapshot is due.
fn snapshot_due(ch: &Channel, doc: &DeliveryDoc, now: DateTime<Utc>) -> bool {
    ch.frequency.is_some() && doc.snapshot.next.is_none_or(|n| n <= now)
}

/// The files due for the channel at `now`.
pub async fn due(db: &mut Db<'_>, ch: &Channel, now: DateTime<Utc>) -> ConfigResult<Vec<DueFile>> {
    let (_, doc) = state(db, ch).await?;
    let mut ids = doc.pending.clone();
    if snapshot_due(ch, &doc, now) {
        ids.push(uuid::Uuid::new_v4().to_string());
    }
    let mut out = Vec::new();
    if !ids.is_empty() {
        let items = current_items(db, ch).await?;
        for id in ids {
            out.push(DueFile {
                key: file::snapshot_key(ch.prefix.as_deref(), &ch.account, &ch.region, now, &id),
                body: file::snapshot_body(&ch.account, &id, &items),
                snapshot: Some(id),
            });
        }
    }
    if doc.history.next.is_some_and(|n| n <= now) {
        for (resource_type, items) in new_items(db, ch, doc.history_since).await? {
            let first = items.first().map_or(now, |i| i.captured);
            let window = (doc.history_since.unwrap_or(first).min(now), now);
            out.push(DueFile {
                key: file::history_key(
                    ch.prefix.as_deref(),
                    &ch.account,
                    &ch.region,
                    &resource_type,
                    window,
                ),
                body: file::history_body(&ch.account, &items),
                snapshot: None,
            });
        }
    }
    Ok(out)
}

fn succeed(info: &mut Info, now: DateTime<Utc>, next: Option<DateTime<Utc>>) {
    info.last_status = Some("Success".into());
    info.error_code = None;
    info.error_message = None;
    info.last_attempt = Some(now);
    info.last_success = Some(now);
    info.next = next;
}

/// Notes the files of [`due`] as delivered at `now` (also when none was due: the state is
/// created and the next deliveries are scheduled).
pub async fn delivered(
    db: &mut Db<'_>,
    ch: &Channel,
    files: &[DueFile],
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let (e, mut doc) = state(db, ch).await?;
    let before = doc.clone();
    let snapshots: Vec<&String> = files.iter().filter_map(|f| f.snapshot.as_ref()).collect();
    doc.pending.retain(|id| !snapshots.contains(&id));
    if !snapshots.is_empty() {
        succeed(&mut doc.snapshot, now, ch.frequency.map(|f| now + f));
    } else if ch.frequency.is_some() && doc.snapshot.next.is_none() {
        doc.snapshot.next = ch.frequency.map(|f| now + f);
    }
    let period = Duration::hours(HISTORY_PERIOD_HOURS);
    match doc.history.next {
        None => doc.history.next = Some(now + period),
        Some(n) if n <= now => {
            if files.iter().any(|f| f.snapshot.is_none()) {
                succeed(&mut doc.history, now, Some(now + period));
            } else {
                doc.history.last_attempt = Some(now);
                doc.history.next = Some(now + period);
            }
            doc.history_since = Some(now);
        }
        Some(_) => {}
    }
    if e.is_none() || doc != before {
        save(db, ch, e, &doc, now).await?;
    }
    Ok(())
}

/// Notes a failed delivery (the bucket policy refused, the key is disabled, ...).
pub async fn failed(
    db: &mut Db<'_>,
    ch: &Channel,
    snapshot: bool,
    error: (&str, &str),
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let (e, mut doc) = state(db, ch).await?;
    let info = if snapshot {
        &mut doc.snapshot
    } else {
        &mut doc.history
    };
    info.last_status = Some("Failure".into());
    info.error_code = Some(error.0.to_string());
    info.error_message = Some(error.1.to_string());
    info.last_attempt = Some(now);
    save(db, ch, e, &doc, now).await
}

async fn running(db: &mut Db<'_>, ctx: &CallContext) -> ConfigResult<bool> {
    let account = &ctx.principal.account_id;
    for e in all(db, account, RECORDER, &format!("/{}/", ctx.region)).await? {
        if doc_of::<RecorderDoc>(&e)?.recording {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn channel_named(db: &mut Db<'_>, ctx: &CallContext, name: &str) -> ConfigResult<Channel> {
    let key = format!("{}/{name}", ctx.region);
    match db
        .entities()
        .get(&ctx.principal.account_id, CHANNEL, &key)
        .await?
    {
        Some(e) => Ok(channel_of(&e)),
        None => Err(ConfigError::NoSuchDeliveryChannelException(format!(
            "Cannot find delivery channel with specified name '{name}'."
        ))),
    }
}

/// `DeliverConfigSnapshot`: schedules a snapshot (the job delivers it within seconds).
pub async fn deliver_snapshot(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let name = input
        .get("deliveryChannelName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ch = channel_named(&mut db, ctx, name).await?;
    if !running(&mut db, ctx).await? {
        return Err(ConfigError::NoRunningConfigurationRecorderException(
            "There is no configuration recorder running.".into(),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (e, mut doc) = state(&mut db, &ch).await?;
    doc.pending.push(id.clone());
    save(&mut db, &ch, e, &doc, ctx.now).await?;
    Ok(json!({ "configSnapshotId": id }))
}

fn info_json(info: &Info) -> Value {
    let mut v = json!({});
    let mut set = |k: &str, x: Value| {
        if !x.is_null() {
            crate::common::set(&mut v, k, x);
        }
    };
    set("lastStatus", json!(info.last_status));
    set("lastErrorCode", json!(info.error_code));
    set("lastErrorMessage", json!(info.error_message));
    set(
        "lastAttemptTime",
        info.last_attempt.map_or(Value::Null, epoch),
    );
    set(
        "lastSuccessfulTime",
        info.last_success.map_or(Value::Null, epoch),
    );
    set("nextDeliveryTime", info.next.map_or(Value::Null, epoch));
    v
}

/// `DescribeDeliveryChannelStatus`.
pub async fn status(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let names = strings(input, "DeliveryChannelNames");
    let region_path = format!("/{}/", ctx.region);
    let found = all(&mut db, &ctx.principal.account_id, CHANNEL, &region_path).await?;
    if let Some(missing) = names.iter().find(|n| !found.iter().any(|e| &e.name == *n)) {
        return Err(ConfigError::NoSuchDeliveryChannelException(format!(
            "Cannot find delivery channel with specified name '{missing}'."
        )));
    }
    let mut out = Vec::new();
    for e in found
        .iter()
        .filter(|e| names.is_empty() || names.contains(&e.name))
    {
        let (_, doc) = state(&mut db, &channel_of(e)).await?;
        out.push(json!({
            "name": e.name,
            "configSnapshotDeliveryInfo": info_json(&doc.snapshot),
            "configHistoryDeliveryInfo": info_json(&doc.history),
            "configStreamDeliveryInfo": {
                "lastStatus": "Not_Applicable",
                "lastStatusChangeTime": epoch(e.created_at),
            },
        }));
    }
    Ok(json!({ "DeliveryChannelsStatus": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_are_aws_names() {
        assert_eq!(frequency("Three_Hours"), Some(Duration::hours(3)));
        assert_eq!(frequency("Weekly"), None);
    }
}
