//! Insights: `CreateInsight`, `GetInsights`, `UpdateInsight`, `DeleteInsight`,
//! `GetInsightResults`.
//!
//! An insight is a saved `AwsSecurityFindingFilters` with a `GroupByAttribute`; its results
//! count the hub's current findings that the filters match ([`crate::filters`], the code
//! `GetFindings` runs) by each value of the grouping attribute, most findings first. Custom
//! insights are the account's (100 per account and region, AWS's quota); AWS's managed
//! insights (`arn:aws:securityhub:::insight/securityhub/default/N`) are read-only and listed
//! only when asked for by ARN, as `GetInsights` does in AWS.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str, str_list},
    page,
};
use serde_json::{json, Map, Value};

use crate::{
    error::SecurityHubError,
    filters::{self, FilterError},
    model::{self, INSIGHT},
};

/// Most custom insights per account and region.
pub const MAX_INSIGHTS: usize = 100;
/// Most values `GetInsightResults` returns.
const MAX_RESULT_VALUES: usize = 100;

/// The filters every managed insight below starts from: active findings whose workflow is
/// `NEW` or `NOTIFIED`.
fn open_findings() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "RecordState".into(),
        json!([{"Comparison": "EQUALS", "Value": "ACTIVE"}]),
    );
    m.insert(
        "WorkflowStatus".into(),
        json!([
            {"Comparison": "EQUALS", "Value": "NEW"},
            {"Comparison": "EQUALS", "Value": "NOTIFIED"}
        ]),
    );
    m
}

/// AWS's managed insights whose definition Rampart reproduces (the Security Hub User Guide,
/// "Managed insights"): insight 1 and insight 10. The others group by or filter on resource
/// details of services Rampart does not hold (EC2 instances, AMIs, ...).
fn managed(partition: rampart_kit::Partition) -> Vec<Value> {
    let arn = |n: u32| {
        partition.arn(
            "securityhub",
            "",
            "",
            &format!("insight/securityhub/default/{n}"),
        )
    };
    let mut s3 = open_findings();
    s3.insert(
        "Type".into(),
        json!([{"Comparison": "PREFIX", "Value": "Effects/Data Exposure"}]),
    );
    s3.insert(
        "ResourceType".into(),
        json!([{"Comparison": "EQUALS", "Value": "AwsS3Bucket"}]),
    );
    vec![
        json!({
            "InsightArn": arn(1),
            "Name": "AWS resources with the most findings",
            "Filters": open_findings(),
            "GroupByAttribute": "ResourceId",
        }),
        json!({
            "InsightArn": arn(10),
            "Name": "S3 buckets with public write or read permissions",
            "Filters": s3,
            "GroupByAttribute": "ResourceId",
        }),
    ]
}

fn not_found(arn: &str) -> ServiceError {
    SecurityHubError::ResourceNotFoundException(format!("Insight not found: {arn}")).into()
}

/// The prefix of the caller's custom insight ARNs; the insight's id follows it.
fn custom_prefix(ctx: &CallContext) -> String {
    let account = &ctx.principal.account_id;
    ctx.partition().arn(
        "securityhub",
        &ctx.region,
        account,
        &format!("insight/{account}/custom/"),
    )
}

/// An insight as stored (or managed), with its entity when it is a custom one.
struct Found {
    entity: Option<rampart_store::Entity>,
    insight: Value,
}

fn with_arn(e: &rampart_store::Entity) -> Result<Value, ServiceError> {
    let mut doc = entity::read_doc::<Value>(e)?;
    crate::set(&mut doc, "InsightArn", json!(e.arn));
    Ok(doc)
}

