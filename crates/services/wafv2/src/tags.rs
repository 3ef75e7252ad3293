//! Tags: `TagResource`, `UntagResource`, `ListTagsForResource` on web ACLs, IP sets and
//! regex pattern sets.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_str, str_list},
};
use serde_json::{json, Value};

use crate::{
    error::{WafError, WafResult},
    model,
};

/// Tags per resource (AWS's quota).
const MAX_TAGS: usize = 50;

/// `TagResource`.
pub async fn tag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let arn = opt_str(input, "ResourceARN").unwrap_or_default();
    let mut item = model::find_arn(&mut db, ctx, arn).await?;
    item.doc.tags.extend(model::tags_in(input));
    if item.doc.tags.len() > MAX_TAGS {
        return Err(WafError::WAFLimitsExceededException(
            "AWS WAF couldn’t perform the operation because you exceeded your resource limit."
                .into(),
        ));
    }
    entity::save_doc(&mut db, item.entity, &item.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let arn = opt_str(input, "ResourceARN").unwrap_or_default();
    let mut item = model::find_arn(&mut db, ctx, arn).await?;
    for k in str_list(input, "TagKeys") {
        item.doc.tags.remove(&k);
    }
    entity::save_doc(&mut db, item.entity, &item.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `ListTagsForResource`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let arn = opt_str(input, "ResourceARN").unwrap_or_default();
    let item = model::find_arn(&mut db, ctx, arn).await?;
    let tags: Vec<Value> = item
        .doc
        .tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    Ok(json!({ "TagInfoForResource": {"ResourceARN": arn, "TagList": tags} }))
}
