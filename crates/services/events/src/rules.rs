//! Rules: `PutRule`, `DescribeRule`, `ListRules`, `DeleteRule`, `EnableRule`, `DisableRule`,
//! `TestEventPattern`, and the default bus (`DescribeEventBus`, `ListEventBuses`).

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_int, opt_str},
    page,
};
use serde_json::{json, Value};

use crate::{
    error::{EventsError, EventsResult},
    model::{self, Rule, RuleDoc, RULE},
    pattern, tags,
};

/// The rules `ListRules` returns per page when `Limit` is absent.
const DEFAULT_LIMIT: usize = 100;

/// An `InvalidEventPatternException` for a pattern that does not parse.
pub fn checked_pattern(text: &str) -> EventsResult<pattern::Pattern> {
    pattern::parse(text).map_err(|e| EventsError::InvalidEventPatternException(e.to_string()))
}

fn name_of(input: &Value) -> EventsResult<&str> {
    opt_str(input, "Name")
        .ok_or_else(|| EventsError::invalid("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"))
}

/// The bus an input names (`EventBusName`), checked.
pub fn bus_in(input: &Value, ctx: &CallContext) -> EventsResult<String> {
    model::bus_of(
        opt_str(input, "EventBusName"),
        &ctx.region,
        &ctx.principal.account_id,
    )
}

/// `PutRule`: creates a rule, or replaces an existing one's definition (its targets and tags
/// stay), as AWS does.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let name = name_of(input)?;
    let bus = bus_in(input, ctx)?;
    let account = &ctx.principal.account_id;
    let pattern = opt_str(input, "EventPattern");
    let schedule = opt_str(input, "ScheduleExpression");
    if pattern.is_none() && schedule.is_none() {
        return Err(EventsError::invalid(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    if let Some(p) = pattern {
        checked_pattern(p)?;
    }
    if let Some(s) = schedule {
        if !(s.starts_with("rate(") || s.starts_with("cron(")) || !s.ends_with(')') {
            return Err(EventsError::invalid(
                "Parameter ScheduleExpression is not valid.",
            ));
        }
        // A scheduled rule that never fires would be a silent gap (a remediation that never
        // runs): refused until schedules run.
        return Err(EventsError::invalid(
            "Rampart does not run scheduled rules yet: ScheduleExpression is not supported; use an EventPattern.",
        ));
    }
    let new_tags = tags::parse(input.get("Tags"))?;
    let doc_of = |previous: Option<&RuleDoc>| RuleDoc {
        name: name.to_string(),
        bus: bus.clone(),
        pattern: pattern.map(str::to_string),
        schedule: schedule.map(str::to_string),
        state: opt_str(input, "State").unwrap_or("ENABLED").to_string(),
        description: opt_str(input, "Description").map(str::to_string),
        role_arn: opt_str(input, "RoleArn").map(str::to_string),
        targets: previous.map(|p| p.targets.clone()).unwrap_or_default(),
        tags: {
            let mut t = previous.map(|p| p.tags.clone()).unwrap_or_default();
            t.extend(new_tags.clone());
            t
        },
        created_by: account.clone(),
    };
    let arn = match model::find_rule(&mut db, account, &ctx.region, &bus, name).await? {
        Some(Rule { entity: e, doc }) => {
            let arn = e.arn.clone();
            let doc = doc_of(Some(&doc));
            entity::save_doc(&mut db, e, &doc, ctx.now).await?;
            arn
        }
        None => {
            let arn = model::rule_arn(&ctx.region, account, &bus, name);
            let mut e = model::new_entity(
                account,
                RULE,
                name,
                model::rule_key(&ctx.region, &bus, name),
                model::rule_path(&ctx.region, &bus),
                arn.clone(),
                ctx.now,
            );
            entity::write_doc(&mut e, &doc_of(None), ctx.now)?;
            db.entities().create(&e).await?;
            arn
        }
    };
    Ok(json!({ "RuleArn": arn }))
}

/// A rule as `DescribeRule` and `ListRules` show it.
fn shown(rule: &Rule) -> Value {
    let d = &rule.doc;
    let mut out = json!({
        "Name": d.name,
        "Arn": rule.arn(),
        "State": d.state,
        "EventBusName": d.bus,
    });
    if let Some(o) = out.as_object_mut() {
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                o.insert(k.to_string(), json!(v));
            }
        };
        put("EventPattern", &d.pattern);
        put("ScheduleExpression", &d.schedule);
        put("Description", &d.description);
        put("RoleArn", &d.role_arn);
    }
    out
}

