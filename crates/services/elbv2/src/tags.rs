//! Tags: `AddTags`, `RemoveTags`, `DescribeTags` on load balancers, target groups, listeners
//! and rules; tags given at creation.

use std::collections::BTreeMap;

use rampart_kit::{context::CallContext, db::Db, entity, input::str_list};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};

use crate::{
    error::{ElbError, ElbResult},
    model::{self, ListenerDoc, LoadBalancerDoc, Loaded, RuleDoc, TargetGroupDoc, MAX_TAGS},
};

/// A `Tags` list (`[{Key, Value}]`), checked for duplicate keys.
pub fn parse(tags: Option<&Value>) -> ElbResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for t in tags.and_then(Value::as_array).into_iter().flatten() {
        let key = t.get("Key").and_then(Value::as_str).unwrap_or_default();
        let value = t.get("Value").and_then(Value::as_str).unwrap_or_default();
        if key.is_empty() {
            return Err(ElbError::invalid("A tag key must be specified"));
        }
        if out.insert(key.to_string(), value.to_string()).is_some() {
            return Err(ElbError::DuplicateTagKeys(format!(
                "Tag key '{key}' is duplicated"
            )));
        }
    }
    if out.len() > MAX_TAGS {
        return Err(ElbError::TooManyTags(
            "The quota for tags has been reached".into(),
        ));
    }
    Ok(out)
}

/// A tag map as AWS's `TagList`.
pub fn shown(tags: &BTreeMap<String, String>) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

/// The tags of any resource, read or changed through one function per kind.
trait Tagged {
    fn tags_mut(&mut self) -> &mut BTreeMap<String, String>;
}

macro_rules! tagged {
    ($($t:ty),*) => {$(
        impl Tagged for $t {
            fn tags_mut(&mut self) -> &mut BTreeMap<String, String> {
                &mut self.tags
            }
        }
    )*};
}
tagged!(LoadBalancerDoc, TargetGroupDoc, ListenerDoc, RuleDoc);

/// What to do with a resource's tags.
enum Change<'a> {
    Read,
    Add(&'a BTreeMap<String, String>),
    Remove(&'a [String]),
}

async fn apply<T: Tagged + Serialize + DeserializeOwned + Default>(
    db: &mut Db<'_>,
    ctx: &CallContext,
    mut found: Loaded<T>,
    change: &Change<'_>,
) -> ElbResult<BTreeMap<String, String>> {
    match change {
        Change::Read => {}
        Change::Add(add) => {
            let tags = found.doc.tags_mut();
            tags.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
            if tags.len() > MAX_TAGS {
                return Err(ElbError::TooManyTags(
                    "The quota for tags has been reached".into(),
                ));
            }
            entity::save_doc(db, found.entity.clone(), &found.doc, ctx.now).await?;
        }
        Change::Remove(keys) => {
            let tags = found.doc.tags_mut();
            for k in keys.iter() {
                tags.remove(k);
            }
            entity::save_doc(db, found.entity.clone(), &found.doc, ctx.now).await?;
        }
    }
    Ok(found.doc.tags_mut().clone())
}

/// Reads or changes the tags of the resource an ARN names.
async fn on_resource(
    db: &mut Db<'_>,
    ctx: &CallContext,
    arn: &str,
    change: &Change<'_>,
) -> ElbResult<BTreeMap<String, String>> {
    let account = &ctx.principal.account_id;
    let region = &ctx.region;
    if model::arn_tail(arn, "loadbalancer").is_some() {
        let lb = model::load_balancer(db, account, region, arn).await?;
        apply(db, ctx, lb, change).await
    } else if model::arn_tail(arn, "targetgroup").is_some() {
        let tg = model::target_group(db, account, region, arn).await?;
        apply(db, ctx, tg, change).await
    } else if model::arn_tail(arn, "listener-rule").is_some() {
        let r = model::rule(db, account, arn).await?;
        apply(db, ctx, r, change).await
    } else if model::arn_tail(arn, "listener").is_some() {
        let l = model::listener(db, account, arn).await?;
        apply(db, ctx, l, change).await
    } else {
        Err(ElbError::invalid(format!(
            "'{arn}' is not a valid resource ARN"
        )))
    }
}

/// `AddTags`.
pub async fn add(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let add = parse(input.get("Tags"))?;
    for arn in str_list(input, "ResourceArns") {
        on_resource(&mut db, ctx, &arn, &Change::Add(&add)).await?;
    }
    Ok(json!({}))
}

/// `RemoveTags`.
pub async fn remove(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let keys = str_list(input, "TagKeys");
    for arn in str_list(input, "ResourceArns") {
        on_resource(&mut db, ctx, &arn, &Change::Remove(&keys)).await?;
    }
    Ok(json!({}))
}

/// `DescribeTags`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let mut out = Vec::new();
    for arn in str_list(input, "ResourceArns") {
        let tags = on_resource(&mut db, ctx, &arn, &Change::Read).await?;
        out.push(json!({"ResourceArn": arn, "Tags": shown(&tags)}));
    }
    Ok(json!({ "TagDescriptions": out }))
}
