//! The hub: `EnableSecurityHub`, `DescribeHub`, `DisableSecurityHub`.
//!
//! One hub per account and region. Enabling it twice is AWS's `ResourceConflictException`;
//! every other call needs it (`InvalidAccessException` otherwise). Disabling it turns off its
//! standards, archives the control findings they produced, and keeps imported findings
//! (AWS keeps them for 90 days; Rampart keeps them until the hub is enabled again).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

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
    let doc = HubDoc {
        subscribed_at: ctx.now,
        auto_enable_controls: true,
        control_finding_generator: generator.to_string(),
        tags,
        ..HubDoc::default()
    };
    let defaults = opt_bool(input, "EnableDefaultStandards").unwrap_or(true);
    create(&mut db, &account, &ctx.region, doc, defaults, ctx.now).await?;
    Ok(json!({}))
}

/// Creates the hub of `account` in `region` from `doc`, with the default standards on when
/// `defaults` (also how an administrator turns Security Hub on in its members).
pub async fn create(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    mut doc: HubDoc,
    defaults: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if defaults {
        for s in catalog::STANDARDS.iter().filter(|s| s.by_default) {
            doc.standards.insert(s.key.to_string(), now);
        }
    }
    let arn = model::hub_arn(region, account);
    let mut e = Entity {
        account_id: account.to_string(),
        kind: HUB.into(),
        name: region.to_string(),
        name_key: region.to_string(),
        id: format!("securityhub-hub/{account}/{region}"),
        path: "/".into(),
        arn,
        created_at: now,
        updated_at: now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &doc, now)?;
    db.entities().create(&e).await?;
    let index = format!("{account}|{region}");
    db.entities()
        .create(&Entity {
            account_id: SYSTEM_ACCOUNT.into(),
            kind: HUB_INDEX.into(),
            name: index.clone(),
            id: format!("securityhub-hub-index/{index}"),
            name_key: index,
            path: "/".into(),
            arn: String::new(),
            created_at: now,
            updated_at: now,
            doc: String::new(),
        })
        .await?;
    Ok(())
}

/// Turns Security Hub on in `account` (as an administrator does for an organization
/// member), with the default standards when `defaults`; nothing when it is on already.
pub async fn ensure(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    defaults: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if model::hub_in(db, account, region).await?.is_some() {
        return Ok(());
    }
    let doc = HubDoc {
        subscribed_at: now,
        auto_enable_controls: true,
        control_finding_generator: "SECURITY_CONTROL".into(),
        ..HubDoc::default()
    };
    create(db, account, region, doc, defaults, now).await
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
