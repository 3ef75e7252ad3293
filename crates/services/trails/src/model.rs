//! What a trail is in the store.
//!
//! A trail is an entity of kind `cloudtrail:trail` in its owner's account (name key: the
//! name, so names are unique per account; path `/<home region>/`; id and ARN
//! `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`). What the delivery job changes (delivery
//! times and errors, the digest chains) lives apart, in an entity of kind
//! `cloudtrail:delivery` in the pseudo-account `~cloudtrail` keyed by the trail's ARN, so the
//! job lists every trail with one scan and its writes never race an API call's. Each trail
//! reads the audit stream with a cursor of its own, [`cursor_name`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};

use crate::selectors::Selectors;

/// The entity kind of a trail.
pub const TRAIL: &str = "cloudtrail:trail";
/// The entity kind of a trail's delivery state.
pub const DELIVERY: &str = "cloudtrail:delivery";
/// The pseudo-account holding delivery states and signing keys.
pub const SYSTEM_ACCOUNT: &str = "~cloudtrail";
/// The service principal that writes log and digest files.
pub const SERVICE_PRINCIPAL: &str = "cloudtrail.amazonaws.com";

/// A trail's configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailDoc {
    /// The name.
    pub name: String,
    /// The region it was created in.
    pub home_region: String,
    /// The destination bucket.
    pub bucket: String,
    /// `S3KeyPrefix`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// `SnsTopicName` (stored and returned; no notification is sent).
    #[serde(default)]
    pub sns_topic: Option<String>,
    /// `IncludeGlobalServiceEvents`.
    #[serde(default = "yes")]
    pub include_global: bool,
    /// `IsMultiRegionTrail`.
    #[serde(default)]
    pub multi_region: bool,
    /// `EnableLogFileValidation`.
    #[serde(default)]
    pub validation: bool,
    /// The KMS key's ARN that seals log files (SSE-KMS).
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// `IsOrganizationTrail`, with the organization's id.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Event selectors.
    #[serde(default)]
    pub selectors: Selectors,
    /// Whether it is logging.
    #[serde(default)]
    pub logging: bool,
    /// The periods it logged: records whose time falls in one are delivered.
    #[serde(default)]
    pub windows: Vec<Window>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// A period of logging: from `StartLogging` (or creation) to `StopLogging`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// When logging started.
    pub start: DateTime<Utc>,
    /// When it stopped; `None` while logging.
    #[serde(default)]
    pub stop: Option<DateTime<Utc>>,
}

impl TrailDoc {
    /// Whether a record of `time` falls in a logging period (to the millisecond: records
    /// keep their time to the millisecond, and `StartLogging`'s own record has its start).
    pub fn logged_at(&self, time: DateTime<Utc>) -> bool {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        let at = ms(time);
        self.windows
            .iter()
            .any(|w| ms(w.start) <= at && w.stop.is_none_or(|s| at <= ms(s)))
    }

    /// When logging last started.
    pub fn started(&self) -> Option<DateTime<Utc>> {
        self.windows.last().map(|w| w.start)
    }

    /// When logging last stopped.
    pub fn stopped(&self) -> Option<DateTime<Utc>> {
        self.windows.last().and_then(|w| w.stop)
    }
}

/// The ARN of a trail.
pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{partition}:cloudtrail:{region}:{account}:trail/{name}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The parts of a trail ARN: (region, account, name).
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "cloudtrail" {
        return None;
    }
    let region = parts.next()?;
    let account = parts.next()?;
    let name = parts.next()?.strip_prefix("trail/")?;
    let valid = !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty();
    valid.then_some((region, account, name))
}

/// The audit-stream cursor of a trail.
pub fn cursor_name(arn: &str) -> String {
    format!("cloudtrail:{arn}")
}

/// A trail as loaded: its entity and document.
#[derive(Debug, Clone)]
pub struct Trail {
    /// The stored entity.
    pub entity: Entity,
    /// Its configuration.
    pub doc: TrailDoc,
}

impl Trail {
    /// The ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }

    /// The owning account.
    pub fn account(&self) -> &str {
        &self.entity.account_id
    }
}

/// The trail `name` of `account`.
pub async fn find(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
) -> Result<Option<Trail>, ServiceError> {
    Ok(entity::load_doc::<TrailDoc>(db, account, TRAIL, name)
        .await?
        .map(|(entity, doc)| Trail { entity, doc }))
}

/// Every trail of `account`.
pub async fn list(db: &mut Db<'_>, account: &str) -> Result<Vec<Trail>, ServiceError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, TRAIL, "/", after.as_deref(), 100)
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        for e in page.items {
            let doc = entity::read_doc(&e)?;
            out.push(Trail { entity: e, doc });
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// What the delivery job keeps of a trail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDoc {
    /// The owner.
    pub account: String,
    /// The trail's name.
    pub name: String,
    /// When a log file was last delivered.
    #[serde(default)]
    pub latest_delivery: Option<DateTime<Utc>>,
    /// When a delivery was last attempted.
    #[serde(default)]
    pub latest_attempt: Option<DateTime<Utc>>,
    /// Why the last delivery failed, if it did.
    #[serde(default)]
    pub latest_error: Option<String>,
    /// When a digest file was last delivered.
    #[serde(default)]
    pub latest_digest: Option<DateTime<Utc>>,
    /// Why the last digest failed, if it did.
    #[serde(default)]
    pub latest_digest_error: Option<String>,
    /// The digest chain of each region the trail delivers for.
    #[serde(default)]
    pub chains: BTreeMap<String, crate::digest::Chain>,
}

/// The delivery state of the trail `arn`.
pub async fn delivery(
    db: &mut Db<'_>,
    arn: &str,
) -> Result<Option<(Entity, DeliveryDoc)>, ServiceError> {
    entity::load_doc(db, SYSTEM_ACCOUNT, DELIVERY, arn).await
}

/// A fresh delivery-state entity for a new trail.
pub fn new_delivery(trail: &Entity, doc: &DeliveryDoc) -> Result<Entity, ServiceError> {
    Ok(Entity {
        account_id: SYSTEM_ACCOUNT.into(),
        kind: DELIVERY.into(),
        name: trail.arn.clone(),
        name_key: trail.arn.clone(),
        id: format!("cloudtrail:delivery/{}", trail.arn),
        path: "/".into(),
        arn: trail.arn.clone(),
        created_at: trail.created_at,
        updated_at: trail.created_at,
        doc: entity::to_text(doc)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_parse_and_print() {
        let arn = trail_arn("eu-west-1", "111122223333", "main");
        assert_eq!(arn, "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main");
        assert_eq!(parse_arn(&arn), Some(("eu-west-1", "111122223333", "main")));
        assert_eq!(parse_arn("arn:aws:s3:::b"), None);
        assert_eq!(parse_arn("arn:aws:cloudtrail:r:12:trail/x"), None);
        assert_eq!(parse_arn("arn:aws:cloudtrail:r:111122223333:trail/"), None);
    }

    #[test]
    fn windows_decide_what_is_logged() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or_default();
        let doc = TrailDoc {
            windows: vec![
                Window {
                    start: t(10),
                    stop: Some(t(20)),
                },
                Window {
                    start: t(30),
                    stop: None,
                },
            ],
            ..TrailDoc::default()
        };
        assert!(!doc.logged_at(t(5)));
        assert!(doc.logged_at(t(15)));
        assert!(!doc.logged_at(t(25)));
        assert!(doc.logged_at(t(35)));
        assert_eq!(doc.started(), Some(t(30)));
        assert_eq!(doc.stopped(), None);
    }
}
