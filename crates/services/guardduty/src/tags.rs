//! Tags of detectors, lists and filters: `TagResource`, `UntagResource`, `ListTagsForResource`, and
//! `Tags` on the create calls.

use std::collections::BTreeMap;

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_str, str_list},
};
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::{
    error::GuardDutyError,
    filters::{self, FilterDoc},
    model::{self, DetectorDoc, ListDoc},
};

/// Tags per resource.
const MAX_TAGS: usize = 50;

/// A `Tags` map, checked (keys 1-128 characters not starting with `aws:`, values at most 256).
pub fn parse(tags: Option<&Value>) -> Result<BTreeMap<String, String>, GuardDutyError> {
    let mut out = BTreeMap::new();
    for (k, v) in tags.and_then(Value::as_object).into_iter().flatten() {
        let v = v.as_str().unwrap_or_default();
        if k.is_empty()
            || k.chars().count() > 128
            || k.starts_with("aws:")
            || v.chars().count() > 256
        {
            return Err(GuardDutyError::invalid_input());
        }
        out.insert(k.clone(), v.to_string());
    }
    if out.len() > MAX_TAGS {
        return Err(GuardDutyError::invalid_input());
    }
    Ok(out)
}

/// What a GuardDuty ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The region.
    pub region: String,
    /// The account.
    pub account: String,
    /// The detector id.
    pub detector_id: String,
    /// The list's or filter's entity kind and name key, when the ARN names one.
    pub list: Option<(&'static str, String)>,
}

/// What a GuardDuty ARN (`...:detector/ID`, `.../ipset/ID`, `.../threatintelset/ID`,
/// `.../filter/NAME`) names.
pub fn parse_arn(arn: &str) -> Option<Named> {
    let partition = rampart_kit::Partition::of_arn(arn)?;
    let rest = partition.strip_arn(arn, "guardduty")?;
    let mut parts = rest.splitn(3, ':');
    let region = parts.next()?.to_string();
    // A regional ARN carries its region's partition (`arn:aws-cn:guardduty:cn-north-1:...`).
    if rampart_kit::Partition::of_region(&region) != partition {
        return None;
    }
    let account = parts.next()?.to_string();
    let path: Vec<&str> = parts.next()?.split('/').collect();
    let (detector_id, list) = match path.as_slice() {
        ["detector", id] => ((*id).to_string(), None),
        ["detector", id, "ipset", set] => {
            ((*id).to_string(), Some((model::IPSET, (*set).to_string())))
        }
        ["detector", id, "filter", name] => (
            (*id).to_string(),
            Some((filters::FILTER, filters::key(id, name))),
        ),
        ["detector", id, "threatintelset", set] => (
            (*id).to_string(),
            Some((model::THREAT_INTEL_SET, (*set).to_string())),
        ),
        _ => return None,
    };
    Some(Named {
        region,
        account,
        detector_id,
        list,
    })
}

/// The tagged entity an ARN names in the caller's account and region.
async fn tagged(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> Result<Entity, ServiceError> {
    let Some(Named {
        region,
        account,
        detector_id,
        list,
    }) = parse_arn(arn)
    else {
        return Err(GuardDutyError::invalid_input().into());
    };
    if account != ctx.principal.account_id || region != ctx.region {
        return Err(GuardDutyError::invalid_input().into());
    }
    let d = model::detector(db, ctx, &detector_id).await?;
    match list {
        None => Ok(d.entity),
        Some((kind, id)) => entity::find(db, &account, kind, &id)
            .await?
            .filter(|e| e.path == model::under(d.id()))
            .ok_or_else(|| GuardDutyError::invalid_input().into()),
    }
}

/// Reads, changes and writes back the tags of `e`.
async fn change(
    db: &mut Db<'_>,
    ctx: &CallContext,
    e: Entity,
    f: impl FnOnce(&mut BTreeMap<String, String>),
) -> Result<(), ServiceError> {
    if e.kind == model::DETECTOR {
        let mut doc: DetectorDoc = entity::read_doc(&e)?;
        f(&mut doc.tags);
        if doc.tags.len() > MAX_TAGS {
            return Err(GuardDutyError::invalid_input().into());
        }
        entity::save_doc(db, e, &doc, ctx.now).await
    } else if e.kind == filters::FILTER {
        let mut doc: FilterDoc = entity::read_doc(&e)?;
        f(&mut doc.tags);
        if doc.tags.len() > MAX_TAGS {
            return Err(GuardDutyError::invalid_input().into());
        }
        entity::save_doc(db, e, &doc, ctx.now).await
    } else {
        let mut doc: ListDoc = entity::read_doc(&e)?;
        f(&mut doc.tags);
        if doc.tags.len() > MAX_TAGS {
            return Err(GuardDutyError::invalid_input().into());
        }
        entity::save_doc(db, e, &doc, ctx.now).await
    }
}

/// `TagResource`.
pub async fn tag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let e = tagged(
        &mut db,
        ctx,
        opt_str(input, "ResourceArn").unwrap_or_default(),
    )
    .await?;
    let new = parse(input.get("Tags"))?;
    change(&mut db, ctx, e, |tags| tags.extend(new)).await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let e = tagged(
        &mut db,
        ctx,
        opt_str(input, "ResourceArn").unwrap_or_default(),
    )
    .await?;
    let keys = str_list(input, "TagKeys");
    change(&mut db, ctx, e, |tags| {
        for k in &keys {
            tags.remove(k);
        }
    })
    .await?;
    Ok(json!({}))
}

/// `ListTagsForResource`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let e = tagged(
        &mut db,
        ctx,
        opt_str(input, "ResourceArn").unwrap_or_default(),
    )
    .await?;
    let tags = if e.kind == model::DETECTOR {
        entity::read_doc::<DetectorDoc>(&e)?.tags
    } else if e.kind == filters::FILTER {
        entity::read_doc::<FilterDoc>(&e)?.tags
    } else {
        entity::read_doc::<ListDoc>(&e)?.tags
    };
    Ok(json!({ "Tags": tags }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn arns_are_read_in_their_regions_partition() {
        let cn =
            parse_arn("arn:aws-cn:guardduty:cn-north-1:111122223333:detector/d1/ipset/s1").unwrap();
        assert_eq!(
            (
                cn.region.as_str(),
                cn.account.as_str(),
                cn.detector_id.as_str()
            ),
            ("cn-north-1", "111122223333", "d1")
        );
        assert_eq!(cn.list, Some((model::IPSET, "s1".to_string())));
        let us = parse_arn("arn:aws:guardduty:us-east-1:111122223333:detector/d1").unwrap();
        assert_eq!(us.list, None);
        // An ARN whose partition is not its region's names nothing.
        assert!(parse_arn("arn:aws:guardduty:cn-north-1:111122223333:detector/d1").is_none());
        assert!(parse_arn("arn:aws-cn:guardduty:us-east-1:111122223333:detector/d1").is_none());
        assert!(parse_arn("arn:aws-cn:s3:::b").is_none());
    }
}
