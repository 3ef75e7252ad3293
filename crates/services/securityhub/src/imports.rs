//! Delivery of the AWS integrations' findings: GuardDuty's findings, Access Analyzer's and
//! Config's rule results ([`crate::sources`] reads them) reach every hub of their account and
//! region as ASFF findings, driven by the server's `securityhub-imports` job (every second,
//! each hub in its own transaction fenced by the job's lease).
//!
//! Delivery is an idempotent upsert keyed by the source's identity (the ASFF `Id` is derived
//! from the source finding), so a round cut short, a restart or another node taking over
//! delivers the same findings again without duplicates. A source finding is delivered when
//! its version (`UpdatedAt`, `RecordState`) differs from the stored one: a new GuardDuty
//! observation moves `Service.Count` and `UpdatedAt` and updates the same ASFF finding; an
//! Access Analyzer finding archived or resolved, or a Config result that no longer applies,
//! archives it. Customers' workflow attributes are kept ([`asff::complete`]), and the
//! account's automation rules run on each finding delivered ([`crate::automation_apply`]).
//!
//! Only products whose import is on are delivered ([`crate::products`]), and a finding the
//! product produced before its import began is delivered only once it changes afterwards.
//! As AWS documents, GuardDuty sends a new finding at once and its new observations at the
//! detector's `FindingPublishingFrequency` (an update waits until that long after the last
//! delivery), and does not send archiving or unarchiving (a finding archived in GuardDuty
//! stays active in Security Hub) nor findings its suppression rules archived.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rampart_kit::{db::Db, error::ServiceError};
use rampart_store::{Lease, Store};
use serde_json::{json, Value};

