//! Security controls run: each enabled control applies its AWS Config managed rule's check
//! (Config's own catalog and checks, [`rampart_config::managed`]) to what Config has
//! recorded, and keeps one ASFF finding per control and resource, updated in place as the
//! result changes. The account's automation rules run on each finding written
//! ([`crate::automation_apply`]), as AWS runs them on its control findings.
//!
//! As in AWS, a control runs only where Config records: while no recorder of the account
//! records in the hub's region, nothing is evaluated and the findings stay as they were.
//! Regional resources are looked at in their region; IAM's global resources and the
//! account in every region with a hub. A result that no longer applies (a deleted resource,
//! a control turned off, a `NOT_APPLICABLE` verdict) archives its finding.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rampart_config::{
    checks_account::{self, AccountFacts},
    managed::{self, Check, Params},
    model::{RecorderDoc, ResourceDoc, ACCOUNT_TYPE, RECORDER},
};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::{Lease, Store};
use serde_json::json;

use crate::{
    automation_apply,
    catalog::{self, Control},
    control_finding::{finding_doc, finding_id, same_result, status_of, workflow_after, Outcome},
    model::{self, HubDoc, StoredFinding},
    time_text,
};

/// What generated a control finding: `security-control/ID`.
pub const GENERATOR_PREFIX: &str = "security-control/";

/// Security Hub's own product ARN in `region`.
pub fn product_arn(region: &str) -> String {
    format!(
        "arn:{partition}:securityhub:{region}::product/aws/securityhub",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// True while a recorder of `account` records in `region`.
pub async fn config_records(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<bool, ServiceError> {
    let page = db
        .entities()
        .list(account, RECORDER, &format!("/{region}/"), None, 10)
        .await?;
    for e in &page.items {
        if entity::read_doc::<RecorderDoc>(e)?.recording {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The controls that run in a hub, each with the standards it runs in.
pub fn enabled_controls(hub: &HubDoc) -> Vec<(&'static Control, Vec<&'static str>)> {
    catalog::CONTROLS
        .iter()
        .filter_map(|c| {
            let on: Vec<&str> = c
                .standards
                .iter()
                .copied()
                .filter(|s| hub.control_enabled(s, c.id))
                .collect();
            (!on.is_empty()).then_some((c, on))
        })
        .collect()
}

async fn write_outcome(
    db: &mut Db<'_>,
    o: &Outcome<'_>,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let id = finding_id(region, account, o.control.id, &o.resource_id);
    let stored = model::finding(db, account, region, &product_arn(region), &id).await?;
    let previous = stored.as_ref().map(|s| &s.doc);
    let mut doc = finding_doc(o, previous, region, account, &time_text(now));
    if previous.is_some_and(|p| same_result(p, &doc)) {
        return Ok(());
    }
    let workflow = workflow_after(previous, status_of(&o.verdict));
    crate::set(&mut doc, "Workflow", json!({"Status": workflow}));
    crate::set(
        &mut doc,
        "WorkflowState",
        json!(if workflow == "RESOLVED" {
            "RESOLVED"
        } else {
            "NEW"
        }),
    );
    for key in ["Note", "UserDefinedFields", "VerificationState"] {
        if let Some(v) = previous.and_then(|p| p.get(key)) {
            crate::set(&mut doc, key, v.clone());
        }
    }
    automation_apply::apply_stored(db, (account, region), &mut doc, now).await?;
    let entity = stored.and_then(|s| s.entity);
    model::save_finding(db, account, region, StoredFinding { entity, doc }, now).await
}

/// Archives the active control findings of `account` in `region` not in `keep`.
async fn archive_others(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    keep: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let present = BTreeMap::from([(product_arn(region), keep)]);
    model::archive_absent(db, account, region, &present, now).await
}

/// Archives every control finding of a hub (the hub is being turned off).
pub async fn archive_all(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    archive_others(db, account, region, &BTreeSet::new(), now).await
}

fn params_of(c: &Control) -> Params {
    c.params
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect::<BTreeMap<_, _>>()
}

/// Runs every enabled control of the hub of `account` in `region` and writes the findings.
pub async fn evaluate_hub(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some((_, hub)) = model::hub_in(db, account, region).await? else {
        return Ok(());
    };
    if !config_records(db, account, region).await? {
        return Ok(());
    }
    let controls = enabled_controls(&hub);
    let resources: Vec<ResourceDoc> = rampart_config::evaluate::resources(db, account)
        .await?
        .into_iter()
        .filter(|r| r.snapshot.region == region || r.snapshot.region == "global")
        .collect();
    let mut facts: Option<AccountFacts> = None;
    let mut keep = BTreeSet::new();
    let account_id = format!("{ACCOUNT_TYPE}:{account}");
    for (c, standards) in &controls {
        let Some(rule) = managed::find(c.rule) else {
            continue;
        };
        let params = params_of(c);
        let mut outcomes = Vec::new();
        match rule.check {
            Check::Account(check) => {
                if facts.is_none() {
                    facts = Some(checks_account::gather(db, account).await?);
                }
                if let Some(f) = &facts {
                    let verdict = check(f, &params, now);
                    outcomes.push(Outcome {
                        control: c,
                        standards,
                        resource_type: ACCOUNT_TYPE,
                        resource_id: account_id.clone(),
                        verdict,
                    });
                }
            }
            Check::Resource(check) => {
                for r in resources
                    .iter()
                    .filter(|r| rule.types.contains(&r.resource_type.as_str()))
                {
                    let verdict = check(&r.snapshot, &params, now);
                    let id = if r.snapshot.arn.is_empty() {
                        r.resource_id.clone()
                    } else {
                        r.snapshot.arn.clone()
                    };
                    outcomes.push(Outcome {
                        control: c,
                        standards,
                        resource_type: &r.resource_type,
                        resource_id: id,
                        verdict,
                    });
                }
            }
        }
        for o in outcomes
            .iter()
            .filter(|o| o.verdict.compliance != "NOT_APPLICABLE")
        {
            keep.insert(finding_id(region, account, c.id, &o.resource_id));
            write_outcome(db, o, account, region, now).await?;
        }
    }
    archive_others(db, account, region, &keep, now).await
}

/// The job's step: every hub, each in its own transaction (fenced by the job's lease).
pub async fn run(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<(), ServiceError> {
    for (account, region) in model::hubs(&mut Db::Read(store)).await? {
        let mut tx = store.begin_fenced(lease).await?;
        let mut db = Db::Write(&mut tx);
        crate::org::remove_departed(&mut db, &account, &region, now).await?;
        crate::org::auto_enable(&mut db, &account, &region, now).await?;
        evaluate_hub(&mut db, &account, &region, now).await?;
        tx.commit().await?;
    }
    Ok(())
}