/// The rule an input names (`Name`, `EventBusName`).
pub async fn named(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> EventsResult<Rule> {
    let name = name_of(input)?;
    let bus = bus_in(input, ctx)?;
    model::rule(db, &ctx.principal.account_id, &ctx.region, &bus, name).await
}

/// `DescribeRule`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let rule = named(input, ctx, &mut db).await?;
    let mut out = shown(&rule);
    if let Some(o) = out.as_object_mut() {
        o.insert("CreatedBy".into(), json!(rule.doc.created_by));
    }
    Ok(out)
}

/// `ListRules`: by name, with `NamePrefix`, `Limit` and `NextToken`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let bus = bus_in(input, ctx)?;
    let prefix = opt_str(input, "NamePrefix").unwrap_or_default();
    let rules: Vec<Rule> =
        model::rules_of_bus(&mut db, &ctx.principal.account_id, &ctx.region, &bus)
            .await?
            .into_iter()
            .filter(|r| r.doc.name.starts_with(prefix))
            .collect();
    let limit = limit_of(input)?;
    let page = page::at_offset(rules, opt_str(input, "NextToken"), limit)
        .ok_or_else(|| EventsError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ "Rules": page.items.iter().map(shown).collect::<Vec<_>>() });
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

/// `Limit` (1-100).
pub fn limit_of(input: &Value) -> EventsResult<usize> {
    match opt_int(input, "Limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=100).contains(&n) => Ok(usize::try_from(n).unwrap_or(DEFAULT_LIMIT)),
        Some(_) => Err(EventsError::invalid(
            "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 100",
        )),
    }
}

/// `DeleteRule`: refused while the rule has targets, as AWS does.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let name = name_of(input)?;
    let bus = bus_in(input, ctx)?;
    let account = &ctx.principal.account_id;
    // Deleting a rule that does not exist succeeds, as in AWS.
    let Some(rule) = model::find_rule(&mut db, account, &ctx.region, &bus, name).await? else {
        return Ok(json!({}));
    };
    if !rule.doc.targets.is_empty() {
        return Err(EventsError::invalid(
            "Rule can't be deleted since it has targets.",
        ));
    }
    db.entities()
        .delete(account, RULE, &rule.entity.name_key)
        .await?;
    Ok(json!({}))
}

/// `EnableRule`, `DisableRule`.
pub async fn set_state(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    state: &str,
) -> EventsResult<Value> {
    let Rule { entity: e, mut doc } = named(input, ctx, &mut db).await?;
    doc.state = state.to_string();
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `TestEventPattern`: whether an event (AWS's envelope, with its mandatory fields) matches.
pub fn test_pattern(input: &Value) -> EventsResult<Value> {
    let pattern = checked_pattern(opt_str(input, "EventPattern").unwrap_or_default())?;
    let event: Value = opt_str(input, "Event")
        .and_then(|e| serde_json::from_str(e).ok())
        .filter(Value::is_object)
        .ok_or_else(|| EventsError::invalid("Parameter Event is not valid."))?;
    for field in ["id", "account", "source", "time", "region", "detail-type"] {
        if event.get(field).and_then(Value::as_str).is_none() {
            return Err(EventsError::invalid(format!(
                "Parameter Event is not valid. Reason: Provided Event is missing field: {field}"
            )));
        }
    }
    if !event.get("resources").is_some_and(Value::is_array) {
        return Err(EventsError::invalid(
            "Parameter Event is not valid. Reason: Provided Event is missing field: resources",
        ));
    }
    Ok(json!({ "Result": pattern.matches(&event) }))
}

/// The default bus as `DescribeEventBus` shows it.
fn default_bus(ctx: &CallContext) -> Value {
    json!({
        "Name": model::DEFAULT_BUS,
        "Arn": model::bus_arn(&ctx.region, &ctx.principal.account_id, model::DEFAULT_BUS),
    })
}

/// `DescribeEventBus`: the default bus (no resource policy).
pub fn describe_bus(input: &Value, ctx: &CallContext) -> EventsResult<Value> {
    model::bus_of(
        opt_str(input, "Name"),
        &ctx.region,
        &ctx.principal.account_id,
    )?;
    Ok(default_bus(ctx))
}

/// `ListEventBuses`: the default bus, when `NamePrefix` admits it.
pub fn list_buses(input: &Value, ctx: &CallContext) -> EventsResult<Value> {
    let prefix = opt_str(input, "NamePrefix").unwrap_or_default();
    let buses: Vec<Value> = if model::DEFAULT_BUS.starts_with(prefix) {
        vec![default_bus(ctx)]
    } else {
        Vec::new()
    };
    Ok(json!({ "EventBuses": buses }))
}
