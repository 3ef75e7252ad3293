//! `SelectResourceConfig`: Config's SQL subset ([`crate::query`]) run over the current
//! configuration items of the account's recorded resources (deleted ones are not matched).
//!
//! Each item is queried in AWS's advanced-query shape: the item's members, `configuration`
//! and `supplementaryConfiguration` as objects, `tags` as a list of `{key, value, tag}`.
//! A path that crosses a list matches when any element matches (AWS flattens lists). Each
//! result is one JSON text with the selected properties nested as in the item.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use serde_json::{json, Map, Value};

use crate::build::doc_of;
use crate::common::{limit, paged};
use crate::error::{ConfigError, ConfigResult};
use crate::model::{ResourceDoc, RESOURCE};
use crate::query::{self, Cmp, Cond, Field, Literal, Query};

/// AWS's limit on `Expression`.
const MAX_EXPRESSION: usize = 4096;

/// `SelectResourceConfig`.
pub async fn select(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let (q, max) = parse_request(input)?;
    let items = documents(&mut db, &ctx.principal.account_id).await?;
    answer(&q, items, input, max)
}

/// The request's query and page size (`Limit`, or `MaxResults` of the aggregate query).
pub fn parse_request(input: &Value) -> ConfigResult<(Query, usize)> {
    let expression = input
        .get("Expression")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if expression.is_empty() || expression.len() > MAX_EXPRESSION {
        return Err(ConfigError::InvalidExpressionException(
            "The expression must have a length between 1 and 4096.".into(),
        ));
    }
    let q = query::parse(expression).map_err(|e| {
        ConfigError::InvalidExpressionException(format!("Invalid query expression: {}", e.0))
    })?;
    let aggregation = q.group_by.is_some() || q.fields.contains(&Field::Count);
    let default = if aggregation { 500 } else { 25 };
    let member = if input.get("MaxResults").is_some() {
        "MaxResults"
    } else {
        "Limit"
    };
    let max = limit(input, member, default, 100)?;
    Ok((q, max))
}

/// The page of a query's results over `items`, with `QueryInfo`.
pub fn answer(q: &Query, items: Vec<Value>, input: &Value, max: usize) -> ConfigResult<Value> {
    let rows = run(q, items);
    let names: Vec<Value> = if q.star {
        vec![json!({ "Name": "*" })]
    } else {
        q.fields
            .iter()
            .map(|f| match f {
                Field::Count => json!({ "Name": "COUNT(*)" }),
                Field::Property(p) => json!({ "Name": p }),
            })
            .collect()
    };
    let mut out = paged(rows, input, "NextToken", max, "Results", |r| {
        json!(r.to_string())
    })?;
    crate::common::set(&mut out, "QueryInfo", json!({ "SelectFields": names }));
    Ok(out)
}

/// The account's current items in the advanced-query shape.
pub async fn documents(db: &mut Db<'_>, account: &str) -> ConfigResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, RESOURCE, "", after.as_deref(), 200)
            .await?;
        for e in &page.items {
            let r: ResourceDoc = doc_of(e)?;
            if r.deleted_at.is_none() {
                out.push(document(account, &r, e.updated_at));
            }
        }
        after = page.items.last().map(|e| e.name_key.clone());
        if !page.truncated {
            return Ok(out);
        }
    }
}

fn document(account: &str, r: &ResourceDoc, captured: chrono::DateTime<chrono::Utc>) -> Value {
    let mut doc = crate::custom::document(account, r, None, captured);
    if let Some(m) = doc.as_object_mut() {
        m.remove("InputParameters");
        m.remove("relatedEvents");
        m.remove("configurationItemMD5Hash");
    }
    let tags: Vec<Value> = r
        .snapshot
        .tags
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v, "tag": format!("{k}={v}") }))
        .collect();
    crate::common::set(&mut doc, "tags", json!(tags));
    doc
}

/// Runs a parsed query over item documents: the result rows.
pub fn run(q: &Query, items: Vec<Value>) -> Vec<Value> {
    let mut matched: Vec<Value> = items
        .into_iter()
        .filter(|d| q.filter.as_ref().is_none_or(|c| holds(c, d)))
        .collect();
    if q.group_by.is_some() || q.fields.contains(&Field::Count) {
        let mut rows = aggregate(q, &matched);
        sort(&mut rows, &q.order_by);
        return rows;
    }
    sort(&mut matched, &q.order_by);
    if q.star {
        return matched;
    }
    matched
        .iter()
        .map(|d| {
            let mut row = Value::Object(Map::new());
            for f in &q.fields {
                if let Field::Property(p) = f {
                    let path: Vec<&str> = p.split('.').collect();
                    if let Some(v) = project(d, &path) {
                        merge(&mut row, v);
                    }
                }
            }
            row
        })
        .collect()
}

