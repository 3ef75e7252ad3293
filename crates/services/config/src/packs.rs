//! Conformance packs: `PutConformancePack` with a CloudFormation template (YAML or JSON) of
//! `AWS::Config::ConfigRule` resources and its parameters, `DescribeConformancePacks`,
//! `DescribeConformancePackStatus`, `DeleteConformancePack`, and the pack's compliance
//! (`DescribeConformancePackCompliance`, `GetConformancePackComplianceDetails`,
//! `GetConformancePackComplianceSummary`).
//!
//! A pack's rules are ordinary rules named as AWS names them (`NAME-conformance-pack-SUFFIX`,
//! one suffix per pack), `CreatedBy` `config-conforms.amazonaws.com`, put and evaluated like
//! any rule in the pack's own transaction: a template any of whose rules is refused changes
//! nothing.

use chrono::{DateTime, Utc};
use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::common::{limit, paged, random_suffix, strings};
use crate::compliance::{aggregate, result_json};
use crate::error::{ConfigError, ConfigResult};
use crate::evaluate;
use crate::model::{epoch, EvaluationDoc, RULE};
use crate::pack_template::{template_error, template_rules};
use crate::rules;

/// Kind of conformance packs (name key: the pack's name).
pub const PACK: &str = "config:conformance-pack";

/// The service AWS names as the creator of a pack's rules.
pub const CONFORMS: &str = "config-conforms.amazonaws.com";

/// AWS's limit of conformance packs per account and region.
const MAX_PACKS: usize = 50;

/// A conformance pack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackDoc {
    /// `conformance-pack-xxxxxxxxx`.
    pub pack_id: String,
    /// The suffix of its rules' names.
    pub suffix: String,
    /// The template as given.
    pub template: String,
    /// `ConformancePackInputParameters` as given.
    pub input_parameters: Value,
    /// `DeliveryS3Bucket`.
    pub delivery_bucket: Option<String>,
    /// `DeliveryS3KeyPrefix`.
    pub delivery_prefix: Option<String>,
    /// The names of its rules.
    pub rules: Vec<String>,
    /// Last update.
    pub updated: DateTime<Utc>,
}

fn no_pack(name: &str) -> ConfigError {
    ConfigError::NoSuchConformancePackException(format!(
        "Could not find a conformance pack with name '{name}'."
    ))
}

fn arn(ctx: &CallContext, name: &str, id: &str) -> String {
    ctx.partition().arn(
        "config",
        &ctx.region,
        &ctx.principal.account_id,
        &format!("conformance-pack/{name}/{id}"),
    )
}

async fn load(db: &mut Db<'_>, account: &str, name: &str) -> ConfigResult<(Entity, PackDoc)> {
    let e = db
        .entities()
        .get(account, PACK, name)
        .await?
        .ok_or_else(|| no_pack(name))?;
    let doc = doc_of(&e)?;
    Ok((e, doc))
}

async fn all(db: &mut Db<'_>, account: &str) -> ConfigResult<Vec<(Entity, PackDoc)>> {
    let page = db.entities().list(account, PACK, "", None, 100).await?;
    page.items
        .iter()
        .map(|e| Ok((e.clone(), doc_of(e)?)))
        .collect()
}

async fn named(
    db: &mut Db<'_>,
    account: &str,
    names: &[String],
) -> ConfigResult<Vec<(Entity, PackDoc)>> {
    if names.is_empty() {
        return all(db, account).await;
    }
    let mut out = Vec::new();
    for n in names {
        out.push(load(db, account, n).await?);
    }
    Ok(out)
}

/// Deletes one of a pack's rules and its results (the compliance items follow).
async fn drop_rule(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    if db.entities().get(account, RULE, name).await?.is_some() {
        let had = evaluate::forget_rule(db, account, name).await?;
        db.entities().delete(account, RULE, name).await?;
        crate::compliance_item::refresh(db, account, &had, now).await?;
    }
    Ok(())
}

