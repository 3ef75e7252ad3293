//! Rule groups of one's own: `CreateRuleGroup`, `GetRuleGroup`, `UpdateRuleGroup`,
//! `DeleteRuleGroup`, `ListRuleGroups`. The `Capacity` is fixed at creation and the rules
//! must fit it, now and after every update (AWS's WCU count); rules are compiled before they
//! are stored, so a stored group is one the engine evaluates. An update applies to the
//! listeners of every web ACL that references the group within a second (the listener
//! runtime recompiles them); a group a web ACL references cannot be deleted.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    compiled,
    engine::{rule_group, MAX_CAPACITY},
    error::{WafError, WafResult},
    model::{self, Item, ItemDoc, Kind},
    web_acls::{find_named, rampart_kit_entity, summary},
};

fn member(input: &Value, name: &str) -> Value {
    input.get(name).cloned().unwrap_or(Value::Null)
}

/// Checks that `doc`'s rules compile and fit its capacity.
async fn check(db: &mut Db<'_>, account: &str, arn: &str, doc: &ItemDoc) -> WafResult<()> {
    let refs = compiled::refs(
        db,
        account,
        &doc.rules,
        rule_group::namespace(account, &doc.name),
    )
    .await?;
    let (_, needed) =
        rule_group::compile_rules(arn, &doc.rules, &doc.custom_response_bodies, &refs)
            .map_err(compiled::invalid)?;
    if needed > doc.capacity {
        return Err(WafError::invalid(
            "RULE_GROUP",
            &needed.to_string(),
            "You exceeded the capacity limit for a rule group or web ACL.",
        ));
    }
    Ok(())
}

/// `CreateRuleGroup`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let scope = model::scope_of(input, ctx)?;
    let name = opt_str(input, "Name").unwrap_or_default();
    let capacity = input.get("Capacity").and_then(Value::as_u64).unwrap_or(0);
    if capacity == 0 {
        return Err(WafError::invalid(
            "RULE_GROUP",
            &capacity.to_string(),
            "The capacity must be at least 1.",
        ));
    }
    if capacity > MAX_CAPACITY {
        return Err(WafError::WAFLimitsExceededException(format!(
            "AWS WAF couldn’t perform the operation because you exceeded your resource limit: a rule group's capacity is at most {MAX_CAPACITY} WCUs."
        )));
    }
    let account = &ctx.principal.account_id;
    let key = model::new_key(&mut db, ctx, Kind::RuleGroup, &scope, name).await?;
    let id = model::new_token();
    let arn = model::arn(Kind::RuleGroup, &ctx.region, account, &scope, name, &id);
    let doc = ItemDoc {
        name: name.to_string(),
        id,
        scope: scope.clone(),
        description: opt_str(input, "Description").map(str::to_string),
        lock_token: model::new_token(),
        tags: model::tags_in(input),
        rules: member(input, "Rules")
            .as_array()
            .cloned()
            .unwrap_or_default(),
        visibility_config: member(input, "VisibilityConfig"),
        custom_response_bodies: member(input, "CustomResponseBodies"),
        capacity,
        ..ItemDoc::default()
    };
    check(&mut db, account, &arn, &doc).await?;
    let mut e = rampart_kit_entity(
        account,
        Kind::RuleGroup,
        name,
        key,
        &ctx.region,
        &scope,
        arn,
        ctx,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(json!({ "Summary": summary(&Item { entity: e, doc }) }))
}

/// The labels a rule group's rules add (`RuleLabels`) and match (`LabelMatchStatement`),
/// fully qualified.
fn labels(rules: &[Value], namespace: &str) -> (Vec<Value>, Vec<Value>) {
    fn walk(v: &Value, namespace: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(key) = m
                    .get("LabelMatchStatement")
                    .and_then(|l| l.get("Key"))
                    .and_then(Value::as_str)
                {
                    out.push(if key.starts_with("awswaf:") {
                        key.to_string()
                    } else {
                        format!("{namespace}{key}")
                    });
                }
                m.values().for_each(|x| walk(x, namespace, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, namespace, out)),
            _ => {}
        }
    }
    let mut added: Vec<String> = rules
        .iter()
        .filter_map(|r| r.get("RuleLabels")?.as_array())
        .flatten()
        .filter_map(|l| l.get("Name")?.as_str())
        .map(|l| format!("{namespace}{l}"))
        .collect();
    let mut consumed = Vec::new();
    rules.iter().for_each(|r| walk(r, namespace, &mut consumed));
    for list in [&mut added, &mut consumed] {
        list.sort();
        list.dedup();
    }
    let named = |l: Vec<String>| l.into_iter().map(|n| json!({ "Name": n })).collect();
    (named(added), named(consumed))
}

/// `GetRuleGroup` (by name, scope and id, or by ARN).
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let item = match opt_str(input, "ARN") {
        Some(arn) => model::find_arn(&mut db, ctx, arn).await?,
        None => find_named(&mut db, input, ctx, Kind::RuleGroup).await?,
    };
    if item.entity.kind != Kind::RuleGroup.entity_kind() {
        return Err(WafError::missing());
    }
    let d = &item.doc;
    let namespace = rule_group::namespace(&ctx.principal.account_id, &d.name);
    let (available, consumed) = labels(&d.rules, &namespace);
    let mut group = json!({
        "Name": d.name,
        "Id": d.id,
        "ARN": item.arn(),
        "Capacity": d.capacity,
        "Rules": d.rules,
        "VisibilityConfig": d.visibility_config,
        "LabelNamespace": namespace,
        "AvailableLabels": available,
        "ConsumedLabels": consumed,
    });
    model::put_extras(&mut group, d);
    Ok(json!({ "RuleGroup": group, "LockToken": d.lock_token }))
}

/// `UpdateRuleGroup`: replaces the rules when the lock token is current and they fit the
/// capacity.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let mut item = find_named(&mut db, input, ctx, Kind::RuleGroup).await?;
    model::check_lock(input, &item)?;
    let d = &mut item.doc;
    d.rules = member(input, "Rules")
        .as_array()
        .cloned()
        .unwrap_or_default();
    d.visibility_config = member(input, "VisibilityConfig");
    d.custom_response_bodies = member(input, "CustomResponseBodies");
    if let Some(desc) = opt_str(input, "Description") {
        d.description = Some(desc.to_string());
    }
    let arn = item.arn().to_string();
    check(&mut db, &ctx.principal.account_id, &arn, &item.doc).await?;
    model::save_update(&mut db, item, ctx).await
}

/// `DeleteRuleGroup`: refused while a web ACL references the group.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let item = find_named(&mut db, input, ctx, Kind::RuleGroup).await?;
    model::check_lock(input, &item)?;
    if model::referenced(&mut db, ctx, &item.doc.scope, item.arn()).await? {
        return Err(model::in_use());
    }
    model::remove(&mut db, &item).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_those_added_and_matched() {
        let rules = vec![json!({
            "Name": "a",
            "RuleLabels": [{"Name": "x:y"}],
            "Statement": {"AndStatement": {"Statements": [
                {"LabelMatchStatement": {"Scope": "LABEL", "Key": "z"}},
                {"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "awswaf:managed:aws:core-rule-set:"}}
            ]}}
        })];
        let (added, consumed) = labels(&rules, "awswaf:1:rulegroup:g:");
        assert_eq!(added, vec![json!({"Name": "awswaf:1:rulegroup:g:x:y"})]);
        assert_eq!(
            consumed,
            vec![
                json!({"Name": "awswaf:1:rulegroup:g:z"}),
                json!({"Name": "awswaf:managed:aws:core-rule-set:"})
            ]
        );
    }
}
