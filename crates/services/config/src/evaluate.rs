//! Running rules: one rule over every resource in its scope, every rule over one changed
//! resource, the account-level rules over the account; results stored as evaluations.

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::Entity;
use serde_json::Value;

use crate::build::doc_of;
use crate::checks_account;
use crate::compliance_item::{self, Evaluated, RESOURCE_COMPLIANCE};
use crate::custom;
use crate::error::ConfigResult;
use crate::managed::{self, Check, Verdict};
use crate::model::{
    evaluation_key, EvaluationDoc, ResourceDoc, RuleDoc, ACCOUNT_TYPE, EVALUATION, RESOURCE, RULE,
};

/// Every rule of the account, with its name and entity.
pub async fn rules(db: &mut Db<'_>, account: &str) -> ConfigResult<Vec<(Entity, RuleDoc)>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, RULE, "", after.as_deref(), 100)
            .await?;
        for e in &page.items {
            out.push((e.clone(), doc_of::<RuleDoc>(e)?));
        }
        after = page.items.last().map(|e| e.name_key.clone());
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// Every discovered resource of the account that is not deleted.
pub async fn resources(db: &mut Db<'_>, account: &str) -> ConfigResult<Vec<ResourceDoc>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, RESOURCE, "", after.as_deref(), 200)
            .await?;
        for e in &page.items {
            let doc: ResourceDoc = doc_of(e)?;
            if doc.deleted_at.is_none() {
                out.push(doc);
            }
        }
        after = page.items.last().map(|e| e.name_key.clone());
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// True when the rule's scope takes the resource (`types`: the types the rule evaluates,
/// `None` for a custom rule, which takes every recorded type but compliance items: those
/// are made from the results, and evaluating them would feed on itself).
pub fn in_scope(types: Option<&[&str]>, rule: &RuleDoc, r: &ResourceDoc) -> bool {
    if r.resource_type == RESOURCE_COMPLIANCE {
        return false;
    }
    if types.is_some_and(|t| !t.contains(&r.resource_type.as_str())) {
        return false;
    }
    let Some(scope) = &rule.scope else {
        return true;
    };
    let types: Vec<&str> = scope
        .get("ComplianceResourceTypes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !types.is_empty() && !types.contains(&r.resource_type.as_str()) {
        return false;
    }
    if let Some(id) = scope.get("ComplianceResourceId").and_then(Value::as_str) {
        if id != r.resource_id {
            return false;
        }
    }
    if let Some(key) = scope.get("TagKey").and_then(Value::as_str) {
        match (
            r.snapshot.tags.get(key),
            scope.get("TagValue").and_then(Value::as_str),
        ) {
            (None, _) => return false,
            (Some(v), Some(want)) if v != want => return false,
            _ => {}
        }
    }
    true
}

async fn store_result(
    db: &mut Db<'_>,
    account: &str,
    rule: &str,
    resource: (&str, &str),
    verdict: Verdict,
    now: DateTime<Utc>,
) -> ConfigResult<bool> {
    store_at(db, account, rule, resource, verdict, (now, now)).await
}

/// Stores one rule's result for one resource, evaluated at `times.0` about the configuration
/// of `times.1` (the ordering time); the result recorded time moves only when the compliance
/// or annotation changes. True when the compliance is new or changed (the resource's
/// compliance item then follows, [`compliance_item::refresh`]).
pub(crate) async fn store_at(
    db: &mut Db<'_>,
    account: &str,
    rule: &str,
    resource: (&str, &str),
    verdict: Verdict,
    times: (DateTime<Utc>, DateTime<Utc>),
) -> ConfigResult<bool> {
    let (now, ordering) = times;
    let (resource_type, resource_id) = resource;
    let key = evaluation_key(rule, resource_type, resource_id);
    let existing = db.entities().get(account, EVALUATION, &key).await?;
    let previous: Option<EvaluationDoc> = match &existing {
        Some(e) => Some(doc_of(e)?),
        None => None,
    };
    let unchanged = previous
        .as_ref()
        .is_some_and(|p| p.compliance == verdict.compliance && p.annotation == verdict.annotation);
    let compliance_changed = previous
        .as_ref()
        .is_none_or(|p| p.compliance != verdict.compliance);
    let doc = EvaluationDoc {
        rule: rule.to_string(),
        resource_type: resource_type.to_string(),
        resource_id: resource_id.to_string(),
        compliance: verdict.compliance.to_string(),
        annotation: verdict.annotation,
        invoked: now,
        recorded: if unchanged {
            previous.as_ref().map_or(now, |p| p.recorded)
        } else {
            now
        },
        ordering,
    };
    match existing {
        Some(mut e) => {
            e.doc = to_text(&doc)?;
            e.updated_at = now;
            db.entities().update(&key, &e).await?;
        }
        None => {
            db.entities()
                .create(&Entity {
                    account_id: account.to_string(),
                    kind: EVALUATION.into(),
                    name: key.clone(),
                    id: format!("config-evaluation/{account}/{key}"),
                    name_key: key,
                    path: format!("/{rule}/"),
                    arn: String::new(),
                    created_at: now,
                    updated_at: now,
                    doc: to_text(&doc)?,
                })
                .await?;
        }
    }
    Ok(compliance_changed)
}

/// Deletes one rule's result for one resource; true when there was one.
async fn forget(
    db: &mut Db<'_>,
    account: &str,
    rule: &str,
    resource_type: &str,
    resource_id: &str,
) -> ConfigResult<bool> {
    let key = evaluation_key(rule, resource_type, resource_id);
    if db
        .entities()
        .get(account, EVALUATION, &key)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    db.entities().delete(account, EVALUATION, &key).await?;
    Ok(true)
}

/// The evaluated resource `r` names.
fn evaluated(r: &ResourceDoc) -> Evaluated {
    (r.resource_type.clone(), r.resource_id.clone())
}

/// Runs one rule over everything in its scope, then the compliance items of the resources
/// whose compliance changed.
pub async fn run_rule(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
    rule: &RuleDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    if rule.is_lambda() {
        return crate::lambda::run_rule(db, account, name, rule, now).await;
    }
    let mut changed: Vec<Evaluated> = Vec::new();
    if let Some(policy) = &rule.policy {
        for r in resources(db, account).await? {
            if in_scope(None, rule, &r) {
                let doc = custom::document(account, &r, rule.input_parameters.as_deref(), now);
                let verdict = custom::evaluate(policy, &doc);
                let resource = (r.resource_type.as_str(), r.resource_id.as_str());
                if store_result(db, account, name, resource, verdict, now).await? {
                    changed.push(evaluated(&r));
                }
            }
        }
        return compliance_item::refresh(db, account, &changed, now).await;
    }
    let Some(managed) = managed::find(&rule.source_identifier) else {
        return Ok(());
    };
    match managed.check {
        Check::Account(check) => {
            let facts = checks_account::gather(db, account).await?;
            let verdict = check(&facts, &rule.params, now);
            let target = (ACCOUNT_TYPE, account);
            if store_result(db, account, name, target, verdict, now).await? {
                changed.push((ACCOUNT_TYPE.into(), account.into()));
            }
        }
        Check::Resource(check) => {
            for r in resources(db, account).await? {
                if in_scope(Some(managed.types), rule, &r) {
                    let verdict = check(&r.snapshot, &rule.params, now);
                    let target = (r.resource_type.as_str(), r.resource_id.as_str());
                    if store_result(db, account, name, target, verdict, now).await? {
                        changed.push(evaluated(&r));
                    }
                }
            }
        }
    }
    compliance_item::refresh(db, account, &changed, now).await
}

/// Runs every rule whose scope takes a changed resource (a deleted one loses its results),
/// then the resource's compliance item when its compliance changed.
pub async fn on_resource(
    db: &mut Db<'_>,
    account: &str,
    r: &ResourceDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let mut changed = false;
    for (e, rule) in rules(db, account).await? {
        if rule.is_lambda() {
            if rule.change_triggered_custom() {
                crate::lambda::enqueue_change(db, account, &e.name, &rule, r, now).await?;
            }
            continue;
        }
        if let Some(policy) = &rule.policy {
            if r.deleted_at.is_some() {
                changed |= forget(db, account, &e.name, &r.resource_type, &r.resource_id).await?;
            } else if rule.change_triggered_custom() && in_scope(None, &rule, r) {
                let doc = custom::document(account, r, rule.input_parameters.as_deref(), now);
                let verdict = custom::evaluate(policy, &doc);
                let resource = (r.resource_type.as_str(), r.resource_id.as_str());
                changed |= store_result(db, account, &e.name, resource, verdict, now).await?;
            }
            continue;
        }
        let Some(managed) = managed::find(&rule.source_identifier) else {
            continue;
        };
        let Check::Resource(check) = managed.check else {
            continue;
        };
        if r.deleted_at.is_some() {
            changed |= forget(db, account, &e.name, &r.resource_type, &r.resource_id).await?;
        } else if in_scope(Some(managed.types), &rule, r) {
            let verdict = check(&r.snapshot, &rule.params, now);
            let target = (r.resource_type.as_str(), r.resource_id.as_str());
            changed |= store_result(db, account, &e.name, target, verdict, now).await?;
        }
    }
    if changed {
        compliance_item::refresh(db, account, &[evaluated(r)], now).await?;
    }
    Ok(())
}

/// Runs the account-level rules of the account, then the account's compliance item when its
/// compliance changed.
pub async fn on_account(db: &mut Db<'_>, account: &str, now: DateTime<Utc>) -> ConfigResult<()> {
    let mut facts = None;
    let mut changed = false;
    for (e, rule) in rules(db, account).await? {
        let Some(Check::Account(check)) = managed::find(&rule.source_identifier).map(|m| m.check)
        else {
            continue;
        };
        if facts.is_none() {
            facts = Some(checks_account::gather(db, account).await?);
        }
        if let Some(f) = &facts {
            let verdict = check(f, &rule.params, now);
            let target = (ACCOUNT_TYPE, account);
            changed |= store_result(db, account, &e.name, target, verdict, now).await?;
        }
    }
    if changed {
        let target = (ACCOUNT_TYPE.to_string(), account.to_string());
        compliance_item::refresh(db, account, &[target], now).await?;
    }
    Ok(())
}

/// Deletes every result of a rule; returns the resources that had one (their compliance
/// items are the caller's to refresh, once the rule is gone or has run again).
pub async fn forget_rule(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
) -> ConfigResult<Vec<Evaluated>> {
    let mut had = Vec::new();
    loop {
        let page = db
            .entities()
            .list(account, EVALUATION, &format!("/{name}/"), None, 100)
            .await?;
        for e in &page.items {
            let result: EvaluationDoc = doc_of(e)?;
            had.push((result.resource_type, result.resource_id));
            db.entities()
                .delete(account, EVALUATION, &e.name_key)
                .await?;
        }
        if !page.truncated {
            return Ok(had);
        }
    }
}

/// Every result of a rule.
pub async fn results_of(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
) -> ConfigResult<Vec<EvaluationDoc>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(
                account,
                EVALUATION,
                &format!("/{name}/"),
                after.as_deref(),
                200,
            )
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

/// Every result in the account.
pub async fn all_results(db: &mut Db<'_>, account: &str) -> ConfigResult<Vec<EvaluationDoc>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, EVALUATION, "", after.as_deref(), 200)
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
