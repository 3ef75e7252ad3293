//! Application layer automatic response: `EnableApplicationLayerAutomaticResponse`,
//! `UpdateApplicationLayerAutomaticResponse`, `DisableApplicationLayerAutomaticResponse`, and
//! [`respond`], the job step that places a rate-based rule in the protected load balancer's
//! web ACL while a request flood on it goes on, and removes it after.
//!
//! The rule is named as AWS names its rule group (`ShieldMitigationRuleGroup_<account>_
//! <web ACL id>_<protection id>`) and has AWS's priority, 10,000,000, so it runs after the
//! web ACL's own rules. Rampart has no rule groups of its own, so it is a rule, not a rule
//! group reference: a `RateBasedStatement` by source address with the protection's action.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use rampart_store::{Lease, Store};
use rampart_wafv2::model::{ItemDoc, ASSOCIATION};
use serde_json::{json, Value};

use crate::{
    attacks,
    detect::{AttackDoc, Vector},
    error::{ShieldError, ShieldResult},
    model::{self, AutomaticResponse, Loaded, ProtectionDoc, ATTACK, RESPONDING_ACCOUNTS},
};

/// The rule's priority (AWS's).
pub const PRIORITY: i64 = 10_000_000;
/// The prefix of the rule's name (AWS's rule group prefix).
pub const PREFIX: &str = "ShieldMitigationRuleGroup_";

/// The web ACL associated with `resource`: its entity and document.
async fn web_acl(
    db: &mut Db<'_>,
    resource: &str,
) -> ShieldResult<Option<(rampart_store::Entity, ItemDoc)>> {
    let Some(acl_arn) = db
        .settings()
        .get(&format!("{ASSOCIATION}{resource}"))
        .await?
    else {
        return Ok(None);
    };
    let Some((kind, region, scope, name, id)) = rampart_wafv2::model::parse_arn(&acl_arn) else {
        return Ok(None);
    };
    let account = acl_arn.split(':').nth(4).unwrap_or_default().to_string();
    let key = rampart_wafv2::model::key(&region, &scope, &name);
    Ok(
        entity::load_doc::<ItemDoc>(db, &account, kind.entity_kind(), &key)
            .await?
            .filter(|(_, d)| d.id == id),
    )
}

/// The rule's name for a protection in a web ACL.
pub fn rule_name(account: &str, acl_id: &str, protection_id: &str) -> String {
    format!("{PREFIX}{account}_{acl_id}_{protection_id}")
}

/// The rule itself.
pub fn rule(name: &str, action: &str, limit: u64) -> Value {
    json!({
        "Name": name,
        "Priority": PRIORITY,
        "Statement": {"RateBasedStatement": {
            "Limit": limit, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"
        }},
        "Action": {action: {}},
        "VisibilityConfig": {
            "SampledRequestsEnabled": false,
            "CloudWatchMetricsEnabled": false,
            "MetricName": name,
        },
    })
}