/// `PutConformancePack`: creates or updates the pack and its rules, evaluated at once.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = ctx.principal.account_id.clone();
    let name = input
        .get("ConformancePackName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let valid_name = name.len() <= 256
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid_name {
        return Err(ConfigError::ValidationException(format!(
            "1 validation error detected: Value '{name}' at 'conformancePackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )));
    }
    let Some(template) = input.get("TemplateBody").and_then(Value::as_str) else {
        return Err(ConfigError::ValidationException(
            "Rampart reads conformance pack templates from TemplateBody only; TemplateS3Uri and TemplateSSMDocumentDetails are not supported.".into(),
        ));
    };
    let existing = db.entities().get(&account, PACK, &name).await?;
    let mut doc = match &existing {
        Some(e) => doc_of::<PackDoc>(e)?,
        None => {
            if all(&mut db, &account).await?.len() >= MAX_PACKS {
                return Err(ConfigError::MaxNumberOfConformancePacksExceededException(format!(
                    "You have reached the limit ({MAX_PACKS}) for the number of conformance packs in an account."
                )));
            }
            PackDoc {
                pack_id: format!("conformance-pack-{}", random_suffix(9)),
                suffix: random_suffix(8),
                ..PackDoc::default()
            }
        }
    };
    let given = input
        .get("ConformancePackInputParameters")
        .cloned()
        .unwrap_or(json!([]));
    let rules_wanted = template_rules(template, &given, &doc.suffix)?;
    let names: Vec<String> = rules_wanted
        .iter()
        .filter_map(|r| r.get("ConfigRuleName").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    for old in &doc.rules {
        if !names.contains(old) {
            drop_rule(&mut db, &account, old, ctx.now).await?;
        }
    }
    for rule in &rules_wanted {
        rules::put_rule(&mut db, ctx, rule, Some(CONFORMS))
            .await
            .map_err(|e| match e {
                ConfigError::InvalidParameterValueException(m)
                | ConfigError::NoAvailableConfigurationRecorderException(m) => template_error(m),
                other => other,
            })?;
    }
    doc.template = template.to_string();
    doc.input_parameters = given;
    doc.delivery_bucket = input
        .get("DeliveryS3Bucket")
        .and_then(Value::as_str)
        .map(str::to_string);
    doc.delivery_prefix = input
        .get("DeliveryS3KeyPrefix")
        .and_then(Value::as_str)
        .map(str::to_string);
    doc.rules = names;
    doc.updated = ctx.now;
    let pack_arn = arn(ctx, &name, &doc.pack_id);
    match existing {
        Some(mut e) => {
            e.doc = to_text(&doc)?;
            e.updated_at = ctx.now;
            db.entities().update(&name, &e).await?;
        }
        None => {
            db.entities()
                .create(&Entity {
                    account_id: account.clone(),
                    kind: PACK.into(),
                    name: name.clone(),
                    name_key: name.clone(),
                    id: format!("config-conformance-pack/{account}/{}", doc.pack_id),
                    path: "/".into(),
                    arn: pack_arn.clone(),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                    doc: to_text(&doc)?,
                })
                .await?;
        }
    }
    Ok(json!({ "ConformancePackArn": pack_arn }))
}

/// `DescribeConformancePacks`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let names = strings(input, "ConformancePackNames");
    let max = limit(input, "Limit", 20, 20)?;
    let packs = named(&mut db, &ctx.principal.account_id, &names).await?;
    paged(
        packs,
        input,
        "NextToken",
        max,
        "ConformancePackDetails",
        |(e, d)| {
            let mut v = json!({
                "ConformancePackName": e.name,
                "ConformancePackArn": e.arn,
                "ConformancePackId": d.pack_id,
                "ConformancePackInputParameters": d.input_parameters,
                "LastUpdateRequestedTime": epoch(d.updated),
            });
            if let Some(b) = &d.delivery_bucket {
                crate::common::set(&mut v, "DeliveryS3Bucket", json!(b));
            }
            if let Some(p) = &d.delivery_prefix {
                crate::common::set(&mut v, "DeliveryS3KeyPrefix", json!(p));
            }
            v
        },
    )
}

/// `DescribeConformancePackStatus`: a pack is complete once put (its rules are made and
/// evaluated in the same transaction).
pub async fn status(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let names = strings(input, "ConformancePackNames");
    let max = limit(input, "Limit", 20, 20)?;
    let packs = named(&mut db, &ctx.principal.account_id, &names).await?;
    let account = ctx.principal.account_id.clone();
    let region = ctx.region.clone();
    paged(
        packs,
        input,
        "NextToken",
        max,
        "ConformancePackStatusDetails",
        |(e, d)| {
            json!({
                "ConformancePackName": e.name,
                "ConformancePackId": d.pack_id,
                "ConformancePackArn": e.arn,
                "ConformancePackState": "CREATE_COMPLETE",
                "StackArn": format!(
                    "arn:{partition}:cloudformation:{region}:{account}:stack/awsconfigconforms-{}/{}",
                    e.name, d.pack_id, partition = rampart_kit::Partition::of_region(&region)),
                "LastUpdateRequestedTime": epoch(d.updated),
                "LastUpdateCompletedTime": epoch(d.updated),
            })
        },
    )
}

/// `DeleteConformancePack`: the pack, its rules and their results.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = ctx.principal.account_id.clone();
    let name = input
        .get("ConformancePackName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (e, doc) = load(&mut db, &account, name).await?;
    for rule in &doc.rules {
        drop_rule(&mut db, &account, rule, ctx.now).await?;
    }
    db.entities().delete(&account, PACK, &e.name_key).await?;
    Ok(json!({}))
}

/// Each rule of a pack with its results.
async fn results(
    db: &mut Db<'_>,
    account: &str,
    doc: &PackDoc,
) -> ConfigResult<Vec<(String, Vec<EvaluationDoc>)>> {
    let mut out = Vec::new();
    for rule in &doc.rules {
        out.push((rule.clone(), evaluate::results_of(db, account, rule).await?));
    }
    Ok(out)
}

fn rule_compliance(results: &[EvaluationDoc]) -> String {
    crate::common::compliance_type(&aggregate(results.iter())).to_string()
}

/// The rules a `Filters.ConfigRuleNames` names, each of the pack's or refused.
fn filter_rules(input: &Value, doc: &PackDoc, pack: &str) -> ConfigResult<Vec<String>> {
    let filters = input.get("Filters").cloned().unwrap_or(Value::Null);
    let wanted = strings(&filters, "ConfigRuleNames");
    for w in &wanted {
        if !doc.rules.contains(w) {
            return Err(ConfigError::NoSuchConfigRuleInConformancePackException(
                format!("The rule {w} does not belong to the conformance pack {pack}."),
            ));
        }
    }
    Ok(wanted)
}

/// `DescribeConformancePackCompliance`: each rule's compliance.
pub async fn compliance(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let name = input
        .get("ConformancePackName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (_, doc) = load(&mut db, account, name).await?;
    let wanted = filter_rules(input, &doc, name)?;
    let kind = input
        .get("Filters")
        .and_then(|f| f.get("ComplianceType"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let max = limit(input, "Limit", 1000, 1000)?;
    let rows: Vec<Value> = results(&mut db, account, &doc)
        .await?
        .iter()
        .filter(|(r, _)| wanted.is_empty() || wanted.contains(r))
        .map(|(r, res)| (r, rule_compliance(res)))
        .filter(|(_, c)| kind.as_ref().is_none_or(|k| k == c))
        .map(|(r, c)| json!({ "ConfigRuleName": r, "ComplianceType": c, "Controls": [] }))
        .collect();
    let mut out = paged(
        rows,
        input,
        "NextToken",
        max,
        "ConformancePackRuleComplianceList",
        Value::clone,
    )?;
    crate::common::set(&mut out, "ConformancePackName", json!(name));
    Ok(out)
}

/// `GetConformancePackComplianceDetails`: the results of the pack's rules.
pub async fn details(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let name = input
        .get("ConformancePackName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (_, doc) = load(&mut db, account, name).await?;
    let wanted = filter_rules(input, &doc, name)?;
    let filters = input.get("Filters").cloned().unwrap_or(Value::Null);
    let kind = filters.get("ComplianceType").and_then(Value::as_str);
    let resource_type = filters.get("ResourceType").and_then(Value::as_str);
    let ids = strings(&filters, "ResourceIds");
    let max = limit(input, "Limit", 100, 100)?;
    let rows: Vec<Value> = results(&mut db, account, &doc)
        .await?
        .iter()
        .filter(|(r, _)| wanted.is_empty() || wanted.contains(r))
        .flat_map(|(_, res)| res.iter())
        .filter(|r| kind.is_none_or(|k| k == r.compliance))
        .filter(|r| resource_type.is_none_or(|t| t == r.resource_type))
        .filter(|r| ids.is_empty() || ids.contains(&r.resource_id))
        .map(result_json)
        .collect();
    let mut out = paged(
        rows,
        input,
        "NextToken",
        max,
        "ConformancePackRuleEvaluationResults",
        Value::clone,
    )?;
    crate::common::set(&mut out, "ConformancePackName", json!(name));
    Ok(out)
}

/// `GetConformancePackComplianceSummary`: each named pack's compliance.
pub async fn summary(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let names = strings(input, "ConformancePackNames");
    if names.is_empty() {
        return Err(ConfigError::ValidationException(
            "1 validation error detected: Value null at 'conformancePackNames' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    let max = limit(input, "Limit", 20, 20)?;
    let mut rows = Vec::new();
    for (e, doc) in named(&mut db, account, &names).await? {
        let per_rule: Vec<String> = results(&mut db, account, &doc)
            .await?
            .iter()
            .map(|(_, r)| rule_compliance(r))
            .collect();
        let status = if per_rule.iter().any(|c| c == "NON_COMPLIANT") {
            "NON_COMPLIANT"
        } else if per_rule.iter().any(|c| c == "COMPLIANT") {
            "COMPLIANT"
        } else {
            "INSUFFICIENT_DATA"
        };
        rows.push(json!({
            "ConformancePackName": e.name,
            "ConformancePackComplianceStatus": status,
        }));
    }
    paged(
        rows,
        input,
        "NextToken",
        max,
        "ConformancePackComplianceSummaryList",
        Value::clone,
    )
}
