//! Rule tags: `TagResource`, `UntagResource`, `ListTagsForResource` (and `Tags` on
//! `PutRule`).

use std::collections::BTreeMap;

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_str, str_list},
};
use serde_json::{json, Value};

use crate::{
    error::{EventsError, EventsResult},
    model::{self, Rule},
};

/// Tags per resource (AWS's quota).
const MAX_TAGS: usize = 50;

/// A `Tags` member as a map (keys 1-128 characters, not `aws:`; values at most 256).
pub fn parse(list: Option<&Value>) -> EventsResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for tag in list.and_then(Value::as_array).into_iter().flatten() {
        let key = opt_str(tag, "Key").unwrap_or_default();
        let value = opt_str(tag, "Value").unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(EventsError::invalid(
                "Tag keys must be 1-128 characters and values at most 256.",
            ));
        }
        if key.starts_with("aws:") {
            return Err(EventsError::invalid(
                "Tag keys starting with 'aws:' are reserved for AWS use.",
            ));
        }
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

/// The rule a `ResourceARN` names (`arn:PARTITION:events:REGION:ACCOUNT:rule/[BUS/]NAME`).
async fn rule_of(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> EventsResult<Rule> {
    let not_found =
        || EventsError::ResourceNotFoundException(format!("Rule {arn} does not exist."));
    let prefix = ctx
        .partition()
        .arn("events", &ctx.region, &ctx.principal.account_id, "rule/");
    let rest = arn.strip_prefix(&prefix).ok_or_else(not_found)?;
    let (bus, name) = match rest.rsplit_once('/') {
        Some((bus, name)) => (bus, name),
        None => (model::DEFAULT_BUS, rest),
    };
    model::find_rule(db, &ctx.principal.account_id, &ctx.region, bus, name)
        .await?
        .ok_or_else(not_found)
}

/// `TagResource`.
pub async fn tag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let arn = opt_str(input, "ResourceARN").unwrap_or_default();
    let Rule { entity: e, mut doc } = rule_of(&mut db, ctx, arn).await?;
    doc.tags.extend(parse(input.get("Tags"))?);
    if doc.tags.len() > MAX_TAGS {
        return Err(EventsError::LimitExceededException(
            "The requested resource exceeds the maximum number allowed.".into(),
        ));
    }
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let arn = opt_str(input, "ResourceARN").unwrap_or_default();
    let Rule { entity: e, mut doc } = rule_of(&mut db, ctx, arn).await?;
    for key in str_list(input, "TagKeys") {
        doc.tags.remove(&key);
    }
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `ListTagsForResource`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let arn = opt_str(input, "ResourceARN").unwrap_or_default();
    let rule = rule_of(&mut db, ctx, arn).await?;
    let tags: Vec<Value> = rule
        .doc
        .tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    Ok(json!({ "Tags": tags }))
}
