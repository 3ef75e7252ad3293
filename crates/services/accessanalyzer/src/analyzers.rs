//! Analyzers: `CreateAnalyzer`, `GetAnalyzer`, `ListAnalyzers`, `DeleteAnalyzer` and the
//! analyzer tags (`TagResource`, `UntagResource`, `ListTagsForResource`).
//!
//! External access analyzers (`ACCOUNT`: the zone of trust is the account; `ORGANIZATION`:
//! the organization's accounts), unused access analyzers (`ACCOUNT_UNUSED_ACCESS`,
//! `ORGANIZATION_UNUSED_ACCESS`, with `configuration.unusedAccess`) and internal access
//! analyzers (`ACCOUNT_INTERNAL_ACCESS`, `ORGANIZATION_INTERNAL_ACCESS`, with
//! `configuration.internalAccess`). Organization analyzers are created from the
//! organization's management account or a delegated administrator. An account has at most one
//! account analyzer of each type per region (`ServiceQuotaExceededException`, AWS's quota of
//! one) and at most 5 organization ones. Creating an analyzer analyses its zone at once, in
//! the same transaction; so does `UpdateAnalyzer` (unused and internal access analyzers).

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
    engine,
    error::{invalid, not_found, AaResult, AnalyzerError},
    filter, internal, internal_scan,
    model::{self, Analyzer, AnalyzerDoc, Rule, UnusedConfig},
    unused_scan,
};

/// `unusedAccessAge` when the configuration leaves it out, in days.
const DEFAULT_UNUSED_AGE: u32 = 90;

/// Organization analyzers per account and region (AWS's default quota).
const MAX_ORG_ANALYZERS: usize = 5;

/// The analyzer `name` of the caller in its region, or `ResourceNotFoundException`.
pub async fn named(db: &mut Db<'_>, ctx: &CallContext, name: &str) -> AaResult<Analyzer> {
    model::find(db, &ctx.principal.account_id, &ctx.region, name)
        .await?
        .ok_or_else(|| not_found(format!("Analyzer {name} not found")))
}

/// The analyzer an ARN names, which must be the caller's, or `ResourceNotFoundException`.
pub async fn by_arn(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> AaResult<Analyzer> {
    model::find_arn(db, arn)
        .await?
        .filter(|a| a.account() == ctx.principal.account_id)
        .ok_or_else(|| not_found(format!("Analyzer {arn} not found")))
}

/// `AnalyzerSummary`.
pub fn summary(a: &Analyzer) -> Value {
    let mut out = json!({
        "arn": a.arn(),
        "name": a.doc.name,
        "type": a.doc.analyzer_type,
        "createdAt": ts(a.entity.created_at),
        "status": a.doc.status,
        "tags": a.doc.tags,
    });
    if let (Some((arn, at)), Some(o)) = (&a.doc.last_resource, out.as_object_mut()) {
        o.insert("lastResourceAnalyzed".into(), json!(arn));
        o.insert("lastResourceAnalyzedAt".into(), json!(ts(*at)));
    }
    out
}

/// `AnalyzerConfiguration` of an unused access analyzer (`GetAnalyzer` shows it,
/// `ListAnalyzers` leaves it out).
fn configuration(c: &UnusedConfig) -> Value {
    let mut unused = json!({ "unusedAccessAge": c.age_days });
    if let Some(o) = unused.as_object_mut() {
        if !c.exclusions.is_empty() {
            o.insert("analysisRule".into(), json!({ "exclusions": c.exclusions }));
        }
    }
    json!({ "unusedAccess": unused })
}

/// The `configuration.unusedAccess` of a `CreateAnalyzer` request: `unusedAccessAge` 1 to
/// 365 days (default 90), `analysisRule.exclusions` (account ids for organization analyzers
/// only).
fn unused_config(input: &Value, org: bool) -> AaResult<UnusedConfig> {
    let given = input
        .get("configuration")
        .and_then(|c| c.get("unusedAccess"));
    let age = match given.and_then(|u| u.get("unusedAccessAge")) {
        None | Some(Value::Null) => DEFAULT_UNUSED_AGE,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=365).contains(n))
            .ok_or_else(|| invalid("unusedAccessAge must be between 1 and 365 days."))?,
    };
    let exclusions: Vec<Value> = given
        .and_then(|u| u.get("analysisRule"))
        .and_then(|r| r.get("exclusions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for x in &exclusions {
        let has_accounts = x
            .get("accountIds")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if has_accounts && !org {
            return Err(invalid(
                "Account IDs can only be applied to the analysis rule criteria for organization-level analyzers.",
            ));
        }
    }
    Ok(UnusedConfig {
        age_days: age,
        exclusions,
        analyzed: None,
    })
}

