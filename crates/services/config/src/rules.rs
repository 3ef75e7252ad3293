//! Rules: `PutConfigRule` (AWS managed rules by `SourceIdentifier`, custom policy rules in
//! Guard), `DescribeConfigRules`, `GetCustomRulePolicy`,
//! `DeleteConfigRule`, `StartConfigRulesEvaluation`, `DescribeConfigRuleEvaluationStatus`.
//! A new or changed rule evaluates everything in its scope in the same transaction.

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::common::{paged, random_suffix, strings};
use crate::custom::{self, Policy};
use crate::error::{ConfigError, ConfigResult};
use crate::evaluate;
use crate::managed;
use crate::model::{epoch, RuleDoc, RULE, RULE_INDEX, SYSTEM_ACCOUNT};
use crate::record;
use crate::sync;

/// The resource types of a rule that evaluates none (a Lambda rule only on a schedule).
const NO_TYPES: &[&str] = &[];

/// AWS's limit of rules per account and region.
const MAX_RULES: usize = 1000;

/// The rule-not-found error, with AWS's message.
pub fn no_rule(name: &str) -> ConfigError {
    ConfigError::NoSuchConfigRuleException(format!(
        "The ConfigRule '{name}' provided in the request is invalid. Please check the configRule name"
    ))
}

fn rule_arn(ctx: &CallContext, id: &str) -> String {
    ctx.partition().arn(
        "config",
        &ctx.region,
        &ctx.principal.account_id,
        &format!("config-rule/{id}"),
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

/// `PutConfigRule`: creates or updates a rule and evaluates it at once.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let rule = input.get("ConfigRule").cloned().unwrap_or(Value::Null);
    put_rule(&mut db, ctx, &rule, None).await?;
    Ok(json!({}))
}

/// What a rule runs: a managed rule's identifier and parameters, or a Guard policy.
struct Source {
    identifier: String,
    params: managed::Params,
    policy: Option<Policy>,
    owner: &'static str,
    /// The resource types it evaluates (none: account-level; `None`: any, a policy).
    types: Option<&'static [&'static str]>,
    periodic: bool,
    /// The frequency a custom Lambda rule's `SourceDetails` give.
    frequency: Option<String>,
}

/// A custom rule's `InputParameters`: a JSON object when given.
fn check_parameters(input_parameters: Option<&str>) -> ConfigResult<()> {
    match input_parameters {
        Some(p) if !serde_json::from_str::<Value>(p).is_ok_and(|v| v.is_object()) => Err(
            ConfigError::invalid("Invalid json string provided for input parameters."),
        ),
        _ => Ok(()),
    }
}

/// The rule's `Source` checked: AWS managed, custom policy with valid Guard, or custom
/// Lambda.
fn source_of(rule: &Value, input_parameters: Option<&str>) -> ConfigResult<Source> {
    let source = rule.get("Source").cloned().unwrap_or(Value::Null);
    let owner = source
        .get("Owner")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match owner {
        "AWS" => {
            let identifier = source
                .get("SourceIdentifier")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let managed = managed::find(identifier).ok_or_else(|| {
                ConfigError::invalid(format!(
                    "The sourceIdentifier {identifier} is invalid. Please refer to the documentation for a list of valid sourceIdentifiers that can be used when AWS is the Owner."
                ))
            })?;
            Ok(Source {
                identifier: identifier.to_string(),
                params: managed::params(managed, input_parameters)?,
                policy: None,
                owner: "AWS",
                types: Some(managed.types),
                periodic: managed.periodic,
                frequency: None,
            })
        }
        "CUSTOM_POLICY" => {
            check_parameters(input_parameters)?;
            let policy = custom::policy_of(source.get("CustomPolicyDetails"))?;
            let scheduled = source
                .get("SourceDetails")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter().any(|d| {
                        d.get("MessageType").and_then(Value::as_str)
                            == Some("ScheduledNotification")
                    })
                });
            Ok(Source {
                identifier: String::new(),
                params: managed::Params::new(),
                policy: Some(policy),
                owner: "CUSTOM_POLICY",
                types: None,
                periodic: scheduled,
                frequency: None,
            })
        }
        crate::model::CUSTOM_LAMBDA => {
            check_parameters(input_parameters)?;
            let lambda = crate::lambda::source_of(&source)?;
            Ok(Source {
                identifier: lambda.arn,
                params: managed::Params::new(),
                policy: None,
                owner: crate::model::CUSTOM_LAMBDA,
                // A rule only on a schedule evaluates no recorded resource (no recorder needed).
                types: if lambda.on_change { None } else { Some(NO_TYPES) },
                periodic: lambda.periodic,
                frequency: lambda.frequency,
            })
        }
        _ => Err(ConfigError::invalid(format!(
            "Rules with Owner {owner} are not supported by Rampart; use an AWS managed rule, a custom policy rule (CUSTOM_POLICY) or a custom Lambda rule (CUSTOM_LAMBDA)."
        ))),
    }
}

