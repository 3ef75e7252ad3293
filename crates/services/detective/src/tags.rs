//! Tags of graphs: `TagResource`, `UntagResource`, `ListTagsForResource`, and `Tags` on
//! `CreateGraph`.

use std::collections::BTreeMap;

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_str, str_list},
};
use serde_json::{json, Value};

use crate::{error::DetectiveError, model};

/// Tags per graph (`TagMap`'s bound).
const MAX_TAGS: usize = 50;

/// A `Tags` map, checked (keys 1-128 characters not starting with `aws:`, values at most
/// 256; the model checks the rest).
pub fn parse(tags: Option<&Value>) -> Result<BTreeMap<String, String>, DetectiveError> {
    let mut out = BTreeMap::new();
    for (k, v) in tags.and_then(Value::as_object).into_iter().flatten() {
        let v = v.as_str().unwrap_or_default();
        if k.is_empty()
            || k.chars().count() > 128
            || k.starts_with("aws:")
            || v.chars().count() > 256
        {
            return Err(DetectiveError::invalid(format!(
                "Invalid tag key or value: {k}"
            )));
        }
        out.insert(k.clone(), v.to_string());
    }
    if out.len() > MAX_TAGS {
        return Err(DetectiveError::invalid("A graph has at most 50 tags."));
    }
    Ok(out)
}

/// `TagResource`.
pub async fn tag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let g = model::own_graph(
        &mut db,
        ctx,
        opt_str(input, "ResourceArn").unwrap_or_default(),
    )
    .await?;
    let new = parse(input.get("Tags"))?;
    let mut doc = g.doc;
    doc.tags.extend(new);
    if doc.tags.len() > MAX_TAGS {
        return Err(DetectiveError::invalid("A graph has at most 50 tags.").into());
    }
    entity::save_doc(&mut db, g.entity, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let g = model::own_graph(
        &mut db,
        ctx,
        opt_str(input, "ResourceArn").unwrap_or_default(),
    )
    .await?;
    let mut doc = g.doc;
    for k in str_list(input, "TagKeys") {
        doc.tags.remove(&k);
    }
    entity::save_doc(&mut db, g.entity, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `ListTagsForResource`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let g = model::own_graph(
        &mut db,
        ctx,
        opt_str(input, "ResourceArn").unwrap_or_default(),
    )
    .await?;
    Ok(json!({ "Tags": g.doc.tags }))
}
