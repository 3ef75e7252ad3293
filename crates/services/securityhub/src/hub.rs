//! The hub: `EnableSecurityHub`, `DescribeHub`, `DisableSecurityHub`.
//!
//! One hub per account and region. Enabling it twice is AWS's `ResourceConflictException`;
//! every other call needs it (`InvalidAccessException` otherwise). Disabling it turns off its
//! standards, archives the control findings they produced, and keeps imported findings
//! (AWS keeps them for 90 days; Rampart keeps them until the hub is enabled again).

use std::collections::BTreeMap;

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_bool, opt_str},
    timestamp::ts,
};
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::{
    catalog, controls,
    error::SecurityHubError,
    model::{self, HubDoc, HUB, HUB_INDEX, SYSTEM_ACCOUNT},
};

/// `EnableSecurityHub`.
pub async fn enable(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let account = ctx.principal.account_id.clone();
    if model::hub_in(&mut db, &account, &ctx.region)
        .await?
        .is_some()
    {
        return Err(SecurityHubError::ResourceConflictException(
            "Account is already subscribed to Security Hub".into(),
        )
        .into());
    }
    let generator = opt_str(input, "ControlFindingGenerator").unwrap_or("SECURITY_CONTROL");
    let tags: BTreeMap<String, String> = input
        .get("Tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let mut doc = HubDoc {
        subscribed_at: ctx.now,
        auto_enable_controls: true,
        control_finding_generator: generator.to_string(),
        tags,
        ..HubDoc::default()
    };
    if opt_bool(input, "EnableDefaultStandards").unwrap_or(true) {
        for s in catalog::STANDARDS.iter().filter(|s| s.by_default) {
            doc.standards.insert(s.key.to_string(), ctx.now);
        }
    }
    let arn = model::hub_arn(&ctx.region, &account);
    let mut e = Entity {
        account_id: account.clone(),
        kind: HUB.into(),
        name: ctx.region.clone(),
        name_key: ctx.region.clone(),
        id: format!("securityhub-hub/{account}/{}", ctx.region),
        path: "/".into(),
        arn,
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    let index = format!("{account}|{}", ctx.region);
    db.entities()
        .create(&Entity {
            account_id: SYSTEM_ACCOUNT.into(),
            kind: HUB_INDEX.into(),
            name: index.clone(),
            id: format!("securityhub-hub-index/{index}"),
            name_key: index,
            path: "/".into(),
            arn: String::new(),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: String::new(),
        })
        .await?;
    Ok(json!({}))
}

/// `DescribeHub`.
pub async fn describe(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, doc) = model::require_hub(&mut db, ctx).await?;
    if let Some(asked) = opt_str(input, "HubArn") {
        if asked != e.arn {
            return Err(SecurityHubError::ResourceNotFoundException(format!(
                "Hub {asked} not found"
            ))
            .into());
        }
    }
    Ok(json!({
        "HubArn": e.arn,
        "SubscribedAt": ts(doc.subscribed_at),
        "AutoEnableControls": doc.auto_enable_controls,
        "ControlFindingGenerator": doc.control_finding_generator,
    }))
}

/// `DisableSecurityHub`.
pub async fn disable(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let account = ctx.principal.account_id.clone();
    model::require_hub(&mut db, ctx).await?;
    controls::archive_all(&mut db, &account, &ctx.region, ctx.now).await?;
    db.entities().delete(&account, HUB, &ctx.region).await?;
    let index = format!("{account}|{}", ctx.region);
    db.entities()
        .delete(SYSTEM_ACCOUNT, HUB_INDEX, &index)
        .await?;
    Ok(json!({}))
}
