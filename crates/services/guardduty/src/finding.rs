//! Findings: an observation of the detection rules becomes a finding in AWS's schema
//! (`SchemaVersion` 2.0), and a repeat of the same activity updates that finding.
//!
//! The same-finding key is the detector, the finding type, the affected resource (the bucket
//! or trail the call acted on, else the caller's access key) and the principal (the caller's
//! ARN). The finding id is derived from the key (the first 32 hex digits of its SHA-256), so
//! a repeat finds the stored finding by id: its `Service.Count` grows by one,
//! `Service.EventLastSeen` and `UpdatedAt` move to the new event, and its action details are
//! the latest occurrence's. An archived finding stays archived when it is updated, as
//! GuardDuty does. [`record`] is the one place a finding is created or updated. A new
//! finding or a repeat that matches one of the detector's `ARCHIVE` filters (suppression
//! rules, `filters`) is stored archived and not published to EventBridge, as AWS suppresses.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde_json::{json, Map, Value};

use crate::{
    filters,
    model::{self, Detector, FINDING},
};

/// GuardDuty's finding schema version.
pub const SCHEMA_VERSION: &str = "2.0";

/// The severity of a finding type's level: GuardDuty's Low (1.0-3.9), Medium (4.0-6.9) and
/// High (7.0-8.9) bands, at the value GuardDuty gives its findings of that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Level {
    /// The numeric severity.
    pub fn severity(self) -> f64 {
        match self {
            Level::Low => 2.0,
            Level::Medium => 5.0,
            Level::High => 8.0,
        }
    }
}

/// What a detection rule saw once: a finding's content before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The finding type (`Policy:IAMUser/RootCredentialUsage`, ...).
    pub finding_type: String,
    /// The severity.
    pub severity: f64,
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `Resource` (AWS member names).
    pub resource: Value,
    /// What the resource part of the same-finding key names (a bucket or trail ARN, or the
    /// access key id).
    pub resource_key: String,
    /// The principal part of the same-finding key (the caller's ARN).
    pub principal: String,
    /// `Service.Action`.
    pub action: Value,
    /// When the activity happened.
    pub event_time: DateTime<Utc>,
    /// `Service.AdditionalInfo`, when the rule has any.
    pub additional_info: Option<Value>,
    /// `Service.Detection` (the anomaly against a baseline), when the rule has one.
    pub detection: Option<Value>,
}

/// GuardDuty's timestamp text (`2026-12-06T15:05:24.123Z`).
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The finding id of an observation under a detector: derived from the same-finding key.
pub fn finding_id(detector_id: &str, o: &Observation) -> String {
    let key = [
        detector_id,
        o.finding_type.as_str(),
        o.resource_key.as_str(),
        o.principal.as_str(),
    ]
    .join("\n");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    hex::encode(digest.as_ref().get(..16).unwrap_or_default())
}

/// A new finding of `detector` with id `id` from `o`, recorded at `now`.
pub fn new_finding(detector: &Detector, id: &str, o: &Observation, now: DateTime<Utc>) -> Value {
    let mut service = Map::new();
    service.insert("Action".into(), o.action.clone());
    service.insert("Archived".into(), json!(false));
    service.insert("Count".into(), json!(1));
    service.insert("DetectorId".into(), json!(detector.id()));
    service.insert("EventFirstSeen".into(), json!(time_text(o.event_time)));
    service.insert("EventLastSeen".into(), json!(time_text(o.event_time)));
    service.insert("ResourceRole".into(), json!("TARGET"));
    service.insert("ServiceName".into(), json!("guardduty"));
    if let Some(info) = &o.additional_info {
        service.insert("AdditionalInfo".into(), info.clone());
    }
    if let Some(detection) = &o.detection {
        service.insert("Detection".into(), detection.clone());
    }
    json!({
        "AccountId": detector.account(),
        "Arn": format!("{}/finding/{id}", detector.entity.arn),
        "CreatedAt": time_text(now),
        "Description": o.description,
        "Id": id,
        "Partition": "aws",
        "Region": detector.doc.region,
        "Resource": o.resource,
        "SchemaVersion": SCHEMA_VERSION,
        "Service": Value::Object(service),
        "Severity": o.severity,
        "Title": o.title,
        "Type": o.finding_type,
        "UpdatedAt": time_text(now),
    })
}

