//! Findings: `ListFindings`, `ListFindingsV2`, `GetFinding`, `GetFindingV2`,
//! `UpdateFindings` and `GetFindingsStatistics`. `ListFindings` and `GetFinding` serve
//! external access analyzers only (AWS: "You must use ListFindingsV2 for internal and unused
//! access analyzers"); the V2 operations serve every kind.

use std::collections::BTreeMap;

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_str, str_list},
    page,
    timestamp::ts,
};
use serde_json::{json, Value};

use crate::{
    analyzers::{by_arn, max_results},
    engine::{ACTIVE, ARCHIVED, RESOLVED},
    error::{invalid, not_found, AaResult},
    filter,
    model::{self, Analyzer, FindingDoc},
};

/// `Finding` / `FindingSummary`.
pub fn to_output(f: &FindingDoc) -> Value {
    let mut out = json!({
        "id": f.id,
        "principal": f.principal,
        "action": f.action,
        "resource": f.resource,
        "isPublic": f.is_public,
        "resourceType": f.resource_type,
        "condition": f.condition,
        "createdAt": ts(f.created),
        "analyzedAt": ts(f.analyzed),
        "updatedAt": ts(f.updated),
        "status": f.status,
        "resourceOwnerAccount": f.owner,
    });
    if !f.sources.is_empty() {
        if let Some(o) = out.as_object_mut() {
            let sources: Vec<Value> = f.sources.iter().map(|s| json!({ "type": s })).collect();
            o.insert("sources".into(), json!(sources));
        }
    }
    out
}

/// `FindingSummaryV2`.
fn to_output_v2(f: &FindingDoc) -> Value {
    json!({
        "id": f.id,
        "resource": f.resource,
        "resourceType": f.resource_type,
        "resourceOwnerAccount": f.owner,
        "status": f.status,
        "createdAt": ts(f.created),
        "analyzedAt": ts(f.analyzed),
        "updatedAt": ts(f.updated),
        "findingType": f.finding_type.as_deref().unwrap_or("ExternalAccess"),
    })
}

/// The `ValidationException` of a V1 finding operation on an unused access analyzer.
fn v1_refused(a: &Analyzer, v1: bool) -> AaResult<()> {
    if v1 && !a.is_external() {
        return Err(invalid(
            "This operation is supported only for external access analyzers; use the V2 operation for internal and unused access analyzers.",
        ));
    }
    Ok(())
}

/// Every finding of the analyzer, with its entity.
async fn all(db: &mut Db<'_>, a: &Analyzer) -> AaResult<Vec<(rampart_store::Entity, FindingDoc)>> {
    let mut out = Vec::new();
    for e in model::all(db, a.account(), model::FINDING, &a.prefix()).await? {
        let doc: FindingDoc = entity::read_doc(&e)?;
        out.push((e, doc));
    }
    Ok(out)
}

/// The findings a list call asks for: filtered, sorted (`sort.attributeName`, `orderBy`;
/// by id by default), one page.
async fn listed(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    v1: bool,
) -> AaResult<(Vec<FindingDoc>, Option<String>)> {
    let a = by_arn(db, ctx, opt_str(input, "analyzerArn").unwrap_or_default()).await?;
    v1_refused(&a, v1)?;
    let filter = filter::parse(input.get("filter"))?;
    let mut found: Vec<FindingDoc> = all(db, &a)
        .await?
        .into_iter()
        .map(|(_, f)| f)
        .filter(|f| filter::matches(&filter, f))
        .collect();
    let sort = input.get("sort");
    let attribute = sort.and_then(|s| opt_str(s, "attributeName"));
    let descending = sort.and_then(|s| opt_str(s, "orderBy")) == Some("DESC");
    let key = |f: &FindingDoc| -> String {
        match attribute {
            Some("createdAt") => f.created.to_rfc3339(),
            Some("updatedAt") => f.updated.to_rfc3339(),
            Some("analyzedAt") => f.analyzed.to_rfc3339(),
            Some("resource") => f.resource.clone(),
            Some("resourceType") => f.resource_type.clone(),
            Some("resourceOwnerAccount") => f.owner.clone(),
            Some("status") => f.status.clone(),
            Some("isPublic") => f.is_public.to_string(),
            _ => String::new(),
        }
    };
    if let Some(name) = attribute {
        const SORTABLE: &[&str] = &[
            "createdAt",
            "updatedAt",
            "analyzedAt",
            "resource",
            "resourceType",
            "resourceOwnerAccount",
            "status",
            "isPublic",
            "id",
        ];
        if !SORTABLE.contains(&name) {
            return Err(invalid(format!("Invalid sort attribute: {name}")));
        }
    }
    found.sort_by(|x, y| key(x).cmp(&key(y)).then_with(|| x.id.cmp(&y.id)));
    if descending {
        found.reverse();
    }
    let page = page::at_offset(found, opt_str(input, "nextToken"), max_results(input))
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    Ok((page.items, page.next))
}

