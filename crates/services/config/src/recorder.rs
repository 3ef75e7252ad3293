//! Configuration recorders and delivery channels: AWS allows one of each per account and
//! region. Starting a recorder records every existing resource it covers (`ResourceDiscovered`
//! items) and from then on every change the store logs.

use chrono::{DateTime, Utc};
use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::build::{doc_of, RECORDED};
use crate::common::strings;
use crate::error::{ConfigError, ConfigResult};
use crate::evaluate;
use crate::model::{epoch, RecorderDoc, CHANNEL, RECORDER};
use crate::sync;

fn key(ctx: &CallContext, name: &str) -> String {
    format!("{}/{name}", ctx.region)
}

fn region_path(ctx: &CallContext) -> String {
    format!("/{}/", ctx.region)
}

async fn all(db: &mut Db<'_>, ctx: &CallContext, kind: &str) -> ConfigResult<Vec<Entity>> {
    let account = &ctx.principal.account_id;
    Ok(db
        .entities()
        .list(account, kind, &region_path(ctx), None, 100)
        .await?
        .items)
}

fn no_recorder(name: &str) -> ConfigError {
    ConfigError::NoSuchConfigurationRecorderException(format!(
        "Cannot find configuration recorder with the specified name '{name}'."
    ))
}

fn no_channel(name: &str) -> ConfigError {
    ConfigError::NoSuchDeliveryChannelException(format!(
        "Cannot find delivery channel with specified name '{name}'."
    ))
}

fn recorder_arn(ctx: &CallContext, name: &str) -> String {
    ctx.partition().arn(
        "config",
        &ctx.region,
        &ctx.principal.account_id,
        &format!("configuration-recorder/{name}"),
    )
}

/// The recording group's problems, as AWS refuses them.
fn check_group(group: &Value) -> ConfigResult<()> {
    let all_supported = group
        .get("allSupported")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let global = group
        .get("includeGlobalResourceTypes")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let types = group
        .get("resourceTypes")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let bad = if all_supported {
        types > 0
    } else {
        global || (types == 0 && group.get("exclusionByResourceTypes").is_none())
    };
    if bad {
        return Err(ConfigError::InvalidRecordingGroupException(
            "The recording group provided is not valid".into(),
        ));
    }
    Ok(())
}

/// `PutConfigurationRecorder`: creates or updates the region's one recorder.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let rec = input
        .get("ConfigurationRecorder")
        .cloned()
        .unwrap_or(Value::Null);
    let name = rec.get("name").and_then(Value::as_str).unwrap_or("default");
    if name.trim().is_empty() {
        return Err(ConfigError::InvalidConfigurationRecorderNameException(
            "The configuration recorder name cannot be empty.".into(),
        ));
    }
    let role = rec
        .get("roleARN")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let in_partition = ctx.partition().strip_iam_arn(role);
    if !in_partition.is_some_and(|rest| rest.contains(":role/")) {
        return Err(ConfigError::InvalidRoleException(
            "The role ARN provided is not valid.".into(),
        ));
    }
    let group = rec
        .get("recordingGroup")
        .cloned()
        .unwrap_or_else(|| json!({ "allSupported": true, "includeGlobalResourceTypes": false }));
    check_group(&group)?;
    let account = ctx.principal.account_id.clone();
    let existing = all(&mut db, ctx, RECORDER).await?;
    let mine = existing.iter().find(|e| e.name == name).cloned();
    if mine.is_none() && !existing.is_empty() {
        return Err(ConfigError::MaxNumberOfConfigurationRecordersExceededException(format!(
            "Failed to put configuration recorder '{name}' because the maximum number of configuration recorders: 1 is reached."
        )));
    }
    sync::catch_up_in(&mut db, ctx.now).await?;
    match mine {
        Some(mut e) => {
            let mut doc: RecorderDoc = doc_of(&e)?;
            doc.role_arn = role.to_string();
            doc.recording_group = group;
            doc.recording_mode = rec.get("recordingMode").cloned();
            e.doc = to_text(&doc)?;
            e.updated_at = ctx.now;
            let k = e.name_key.clone();
            db.entities().update(&k, &e).await?;
        }
        None => {
            let doc = RecorderDoc {
                role_arn: role.to_string(),
                recording_group: group,
                recording_mode: rec.get("recordingMode").cloned(),
                ..RecorderDoc::default()
            };
            db.entities()
                .create(&Entity {
                    account_id: account.clone(),
                    kind: RECORDER.into(),
                    name: name.to_string(),
                    name_key: key(ctx, name),
                    id: format!("config-recorder/{account}/{}", key(ctx, name)),
                    path: region_path(ctx),
                    arn: recorder_arn(ctx, name),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                    doc: to_text(&doc)?,
                })
                .await?;
        }
    }
    Ok(json!({}))
}

