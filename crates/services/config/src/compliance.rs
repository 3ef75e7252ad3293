//! Compliance: per rule, per resource, the details of each, and the summaries, from the
//! stored evaluation results.

use std::collections::BTreeMap;

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use serde_json::{json, Value};

use crate::common::{limit, paged, strings};
use crate::error::ConfigResult;
use crate::evaluate;
use crate::model::{epoch, EvaluationDoc};
use crate::rules;

/// The compliance of a set of results: any non-compliant makes it `NON_COMPLIANT` (with the
/// count), else any compliant `COMPLIANT`, else `INSUFFICIENT_DATA`.
pub fn aggregate<'a>(results: impl Iterator<Item = &'a EvaluationDoc>) -> Value {
    let mut compliant = 0u64;
    let mut failing = 0u64;
    for r in results {
        match r.compliance.as_str() {
            "COMPLIANT" => compliant += 1,
            "NON_COMPLIANT" => failing += 1,
            _ => {}
        }
    }
    if failing > 0 {
        json!({
            "ComplianceType": "NON_COMPLIANT",
            "ComplianceContributorCount": { "CappedCount": failing.min(100), "CapExceeded": failing > 100 },
        })
    } else if compliant > 0 {
        json!({ "ComplianceType": "COMPLIANT" })
    } else {
        json!({ "ComplianceType": "INSUFFICIENT_DATA" })
    }
}

fn wanted(input: &Value, default: &[&str]) -> Vec<String> {
    let given = strings(input, "ComplianceTypes");
    if given.is_empty() {
        default.iter().map(|s| s.to_string()).collect()
    } else {
        given
    }
}

/// An evaluation result in AWS's shape.
pub fn result_json(r: &EvaluationDoc) -> Value {
    let mut v = json!({
        "EvaluationResultIdentifier": {
            "EvaluationResultQualifier": {
                "ConfigRuleName": r.rule,
                "ResourceType": r.resource_type,
                "ResourceId": r.resource_id,
                "EvaluationMode": "DETECTIVE",
            },
            "OrderingTimestamp": epoch(r.ordering),
        },
        "ComplianceType": r.compliance,
        "ResultRecordedTime": epoch(r.recorded),
        "ConfigRuleInvokedTime": epoch(r.invoked),
    });
    if let Some(a) = &r.annotation {
        crate::common::set(&mut v, "Annotation", json!(a));
    }
    v
}

/// `DescribeComplianceByConfigRule`.
pub async fn by_rule(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let names = strings(input, "ConfigRuleNames");
    let types = strings(input, "ComplianceTypes");
    let mut out = Vec::new();
    for (e, _) in rules::named(&mut db, account, &names).await? {
        let results = evaluate::results_of(&mut db, account, &e.name).await?;
        let compliance = aggregate(results.iter());
        let t = crate::common::compliance_type(&compliance).to_string();
        if types.is_empty() || types.contains(&t) {
            out.push(json!({ "ConfigRuleName": e.name, "Compliance": compliance }));
        }
    }
    paged(
        out,
        input,
        "NextToken",
        25,
        "ComplianceByConfigRules",
        Value::clone,
    )
}

