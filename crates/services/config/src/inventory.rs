//! Inventory and history: `GetResourceConfigHistory`, `ListDiscoveredResources`,
//! `BatchGetResourceConfig`, `GetDiscoveredResourceCounts`, over the recorded items.

use std::collections::BTreeMap;

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::common::{limit, paged, strings, time};
use crate::error::{ConfigError, ConfigResult};
use crate::evaluate;
use crate::model::{epoch, ItemDoc, ResourceDoc, ITEM};
use crate::record;

/// A configuration item in AWS's schema (`configuration` and each supplementary
/// configuration as JSON text). `full` adds tags, relationships and related events (the
/// `BaseConfigurationItem` of `BatchGetResourceConfig` has none).
pub fn item_json(account: &str, item: &ItemDoc, full: bool) -> Value {
    let s = &item.snapshot;
    let supplementary: BTreeMap<&String, String> = s
        .supplementary
        .iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    let configuration = if s.configuration.is_null() {
        Value::Null
    } else {
        json!(s.configuration.to_string())
    };
    let mut v = json!({
        "version": "1.3",
        "accountId": account,
        "configurationItemCaptureTime": epoch(item.captured),
        "configurationItemStatus": item.status,
        "configurationStateId": item.captured.timestamp_millis().to_string(),
        "arn": s.arn,
        "resourceType": s.resource_type,
        "resourceId": s.resource_id,
        "awsRegion": s.region,
        "availabilityZone": if s.region == "global" { "Not Applicable" } else { "Regional" },
        "supplementaryConfiguration": supplementary,
        "recordingFrequency": "CONTINUOUS",
    });
    if let Some(name) = &s.resource_name {
        crate::common::set(&mut v, "resourceName", json!(name));
    }
    if let Some(created) = s.created {
        crate::common::set(&mut v, "resourceCreationTime", epoch(created));
    }
    if !configuration.is_null() {
        crate::common::set(&mut v, "configuration", configuration);
    }
    if full {
        crate::common::set(&mut v, "tags", json!(s.tags));
        crate::common::set(&mut v, "relationships", json!(s.relationships));
        crate::common::set(&mut v, "relatedEvents", json!([]));
        crate::common::set(&mut v, "configurationItemMD5Hash", json!(""));
    }
    v
}

fn not_discovered(resource_type: &str, id: &str) -> ConfigError {
    ConfigError::ResourceNotDiscoveredException(format!(
        "Resource {id} of resourceType:{resource_type} is unknown or has not been discovered"
    ))
}

/// Every item of one resource, oldest first.
async fn items_of(
    db: &mut Db<'_>,
    account: &str,
    resource_type: &str,
    resource_id: &str,
) -> ConfigResult<Vec<ItemDoc>> {
    let prefix = format!("{resource_type}|{resource_id}|");
    let mut out = Vec::new();
    let mut after = prefix.clone();
    loop {
        let page = db
            .entities()
            .list(account, ITEM, "/", Some(&after), 100)
            .await?;
        let mut more = page.truncated;
        for e in &page.items {
            if !e.name_key.starts_with(&prefix) {
                more = false;
                break;
            }
            out.push(doc_of::<ItemDoc>(e)?);
            after = e.name_key.clone();
        }
        if !more {
            return Ok(out);
        }
    }
}

