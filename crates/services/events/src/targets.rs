//! Targets of a rule: `PutTargets`, `RemoveTargets`, `ListTargetsByRule`,
//! `ListRuleNamesByTarget`. Rampart delivers to API destinations (HTTP endpoints); a target of
//! another kind is refused in `FailedEntries`.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str, input::str_list, page};
use serde_json::{json, Value};

use crate::{
    delivery::is_api_destination,
    error::{EventsError, EventsResult},
    model::{self, Rule, MAX_TARGETS},
    rules::{bus_in, limit_of},
};

/// The rule a targets call names (`Rule`, `EventBusName`).
async fn rule_of(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> EventsResult<Rule> {
    let name = opt_str(input, "Rule").unwrap_or_default();
    let bus = bus_in(input, ctx)?;
    model::rule(db, &ctx.principal.account_id, &ctx.region, &bus, name).await
}

fn id_of(target: &Value) -> &str {
    opt_str(target, "Id").unwrap_or_default()
}

/// `PutTargets`: adds or replaces targets by `Id`.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let Rule { entity: e, mut doc } = rule_of(input, ctx, &mut db).await?;
    let mut failed = Vec::new();
    for target in input
        .get("Targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = id_of(target);
        let arn = opt_str(target, "Arn").unwrap_or_default();
        if !is_api_destination(arn) {
            failed.push(json!({
                "TargetId": id,
                "ErrorCode": "ValidationException",
                "ErrorMessage": format!(
                    "Parameter {arn} is not valid. Reason: Rampart delivers to API destinations only."
                ),
            }));
            continue;
        }
        match doc.targets.iter_mut().find(|t| id_of(t) == id) {
            Some(existing) => *existing = target.clone(),
            None => doc.targets.push(target.clone()),
        }
    }
    if doc.targets.len() > MAX_TARGETS {
        return Err(EventsError::LimitExceededException(
            "The requested resource exceeds the maximum number allowed.".into(),
        ));
    }
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({ "FailedEntryCount": failed.len(), "FailedEntries": failed }))
}

/// `RemoveTargets`: removes targets by `Id`; an `Id` the rule does not have is not an error.
pub async fn remove(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let Rule { entity: e, mut doc } = rule_of(input, ctx, &mut db).await?;
    let ids = str_list(input, "Ids");
    doc.targets.retain(|t| !ids.iter().any(|id| id == id_of(t)));
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({ "FailedEntryCount": 0, "FailedEntries": [] }))
}

/// `ListTargetsByRule`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let rule = rule_of(input, ctx, &mut db).await?;
    let page = page::at_offset(
        rule.doc.targets,
        opt_str(input, "NextToken"),
        limit_of(input)?,
    )
    .ok_or_else(|| EventsError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ "Targets": page.items });
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

/// `ListRuleNamesByTarget`.
pub async fn rules_by_target(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> EventsResult<Value> {
    let bus = bus_in(input, ctx)?;
    let arn = opt_str(input, "TargetArn").unwrap_or_default();
    let names: Vec<String> =
        model::rules_of_bus(&mut db, &ctx.principal.account_id, &ctx.region, &bus)
            .await?
            .into_iter()
            .filter(|r| r.doc.targets.iter().any(|t| opt_str(t, "Arn") == Some(arn)))
            .map(|r| r.doc.name)
            .collect();
    let page = page::at_offset(names, opt_str(input, "NextToken"), limit_of(input)?)
        .ok_or_else(|| EventsError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ "RuleNames": page.items });
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}
