//! Load balancer attributes: `ModifyLoadBalancerAttributes`, `DescribeLoadBalancerAttributes`.
//! Rampart offers the attributes it enforces: access logs (`access_logs.s3.*`, checked as
//! AWS checks them: the bucket must exist and its policy must let Elastic Load Balancing
//! write) and HTTP/2 to clients (`routing.http2.enabled`). Any other key is refused.

use std::collections::BTreeMap;

use rampart_kit::{authz::AuthzQuestion, context::CallContext, db::Db, entity, input::opt_str};
use rampart_s3 as s3;
use serde_json::{json, Value};

use crate::{
    access_log,
    error::{ElbError, ElbResult},
    model::{self, LoadBalancerDoc},
};

/// `access_logs.s3.enabled`.
pub const LOGS_ENABLED: &str = "access_logs.s3.enabled";
/// `access_logs.s3.bucket`.
pub const LOGS_BUCKET: &str = "access_logs.s3.bucket";
/// `access_logs.s3.prefix`.
pub const LOGS_PREFIX: &str = "access_logs.s3.prefix";
/// `routing.http2.enabled`.
pub const HTTP2: &str = "routing.http2.enabled";

/// The attributes Rampart offers, with AWS's defaults.
const DEFAULTS: [(&str, &str); 4] = [
    (LOGS_ENABLED, "false"),
    (LOGS_BUCKET, ""),
    (LOGS_PREFIX, ""),
    (HTTP2, "true"),
];

/// Every attribute of a load balancer: its own values over the defaults.
pub fn effective(doc: &LoadBalancerDoc) -> BTreeMap<String, String> {
    DEFAULTS
        .iter()
        .map(|(k, v)| {
            let value = doc.attributes.get(*k).map_or(*v, String::as_str);
            (k.to_string(), value.to_string())
        })
        .collect()
}

/// Where a load balancer's access logs go, when they are on: bucket and prefix.
pub fn log_destination(doc: &LoadBalancerDoc) -> Option<(String, String)> {
    let all = effective(doc);
    let on = all.get(LOGS_ENABLED).is_some_and(|v| v == "true");
    let bucket = all.get(LOGS_BUCKET).cloned().unwrap_or_default();
    (on && !bucket.is_empty()).then(|| (bucket, all.get(LOGS_PREFIX).cloned().unwrap_or_default()))
}

/// Whether the load balancer serves HTTP/2 to clients that offer it.
pub fn http2(doc: &LoadBalancerDoc) -> bool {
    effective(doc).get(HTTP2).is_none_or(|v| v == "true")
}

fn shown(all: &BTreeMap<String, String>) -> Value {
    let list: Vec<Value> = all
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    json!({ "Attributes": list })
}

/// `DescribeLoadBalancerAttributes`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let arn = opt_str(input, "LoadBalancerArn").unwrap_or_default();
    let lb = model::load_balancer(&mut db, &ctx.principal.account_id, &ctx.region, arn).await?;
    Ok(shown(&effective(&lb.doc)))
}

/// Checks one attribute's key and value.
fn check(key: &str, value: &str) -> ElbResult<()> {
    let boolean = |v: &str| v == "true" || v == "false";
    match key {
        LOGS_ENABLED | HTTP2 if !boolean(value) => Err(ElbError::invalid(format!(
            "Load balancer attribute value '{value}' is not valid for key '{key}'"
        ))),
        LOGS_ENABLED | HTTP2 | LOGS_BUCKET => Ok(()),
        LOGS_PREFIX if value.contains("AWSLogs") => Err(ElbError::invalid(format!(
            "The value of '{LOGS_PREFIX}' cannot contain 'AWSLogs'"
        ))),
        LOGS_PREFIX if value.starts_with('/') || value.ends_with('/') => Err(ElbError::invalid(
            format!("The value of '{LOGS_PREFIX}' cannot start or end with '/'"),
        )),
        LOGS_PREFIX => Ok(()),
        _ => Err(ElbError::invalid(format!(
            "Load balancer attribute key '{key}' is not recognized by Rampart"
        ))),
    }
}

