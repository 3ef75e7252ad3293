//! Listener rules: `CreateRule`, `DescribeRules`, `DeleteRule`, with `path-pattern` and
//! `host-header` conditions. The default rule is the listener's default actions.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_int, opt_str, str_list},
};
use serde_json::{json, Value};

use crate::{
    actions::parse_condition,
    error::{ElbError, ElbResult},
    listeners::checked_actions,
    model::{self, ListenerDoc, Loaded, RuleDoc, RULE},
    tags,
};

/// Rules per listener, the default one aside (AWS's quota for an ALB).
const MAX_RULES: usize = 100;

/// The ARN of a listener's default rule.
fn default_rule_arn(listener_arn: &str) -> String {
    format!(
        "{}/default",
        listener_arn.replacen(":listener/", ":listener-rule/", 1)
    )
}

/// `CreateRule`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let listener_arn = opt_str(input, "ListenerArn").unwrap_or_default();
    let l = model::listener(&mut db, account, listener_arn).await?;
    let priority = opt_int(input, "Priority")
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| (1..=50_000).contains(p))
        .ok_or_else(|| ElbError::invalid("Priority must be between 1 and 50000"))?;
    let conditions: Vec<Value> = input
        .get("Conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if conditions.is_empty() {
        return Err(ElbError::invalid(
            "At least one condition must be specified",
        ));
    }
    for c in &conditions {
        parse_condition(c)?;
    }
    let actions: Vec<Value> = input
        .get("Actions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    checked_actions(&mut db, ctx, &actions).await?;
    let path = model::rule_path(&ctx.region, l.arn());
    let existing = model::list_all::<RuleDoc>(&mut db, account, RULE, &path).await?;
    if existing.iter().any(|r| r.doc.priority == priority) {
        return Err(ElbError::PriorityInUse(format!(
            "Priority '{priority}' is currently in use"
        )));
    }
    if existing.len() >= MAX_RULES {
        return Err(ElbError::invalid("The listener has too many rules"));
    }
    let doc = RuleDoc {
        listener_arn: l.arn().to_string(),
        priority,
        conditions,
        actions,
        tags: tags::parse(input.get("Tags"))?,
    };
    let arn = format!(
        "{}/{}",
        l.arn().replacen(":listener/", ":listener-rule/", 1),
        model::new_id()
    );
    let mut e = model::new_entity(account, RULE, &arn, arn.clone(), path, arn.clone(), ctx.now);
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({ "Rules": [shown(&Loaded { entity: e, doc })] }))
}

/// A rule as `DescribeRules` shows it.
pub fn shown(r: &Loaded<RuleDoc>) -> Value {
    json!({
        "RuleArn": r.arn(),
        "Priority": r.doc.priority.to_string(),
        "Conditions": r.doc.conditions,
        "Actions": r.doc.actions,
        "IsDefault": false,
    })
}

fn shown_default(l: &Loaded<ListenerDoc>) -> Value {
    json!({
        "RuleArn": default_rule_arn(l.arn()),
        "Priority": "default",
        "Conditions": [],
        "Actions": l.doc.default_actions,
        "IsDefault": true,
    })
}

/// `DescribeRules`: a listener's rules by priority then its default rule, or rules by ARN.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arns = str_list(input, "RuleArns");
    let mut out = Vec::new();
    if !arns.is_empty() {
        for arn in &arns {
            out.push(shown(&model::rule(&mut db, account, arn).await?));
        }
    } else {
        let listener_arn = opt_str(input, "ListenerArn").ok_or_else(|| {
            ElbError::invalid("You must specify either listener ARN or rule ARNs")
        })?;
        let l = model::listener(&mut db, account, listener_arn).await?;
        let path = model::rule_path(&ctx.region, l.arn());
        let mut rules = model::list_all::<RuleDoc>(&mut db, account, RULE, &path).await?;
        rules.sort_by_key(|r| r.doc.priority);
        out.extend(rules.iter().map(shown));
        out.push(shown_default(&l));
    }
    Ok(json!({ "Rules": out }))
}

/// `DeleteRule` (the default rule cannot be deleted).
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "RuleArn").unwrap_or_default();
    if arn.ends_with("/default") {
        return Err(ElbError::OperationNotPermitted(
            "Default rules cannot be deleted".into(),
        ));
    }
    let r = model::rule(&mut db, account, arn).await?;
    db.entities()
        .delete(account, RULE, &r.entity.name_key)
        .await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({}))
}