/// The insight with this ARN: a managed one, or one of the caller's custom insights.
async fn find(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> Result<Found, ServiceError> {
    if let Some(m) = managed(ctx.partition())
        .into_iter()
        .find(|m| m["InsightArn"] == arn)
    {
        return Ok(Found {
            entity: None,
            insight: m,
        });
    }
    let key = arn
        .strip_prefix(&custom_prefix(ctx))
        .ok_or_else(|| not_found(arn))?;
    let e = entity::find(db, &ctx.principal.account_id, INSIGHT, key)
        .await?
        .filter(|e| e.arn == arn)
        .ok_or_else(|| not_found(arn))?;
    Ok(Found {
        insight: with_arn(&e)?,
        entity: Some(e),
    })
}

/// Checks an insight's filters and grouping attribute as AWS does.
fn check(filters: &Value, group_by: &str) -> Result<(), ServiceError> {
    let Some(map) = filters.as_object() else {
        return Err(SecurityHubError::invalid("Filters must be an object.").into());
    };
    filters::check(map).map_err(SecurityHubError::invalid)?;
    if !filters::STRING_ATTRIBUTES.contains(&group_by) {
        return Err(SecurityHubError::invalid(format!(
            "GroupByAttribute {group_by} is not a valid attribute to group findings by."
        ))
        .into());
    }
    Ok(())
}

/// `CreateInsight`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let account = ctx.principal.account_id.clone();
    let name = opt_str(input, "Name").unwrap_or("");
    let group_by = opt_str(input, "GroupByAttribute").unwrap_or("");
    let filters = input.get("Filters").cloned().unwrap_or_else(|| json!({}));
    check(&filters, group_by)?;
    let held = model::in_region(&mut db, &account, INSIGHT, &ctx.region).await?;
    if held.len() >= MAX_INSIGHTS {
        return Err(SecurityHubError::LimitExceededException(format!(
            "You have reached the limit of {MAX_INSIGHTS} custom insights."
        ))
        .into());
    }
    let id = uuid::Uuid::new_v4().to_string();
    let arn = format!("{}{id}", custom_prefix(ctx));
    let doc = json!({"Name": name, "Filters": filters, "GroupByAttribute": group_by});
    let mut e = model::regional_entity((&account, &ctx.region), INSIGHT, &id, arn.clone(), ctx.now);
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(json!({ "InsightArn": arn }))
}

