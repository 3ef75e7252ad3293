//! Analysed resources: `StartResourceScan`, `GetAnalyzedResource`, `ListAnalyzedResources`.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str, page, timestamp::ts};
use serde_json::{json, Value};

use crate::{
    analyzers::{by_arn, max_results},
    engine,
    error::{invalid, not_found, AaResult},
    model::{self, ResourceDoc},
    resources,
};

fn to_output(r: &ResourceDoc) -> Value {
    let mut out = json!({
        "resourceArn": r.arn,
        "resourceType": r.resource_type,
        "createdAt": ts(r.created),
        "analyzedAt": ts(r.analyzed),
        "updatedAt": ts(r.updated),
        "isPublic": r.is_public,
        "resourceOwnerAccount": r.owner,
    });
    if let Some(o) = out.as_object_mut() {
        if !r.actions.is_empty() {
            o.insert("actions".into(), json!(r.actions));
        }
        if !r.shared_via.is_empty() {
            o.insert("sharedVia".into(), json!(r.shared_via));
        }
        if let Some(s) = &r.status {
            o.insert("status".into(), json!(s));
        }
    }
    out
}

/// `StartResourceScan`: analyses one resource again now.
pub async fn start_scan(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let mut a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "analyzerArn").unwrap_or_default(),
    )
    .await?;
    if !a.is_external() {
        return Err(invalid(
            "StartResourceScan is supported only for external access analyzers.",
        ));
    }
    let arn = opt_str(input, "resourceArn").unwrap_or_default();
    let locator = resources::locator_of_arn(arn)
        .ok_or_else(|| invalid(format!("Unsupported resource type for {arn}")))?;
    let owner = opt_str(input, "resourceOwnerAccount")
        .map(str::to_string)
        .or_else(|| crate::analysis::arn_account(arn).map(str::to_string))
        .unwrap_or_else(|| ctx.principal.account_id.clone());
    let zone = engine::zone(&mut db, &a).await?;
    let found = resources::find(&mut db, &owner, &locator)
        .await?
        .filter(|r| r.arn == arn && engine::covers(&a, &zone, &r.owner, r.region.as_deref()))
        .ok_or_else(|| not_found(format!("Resource {arn} not found")))?;
    engine::reconcile(&mut db, &a, &zone, arn, Some(&found), ctx.now).await?;
    engine::note_analyzed(&mut db, &mut a, arn, ctx.now).await?;
    Ok(json!({}))
}

/// `GetAnalyzedResource`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "analyzerArn").unwrap_or_default(),
    )
    .await?;
    let arn = opt_str(input, "resourceArn").unwrap_or_default();
    let key = format!("{}/{}/{arn}", a.doc.region, a.doc.name);
    let e = db
        .entities()
        .get(a.account(), model::RESOURCE, &key)
        .await?
        .ok_or_else(|| not_found(format!("Analyzed resource {arn} not found")))?;
    let r: ResourceDoc = entity::read_doc(&e)?;
    Ok(json!({ "resource": to_output(&r) }))
}

/// `ListAnalyzedResources` (optionally of one `resourceType`).
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "analyzerArn").unwrap_or_default(),
    )
    .await?;
    let wanted = opt_str(input, "resourceType");
    let mut all = Vec::new();
    for e in model::all(&mut db, a.account(), model::RESOURCE, &a.prefix()).await? {
        let r: ResourceDoc = entity::read_doc(&e)?;
        if wanted.is_none_or(|t| t == r.resource_type) {
            all.push(json!({
                "resourceArn": r.arn,
                "resourceOwnerAccount": r.owner,
                "resourceType": r.resource_type,
            }));
        }
    }
    let page = page::at_offset(all, opt_str(input, "nextToken"), max_results(input))
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({ "analyzedResources": page.items });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}