fn with_token(mut out: Value, next: Option<String>) -> Value {
    if let (Some(next), Some(o)) = (next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    out
}

/// `ListFindings`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (items, next) = listed(input, ctx, &mut db, true).await?;
    let findings: Vec<Value> = items.iter().map(to_output).collect();
    Ok(with_token(json!({ "findings": findings }), next))
}

/// `ListFindingsV2`.
pub async fn list_v2(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (items, next) = listed(input, ctx, &mut db, false).await?;
    let findings: Vec<Value> = items.iter().map(to_output_v2).collect();
    Ok(with_token(json!({ "findings": findings }), next))
}

async fn one(input: &Value, ctx: &CallContext, db: &mut Db<'_>, v1: bool) -> AaResult<FindingDoc> {
    let a = by_arn(db, ctx, opt_str(input, "analyzerArn").unwrap_or_default()).await?;
    v1_refused(&a, v1)?;
    let id = opt_str(input, "id").unwrap_or_default();
    let e = db
        .entities()
        .get(a.account(), model::FINDING, id)
        .await?
        .filter(|e| e.path.starts_with(&a.prefix()))
        .ok_or_else(|| not_found(format!("Finding {id} not found")))?;
    entity::read_doc(&e)
}

/// `GetFinding`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let f = one(input, ctx, &mut db, true).await?;
    Ok(json!({ "finding": to_output(&f) }))
}

/// `GetFindingV2`: the summary and its details (`externalAccessDetails`, or the internal or
/// unused access member stored with the finding).
pub async fn get_v2(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let f = one(input, ctx, &mut db, false).await?;
    let mut out = to_output_v2(&f);
    if let (Some(d), Some(o)) = (&f.details, out.as_object_mut()) {
        o.insert("findingDetails".into(), json!([d]));
        return Ok(out);
    }
    let mut details = json!({
        "action": f.action,
        "condition": f.condition,
        "isPublic": f.is_public,
        "principal": f.principal,
    });
    if !f.sources.is_empty() {
        if let Some(o) = details.as_object_mut() {
            let sources: Vec<Value> = f.sources.iter().map(|s| json!({ "type": s })).collect();
            o.insert("sources".into(), json!(sources));
        }
    }
    if let Some(o) = out.as_object_mut() {
        o.insert(
            "findingDetails".into(),
            json!([{ "externalAccessDetails": details }]),
        );
    }
    Ok(out)
}

/// `UpdateFindings`: sets `ACTIVE` or `ARCHIVED` on the findings named by `ids` or on those
/// of `resourceArn`. A resolved finding stays resolved.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "analyzerArn").unwrap_or_default(),
    )
    .await?;
    let status = opt_str(input, "status").unwrap_or_default();
    if status != ACTIVE && status != ARCHIVED {
        return Err(invalid(format!("Invalid status: {status}")));
    }
    let ids = str_list(input, "ids");
    let resource = opt_str(input, "resourceArn");
    if ids.is_empty() && resource.is_none() {
        return Err(invalid("Either ids or resourceArn must be given."));
    }
    let mut targets = Vec::new();
    for id in &ids {
        let e = db
            .entities()
            .get(a.account(), model::FINDING, id)
            .await?
            .filter(|e| e.path.starts_with(&a.prefix()))
            .ok_or_else(|| not_found(format!("Finding {id} not found")))?;
        let doc: FindingDoc = entity::read_doc(&e)?;
        targets.push((e, doc));
    }
    if let Some(arn) = resource {
        targets.extend(
            all(&mut db, &a)
                .await?
                .into_iter()
                .filter(|(_, f)| f.resource == arn),
        );
    }
    for (e, mut f) in targets {
        if f.status != RESOLVED && f.status != status {
            f.status = status.to_string();
            f.updated = ctx.now;
            entity::save_doc(&mut db, e, &f, ctx.now).await?;
        }
    }
    Ok(json!({}))
}