/// `DescribeComplianceByResource`.
pub async fn by_resource(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let rtype = input.get("ResourceType").and_then(Value::as_str);
    let rid = input.get("ResourceId").and_then(Value::as_str);
    let types = strings(input, "ComplianceTypes");
    let max = limit(input, "Limit", 100, 100)?;
    let mut grouped: BTreeMap<(String, String), Vec<EvaluationDoc>> = BTreeMap::new();
    for r in evaluate::all_results(&mut db, account).await? {
        if rtype.is_some_and(|t| t != r.resource_type) || rid.is_some_and(|i| i != r.resource_id) {
            continue;
        }
        grouped
            .entry((r.resource_type.clone(), r.resource_id.clone()))
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for ((t, id), results) in &grouped {
        let compliance = aggregate(results.iter());
        let c = crate::common::compliance_type(&compliance).to_string();
        if types.is_empty() || types.contains(&c) {
            out.push(json!({ "ResourceType": t, "ResourceId": id, "Compliance": compliance }));
        }
    }
    paged(
        out,
        input,
        "NextToken",
        max,
        "ComplianceByResources",
        Value::clone,
    )
}

/// `GetComplianceDetailsByConfigRule`.
pub async fn details_by_rule(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let name = input
        .get("ConfigRuleName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    rules::load(&mut db, account, name).await?;
    let types = wanted(input, &["COMPLIANT", "NON_COMPLIANT"]);
    let max = limit(input, "Limit", 100, 100)?;
    let results: Vec<Value> = evaluate::results_of(&mut db, account, name)
        .await?
        .iter()
        .filter(|r| types.contains(&r.compliance))
        .map(result_json)
        .collect();
    paged(
        results,
        input,
        "NextToken",
        max,
        "EvaluationResults",
        Value::clone,
    )
}

/// `GetComplianceDetailsByResource`.
pub async fn details_by_resource(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let rtype = input
        .get("ResourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let rid = input
        .get("ResourceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let types = wanted(input, &["COMPLIANT", "NON_COMPLIANT"]);
    let results: Vec<Value> = evaluate::all_results(&mut db, account)
        .await?
        .iter()
        .filter(|r| r.resource_type == rtype && r.resource_id == rid)
        .filter(|r| types.contains(&r.compliance))
        .map(result_json)
        .collect();
    paged(
        results,
        input,
        "NextToken",
        100,
        "EvaluationResults",
        Value::clone,
    )
}

/// `GetComplianceSummaryByConfigRule`: how many rules are compliant and not.
pub async fn summary_by_rule(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let mut compliant = 0u64;
    let mut failing = 0u64;
    for (e, _) in evaluate::rules(&mut db, account).await? {
        let results = evaluate::results_of(&mut db, account, &e.name).await?;
        match Some(crate::common::compliance_type(&aggregate(results.iter()))) {
            Some("COMPLIANT") => compliant += 1,
            Some("NON_COMPLIANT") => failing += 1,
            _ => {}
        }
    }
    Ok(json!({ "ComplianceSummary": summary(compliant, failing, ctx) }))
}

fn summary(compliant: u64, failing: u64, ctx: &CallContext) -> Value {
    json!({
        "CompliantResourceCount": { "CappedCount": compliant.min(100), "CapExceeded": compliant > 100 },
        "NonCompliantResourceCount": { "CappedCount": failing.min(100), "CapExceeded": failing > 100 },
        "ComplianceSummaryTimestamp": epoch(ctx.now),
    })
}

/// `GetComplianceSummaryByResourceType`: how many resources of each type are compliant and not.
pub async fn summary_by_type(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let only = strings(input, "ResourceTypes");
    let mut grouped: BTreeMap<(String, String), Vec<EvaluationDoc>> = BTreeMap::new();
    for r in evaluate::all_results(&mut db, account).await? {
        grouped
            .entry((r.resource_type.clone(), r.resource_id.clone()))
            .or_default()
            .push(r);
    }
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for ((t, _), results) in &grouped {
        if !only.is_empty() && !only.contains(t) {
            continue;
        }
        let entry = counts.entry(t.clone()).or_default();
        match Some(crate::common::compliance_type(&aggregate(results.iter()))) {
            Some("COMPLIANT") => entry.0 += 1,
            Some("NON_COMPLIANT") => entry.1 += 1,
            _ => {}
        }
    }
    let out: Vec<Value> = if only.is_empty() {
        let (c, f) = counts.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        vec![json!({ "ComplianceSummary": summary(c, f, ctx) })]
    } else {
        counts
            .iter()
            .map(|(t, (c, f))| json!({ "ResourceType": t, "ComplianceSummary": summary(*c, *f, ctx) }))
            .collect()
    };
    Ok(json!({ "ComplianceSummariesByResourceType": out }))
}
