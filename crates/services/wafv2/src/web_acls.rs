//! Web ACLs: `CreateWebACL`, `GetWebACL`, `UpdateWebACL`, `DeleteWebACL`, `ListWebACLs`, and
//! `CheckCapacity`. Every definition is compiled before it is stored, so a stored web ACL is
//! one the engine evaluates.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    compiled, engine,
    error::WafResult,
    model::{self, Item, ItemDoc, Kind},
};

fn rules_in(input: &Value) -> Vec<Value> {
    input
        .get("Rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A summary (`WebACLSummary`, `IPSetSummary`, `RegexPatternSetSummary`).
pub fn summary(item: &Item) -> Value {
    json!({
        "Name": item.doc.name,
        "Id": item.doc.id,
        "Description": item.doc.description,
        "LockToken": item.doc.lock_token,
        "ARN": item.arn(),
    })
}

/// Takes `CaptchaConfig`, `ChallengeConfig` and `TokenDomains` from a create or update (an
/// update replaces them, as it replaces the whole definition).
fn set_token_config(doc: &mut ItemDoc, input: &Value) {
    doc.captcha_config = input.get("CaptchaConfig").cloned();
    doc.challenge_config = input.get("ChallengeConfig").cloned();
    doc.token_domains = input
        .get("TokenDomains")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
}

/// `CreateWebACL`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let scope = model::scope_of(input, ctx)?;
    let name = opt_str(input, "Name").unwrap_or_default();
    let account = &ctx.principal.account_id;
    let key = model::new_key(&mut db, ctx, Kind::WebAcl, &scope, name).await?;
    let id = model::new_token();
    let arn = model::arn(Kind::WebAcl, &ctx.region, account, &scope, name, &id);
    let mut doc = ItemDoc {
        name: name.to_string(),
        id,
        scope: scope.clone(),
        description: opt_str(input, "Description").map(str::to_string),
        lock_token: model::new_token(),
        tags: model::tags_in(input),
        default_action: input.get("DefaultAction").cloned().unwrap_or(Value::Null),
        rules: rules_in(input),
        visibility_config: input
            .get("VisibilityConfig")
            .cloned()
            .unwrap_or(Value::Null),
        custom_response_bodies: input
            .get("CustomResponseBodies")
            .cloned()
            .unwrap_or(Value::Null),
        ..ItemDoc::default()
    };
    set_token_config(&mut doc, input);
    doc.capacity = compiled::compile(&mut db, account, &arn, &doc)
        .await?
        .capacity;
    let mut e = rampart_kit_entity(
        account,
        Kind::WebAcl,
        name,
        key,
        &ctx.region,
        &scope,
        arn,
        ctx,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    let item = Item { entity: e, doc };
    Ok(json!({ "Summary": summary(&item) }))
}

/// A new entity for an item.
#[allow(clippy::too_many_arguments, reason = "the parts of a new entity")]
pub fn rampart_kit_entity(
    account: &str,
    kind: Kind,
    name: &str,
    key: String,
    region: &str,
    scope: &str,
    arn: String,
    ctx: &CallContext,
) -> rampart_store::Entity {
    rampart_store::Entity {
        account_id: account.to_string(),
        kind: kind.entity_kind().to_string(),
        name: name.to_string(),
        name_key: key,
        id: format!("{}:{}", kind.entity_kind(), uuid::Uuid::new_v4()),
        path: format!("/{region}/{scope}/"),
        arn,
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: String::new(),
    }
}

async fn named(db: &mut Db<'_>, input: &Value, ctx: &CallContext, kind: Kind) -> WafResult<Item> {
    let scope = model::scope_of(input, ctx)?;
    let name = opt_str(input, "Name").unwrap_or_default();
    let id = opt_str(input, "Id").unwrap_or_default();
    model::find(db, ctx, kind, &scope, name, id).await
}

/// Finds the item an input names (`Name`, `Scope`, `Id`).
pub async fn find_named(
    db: &mut Db<'_>,
    input: &Value,
    ctx: &CallContext,
    kind: Kind,
) -> WafResult<Item> {
    named(db, input, ctx, kind).await
}

/// `GetWebACL`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let item = match opt_str(input, "ARN") {
        Some(arn) => model::find_arn(&mut db, ctx, arn).await?,
        None => named(&mut db, input, ctx, Kind::WebAcl).await?,
    };
    let d = &item.doc;
    let mut acl = json!({
        "Name": d.name,
        "Id": d.id,
        "ARN": item.arn(),
        "DefaultAction": d.default_action,
        "Rules": d.rules,
        "VisibilityConfig": d.visibility_config,
        "Capacity": d.capacity,
        "ManagedByFirewallManager": false,
        "LabelNamespace": compiled::namespace(&ctx.principal.account_id, &d.name),
    });
    model::put_extras(&mut acl, d);
    Ok(json!({ "WebACL": acl, "LockToken": d.lock_token }))
}

