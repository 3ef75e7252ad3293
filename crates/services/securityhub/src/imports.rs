//! Delivery of the AWS integrations' findings: GuardDuty's findings, Access Analyzer's and
//! Config's rule results reach every hub of their account and region as ASFF findings, driven
//! by the server's `securityhub-imports` job (every second, each hub in its own transaction
//! fenced by the job's lease).
//!
//! Delivery is an idempotent upsert keyed by the source's identity (the ASFF `Id` is derived
//! from the source finding), so a round cut short, a restart or another node taking over
//! delivers the same findings again without duplicates. A source finding is delivered when
//! its version (`UpdatedAt`, `RecordState`) differs from the stored one: a new GuardDuty
//! observation moves `Service.Count` and `UpdatedAt` and updates the same ASFF finding; an
//! Access Analyzer finding archived or resolved, or a Config result that no longer applies,
//! archives it. Customers' workflow attributes are kept ([`asff::complete`]).
//!
//! Only products whose import is on are delivered ([`crate::products`]), and a finding the
//! product produced before its import began is delivered only once it changes afterwards.
//! As AWS documents, GuardDuty sends a new finding at once and its new observations at the
//! detector's `FindingPublishingFrequency` (an update waits until that long after the last
//! delivery), and does not send archiving or unarchiving (a finding archived in GuardDuty
//! stays active in Security Hub) nor findings its suppression rules archived.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rampart_accessanalyzer::model::{self as aa, FindingDoc};
use rampart_config::model::{self as cfg, ResourceDoc, RuleDoc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::{Lease, Store};
use serde_json::{json, Value};

use crate::{
    asff, control_finding, from_access_analyzer, from_config, from_guardduty,
    model::{self, StoredFinding},
    products::{self, Product, ACCESS_ANALYZER, CONFIG, GUARDDUTY},
    time_text,
};

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// True when the stored finding already holds this version of the source finding.
fn same_version(stored: &Value, doc: &Value) -> bool {
    ["UpdatedAt", "RecordState"]
        .iter()
        .all(|k| stored.get(*k) == doc.get(*k))
}

/// True while an update of `stored` waits for the product's export period to pass since its
/// last delivery (`ProcessedAt`).
fn held(stored: &Value, period: Option<Duration>, now: DateTime<Utc>) -> bool {
    let last = asff::parse_time(text(stored, "ProcessedAt"));
    match (period, last) {
        (Some(p), Some(last)) => now.signed_duration_since(last) < p,
        _ => false,
    }
}

/// How a source delivers: since when its import runs, whether a finding not stored yet may
/// be delivered, and how long an update waits after the last delivery.
#[derive(Debug, Clone, Copy)]
struct Terms {
    since: DateTime<Utc>,
    new: bool,
    period: Option<Duration>,
}

impl Terms {
    fn at_once(since: DateTime<Utc>) -> Terms {
        Terms {
            since,
            new: true,
            period: None,
        }
    }
}

/// Delivers one mapped finding. A finding not stored yet is delivered only when `terms.new`,
/// when it changed since `terms.since` (the product's import began) and is active; a stored
/// one when its version changed and no export period holds it back.
async fn deliver(
    db: &mut Db<'_>,
    (account, region): (&str, &str),
    doc: Value,
    terms: Terms,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let stored = model::finding(
        db,
        account,
        region,
        text(&doc, "ProductArn"),
        text(&doc, "Id"),
    )
    .await?;
    let since = terms.since;
    match &stored {
        Some(s) if same_version(&s.doc, &doc) || held(&s.doc, terms.period, now) => return Ok(()),
        Some(_) => {}
        None => {
            let changed = asff::parse_time(text(&doc, "UpdatedAt")).is_some_and(|t| t >= since);
            if !terms.new || !changed || text(&doc, "RecordState") != "ACTIVE" {
                return Ok(());
            }
        }
    }
    let previous = stored.as_ref().map(|s| &s.doc);
    let status = doc
        .pointer("/Compliance/Status")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut full = asff::complete(doc, previous, region, now);
    if let Some(created) = previous.and_then(|p| p.get("CreatedAt")) {
        crate::set(&mut full, "CreatedAt", created.clone());
    }
    if let Some(status) = status {
        let workflow = control_finding::workflow_after(previous, &status);
        let legacy = if workflow == "RESOLVED" {
            "RESOLVED"
        } else {
            "NEW"
        };
        crate::set(&mut full, "Workflow", json!({"Status": workflow}));
        crate::set(&mut full, "WorkflowState", json!(legacy));
    }
    let entity = stored.and_then(|s| s.entity);
    let f = StoredFinding { entity, doc: full };
    model::save_finding(db, account, region, f, now).await
}

/// Archives the hub's active findings of each product given whose source is gone (not in
/// the product's set of present ids), in one pass over the hub's findings.
async fn archive_gone(
    db: &mut Db<'_>,
    (account, region): (&str, &str),
    present: &[(&Product, BTreeSet<String>)],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if present.is_empty() {
        return Ok(());
    }
    let by_arn: BTreeMap<String, &BTreeSet<String>> = present
        .iter()
        .map(|(p, ids)| (products::product_arn(region, p), ids))
        .collect();
    for mut f in model::findings(db, account, region).await? {
        let Some(ids) = by_arn.get(text(&f.doc, "ProductArn")) else {
            continue;
        };
        let active = text(&f.doc, "RecordState") == "ACTIVE";
        if active && !ids.contains(text(&f.doc, "Id")) {
            crate::set(&mut f.doc, "RecordState", json!("ARCHIVED"));
            crate::set(&mut f.doc, "UpdatedAt", json!(time_text(now)));
            model::save_finding(db, account, region, f, now).await?;
        }
    }
    Ok(())
}

/// GuardDuty's findings of the account's detector in the region.
async fn guardduty(
    db: &mut Db<'_>,
    hub: (&str, &str),
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (account, region) = hub;
    let Some(detector) = rampart_guardduty::model::detector_in(db, account, region).await? else {
        return Ok(());
    };
    let period = from_guardduty::export_period(&detector.doc.publishing_frequency);
    for f in rampart_guardduty::model::findings(db, account, detector.id()).await? {
        let terms = Terms {
            since,
            new: !from_guardduty::archived(&f.doc),
            period: Some(period),
        };
        deliver(db, hub, from_guardduty::to_asff(&f.doc), terms, now).await?;
    }
    Ok(())
}

/// Access Analyzer's findings of the account's analyzers in the region, one per analyzer and
/// resource; answers the ids of the findings whose source is present.
async fn access_analyzer(
    db: &mut Db<'_>,
    hub: (&str, &str),
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, ServiceError> {
    let (account, region) = hub;
    let mut present = BTreeSet::new();
    for a in aa::list(db, account, region).await? {
        let mut by_resource: BTreeMap<String, Vec<FindingDoc>> = BTreeMap::new();
        for e in aa::all(db, account, aa::FINDING, &a.prefix()).await? {
            let f: FindingDoc = entity::read_doc(&e)?;
            by_resource.entry(f.resource.clone()).or_default().push(f);
        }
        for (resource, findings) in &by_resource {
            let refs: Vec<&FindingDoc> = findings.iter().collect();
            let Some(doc) = from_access_analyzer::to_asff(a.arn(), region, account, &refs) else {
                continue;
            };
            present.insert(from_access_analyzer::finding_id(a.arn(), resource));
            deliver(db, hub, doc, Terms::at_once(since), now).await?;
        }
    }
    Ok(present)
}

/// The ARN Config knows for a resource, else its id.
async fn resource_arn(
    db: &mut Db<'_>,
    account: &str,
    resource_type: &str,
    resource_id: &str,
) -> Result<String, ServiceError> {
    let key = cfg::resource_key(resource_type, resource_id);
    let found = entity::load_doc::<ResourceDoc>(db, account, cfg::RESOURCE, &key).await?;
    Ok(found
        .map(|(_, r)| r.snapshot.arn)
        .filter(|arn| !arn.is_empty())
        .unwrap_or_else(|| resource_id.to_string()))
}

/// Config's results of the account's rules in the region that Security Hub did not create;
/// answers the ids of the findings whose source is present.
async fn config(
    db: &mut Db<'_>,
    hub: (&str, &str),
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, ServiceError> {
    let (account, region) = hub;
    let mut present = BTreeSet::new();
    for e in aa::all(db, account, cfg::RULE, "/").await? {
        let name = e.name_key.clone();
        if !from_config::sent(&name) || from_config::region_of(&e.arn) != region {
            continue;
        }
        let doc: RuleDoc = entity::read_doc(&e)?;
        let rule = from_config::Rule {
            name: &name,
            arn: &e.arn,
            description: doc.description.as_deref(),
        };
        for ev in rampart_config::evaluate::results_of(db, account, &name).await? {
            let arn = resource_arn(db, account, &ev.resource_type, &ev.resource_id).await?;
            present.insert(from_config::finding_id(
                &e.arn,
                &ev.resource_type,
                &ev.resource_id,
            ));
            let asff = from_config::to_asff(rule, &ev, &arn, account);
            deliver(db, hub, asff, Terms::at_once(since), now).await?;
        }
    }
    Ok(present)
}

/// Delivers every enabled product's findings to the hub of `account` in `region`.
pub async fn import_hub(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some((_, hub)) = model::hub_in(db, account, region).await? else {
        return Ok(());
    };
    let at = (account, region);
    if let Some(since) = hub.imports_since(GUARDDUTY.key) {
        guardduty(db, at, since, now).await?;
    }
    let mut present = Vec::new();
    if let Some(since) = hub.imports_since(ACCESS_ANALYZER.key) {
        present.push((&ACCESS_ANALYZER, access_analyzer(db, at, since, now).await?));
    }
    if let Some(since) = hub.imports_since(CONFIG.key) {
        present.push((&CONFIG, config(db, at, since, now).await?));
    }
    archive_gone(db, at, &present, now).await
}

/// The job's step: every hub, each in its own transaction (fenced by the job's lease).
pub async fn run(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<(), ServiceError> {
    for (account, region) in model::hubs(&mut Db::Read(store)).await? {
        let mut tx = store.begin().await?;
        if let Some(lease) = lease {
            tx.jobs().fence(lease).await?;
        }
        import_hub(&mut Db::Write(&mut tx), &account, &region, now).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_its_update_time_and_record_state() {
        let a = json!({"UpdatedAt": "2026-12-07T08:00:00.000Z", "RecordState": "ACTIVE", "Note": {"Text": "x"}});
        let b = json!({"UpdatedAt": "2026-12-07T08:00:00.000Z", "RecordState": "ACTIVE"});
        assert!(same_version(&a, &b));
        let c = json!({"UpdatedAt": "2026-12-07T08:00:01.000Z", "RecordState": "ACTIVE"});
        assert!(!same_version(&a, &c));
        let d = json!({"UpdatedAt": "2026-12-07T08:00:00.000Z", "RecordState": "ARCHIVED"});
        assert!(!same_version(&a, &d));
    }

    #[test]
    fn an_update_waits_for_the_export_period_since_the_last_delivery() {
        let stored = json!({"ProcessedAt": "2026-12-07T08:00:00.000Z"});
        let at = |s: &str| asff::parse_time(s).unwrap();
        let period = Some(Duration::minutes(15));
        assert!(held(&stored, period, at("2026-12-07T08:14:59Z")));
        assert!(!held(&stored, period, at("2026-12-07T08:15:00Z")));
        assert!(!held(&stored, None, at("2026-12-07T08:00:01Z")));
    }
}
