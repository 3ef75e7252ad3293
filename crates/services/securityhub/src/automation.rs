//! Automation rules: `CreateAutomationRule`, `BatchGetAutomationRules`,
//! `ListAutomationRules`, `BatchUpdateAutomationRules`, `BatchDeleteAutomationRules`.
//!
//! A rule is `Criteria` (`AutomationRulesFindingFilters`, evaluated by [`crate::filters`])
//! and one `FINDING_FIELDS_UPDATE` action; [`crate::automation_apply`] runs the enabled rules
//! on findings as they are imported. In AWS only the Security Hub administrator account
//! creates rules and they apply to its members' findings too; Rampart has no organization
//! administration yet, so an account is its own administrator and its rules apply to its
//! own findings, in the region the rule is created in (100 rules per account and region).

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_bool, opt_int, opt_str, str_list},
    page,
    timestamp::ts,
};
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::{
    automation_apply::{self, RuleDoc},
    error::SecurityHubError,
    filters,
    model::{self, AUTOMATION_RULE},
};

/// Most automation rules per account and region (AWS's quota for an administrator).
pub const MAX_RULES: usize = 100;
/// Most rules in one batch call.
const MAX_BATCH: usize = 100;
/// The members of `FindingFieldsUpdate`.
const UPDATE_FIELDS: &[&str] = &[
    "Note",
    "Severity",
    "VerificationState",
    "Confidence",
    "Criticality",
    "Types",
    "UserDefinedFields",
    "Workflow",
    "RelatedFindings",
];

fn invalid(why: impl Into<String>) -> ServiceError {
    SecurityHubError::invalid(why).into()
}

/// The prefix of the caller's rule ARNs; the rule's id follows it.
fn arn_prefix(ctx: &CallContext) -> String {
    ctx.partition().arn(
        "securityhub",
        &ctx.region,
        &ctx.principal.account_id,
        "automation-rule/",
    )
}

/// Checks a rule's `RuleOrder`, `Criteria` and `Actions` as AWS does.
fn check(
    order: Option<i64>,
    criteria: Option<&Value>,
    actions: Option<&Value>,
) -> Result<(), ServiceError> {
    if let Some(o) = order {
        if !(1..=1000).contains(&o) {
            return Err(invalid("RuleOrder must be between 1 and 1000."));
        }
    }
    if let Some(c) = criteria {
        let map = c
            .as_object()
            .ok_or_else(|| invalid("Criteria must be an object."))?;
        filters::check(map).map_err(SecurityHubError::invalid)?;
    }
    if let Some(a) = actions {
        let list = a.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let [action] = list else {
            return Err(invalid("Actions must hold exactly one action."));
        };
        if opt_str(action, "Type") != Some("FINDING_FIELDS_UPDATE") {
            return Err(invalid("The action Type must be FINDING_FIELDS_UPDATE."));
        }
        let update = action.get("FindingFieldsUpdate");
        if !UPDATE_FIELDS
            .iter()
            .any(|k| update.and_then(|u| u.get(*k)).is_some())
        {
            return Err(invalid(
                "FindingFieldsUpdate must give at least one field to update.",
            ));
        }
    }
    Ok(())
}

/// The rule with this ARN of the caller, if any.
async fn find(
    db: &mut Db<'_>,
    ctx: &CallContext,
    arn: &str,
) -> Result<Option<(Entity, RuleDoc)>, ServiceError> {
    let Some(key) = arn.strip_prefix(&arn_prefix(ctx)) else {
        return Ok(None);
    };
    Ok(
        entity::load_doc::<RuleDoc>(db, &ctx.principal.account_id, AUTOMATION_RULE, key)
            .await?
            .filter(|(e, _)| e.arn == arn),
    )
}

