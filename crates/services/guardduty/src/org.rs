//! Organization administration: `EnableOrganizationAdminAccount`,
//! `DisableOrganizationAdminAccount`, `ListOrganizationAdminAccounts` (the management
//! account's), `UpdateOrganizationConfiguration`/`DescribeOrganizationConfiguration` (the
//! delegated administrator's), and [`joined`]: auto-enable for an account that joins the
//! organization, run by the detection consumer on the join's audit record.
//!
//! Rules (AWS's): only the organization's management account names the administrator; it must
//! be an account of the organization; the organization has one administrator (the same
//! account in every region), and it is registered as the organization's delegated
//! administrator for `guardduty.amazonaws.com` in Organizations (as AWS registers it; disabling
//! it leaves that registration, which `DeregisterDelegatedAdministrator` removes).

use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, error::ServiceError, input::opt_str};
use rampart_organizations::{
    common::{org_of, Org},
    service_admin::managed_by_caller,
};
use serde_json::{json, Value};

use crate::{
    detectors::{self, listed},
    error::GuardDutyError,
    model::{self, Detector},
    relation::{self, AdminDoc, ENABLED, RELATIONS},
};

/// GuardDuty's service principal, under which Organizations records its administrator.
const SERVICE: &str = "guardduty.amazonaws.com";

fn bad(message: &str) -> ServiceError {
    GuardDutyError::BadRequestException(message.into()).into()
}

/// The caller's organization, which the caller must manage.
async fn managed(db: &mut Db<'_>, ctx: &CallContext) -> Result<Org, ServiceError> {
    managed_by_caller(db, ctx).await?.ok_or_else(|| {
            bad("The request is rejected because the current account is not the management account of an organization.")
        })
}

/// `EnableOrganizationAdminAccount`.
pub async fn enable_admin(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let org = managed(&mut db, ctx).await?;
    let admin = opt_str(input, "AdminAccountId").unwrap_or_default();
    let c = RELATIONS
        .candidacy(&mut db, &org, admin, SERVICE, &ctx.region)
        .await?;
    if !c.in_organization {
        return Err(bad(
            "The request is rejected because the account is not a member of the organization.",
        ));
    }
    // One administrator for the organization, the same account in every region.
    if c.here.is_some() || c.other_elsewhere || c.other_delegated {
        return Err(bad("The request failed because the account is already enabled as the GuardDuty delegated administrator for the organization."));
    }
    let doc = AdminDoc {
        admin: admin.to_string(),
        auto_enable: "NONE".into(),
        enabled_at: Some(ctx.now),
        auto_enable_since: Some(ctx.now),
        ..Default::default()
    };
    RELATIONS
        .designate(&mut db, &org, SERVICE, &ctx.region, &doc, ctx.now)
        .await?;
    Ok(json!({}))
}

/// `DisableOrganizationAdminAccount`: the administrator's organization members in the region
/// are removed with it (their findings are no longer its to see).
pub async fn disable_admin(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let org = managed(&mut db, ctx).await?;
    let admin = opt_str(input, "AdminAccountId").unwrap_or_default();
    let found = relation::org_admin(&mut db, &org.management, &ctx.region).await?;
    if found.is_none_or(|(_, d)| d.admin != admin) {
        return Err(bad("The request is rejected because the account is not the GuardDuty delegated administrator for the organization."));
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
    let org = managed(&mut db, ctx).await?;
    let found = relation::org_admin(&mut db, &org.management, &ctx.region).await?;
    let items: Vec<Value> = found
        .into_iter()
        .map(|(_, d)| json!({ "AdminAccountId": d.admin, "AdminStatus": "ENABLED" }))
        .collect();
    Ok(listed("AdminAccounts", input, items)?)
}

/// The organization the caller administers for GuardDuty in its region, with the caller's
/// own detector (named by the input's `DetectorId`).
pub async fn administered(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> Result<(Detector, Org, AdminDoc), ServiceError> {
    let d = model::detector(db, ctx, opt_str(input, "DetectorId").unwrap_or_default()).await?;
    let (org, a) = administered_org(db, ctx).await?;
    Ok((d, org, a))
}

/// The organization the caller administers for GuardDuty in its region, and its
/// administrator record; `BadRequestException` when the caller is not its administrator.
pub async fn administered_org(
    db: &mut Db<'_>,
    ctx: &CallContext,
) -> Result<(Org, AdminDoc), ServiceError> {
    RELATIONS
        .administered_by(db, &ctx.principal.account_id, &ctx.region)
        .await?
        .ok_or_else(|| bad("The request is rejected because the current account is not the GuardDuty delegated administrator for the organization."))
}

/// `UpdateOrganizationConfiguration`: `AutoEnableOrganizationMembers` (or the older
/// `AutoEnable`, meaning `NEW`), one of them and not both.
pub async fn update_config(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, org, mut a) = administered(&mut db, ctx, input).await?;
    a.auto_enable = auto_enable_of(input)?;
    a.auto_enable_since = Some(ctx.now);
    relation::put_org_admin(&mut db, &org.management, &ctx.region, &a, ctx.now).await?;
    if a.auto_enable == "ALL" {
        enroll_all(&mut db, &org, &a.admin, &ctx.region, ctx.now).await?;
    }
    Ok(json!({}))
}

/// The auto-enable setting an `UpdateOrganizationConfiguration` input asks for.
fn auto_enable_of(input: &Value) -> Result<String, ServiceError> {
    let members = opt_str(input, "AutoEnableOrganizationMembers");
    let legacy = input.get("AutoEnable").and_then(Value::as_bool);
    match (members, legacy) {
        (Some(m @ ("NEW" | "ALL" | "NONE")), None) => Ok(m.to_string()),
        (None, Some(true)) => Ok("NEW".into()),
        (None, Some(false)) => Ok("NONE".into()),
        _ => Err(bad("The request is rejected because you must provide a value for either autoEnableOrganizationMembers or autoEnable, but not both.")),
    }
}

/// `ALL`: every active account of the organization but the administrator becomes an enabled
/// member, the ones removed or stopped before included (AWS does this within 24 hours;
/// Rampart in the call that sets it).
async fn enroll_all(
    db: &mut Db<'_>,
    org: &Org,
    admin: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    for account in rampart_organizations::accounts::active_ids(db, org).await? {
        if account == admin {
            continue;
        }
        let current = relation::member(db, admin, region, &account).await?;
        if current.as_ref().is_some_and(|(_, m)| m.status == ENABLED) {
            continue;
        }
        let email = current.map(|(_, m)| m.email).unwrap_or_default();
        enroll(db, admin, region, &account, &email, now).await?;
    }
    Ok(())
}

/// `DescribeOrganizationConfiguration`.
pub async fn describe_config(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, _, a) = administered(&mut db, ctx, input).await?;
    let on = a.auto_enable != "NONE";
    Ok(json!({
        "AutoEnable": on,
        "AutoEnableOrganizationMembers": a.auto_enable,
        "MemberAccountLimitReached": false,
    }))
}

