//! Standards and controls: `DescribeStandards`, `BatchEnableStandards`,
//! `BatchDisableStandards`, `GetEnabledStandards`, `DescribeStandardsControls`,
//! `UpdateStandardsControl`, `ListSecurityControlDefinitions`,
//! `GetSecurityControlDefinition`.
//!
//! Enabling a standard turns on its controls at once (they produce findings on the controls
//! job's next pass, or the next `GetFindings`); turning a control off in a standard, or the
//! standard off, archives the findings of controls left running in no standard.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str},
    page,
    timestamp::ts,
};
use serde_json::{json, Value};

use crate::{
    catalog::{self, Control, Standard},
    error::SecurityHubError,
    model::{self, Disabled},
};

fn page_of(
    items: Vec<Value>,
    input: &Value,
    member: &str,
    max_default: i64,
) -> Result<Value, ServiceError> {
    let max = opt_int(input, "MaxResults").unwrap_or(max_default);
    if !(1..=100).contains(&max) {
        return Err(SecurityHubError::invalid("MaxResults must be between 1 and 100.").into());
    }
    let token = opt_str(input, "NextToken").filter(|t| !t.is_empty());
    let page = page::at_offset(items, token, usize::try_from(max).unwrap_or(100))
        .ok_or_else(|| SecurityHubError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ member: page.items });
    if let Some(next) = page.next {
        crate::set(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

fn standard_out(s: &Standard, region: &str) -> Value {
    json!({
        "StandardsArn": catalog::standards_arn(region, s.key),
        "Name": s.name,
        "Description": s.description,
        "EnabledByDefault": s.by_default,
        "StandardsManagedBy": {"Company": "AWS", "Product": "Security Hub"},
    })
}

fn subscription_out(key: &str, ctx: &CallContext, status: &str) -> Value {
    json!({
        "StandardsSubscriptionArn": catalog::subscription_arn(&ctx.region, &ctx.principal.account_id, key),
        "StandardsArn": catalog::standards_arn(&ctx.region, key),
        "StandardsInput": {},
        "StandardsStatus": status,
        "StandardsControlsUpdatable": "READY_FOR_UPDATES",
    })
}

/// `DescribeStandards`.
pub async fn describe(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let items = catalog::STANDARDS
        .iter()
        .map(|s| standard_out(s, &ctx.region))
        .collect();
    page_of(items, input, "Standards", 100)
}

/// `BatchEnableStandards`.
pub async fn enable(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut hub) = model::require_hub(&mut db, ctx).await?;
    let requests = input
        .get("StandardsSubscriptionRequests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut keys = Vec::new();
    for r in &requests {
        let arn = opt_str(r, "StandardsArn").unwrap_or("");
        let s = catalog::standard_of_arn(arn, &ctx.region).ok_or_else(|| {
            SecurityHubError::invalid(format!(
                "StandardsArn {arn} is not a valid standard in {}.",
                ctx.region
            ))
        })?;
        keys.push(s.key);
    }
    let mut out = Vec::new();
    for key in keys {
        hub.standards.entry(key.to_string()).or_insert(ctx.now);
        out.push(subscription_out(key, ctx, "READY"));
    }
    entity::save_doc(&mut db, e, &hub, ctx.now).await?;
    Ok(json!({ "StandardsSubscriptions": out }))
}

/// The standard key of a subscription ARN of the caller's account and region.
fn subscribed_key(arn: &str, ctx: &CallContext) -> Option<&'static str> {
    let prefix = catalog::subscription_arn(&ctx.region, &ctx.principal.account_id, "");
    let key = arn.strip_prefix(&prefix)?;
    catalog::standard(key).map(|s| s.key)
}

/// `BatchDisableStandards`.
pub async fn disable(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut hub) = model::require_hub(&mut db, ctx).await?;
    let arns: Vec<String> = rampart_kit::input::str_list(input, "StandardsSubscriptionArns");
    let mut out = Vec::new();
    for arn in &arns {
        let key = subscribed_key(arn, ctx)
            .filter(|k| hub.standards.contains_key(*k))
            .ok_or_else(|| {
                SecurityHubError::invalid(format!("Standards subscription {arn} does not exist."))
            })?;
        hub.standards.remove(key);
        out.push(subscription_out(key, ctx, "DELETING"));
    }
    entity::save_doc(&mut db, e, &hub, ctx.now).await?;
    Ok(json!({ "StandardsSubscriptions": out }))
}