/// The named recorders (all when `names` is empty), each missing one refused.
async fn named(
    db: &mut Db<'_>,
    ctx: &CallContext,
    names: &[String],
) -> ConfigResult<Vec<(Entity, RecorderDoc)>> {
    let found = all(db, ctx, RECORDER).await?;
    for n in names {
        if !found.iter().any(|e| &e.name == n) {
            return Err(no_recorder(n));
        }
    }
    let mut out = Vec::new();
    for e in found {
        if names.is_empty() || names.contains(&e.name) {
            let doc = doc_of(&e)?;
            out.push((e, doc));
        }
    }
    Ok(out)
}

/// `DescribeConfigurationRecorders`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let names = strings(input, "ConfigurationRecorderNames");
    let recs: Vec<Value> = named(&mut db, ctx, &names)
        .await?
        .into_iter()
        .map(|(e, d)| {
            let mut v = json!({
                "arn": e.arn,
                "name": e.name,
                "roleARN": d.role_arn,
                "recordingGroup": d.recording_group,
            });
            if let Some(m) = d.recording_mode {
                crate::common::set(&mut v, "recordingMode", m);
            }
            v
        })
        .collect();
    Ok(json!({ "ConfigurationRecorders": recs }))
}

fn opt_epoch(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, epoch)
}

/// `DescribeConfigurationRecorderStatus`.
pub async fn status(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let names = strings(input, "ConfigurationRecorderNames");
    let out: Vec<Value> = named(&mut db, ctx, &names)
        .await?
        .into_iter()
        .map(|(e, d)| {
            let mut v = json!({
                "arn": e.arn,
                "name": e.name,
                "recording": d.recording,
            });
            if d.last_start.is_some() {
                crate::common::set(&mut v, "lastStartTime", opt_epoch(d.last_start));
                crate::common::set(&mut v, "lastStatus", json!("SUCCESS"));
                crate::common::set(
                    &mut v,
                    "lastStatusChangeTime",
                    opt_epoch(d.last_status_change),
                );
            }
            if d.last_stop.is_some() {
                crate::common::set(&mut v, "lastStopTime", opt_epoch(d.last_stop));
            }
            v
        })
        .collect();
    Ok(json!({ "ConfigurationRecordersStatus": out }))
}

