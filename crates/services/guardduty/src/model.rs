//! What GuardDuty keeps in the store.
//!
//! - A detector is an entity of kind `guardduty:detector` in its account, keyed by its
//!   region (so an account has at most one per region, as in AWS); its id is 32 hex digits
//!   and its ARN `arn:aws:guardduty:REGION:ACCOUNT:detector/ID`.
//! - A finding is an entity of kind `guardduty:finding` keyed by its id, under the path
//!   `/<detector id>/`; its document is the finding in AWS's shape (`GetFindings`' members).
//! - A trusted IP set or threat list is an entity of kind `guardduty:ipset` or
//!   `guardduty:threatintelset` keyed by its id under `/<detector id>/`; its document keeps
//!   the list's entries as read from S3 when it was activated.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::GuardDutyError;

/// The entity kind of a detector.
pub const DETECTOR: &str = "guardduty:detector";
/// The entity kind of a finding.
pub const FINDING: &str = "guardduty:finding";
/// The entity kind of a trusted IP list.
pub const IPSET: &str = "guardduty:ipset";
/// The entity kind of a threat list.
pub const THREAT_INTEL_SET: &str = "guardduty:threatintelset";

/// A detector's configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectorDoc {
    /// The region it watches.
    pub region: String,
    /// Whether it produces findings.
    pub enabled: bool,
    /// `FindingPublishingFrequency`.
    pub publishing_frequency: String,
    /// Feature name to status (`ENABLED`/`DISABLED`), with when it last changed.
    #[serde(default)]
    pub features: BTreeMap<String, Feature>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One protection plan of a detector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    /// When the status last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// Additional configuration name to status.
    #[serde(default)]
    pub additional: BTreeMap<String, String>,
}

/// A detector as loaded.
#[derive(Debug, Clone)]
pub struct Detector {
    /// The stored entity (its id is the detector id).
    pub entity: Entity,
    /// Its configuration.
    pub doc: DetectorDoc,
}

impl Detector {
    /// The detector id.
    pub fn id(&self) -> &str {
        &self.entity.id
    }

    /// The owning account.
    pub fn account(&self) -> &str {
        &self.entity.account_id
    }

    /// The partition of the detector's region: of every ARN its findings name.
    pub fn partition(&self) -> rampart_kit::Partition {
        rampart_kit::Partition::of_region(&self.doc.region)
    }
}

/// A fresh GuardDuty id: 32 lowercase hex digits.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The ARN of a detector.
pub fn detector_arn(region: &str, account: &str, id: &str) -> String {
    format!(
        "arn:{partition}:guardduty:{region}:{account}:detector/{id}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The detector path of the entities that belong to a detector.
pub fn under(detector_id: &str) -> String {
    format!("/{detector_id}/")
}

/// The detector of `account` in `region`, if any.
pub async fn detector_in(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Option<Detector>, ServiceError> {
    Ok(
        entity::load_doc::<DetectorDoc>(db, account, DETECTOR, region)
            .await?
            .map(|(entity, doc)| Detector { entity, doc }),
    )
}

/// The detector a `DetectorId` names, if the caller's account owns it in the caller's
/// region; otherwise AWS's `BadRequestException`.
pub async fn detector(
    db: &mut Db<'_>,
    ctx: &CallContext,
    id: &str,
) -> Result<Detector, ServiceError> {
    let found = detector_in(db, &ctx.principal.account_id, &ctx.region).await?;
    found
        .filter(|d| d.id() == id)
        .ok_or_else(|| GuardDutyError::detector_not_owned().into())
}

/// A trusted IP list or threat list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListDoc {
    /// `Name`.
    pub name: String,
    /// `Format` (`TXT`, `STIX`, ...).
    pub format: String,
    /// `Location`: where the list was read from.
    pub location: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// `ExpectedBucketOwner`.
    #[serde(default)]
    pub expected_bucket_owner: Option<String>,
    /// The list's entries (addresses and CIDR ranges), as read when it was activated.
    #[serde(default)]
    pub entries: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A list as loaded.
#[derive(Debug, Clone)]
pub struct List {
    /// The stored entity (its name key is the list id).
    pub entity: Entity,
    /// The list.
    pub doc: ListDoc,
}

/// Every entity of `kind` under a detector.
pub async fn all_under(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    detector_id: &str,
) -> Result<Vec<Entity>, ServiceError> {
    let path = under(detector_id);
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, kind, &path, after.as_deref(), 500)
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        out.extend(page.items);
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// Every list of `kind` of a detector.
pub async fn lists(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    detector_id: &str,
) -> Result<Vec<List>, ServiceError> {
    let mut out = Vec::new();
    for e in all_under(db, account, kind, detector_id).await? {
        let doc = entity::read_doc(&e)?;
        out.push(List { entity: e, doc });
    }
    Ok(out)
}

/// A finding as stored: its entity and its AWS-shaped document.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    /// The entity (its name key is the finding id).
    pub entity: Entity,
    /// The finding (`GetFindings`' `Finding` shape, AWS member names).
    pub doc: Value,
}

/// Every finding of a detector.
pub async fn findings(
    db: &mut Db<'_>,
    account: &str,
    detector_id: &str,
) -> Result<Vec<StoredFinding>, ServiceError> {
    let mut out = Vec::new();
    for e in all_under(db, account, FINDING, detector_id).await? {
        let doc = entity::read_doc(&e)?;
        out.push(StoredFinding { entity: e, doc });
    }
    Ok(out)
}