/// Creates or updates one rule (`created_by` names the service making it: conformance
/// packs) and evaluates it at once.
pub async fn put_rule(
    db: &mut Db<'_>,
    ctx: &CallContext,
    rule: &Value,
    created_by: Option<&str>,
) -> ConfigResult<()> {
    let account = ctx.principal.account_id.clone();
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
    let input_parameters = rule
        .get("InputParameters")
        .and_then(Value::as_str)
        .map(str::to_string);
    let source = source_of(rule, input_parameters.as_deref())?;
    let frequency = rule
        .get("MaximumExecutionFrequency")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or(source.frequency.clone());
    if frequency.is_some() && !source.periodic {
        return Err(ConfigError::invalid(
            "A maximum execution frequency is not allowed for rules triggered by configuration changes.",
        ));
    }
    let by_change = source.types.is_none_or(|t| !t.is_empty());
    if by_change && record::recording(db, &account).await?.is_none() {
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
    sync::catch_up_in(db, ctx.now).await?;
    let existing = db.entities().get(&account, RULE, &name).await?;
    let mut doc = match &existing {
        Some(e) => doc_of::<RuleDoc>(e)?,
        None => {
            let count = evaluate::rules(db, &account).await?.len();
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
    doc.source_identifier = source.identifier;
    doc.input_parameters = input_parameters;
    doc.params = source.params;
    doc.owner = source.owner.to_string();
    doc.policy = source.policy;
    doc.source_details = rule
        .get("Source")
        .and_then(|s| s.get("SourceDetails"))
        .filter(|_| doc.policy.is_some() || doc.is_lambda())
        .cloned();
    if created_by.is_some() {
        doc.created_by = created_by.map(str::to_string);
    }
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
        sync::save_rule(db, &mut e, &doc, ctx.now).await?;
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
    // A changed scope or parameters: earlier results go, the new ones come now (and the
    // compliance items of resources the rule no longer evaluates follow).
    let had = evaluate::forget_rule(db, &account, &name).await?;
    evaluate::run_rule(db, &account, &name, &doc, ctx.now).await?;
    crate::compliance_item::refresh(db, &account, &had, ctx.now).await?;
    Ok(())
}

fn source_json(d: &RuleDoc) -> Value {
    if d.is_lambda() {
        let mut v = json!({ "Owner": d.owner, "SourceIdentifier": d.source_identifier });
        if let Some(details) = &d.source_details {
            crate::common::set(&mut v, "SourceDetails", details.clone());
        }
        return v;
    }
    match &d.policy {
        None => json!({ "Owner": "AWS", "SourceIdentifier": d.source_identifier }),
        Some(p) => {
            let mut v = json!({
                "Owner": "CUSTOM_POLICY",
                "CustomPolicyDetails": {
                    "PolicyRuntime": p.runtime,
                    "EnableDebugLogDelivery": p.debug,
                },
            });
            if let Some(details) = &d.source_details {
                crate::common::set(&mut v, "SourceDetails", details.clone());
            }
            v
        }
    }
}

fn rule_json(e: &Entity, d: &RuleDoc) -> Value {
    let mut v = json!({
        "ConfigRuleName": e.name,
        "ConfigRuleArn": e.arn,
        "ConfigRuleId": d.rule_id,
        "Source": source_json(d),
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
    if let Some(by) = &d.created_by {
        crate::common::set(&mut v, "CreatedBy", json!(by));
    }
    v
}

/// `GetCustomRulePolicy`: a custom policy rule's Guard text.
pub async fn custom_policy(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let name = input
        .get("ConfigRuleName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (_, doc) = load(&mut db, &ctx.principal.account_id, name).await?;
    Ok(match doc.policy {
        Some(p) => json!({ "PolicyText": p.text }),
        None => json!({}),
    })
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
    let had = evaluate::forget_rule(&mut db, account, name).await?;
    db.entities().delete(account, RULE, &e.name_key).await?;
    crate::compliance_item::refresh(&mut db, account, &had, ctx.now).await?;
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
            if d.is_lambda() {
                lambda_status(&mut v, &d.status);
            } else if let Some(t) = d.last_run {
                crate::common::set(&mut v, "LastSuccessfulInvocationTime", epoch(t));
                crate::common::set(&mut v, "LastSuccessfulEvaluationTime", epoch(t));
            }
            v
        },
    )
}

/// A custom Lambda rule's invocations and evaluations in `DescribeConfigRuleEvaluationStatus`.
fn lambda_status(v: &mut Value, s: &crate::model::RuleStatus) {
    let times = [
        ("LastSuccessfulInvocationTime", s.last_invoked),
        ("LastFailedInvocationTime", s.last_failed),
        ("LastSuccessfulEvaluationTime", s.last_evaluated),
    ];
    for (member, t) in times {
        if let Some(t) = t {
            crate::common::set(v, member, epoch(t));
        }
    }
    // The error shows while the last invocation is the failed one.
    let failing = s
        .last_failed
        .is_some_and(|f| s.last_invoked.is_none_or(|ok| f >= ok));
    if failing {
        if let Some(code) = &s.error_code {
            crate::common::set(v, "LastErrorCode", json!(code));
        }
        if let Some(message) = &s.error_message {
            crate::common::set(v, "LastErrorMessage", json!(message));
        }
    }
}
