//! The managed rule groups Rampart offers (vendor `AWS`): `ListAvailableManagedRuleGroups`,
//! `DescribeManagedRuleGroup` and `ListAvailableManagedRuleGroupVersions`. The groups are
//! built in ([`crate::engine::managed`]); nothing is stored.

use rampart_kit::{context::CallContext, db::Db, input::opt_str};
use serde_json::{json, Value};

use crate::{
    engine::managed::{self, ManagedGroup, VERSION, VERSION_PUBLISHED},
    error::{WafError, WafResult},
    model,
};

/// A page of `items` after `NextMarker` (a name), at most `Limit` long, with the marker of
/// the next page when there is one.
fn page<'a, T>(
    input: &Value,
    items: &'a [T],
    name: impl Fn(&T) -> &str,
) -> (Vec<&'a T>, Option<String>) {
    let limit = input
        .get("Limit")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let marker = opt_str(input, "NextMarker");
    let rest: Vec<&T> = items
        .iter()
        .filter(|i| marker.is_none_or(|m| name(i) > m))
        .collect();
    let next = (rest.len() > limit)
        .then(|| rest.get(limit - 1).map(|i| name(i).to_string()))
        .flatten();
    (rest.into_iter().take(limit).collect(), next)
}

fn group_named(input: &Value) -> WafResult<&'static ManagedGroup> {
    let vendor = opt_str(input, "VendorName").unwrap_or_default();
    let name = opt_str(input, "Name").unwrap_or_default();
    managed::find(vendor, name).ok_or_else(WafError::missing)
}

/// `ListAvailableManagedRuleGroups`.
pub async fn list(input: &Value, ctx: &CallContext, _db: Db<'_>) -> WafResult<Value> {
    model::scope_of(input, ctx)?;
    let (groups, next) = page(input, managed::groups(), |g| g.name);
    let mut out = json!({
        "ManagedRuleGroups": groups.iter().map(|g| json!({
            "VendorName": managed::VENDOR,
            "Name": g.name,
            "VersioningSupported": true,
            "Description": g.description,
        })).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        model::put(&mut out, "NextMarker", json!(next));
    }
    Ok(out)
}

/// `DescribeManagedRuleGroup`: the rules with their actions, the capacity and the labels.
pub async fn describe(input: &Value, ctx: &CallContext, _db: Db<'_>) -> WafResult<Value> {
    model::scope_of(input, ctx)?;
    let group = group_named(input)?;
    if opt_str(input, "VersionName").is_some_and(|v| v != VERSION) {
        return Err(WafError::missing());
    }
    let namespace = group.label_namespace();
    let rules = (group.rules)();
    Ok(json!({
        "VersionName": VERSION,
        "Capacity": group.capacity,
        "Rules": rules.iter().map(|r| json!({"Name": r.name, "Action": {"Block": {}}})).collect::<Vec<_>>(),
        "LabelNamespace": namespace,
        "AvailableLabels": rules.iter().map(|r| json!({"Name": format!("{namespace}{}", r.label)})).collect::<Vec<_>>(),
        "ConsumedLabels": [],
    }))
}

/// `ListAvailableManagedRuleGroupVersions`.
pub async fn versions(input: &Value, ctx: &CallContext, _db: Db<'_>) -> WafResult<Value> {
    model::scope_of(input, ctx)?;
    group_named(input)?;
    let all = [VERSION];
    let (versions, next) = page(input, &all, |v| v);
    let mut out = json!({
        "Versions": versions.iter().map(|v| json!({"Name": v, "LastUpdateTimestamp": VERSION_PUBLISHED})).collect::<Vec<_>>(),
        "CurrentDefaultVersion": VERSION,
    });
    if let Some(next) = next {
        model::put(&mut out, "NextMarker", json!(next));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_marker_and_the_limit() {
        let names = ["a", "b", "c"];
        let (first, next) = page(&json!({"Limit": 2}), &names, |n| n);
        assert_eq!(first, [&"a", &"b"]);
        assert_eq!(next.as_deref(), Some("b"));
        let (rest, next) = page(&json!({"Limit": 2, "NextMarker": "b"}), &names, |n| n);
        assert_eq!(rest, [&"c"]);
        assert_eq!(next, None);
        let (all, next) = page(&json!({}), &names, |n| n);
        assert_eq!(all.len(), 3);
        assert_eq!(next, None);
    }

    #[test]
    fn groups_are_found_by_vendor_and_name() {
        let found =
            group_named(&json!({"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}));
        assert_eq!(found.map(|g| g.capacity).ok(), Some(200));
        for missing in [
            json!({"VendorName": "AWS", "Name": "AWSManagedRulesNope"}),
            json!({"VendorName": "F5", "Name": "AWSManagedRulesSQLiRuleSet"}),
        ] {
            assert!(matches!(
                group_named(&missing),
                Err(WafError::WAFNonexistentItemException(_))
            ));
        }
    }
}