/// `GetEnabledStandards`.
pub async fn enabled(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, hub) = model::require_hub(&mut db, ctx).await?;
    let asked = rampart_kit::input::str_list(input, "StandardsSubscriptionArns");
    let items = hub
        .standards
        .keys()
        .map(|k| subscription_out(k, ctx, "READY"))
        .filter(|s| {
            asked.is_empty()
                || asked
                    .iter()
                    .any(|a| Some(a.as_str()) == s["StandardsSubscriptionArn"].as_str())
        })
        .collect();
    page_of(items, input, "StandardsSubscriptions", 100)
}

/// `DescribeStandardsControls`.
pub async fn controls(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, hub) = model::require_hub(&mut db, ctx).await?;
    let arn = opt_str(input, "StandardsSubscriptionArn").unwrap_or("");
    let key = subscribed_key(arn, ctx)
        .filter(|k| hub.standards.contains_key(*k))
        .ok_or_else(|| {
            SecurityHubError::ResourceNotFoundException(format!(
                "Standards subscription {arn} not found."
            ))
        })?;
    let enabled_at = hub.standards.get(key).copied().unwrap_or(ctx.now);
    let items = catalog::controls_of(key)
        .map(|c| {
            let off = hub.disabled_controls.get(&format!("{key}|{}", c.id));
            let mut v = json!({
                "StandardsControlArn": catalog::control_arn(&ctx.region, &ctx.principal.account_id, key, c.id),
                "ControlStatus": if off.is_some() { "DISABLED" } else { "ENABLED" },
                "ControlStatusUpdatedAt": ts(off.map_or(enabled_at, |d| d.at)),
                "ControlId": c.id,
                "Title": c.title,
                "Description": c.title,
                "RemediationUrl": catalog::remediation_url(c.id),
                "SeverityRating": c.severity,
                "RelatedRequirements": [],
            });
            if let Some(d) = off {
                crate::set(&mut v, "DisabledReason", json!(d.reason));
            }
            v
        })
        .collect();
    page_of(items, input, "Controls", 100)
}

/// `UpdateStandardsControl`.
pub async fn update_control(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut hub) = model::require_hub(&mut db, ctx).await?;
    let arn = opt_str(input, "StandardsControlArn").unwrap_or("");
    let prefix = ctx.partition().arn(
        "securityhub",
        &ctx.region,
        &ctx.principal.account_id,
        "control/",
    );
    let found = arn.strip_prefix(&prefix).and_then(|rest| {
        let (key, id) = rest.rsplit_once('/')?;
        let s = catalog::standard(key)?;
        let c = catalog::controls_of(s.key).find(|c| c.id == id)?;
        hub.standards.contains_key(s.key).then_some((s.key, c.id))
    });
    let (key, id) = found.ok_or_else(|| {
        SecurityHubError::ResourceNotFoundException(format!("Control {arn} not found."))
    })?;
    let slot = format!("{key}|{id}");
    match opt_str(input, "ControlStatus") {
        Some("DISABLED") => {
            let reason = opt_str(input, "DisabledReason")
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| {
                    SecurityHubError::invalid(
                        "DisabledReason is required when ControlStatus is DISABLED.",
                    )
                })?;
            hub.disabled_controls.insert(
                slot,
                Disabled {
                    reason: reason.to_string(),
                    at: ctx.now,
                },
            );
        }
        Some("ENABLED") => {
            hub.disabled_controls.remove(&slot);
        }
        _ => {}
    }
    entity::save_doc(&mut db, e, &hub, ctx.now).await?;
    Ok(json!({}))
}

fn definition(c: &Control) -> Value {
    json!({
        "SecurityControlId": c.id,
        "Title": c.title,
        "Description": c.title,
        "RemediationUrl": catalog::remediation_url(c.id),
        "SeverityRating": c.severity,
        "CurrentRegionAvailability": "AVAILABLE",
    })
}

/// `ListSecurityControlDefinitions`.
pub async fn list_definitions(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let items: Vec<Value> = match opt_str(input, "StandardsArn") {
        Some(arn) => {
            let s = catalog::standard_of_arn(arn, &ctx.region).ok_or_else(|| {
                SecurityHubError::invalid(format!("StandardsArn {arn} is not a valid standard."))
            })?;
            catalog::controls_of(s.key).map(definition).collect()
        }
        None => catalog::CONTROLS.iter().map(definition).collect(),
    };
    page_of(items, input, "SecurityControlDefinitions", 100)
}

/// `GetSecurityControlDefinition`.
pub async fn get_definition(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let id = opt_str(input, "SecurityControlId").unwrap_or("");
    let c = catalog::control(id).ok_or_else(|| {
        SecurityHubError::ResourceNotFoundException(format!("Security control {id} not found."))
    })?;
    Ok(json!({ "SecurityControlDefinition": definition(c) }))
}
