//! Remediation configurations and executions: `PutRemediationConfigurations`,
//! `DescribeRemediationConfigurations`, `DeleteRemediationConfiguration`,
//! `StartRemediationExecution`, `DescribeRemediationExecutionStatus`.
//!
//! A remediation names one of the automation documents Rampart can run
//! ([`crate::remediation_docs`]). Starting one (by hand, or automatically when a resource
//! turns `NON_COMPLIANT`: [`crate::remediation_run`]) queues an execution per resource; the
//! server's `config-remediation` job runs it as the remediation's `AutomationAssumeRole`.

use chrono::{DateTime, Utc};
use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::{all, load, read_doc, to_text};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::common::{limit, paged, set, strings};
use crate::error::{ConfigError, ConfigResult};
use crate::model::{epoch, SYSTEM_ACCOUNT};
use crate::{remediation_docs, rules};

/// Kind of remediation configurations (name key: the rule's name).
pub const REMEDIATION: &str = "config:remediation";
/// Kind of remediation executions (name key `RULE|TYPE|ID`; path `/RULE/`).
pub const EXECUTION: &str = "config:remediation-execution";
/// Kind of the index of accounts with remediations (in [`SYSTEM_ACCOUNT`]).
pub const REMEDIATION_INDEX: &str = "config:remediation-account";

/// The last execution of a remediation on one resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionDoc {
    /// The rule.
    pub rule: String,
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// `QUEUED`, `IN_PROGRESS`, `SUCCEEDED` or `FAILED`.
    pub state: String,
    /// When it was started.
    pub invoked: DateTime<Utc>,
    /// The last change.
    pub updated: DateTime<Utc>,
    /// The steps run, AWS's `RemediationExecutionStep` shape.
    #[serde(default)]
    pub steps: Vec<Value>,
    /// When automatic attempts started (the retry window counts them).
    #[serde(default)]
    pub attempts: Vec<DateTime<Utc>>,
}

/// The name key of an execution.
pub fn execution_key(rule: &str, resource_type: &str, resource_id: &str) -> String {
    format!("{rule}|{resource_type}|{resource_id}")
}

fn no_remediation(rule: &str) -> ConfigError {
    ConfigError::NoSuchRemediationConfigurationException(format!(
        "No RemediationConfiguration for rule exists: {rule}"
    ))
}

/// The remediation of a rule, if any.
pub async fn of_rule(db: &mut Db<'_>, account: &str, rule: &str) -> ConfigResult<Option<Value>> {
    Ok(load::<Value>(db, account, REMEDIATION, rule)
        .await?
        .map(|l| l.doc))
}

/// A parameter's value: its static value, or the resource's id for `RESOURCE_ID`.
pub fn param_value(v: &Value, resource_id: &str) -> Option<String> {
    if v.get("ResourceValue").is_some() {
        return Some(resource_id.to_string());
    }
    let values = strings(v.get("StaticValue")?, "Values");
    (!values.is_empty()).then(|| values.join(","))
}

