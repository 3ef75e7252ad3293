//! Publishing destinations: where a detector's findings are exported (an S3 bucket, with
//! an optional key prefix, and the KMS key the objects are encrypted with). A detector has
//! at most one, as AWS's quota. The export itself is [`crate::export`].

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext, db::Db, entity, error::ServiceError, input::opt_str, Partition,
};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    detectors::listed,
    error::GuardDutyError,
    model::{self, Detector},
    tags,
};

/// The entity kind of a publishing destination (keyed by its id, under its detector).
pub const DESTINATION: &str = "guardduty:publishingdestination";
/// The entity kind of the index of destinations the export job visits (in
/// [`SYSTEM_ACCOUNT`], keyed `ACCOUNT/DESTINATION_ID`, named after the owning account).
pub const DESTINATION_INDEX: &str = "guardduty:publishingdestination-index";
/// The account that holds GuardDuty's own index entities.
pub const SYSTEM_ACCOUNT: &str = "guardduty";
/// Destinations a detector may have.
pub const MAX_DESTINATIONS: usize = 1;

/// `PENDING_VERIFICATION`: no export has been tried since the properties were set.
pub const PENDING: &str = "PENDING_VERIFICATION";
/// `PUBLISHING`: the last export succeeded.
pub const PUBLISHING: &str = "PUBLISHING";
/// `UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY`: the last export was refused.
pub const UNABLE: &str = "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY";
/// `STOPPED`: the detector is disabled.
pub const STOPPED: &str = "STOPPED";

/// A publishing destination as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DestinationDoc {
    /// The detector it belongs to.
    pub detector_id: String,
    /// The region of the detector.
    pub region: String,
    /// `DestinationType` (`S3`).
    pub destination_type: String,
    /// `DestinationArn`: `arn:PARTITION:s3:::bucket` or `arn:PARTITION:s3:::bucket/prefix`.
    pub destination_arn: String,
    /// `KmsKeyArn`.
    pub kms_key_arn: String,
    /// The status the last export attempt left.
    pub status: String,
    /// When exports started failing (cleared by a success).
    #[serde(default)]
    pub failure_start: Option<DateTime<Utc>>,
    /// When the last export round ran (none before the first).
    #[serde(default)]
    pub last_export: Option<DateTime<Utc>>,
    /// Findings updated at or before this time have been exported.
    #[serde(default)]
    pub exported_until: Option<DateTime<Utc>>,
    /// Tags.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// A destination as loaded.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The stored entity (its name key is the destination id).
    pub entity: Entity,
    /// The destination.
    pub doc: DestinationDoc,
}

impl Destination {
    /// The bucket and the key prefix (without slashes at its ends) of the destination.
    pub fn bucket_and_prefix(&self) -> (String, String) {
        let arn = &self.doc.destination_arn;
        Partition::of_arn(arn)
            .and_then(|p| split_arn(arn, p))
            .unwrap_or_default()
    }
}

