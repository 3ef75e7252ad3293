//! Running remediations, for the server's `config-remediation` job: [`claim`] queues the
//! automatic remediations that are due (a resource `NON_COMPLIANT` since its last execution,
//! within `MaximumAutomaticAttempts` per `RetryAttemptSeconds`, AWS's defaults 5 and 60) and
//! takes every queued execution, marking it `IN_PROGRESS`; the job runs each one's steps as the
//! `AutomationAssumeRole` and [`finish`]es it. Every transaction is fenced by the job's lease.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;
use rampart_kit::entity::{all, read_doc, to_text};
use rampart_store::{Lease, Store};
use serde_json::{json, Value};

use crate::error::ConfigResult;
use crate::evaluate;
use crate::model::{epoch, SYSTEM_ACCOUNT};
use crate::remediation::{self, ExecutionDoc, EXECUTION, REMEDIATION, REMEDIATION_INDEX};
use crate::remediation_docs::{self, Step};

/// An execution taken to run.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The account.
    pub account: String,
    /// The region of the remediation (its ARN's).
    pub region: String,
    /// The execution's key.
    pub key: String,
    /// The role to run as.
    pub role_arn: String,
    /// The steps, parameters resolved.
    pub steps: Vec<Step>,
}

/// One step's outcome: its name, when it ran, and its error.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// The step's name.
    pub name: String,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it stopped.
    pub stop: DateTime<Utc>,
    /// Why it failed.
    pub error: Option<String>,
}

/// How long an execution may stay `IN_PROGRESS` (a node that stopped mid-run) before it fails.
const STALE_SECS: i64 = 300;