/// `finding` updated by a repeat `o` at `now`: one more occurrence, the latest details.
pub fn repeat(finding: &mut Value, o: &Observation, now: DateTime<Utc>) {
    let Some(obj) = finding.as_object_mut() else {
        return;
    };
    obj.insert("UpdatedAt".into(), json!(time_text(now)));
    obj.insert("Resource".into(), o.resource.clone());
    if let Some(service) = obj.get_mut("Service").and_then(Value::as_object_mut) {
        let count = service.get("Count").and_then(Value::as_i64).unwrap_or(0);
        service.insert("Count".into(), json!(count.saturating_add(1)));
        let later = service
            .get("EventLastSeen")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .is_none_or(|last| o.event_time >= last);
        if later {
            service.insert("EventLastSeen".into(), json!(time_text(o.event_time)));
            service.insert("Action".into(), o.action.clone());
        }
    }
}

/// Creates or updates (a repeat) the finding of `o` under `detector`, in `db` (the detection
/// batch's transaction or a `CreateSampleFindings` call's). Every finding GuardDuty creates or
/// updates passes here: a publisher of findings (EventBridge) is called here with the
/// finding returned.
pub async fn record(
    db: &mut Db<'_>,
    detector: &Detector,
    o: &Observation,
    now: DateTime<Utc>,
) -> Result<Value, ServiceError> {
    let id = finding_id(detector.id(), o);
    save(db, detector, &id, o, now).await
}

/// Creates the finding `id` from `o`, or updates the stored one.
pub async fn save(
    db: &mut Db<'_>,
    detector: &Detector,
    id: &str,
    o: &Observation,
    now: DateTime<Utc>,
) -> Result<Value, ServiceError> {
    let account = detector.account().to_string();
    if let Some(e) = entity::find(db, &account, FINDING, id).await? {
        let mut doc: Value = entity::read_doc(&e)?;
        let quiet_since = doc
            .get("UpdatedAt")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| now.signed_duration_since(t));
        repeat(&mut doc, o, now);
        let suppressed = filters::suppressed(db, detector, &doc).await?;
        if suppressed {
            archive(&mut doc);
        }
        entity::save_doc(db, e, &doc, now).await?;
        let period = publishing_period(&detector.doc.publishing_frequency);
        if !suppressed && quiet_since.is_none_or(|quiet| quiet >= period) {
            publish(db, detector, &doc, now).await?;
        }
        return Ok(doc);
    }
    let mut doc = new_finding(detector, id, o, now);
    let suppressed = filters::suppressed(db, detector, &doc).await?;
    if suppressed {
        archive(&mut doc);
    }
    let mut e = Entity {
        account_id: account,
        kind: FINDING.into(),
        name: id.to_string(),
        name_key: id.to_string(),
        id: format!("guardduty-finding-{id}"),
        path: model::under(detector.id()),
        arn: format!("{}/finding/{id}", detector.entity.arn),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &doc, now)?;
    db.entities().create(&e).await?;
    if !suppressed {
        publish(db, detector, &doc, now).await?;
    }
    Ok(doc)
}

/// Marks a finding archived (`Service.Archived`), as a suppression rule stores it.
fn archive(finding: &mut Value) {
    if let Some(service) = finding.get_mut("Service").and_then(Value::as_object_mut) {
        service.insert("Archived".into(), json!(true));
    }
}

/// How often repeats of a finding reach EventBridge (`FindingPublishingFrequency`).
pub(crate) fn publishing_period(frequency: &str) -> chrono::Duration {
    match frequency {
        "FIFTEEN_MINUTES" => chrono::Duration::minutes(15),
        "ONE_HOUR" => chrono::Duration::hours(1),
        _ => chrono::Duration::hours(6),
    }
}

/// The finding as events carry it: the API's shape with each member name in camelCase
/// (`Severity` is `severity`, `Service.Action` is `service.action`), as AWS's finding events.
pub(crate) fn camel_case(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut name = k.clone();
                    if let Some(first) = name.get(..1) {
                        let lower = first.to_ascii_lowercase();
                        name.replace_range(..1, &lower);
                    }
                    (name, camel_case(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel_case).collect()),
        other => other.clone(),
    }
}