fn aggregate(q: &Query, matched: &[Value]) -> Vec<Value> {
    let Some(group) = &q.group_by else {
        return vec![json!({ "COUNT(*)": matched.len() })];
    };
    let path: Vec<&str> = group.split('.').collect();
    let mut groups: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    for d in matched {
        let key = leaves(d, &path)
            .first()
            .map_or(Value::Null, |v| (*v).clone());
        let slot = groups.entry(key.to_string()).or_insert((key, 0));
        slot.1 += 1;
    }
    groups
        .into_values()
        .map(|(key, n)| {
            let mut row = Value::Object(Map::new());
            if !key.is_null() {
                if let Some(v) = nest(&path, key) {
                    merge(&mut row, v);
                }
            }
            crate::common::set(&mut row, "COUNT(*)", json!(n));
            row
        })
        .collect()
}

fn sort(rows: &mut [Value], order: &[(String, bool)]) {
    if order.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        for (prop, desc) in order {
            let path: Vec<&str> = if prop == "COUNT(*)" {
                vec![prop.as_str()]
            } else {
                prop.split('.').collect()
            };
            let x = leaves(a, &path).first().copied().cloned();
            let y = leaves(b, &path).first().copied().cloned();
            let o = compare_values(x.as_ref(), y.as_ref());
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

/// The values at a path, lists flattened (each element taken, and a list at the end gives
/// its elements).
fn leaves<'a>(v: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    let mut current = vec![v];
    for step in path {
        let mut next = Vec::new();
        for c in current {
            match c {
                Value::Object(m) => next.extend(m.get(*step)),
                Value::Array(a) => next.extend(a.iter().filter_map(|e| e.get(*step))),
                _ => {}
            }
        }
        current = next;
    }
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        })
        .collect()
}

/// The value at a path kept in its nesting (`{"a": {"b": 1}}` for `a.b`).
fn project(v: &Value, path: &[&str]) -> Option<Value> {
    let Some((head, rest)) = path.split_first() else {
        return Some(v.clone());
    };
    match v {
        Value::Object(m) => {
            let inner = project(m.get(*head)?, rest)?;
            Some(json!({ *head: inner }))
        }
        Value::Array(a) => {
            let parts: Vec<Value> = a.iter().filter_map(|e| project(e, path)).collect();
            (!parts.is_empty()).then_some(Value::Array(parts))
        }
        _ => None,
    }
}

fn nest(path: &[&str], leaf: Value) -> Option<Value> {
    let mut v = leaf;
    for step in path.iter().rev() {
        v = json!({ *step: v });
    }
    Some(v)
}