fn tags_of(input: &Value) -> AaResult<BTreeMap<String, String>> {
    let tags = rampart_kit::input::str_map(input, "tags").map_err(|_| invalid("Invalid tags"))?;
    for k in tags.keys() {
        if k.is_empty() || k.chars().count() > 128 || k.starts_with("aws:") {
            return Err(invalid(format!("Invalid tag key: {k}")));
        }
    }
    Ok(tags)
}

/// The organization an `ORGANIZATION` analyzer of the caller would cover: the caller must be
/// its management account or a delegated administrator.
async fn caller_org(db: &mut Db<'_>, ctx: &CallContext) -> AaResult<String> {
    let account = &ctx.principal.account_id;
    let org = rampart_organizations::common::org_of(db, account)
        .await?
        .ok_or_else(|| {
            invalid("You must belong to an organization to create an organization analyzer.")
        })?;
    if &org.management != account {
        let delegated = db
            .links()
            .targets(
                &org.management,
                rampart_organizations::model::LINK_DELEGATED,
                account,
            )
            .await?;
        if delegated.is_empty() {
            return Err(AnalyzerError::AccessDeniedException(
                "Only the management account or a delegated administrator can create an organization analyzer.".into(),
            )
            .into());
        }
    }
    Ok(org.id)
}

/// `CreateAnalyzer`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let name = opt_str(input, "analyzerName").unwrap_or_default();
    let analyzer_type = opt_str(input, "type").unwrap_or_default();
    let account = ctx.principal.account_id.clone();
    let org_id = match analyzer_type {
        "ACCOUNT" | "ACCOUNT_UNUSED_ACCESS" | "ACCOUNT_INTERNAL_ACCESS" => None,
        "ORGANIZATION" | "ORGANIZATION_UNUSED_ACCESS" | "ORGANIZATION_INTERNAL_ACCESS" => {
            Some(caller_org(&mut db, ctx).await?)
        }
        other => return Err(invalid(format!("Invalid analyzer type: {other}"))),
    };
    let unused_access = if analyzer_type.ends_with("_UNUSED_ACCESS") {
        Some(unused_config(input, org_id.is_some())?)
    } else {
        None
    };
    let internal_access = if analyzer_type.ends_with("_INTERNAL_ACCESS") {
        Some(internal::config(input, org_id.is_some())?)
    } else {
        None
    };
    if model::find(&mut db, &account, &ctx.region, name)
        .await?
        .is_some()
    {
        return Err(AnalyzerError::ConflictException(
            format!("Analyzer {name} already exists"),
            name.to_string(),
            "AWS::AccessAnalyzer::Analyzer".into(),
        )
        .into());
    }
    let same_type = model::list(&mut db, &account, &ctx.region)
        .await?
        .into_iter()
        .filter(|a| a.doc.analyzer_type == analyzer_type)
        .count();
    let limit = if org_id.is_some() {
        MAX_ORG_ANALYZERS
    } else {
        1
    };
    if same_type >= limit {
        return Err(AnalyzerError::ServiceQuotaExceededException(
            format!("You have reached the limit of {limit} analyzer(s) of type {analyzer_type} in this region."),
            name.to_string(),
            "AWS::AccessAnalyzer::Analyzer".into(),
        )
        .into());
    }
    let mut rules = BTreeMap::new();
    for r in input
        .get("archiveRules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let rule_name = opt_str(r, "ruleName").unwrap_or_default().to_string();
        let filter = filter::parse(r.get("filter"))?;
        rules.insert(
            rule_name,
            Rule {
                filter,
                created: ctx.now,
                updated: ctx.now,
            },
        );
    }
    let doc = AnalyzerDoc {
        name: name.to_string(),
        region: ctx.region.clone(),
        analyzer_type: analyzer_type.to_string(),
        status: "ACTIVE".into(),
        org_id,
        tags: tags_of(input)?,
        rules,
        last_resource: None,
        unused_access,
        internal_access,
    };
    let mut analyzer = model::insert(&mut db, &account, &doc, ctx.now).await?;
    if analyzer.is_unused() {
        unused_scan::analyze(&mut db, &mut analyzer, ctx.now).await?;
    } else if analyzer.is_internal() {
        internal_scan::analyze(&mut db, &mut analyzer, ctx.now).await?;
    } else {
        engine::scan(&mut db, &mut analyzer, ctx.now).await?;
    }
    Ok(json!({ "arn": analyzer.arn() }))
}

