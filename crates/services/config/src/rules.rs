//! Rules: `PutConfigRule` (AWS managed rules, by `SourceIdentifier`), `DescribeConfigRules`,
//! `DeleteConfigRule`, `StartConfigRulesEvaluation`, `DescribeConfigRuleEvaluationStatus`.
//! A new or changed rule evaluates everything in its scope in the same transaction.

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::common::{paged, random_suffix, strings};
use crate::error::{ConfigError, ConfigResult};
use crate::evaluate;
use crate::managed;
use crate::model::{epoch, RuleDoc, RULE, RULE_INDEX, SYSTEM_ACCOUNT};
use crate::record;
use crate::sync;

/// AWS's limit of rules per account and region.
const MAX_RULES: usize = 1000;

/// The rule-not-found error, with AWS's message.
pub fn no_rule(name: &str) -> ConfigError {
    ConfigError::NoSuchConfigRuleException(format!(
        "The ConfigRule '{name}' provided in the request is invalid. Please check the configRule name"
    ))
}

fn rule_arn(ctx: &CallContext, id: &str) -> String {
    format!(
        "arn:aws:config:{}:{}:config-rule/{id}",
        ctx.region, ctx.principal.account_id
    )
}

/// The named rule.
pub async fn load(db: &mut Db<'_>, account: &str, name: &str) -> ConfigResult<(Entity, RuleDoc)> {
    let e = db
        .entities()
        .get(account, RULE, name)
        .await?
        .ok_or_else(|| no_rule(name))?;
    let doc = doc_of(&e)?;
    Ok((e, doc))
}

/// `PutConfigRule`: creates or updates a managed rule and evaluates it at once.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = ctx.principal.account_id.clone();
    let rule = input.get("ConfigRule").cloned().unwrap_or(Value::Null);
    let name = rule
        .get("ConfigRuleName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(ConfigError::invalid(
            "One or more identifiers needs to be provided. Provide Name or Id or Arn",
        ));
    }
    let source = rule.get("Source").cloned().unwrap_or(Value::Null);
    let owner = source
        .get("Owner")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if owner != "AWS" {
        return Err(ConfigError::invalid(format!(
            "Rules with Owner {owner} are not supported by Rampart; use an AWS managed rule."
        )));
    }
    let identifier = source
        .get("SourceIdentifier")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let managed = managed::find(identifier).ok_or_else(|| {
        ConfigError::invalid(format!(
            "The sourceIdentifier {identifier} is invalid. Please refer to the documentation for a list of valid sourceIdentifiers that can be used when AWS is the Owner."
        ))
    })?;
    let input_parameters = rule
        .get("InputParameters")
        .and_then(Value::as_str)
        .map(str::to_string);
    let params = managed::params(managed, input_parameters.as_deref())?;
    let frequency = rule
        .get("MaximumExecutionFrequency")
        .and_then(Value::as_str)
        .map(str::to_string);
    if frequency.is_some() && !managed.periodic {
        return Err(ConfigError::invalid(
            "A maximum execution frequency is not allowed for rules triggered by configuration changes.",
        ));
    }
    if !managed.types.is_empty() && record::recording(&mut db, &account).await?.is_none() {
        let recorders = db
            .entities()
            .list(&account, crate::model::RECORDER, "", None, 1)
            .await?;
        if recorders.items.is_empty() {
            return Err(ConfigError::NoAvailableConfigurationRecorderException(
                "Configuration recorder is not available to put the config rule.".into(),
            ));
        }
    }
    sync::catch_up_in(&mut db, ctx.now).await?;
    let existing = db.entities().get(&account, RULE, &name).await?;
    let mut doc = match &existing {
        Some(e) => doc_of::<RuleDoc>(e)?,
        None => {
            let count = evaluate::rules(&mut db, &account).await?.len();
            if count >= MAX_RULES {
                return Err(ConfigError::MaxNumberOfConfigRulesExceededException(format!(
                    "Failed to put rule '{name}' because the maximum number of rules: {MAX_RULES} is reached."
                )));
            }
            RuleDoc {
                rule_id: format!("config-rule-{}", random_suffix(6)),
                first_activated: ctx.now,
                ..RuleDoc::default()
            }
        }
    };
    doc.source_identifier = identifier.to_string();
    doc.input_parameters = input_parameters;
    doc.params = params;
    doc.scope = rule.get("Scope").cloned();
    doc.description = rule
        .get("Description")
        .and_then(Value::as_str)
        .map(str::to_string);
    doc.frequency = frequency;
    doc.state = "ACTIVE".into();
    doc.last_run = Some(ctx.now);
    let arn = rule_arn(ctx, &doc.rule_id);
    let mut e = existing.unwrap_or_else(|| Entity {
        account_id: account.clone(),
        kind: RULE.into(),
        name: name.clone(),
        name_key: name.clone(),
        id: format!("config-rule/{account}/{}", doc.rule_id),
        path: "/".into(),
        arn,
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: String::new(),
    });
    if e.doc.is_empty() {
        e.doc = to_text(&doc)?;
        db.entities().create(&e).await?;
    } else {
        sync::save_rule(&mut db, &mut e, &doc, ctx.now).await?;
    }
    if db
        .entities()
        .get(SYSTEM_ACCOUNT, RULE_INDEX, &account)
        .await?
        .is_none()
    {
        db.entities()
            .create(&Entity {
                account_id: SYSTEM_ACCOUNT.into(),
                kind: RULE_INDEX.into(),
                name: account.clone(),
                name_key: account.clone(),
                id: format!("config-rule-account/{account}"),
                path: "/".into(),
                arn: String::new(),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: "{}".into(),
            })
            .await?;
    }
    // A changed scope or parameters: earlier results go, the new ones come now.
    evaluate::forget_rule(&mut db, &account, &name).await?;
    evaluate::run_rule(&mut db, &account, &name, &doc, ctx.now).await?;
    Ok(json!({}))
}

