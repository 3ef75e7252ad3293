//! Tags on protections and protection groups: `TagResource`, `UntagResource`,
//! `ListTagsForResource`.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_str, str_list},
};
use serde_json::{json, Value};

use crate::{
    error::{ShieldError, ShieldResult},
    model::{self, GroupDoc, ProtectionDoc, GROUP, PROTECTION},
};

/// Tags per resource (AWS's quota).
const MAX_TAGS: usize = 200;

/// What an ARN names: (entity kind, id).
fn target(ctx: &CallContext, arn: &str) -> ShieldResult<(&'static str, String)> {
    let prefix = ctx
        .partition()
        .arn("shield", "", &ctx.principal.account_id, "");
    let rest = arn.strip_prefix(&prefix).ok_or_else(|| {
        ShieldError::InvalidResourceException(format!("Unrecognized resource '{arn}'."))
    })?;
    if let Some(id) = rest.strip_prefix("protection/") {
        Ok((PROTECTION, id.to_string()))
    } else if let Some(id) = rest.strip_prefix("protection-group/") {
        Ok((GROUP, id.to_string()))
    } else {
        Err(ShieldError::InvalidResourceException(format!(
            "Unrecognized resource '{arn}'."
        )))
    }
}

/// Applies `change` to the tags of the resource `ResourceARN` names.
async fn with_tags(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    change: impl FnOnce(&mut std::collections::BTreeMap<String, String>) -> ShieldResult<bool>,
) -> ShieldResult<std::collections::BTreeMap<String, String>> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "ResourceARN").unwrap_or_default();
    let (kind, id) = target(ctx, arn)?;
    let missing = || ShieldError::missing("resource");
    if kind == PROTECTION {
        let mut p = model::load::<ProtectionDoc>(db, account, kind, &id)
            .await?
            .ok_or_else(missing)?;
        if change(&mut p.doc.tags)? {
            entity::save_doc(db, p.entity, &p.doc, ctx.now).await?;
        }
        Ok(p.doc.tags)
    } else {
        let mut g = model::load::<GroupDoc>(db, account, kind, &id)
            .await?
            .ok_or_else(missing)?;
        if change(&mut g.doc.tags)? {
            entity::save_doc(db, g.entity, &g.doc, ctx.now).await?;
        }
        Ok(g.doc.tags)
    }
}

/// `TagResource`.
pub async fn tag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let new = model::tags_in(input)?;
    with_tags(input, ctx, &mut db, |tags| {
        tags.extend(new);
        if tags.len() > MAX_TAGS {
            return Err(ShieldError::LimitsExceededException(
                "You have reached the limit of tags on the resource.".into(),
            ));
        }
        Ok(true)
    })
    .await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let keys = str_list(input, "TagKeys");
    with_tags(input, ctx, &mut db, |tags| {
        for k in &keys {
            tags.remove(k);
        }
        Ok(true)
    })
    .await?;
    Ok(json!({}))
}

/// `ListTagsForResource`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let tags = with_tags(input, ctx, &mut db, |_| Ok(false)).await?;
    Ok(json!({"Tags": model::tag_list(&tags)}))
}
