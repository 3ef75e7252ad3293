//! Findings: `BatchImportFindings`, `GetFindings`, `BatchUpdateFindings`.
//!
//! Findings are kept per account and region. An import checks each finding on its own
//! ([`crate::asff::validate`]): a refused finding comes back in `FailedFindings` and the rest
//! are stored. Re-importing a finding (same `ProductArn` and `Id`) replaces it, keeping the
//! workflow attributes customers own. The account's automation rules run on each finding
//! imported ([`crate::automation_apply`]); `BatchUpdateFindings` does not run them.

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    error::ServiceError,
    input::{opt_int, opt_str},
    page,
};
use serde_json::{json, Map, Value};

use crate::{
    aggregator, asff, automation_apply,
    error::SecurityHubError,
    filters,
    model::{self, StoredFinding},
    org, time_text,
};

/// Most findings in one `BatchImportFindings` or `BatchUpdateFindings`.
const MAX_BATCH: usize = 100;

/// `BatchImportFindings`.
pub async fn import(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let account = ctx.principal.account_id.clone();
    let items = input
        .get("Findings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(SecurityHubError::invalid(format!(
            "Findings must hold between 1 and {MAX_BATCH} findings."
        ))
        .into());
    }
    let rules = automation_apply::rules_applying(&mut db, &account, &ctx.region).await?;
    let mut failed = Vec::new();
    let mut ok = 0;
    for f in items {
        let id = f
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Err(r) = asff::validate(&f, &account, &ctx.region) {
            failed.push(json!({"Id": id, "ErrorCode": r.code, "ErrorMessage": r.message}));
            continue;
        }
        let product = f
            .get("ProductArn")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let previous = model::finding(&mut db, &account, &ctx.region, &product, &id).await?;
        let mut doc = asff::complete(f, previous.as_ref().map(|p| &p.doc), &ctx.region, ctx.now);
        automation_apply::apply(&rules, &mut doc, ctx.now);
        let entity = previous.and_then(|p| p.entity);
        model::save_finding(
            &mut db,
            &account,
            &ctx.region,
            StoredFinding { entity, doc },
            ctx.now,
        )
        .await?;
        ok += 1;
    }
    Ok(json!({
        "SuccessCount": ok,
        "FailedCount": failed.len(),
        "FailedFindings": failed,
    }))
}

/// `SortCriteria` as (field, descending).
fn sort_criteria(input: &Value) -> Vec<(String, bool)> {
    input
        .get("SortCriteria")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let field = opt_str(c, "Field")?.to_string();
            Some((field, opt_str(c, "SortOrder") == Some("desc")))
        })
        .collect()
}

/// `GetFindings`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let empty = Map::new();
    let filters = input
        .get("Filters")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    filters::check(filters).map_err(SecurityHubError::invalid)?;
    let max = opt_int(input, "MaxResults").unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(SecurityHubError::invalid("MaxResults must be between 1 and 100.").into());
    }
    let mut found = Vec::new();
    for f in visible_findings(&mut db, ctx).await? {
        if filters::matches(filters, &f.doc, ctx.now).map_err(SecurityHubError::invalid)? {
            found.push(f.doc);
        }
    }
    filters::sort(&mut found, &sort_criteria(input));
    let token = opt_str(input, "NextToken").filter(|t| !t.is_empty());
    let page = page::at_offset(found, token, usize::try_from(max).unwrap_or(100))
        .ok_or_else(|| SecurityHubError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ "Findings": page.items });
    if let Some(next) = page.next {
        crate::set(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

/// Applies `BatchUpdateFindings`' changes (or an automation rule's `FindingFieldsUpdate`,
/// which has the same members) to one finding, stamping `ProcessedAt`. `UpdatedAt` is the
/// finding provider's and stays.
pub(crate) fn apply_update(f: &mut Value, input: &Value, at: DateTime<Utc>) {
    let now = time_text(at);
    let Some(obj) = f.as_object_mut() else {
        return;
    };
    if let Some(note) = input.get("Note") {
        obj.insert(
            "Note".into(),
            json!({"Text": note.get("Text"), "UpdatedBy": note.get("UpdatedBy"), "UpdatedAt": now}),
        );
    }
    if let Some(Value::Object(sev)) = input.get("Severity") {
        let mut s = obj
            .get("Severity")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, v) in sev {
            s.insert(k.clone(), v.clone());
        }
        if sev.contains_key("Label") && !sev.contains_key("Normalized") {
            s.remove("Normalized");
        } else if sev.contains_key("Normalized") && !sev.contains_key("Label") {
            s.remove("Label");
        }
        asff::complete_severity(&mut s);
        obj.insert("Severity".into(), Value::Object(s));
    }
    if let Some(status) = input.pointer("/Workflow/Status").and_then(Value::as_str) {
        obj.insert("Workflow".into(), json!({"Status": status}));
        let legacy = if status == "RESOLVED" || status == "SUPPRESSED" {
            "RESOLVED"
        } else {
            "NEW"
        };
        obj.insert("WorkflowState".into(), json!(legacy));
    }
    if let Some(Value::Object(fields)) = input.get("UserDefinedFields") {
        let mut u = obj
            .get("UserDefinedFields")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, v) in fields {
            u.insert(k.clone(), v.clone());
        }
        obj.insert("UserDefinedFields".into(), Value::Object(u));
    }
    for key in [
        "VerificationState",
        "Confidence",
        "Criticality",
        "Types",
        "RelatedFindings",
    ] {
        if let Some(v) = input.get(key) {
            obj.insert(key.into(), v.clone());
        }
    }
    obj.insert("ProcessedAt".into(), json!(now));
}