/// `UpdateWebACL`: replaces the definition when the lock token is current.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let mut item = named(&mut db, input, ctx, Kind::WebAcl).await?;
    model::check_lock(input, &item)?;
    let d = &mut item.doc;
    d.default_action = input.get("DefaultAction").cloned().unwrap_or(Value::Null);
    d.rules = rules_in(input);
    d.visibility_config = input
        .get("VisibilityConfig")
        .cloned()
        .unwrap_or(Value::Null);
    d.custom_response_bodies = input
        .get("CustomResponseBodies")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(desc) = opt_str(input, "Description") {
        d.description = Some(desc.to_string());
    }
    set_token_config(d, input);
    let arn = item.arn().to_string();
    item.doc.capacity = compiled::compile(&mut db, &ctx.principal.account_id, &arn, &item.doc)
        .await?
        .capacity;
    model::save_update(&mut db, item, ctx).await
}

/// `DeleteWebACL`: refused while it is associated with a resource.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let item = named(&mut db, input, ctx, Kind::WebAcl).await?;
    model::check_lock(input, &item)?;
    if crate::associations::in_use(&mut db, ctx, &item).await? {
        return Err(model::in_use());
    }
    model::remove(&mut db, &item).await?;
    Ok(json!({}))
}

/// Lists the items of a family (`ListWebACLs`, `ListIPSets`, `ListRegexPatternSets`), paged
/// with `Limit` and `NextMarker` (the last name returned).
pub async fn list_kind(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    kind: Kind,
    member: &str,
) -> WafResult<Value> {
    let scope = model::scope_of(input, ctx)?;
    let limit = input
        .get("Limit")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let marker = opt_str(input, "NextMarker");
    let all = model::list_all(
        &mut db,
        &ctx.principal.account_id,
        &ctx.region,
        kind,
        &scope,
    )
    .await?;
    let page: Vec<&Item> = all
        .iter()
        .filter(|i| marker.is_none_or(|m| i.doc.name.as_str() > m))
        .take(limit)
        .collect();
    let mut out = json!({ member: page.iter().map(|i| summary(i)).collect::<Vec<_>>() });
    let more = all
        .iter()
        .filter(|i| marker.is_none_or(|m| i.doc.name.as_str() > m))
        .count()
        > limit;
    if more {
        if let Some(last) = page.last() {
            crate::model::put(&mut out, "NextMarker", json!(last.doc.name));
        }
    }
    Ok(out)
}

/// `CheckCapacity`: the WCUs of a list of rules.
pub async fn check_capacity(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    model::scope_of(input, ctx)?;
    let rules = rules_in(input);
    let account = &ctx.principal.account_id;
    let refs = compiled::refs(
        &mut db,
        account,
        &rules,
        compiled::namespace(account, "check"),
    )
    .await?;
    let capacity = engine::capacity(&rules, &refs).map_err(compiled::invalid)?;
    Ok(json!({ "Capacity": capacity }))
}
