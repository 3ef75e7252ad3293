//! Associations of web ACLs with load balancers: `AssociateWebACL`, `DisassociateWebACL`,
//! `GetWebACLForResource`, `ListResourcesForWebACL`. The listener runtime serves a load
//! balancer's listeners through its web ACL within a second of the change.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    error::{WafError, WafResult},
    model::{self, Item, Kind, ASSOCIATION},
    web_acls,
};

/// The load balancer a resource ARN names, checked to exist in the caller's account.
async fn load_balancer(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> WafResult<()> {
    if rampart_elbv2::model::arn_tail(arn, "loadbalancer").is_none_or(|t| !t.starts_with("app/")) {
        return Err(WafError::invalid(
            "RESOURCE_ARN",
            arn,
            "The ARN isn’t valid: Rampart's web ACLs protect application load balancers.",
        ));
    }
    rampart_elbv2::model::load_balancer(db, &ctx.principal.account_id, &ctx.region, arn).await?;
    Ok(())
}

/// The resources of a web ACL that still exist (a deleted load balancer drops out).
async fn live(db: &mut Db<'_>, ctx: &CallContext, item: &Item) -> WafResult<Vec<String>> {
    let mut out = Vec::new();
    for arn in &item.doc.associations {
        if load_balancer(db, ctx, arn).await.is_ok() {
            out.push(arn.clone());
        }
    }
    Ok(out)
}

/// Whether a web ACL is associated with a resource that still exists.
pub async fn in_use(db: &mut Db<'_>, ctx: &CallContext, item: &Item) -> WafResult<bool> {
    Ok(!live(db, ctx, item).await?.is_empty())
}

async fn detach(db: &mut Db<'_>, ctx: &CallContext, resource: &str) -> WafResult<()> {
    let key = format!("{ASSOCIATION}{resource}");
    if let Some(old) = db.settings().get(&key).await? {
        if let Ok(mut item) = model::find_arn(db, ctx, &old).await {
            item.doc.associations.retain(|a| a != resource);
            entity::save_doc(db, item.entity, &item.doc, ctx.now).await?;
        }
        db.settings().delete(&key).await?;
    }
    Ok(())
}

/// `AssociateWebACL`: replaces any web ACL the load balancer had.
pub async fn associate(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let acl_arn = opt_str(input, "WebACLArn").unwrap_or_default();
    let resource = opt_str(input, "ResourceArn").unwrap_or_default();
    let item = model::find_arn(&mut db, ctx, acl_arn).await?;
    if item.doc.scope != "REGIONAL" {
        return Err(WafError::invalid(
            "RESOURCE_ARN",
            resource,
            "A CLOUDFRONT web ACL cannot be associated with a regional resource.",
        ));
    }
    load_balancer(&mut db, ctx, resource).await?;
    detach(&mut db, ctx, resource).await?;
    let mut item = model::find_arn(&mut db, ctx, acl_arn).await?;
    if !item.doc.associations.iter().any(|a| a == resource) {
        item.doc.associations.push(resource.to_string());
    }
    entity::save_doc(&mut db, item.entity, &item.doc, ctx.now).await?;
    db.settings()
        .set(&format!("{ASSOCIATION}{resource}"), acl_arn)
        .await?;
    model::changed(&mut db).await?;
    Ok(json!({}))
}

/// `DisassociateWebACL` (a resource without a web ACL is not an error, as in AWS).
pub async fn disassociate(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let resource = opt_str(input, "ResourceArn").unwrap_or_default();
    detach(&mut db, ctx, resource).await?;
    model::changed(&mut db).await?;
    Ok(json!({}))
}

/// `GetWebACLForResource`.
pub async fn for_resource(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let resource = opt_str(input, "ResourceArn").unwrap_or_default();
    load_balancer(&mut db, ctx, resource).await?;
    let Some(acl) = db
        .settings()
        .get(&format!("{ASSOCIATION}{resource}"))
        .await?
    else {
        return Ok(json!({}));
    };
    let got = web_acls::get(&json!({ "ARN": acl }), ctx, db).await?;
    Ok(json!({ "WebACL": got.get("WebACL").cloned().unwrap_or(Value::Null) }))
}

/// `ListResourcesForWebACL`.
pub async fn resources(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let acl_arn = opt_str(input, "WebACLArn").unwrap_or_default();
    let item = model::find_arn(&mut db, ctx, acl_arn).await?;
    if item.doc.scope != "REGIONAL" || model::parse_arn(acl_arn).is_none_or(|p| p.0 != Kind::WebAcl)
    {
        return Err(WafError::missing());
    }
    match opt_str(input, "ResourceType") {
        None | Some("APPLICATION_LOAD_BALANCER") => {}
        Some(_) => return Ok(json!({ "ResourceArns": [] })),
    }
    Ok(json!({ "ResourceArns": live(&mut db, ctx, &item).await? }))
}
