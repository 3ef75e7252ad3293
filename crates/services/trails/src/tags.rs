//! Trail tags: `AddTags`, `RemoveTags`, `ListTags` (and `TagsList` on `CreateTrail`).

use std::collections::BTreeMap;

use rampart_cloudtrail::CloudTrailError;
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_str, str_list},
};
use serde_json::{json, Value};

use crate::model::{self, Trail};

/// Tags per trail.
const MAX_TAGS: usize = 50;

fn bad_tag(message: &str) -> CloudTrailError {
    CloudTrailError::InvalidTagParameterException(message.to_string())
}

/// A `TagsList` member as a map (keys 1-128 characters, values at most 256).
pub fn parse_list(list: Option<&Value>) -> Result<BTreeMap<String, String>, CloudTrailError> {
    let mut out = BTreeMap::new();
    for tag in list.and_then(Value::as_array).into_iter().flatten() {
        let key = opt_str(tag, "Key").unwrap_or_default();
        let value = opt_str(tag, "Value").unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return Err(bad_tag(
                "Tag keys must be 1-128 characters and not start with aws:.",
            ));
        }
        if value.chars().count() > 256 {
            return Err(bad_tag("Tag values must be at most 256 characters."));
        }
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

fn as_list(tags: &BTreeMap<String, String>) -> Value {
    json!(tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect::<Vec<_>>())
}

/// The trail a `ResourceId` (a trail ARN) names.
async fn trail_of(db: &mut Db<'_>, ctx: &CallContext, id: &str) -> Result<Trail, ServiceError> {
    if model::parse_arn(id).is_none() {
        return Err(CloudTrailError::CloudTrailARNInvalidException(format!(
            "{id} is not a valid trail ARN."
        ))
        .into());
    }
    crate::api::resolve(db, ctx, id).await.map_err(|e| {
        if e.code == "TrailNotFoundException" {
            CloudTrailError::ResourceNotFoundException(format!("Resource {id} not found.")).into()
        } else {
            e
        }
    })
}

/// `AddTags`.
pub async fn add(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let mut trail = trail_of(
        &mut db,
        ctx,
        opt_str(input, "ResourceId").unwrap_or_default(),
    )
    .await?;
    for (k, v) in parse_list(input.get("TagsList"))? {
        trail.doc.tags.insert(k, v);
    }
    if trail.doc.tags.len() > MAX_TAGS {
        return Err(CloudTrailError::TagsLimitExceededException(
            "A resource can have at most 50 tags.".into(),
        )
        .into());
    }
    entity::save_doc(&mut db, trail.entity, &trail.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `RemoveTags`: removes the listed keys (a listed value must match to remove its tag).
pub async fn remove(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let mut trail = trail_of(
        &mut db,
        ctx,
        opt_str(input, "ResourceId").unwrap_or_default(),
    )
    .await?;
    for tag in input
        .get("TagsList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = opt_str(tag, "Key").unwrap_or_default();
        match opt_str(tag, "Value") {
            Some(v) if trail.doc.tags.get(key).is_some_and(|cur| cur != v) => {}
            _ => {
                trail.doc.tags.remove(key);
            }
        }
    }
    entity::save_doc(&mut db, trail.entity, &trail.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `ListTags`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let mut out = Vec::new();
    for id in str_list(input, "ResourceIdList") {
        let trail = trail_of(&mut db, ctx, &id).await?;
        out.push(json!({ "ResourceId": id, "TagsList": as_list(&trail.doc.tags) }));
    }
    Ok(json!({ "ResourceTagList": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists_are_checked() {
        let ok = parse_list(Some(&json!([{"Key": "team", "Value": "blue"}]))).unwrap();
        assert_eq!(ok.get("team").map(String::as_str), Some("blue"));
        assert!(parse_list(Some(&json!([{"Key": "", "Value": "x"}]))).is_err());
        assert!(parse_list(Some(&json!([{"Key": "aws:x", "Value": "x"}]))).is_err());
        assert_eq!(as_list(&ok), json!([{"Key": "team", "Value": "blue"}]));
    }
}