/// Queues the automatic remediations that are due and takes every queued execution.
pub async fn claim(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> ConfigResult<Vec<Pending>> {
    let accounts = all(&mut Db::Read(store), SYSTEM_ACCOUNT, REMEDIATION_INDEX, "").await?;
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.begin_fenced(lease).await?;
    let mut out = Vec::new();
    {
        let mut db = Db::Write(&mut tx);
        for a in accounts {
            let account = a.name_key;
            queue_automatic(&mut db, &account, now).await?;
            take_queued(&mut db, &account, now, &mut out).await?;
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// The `(maximum attempts, window seconds)` of an automatic remediation.
fn retry_policy(c: &Value) -> (usize, i64) {
    let max = c
        .get("MaximumAutomaticAttempts")
        .and_then(Value::as_u64)
        .unwrap_or(5);
    let window = c
        .get("RetryAttemptSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(60);
    (usize::try_from(max).unwrap_or(5), window)
}

async fn queue_automatic(db: &mut Db<'_>, account: &str, now: DateTime<Utc>) -> ConfigResult<()> {
    for e in all(db, account, REMEDIATION, "").await? {
        let c: Value = read_doc(&e)?;
        if c.get("Automatic").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let only = c.get("ResourceType").and_then(Value::as_str);
        let (max, window) = retry_policy(&c);
        for r in evaluate::results_of(db, account, &e.name).await? {
            if r.compliance != "NON_COMPLIANT" || only.is_some_and(|t| t != r.resource_type) {
                continue;
            }
            let key = remediation::execution_key(&e.name, &r.resource_type, &r.resource_id);
            if let Some(found) = db.entities().get(account, EXECUTION, &key).await? {
                let last: ExecutionDoc = read_doc(&found)?;
                // A success stands until a newer evaluation finds the resource non-compliant
                // again; failures are retried within the attempts the window allows.
                let done = last.state == "SUCCEEDED" && last.updated >= r.recorded;
                let recent = last
                    .attempts
                    .iter()
                    .filter(|t| (now - **t).num_seconds() < window)
                    .count();
                if done || (last.state == "FAILED" && recent >= max) {
                    continue;
                }
            }
            remediation::queue(
                db,
                account,
                &e.name,
                (&r.resource_type, &r.resource_id),
                now,
                true,
            )
            .await?;
        }
    }
    Ok(())
}

async fn take_queued(
    db: &mut Db<'_>,
    account: &str,
    now: DateTime<Utc>,
    out: &mut Vec<Pending>,
) -> ConfigResult<()> {
    for mut e in all(db, account, EXECUTION, "").await? {
        let mut d: ExecutionDoc = read_doc(&e)?;
        let stale = d.state == "IN_PROGRESS" && (now - d.updated).num_seconds() > STALE_SECS;
        if d.state != "QUEUED" && !stale {
            continue;
        }
        let pending = match remediation::of_rule(db, account, &d.rule).await? {
            Some(c) if !stale => plan(account, &e.name_key, &c, &d.resource_id),
            _ => Err("The remediation did not complete.".to_string()),
        };
        match pending {
            Ok(p) => {
                d.state = "IN_PROGRESS".into();
                out.push(p);
            }
            Err(message) => {
                d.state = "FAILED".into();
                d.steps =
                    vec![json!({ "Name": "Start", "State": "FAILED", "ErrorMessage": message })];
            }
        }
        d.updated = now;
        e.doc = to_text(&d)?;
        e.updated_at = now;
        let key = e.name_key.clone();
        db.entities().update(&key, &e).await?;
    }
    Ok(())
}

/// The steps of a remediation on a resource, or why it cannot run.
fn plan(account: &str, key: &str, c: &Value, resource_id: &str) -> Result<Pending, String> {
    let target = c
        .get("TargetId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let document = remediation_docs::find(target)
        .ok_or_else(|| format!("The SSM document {target} cannot be run."))?;
    let given = c.get("Parameters").cloned().unwrap_or_else(|| json!({}));
    let role_arn = given
        .get("AutomationAssumeRole")
        .and_then(|v| remediation::param_value(v, resource_id))
        .ok_or("The remediation has no AutomationAssumeRole to run as.")?;
    let mut params = BTreeMap::new();
    for (name, default) in document.params {
        let value = given
            .get(*name)
            .and_then(|v| remediation::param_value(v, resource_id))
            .or_else(|| default.map(str::to_string))
            .ok_or_else(|| format!("The parameter {name} has no value."))?;
        params.insert(name.to_string(), value);
    }
    let arn = c.get("Arn").and_then(Value::as_str).unwrap_or_default();
    Ok(Pending {
        account: account.to_string(),
        region: arn.split(':').nth(3).unwrap_or("us-east-1").to_string(),
        key: key.to_string(),
        role_arn,
        steps: (document.steps)(&params),
    })
}

/// Records how an execution ended: `SUCCEEDED` when every step did.
pub async fn finish(
    store: &Store,
    p: &Pending,
    outcomes: &[StepOutcome],
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> ConfigResult<()> {
    let mut tx = store.begin_fenced(lease).await?;
    {
        let mut db = Db::Write(&mut tx);
        let Some(mut e) = db.entities().get(&p.account, EXECUTION, &p.key).await? else {
            return Ok(());
        };
        let mut d: ExecutionDoc = read_doc(&e)?;
        let failed = outcomes.iter().any(|o| o.error.is_some()) || outcomes.is_empty();
        d.state = if failed { "FAILED" } else { "SUCCEEDED" }.into();
        d.steps = outcomes
            .iter()
            .map(|o| {
                let mut v = json!({
                    "Name": o.name,
                    "State": if o.error.is_some() { "FAILED" } else { "SUCCEEDED" },
                    "StartTime": epoch(o.start),
                    "StopTime": epoch(o.stop),
                });
                if let Some(m) = &o.error {
                    crate::common::set(&mut v, "ErrorMessage", json!(m));
                }
                v
            })
            .collect();
        d.updated = now;
        e.doc = to_text(&d)?;
        e.updated_at = now;
        let key = e.name_key.clone();
        db.entities().update(&key, &e).await?;
    }
    tx.commit().await?;
    Ok(())
}
