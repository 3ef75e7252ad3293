//! Organization administration: `EnableOrganizationAdminAccount`,
//! `DisableOrganizationAdminAccount`, `ListOrganizationAdminAccounts` (the management
//! account's), `DescribeOrganizationConfiguration`/`UpdateOrganizationConfiguration` (the
//! delegated administrator's), [`auto_enable`]: accounts that join the organization made
//! members, and [`visible_accounts`]: whose findings an account sees.
//!
//! The records are the shared ones of `rampart_organizations::service_members` under
//! Security Hub's kinds ([`RELATIONS`]). Rules (AWS's): only the organization's management
//! account names the administrator, an account of the organization, one per organization (the
//! same account in every region); it is registered as the organization's delegated
//! administrator for `securityhub.amazonaws.com` in Organizations and Security Hub is turned
//! on in it. Configuration is `LOCAL` only (`CENTRAL` needs configuration policies, not built).

use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, error::ServiceError, input::opt_str};
use rampart_organizations::{
    common::Org,
    service_admin::{joined_accounts, managed_by_caller},
    service_members::{AdminDoc, Relations},
};
use serde_json::{json, Value};

use crate::{error::SecurityHubError, hub, model, products::paged};

/// Security Hub's relation records.
pub const RELATIONS: Relations = Relations {
    org_admin: "securityhub:org-admin",
    member: "securityhub:member",
    link: "securityhub:administrator",
};

/// Security Hub's service principal, under which Organizations records its administrator.
const SERVICE: &str = "securityhub.amazonaws.com";

fn denied(message: &str) -> ServiceError {
    SecurityHubError::AccessDeniedException(message.into()).into()
}

fn invalid(message: &str) -> ServiceError {
    SecurityHubError::invalid(message).into()
}

/// The `Feature` asked for: `SecurityHub` (the default); `SecurityHubV2` is not built.
fn feature(input: &Value) -> Result<&'static str, ServiceError> {
    match opt_str(input, "Feature") {
        None | Some("SecurityHub") => Ok("SecurityHub"),
        Some(other) => Err(invalid(&format!(
            "Feature {other} is not supported; only SecurityHub is."
        ))),
    }
}

/// The caller's organization, which the caller must manage.
async fn managed(db: &mut Db<'_>, ctx: &CallContext) -> Result<Org, ServiceError> {
    managed_by_caller(db, ctx).await?.ok_or_else(|| denied("The request is rejected because the current account is not the management account of an organization."))
}

/// `EnableOrganizationAdminAccount`.
pub async fn enable_admin(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let feature = feature(input)?;
    let org = managed(&mut db, ctx).await?;
    let admin = opt_str(input, "AdminAccountId").unwrap_or_default();
    let c = RELATIONS
        .candidacy(&mut db, &org, admin, SERVICE, &ctx.region)
        .await?;
    if !c.in_organization {
        return Err(invalid(&format!(
            "Account {admin} is not a member of the organization."
        )));
    }
    if c.is_current(admin) {
        return Ok(json!({ "AdminAccountId": admin, "Feature": feature }));
    }
    // One administrator for the organization, the same account in every region.
    if c.here.is_some() || c.other_elsewhere || c.other_delegated {
        return Err(invalid(
            "The organization already has a Security Hub administrator account; disable it first.",
        ));
    }
    hub::ensure(&mut db, admin, &ctx.region, true, ctx.now).await?;
    let doc = AdminDoc {
        admin: admin.to_string(),
        auto_enable: "NONE".into(),
        enabled_at: Some(ctx.now),
        auto_enable_since: Some(ctx.now),
        auto_enable_standards: Some("DEFAULT".into()),
    };
    RELATIONS
        .designate(&mut db, &org, SERVICE, &ctx.region, &doc, ctx.now)
        .await?;
    Ok(json!({ "AdminAccountId": admin, "Feature": feature }))
}

/// `DisableOrganizationAdminAccount`: the administrator's organization members in the region
/// are removed with it (their findings are no longer its to see).
pub async fn disable_admin(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    feature(input)?;
    let org = managed(&mut db, ctx).await?;
    let admin = opt_str(input, "AdminAccountId").unwrap_or_default();
    let found = RELATIONS
        .org_admin(&mut db, &org.management, &ctx.region)
        .await?;
    if found.is_none_or(|(_, d)| d.admin != admin) {
        return Err(invalid(&format!(
            "Account {admin} is not the Security Hub administrator account of the organization."
        )));
    }
    RELATIONS
        .drop_organization_members(&mut db, admin, &ctx.region)
        .await?;
    RELATIONS
        .remove_administrator(&mut db, &org, &ctx.region)
        .await?;
    Ok(json!({}))
}

/// `ListOrganizationAdminAccounts`: the administrator in the caller's region.
pub async fn list_admins(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let feature = feature(input)?;
    let org = managed(&mut db, ctx).await?;
    let found = RELATIONS
        .org_admin(&mut db, &org.management, &ctx.region)
        .await?;
    let items: Vec<Value> = found
        .into_iter()
        .map(|(_, d)| json!({ "AccountId": d.admin, "Status": "ENABLED" }))
        .collect();
    let mut out = paged(input, items, "AdminAccounts")?;
    crate::set(&mut out, "Feature", json!(feature));
    Ok(out)
}

