//! Aggregate compliance: `DescribeAggregateComplianceByConfigRules`,
//! `GetAggregateComplianceDetailsByConfigRule`, `GetAggregateConfigRuleComplianceSummary`,
//! read at request time from the rules and evaluation results each source account stores. A
//! rule's region is its ARN's.

use std::collections::BTreeMap;

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use serde_json::{json, Value};

use crate::aggregate_sources::{members_of, Members};
use crate::common::{compliance_type, limit, paged, set};
use crate::compliance::{aggregate, result_json};
use crate::error::ConfigResult;
use crate::evaluate;
use crate::model::{epoch, EvaluationDoc};

/// One rule of one source account, with its results.
struct RuleRow {
    account: String,
    region: String,
    name: String,
    results: Vec<EvaluationDoc>,
}

/// The region of an ARN (`arn:aws:SERVICE:REGION:...`).
fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// Every rule the aggregator collects, with its results, by account, region and name.
async fn rule_rows(db: &mut Db<'_>, members: &Members) -> ConfigResult<Vec<RuleRow>> {
    let mut out = Vec::new();
    for (account, regions) in members {
        for (e, _) in evaluate::rules(db, account).await? {
            let region = region_of(&e.arn).to_string();
            if !regions.takes(&region) {
                continue;
            }
            let results = evaluate::results_of(db, account, &e.name).await?;
            out.push(RuleRow {
                account: account.clone(),
                region,
                name: e.name,
                results,
            });
        }
    }
    Ok(out)
}

fn filter<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input
        .get("Filters")
        .and_then(|f| f.get(member))
        .and_then(Value::as_str)
}

/// `DescribeAggregateComplianceByConfigRules`: each rule with results, per account and region.
pub async fn by_rule(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let max = limit(input, "Limit", 1000, 1000)?;
    let mut out = Vec::new();
    for row in rule_rows(&mut db, &members).await? {
        let compliance = aggregate(row.results.iter());
        let t = compliance_type(&compliance).to_string();
        let keep = t != "INSUFFICIENT_DATA"
            && filter(input, "ConfigRuleName").is_none_or(|n| n == row.name)
            && filter(input, "ComplianceType").is_none_or(|c| c == t)
            && filter(input, "AccountId").is_none_or(|a| a == row.account)
            && filter(input, "AwsRegion").is_none_or(|r| r == row.region);
        if keep {
            out.push(json!({
                "ConfigRuleName": row.name,
                "Compliance": compliance,
                "AccountId": row.account,
                "AwsRegion": row.region,
            }));
        }
    }
    paged(
        out,
        input,
        "NextToken",
        max,
        "AggregateComplianceByConfigRules",
        Value::clone,
    )
}

/// `GetAggregateComplianceDetailsByConfigRule`: one account and region's results of a rule.
pub async fn details(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let max = limit(input, "Limit", 50, 100)?;
    let get = |m: &str| input.get(m).and_then(Value::as_str).unwrap_or_default();
    let (name, account, region) = (get("ConfigRuleName"), get("AccountId"), get("AwsRegion"));
    let wanted = input.get("ComplianceType").and_then(Value::as_str);
    let mut out = Vec::new();
    for row in rule_rows(&mut db, &members).await? {
        if row.name != name || row.account != account || row.region != region {
            continue;
        }
        for r in &row.results {
            let keep = match wanted {
                Some(w) => r.compliance == w,
                None => r.compliance == "COMPLIANT" || r.compliance == "NON_COMPLIANT",
            };
            if keep {
                let mut v = result_json(r);
                set(&mut v, "AccountId", json!(row.account));
                set(&mut v, "AwsRegion", json!(row.region));
                out.push(v);
            }
        }
    }
    paged(
        out,
        input,
        "NextToken",
        max,
        "AggregateEvaluationResults",
        Value::clone,
    )
}

/// `GetAggregateConfigRuleComplianceSummary`: how many rules are compliant and not, in all,
/// or by account or region (`GroupByKey`).
pub async fn summary(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let members = members_of(&mut db, ctx, input).await?;
    let max = limit(input, "Limit", 1000, 1000)?;
    let group = input.get("GroupByKey").and_then(Value::as_str);
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in rule_rows(&mut db, &members).await? {
        if filter(input, "AccountId").is_some_and(|a| a != row.account)
            || filter(input, "AwsRegion").is_some_and(|r| r != row.region)
        {
            continue;
        }
        let name = match group {
            Some("ACCOUNT_ID") => row.account.clone(),
            Some("AWS_REGION") => row.region.clone(),
            _ => String::new(),
        };
        let entry = counts.entry(name).or_default();
        match compliance_type(&aggregate(row.results.iter())) {
            "COMPLIANT" => entry.0 += 1,
            "NON_COMPLIANT" => entry.1 += 1,
            _ => {}
        }
    }
    if group.is_none() && counts.is_empty() {
        counts.insert(String::new(), (0, 0));
    }
    let now = ctx.now;
    let mut v = paged(
        counts.into_iter().collect(),
        input,
        "NextToken",
        max,
        "AggregateComplianceCounts",
        |(name, (c, f)): &(String, (u64, u64))| {
            let mut v = json!({ "ComplianceSummary": {
                "CompliantResourceCount": { "CappedCount": c, "CapExceeded": false },
                "NonCompliantResourceCount": { "CappedCount": f, "CapExceeded": false },
                "ComplianceSummaryTimestamp": epoch(now),
            }});
            if !name.is_empty() {
                set(&mut v, "GroupName", json!(name));
            }
            v
        },
    )?;
    if let Some(g) = group {
        set(&mut v, "GroupByKey", json!(g));
    }
    Ok(v)
}