/// `BatchUpdateFindings`.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let ids = input
        .get("FindingIdentifiers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(SecurityHubError::invalid(format!(
            "FindingIdentifiers must hold between 1 and {MAX_BATCH} identifiers."
        ))
        .into());
    }
    let changes = [
        "Note",
        "Severity",
        "VerificationState",
        "Confidence",
        "Criticality",
        "Types",
        "UserDefinedFields",
        "Workflow",
        "RelatedFindings",
    ];
    if !changes.iter().any(|k| input.get(*k).is_some()) {
        return Err(SecurityHubError::invalid(
            "At least one attribute to update must be provided.",
        )
        .into());
    }
    let accounts = org::visible_accounts(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    let regions = aggregator::regions_seen(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    let mut processed = Vec::new();
    let mut unprocessed = Vec::new();
    for ident in ids {
        let id = opt_str(&ident, "Id").unwrap_or("");
        let product = opt_str(&ident, "ProductArn").unwrap_or("");
        match visible_finding(&mut db, &accounts, &regions, (product, id)).await? {
            Some((account, region, mut f)) => {
                apply_update(&mut f.doc, input, ctx.now);
                model::save_finding(&mut db, &account, &region, f, ctx.now).await?;
                processed.push(ident);
            }
            None => unprocessed.push(json!({
                "FindingIdentifier": ident,
                "ErrorCode": "FindingNotFound",
                "ErrorMessage": "Finding Not Found",
            })),
        }
    }
    Ok(json!({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}))
}

/// The findings the caller sees in its region: its own and its enabled members' (an
/// administrator's view, as AWS gives it), in its region and, from an aggregation Region,
/// in the linked Regions.
pub async fn visible_findings(
    db: &mut Db<'_>,
    ctx: &CallContext,
) -> Result<Vec<StoredFinding>, ServiceError> {
    let mut out = Vec::new();
    let accounts = org::visible_accounts(db, &ctx.principal.account_id, &ctx.region).await?;
    for region in aggregator::regions_seen(db, &ctx.principal.account_id, &ctx.region).await? {
        for account in &accounts {
            out.extend(model::findings(db, account, &region).await?);
        }
    }
    Ok(out)
}

/// The finding `(ProductArn, Id)` among `accounts`' findings in `regions`, with its account
/// and Region.
async fn visible_finding(
    db: &mut Db<'_>,
    accounts: &[String],
    regions: &[String],
    (product, id): (&str, &str),
) -> Result<Option<(String, String, StoredFinding)>, ServiceError> {
    for region in regions {
        for account in accounts {
            if let Some(f) = model::finding(db, account, region, product, id).await? {
                return Ok(Some((account.clone(), region.clone(), f)));
            }
        }
    }
    Ok(None)
}