/// Puts a finding on the account's default event bus as AWS's `GuardDuty Finding` event
/// (`source: aws.guardduty`, the finding in camelCase as `detail`), in the transaction that saved it: a new
/// finding at once, a repeat once `FindingPublishingFrequency` has passed since the finding's
/// last update (AWS aggregates repeats over that period).
async fn publish(
    db: &mut Db<'_>,
    detector: &Detector,
    finding: &Value,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Db::Write(tx) = db else {
        return Ok(());
    };
    let event = rampart_events::publish::Event {
        source: "aws.guardduty".into(),
        detail_type: "GuardDuty Finding".into(),
        detail: camel_case(finding),
        resources: Vec::new(),
        time: now,
    };
    rampart_events::publish::publish(tx, detector.account(), &detector.doc.region, &event)
        .await
        .map(|_| ())
        .map_err(ServiceError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DetectorDoc;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap()
    }

    fn detector() -> Detector {
        Detector {
            entity: Entity {
                account_id: "123456789012".into(),
                kind: model::DETECTOR.into(),
                name: "us-east-1".into(),
                name_key: "us-east-1".into(),
                id: "0123456789abcdef0123456789abcdef".into(),
                path: "/".into(),
                arn: model::detector_arn(
                    "us-east-1",
                    "123456789012",
                    "0123456789abcdef0123456789abcdef",
                ),
                created_at: at(0),
                updated_at: at(0),
                doc: String::new(),
            },
            doc: DetectorDoc {
                region: "us-east-1".into(),
                enabled: true,
                ..DetectorDoc::default()
            },
        }
    }

    fn observation(principal: &str, time: DateTime<Utc>) -> Observation {
        Observation {
            finding_type: "PenTest:IAMUser/KaliLinux".into(),
            severity: Level::Medium.severity(),
            title: "t".into(),
            description: "d".into(),
            resource: json!({ "ResourceType": "AccessKey" }),
            resource_key: "AKIAEXAMPLE".into(),
            principal: principal.into(),
            action: json!({ "ActionType": "AWS_API_CALL", "AwsApiCallAction": { "Api": "ListUsers" } }),
            event_time: time,
            additional_info: None,
            detection: None,
        }
    }

    #[test]
    fn the_same_activity_keeps_its_id_and_other_activity_does_not() {
        let d = detector();
        let a = observation("arn:aws:iam::123456789012:user/alice", at(1));
        let again = observation("arn:aws:iam::123456789012:user/alice", at(9));
        let other = observation("arn:aws:iam::123456789012:user/bob", at(1));
        assert_eq!(finding_id(d.id(), &a), finding_id(d.id(), &again));
        assert_ne!(finding_id(d.id(), &a), finding_id(d.id(), &other));
        assert_eq!(finding_id(d.id(), &a).len(), 32);
    }

    #[test]
    fn a_repeat_counts_and_moves_the_last_seen_time() {
        let d = detector();
        let first = observation("p", at(1));
        let mut f = new_finding(&d, "abc", &first, at(2));
        assert_eq!(f["SchemaVersion"], "2.0");
        assert_eq!(f["Service"]["Count"], 1);
        assert_eq!(f["Service"]["DetectorId"], d.id());
        assert_eq!(f["Arn"], format!("{}/finding/abc", d.entity.arn));
        repeat(&mut f, &observation("p", at(5)), at(6));
        assert_eq!(f["Service"]["Count"], 2);
        assert_eq!(f["Service"]["EventFirstSeen"], time_text(at(1)));
        assert_eq!(f["Service"]["EventLastSeen"], time_text(at(5)));
        assert_eq!(f["UpdatedAt"], time_text(at(6)));
        // An older event counts but does not move the last-seen time back.
        repeat(&mut f, &observation("p", at(3)), at(7));
        assert_eq!(f["Service"]["Count"], 3);
        assert_eq!(f["Service"]["EventLastSeen"], time_text(at(5)));
    }

    #[test]
    fn events_carry_the_finding_in_camel_case() {
        let f = json!({"Severity": 5.0, "Service": {"Action": {"ActionType": "AWS_API_CALL"}},
            "Resource": {"InstanceDetails": {"Tags": [{"Key": "Name", "Value": "x"}]}}});
        let e = camel_case(&f);
        assert_eq!(e["severity"], json!(5.0));
        assert_eq!(e["service"]["action"]["actionType"], json!("AWS_API_CALL"));
        assert_eq!(
            e["resource"]["instanceDetails"]["tags"][0]["key"],
            json!("Name")
        );
    }
}
