//! Web ACL logging: `PutLoggingConfiguration`, `GetLoggingConfiguration`,
//! `ListLoggingConfigurations`, `DeleteLoggingConfiguration`. A web ACL has at most one
//! configuration, kept in its document (deleting the web ACL deletes it); every change bumps
//! ELB's configuration generation, so the listeners log (or stop) within a second. The
//! destination is an S3 bucket named `aws-waf-logs-*` (Rampart has no Firehose or CloudWatch
//! Logs); the delivery job writes there as `delivery.logs.amazonaws.com`.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    compiled::invalid,
    engine::logging::LogConfig,
    error::{WafError, WafResult},
    model::{self, Item, Kind},
};

/// The web ACL a `ResourceArn` names (`WAFNonexistentItemException` when there is none).
async fn web_acl(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> WafResult<Item> {
    if model::parse_arn(arn).is_none_or(|p| p.0 != Kind::WebAcl) {
        return Err(WafError::invalid(
            "RESOURCE_ARN",
            arn,
            "The ARN isn’t valid: logging is configured on web ACLs.",
        ));
    }
    model::find_arn(db, ctx, arn).await
}

/// `LogType` and `LogScope`, checked: Rampart logs web ACL traffic of customers.
fn log_kind(input: &Value) -> WafResult<()> {
    match opt_str(input, "LogType") {
        None | Some("WAF_LOGS") => {}
        Some(other) => {
            return Err(WafError::invalid(
                "LOG_TYPE",
                other,
                "The log type is not valid.",
            ))
        }
    }
    match opt_str(input, "LogScope") {
        None | Some("CUSTOMER") => Ok(()),
        Some(other) => Err(WafError::invalid(
            "LOG_SCOPE",
            other,
            "Rampart offers the CUSTOMER log scope only.",
        )),
    }
}

/// The configuration as stored and returned: what was given, checked, with AWS's defaults.
fn stored(given: &Value, resource: &str) -> WafResult<Value> {
    if given
        .get("ManagedByFirewallManager")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Err(WafError::invalid(
            "MANAGED_BY_FIREWALL_MANAGER",
            "true",
            "Only Firewall Manager manages logging configurations it created.",
        ));
    }
    log_kind(given)?;
    LogConfig::compile(given).map_err(invalid)?;
    let mut out = json!({
        "ResourceArn": resource,
        "LogDestinationConfigs": given.get("LogDestinationConfigs").cloned().unwrap_or(json!([])),
        "ManagedByFirewallManager": false,
        "LogType": "WAF_LOGS",
        "LogScope": "CUSTOMER",
    });
    for member in ["RedactedFields", "LoggingFilter"] {
        if let Some(v) = given.get(member).filter(|v| !v.is_null()) {
            model::put(&mut out, member, v.clone());
        }
    }
    Ok(out)
}

/// `PutLoggingConfiguration`: replaces the web ACL's configuration.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let given = input
        .get("LoggingConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let resource = opt_str(&given, "ResourceArn").unwrap_or_default();
    let mut item = web_acl(&mut db, ctx, resource).await?;
    let config = stored(&given, item.arn())?;
    item.doc.logging = Some(config.clone());
    entity::save_doc(&mut db, item.entity, &item.doc, ctx.now).await?;
    model::changed(&mut db).await?;
    Ok(json!({ "LoggingConfiguration": config }))
}

/// `GetLoggingConfiguration`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    log_kind(input)?;
    let resource = opt_str(input, "ResourceArn").unwrap_or_default();
    let item = web_acl(&mut db, ctx, resource).await?;
    let config = item.doc.logging.ok_or_else(WafError::missing)?;
    Ok(json!({ "LoggingConfiguration": config }))
}

/// `DeleteLoggingConfiguration` (a web ACL without one is not an error).
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    log_kind(input)?;
    let resource = opt_str(input, "ResourceArn").unwrap_or_default();
    let mut item = web_acl(&mut db, ctx, resource).await?;
    if item.doc.logging.take().is_some() {
        entity::save_doc(&mut db, item.entity, &item.doc, ctx.now).await?;
        model::changed(&mut db).await?;
    }
    Ok(json!({}))
}

/// `ListLoggingConfigurations`: the configurations of the scope's web ACLs, in web ACL name
/// order, paged with `Limit` (1-100) and `NextMarker` (the last web ACL name returned).
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> WafResult<Value> {
    let scope = model::scope_of(input, ctx)?;
    log_kind(input)?;
    let limit = match input.get("Limit").and_then(Value::as_u64) {
        None => 100,
        Some(n @ 1..=100) => n as usize,
        Some(n) => {
            return Err(WafError::invalid(
                "LIMIT",
                &n.to_string(),
                "The limit must be between 1 and 100.",
            ))
        }
    };
    let marker = opt_str(input, "NextMarker");
    let all = model::list_all(
        &mut db,
        &ctx.principal.account_id,
        &ctx.region,
        Kind::WebAcl,
        &scope,
    )
    .await?;
    let with: Vec<&Item> = all
        .iter()
        .filter(|i| i.doc.logging.is_some())
        .filter(|i| marker.is_none_or(|m| i.doc.name.as_str() > m))
        .collect();
    let page: Vec<Value> = with
        .iter()
        .take(limit)
        .filter_map(|i| i.doc.logging.clone())
        .collect();
    let mut out = json!({ "LoggingConfigurations": page });
    if with.len() > limit {
        if let Some(last) = with.get(limit - 1) {
            model::put(&mut out, "NextMarker", json!(last.doc.name));
        }
    }
    Ok(out)
}