/// Checks one configuration against its rule and document; the reason when refused.
async fn check(db: &mut Db<'_>, account: &str, c: &Value) -> ConfigResult<Result<(), String>> {
    let rule = c
        .get("ConfigRuleName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let target = c
        .get("TargetId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (_, doc) = match rules::load(db, account, rule).await {
        Ok(found) => found,
        Err(ConfigError::NoSuchConfigRuleException(m)) => return Ok(Err(m)),
        Err(e) => return Err(e),
    };
    if doc.created_by.is_some() {
        return Ok(Err(format!(
            "Remediation configurations cannot be added to the service-linked rule {rule}."
        )));
    }
    let Some(document) = remediation_docs::find(target) else {
        return Ok(Err(format!(
            "The SSM document {target} does not exist or is not one Rampart can run."
        )));
    };
    let params = c.get("Parameters").cloned().unwrap_or_else(|| json!({}));
    for (name, default) in document.params {
        if default.is_none() && params.get(*name).is_none() {
            return Ok(Err(format!(
                "The parameter {name} of the SSM document {target} is required."
            )));
        }
    }
    if let Some(bad) = params.as_object().and_then(|m| {
        m.keys().find(|k| {
            k.as_str() != "AutomationAssumeRole" && !document.params.iter().any(|(n, _)| n == k)
        })
    }) {
        return Ok(Err(format!(
            "The parameter {bad} is not a parameter of the SSM document {target}."
        )));
    }
    let automatic = c.get("Automatic").and_then(Value::as_bool) == Some(true);
    if automatic && params.get("AutomationAssumeRole").is_none() {
        return Ok(Err(
            "An automatic remediation needs the AutomationAssumeRole parameter.".into(),
        ));
    }
    Ok(Ok(()))
}

/// `PutRemediationConfigurations`: the valid configurations are stored; the others come back
/// in `FailedBatches`.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = ctx.principal.account_id.clone();
    let given = input
        .get("RemediationConfigurations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut failed = Vec::new();
    for mut c in given {
        if let Err(reason) = check(&mut db, &account, &c).await? {
            failed.push(json!({ "FailureMessage": reason, "FailedItems": [c] }));
            continue;
        }
        let rule = c
            .get("ConfigRuleName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let existing = db.entities().get(&account, REMEDIATION, &rule).await?;
        let arn = match &existing {
            Some(e) => e.arn.clone(),
            None => ctx.partition().arn(
                "config",
                &ctx.region,
                &account,
                &format!("remediation-configuration/{rule}/{}", uuid::Uuid::new_v4()),
            ),
        };
        set(&mut c, "Arn", json!(arn));
        match existing {
            Some(mut e) => {
                e.doc = to_text(&c)?;
                e.updated_at = ctx.now;
                db.entities().update(&rule, &e).await?;
            }
            None => {
                db.entities()
                    .create(&Entity {
                        account_id: account.clone(),
                        kind: REMEDIATION.into(),
                        name: rule.clone(),
                        name_key: rule.clone(),
                        id: format!("config-remediation/{account}/{rule}"),
                        path: "/".into(),
                        arn,
                        created_at: ctx.now,
                        updated_at: ctx.now,
                        doc: to_text(&c)?,
                    })
                    .await?;
            }
        }
        index(&mut db, &account, ctx.now).await?;
    }
    Ok(json!({ "FailedBatches": failed }))
}

/// Notes that `account` has remediations, for the remediation job.
async fn index(db: &mut Db<'_>, account: &str, now: DateTime<Utc>) -> ConfigResult<()> {
    if db
        .entities()
        .get(SYSTEM_ACCOUNT, REMEDIATION_INDEX, account)
        .await?
        .is_none()
    {
        db.entities()
            .create(&Entity {
                account_id: SYSTEM_ACCOUNT.into(),
                kind: REMEDIATION_INDEX.into(),
                name: account.to_string(),
                name_key: account.to_string(),
                id: format!("config-remediation-account/{account}"),
                path: "/".into(),
                arn: String::new(),
                created_at: now,
                updated_at: now,
                doc: String::new(),
            })
            .await?;
    }
    Ok(())
}

/// `DescribeRemediationConfigurations`: the rules' remediations (rules without one are left out).
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let mut out = Vec::new();
    for rule in strings(input, "ConfigRuleNames") {
        if let Some(c) = of_rule(&mut db, &ctx.principal.account_id, &rule).await? {
            out.push(c);
        }
    }
    Ok(json!({ "RemediationConfigurations": out }))
}

fn rule_of(input: &Value) -> &str {
    input
        .get("ConfigRuleName")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The rule's executions.
async fn executions(db: &mut Db<'_>, account: &str, rule: &str) -> ConfigResult<Vec<Entity>> {
    Ok(all(db, account, EXECUTION, &format!("/{rule}/")).await?)
}

/// `DeleteRemediationConfiguration`: refused while an execution is queued or running.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let rule = rule_of(input);
    if of_rule(&mut db, account, rule).await?.is_none() {
        return Err(no_remediation(rule));
    }
    let found = executions(&mut db, account, rule).await?;
    for e in &found {
        let d: ExecutionDoc = read_doc(e)?;
        if d.state == "QUEUED" || d.state == "IN_PROGRESS" {
            return Err(ConfigError::RemediationInProgressException(
                "Remediation action is in progress. You can either cancel execution in AWS Systems Manager or wait and try again later.".into(),
            ));
        }
    }
    for e in found {
        db.entities()
            .delete(account, EXECUTION, &e.name_key)
            .await?;
    }
    db.entities().delete(account, REMEDIATION, rule).await?;
    Ok(json!({}))
}

/// Queues an execution on one resource (replacing its last finished one); false when one is
/// already queued or running.
pub async fn queue(
    db: &mut Db<'_>,
    account: &str,
    rule: &str,
    resource: (&str, &str),
    now: DateTime<Utc>,
    automatic: bool,
) -> ConfigResult<bool> {
    let key = execution_key(rule, resource.0, resource.1);
    let found = db.entities().get(account, EXECUTION, &key).await?;
    let mut doc = match &found {
        Some(e) => read_doc::<ExecutionDoc>(e)?,
        None => ExecutionDoc::default(),
    };
    if doc.state == "QUEUED" || doc.state == "IN_PROGRESS" {
        return Ok(false);
    }
    doc.rule = rule.to_string();
    doc.resource_type = resource.0.to_string();
    doc.resource_id = resource.1.to_string();
    doc.state = "QUEUED".into();
    doc.invoked = now;
    doc.updated = now;
    doc.steps = Vec::new();
    if automatic {
        doc.attempts.push(now);
    } else {
        doc.attempts.clear();
    }
    match found {
        Some(mut e) => {
            e.doc = to_text(&doc)?;
            e.updated_at = now;
            db.entities().update(&key, &e).await?;
        }
        None => {
            db.entities()
                .create(&Entity {
                    account_id: account.to_string(),
                    kind: EXECUTION.into(),
                    name: key.clone(),
                    name_key: key.clone(),
                    id: format!("config-remediation-execution/{account}/{key}"),
                    path: format!("/{rule}/"),
                    arn: String::new(),
                    created_at: now,
                    updated_at: now,
                    doc: to_text(&doc)?,
                })
                .await?;
        }
    }
    Ok(true)
}

/// `StartRemediationExecution`: queues the resources; those already being remediated come
/// back in `FailedItems`.
pub async fn start(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let rule = rule_of(input);
    if of_rule(&mut db, account, rule).await?.is_none() {
        return Err(no_remediation(rule));
    }
    let keys = input
        .get("ResourceKeys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut failed = Vec::new();
    for k in keys {
        let get = |m: &str| {
            k.get(m)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let resource = (get("resourceType"), get("resourceId"));
        if !queue(
            &mut db,
            account,
            rule,
            (&resource.0, &resource.1),
            ctx.now,
            false,
        )
        .await?
        {
            failed.push(k);
        }
    }
    let mut out = json!({ "FailedItems": failed });
    if !failed.is_empty() {
        set(
            &mut out,
            "FailureMessage",
            json!("A remediation execution is already in progress for these resources."),
        );
    }
    Ok(out)
}

fn status_json(d: &ExecutionDoc) -> Value {
    json!({
        "ResourceKey": { "resourceType": d.resource_type, "resourceId": d.resource_id },
        "State": d.state,
        "StepDetails": d.steps,
        "InvocationTime": epoch(d.invoked),
        "LastUpdatedTime": epoch(d.updated),
    })
}

/// `DescribeRemediationExecutionStatus`.
pub async fn status(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let rule = rule_of(input);
    if of_rule(&mut db, account, rule).await?.is_none() {
        return Err(no_remediation(rule));
    }
    let max = limit(input, "Limit", 100, 100)?;
    let wanted: Vec<(String, String)> = input
        .get("ResourceKeys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|k| {
                    let get = |m: &str| {
                        k.get(m)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    (get("resourceType"), get("resourceId"))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for e in executions(&mut db, account, rule).await? {
        let d: ExecutionDoc = read_doc(&e)?;
        if wanted.is_empty()
            || wanted
                .iter()
                .any(|(t, i)| *t == d.resource_type && *i == d.resource_id)
        {
            found.push(d);
        }
    }
    paged(
        found,
        input,
        "NextToken",
        max,
        "RemediationExecutionStatuses",
        status_json,
    )
}