fn rule_json(e: &Entity, d: &RuleDoc) -> Value {
    let mut v = json!({
        "ConfigRuleName": e.name,
        "ConfigRuleArn": e.arn,
        "ConfigRuleId": d.rule_id,
        "Source": { "Owner": "AWS", "SourceIdentifier": d.source_identifier },
        "ConfigRuleState": d.state,
        "EvaluationModes": [{ "Mode": "DETECTIVE" }],
    });
    if let Some(p) = &d.input_parameters {
        crate::common::set(&mut v, "InputParameters", json!(p));
    }
    if let Some(s) = &d.scope {
        crate::common::set(&mut v, "Scope", s.clone());
    }
    if let Some(desc) = &d.description {
        crate::common::set(&mut v, "Description", json!(desc));
    }
    if let Some(f) = &d.frequency {
        crate::common::set(&mut v, "MaximumExecutionFrequency", json!(f));
    }
    v
}

/// The named rules (all when `names` is empty), each missing one refused.
pub async fn named(
    db: &mut Db<'_>,
    account: &str,
    names: &[String],
) -> ConfigResult<Vec<(Entity, RuleDoc)>> {
    if names.is_empty() {
        return evaluate::rules(db, account).await;
    }
    let mut out = Vec::new();
    for n in names {
        out.push(load(db, account, n).await?);
    }
    Ok(out)
}

/// `DescribeConfigRules`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let names = strings(input, "ConfigRuleNames");
    let rules = named(&mut db, &ctx.principal.account_id, &names).await?;
    paged(rules, input, "NextToken", 25, "ConfigRules", |(e, d)| {
        rule_json(e, d)
    })
}

/// `DeleteConfigRule`: the rule and its results.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let name = input
        .get("ConfigRuleName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (e, _) = load(&mut db, account, name).await?;
    evaluate::forget_rule(&mut db, account, name).await?;
    db.entities().delete(account, RULE, &e.name_key).await?;
    Ok(json!({}))
}

/// `StartConfigRulesEvaluation`: runs the named rules now.
pub async fn start_evaluation(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let account = ctx.principal.account_id.clone();
    let names = strings(input, "ConfigRuleNames");
    sync::catch_up_in(&mut db, ctx.now).await?;
    for (mut e, mut doc) in named(&mut db, &account, &names).await? {
        evaluate::run_rule(&mut db, &account, &e.name, &doc, ctx.now).await?;
        doc.last_run = Some(ctx.now);
        sync::save_rule(&mut db, &mut e, &doc, ctx.now).await?;
    }
    Ok(json!({}))
}

/// `DescribeConfigRuleEvaluationStatus`.
pub async fn evaluation_status(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let names = strings(input, "ConfigRuleNames");
    let max = crate::common::limit(input, "Limit", 50, 50)?;
    let rules = named(&mut db, &ctx.principal.account_id, &names).await?;
    paged(
        rules,
        input,
        "NextToken",
        max,
        "ConfigRulesEvaluationStatus",
        |(e, d)| {
            let mut v = json!({
                "ConfigRuleName": e.name,
                "ConfigRuleArn": e.arn,
                "ConfigRuleId": d.rule_id,
                "FirstActivatedTime": epoch(d.first_activated),
                "FirstEvaluationStarted": d.last_run.is_some(),
            });
            if let Some(t) = d.last_run {
                crate::common::set(&mut v, "LastSuccessfulInvocationTime", epoch(t));
                crate::common::set(&mut v, "LastSuccessfulEvaluationTime", epoch(t));
            }
            v
        },
    )
}
