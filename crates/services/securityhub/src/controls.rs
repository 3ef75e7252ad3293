//! Security controls run: each enabled control applies its AWS Config managed rule's check
//! (Config's own catalog and checks, [`rampart_config::managed`]) to what Config has
//! recorded, and keeps one ASFF finding per control and resource, updated in place as the
//! result changes.
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
    managed::{self, Check, Params, Verdict},
    model::{RecorderDoc, ResourceDoc, ACCOUNT_TYPE, RECORDER},
};
use rampart_kit::{context::CallContext, db::Db, entity, error::ServiceError};
use rampart_store::{Lease, Store};
use serde_json::{json, Value};

use crate::{
    asff,
    catalog::{self, Control},
    model::{self, HubDoc, StoredFinding},
    time_text,
};

/// What generated a control finding: `security-control/ID`.
pub const GENERATOR_PREFIX: &str = "security-control/";

/// Security Hub's own product ARN in `region`.
pub fn product_arn(region: &str) -> String {
    format!("arn:aws:securityhub:{region}::product/aws/securityhub")
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

/// The ASFF resource type of a Config resource type.
fn asff_type(config_type: &str) -> &'static str {
    match config_type {
        "AWS::IAM::User" => "AwsIamUser",
        "AWS::IAM::Group" => "AwsIamGroup",
        "AWS::IAM::Role" => "AwsIamRole",
        "AWS::IAM::Policy" => "AwsIamPolicy",
        "AWS::KMS::Key" => "AwsKmsKey",
        "AWS::S3::Bucket" => "AwsS3Bucket",
        "AWS::CloudTrail::Trail" => "AwsCloudTrailTrail",
        "AWS::SecretsManager::Secret" => "AwsSecretsManagerSecret",
        ACCOUNT_TYPE => "AwsAccount",
        _ => "Other",
    }
}

/// One control's result for one resource.
struct Outcome<'a> {
    control: &'a Control,
    standards: &'a [&'static str],
    resource_type: &'a str,
    resource_id: String,
    verdict: Verdict,
}

/// A stable finding id for a control and resource (a UUID-shaped digest).
fn finding_id(region: &str, account: &str, control: &str, resource: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{control}\n{resource}").as_bytes(),
    );
    let h = hex::encode(d.as_ref());
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or("0");
    format!(
        "arn:aws:securityhub:{region}:{account}:security-control/{control}/finding/{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// The rule's name as Security Hub's service-linked rules are named.
fn rule_name(rule: &str) -> String {
    format!(
        "securityhub-{}",
        rule.to_ascii_lowercase().replace('_', "-")
    )
}

/// `PASSED` or `FAILED` for a Config verdict.
fn status_of(v: &Verdict) -> &'static str {
    if v.compliance == "COMPLIANT" {
        "PASSED"
    } else {
        "FAILED"
    }
}

/// The control finding for an outcome, carrying over the stored one's history.
fn finding_doc(
    o: &Outcome<'_>,
    previous: Option<&Value>,
    region: &str,
    account: &str,
    now: &str,
) -> Value {
    let c = o.control;
    let status = status_of(&o.verdict);
    let id = finding_id(region, account, c.id, &o.resource_id);
    let product = product_arn(region);
    let first = previous
        .and_then(|p| p.get("FirstObservedAt"))
        .cloned()
        .unwrap_or(json!(now));
    let created = previous
        .and_then(|p| p.get("CreatedAt"))
        .cloned()
        .unwrap_or(json!(now));
    let standards: Vec<Value> = o
        .standards
        .iter()
        .map(|s| json!({"StandardsId": format!("standards/{s}")}))
        .collect();
    let mut product_fields = json!({
        "RelatedAWSResources:0/name": rule_name(c.rule),
        "RelatedAWSResources:0/type": "AWS::Config::ConfigRule",
        "aws/securityhub/ProductName": "Security Hub",
        "aws/securityhub/CompanyName": "AWS",
        "aws/securityhub/FindingId": format!("{product}/{id}"),
    });
    if let Some(a) = &o.verdict.annotation {
        crate::set(&mut product_fields, "aws/securityhub/annotation", json!(a));
    }
    json!({
        "SchemaVersion": asff::SCHEMA_VERSION,
        "Id": id,
        "ProductArn": product,
        "ProductName": "Security Hub",
        "CompanyName": "AWS",
        "Region": region,
        "GeneratorId": format!("{GENERATOR_PREFIX}{}", c.id),
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "FirstObservedAt": first,
        "LastObservedAt": now,
        "CreatedAt": created,
        "UpdatedAt": now,
        "Severity": {"Label": c.severity, "Normalized": asff::normalized_of(c.severity), "Original": c.severity},
        "Title": c.title,
        "Description": c.title,
        "Remediation": {"Recommendation": {
            "Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.",
            "Url": catalog::remediation_url(c.id),
        }},
        "ProductFields": product_fields,
        "Resources": [{
            "Type": asff_type(o.resource_type),
            "Id": o.resource_id,
            "Partition": "aws",
            "Region": region,
        }],
        "Compliance": {
            "Status": status,
            "SecurityControlId": c.id,
            "AssociatedStandards": standards,
        },
        "RecordState": "ACTIVE",
        "FindingProviderFields": {
            "Severity": {"Label": c.severity, "Original": c.severity},
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        },
    })
}

