//! The export of findings to publishing destinations: what is due for a destination (its
//! first export about five minutes after it is set, then one every `FindingPublishingFrequency`
//! of its detector), the object that carries it, and the destination's state after a write
//! or a refusal. The server's `guardduty-export` job (`crates/server/src/jobs/guardduty_export.rs`)
//! writes the object through S3's own `PutObject` as `guardduty.amazonaws.com`.
//!
//! An object holds the findings of the detector created or updated since the last export
//! (archived ones left out, as GuardDuty leaves suppressed findings out), one JSON finding a
//! line in the shape of GuardDuty's finding events, gzip-compressed, at
//! `PREFIX/AWSLogs/ACCOUNT/GuardDuty/REGION/YYYY/MM/DD/UUID.jsonl.gz`.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use serde_json::Value;

use crate::{
    destinations::{
        Destination, DestinationDoc, DESTINATION, DESTINATION_INDEX, PUBLISHING, SYSTEM_ACCOUNT,
        UNABLE,
    },
    finding::{camel_case, publishing_period},
    model::{self, Detector},
};

/// Time from a destination's creation to its first export (AWS: "within about 5 minutes").
pub fn first_export_delay() -> chrono::Duration {
    chrono::Duration::minutes(5)
}

/// The GuardDuty service principal that writes the objects.
pub const SERVICE_PRINCIPAL: &str = "guardduty.amazonaws.com";

/// Every destination the job visits, as (account, destination id).
pub async fn indexed(db: &mut Db<'_>) -> Result<Vec<(String, String)>, ServiceError> {
    Ok(entity::all(db, SYSTEM_ACCOUNT, DESTINATION_INDEX, "/")
        .await?
        .into_iter()
        .filter_map(|e| {
            let (account, id) = e.name_key.split_once('/')?;
            Some((account.to_string(), id.to_string()))
        })
        .collect())
}

/// An export that is due.
#[derive(Debug, Clone)]
pub struct Due {
    /// The destination.
    pub destination: Destination,
    /// Its detector.
    pub detector: Detector,
    /// The bucket to write to.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The findings, one JSON document a line (empty when nothing changed).
    pub body: Vec<u8>,
    /// The latest `UpdatedAt` exported.
    pub until: Option<DateTime<Utc>>,
}

/// When the destination's next export is due.
fn next_at(dest: &Destination, d: &Detector) -> DateTime<Utc> {
    match dest.doc.last_export {
        None => dest.entity.created_at + first_export_delay(),
        Some(last) => last + publishing_period(&d.doc.publishing_frequency),
    }
}

fn updated_at(doc: &Value) -> Option<DateTime<Utc>> {
    let t = doc.get("UpdatedAt")?.as_str()?;
    Some(DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc))
}

fn archived(doc: &Value) -> bool {
    doc.pointer("/Service/Archived")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The object key of an export at `now`.
pub fn object_key(prefix: &str, account: &str, region: &str, now: DateTime<Utc>) -> String {
    let lead = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    format!(
        "{lead}AWSLogs/{account}/GuardDuty/{region}/{}/{}.jsonl.gz",
        now.format("%Y/%m/%d"),
        uuid::Uuid::new_v4()
    )
}

/// The export due for destination `id` of `account` at `now`, if one is.
pub async fn due(
    db: &mut Db<'_>,
    account: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Due>, ServiceError> {
    let Some((entity, doc)) =
        entity::load_doc::<DestinationDoc>(db, account, DESTINATION, id).await?
    else {
        return Ok(None);
    };
    let destination = Destination { entity, doc };
    let detector = model::detector_in(db, account, &destination.doc.region).await?;
    let Some(detector) = detector.filter(|d| d.id() == destination.doc.detector_id) else {
        return Ok(None);
    };
    if !detector.doc.enabled || next_at(&destination, &detector) > now {
        return Ok(None);
    }
    let since = destination.doc.exported_until;
    let mut body = Vec::new();
    let mut until = since;
    for f in model::findings(db, account, detector.id()).await? {
        let at = updated_at(&f.doc);
        if archived(&f.doc) || at.is_none() || (since.is_some() && at <= since) {
            continue;
        }
        until = until.max(at);
        body.extend(entity::to_text(&camel_case(&f.doc))?.into_bytes());
        body.push(b'\n');
    }
    let (bucket, prefix) = destination.bucket_and_prefix();
    let key = object_key(&prefix, account, &destination.doc.region, now);
    Ok(Some(Due {
        destination,
        detector,
        bucket,
        key,
        body,
        until,
    }))
}

/// Notes a round of `due` done at `now`: `written` when its object was written.
pub async fn exported(
    db: &mut Db<'_>,
    due: &Due,
    written: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut doc = due.destination.doc.clone();
    doc.last_export = Some(now);
    doc.exported_until = due.until;
    if written {
        doc.status = PUBLISHING.into();
        doc.failure_start = None;
    }
    entity::save_doc(db, due.destination.entity.clone(), &doc, now).await
}

/// Notes a refused write of `due` at `now`; the next round tries again.
pub async fn failed(db: &mut Db<'_>, due: &Due, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let mut doc = due.destination.doc.clone();
    doc.last_export = Some(now);
    doc.status = UNABLE.into();
    doc.failure_start = doc.failure_start.or(Some(now));
    entity::save_doc(db, due.destination.entity.clone(), &doc, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_follow_guardduty_layout() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 4, 5, 6, 7)
            .single()
            .unwrap_or_default();
        let k = object_key("gd", "111122223333", "us-east-1", now);
        assert!(k.starts_with("gd/AWSLogs/111122223333/GuardDuty/us-east-1/2026/03/04/"));
        assert!(k.ends_with(".jsonl.gz"));
        let k = object_key("", "111122223333", "eu-west-1", now);
        assert!(k.starts_with("AWSLogs/111122223333/GuardDuty/eu-west-1/2026/03/04/"));
    }
}
