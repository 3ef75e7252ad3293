//! Archive rules: `CreateArchiveRule`, `GetArchiveRule`, `ListArchiveRules`,
//! `UpdateArchiveRule`, `DeleteArchiveRule`, `ApplyArchiveRule`.
//!
//! A rule archives the new findings it matches as they are made; creating or updating a rule,
//! and `ApplyArchiveRule`, also archive the matching `ACTIVE` findings that exist.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str, page, timestamp::ts};
use serde_json::{json, Value};

use crate::{
    analyzers::{by_arn, max_results, named},
    engine::{ACTIVE, ARCHIVED},
    error::{invalid, not_found, AaResult, AnalyzerError},
    filter,
    model::{self, Analyzer, FindingDoc, Rule},
};

/// Archive rules per analyzer (AWS's default quota).
const MAX_RULES: usize = 100;

fn summary(name: &str, r: &Rule) -> Value {
    json!({
        "ruleName": name,
        "filter": filter::to_output(&r.filter),
        "createdAt": ts(r.created),
        "updatedAt": ts(r.updated),
    })
}

fn rule<'a>(a: &'a Analyzer, name: &str) -> AaResult<&'a Rule> {
    a.doc
        .rules
        .get(name)
        .ok_or_else(|| not_found(format!("Archive rule {name} not found")))
}

/// Archives the analyzer's `ACTIVE` findings that `r` matches.
pub async fn apply(db: &mut Db<'_>, a: &Analyzer, r: &Rule, ctx: &CallContext) -> AaResult<()> {
    for e in model::all(db, a.account(), model::FINDING, &a.prefix()).await? {
        let mut f: FindingDoc = entity::read_doc(&e)?;
        if f.status == ACTIVE && filter::matches(&r.filter, &f) {
            f.status = ARCHIVED.into();
            f.updated = ctx.now;
            entity::save_doc(db, e, &f, ctx.now).await?;
        }
    }
    Ok(())
}

/// `CreateArchiveRule`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let mut a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    let name = opt_str(input, "ruleName").unwrap_or_default().to_string();
    if a.doc.rules.contains_key(&name) {
        return Err(AnalyzerError::ConflictException(
            format!("Archive rule {name} already exists"),
            name.clone(),
            "AWS::AccessAnalyzer::ArchiveRule".into(),
        )
        .into());
    }
    if a.doc.rules.len() >= MAX_RULES {
        return Err(AnalyzerError::ServiceQuotaExceededException(
            "An analyzer can have at most 100 archive rules.".into(),
            name.clone(),
            "AWS::AccessAnalyzer::ArchiveRule".into(),
        )
        .into());
    }
    let r = Rule {
        filter: filter::parse(input.get("filter"))?,
        created: ctx.now,
        updated: ctx.now,
    };
    a.doc.rules.insert(name, r.clone());
    entity::save_doc(&mut db, a.entity.clone(), &a.doc, ctx.now).await?;
    apply(&mut db, &a, &r, ctx).await?;
    Ok(json!({}))
}

/// `GetArchiveRule`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    let name = opt_str(input, "ruleName").unwrap_or_default();
    Ok(json!({ "archiveRule": summary(name, rule(&a, name)?) }))
}

/// `ListArchiveRules`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    let all: Vec<Value> = a.doc.rules.iter().map(|(n, r)| summary(n, r)).collect();
    let page = page::at_offset(all, opt_str(input, "nextToken"), max_results(input))
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({ "archiveRules": page.items });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}

/// `UpdateArchiveRule`.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let mut a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    let name = opt_str(input, "ruleName").unwrap_or_default().to_string();
    let mut r = rule(&a, &name)?.clone();
    r.filter = filter::parse(input.get("filter"))?;
    r.updated = ctx.now;
    a.doc.rules.insert(name, r.clone());
    entity::save_doc(&mut db, a.entity.clone(), &a.doc, ctx.now).await?;
    apply(&mut db, &a, &r, ctx).await?;
    Ok(json!({}))
}

/// `DeleteArchiveRule` (findings it archived stay archived).
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let mut a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    let name = opt_str(input, "ruleName").unwrap_or_default();
    rule(&a, name)?;
    a.doc.rules.remove(name);
    entity::save_doc(&mut db, a.entity, &a.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `ApplyArchiveRule`.
pub async fn apply_rule(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "analyzerArn").unwrap_or_default(),
    )
    .await?;
    let r = rule(&a, opt_str(input, "ruleName").unwrap_or_default())?.clone();
    apply(&mut db, &a, &r, ctx).await?;
    Ok(json!({}))
}