/// The workflow status after a compliance change, as AWS moves it: a finding that passes
/// again is `RESOLVED` (from `NEW` or `NOTIFIED`); one that fails again, or comes back from
/// the archive, is `NEW` (from `RESOLVED`).
fn workflow_after(previous: Option<&Value>, status: &str) -> String {
    let Some(p) = previous else {
        return if status == "PASSED" {
            "RESOLVED"
        } else {
            "NEW"
        }
        .into();
    };
    let old = p
        .pointer("/Workflow/Status")
        .and_then(Value::as_str)
        .unwrap_or("NEW");
    let was = p
        .pointer("/Compliance/Status")
        .and_then(Value::as_str)
        .unwrap_or("");
    let archived = p.get("RecordState").and_then(Value::as_str) == Some("ARCHIVED");
    match (was, status, old) {
        (_, "PASSED", "NEW" | "NOTIFIED") if was != "PASSED" => "RESOLVED".into(),
        (_, "FAILED", "RESOLVED") if was != "FAILED" || archived => "NEW".into(),
        _ => old.to_string(),
    }
}

/// Whether two control findings say the same (compliance, annotation, standards, state).
fn same_result(a: &Value, b: &Value) -> bool {
    let keys = [
        "/Compliance",
        "/ProductFields/aws~1securityhub~1annotation",
        "/RecordState",
        "/Resources",
    ];
    keys.iter().all(|k| a.pointer(k) == b.pointer(k))
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
    let product = product_arn(region);
    for f in model::findings(db, account, region).await? {
        let ours = f.doc.get("ProductArn").and_then(Value::as_str) == Some(product.as_str());
        let active = f.doc.get("RecordState").and_then(Value::as_str) == Some("ACTIVE");
        let id = f.doc.get("Id").and_then(Value::as_str).unwrap_or("");
        if ours && active && !keep.contains(id) {
            let mut f = f;
            crate::set(&mut f.doc, "RecordState", json!("ARCHIVED"));
            crate::set(&mut f.doc, "UpdatedAt", json!(time_text(now)));
            model::save_finding(db, account, region, f, now).await?;
        }
    }
    Ok(())
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
        let mut tx = store.begin().await?;
        if let Some(lease) = lease {
            tx.jobs().fence(lease).await?;
        }
        evaluate_hub(&mut Db::Write(&mut tx), &account, &region, now).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Brings Config's records and the caller's control findings up to date before a read, as
/// Config's own reads do: an answer reflects every committed change.
pub async fn refresh_before_read(db: &mut Db<'_>, ctx: &CallContext) -> Result<(), ServiceError> {
    let Db::Read(store) = db else {
        return Ok(());
    };
    let store: &Store = store;
    rampart_config::sync::run(store, ctx.now, None).await?;
    let mut tx = store.begin().await?;
    evaluate_hub(
        &mut Db::Write(&mut tx),
        &ctx.principal.account_id,
        &ctx.region,
        ctx.now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_follows_compliance_as_aws_moves_it() {
        let f = |c: &str, w: &str| json!({"Compliance": {"Status": c}, "Workflow": {"Status": w}, "RecordState": "ACTIVE"});
        assert_eq!(workflow_after(None, "FAILED"), "NEW");
        assert_eq!(
            workflow_after(Some(&f("FAILED", "NEW")), "PASSED"),
            "RESOLVED"
        );
        assert_eq!(
            workflow_after(Some(&f("FAILED", "NOTIFIED")), "PASSED"),
            "RESOLVED"
        );
        assert_eq!(
            workflow_after(Some(&f("FAILED", "SUPPRESSED")), "PASSED"),
            "SUPPRESSED"
        );
        assert_eq!(
            workflow_after(Some(&f("PASSED", "RESOLVED")), "FAILED"),
            "NEW"
        );
        assert_eq!(
            workflow_after(Some(&f("FAILED", "NOTIFIED")), "FAILED"),
            "NOTIFIED"
        );
    }

    #[test]
    fn finding_ids_are_stable_per_control_and_resource() {
        let a = finding_id(
            "us-east-1",
            "123456789012",
            "IAM.2",
            "arn:aws:iam::123456789012:user/a",
        );
        assert_eq!(
            a,
            finding_id(
                "us-east-1",
                "123456789012",
                "IAM.2",
                "arn:aws:iam::123456789012:user/a"
            )
        );
        assert_ne!(
            a,
            finding_id(
                "us-east-1",
                "123456789012",
                "IAM.2",
                "arn:aws:iam::123456789012:user/b"
            )
        );
        assert!(a.starts_with(
            "arn:aws:securityhub:us-east-1:123456789012:security-control/IAM.2/finding/"
        ));
    }
}