/// A rule's metadata (`AutomationRulesMetadata`).
fn metadata(arn: &str, r: &RuleDoc) -> Value {
    json!({
        "RuleArn": arn,
        "RuleStatus": r.status,
        "RuleOrder": r.order,
        "RuleName": r.name,
        "Description": r.description,
        "IsTerminal": r.terminal,
        "CreatedAt": ts(r.created_at),
        "UpdatedAt": ts(r.updated_at),
        "CreatedBy": r.created_by,
    })
}

/// A rule in full (`AutomationRulesConfig`).
fn config(arn: &str, r: &RuleDoc) -> Value {
    let mut v = metadata(arn, r);
    crate::set(&mut v, "Criteria", r.criteria.clone());
    crate::set(&mut v, "Actions", r.actions.clone());
    v
}

/// An entry of `UnprocessedAutomationRules`.
fn unprocessed(arn: &str) -> Value {
    json!({"RuleArn": arn, "ErrorCode": 404, "ErrorMessage": "Automation rule not found"})
}

/// The ARNs of a batch call, 1 to 100.
fn batch_arns(input: &Value) -> Result<Vec<String>, ServiceError> {
    let arns = str_list(input, "AutomationRulesArns");
    if arns.is_empty() || arns.len() > MAX_BATCH {
        return Err(invalid(format!(
            "AutomationRulesArns must hold between 1 and {MAX_BATCH} ARNs."
        )));
    }
    Ok(arns)
}

/// `CreateAutomationRule`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let account = ctx.principal.account_id.clone();
    if crate::org::RELATIONS
        .enabled_administrator(&mut db, &account, &ctx.region)
        .await?
        .is_some()
    {
        return Err(SecurityHubError::AccessDeniedException(
            "Only the Security Hub administrator account can create automation rules; its rules apply to this member account's findings.".into(),
        )
        .into());
    }
    let order = opt_int(input, "RuleOrder");
    check(
        Some(order.unwrap_or(0)),
        Some(input.get("Criteria").unwrap_or(&json!({}))),
        Some(input.get("Actions").unwrap_or(&json!([]))),
    )?;
    let held = model::in_region(&mut db, &account, AUTOMATION_RULE, &ctx.region).await?;
    if held.len() >= MAX_RULES {
        return Err(SecurityHubError::LimitExceededException(format!(
            "You have reached the limit of {MAX_RULES} automation rules."
        ))
        .into());
    }
    let id = uuid::Uuid::new_v4().to_string();
    let arn = format!("{}{id}", arn_prefix(ctx));
    let doc = RuleDoc {
        status: opt_str(input, "RuleStatus")
            .unwrap_or("ENABLED")
            .to_string(),
        order: order.unwrap_or(1),
        name: opt_str(input, "RuleName").unwrap_or("").to_string(),
        description: opt_str(input, "Description").unwrap_or("").to_string(),
        terminal: opt_bool(input, "IsTerminal").unwrap_or(false),
        criteria: input.get("Criteria").cloned().unwrap_or_else(|| json!({})),
        actions: input.get("Actions").cloned().unwrap_or_else(|| json!([])),
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: ctx.principal.arn.clone(),
    };
    let mut e = model::regional_entity(
        (&account, &ctx.region),
        AUTOMATION_RULE,
        &id,
        arn.clone(),
        ctx.now,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(json!({ "RuleArn": arn }))
}

/// `BatchGetAutomationRules`.
pub async fn batch_get(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let mut rules = Vec::new();
    let mut missing = Vec::new();
    for arn in batch_arns(input)? {
        match find(&mut db, ctx, &arn).await? {
            Some((_, r)) => rules.push(config(&arn, &r)),
            None => missing.push(unprocessed(&arn)),
        }
    }
    Ok(json!({"Rules": rules, "UnprocessedAutomationRules": missing}))
}