use crate::{
    asff, automation_apply, control_finding,
    model::{self, StoredFinding},
    products::{self, Product, ACCESS_ANALYZER, CONFIG, GUARDDUTY},
    sources,
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
pub(crate) struct Terms {
    /// When the product's import began.
    pub(crate) since: DateTime<Utc>,
    /// Whether a finding not stored yet may be delivered.
    pub(crate) new: bool,
    /// How long an update waits after the last delivery (GuardDuty's publishing frequency).
    pub(crate) period: Option<Duration>,
}

impl Terms {
    pub(crate) fn at_once(since: DateTime<Utc>) -> Terms {
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
pub(crate) async fn deliver(
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
    match &stored {
        Some(s) if same_version(&s.doc, &doc) || held(&s.doc, terms.period, now) => return Ok(()),
        Some(_) => {}
        None => {
            let changed =
                asff::parse_time(text(&doc, "UpdatedAt")).is_some_and(|t| t >= terms.since);
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
    automation_apply::apply_stored(db, (account, region), &mut full, now).await?;
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
    model::archive_absent(db, account, region, &by_arn, now).await
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
        sources::guardduty(db, at, since, now).await?;
    }
    let mut present = Vec::new();
    if let Some(since) = hub.imports_since(ACCESS_ANALYZER.key) {
        present.push((
            &ACCESS_ANALYZER,
            sources::access_analyzer(db, at, since, now).await?,
        ));
    }
    if let Some(since) = hub.imports_since(CONFIG.key) {
        present.push((&CONFIG, sources::config(db, at, since, now).await?));
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
        let mut tx = store.begin_fenced(lease).await?;
        import_hub(&mut Db::Write(&mut tx), &account, &region, now).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_guardduty::model::{detector_arn, DetectorDoc, DETECTOR, FINDING};
    use rampart_kit::{context::CallContext, entity, test_support};
    use rampart_store::Entity;

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "us-east-1";
    const DETECTOR_ID: &str = "0123456789abcdef0123456789abcdef";

    fn at(ctx: &CallContext, secs: i64) -> DateTime<Utc> {
        ctx.now + Duration::seconds(secs)
    }

    fn entity(kind: &str, key: &str, path: &str, arn: String, now: DateTime<Utc>) -> Entity {
        Entity {
            account_id: ACCOUNT.into(),
            kind: kind.into(),
            name: key.into(),
            name_key: key.into(),
            id: key.into(),
            path: path.into(),
            arn,
            created_at: now,
            updated_at: now,
            doc: String::new(),
        }
    }

    fn gd_finding(id: &str, count: i64, updated: DateTime<Utc>, archived: bool) -> Value {
        let arn = detector_arn(REGION, ACCOUNT, DETECTOR_ID);
        json!({
            "AccountId": ACCOUNT, "Arn": format!("{arn}/finding/{id}"), "Id": id,
            "CreatedAt": "2023-11-14T22:13:20.000Z", "UpdatedAt": crate::time_text(updated),
            "Region": REGION, "Severity": 5.0, "Title": "t", "Description": "d",
            "Type": "PenTest:IAMUser/KaliLinux",
            "Resource": {"ResourceType": "AccessKey", "AccessKeyDetails": {"AccessKeyId": "AKIAX"}},
            "Service": {"Archived": archived, "Count": count, "DetectorId": DETECTOR_ID},
        })
    }

    async fn put_gd(db: &mut Db<'_>, f: &Value, now: DateTime<Utc>) {
        let id = f["Id"].as_str().unwrap();
        match db.entities().get(ACCOUNT, FINDING, id).await.unwrap() {
            Some(e) => entity::save_doc(db, e, f, now).await.unwrap(),
            None => {
                let mut e = entity(FINDING, id, &format!("/{DETECTOR_ID}/"), String::new(), now);
                entity::write_doc(&mut e, f, now).unwrap();
                db.entities().create(&e).await.unwrap();
            }
        }
    }

    async fn sh_finding(db: &mut Db<'_>, id: &str) -> Option<Value> {
        let arn = detector_arn(REGION, ACCOUNT, DETECTOR_ID);
        let product = products::product_arn(REGION, &GUARDDUTY);
        model::finding(
            db,
            ACCOUNT,
            REGION,
            &product,
            &format!("{arn}/finding/{id}"),
        )
        .await
        .unwrap()
        .map(|f| f.doc)
    }

    fn count(f: &Value) -> &str {
        text(&f["ProductFields"], "aws/guardduty/service/count")
    }

    #[tokio::test]
    async fn guardduty_findings_are_delivered_once_held_and_switched() {
        let (store, dir) = test_support::store().await;
        let ctx = test_support::root_context();
        let mut tx = store.begin().await.unwrap();
        // A fresh handle on the test's transaction for each call.
        macro_rules! db {
            () => {
                &mut Db::Write(&mut tx)
            };
        }
        let off = json!({"EnableDefaultStandards": false});
        crate::hub::enable(&off, &ctx, Db::Write(&mut tx))
            .await
            .unwrap();
        let detector = DetectorDoc {
            region: REGION.into(),
            enabled: true,
            ..DetectorDoc::default()
        };
        let mut e = entity(
            DETECTOR,
            REGION,
            "/",
            detector_arn(REGION, ACCOUNT, DETECTOR_ID),
            ctx.now,
        );
        e.id = DETECTOR_ID.into();
        entity::write_doc(&mut e, &detector, ctx.now).unwrap();
        db!().entities().create(&e).await.unwrap();

        // A new finding is delivered; running again rewrites nothing.
        put_gd(
            db!(),
            &gd_finding("f1", 1, at(&ctx, 10), false),
            at(&ctx, 10),
        )
        .await;
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 11))
            .await
            .unwrap();
        let first = sh_finding(db!(), "f1").await.unwrap();
        assert_eq!(count(&first), "1");
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 12))
            .await
            .unwrap();
        assert_eq!(sh_finding(db!(), "f1").await.unwrap(), first);

        // A repeat waits for the publishing frequency (six hours), then updates in place.
        put_gd(
            db!(),
            &gd_finding("f1", 2, at(&ctx, 20), false),
            at(&ctx, 20),
        )
        .await;
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 21))
            .await
            .unwrap();
        assert_eq!(count(&sh_finding(db!(), "f1").await.unwrap()), "1");
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 6 * 3600 + 11))
            .await
            .unwrap();
        let again = sh_finding(db!(), "f1").await.unwrap();
        assert_eq!(count(&again), "2");
        assert_eq!(again["CreatedAt"], first["CreatedAt"]);

        // Archiving in GuardDuty is not sent; a suppressed new finding is not sent.
        put_gd(
            db!(),
            &gd_finding("f1", 2, at(&ctx, 20), true),
            at(&ctx, 30),
        )
        .await;
        put_gd(
            db!(),
            &gd_finding("f3", 1, at(&ctx, 30), true),
            at(&ctx, 30),
        )
        .await;
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 7 * 3600))
            .await
            .unwrap();
        assert_eq!(sh_finding(db!(), "f1").await.unwrap(), again);
        assert!(sh_finding(db!(), "f3").await.is_none());

        // While the import is off nothing arrives; on again, only what changes afterwards.
        let sub = products::subscription_arn(REGION, ACCOUNT, &GUARDDUTY);
        let later = |secs| CallContext {
            now: at(&ctx, secs),
            ..test_support::root_context()
        };
        let input = json!({"ProductSubscriptionArn": sub});
        crate::products::disable(&input, &later(40), Db::Write(&mut tx))
            .await
            .unwrap();
        put_gd(
            db!(),
            &gd_finding("f2", 1, at(&ctx, 50), false),
            at(&ctx, 50),
        )
        .await;
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 51))
            .await
            .unwrap();
        assert!(sh_finding(db!(), "f2").await.is_none());
        let input = json!({"ProductArn": products::product_arn(REGION, &GUARDDUTY)});
        crate::products::enable(&input, &later(60), Db::Write(&mut tx))
            .await
            .unwrap();
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 61))
            .await
            .unwrap();
        assert!(sh_finding(db!(), "f2").await.is_none());
        put_gd(
            db!(),
            &gd_finding("f2", 2, at(&ctx, 70), false),
            at(&ctx, 70),
        )
        .await;
        import_hub(db!(), ACCOUNT, REGION, at(&ctx, 71))
            .await
            .unwrap();
        assert_eq!(count(&sh_finding(db!(), "f2").await.unwrap()), "2");
        drop(tx);
        let _ = std::fs::remove_dir_all(dir);
    }

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