/// Puts the protection's rule into (`Some(action)`) or out of (`None`) the resource's web ACL;
/// true when the web ACL changed (then the listeners reload it). Returns the rule's name.
async fn set_rule(
    db: &mut Db<'_>,
    p: &ProtectionDoc,
    account: &str,
    action: Option<&str>,
    limit: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> ShieldResult<Option<(String, bool)>> {
    let Some((e, mut doc)) = web_acl(db, &p.resource_arn).await? else {
        return Ok(None);
    };
    let name = rule_name(account, &doc.id, &p.id);
    let is_ours = |r: &Value| r.get("Name").and_then(Value::as_str) == Some(name.as_str());
    let before = doc.rules.clone();
    doc.rules.retain(|r| !is_ours(r));
    if let Some(action) = action {
        doc.rules.push(rule(&name, action, limit));
    }
    let changed = doc.rules != before;
    if changed {
        doc.lock_token = rampart_wafv2::model::new_token();
        entity::save_doc(db, e, &doc, now).await?;
        rampart_elbv2::model::bump_generation(db)
            .await
            .map_err(|_| ShieldError::internal())?;
    }
    Ok(Some((name, changed)))
}

/// `Block` or `Count` from the `Action` member (exactly one).
fn action_in(input: &Value) -> ShieldResult<String> {
    let action = input.get("Action").and_then(Value::as_object);
    match action.map(|a| (a.contains_key("Block"), a.contains_key("Count"))) {
        Some((true, false)) => Ok("Block".into()),
        Some((false, true)) => Ok("Count".into()),
        _ => Err(ShieldError::invalid(
            "Exactly one of Block or Count must be specified in Action.",
        )),
    }
}

/// The protection of `ResourceArn`.
async fn protection(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> ShieldResult<Loaded<ProtectionDoc>> {
    let arn = opt_str(input, "ResourceArn").unwrap_or_default();
    model::protection_of(db, &ctx.principal.account_id, arn)
        .await?
        .ok_or_else(|| ShieldError::missing("protection"))
}

/// Notes that `account` has automatic responses, for [`respond`].
async fn note_account(db: &mut Db<'_>, account: &str) -> ShieldResult<()> {
    let mut all = responding_accounts(db).await?;
    if !all.iter().any(|a| a == account) {
        all.push(account.to_string());
        let text = serde_json::to_string(&all).map_err(|_| ShieldError::internal())?;
        db.settings().set(RESPONDING_ACCOUNTS, &text).await?;
    }
    Ok(())
}

async fn responding_accounts(db: &mut Db<'_>) -> ShieldResult<Vec<String>> {
    Ok(db
        .settings()
        .get(RESPONDING_ACCOUNTS)
        .await?
        .and_then(|v| serde_json::from_str::<Vec<String>>(&v).ok())
        .unwrap_or_default())
}

/// `EnableApplicationLayerAutomaticResponse`: needs a web ACL on the resource.
pub async fn enable(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let action = action_in(input)?;
    let mut p = protection(&mut db, ctx, input).await?;
    if p.doc.automatic_response.is_some() {
        return Err(ShieldError::InvalidOperationException(
            "Automatic application layer response is already enabled for this resource; use UpdateApplicationLayerAutomaticResponse.".into(),
        ));
    }
    if web_acl(&mut db, &p.doc.resource_arn).await?.is_none() {
        return Err(ShieldError::InvalidOperationException(
            "The resource must be associated with an AWS WAF web ACL to enable automatic application layer response.".into(),
        ));
    }
    p.doc.automatic_response = Some(AutomaticResponse { action });
    entity::save_doc(&mut db, p.entity, &p.doc, ctx.now).await?;
    note_account(&mut db, &ctx.principal.account_id).await?;
    Ok(json!({}))
}

/// `UpdateApplicationLayerAutomaticResponse`: a rule in place takes the new action now.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let action = action_in(input)?;
    let mut p = protection(&mut db, ctx, input).await?;
    let Some(current) = &p.doc.automatic_response else {
        return Err(not_enabled());
    };
    let previous = current.action.clone();
    p.doc.automatic_response = Some(AutomaticResponse {
        action: action.clone(),
    });
    if let Some((_, doc)) = web_acl(&mut db, &p.doc.resource_arn).await? {
        let name = rule_name(&ctx.principal.account_id, &doc.id, &p.doc.id);
        let placed = doc
            .rules
            .iter()
            .find(|r| r.get("Name").and_then(Value::as_str) == Some(name.as_str()))
            .and_then(|r| r.pointer("/Statement/RateBasedStatement/Limit"))
            .and_then(Value::as_u64);
        if let (Some(limit), true) = (placed, previous != action) {
            set_rule(
                &mut db,
                &p.doc,
                &ctx.principal.account_id,
                Some(&action),
                limit,
                ctx.now,
            )
            .await?;
        }
    }
    entity::save_doc(&mut db, p.entity, &p.doc, ctx.now).await?;
    Ok(json!({}))
}

fn not_enabled() -> ShieldError {
    ShieldError::InvalidOperationException(
        "Automatic application layer response is not enabled for this resource.".into(),
    )
}

/// `DisableApplicationLayerAutomaticResponse`: removes a rule in place.
pub async fn disable(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let mut p = protection(&mut db, ctx, input).await?;
    if p.doc.automatic_response.is_none() {
        return Err(not_enabled());
    }
    set_rule(&mut db, &p.doc, &ctx.principal.account_id, None, 0, ctx.now).await?;
    p.doc.automatic_response = None;
    entity::save_doc(&mut db, p.entity, &p.doc, ctx.now).await?;
    Ok(json!({}))
}

/// Removes a protection's rule from its web ACL (when the protection is deleted).
pub async fn withdraw(db: &mut Db<'_>, ctx: &CallContext, p: &ProtectionDoc) -> ShieldResult<()> {
    set_rule(db, p, &ctx.principal.account_id, None, 0, ctx.now).await?;
    Ok(())
}

/// True when the resource's web ACL holds the protection's rule with `action`, or holds no
/// such rule when `action` is `None`; `None` when the resource has no web ACL.
async fn rule_in_place(
    db: &mut Db<'_>,
    p: &ProtectionDoc,
    account: &str,
    action: Option<&str>,
) -> ShieldResult<Option<(String, bool)>> {
    let Some((_, doc)) = web_acl(db, &p.resource_arn).await? else {
        return Ok(None);
    };
    let name = rule_name(account, &doc.id, &p.id);
    let current = doc
        .rules
        .iter()
        .find(|r| r.get("Name").and_then(Value::as_str) == Some(name.as_str()))
        .map(|r| {
            r.get("Action")
                .and_then(|a| a.get(action.unwrap_or("Block")))
                .is_some()
        });
    let in_place = match (action, current) {
        (None, None) => true,
        (Some(_), Some(same_action)) => same_action,
        _ => false,
    };
    Ok(Some((name, in_place)))
}

/// One round of the automatic response: for each protection with it enabled, the rule is in
/// the web ACL exactly while a request flood on the resource is ongoing. Each change commits
/// in its own transaction, fenced by the job's lease; the attack notes its mitigation. `now`
/// is the request clock's time.
pub async fn respond(
    store: &Store,
    lease: Option<&Lease>,
    limit: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> ShieldResult<usize> {
    let accounts = responding_accounts(&mut Db::Read(store)).await?;
    let mut changes = 0;
    for account in accounts {
        let protected = model::protections(&mut Db::Read(store), &account).await?;
        for p in protected {
            let Some(response) = &p.doc.automatic_response else {
                continue;
            };
            let floods: Vec<AttackDoc> =
                attacks::ongoing(&mut Db::Read(store), &account, &p.doc.resource_arn)
                    .await?
                    .into_iter()
                    .filter(|a| a.has(Vector::RequestFlood))
                    .collect();
            let action = (!floods.is_empty()).then_some(response.action.as_str());
            let Some((name, in_place)) =
                rule_in_place(&mut Db::Read(store), &p.doc, &account, action).await?
            else {
                continue;
            };
            let unnoted: Vec<AttackDoc> = floods
                .into_iter()
                .filter(|a| !a.mitigations.contains(&name))
                .collect();
            if in_place && unnoted.is_empty() {
                continue;
            }
            let mut tx = store.begin_fenced(lease).await?;
            let mut db = Db::Write(&mut tx);
            set_rule(&mut db, &p.doc, &account, action, limit, now).await?;
            for attack in unnoted {
                if let Some(e) = entity::find(&mut db, &account, ATTACK, &attack.id).await? {
                    // The stored document, not the one read before the transaction.
                    let mut stored = entity::read_doc::<AttackDoc>(&e)?;
                    if !stored.mitigations.contains(&name) {
                        stored.mitigations.push(name.clone());
                    }
                    entity::save_doc(&mut db, e, &stored, now).await?;
                }
            }
            tx.commit().await?;
            changes += 1;
        }
    }
    Ok(changes)
}