/// The organization the caller administers for Security Hub in its region, and its
/// administrator record; `AccessDeniedException` when it is not its administrator.
pub async fn administered(
    db: &mut Db<'_>,
    ctx: &CallContext,
) -> Result<(Org, AdminDoc), ServiceError> {
    model::require_hub(db, ctx).await?;
    RELATIONS
        .administered_by(db, &ctx.principal.account_id, &ctx.region)
        .await?
        .ok_or_else(|| denied("The request is rejected because the current account is not the Security Hub administrator account of the organization."))
}

/// `DescribeOrganizationConfiguration`.
pub async fn describe_config(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, a) = administered(&mut db, ctx).await?;
    Ok(json!({
        "AutoEnable": a.auto_enable != "NONE",
        "MemberAccountLimitReached": false,
        "AutoEnableStandards": a.auto_enable_standards.as_deref().unwrap_or("DEFAULT"),
        "OrganizationConfiguration": { "ConfigurationType": "LOCAL", "Status": "ENABLED" },
    }))
}

/// `UpdateOrganizationConfiguration`: `AutoEnable` (new accounts of the organization become
/// members as they join), `AutoEnableStandards` (`DEFAULT` or `NONE`, the standards turned on
/// with them), `OrganizationConfiguration.ConfigurationType` `LOCAL` only.
pub async fn update_config(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (org, mut a) = administered(&mut db, ctx).await?;
    let Some(on) = input.get("AutoEnable").and_then(Value::as_bool) else {
        return Err(invalid("AutoEnable is required."));
    };
    let standards = match opt_str(input, "AutoEnableStandards") {
        None => a.auto_enable_standards.clone(),
        Some(s @ ("DEFAULT" | "NONE")) => Some(s.to_string()),
        Some(other) => {
            return Err(invalid(&format!(
                "AutoEnableStandards must be DEFAULT or NONE, not {other}."
            )))
        }
    };
    match input
        .pointer("/OrganizationConfiguration/ConfigurationType")
        .and_then(Value::as_str)
    {
        None | Some("LOCAL") => {}
        Some("CENTRAL") => {
            return Err(invalid(
                "Central configuration needs configuration policies, which are not supported.",
            ))
        }
        Some(other) => return Err(invalid(&format!("ConfigurationType {other} is not valid."))),
    }
    a.auto_enable = if on { "NEW" } else { "NONE" }.into();
    a.auto_enable_since = Some(ctx.now);
    a.auto_enable_standards = standards;
    RELATIONS
        .put_org_admin(&mut db, &org.management, &ctx.region, &a, ctx.now)
        .await?;
    Ok(json!({}))
}

/// Makes the accounts that joined the organization after `admin`'s auto-enable was set its
/// enabled members in `region`, Security Hub turned on in them; nothing when `admin` is not
/// the organization's administrator or auto-enable is off. The `securityhub-controls` job
/// runs this for every hub before its controls, so a new account is a member within seconds
/// of joining (AWS: within an hour).
pub async fn auto_enable(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some((org, a)) = RELATIONS.administered_by(db, admin, region).await? else {
        return Ok(());
    };
    let Some(since) = a.auto_enable_since.filter(|_| a.auto_enable != "NONE") else {
        return Ok(());
    };
    let defaults = a.auto_enable_standards.as_deref() != Some("NONE");
    let except = [admin, org.management.as_str()];
    for (account, _) in joined_accounts(db, &org, since, &except).await? {
        if RELATIONS
            .member(db, admin, region, &account)
            .await?
            .is_some()
        {
            continue;
        }
        enroll(db, admin, region, &account, "", defaults, now).await?;
    }
    Ok(())
}

/// Marks `Removed` the organization members of `admin` in `region` that left the
/// organization or were closed (AWS stops an administrator seeing their findings, and
/// `ListMembers` shows them so); nothing when `admin` is not the organization's
/// administrator. The `securityhub-controls` job runs this for every hub.
pub async fn remove_departed(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some((org, _)) = RELATIONS.administered_by(db, admin, region).await? else {
        return Ok(());
    };
    for account in RELATIONS.departed(db, &org, admin, region).await? {
        RELATIONS
            .mark_removed(db, admin, region, &account, now)
            .await?;
    }
    Ok(())
}

/// Turns Security Hub on in an organization account (with the default standards when
/// `defaults`) and makes it an enabled member; false (and nothing done) when the account has
/// another administrator (an account has one at a time).
pub async fn enroll(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    account: &str,
    email: &str,
    defaults: bool,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    if RELATIONS.held_by_other(db, account, region, admin).await? {
        return Ok(false);
    }
    hub::ensure(db, account, region, defaults, now).await?;
    RELATIONS
        .put_org_member(db, admin, (region, account, email), now)
        .await?;
    Ok(true)
}

/// The accounts whose findings `account` sees in `region`: its own, then its enabled
/// members'.
pub async fn visible_accounts(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<String>, ServiceError> {
    let mut out = vec![account.to_string()];
    for m in RELATIONS.enabled_members(db, account, region).await? {
        out.push(m.account);
    }
    Ok(out)
}
