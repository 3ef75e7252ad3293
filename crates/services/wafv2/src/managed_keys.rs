//! `GetRateBasedStatementManagedKeys`: the addresses a rate-based rule is blocking now,
//! read from the counters of the listeners this process runs (one counter per web ACL rule,
//! or per rule of a rule group per referencing web ACL rule), as CIDRs (`/32`, `/128`).
//! Keys that are not addresses (a `CONSTANT` aggregation) are not listed.

use std::net::IpAddr;

use rampart_kit::{context::CallContext, db::Db, input::opt_str};
use serde_json::{json, Value};

use crate::{
    engine::rate,
    error::{WafError, WafResult},
    model::{self, Kind},
};

fn named<'a>(rules: &'a [Value], name: &str) -> WafResult<&'a Value> {
    rules
        .iter()
        .find(|r| r.get("Name").and_then(Value::as_str) == Some(name))
        .ok_or_else(WafError::missing)
}

/// `GetRateBasedStatementManagedKeys`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let scope = model::scope_of(input, ctx)?;
    let acl_name = opt_str(input, "WebACLName").unwrap_or_default();
    let acl_id = opt_str(input, "WebACLId").unwrap_or_default();
    let acl = model::find(&mut db, ctx, Kind::WebAcl, &scope, acl_name, acl_id).await?;
    let rule_name = opt_str(input, "RuleName").unwrap_or_default();
    let (counter, rule) = match opt_str(input, "RuleGroupRuleName") {
        None => (
            format!("{}#{rule_name}", acl.arn()),
            named(&acl.doc.rules, rule_name)?.clone(),
        ),
        Some(group_rule) => {
            let arn = named(&acl.doc.rules, group_rule)?
                .get("Statement")
                .and_then(|s| s.get("RuleGroupReferenceStatement"))
                .and_then(|s| s.get("ARN"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    WafError::invalid(
                        "RULE_GROUP_RULE_NAME",
                        group_rule,
                        "The rule does not reference a rule group.",
                    )
                })?;
            let group = model::find_arn(&mut db, ctx, arn).await?;
            let rule = named(&group.doc.rules, rule_name)?.clone();
            (format!("{}#{group_rule}#{rule_name}", acl.arn()), rule)
        }
    };
    let statement = rule
        .get("Statement")
        .and_then(|s| s.get("RateBasedStatement"))
        .ok_or_else(|| {
            WafError::invalid("RULE_NAME", rule_name, "The rule is not a rate-based rule.")
        })?;
    let limit = statement.get("Limit").and_then(Value::as_u64).unwrap_or(0);
    let window = statement
        .get("EvaluationWindowSec")
        .and_then(Value::as_u64)
        .unwrap_or(300);
    let now = u64::try_from(ctx.now.timestamp()).unwrap_or(0);
    let keys = rate::installed()
        .map(|c| c.over(&counter, now, window, limit))
        .unwrap_or_default();
    let mut ips: Vec<IpAddr> = keys.iter().filter_map(|k| k.parse().ok()).collect();
    ips.sort();
    let cidrs = |v4: bool| -> Vec<String> {
        ips.iter()
            .filter(|ip| ip.is_ipv4() == v4)
            .map(|ip| format!("{ip}/{}", if v4 { 32 } else { 128 }))
            .collect()
    };
    Ok(json!({
        "ManagedKeysIPV4": {"IPAddressVersion": "IPV4", "Addresses": cidrs(true)},
        "ManagedKeysIPV6": {"IPAddressVersion": "IPV6", "Addresses": cidrs(false)},
    }))
}