/// `ModifyLoadBalancerAttributes`: every attribute checked, then, when access logs end up
/// on, the bucket (it must exist, be in the load balancer's region, and its policy must let
/// Elastic Load Balancing write under `[prefix/]AWSLogs/ACCOUNT/`); nothing is changed
/// unless all of it holds.
pub async fn modify(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "LoadBalancerArn").unwrap_or_default();
    let lb = model::load_balancer(&mut db, account, &ctx.region, arn).await?;
    let given = input
        .get("Attributes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut attributes = lb.doc.attributes.clone();
    let mut touches_logs = false;
    for a in &given {
        let key = opt_str(a, "Key").unwrap_or_default();
        let value = opt_str(a, "Value").unwrap_or_default();
        check(key, value)?;
        touches_logs |= key.starts_with("access_logs.");
        attributes.insert(key.to_string(), value.to_string());
    }
    let next = LoadBalancerDoc {
        attributes,
        ..lb.doc.clone()
    };
    let all = effective(&next);
    let enabled = all.get(LOGS_ENABLED).is_some_and(|v| v == "true");
    let bucket = all.get(LOGS_BUCKET).cloned().unwrap_or_default();
    if enabled && bucket.is_empty() {
        return Err(ElbError::invalid(format!(
            "The value of '{LOGS_BUCKET}' cannot be empty"
        )));
    }
    if enabled && touches_logs {
        let prefix = all.get(LOGS_PREFIX).cloned().unwrap_or_default();
        check_bucket(&mut db, ctx, arn, &bucket, &prefix).await?;
    }
    entity::save_doc(&mut db, lb.entity, &next, ctx.now).await?;
    model::bump_generation(&mut db).await?;
    Ok(shown(&all))
}

/// Checks that the bucket exists in the load balancer's region and that its policy lets
/// one of the log writers ([`access_log::writers`]) put the test file AWS writes there.
async fn check_bucket(
    db: &mut Db<'_>,
    ctx: &CallContext,
    lb_arn: &str,
    bucket: &str,
    prefix: &str,
) -> ElbResult<()> {
    let found = s3::repo::find_bucket(db, bucket)
        .await
        .map_err(|_| ElbError::internal())?
        .ok_or_else(|| {
            ElbError::InvalidConfigurationRequest("The specified bucket does not exist".into())
        })?;
    if found.doc.region != ctx.region {
        return Err(ElbError::InvalidConfigurationRequest(format!(
            "The bucket {bucket} is not in the load balancer's region ({})",
            ctx.region
        )));
    }
    let account = &ctx.principal.account_id;
    let key = format!(
        "{}ELBAccessLogTestFile",
        access_log::logs_root(prefix, account)
    );
    for writer in access_log::writers(account, &ctx.region, lb_arn) {
        let caller = writer.account_id.clone();
        let svc = CallContext {
            principal: std::sync::Arc::new(writer),
            source_ip: std::net::IpAddr::from([0, 0, 0, 0]),
            user_agent: access_log::SERVICE_PRINCIPAL.to_string(),
            prepared: None,
            via_service: None,
            side_calls: Default::default(),
            payload: Default::default(),
            ..ctx.clone()
        };
        let question = AuthzQuestion {
            requests: vec![s3::authz::object_request(
                "s3:PutObject",
                &found,
                &key,
                None,
                &caller,
                access_log::write_keys(),
            )],
        };
        match svc.authorizer.authorize(&svc, &question).await {
            Ok(()) => return Ok(()),
            Err(err) => tracing::debug!(writer = %svc.principal.arn, error = ?err,
                "access log writer refused"),
        }
    }
    Err(ElbError::InvalidConfigurationRequest(format!(
        "Access Denied for bucket: {bucket}. Please check S3bucket permission"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_checked() {
        assert!(check(LOGS_ENABLED, "true").is_ok());
        assert!(check(LOGS_ENABLED, "yes").is_err());
        assert!(check(HTTP2, "false").is_ok());
        assert!(check(LOGS_PREFIX, "a/b").is_ok());
        assert!(check(LOGS_PREFIX, "a/AWSLogs").is_err());
        assert!(check(LOGS_PREFIX, "/a").is_err());
        assert!(check("idle_timeout.timeout_seconds", "60").is_err());
    }

    #[test]
    fn defaults_fill_the_rest() {
        let mut doc = LoadBalancerDoc::default();
        assert_eq!(log_destination(&doc), None);
        assert!(http2(&doc));
        doc.attributes.insert(LOGS_ENABLED.into(), "true".into());
        doc.attributes.insert(LOGS_BUCKET.into(), "logs".into());
        doc.attributes.insert(HTTP2.into(), "false".into());
        assert_eq!(
            log_destination(&doc),
            Some(("logs".to_string(), String::new()))
        );
        assert!(!http2(&doc));
        assert_eq!(effective(&doc).len(), 4);
    }
}