/// `GetResourceConfigHistory`: newest first unless `chronologicalOrder` is `Forward`.
pub async fn history(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let rtype = input
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = input
        .get("resourceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let later = time(input, "laterTime");
    let earlier = time(input, "earlierTime");
    if let (Some(l), Some(e)) = (later, earlier) {
        if e > l {
            return Err(ConfigError::InvalidTimeRangeException(
                "The earlierTime must be before the laterTime.".into(),
            ));
        }
    }
    let max = limit(input, "limit", 10, 100)?;
    if record::resource(&mut db, account, rtype, id)
        .await?
        .is_none()
    {
        return Err(not_discovered(rtype, id));
    }
    let mut items: Vec<ItemDoc> = items_of(&mut db, account, rtype, id)
        .await?
        .into_iter()
        .filter(|i| later.is_none_or(|l| i.captured <= l))
        .filter(|i| earlier.is_none_or(|e| i.captured >= e))
        .collect();
    // AWS includes the item in force at earlierTime when none was captured after it.
    if items.is_empty() {
        if let Some(last) = items_of(&mut db, account, rtype, id)
            .await?
            .into_iter()
            .rfind(|i| later.is_none_or(|l| i.captured <= l))
        {
            items.push(last);
        }
    }
    if input.get("chronologicalOrder").and_then(Value::as_str) != Some("Forward") {
        items.reverse();
    }
    paged(items, input, "nextToken", max, "configurationItems", |i| {
        item_json(account, i, true)
    })
}

/// `ListDiscoveredResources`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let rtype = input
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ids = strings(input, "resourceIds");
    let name = input.get("resourceName").and_then(Value::as_str);
    if !ids.is_empty() && name.is_some() {
        return Err(ConfigError::ValidationException(
            "You cannot specify both resource IDs and a resource name.".into(),
        ));
    }
    let deleted = input
        .get("includeDeletedResources")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max = limit(input, "limit", 100, 100)?;
    let found: Vec<ResourceDoc> = all_resources(&mut db, account)
        .await?
        .into_iter()
        .filter(|r| r.resource_type == rtype)
        .filter(|r| deleted || r.deleted_at.is_none())
        .filter(|r| ids.is_empty() || ids.contains(&r.resource_id))
        .filter(|r| name.is_none_or(|n| r.resource_name.as_deref() == Some(n)))
        .collect();
    paged(found, input, "nextToken", max, "resourceIdentifiers", |r| {
        let mut v = json!({ "resourceType": r.resource_type, "resourceId": r.resource_id });
        if let Some(n) = &r.resource_name {
            crate::common::set(&mut v, "resourceName", json!(n));
        }
        if let Some(t) = r.deleted_at {
            crate::common::set(&mut v, "resourceDeletionTime", epoch(t));
        }
        v
    })
}

async fn all_resources(db: &mut Db<'_>, account: &str) -> ConfigResult<Vec<ResourceDoc>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, crate::model::RESOURCE, "", after.as_deref(), 200)
            .await?;
        for e in &page.items {
            out.push(doc_of(e)?);
        }
        after = page.items.last().map(|e| e.name_key.clone());
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// `BatchGetResourceConfig`: the current item of each key; keys never recorded come back
/// unprocessed.
pub async fn batch_get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let keys = input
        .get("resourceKeys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut items = Vec::new();
    let mut unprocessed = Vec::new();
    for k in keys {
        let rtype = k
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = k
            .get("resourceId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match items_of(&mut db, account, rtype, id).await?.pop() {
            Some(item) if item.status != "ResourceDeleted" => {
                items.push(item_json(account, &item, false));
            }
            Some(_) => {}
            None => unprocessed.push(k),
        }
    }
    Ok(json!({ "baseConfigurationItems": items, "unprocessedResourceKeys": unprocessed }))
}

/// `GetDiscoveredResourceCounts`: resources not deleted, by type, most numerous first.
pub async fn counts(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let types = strings(input, "resourceTypes");
    let max = limit(input, "limit", 100, 100)?;
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for r in evaluate::resources(&mut db, account).await? {
        if types.is_empty() || types.contains(&r.resource_type) {
            *by_type.entry(r.resource_type).or_default() += 1;
        }
    }
    let total: u64 = by_type.values().sum();
    let mut rows: Vec<(String, u64)> = by_type.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut v = paged(
        rows,
        input,
        "nextToken",
        max,
        "resourceCounts",
        |(t, n)| json!({ "resourceType": t, "count": n }),
    )?;
    crate::common::set(&mut v, "totalDiscoveredResources", json!(total));
    Ok(v)
}