/// `ListAutomationRules`: the rules' metadata in the order they apply.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let max = opt_int(input, "MaxResults").unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(invalid("MaxResults must be between 1 and 100."));
    }
    let rules = automation_apply::rules(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    let all: Vec<Value> = rules.iter().map(|(arn, r)| metadata(arn, r)).collect();
    let token = opt_str(input, "NextToken").filter(|t| !t.is_empty());
    let page = page::at_offset(all, token, usize::try_from(max).unwrap_or(100))
        .ok_or_else(|| invalid("The NextToken is not valid."))?;
    let mut out = json!({ "AutomationRulesMetadata": page.items });
    if let Some(next) = page.next {
        crate::set(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

/// Applies one `UpdateAutomationRulesRequestItem` to a rule.
fn apply_item(r: &mut RuleDoc, item: &Value, ctx: &CallContext) {
    if let Some(s) = opt_str(item, "RuleStatus") {
        r.status = s.to_string();
    }
    if let Some(o) = opt_int(item, "RuleOrder") {
        r.order = o;
    }
    if let Some(s) = opt_str(item, "RuleName") {
        r.name = s.to_string();
    }
    if let Some(s) = opt_str(item, "Description") {
        r.description = s.to_string();
    }
    if let Some(b) = opt_bool(item, "IsTerminal") {
        r.terminal = b;
    }
    if let Some(c) = item.get("Criteria") {
        r.criteria = c.clone();
    }
    if let Some(a) = item.get("Actions") {
        r.actions = a.clone();
    }
    r.updated_at = ctx.now;
}

/// `BatchUpdateAutomationRules`: every item is checked first, so a bad one changes nothing.
pub async fn batch_update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let items = input
        .get("UpdateAutomationRulesRequestItems")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(invalid(format!(
            "UpdateAutomationRulesRequestItems must hold between 1 and {MAX_BATCH} items."
        )));
    }
    for item in &items {
        check(
            opt_int(item, "RuleOrder"),
            item.get("Criteria"),
            item.get("Actions"),
        )?;
    }
    let mut processed = Vec::new();
    let mut missing = Vec::new();
    for item in &items {
        let arn = opt_str(item, "RuleArn").unwrap_or("");
        match find(&mut db, ctx, arn).await? {
            Some((e, mut r)) => {
                apply_item(&mut r, item, ctx);
                entity::save_doc(&mut db, e, &r, ctx.now).await?;
                processed.push(json!(arn));
            }
            None => missing.push(unprocessed(arn)),
        }
    }
    Ok(json!({"ProcessedAutomationRules": processed, "UnprocessedAutomationRules": missing}))
}

/// `BatchDeleteAutomationRules`.
pub async fn batch_delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let mut processed = Vec::new();
    let mut missing = Vec::new();
    for arn in batch_arns(input)? {
        match find(&mut db, ctx, &arn).await? {
            Some((e, _)) => {
                db.entities()
                    .delete(&ctx.principal.account_id, AUTOMATION_RULE, &e.name_key)
                    .await?;
                processed.push(json!(arn));
            }
            None => missing.push(unprocessed(&arn)),
        }
    }
    Ok(json!({"ProcessedAutomationRules": processed, "UnprocessedAutomationRules": missing}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(update: Value) -> Value {
        json!([{"Type": "FINDING_FIELDS_UPDATE", "FindingFieldsUpdate": update}])
    }

    #[test]
    fn rules_are_checked_as_aws_does() {
        let ok = action(json!({"Severity": {"Label": "LOW"}}));
        assert!(check(Some(1), Some(&json!({})), Some(&ok)).is_ok());
        assert!(check(Some(0), None, None).is_err());
        assert!(check(Some(1001), None, None).is_err());
        assert!(check(None, None, Some(&action(json!({})))).is_err());
        assert!(check(None, None, Some(&json!([]))).is_err());
        let two = json!([ok[0].clone(), ok[0].clone()]);
        assert!(check(None, None, Some(&two)).is_err());
        let mixed = json!({"Title": [
            {"Comparison": "EQUALS", "Value": "a"},
            {"Comparison": "NOT_EQUALS", "Value": "b"}
        ]});
        assert!(check(None, Some(&mixed), None).is_err());
    }
}