/// `GetFindingsStatistics`: counts by status and by resource type.
pub async fn statistics(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "analyzerArn").unwrap_or_default(),
    )
    .await?;
    if a.is_unused() {
        let found: Vec<FindingDoc> = all(&mut db, &a)
            .await?
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        return Ok(unused_statistics(&found));
    }
    if a.is_internal() {
        let found: Vec<FindingDoc> = all(&mut db, &a)
            .await?
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        return Ok(internal_statistics(&found));
    }
    let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut last = None;
    for (_, f) in all(&mut db, &a).await? {
        *by_status.entry(f.status.clone()).or_default() += 1;
        let t = by_type.entry(f.resource_type.clone()).or_default();
        if f.status == ACTIVE {
            t.0 += 1;
            if f.is_public {
                t.1 += 1;
            } else {
                t.2 += 1;
            }
        }
        last = last.max(Some(f.updated));
    }
    let types: serde_json::Map<String, Value> = by_type
        .into_iter()
        .map(|(t, (_, public, cross))| {
            (
                t,
                json!({
                    "totalActivePublic": public,
                    "totalActiveCrossAccount": cross,
                    "totalActiveErrors": 0,
                }),
            )
        })
        .collect();
    let count = |s: &str| by_status.get(s).copied().unwrap_or(0);
    let mut out = json!({
        "findingsStatistics": [{
            "externalAccessFindingsStatistics": {
                "resourceTypeStatistics": types,
                "totalActiveFindings": count(ACTIVE),
                "totalArchivedFindings": count(ARCHIVED),
                "totalResolvedFindings": count(RESOLVED),
            }
        }]
    });
    if let (Some(t), Some(o)) = (last, out.as_object_mut()) {
        o.insert("lastUpdatedAt".into(), json!(ts(t)));
    }
    Ok(out)
}

/// `GetFindingsStatistics` of an internal access analyzer: counts by status, overall and by
/// resource type.
fn internal_statistics(found: &[FindingDoc]) -> Value {
    let count = |s: &str| found.iter().filter(|f| f.status == s).count();
    let mut by_type: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for f in found {
        let t = by_type.entry(f.resource_type.as_str()).or_default();
        match f.status.as_str() {
            ACTIVE => t[0] += 1,
            ARCHIVED => t[1] += 1,
            _ => t[2] += 1,
        }
    }
    let types: serde_json::Map<String, Value> = by_type
        .into_iter()
        .map(|(t, [active, archived, resolved])| {
            (
                t.to_string(),
                json!({
                    "totalActiveFindings": active,
                    "totalArchivedFindings": archived,
                    "totalResolvedFindings": resolved,
                }),
            )
        })
        .collect();
    let mut out = json!({
        "findingsStatistics": [{
            "internalAccessFindingsStatistics": {
                "resourceTypeStatistics": types,
                "totalActiveFindings": count(ACTIVE),
                "totalArchivedFindings": count(ARCHIVED),
                "totalResolvedFindings": count(RESOLVED),
            }
        }]
    });
    if let (Some(t), Some(o)) = (found.iter().map(|f| f.updated).max(), out.as_object_mut()) {
        o.insert("lastUpdatedAt".into(), json!(ts(t)));
    }
    out
}

/// `GetFindingsStatistics` of an unused access analyzer: counts by status, active findings by
/// unused access type, and the accounts with the most active findings (at most 10).
fn unused_statistics(found: &[FindingDoc]) -> Value {
    let count = |s: &str| found.iter().filter(|f| f.status == s).count();
    let active: Vec<&FindingDoc> = found.iter().filter(|f| f.status == ACTIVE).collect();
    let type_of = |f: &FindingDoc| f.finding_type.clone().unwrap_or_default();
    let types: Vec<Value> = crate::unused::TYPES
        .iter()
        .map(|t| {
            let total = active.iter().filter(|f| type_of(f) == *t).count();
            json!({ "unusedAccessType": t, "total": total })
        })
        .collect();
    let mut accounts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for f in &active {
        *accounts
            .entry(f.owner.clone())
            .or_default()
            .entry(type_of(f))
            .or_default() += 1;
    }
    let mut top: Vec<(String, usize, BTreeMap<String, usize>)> = accounts
        .into_iter()
        .map(|(acct, by_type)| (acct, by_type.values().sum(), by_type))
        .collect();
    top.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    top.truncate(10);
    let top: Vec<Value> = top
        .into_iter()
        .map(|(acct, n, details)| {
            json!({ "account": acct, "numberOfActiveFindings": n, "details": details })
        })
        .collect();
    let mut out = json!({
        "findingsStatistics": [{
            "unusedAccessFindingsStatistics": {
                "unusedAccessTypeStatistics": types,
                "topAccounts": top,
                "totalActiveFindings": count(ACTIVE),
                "totalArchivedFindings": count(ARCHIVED),
                "totalResolvedFindings": count(RESOLVED),
            }
        }]
    });
    if let (Some(t), Some(o)) = (found.iter().map(|f| f.updated).max(), out.as_object_mut()) {
        o.insert("lastUpdatedAt".into(), json!(ts(t)));
    }
    out
}