/// The bucket and prefix of an S3 destination ARN of `partition`.
fn split_arn(arn: &str, partition: Partition) -> Option<(String, String)> {
    let rest = partition.strip_arn(arn, "s3")?.strip_prefix("::")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

fn bad(message: &str) -> ServiceError {
    GuardDutyError::BadRequestException(format!("The request is rejected because {message}")).into()
}

/// The `DestinationProperties` of an input, checked: an S3 ARN and a KMS key ARN, both of
/// the call's partition.
fn properties(input: &Value, partition: Partition) -> Result<(String, String), ServiceError> {
    let props = input
        .get("DestinationProperties")
        .ok_or_else(|| bad("the input destinationProperties is missing."))?;
    let arn = opt_str(props, "DestinationArn").unwrap_or_default();
    if split_arn(arn, partition).is_none() {
        return Err(bad(
            "the input destinationArn is not a valid S3 bucket ARN.",
        ));
    }
    let key = opt_str(props, "KmsKeyArn").unwrap_or_default();
    let is_key = partition
        .strip_arn(key, "kms")
        .is_some_and(|rest| rest.contains(":key/"));
    if !is_key {
        return Err(bad("the input kmsKeyArn is not a valid KMS key ARN."));
    }
    Ok((arn.to_string(), key.to_string()))
}

/// The destination an input names under the caller's detector.
async fn find(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> Result<(Detector, Destination), ServiceError> {
    let d = model::detector(db, ctx, opt_str(input, "DetectorId").unwrap_or_default()).await?;
    let id = opt_str(input, "DestinationId").unwrap_or_default();
    let (entity, doc) = entity::load_doc::<DestinationDoc>(db, d.account(), DESTINATION, id)
        .await?
        .filter(|(e, _)| e.path == model::under(d.id()))
        .ok_or_else(|| bad("the input destinationId is not owned by the current account."))?;
    Ok((d, Destination { entity, doc }))
}

/// Every destination of a detector.
pub async fn of_detector(
    db: &mut Db<'_>,
    account: &str,
    detector_id: &str,
) -> Result<Vec<Destination>, ServiceError> {
    let mut out = Vec::new();
    for entity in model::all_under(db, account, DESTINATION, detector_id).await? {
        let doc = entity::read_doc(&entity)?;
        out.push(Destination { entity, doc });
    }
    Ok(out)
}

/// `CreatePublishingDestination`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let d = model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    if opt_str(input, "DestinationType") != Some("S3") {
        return Err(bad("the input destinationType is not S3."));
    }
    let (arn, key) = properties(input, ctx.partition())?;
    let existing = of_detector(&mut db, d.account(), d.id()).await?;
    if existing.len() >= MAX_DESTINATIONS {
        return Err(bad(
            "the current account cannot create more than 1 publishing destinations for a detector.",
        ));
    }
    let doc = DestinationDoc {
        detector_id: d.id().to_string(),
        region: d.doc.region.clone(),
        destination_type: "S3".into(),
        destination_arn: arn,
        kms_key_arn: key,
        status: PENDING.into(),
        tags: tags::parse(input.get("Tags"))?,
        ..DestinationDoc::default()
    };
    let id = model::new_id();
    let mut e = Entity {
        account_id: d.account().to_string(),
        kind: DESTINATION.into(),
        name: id.clone(),
        name_key: id.clone(),
        id: format!("{DESTINATION}-{id}"),
        path: model::under(d.id()),
        arn: format!("{}/publishingDestination/{id}", d.entity.arn),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    db.entities().create(&index_entry(&e, ctx.now)).await?;
    Ok(json!({ "DestinationId": id }))
}

/// The export job's index entry of a destination entity.
fn index_entry(e: &Entity, now: DateTime<Utc>) -> Entity {
    let key = format!("{}/{}", e.account_id, e.name_key);
    Entity {
        account_id: SYSTEM_ACCOUNT.into(),
        kind: DESTINATION_INDEX.into(),
        name: e.account_id.clone(),
        name_key: key.clone(),
        id: format!("{DESTINATION_INDEX}-{key}"),
        path: "/".into(),
        arn: String::new(),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    }
}

/// The status `DescribePublishingDestination` shows: `STOPPED` while the detector is
/// disabled, else the one the last export left.
fn shown_status(d: &Detector, dest: &Destination) -> String {
    if d.doc.enabled {
        dest.doc.status.clone()
    } else {
        STOPPED.into()
    }
}

/// `DescribePublishingDestination`.
pub async fn describe(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (d, dest) = find(&mut db, ctx, input).await?;
    let failure = dest
        .doc
        .failure_start
        .map(|t| t.timestamp_millis())
        .unwrap_or(0);
    Ok(json!({
        "DestinationId": dest.entity.name_key,
        "DestinationType": dest.doc.destination_type,
        "Status": shown_status(&d, &dest),
        "PublishingFailureStartTimestamp": failure,
        "DestinationProperties": {
            "DestinationArn": dest.doc.destination_arn,
            "KmsKeyArn": dest.doc.kms_key_arn,
        },
        "Tags": dest.doc.tags,
    }))
}

/// `UpdatePublishingDestination`: new properties are verified again by the next export.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, mut dest) = find(&mut db, ctx, input).await?;
    if input.get("DestinationProperties").is_some() {
        let (arn, key) = properties(input, ctx.partition())?;
        dest.doc.destination_arn = arn;
        dest.doc.kms_key_arn = key;
        dest.doc.status = PENDING.into();
        dest.doc.failure_start = None;
    }
    entity::save_doc(&mut db, dest.entity, &dest.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DeletePublishingDestination`.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, dest) = find(&mut db, ctx, input).await?;
    remove(&mut db, &dest.entity).await?;
    Ok(json!({}))
}

/// Deletes a destination and its index entry.
pub async fn remove(db: &mut Db<'_>, e: &Entity) -> Result<(), ServiceError> {
    let key = format!("{}/{}", e.account_id, e.name_key);
    db.entities()
        .delete(SYSTEM_ACCOUNT, DESTINATION_INDEX, &key)
        .await?;
    db.entities()
        .delete(&e.account_id, DESTINATION, &e.name_key)
        .await?;
    Ok(())
}

/// `ListPublishingDestinations`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let d = model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let items: Vec<Value> = of_detector(&mut db, d.account(), d.id())
        .await?
        .iter()
        .map(|dest| {
            json!({
                "DestinationId": dest.entity.name_key,
                "DestinationType": dest.doc.destination_type,
                "Status": shown_status(&d, dest),
            })
        })
        .collect();
    Ok(listed("Destinations", input, items)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_arns_split_into_bucket_and_prefix() {
        assert_eq!(
            split_arn("arn:aws:s3:::b", Partition::Aws),
            Some(("b".into(), String::new()))
        );
        assert_eq!(
            split_arn("arn:aws:s3:::b/gd/out/", Partition::Aws),
            Some(("b".into(), "gd/out".into()))
        );
        assert_eq!(split_arn("arn:aws:s3:::", Partition::Aws), None);
        assert_eq!(split_arn("arn:aws:sqs:us-east-1:1:q", Partition::Aws), None);
        assert_eq!(
            split_arn("arn:aws-cn:s3:::b/p", Partition::AwsCn),
            Some(("b".into(), "p".into()))
        );
        assert_eq!(split_arn("arn:aws-cn:s3:::b", Partition::Aws), None);
    }

    #[test]
    fn properties_need_a_bucket_and_a_key() {
        let ok = json!({"DestinationProperties": {"DestinationArn": "arn:aws:s3:::b",
            "KmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/k"}});
        assert!(properties(&ok, Partition::Aws).is_ok());
        assert!(properties(&ok, Partition::AwsCn).is_err());
        let no_key = json!({"DestinationProperties": {"DestinationArn": "arn:aws:s3:::b"}});
        assert!(properties(&no_key, Partition::Aws).is_err());
        assert!(properties(&json!({}), Partition::Aws).is_err());
    }
}