/// Makes `account` a member of each regional administrator of its organization whose
/// auto-enable was `NEW` or `ALL` when it joined (`joined_at`), turning GuardDuty on in it:
/// the detection consumer calls this on the audit record of the account joining
/// (`CreateAccountResult`, `AcceptHandshake`), so it happens once, after the join has
/// committed, and a consumer running behind applies the setting of the join's time.
pub async fn joined(
    db: &mut Db<'_>,
    account: &str,
    joined_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let Some(org) = org_of(db, account).await? else {
        return Ok(0);
    };
    let mut added = 0;
    for (e, a) in relation::org_admins(db, &org.management).await? {
        let region = e.name_key;
        if !auto_enables(&a, account, joined_at) {
            continue;
        }
        if relation::member(db, &a.admin, &region, account)
            .await?
            .is_some()
        {
            continue;
        }
        if enroll(db, &a.admin, &region, account, "", now).await? {
            added += 1;
        }
    }
    Ok(added)
}

/// Whether an administrator's auto-enable takes in `account`, joining at `joined_at`: set to
/// `NEW` or `ALL` before the join, and the account is not the administrator.
fn auto_enables(a: &AdminDoc, account: &str, joined_at: DateTime<Utc>) -> bool {
    let set_before = a.auto_enable_since.is_some_and(|t| t <= joined_at);
    a.auto_enable != "NONE" && set_before && a.admin != account
}

/// Removes `account`, which has left its organization or was closed, from its organization
/// administrators (`Removed`, in every region it has a detector in): they no longer see its
/// findings.
pub async fn left(db: &mut Db<'_>, account: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let page = db
        .entities()
        .list(account, model::DETECTOR, "/", None, 500)
        .await?;
    for d in page.items {
        let region = d.name_key;
        if let Some((admin, _, m)) = relation::administrator_of(db, account, &region).await? {
            if m.by_organization {
                RELATIONS
                    .mark_removed(db, &admin, &region, account, now)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Turns GuardDuty on in an organization account and makes it an enabled member; false (and
/// nothing done) when the account has another administrator that monitors it (an account
/// has one administrator at a time).
pub async fn enroll(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    account: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    if relation::RELATIONS
        .held_by_other(db, account, region, admin)
        .await?
    {
        return Ok(false);
    }
    detectors::ensure_enabled(db, account, region, now).await?;
    relation::RELATIONS
        .put_org_member(db, admin, (region, account, email), now)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_enable_takes_accounts_that_join_after_it_is_set() {
        let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default();
        let a = AdminDoc {
            admin: "111111111111".into(),
            auto_enable: "NEW".into(),
            enabled_at: Some(t(0)),
            auto_enable_since: Some(t(10)),
            ..Default::default()
        };
        assert!(auto_enables(&a, "222222222222", t(11)));
        assert!(!auto_enables(&a, "222222222222", t(9)));
        assert!(!auto_enables(&a, "111111111111", t(11)));
        let none = AdminDoc {
            auto_enable: "NONE".into(),
            ..a
        };
        assert!(!auto_enables(&none, "222222222222", t(11)));
    }

    #[test]
    fn auto_enable_takes_one_of_the_two_members() {
        let of = |v: Value| auto_enable_of(&v).ok();
        assert_eq!(
            of(json!({"AutoEnableOrganizationMembers": "ALL"})).as_deref(),
            Some("ALL")
        );
        assert_eq!(of(json!({"AutoEnable": true})).as_deref(), Some("NEW"));
        assert_eq!(of(json!({"AutoEnable": false})).as_deref(), Some("NONE"));
        assert_eq!(
            of(json!({"AutoEnable": true, "AutoEnableOrganizationMembers": "NEW"})),
            None
        );
        assert_eq!(of(json!({})), None);
        assert_eq!(of(json!({"AutoEnableOrganizationMembers": "SOME"})), None);
    }
}