/// Deep-merges `add` into `into` (objects member by member).
fn merge(into: &mut Value, add: Value) {
    match (into, add) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn matches(v: &Value, op: Cmp, lit: &Literal) -> bool {
    let o = match (v, lit) {
        (Value::String(s), Literal::Text(t)) => s.as_str().cmp(t.as_str()),
        (Value::Number(n), Literal::Number(x)) => match n.as_f64().and_then(|n| n.partial_cmp(x)) {
            Some(o) => o,
            None => return false,
        },
        (Value::String(s), Literal::Number(x)) => {
            match s.parse::<f64>().ok().and_then(|n| n.partial_cmp(x)) {
                Some(o) => o,
                None => return false,
            }
        }
        (Value::Bool(b), Literal::Bool(x)) => b.cmp(x),
        (Value::Bool(b), Literal::Text(t)) => b.to_string().as_str().cmp(t.as_str()),
        (Value::Number(n), Literal::Text(t)) => n.to_string().as_str().cmp(t.as_str()),
        _ => return false,
    };
    match op {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::Ne => o != Ordering::Equal,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
    }
}

/// True when the condition holds for an item.
fn holds(c: &Cond, d: &Value) -> bool {
    let at = |p: &str| {
        let path: Vec<&str> = p.split('.').collect();
        leaves(d, &path)
    };
    match c {
        Cond::And(a, b) => holds(a, d) && holds(b, d),
        Cond::Or(a, b) => holds(a, d) || holds(b, d),
        Cond::Not(a) => !holds(a, d),
        Cond::Compare(p, op, lit) => at(p).iter().any(|v| matches(v, *op, lit)),
        Cond::In(p, lits) => at(p)
            .iter()
            .any(|v| lits.iter().any(|l| matches(v, Cmp::Eq, l))),
        Cond::Between(p, low, high) => at(p)
            .iter()
            .any(|v| matches(v, Cmp::Ge, low) && matches(v, Cmp::Le, high)),
        Cond::Like(p, prefix, wildcard) => at(p).iter().any(|v| match v {
            Value::String(s) if *wildcard => s.starts_with(prefix.as_str()),
            Value::String(s) => s == prefix,
            _ => false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        vec![
            json!({"resourceType": "AWS::S3::Bucket", "resourceId": "logs",
                   "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": "Enabled"}},
                   "tags": [{"key": "env", "value": "prod", "tag": "env=prod"}]}),
            json!({"resourceType": "AWS::S3::Bucket", "resourceId": "tmp",
                   "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": "Off"}},
                   "tags": []}),
            json!({"resourceType": "AWS::IAM::User", "resourceId": "AIDA1", "resourceName": "alice",
                   "configuration": {"attachedManagedPolicies": [{"policyName": "a"}, {"policyName": "b"}]}}),
        ]
    }

    fn query(src: &str) -> Vec<Value> {
        run(&query::parse(src).unwrap(), items())
    }

    #[test]
    fn filters_and_projects_nested_properties() {
        let rows = query(
            "SELECT resourceId, supplementaryConfiguration.BucketVersioningConfiguration.status \
             WHERE resourceType = 'AWS::S3::Bucket' AND supplementaryConfiguration.BucketVersioningConfiguration.status != 'Enabled'",
        );
        assert_eq!(
            rows,
            vec![
                json!({"resourceId": "tmp", "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": "Off"}}})
            ]
        );
    }

    #[test]
    fn lists_match_by_any_element() {
        let rows = query(
            "SELECT resourceName WHERE configuration.attachedManagedPolicies.policyName = 'b'",
        );
        assert_eq!(rows, vec![json!({"resourceName": "alice"})]);
        let rows = query("SELECT resourceId WHERE tags.tag = 'env=prod'");
        assert_eq!(rows, vec![json!({"resourceId": "logs"})]);
    }

    #[test]
    fn in_like_not_order_and_counts() {
        let rows =
            query("SELECT resourceId WHERE resourceId IN ('tmp', 'logs') ORDER BY resourceId DESC");
        assert_eq!(
            rows,
            vec![json!({"resourceId": "tmp"}), json!({"resourceId": "logs"})]
        );
        let rows = query("SELECT resourceId WHERE resourceId LIKE 'AID%'");
        assert_eq!(rows, vec![json!({"resourceId": "AIDA1"})]);
        let rows = query("SELECT resourceId WHERE NOT resourceType = 'AWS::S3::Bucket'");
        assert_eq!(rows.len(), 1);
        let rows =
            query("SELECT resourceType, COUNT(*) GROUP BY resourceType ORDER BY COUNT(*) DESC");
        assert_eq!(
            rows,
            vec![
                json!({"resourceType": "AWS::S3::Bucket", "COUNT(*)": 2}),
                json!({"resourceType": "AWS::IAM::User", "COUNT(*)": 1}),
            ]
        );
        assert_eq!(
            query("SELECT COUNT(*) WHERE resourceType = 'AWS::S3::Bucket'"),
            vec![json!({"COUNT(*)": 2})]
        );
    }

    proptest::proptest! {
        #[test]
        fn running_any_parsed_query_never_panics(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just("SELECT"), proptest::prelude::Just("WHERE"),
                    proptest::prelude::Just("AND"), proptest::prelude::Just("OR"),
                    proptest::prelude::Just("NOT"), proptest::prelude::Just("IN ('tmp', 1)"),
                    proptest::prelude::Just("BETWEEN 'a' AND 'z'"), proptest::prelude::Just("LIKE 'A%'"),
                    proptest::prelude::Just("GROUP BY resourceType"), proptest::prelude::Just("COUNT(*)"),
                    proptest::prelude::Just("ORDER BY"), proptest::prelude::Just("DESC"),
                    proptest::prelude::Just(","), proptest::prelude::Just("*"),
                    proptest::prelude::Just("= 'AWS::S3::Bucket'"), proptest::prelude::Just("< 2"),
                    proptest::prelude::Just("resourceId"), proptest::prelude::Just("resourceType"),
                    proptest::prelude::Just("tags.tag"), proptest::prelude::Just("configuration.attachedManagedPolicies"),
                ],
                0..16,
            )
        ) {
            if let Ok(q) = query::parse(&parts.join(" ")) {
                let _ = run(&q, items());
            }
        }
    }
}