/// `UpdateAnalyzer`: an unused access analyzer's configuration (`unusedAccessAge` and
/// `analysisRule` each kept when left out), or an internal access analyzer's (its analysis
/// rule replaced), analysed again at once. External access analyzers have no configuration
/// (`ValidationException`, as AWS documents).
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let mut a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    if a.is_internal() {
        let next = internal::config(input, a.doc.org_id.is_some())?;
        let shown = internal::configuration(&next);
        a.doc.internal_access = Some(next);
        // The analysis saves the analyzer with its new configuration.
        internal_scan::analyze(&mut db, &mut a, ctx.now).await?;
        return Ok(json!({ "configuration": shown }));
    }
    let Some(old) = a.doc.unused_access.clone() else {
        return Err(invalid(
            "UpdateAnalyzer is not supported for external access analyzers.",
        ));
    };
    let given = input
        .get("configuration")
        .and_then(|c| c.get("unusedAccess"));
    let mut next = unused_config(input, a.doc.org_id.is_some())?;
    if given.and_then(|u| u.get("unusedAccessAge")).is_none() {
        next.age_days = old.age_days;
    }
    if given.and_then(|u| u.get("analysisRule")).is_none() {
        next.exclusions = old.exclusions;
    }
    next.analyzed = old.analyzed;
    let shown = configuration(&next);
    a.doc.unused_access = Some(next);
    // The analysis saves the analyzer with its new configuration.
    unused_scan::analyze(&mut db, &mut a, ctx.now).await?;
    Ok(json!({ "configuration": shown }))
}

/// `GetAnalyzer`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    let mut out = summary(&a);
    if let (Some(c), Some(o)) = (&a.doc.unused_access, out.as_object_mut()) {
        o.insert("configuration".into(), configuration(c));
    }
    if let (Some(c), Some(o)) = (&a.doc.internal_access, out.as_object_mut()) {
        o.insert("configuration".into(), internal::configuration(c));
    }
    Ok(json!({ "analyzer": out }))
}

/// `ListAnalyzers`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let wanted = opt_str(input, "type");
    let all: Vec<Analyzer> = model::list(&mut db, &ctx.principal.account_id, &ctx.region)
        .await?
        .into_iter()
        .filter(|a| wanted.is_none_or(|t| a.doc.analyzer_type == t))
        .collect();
    let max = max_results(input);
    let page = page::at_offset(all, opt_str(input, "nextToken"), max)
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({ "analyzers": page.items.iter().map(summary).collect::<Vec<_>>() });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}

/// `maxResults` (default 100).
pub fn max_results(input: &Value) -> usize {
    rampart_kit::input::opt_int(input, "maxResults")
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(100)
}

/// `DeleteAnalyzer`: the analyzer with its findings and archive rules.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = named(
        &mut db,
        ctx,
        opt_str(input, "analyzerName").unwrap_or_default(),
    )
    .await?;
    model::delete(&mut db, &a).await?;
    Ok(json!({}))
}

/// `TagResource`.
pub async fn tag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let mut a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "resourceArn").unwrap_or_default(),
    )
    .await?;
    a.doc.tags.extend(tags_of(input)?);
    if a.doc.tags.len() > 50 {
        return Err(invalid("An analyzer can have at most 50 tags."));
    }
    entity::save_doc(&mut db, a.entity, &a.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let mut a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "resourceArn").unwrap_or_default(),
    )
    .await?;
    for k in str_list(input, "tagKeys") {
        a.doc.tags.remove(&k);
    }
    entity::save_doc(&mut db, a.entity, &a.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `ListTagsForResource`.
pub async fn list_tags(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = by_arn(
        &mut db,
        ctx,
        opt_str(input, "resourceArn").unwrap_or_default(),
    )
    .await?;
    Ok(json!({ "tags": a.doc.tags }))
}