/// `GetInsights`: the insights asked for by ARN (each must exist), else every custom insight.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let max = opt_int(input, "MaxResults").unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(SecurityHubError::invalid("MaxResults must be between 1 and 100.").into());
    }
    let arns = str_list(input, "InsightArns");
    let mut insights = Vec::new();
    if arns.is_empty() {
        let mut held =
            model::in_region(&mut db, &ctx.principal.account_id, INSIGHT, &ctx.region).await?;
        held.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.arn.cmp(&b.arn)));
        for e in &held {
            insights.push(with_arn(e)?);
        }
    } else {
        for arn in &arns {
            insights.push(find(&mut db, ctx, arn).await?.insight);
        }
    }
    let token = opt_str(input, "NextToken").filter(|t| !t.is_empty());
    let page = page::at_offset(insights, token, usize::try_from(max).unwrap_or(100))
        .ok_or_else(|| SecurityHubError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ "Insights": page.items });
    if let Some(next) = page.next {
        crate::set(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

fn read_only(arn: &str) -> ServiceError {
    SecurityHubError::invalid(format!(
        "Insight {arn} is a managed insight and cannot be changed or deleted."
    ))
    .into()
}

/// `UpdateInsight`: the members given replace the insight's.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let arn = opt_str(input, "InsightArn").unwrap_or("");
    let found = find(&mut db, ctx, arn).await?;
    let Some(e) = found.entity else {
        return Err(read_only(arn));
    };
    let mut doc = entity::read_doc::<Value>(&e)?;
    for key in ["Name", "Filters", "GroupByAttribute"] {
        if let Some(v) = input.get(key) {
            crate::set(&mut doc, key, v.clone());
        }
    }
    let filters = doc.get("Filters").cloned().unwrap_or_else(|| json!({}));
    check(&filters, opt_str(&doc, "GroupByAttribute").unwrap_or(""))?;
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DeleteInsight`.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let arn = opt_str(input, "InsightArn").unwrap_or("");
    let found = find(&mut db, ctx, arn).await?;
    let Some(e) = found.entity else {
        return Err(read_only(arn));
    };
    db.entities()
        .delete(&ctx.principal.account_id, INSIGHT, &e.name_key)
        .await?;
    Ok(json!({ "InsightArn": arn }))
}

/// How many of `findings` the filters match, by each value of `group_by` (a finding counts
/// once under each distinct value it holds there), most first, then by value.
pub fn group_counts(
    filters: &Map<String, Value>,
    group_by: &str,
    findings: &[Value],
    now: DateTime<Utc>,
) -> Result<Vec<(String, u64)>, FilterError> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for f in findings {
        if filters::matches(filters, f, now)? {
            for value in filters::texts_at(f, group_by) {
                *counts.entry(value).or_default() += 1;
            }
        }
    }
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(MAX_RESULT_VALUES);
    Ok(out)
}

/// `GetInsightResults`: the insight's groups over the hub's current findings.
pub async fn results(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let arn = opt_str(input, "InsightArn").unwrap_or("");
    let insight = find(&mut db, ctx, arn).await?.insight;
    let empty = Map::new();
    let filters = insight
        .get("Filters")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let group_by = opt_str(&insight, "GroupByAttribute").unwrap_or("");
    let findings: Vec<Value> = crate::findings::visible_findings(&mut db, ctx)
        .await?
        .into_iter()
        .map(|f| f.doc)
        .collect();
    let counts =
        group_counts(filters, group_by, &findings, ctx.now).map_err(SecurityHubError::invalid)?;
    let values: Vec<Value> = counts
        .into_iter()
        .map(|(v, n)| json!({"GroupByAttributeValue": v, "Count": n}))
        .collect();
    Ok(json!({"InsightResults": {
        "InsightArn": arn,
        "GroupByAttribute": group_by,
        "ResultValues": values,
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, severity: &str, resources: &[&str], status: &str) -> Value {
        let resources: Vec<Value> = resources
            .iter()
            .map(|r| json!({"Type": "AwsS3Bucket", "Id": r}))
            .collect();
        json!({
            "Id": id,
            "Severity": {"Label": severity},
            "Resources": resources,
            "RecordState": "ACTIVE",
            "Workflow": {"Status": status},
            "Types": ["Effects/Data Exposure/Public"],
        })
    }

    fn now() -> DateTime<Utc> {
        crate::asff::parse_time("2026-12-07T00:00:00Z").unwrap()
    }

    #[test]
    fn groups_count_matching_findings_most_first() {
        let findings = vec![
            finding("1", "HIGH", &["b1"], "NEW"),
            finding("2", "HIGH", &["b1", "b2"], "NEW"),
            finding("3", "LOW", &["b3"], "NEW"),
            finding("4", "HIGH", &["b3", "b3"], "SUPPRESSED"),
        ];
        let all = Map::new();
        let by_severity = group_counts(&all, "SeverityLabel", &findings, now()).unwrap();
        assert_eq!(
            by_severity,
            vec![("HIGH".to_string(), 3), ("LOW".to_string(), 1)]
        );
        let high = json!({"SeverityLabel": [{"Comparison": "EQUALS", "Value": "HIGH"}]});
        let by_resource =
            group_counts(high.as_object().unwrap(), "ResourceId", &findings, now()).unwrap();
        assert_eq!(
            by_resource,
            vec![
                ("b1".to_string(), 2),
                ("b2".to_string(), 1),
                ("b3".to_string(), 1)
            ]
        );
    }

    #[test]
    fn managed_insights_filter_open_findings() {
        let findings = vec![
            finding("1", "HIGH", &["b1"], "NEW"),
            finding("2", "HIGH", &["b1"], "NOTIFIED"),
            finding("3", "HIGH", &["b2"], "RESOLVED"),
        ];
        let s3 = managed(rampart_kit::Partition::Aws)
            .into_iter()
            .find(|m| m["InsightArn"].as_str().unwrap().ends_with("/10"))
            .unwrap();
        let filters = s3["Filters"].as_object().unwrap();
        let counts = group_counts(filters, "ResourceId", &findings, now()).unwrap();
        assert_eq!(counts, vec![("b1".to_string(), 2)]);
    }

    #[test]
    fn grouping_attribute_and_filters_are_checked() {
        assert!(check(&json!({}), "ResourceId").is_ok());
        assert!(check(&json!({}), "Severity").is_err());
        let mixed = json!({"Title": [
            {"Comparison": "EQUALS", "Value": "a"},
            {"Comparison": "NOT_EQUALS", "Value": "b"}
        ]});
        assert!(check(&mixed, "Title").is_err());
    }
}
