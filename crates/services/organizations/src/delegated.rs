//! Delegated administrators: `RegisterDelegatedAdministrator`,
//! `DeregisterDelegatedAdministrator`, `ListDelegatedAdministrators`,
//! `ListDelegatedServicesForAccount`. A delegated administrator may call the organization's
//! read-only operations.

use serde_json::{json, Value};

use super::{
    accounts::{account_json, member},
    common::{managed_org, paged, readable_org, req, Org, Res},
    model::{self, MemberDoc},
    tree, OrgError,
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, save_doc},
    input::opt_str,
    json_field::SetField,
    timestamp::ts,
};

pub async fn register(input: &Value, ctx: &CallContext, db: &mut Db<'_>, add: bool) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let account = req(input, "AccountId")?;
    let service = req(input, "ServicePrincipal")?;
    if !service.ends_with(".amazonaws.com") {
        return Err(OrgError::invalid(
            "INVALID_SERVICE_PRINCIPAL",
            "You specified an invalid service principal.",
        )
        .into());
    }
    let (e, mut m, _) = member(db, &org, account).await?;
    if account == org.management {
        return Err(OrgError::constraint(
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
            "You can't register the management account of your organization as a delegated administrator.",
        )
        .into());
    }
    let present = m.delegations.contains_key(service);
    if add {
        if present {
            return Err(OrgError::AccountAlreadyRegisteredException.into());
        }
        m.delegations.insert(service.to_string(), ctx.now);
        db.links()
            .add(&org.management, model::LINK_DELEGATED, account, service)
            .await?;
    } else {
        if !present {
            return Err(OrgError::AccountNotRegisteredException.into());
        }
        m.delegations.remove(service);
        db.links()
            .remove(&org.management, model::LINK_DELEGATED, account, service)
            .await?;
    }
    save_doc(db, e, &m, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_admins(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let filter = opt_str(input, "ServicePrincipal");
    let mut items = Vec::new();
    for id in tree::all_member_ids(db, &org.management).await? {
        let (_, m, a) = member(db, &org, &id).await?;
        let since = match filter {
            Some(s) => m.delegations.get(s).copied(),
            None => m.delegations.values().min().copied(),
        };
        if let Some(since) = since {
            let mut v = account_json(&org, &a, &m);
            v.set_field("DelegationEnabledDate", json!(ts(since)));
            items.push(v);
        }
    }
    paged("DelegatedAdministrators", items, input)
}

pub async fn list_services(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let (_, m, _): (_, MemberDoc, _) = member(db, &org, req(input, "AccountId")?).await?;
    if m.delegations.is_empty() {
        return Err(OrgError::AccountNotRegisteredException.into());
    }
    let items = m
        .delegations
        .iter()
        .map(|(s, t)| json!({"ServicePrincipal": s, "DelegationEnabledDate": ts(*t)}))
        .collect();
    paged("DelegatedServices", items, input)
}

/// Registers `account` as a delegated administrator for `service` on the service's behalf, as
/// AWS services do when their own API names an organization administrator (GuardDuty's
/// `EnableOrganizationAdminAccount`); nothing when it is already registered. The management
/// account is never registered (Organizations refuses it).
pub async fn register_for_service(
    db: &mut Db<'_>,
    org: &Org,
    account: &str,
    service: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Res<()> {
    if account == org.management {
        return Ok(());
    }
    let (e, mut m, _) = member(db, org, account).await?;
    if m.delegations.contains_key(service) {
        return Ok(());
    }
    m.delegations.insert(service.to_string(), now);
    db.links()
        .add(&org.management, model::LINK_DELEGATED, account, service)
        .await?;
    save_doc(db, e, &m, now).await?;
    bump(db).await?;
    Ok(())
}

/// The accounts registered as delegated administrators for `service` in the organization.
pub async fn registered_for_service(db: &mut Db<'_>, org: &Org, service: &str) -> Res<Vec<String>> {
    Ok(db
        .links()
        .sources(model::LINK_DELEGATED, service)
        .await?
        .into_iter()
        .filter(|(management, _)| *management == org.management)
        .map(|(_, account)| account)
        .collect())
}
