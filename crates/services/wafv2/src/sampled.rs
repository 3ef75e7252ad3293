//! `GetSampledRequests`: the requests a web ACL's rule (or its default action) decided
//! recently, read from the samples this process's listeners keep ([`engine::samples`]).

use rampart_kit::{context::CallContext, db::Db, input::opt_str};
use serde_json::{json, Value};

use crate::{
    engine::samples::{self, Sample, HORIZON},
    error::{WafError, WafResult},
    model,
};

/// `{Name, Value}` pairs, as AWS lists headers.
fn pairs(headers: &[(String, String)]) -> Vec<Value> {
    headers
        .iter()
        .map(|(n, v)| json!({"Name": n, "Value": v}))
        .collect()
}

/// One sample as a `SampledHTTPRequest` of the given weight.
fn shape(s: &Sample, weight: u64) -> Value {
    let mut request = json!({
        "ClientIP": s.client_ip,
        "URI": s.uri,
        "Method": s.method,
        "HTTPVersion": s.http_version,
        "Headers": pairs(&s.headers),
    });
    if let Some(country) = &s.country {
        model::put(&mut request, "Country", country.as_str());
    }
    let mut out = json!({
        "Request": request,
        "Weight": weight,
        "Timestamp": s.at,
        "Action": s.action,
        "Labels": s.labels.iter().map(|l| json!({"Name": l})).collect::<Vec<_>>(),
    });
    if let Some(rule) = &s.group_rule {
        model::put(&mut out, "RuleNameWithinRuleGroup", rule.as_str());
    }
    if !s.inserted.is_empty() {
        model::put(&mut out, "RequestHeadersInserted", pairs(&s.inserted));
    }
    if let Some(code) = s.response_code {
        model::put(&mut out, "ResponseCodeSent", code);
    }
    out
}

/// A `TimeWindow` member as epoch seconds.
fn time_of(window: &Value, member: &str) -> WafResult<u64> {
    window
        .get(member)
        .and_then(Value::as_f64)
        .filter(|t| *t >= 0.0)
        .map(|t| t as u64)
        .ok_or_else(|| WafError::invalid("TIME_WINDOW", member, "A time is required."))
}

/// `GetSampledRequests`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    model::scope_of(input, ctx)?;
    let max = input.get("MaxItems").and_then(Value::as_u64).unwrap_or(0);
    if !(1..=500).contains(&max) {
        return Err(WafError::invalid(
            "MAX_ITEMS",
            &max.to_string(),
            "MaxItems must be from 1 to 500.",
        ));
    }
    let metric = opt_str(input, "RuleMetricName").unwrap_or_default();
    let window = input.get("TimeWindow").cloned().unwrap_or_default();
    let now = u64::try_from(ctx.now.timestamp()).unwrap_or(0);
    // AWS moves a start earlier than three hours ago to three hours ago.
    let start = time_of(&window, "StartTime")?.max(now.saturating_sub(HORIZON));
    let end = time_of(&window, "EndTime")?;
    if end < start {
        return Err(WafError::invalid(
            "TIME_WINDOW",
            "EndTime",
            "The end time is before the start time.",
        ));
    }
    let acl = model::find_arn(
        &mut db,
        ctx,
        opt_str(input, "WebAclArn").unwrap_or_default(),
    )
    .await?;
    let found = samples::installed()
        .map(|s| s.find(acl.arn(), metric, start, end, max as usize))
        .unwrap_or_default();
    let kept = found.samples.len() as u64;
    // Each sample stands for its share of the requests the metric saw.
    let weight = if kept == 0 {
        1
    } else {
        found.population.div_ceil(kept).max(1)
    };
    Ok(json!({
        "SampledRequests": found.samples.iter().map(|s| shape(s, weight)).collect::<Vec<_>>(),
        "PopulationSize": found.population,
        "TimeWindow": {"StartTime": start, "EndTime": end},
    }))
}