async fn one(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> ConfigResult<(Entity, RecorderDoc)> {
    let name = input
        .get("ConfigurationRecorderName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let e = db
        .entities()
        .get(&ctx.principal.account_id, RECORDER, &key(ctx, name))
        .await?
        .ok_or_else(|| no_recorder(name))?;
    let doc = doc_of(&e)?;
    Ok((e, doc))
}

async fn save(
    db: &mut Db<'_>,
    mut e: Entity,
    doc: &RecorderDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    e.doc = to_text(doc)?;
    e.updated_at = now;
    let k = e.name_key.clone();
    db.entities().update(&k, &e).await?;
    Ok(())
}

/// `StartConfigurationRecorder`: needs a delivery channel; records every existing resource.
pub async fn start(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let (e, mut doc) = one(&mut db, ctx, input).await?;
    if all(&mut db, ctx, CHANNEL).await?.is_empty() {
        return Err(ConfigError::NoAvailableDeliveryChannelException(
            "Delivery channel is not available to start configuration recorder.".into(),
        ));
    }
    // Changes made while nothing recorded are passed over, then the baseline is taken.
    sync::catch_up_in(&mut db, ctx.now).await?;
    let was = doc.recording;
    doc.recording = true;
    doc.last_start = Some(ctx.now);
    doc.last_status_change = Some(ctx.now);
    save(&mut db, e, &doc, ctx.now).await?;
    sync::set_recording(&mut db, &ctx.principal.account_id, true, ctx.now).await?;
    if !was {
        let account = ctx.principal.account_id.clone();
        for (kind, _) in RECORDED {
            sync::record_family(&mut db, &account, kind, ctx.now).await?;
        }
        evaluate::on_account(&mut db, &account, ctx.now).await?;
    }
    Ok(json!({}))
}

/// `StopConfigurationRecorder`: changes already made are recorded first.
pub async fn stop(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let (e, mut doc) = one(&mut db, ctx, input).await?;
    sync::catch_up_in(&mut db, ctx.now).await?;
    doc.recording = false;
    doc.last_stop = Some(ctx.now);
    doc.last_status_change = Some(ctx.now);
    save(&mut db, e, &doc, ctx.now).await?;
    sync::set_recording(&mut db, &ctx.principal.account_id, false, ctx.now).await?;
    Ok(json!({}))
}

/// `DeleteConfigurationRecorder`: the recorded history stays.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let (e, _) = one(&mut db, ctx, input).await?;
    sync::catch_up_in(&mut db, ctx.now).await?;
    db.entities()
        .delete(&e.account_id, RECORDER, &e.name_key)
        .await?;
    sync::set_recording(&mut db, &ctx.principal.account_id, false, ctx.now).await?;
    Ok(json!({}))
}

/// `PutDeliveryChannel`: the bucket must exist in Rampart's S3.
pub async fn put_channel(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let ch = input.get("DeliveryChannel").cloned().unwrap_or(Value::Null);
    let name = ch.get("name").and_then(Value::as_str).unwrap_or("default");
    if name.trim().is_empty() {
        return Err(ConfigError::InvalidDeliveryChannelNameException(
            "The delivery channel name cannot be empty.".into(),
        ));
    }
    let bucket = ch
        .get("s3BucketName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if bucket.is_empty() {
        return Err(ConfigError::NoSuchBucketException(
            "Cannot find a S3 bucket with an empty bucket name.".into(),
        ));
    }
    let found = rampart_s3::repo::find_bucket(&mut db, bucket)
        .await
        .map_err(|_| ConfigError::internal())?;
    if found.is_none() {
        return Err(ConfigError::NoSuchBucketException(format!(
            "Cannot find a S3 bucket with the name '{bucket}'."
        )));
    }
    if let Some(prefix) = ch.get("s3KeyPrefix").and_then(Value::as_str) {
        if prefix.contains("AWSLogs") || prefix.starts_with('/') {
            return Err(ConfigError::InvalidS3KeyPrefixException(
                "The s3 key prefix is not valid.".into(),
            ));
        }
    }
    let account = ctx.principal.account_id.clone();
    let existing = all(&mut db, ctx, CHANNEL).await?;
    let mine = existing.iter().find(|e| e.name == name).cloned();
    if mine.is_none() && !existing.is_empty() {
        return Err(ConfigError::MaxNumberOfDeliveryChannelsExceededException(format!(
            "Failed to put delivery channel '{name}' because the maximum number of delivery channels: 1 is reached."
        )));
    }
    let mut stored = ch.clone();
    crate::common::set(&mut stored, "name", json!(name));
    match mine {
        Some(mut e) => {
            e.doc = stored.to_string();
            e.updated_at = ctx.now;
            let k = e.name_key.clone();
            db.entities().update(&k, &e).await?;
        }
        None => {
            db.entities()
                .create(&Entity {
                    account_id: account.clone(),
                    kind: CHANNEL.into(),
                    name: name.to_string(),
                    name_key: key(ctx, name),
                    id: format!("config-channel/{account}/{}", key(ctx, name)),
                    path: region_path(ctx),
                    arn: String::new(),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                    doc: stored.to_string(),
                })
                .await?;
        }
    }
    Ok(json!({}))
}

/// `DescribeDeliveryChannels`.
pub async fn describe_channels(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let names = strings(input, "DeliveryChannelNames");
    let found = all(&mut db, ctx, CHANNEL).await?;
    for n in &names {
        if !found.iter().any(|e| &e.name == n) {
            return Err(no_channel(n));
        }
    }
    let out: Vec<Value> = found
        .iter()
        .filter(|e| names.is_empty() || names.contains(&e.name))
        .map(|e| serde_json::from_str(&e.doc).unwrap_or(Value::Null))
        .collect();
    Ok(json!({ "DeliveryChannels": out }))
}

/// `DeleteDeliveryChannel`: refused while a recorder runs.
pub async fn delete_channel(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let name = input
        .get("DeliveryChannelName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let account = ctx.principal.account_id.clone();
    if db
        .entities()
        .get(&account, CHANNEL, &key(ctx, name))
        .await?
        .is_none()
    {
        return Err(no_channel(name));
    }
    for e in all(&mut db, ctx, RECORDER).await? {
        let doc: RecorderDoc = doc_of(&e)?;
        if doc.recording {
            return Err(ConfigError::LastDeliveryChannelDeleteFailedException(format!(
                "Failed to delete last specified delivery channel with name '{name}', because there is a running configuration recorder."
            )));
        }
    }
    db.entities()
        .delete(&account, CHANNEL, &key(ctx, name))
        .await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::check_group;
    use serde_json::json;

    #[test]
    fn recording_groups_are_checked_as_aws_does() {
        assert!(
            check_group(&json!({"allSupported": true, "includeGlobalResourceTypes": true})).is_ok()
        );
        assert!(
            check_group(&json!({"allSupported": true, "resourceTypes": ["AWS::S3::Bucket"]}))
                .is_err()
        );
        assert!(
            check_group(&json!({"allSupported": false, "resourceTypes": ["AWS::S3::Bucket"]}))
                .is_ok()
        );
        assert!(check_group(&json!({"allSupported": false, "includeGlobalResourceTypes": true, "resourceTypes": ["AWS::IAM::User"]})).is_err());
        assert!(check_group(&json!({"allSupported": false})).is_err());
    }
}
