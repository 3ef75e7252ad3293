//! Aggregate inventory: `ListAggregateDiscoveredResources`,
//! `GetAggregateDiscoveredResourceCounts`, `BatchGetAggregateResourceConfig`,
//! `GetAggregateResourceConfig` and `SelectAggregateResourceConfig`, read at request time
//! from the items each source account stores (a resource belongs to its item's region).

use std::collections::BTreeMap;

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use serde_json::{json, Value};

use crate::aggregate_sources::{members_of, Members};
use crate::build::doc_of;
use crate::common::{limit, paged, set};
use crate::error::{ConfigError, ConfigResult};
use crate::evaluate;
use crate::inventory::item_json;
use crate::model::{item_key, ItemDoc, ResourceDoc, ITEM};
use crate::{record, select};

/// Every current resource the aggregator collects, with its account.
async fn resources(db: &mut Db<'_>, members: &Members) -> ConfigResult<Vec<(String, ResourceDoc)>> {
    let mut out = Vec::new();
    for (account, regions) in members {
        for r in evaluate::resources(db, account).await? {
            if regions.takes(&r.snapshot.region) {
                out.push((account.clone(), r));
            }
        }
    }
    Ok(out)
}

fn filter<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input
        .get("Filters")
        .and_then(|f| f.get(member))
        .and_then(Value::as_str)
}

fn identifier(account: &str, r: &ResourceDoc) -> Value {
    let mut v = json!({
        "SourceAccountId": account,
        "SourceRegion": r.snapshot.region,
        "ResourceId": r.resource_id,
        "ResourceType": r.resource_type,
    });
    if let Some(n) = &r.resource_name {
        set(&mut v, "ResourceName", json!(n));
    }
    v
}

/// `ListAggregateDiscoveredResources`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let max = limit(input, "Limit", 100, 100)?;
    let rtype = input
        .get("ResourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let found: Vec<(String, ResourceDoc)> = resources(&mut db, &members)
        .await?
        .into_iter()
        .filter(|(a, r)| {
            r.resource_type == rtype
                && filter(input, "AccountId").is_none_or(|f| f == a)
                && filter(input, "ResourceId").is_none_or(|f| f == r.resource_id)
                && filter(input, "ResourceName")
                    .is_none_or(|f| r.resource_name.as_deref() == Some(f))
                && filter(input, "Region").is_none_or(|f| f == r.snapshot.region)
        })
        .collect();
    paged(
        found,
        input,
        "NextToken",
        max,
        "ResourceIdentifiers",
        |(a, r)| identifier(a, r),
    )
}

/// `GetAggregateDiscoveredResourceCounts`: the total, and counts by `GroupByKey`.
pub async fn counts(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let max = limit(input, "Limit", 1000, 1000)?;
    let group = input.get("GroupByKey").and_then(Value::as_str);
    let mut total = 0u64;
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for (a, r) in resources(&mut db, &members).await? {
        if filter(input, "ResourceType").is_some_and(|f| f != r.resource_type)
            || filter(input, "AccountId").is_some_and(|f| f != a)
            || filter(input, "Region").is_some_and(|f| f != r.snapshot.region)
        {
            continue;
        }
        total += 1;
        let name = match group {
            Some("RESOURCE_TYPE") => r.resource_type,
            Some("ACCOUNT_ID") => a,
            Some("AWS_REGION") => r.snapshot.region,
            _ => continue,
        };
        *by.entry(name).or_default() += 1;
    }
    let mut v = paged(
        by.into_iter().collect(),
        input,
        "NextToken",
        max,
        "GroupedResourceCounts",
        |(g, n): &(String, u64)| json!({ "GroupName": g, "ResourceCount": n }),
    )?;
    set(&mut v, "TotalDiscoveredResources", json!(total));
    if let Some(g) = group {
        set(&mut v, "GroupByKey", json!(g));
    }
    Ok(v)
}

/// The current item of an identified resource the aggregator collects (not deleted).
async fn current_item(
    db: &mut Db<'_>,
    members: &Members,
    id: &Value,
) -> ConfigResult<Option<(String, ItemDoc)>> {
    let get = |m: &str| id.get(m).and_then(Value::as_str).unwrap_or_default();
    let (account, region) = (get("SourceAccountId"), get("SourceRegion"));
    let (rtype, rid) = (get("ResourceType"), get("ResourceId"));
    if !members.get(account).is_some_and(|r| r.takes(region)) {
        return Ok(None);
    }
    let Some((_, doc)) = record::resource(db, account, rtype, rid).await? else {
        return Ok(None);
    };
    if doc.deleted_at.is_some() || doc.snapshot.region != region {
        return Ok(None);
    }
    let key = item_key(rtype, rid, doc.version);
    match db.entities().get(account, ITEM, &key).await? {
        Some(e) => Ok(Some((account.to_string(), doc_of(&e)?))),
        None => Ok(None),
    }
}

/// `BatchGetAggregateResourceConfig`: current items without tags and relationships; the
/// identifiers not found come back unprocessed.
pub async fn batch_get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let ids = input
        .get("ResourceIdentifiers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut items = Vec::new();
    let mut unprocessed = Vec::new();
    for id in ids {
        match current_item(&mut db, &members, &id).await? {
            Some((account, item)) => items.push(item_json(&account, &item, false)),
            None => unprocessed.push(id),
        }
    }
    Ok(json!({
        "BaseConfigurationItems": items,
        "UnprocessedResourceIdentifiers": unprocessed,
    }))
}

/// `GetAggregateResourceConfig`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let id = input
        .get("ResourceIdentifier")
        .cloned()
        .unwrap_or(Value::Null);
    match current_item(&mut db, &members, &id).await? {
        Some((account, item)) => {
            Ok(json!({ "ConfigurationItem": item_json(&account, &item, true) }))
        }
        None => {
            let get = |m: &str| id.get(m).and_then(Value::as_str).unwrap_or_default();
            Err(ConfigError::ResourceNotDiscoveredException(format!(
                "Resource {} of resourceType:{} is unknown or has not been discovered",
                get("ResourceId"),
                get("ResourceType")
            )))
        }
    }
}

/// `SelectAggregateResourceConfig`: the query over every collected account's current items.
pub async fn select(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let (q, max) = select::parse_request(input)?;
    let mut items = Vec::new();
    for (account, regions) in &members {
        for d in select::documents(&mut db, account).await? {
            let region = d
                .get("awsRegion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if regions.takes(region) {
                items.push(d);
            }
        }
    }
    select::answer(&q, items, input, max)
}
