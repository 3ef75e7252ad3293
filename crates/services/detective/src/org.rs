//! Organization administration: `EnableOrganizationAdminAccount`,
//! `DisableOrganizationAdminAccount`, `ListOrganizationAdminAccounts` (the management
//! account's), `DescribeOrganizationConfiguration`/`UpdateOrganizationConfiguration` (the
//! Detective administrator's), and [`auto_enable`]: accounts that join the organization made
//! members of the organization behavior graph.
//!
//! The administrator record is the shared one of `rampart_organizations::service_members`
//! under Detective's kinds ([`RELATIONS`]). Members stay Detective's own records (an account
//! may be a member of several graphs), with `InvitationType` `ORGANIZATION`. Rules (AWS's):
//! only the organization's management account names the administrator, an account of the
//! organization (the delegated administrator for `detective.amazonaws.com` when
//! Organizations has one), one per region; it is registered as that delegated administrator
//! and gets a behavior graph if it has none (the organization behavior graph). Removing the
//! administrator deletes that graph; the registration in Organizations stays.

use chrono::{DateTime, Duration, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str},
    page,
    timestamp::ts,
};
pub use rampart_organizations::service_admin::in_organization;
use rampart_organizations::{
    common::{org_of, Org},
    service_admin::{is_closed, joined_accounts, managed_by_caller, still_in},
    service_members::{AdminDoc, Relations},
};
use rampart_store::{Entity, Store};
use serde_json::{json, Value};

use crate::{
    error::DetectiveError,
    graphs, members,
    model::{self, Graph, MemberDoc},
    volume::{self, Measured},
};

/// Detective's relation records (only the administrator record is used).
pub const RELATIONS: Relations = Relations {
    org_admin: "detective:org-admin",
    member: "detective:org-member",
    link: "detective:org-administrator",
};

/// The index of administrator records, in [`model::SYSTEM_ACCOUNT`], keyed
/// `MANAGEMENT|REGION`: the auto-enable job reads it.
pub const ADMIN_INDEX: &str = "detective:org-admin-index";

/// Detective's service principal, under which Organizations records its administrator.
const SERVICE: &str = "detective.amazonaws.com";

fn denied(reason: &str) -> ServiceError {
    ServiceError::from(DetectiveError::AccessDeniedException(reason.into()))
        .with_detail("ErrorCode", "INVALID_REQUEST_BODY")
        .with_detail("ErrorCodeReason", reason)
}

fn invalid(reason: &str) -> ServiceError {
    ServiceError::from(DetectiveError::invalid(reason))
        .with_detail("ErrorCode", "INVALID_REQUEST_BODY")
        .with_detail("ErrorCodeReason", reason)
}

/// The caller's organization, which the caller must manage.
async fn managed(db: &mut Db<'_>, ctx: &CallContext) -> Result<Org, ServiceError> {
    managed_by_caller(db, ctx)
        .await?
        .ok_or_else(|| denied("The caller is not the management account of an organization."))
}

/// The organization whose behavior graph `g` is (its account is the organization's
/// Detective administrator in its region), if it is one.
pub async fn organization_of_graph(
    db: &mut Db<'_>,
    g: &Graph,
) -> Result<Option<Org>, ServiceError> {
    Ok(RELATIONS
        .administered_by(db, g.account(), &g.doc.region)
        .await?
        .map(|(org, _)| org))
}

fn index_key(management: &str, region: &str) -> String {
    format!("{management}|{region}")
}

/// `EnableOrganizationAdminAccount`.
pub async fn enable_admin(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let org = managed(&mut db, ctx).await?;
    let admin = opt_str(input, "AccountId").unwrap_or_default();
    let region = &ctx.region;
    let c = RELATIONS
        .candidacy(&mut db, &org, admin, SERVICE, region)
        .await?;
    if !c.in_organization {
        return Err(invalid(&format!(
            "Account {admin} is not an account of the organization."
        )));
    }
    if admin != org.management && c.other_delegated {
        return Err(invalid(
            "The Detective administrator must be the delegated administrator for Detective in Organizations or the management account.",
        ));
    }
    if c.is_current(admin) {
        return Ok(json!({}));
    }
    if c.here.is_some() {
        return Err(DetectiveError::ConflictException(
            "The organization already has a Detective administrator account in this Region.".into(),
        )
        .into());
    }
    if model::graph_in(&mut db, admin, region).await?.is_none() {
        graphs::insert(&mut db, admin, region, Default::default(), ctx.now).await?;
    }
    let doc = AdminDoc {
        admin: admin.to_string(),
        auto_enable: "NONE".into(),
        enabled_at: Some(ctx.now),
        auto_enable_since: Some(ctx.now),
        auto_enable_standards: None,
    };
    RELATIONS
        .designate(&mut db, &org, SERVICE, region, &doc, ctx.now)
        .await?;
    let key = index_key(&org.management, region);
    db.entities()
        .create(&Entity {
            account_id: model::SYSTEM_ACCOUNT.into(),
            kind: ADMIN_INDEX.into(),
            name: key.clone(),
            name_key: key.clone(),
            id: format!("{ADMIN_INDEX}/{key}"),
            path: "/".into(),
            arn: String::new(),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: "{}".into(),
        })
        .await?;
    Ok(json!({}))
}

/// `DisableOrganizationAdminAccount`: removes the administrator in the caller's region and
/// deletes the organization behavior graph (with its members and investigations).
pub async fn disable_admin(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let org = managed(&mut db, ctx).await?;
    let region = &ctx.region;
    let Some(a) = RELATIONS
        .remove_administrator(&mut db, &org, region)
        .await?
    else {
        return Err(invalid(
            "The organization has no Detective administrator account in this Region.",
        ));
    };
    if let Some(g) = model::graph_in(&mut db, &a.admin, region).await? {
        graphs::remove(&mut db, &g).await?;
    }
    db.entities()
        .delete(
            model::SYSTEM_ACCOUNT,
            ADMIN_INDEX,
            &index_key(&org.management, region),
        )
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
    let mut items = Vec::new();
    if let Some((_, a)) = RELATIONS
        .org_admin(&mut db, &org.management, &ctx.region)
        .await?
    {
        let graph = model::graph_in(&mut db, &a.admin, &ctx.region).await?;
        let mut item = json!({ "AccountId": a.admin });
        if let (Some(g), Some(obj)) = (graph, item.as_object_mut()) {
            obj.insert("GraphArn".into(), json!(g.arn()));
        }
        if let (Some(t), Some(obj)) = (a.enabled_at, item.as_object_mut()) {
            obj.insert("DelegationTime".into(), json!(ts(t)));
        }
        items.push(item);
    }
    let max = usize::try_from(opt_int(input, "MaxResults").unwrap_or(200)).unwrap_or(200);
    let p = page::at_offset(items, opt_str(input, "NextToken"), max)
        .ok_or_else(|| DetectiveError::invalid("The pagination token is not valid."))?;
    let mut out = json!({ "Administrators": p.items });
    if let Some(next) = p.next {
        rampart_kit::json_field::SetField::set_field(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

/// The organization behavior graph `GraphArn` names, of which the caller must be the
/// administrator, with its organization and administrator record.
async fn administered(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<(Org, AdminDoc), ServiceError> {
    model::own_graph(db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    RELATIONS
        .administered_by(db, &ctx.principal.account_id, &ctx.region)
        .await?
        .ok_or_else(|| {
            denied("The caller is not the Detective administrator account of an organization.")
        })
}

/// `DescribeOrganizationConfiguration`.
pub async fn describe_config(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, a) = administered(input, ctx, &mut db).await?;
    Ok(json!({ "AutoEnable": a.auto_enable != "NONE" }))
}

/// `UpdateOrganizationConfiguration`: `AutoEnable` (accounts that join the organization
/// from now on become members of the organization behavior graph).
pub async fn update_config(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (org, mut a) = administered(input, ctx, &mut db).await?;
    let on = input
        .get("AutoEnable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let was = a.auto_enable != "NONE";
    a.auto_enable = if on { "NEW" } else { "NONE" }.into();
    if on && !was {
        a.auto_enable_since = Some(ctx.now);
    }
    RELATIONS
        .put_org_admin(&mut db, &org.management, &ctx.region, &a, ctx.now)
        .await?;
    Ok(json!({}))
}

/// Makes `account` (of the organization) a member of the organization behavior graph `g`,
/// without an invitation: `ENABLED` when its data volume fits the graph's, else
/// `ACCEPTED_BUT_DISABLED` ([`members::admit`]).
pub async fn enroll(
    db: &mut Db<'_>,
    g: &Graph,
    account: &str,
    volumes: &mut Measured,
    now: DateTime<Utc>,
) -> Result<MemberDoc, ServiceError> {
    let email = db
        .accounts()
        .get(account)
        .await?
        .map(|a| a.email)
        .unwrap_or_default();
    let mut doc = MemberDoc {
        account_id: account.to_string(),
        email,
        graph_arn: g.arn().to_string(),
        administrator: g.account().to_string(),
        status: model::ENABLED.into(),
        invited_time: now,
        updated_time: now,
        invitation_type: model::BY_ORGANIZATION.into(),
        disabled_reason: None,
    };
    members::admit(&mut doc, volumes, now);
    members::insert(db, g, &doc, now).await?;
    Ok(doc)
}

/// Every organization's Detective administrator record: (management account, region).
pub async fn administrators(db: &mut Db<'_>) -> Result<Vec<(String, String)>, ServiceError> {
    let mut out = Vec::new();
    for e in model::all(db, model::SYSTEM_ACCOUNT, ADMIN_INDEX, "/").await? {
        if let Some((management, region)) = e.name_key.split_once('|') {
            out.push((management.to_string(), region.to_string()));
        }
    }
    Ok(out)
}

/// The organization behavior graph of `management`'s Detective administrator in `region`,
/// with the administrator record, if there is one.
async fn organization_graph(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
) -> Result<Option<(Graph, AdminDoc)>, ServiceError> {
    let Some((_, a)) = RELATIONS.org_admin(db, management, region).await? else {
        return Ok(None);
    };
    Ok(model::graph_in(db, &a.admin, region).await?.map(|g| (g, a)))
}

/// The accounts auto-enable takes into the organization behavior graph of `management`'s
/// administrator in `region`: active accounts of the organization that joined since
/// auto-enable was set (or since the last ones it took) and are not members yet.
pub async fn joined_since(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
) -> Result<Vec<(String, DateTime<Utc>)>, ServiceError> {
    let Some((g, a)) = organization_graph(db, management, region).await? else {
        return Ok(Vec::new());
    };
    let (Some(since), Some(org)) = (
        a.auto_enable_since.filter(|_| a.auto_enable != "NONE"),
        org_of(db, management).await?,
    ) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (account, joined) in joined_accounts(db, &org, since, &[a.admin.as_str()]).await? {
        if members::member(db, &g, &account).await?.is_none() {
            out.push((account, joined));
        }
    }
    Ok(out)
}

/// The accounts [`joined_since`] finds, with their data volumes and the graph's, measured
/// for [`auto_enable`] outside its transaction; `None` when there are none.
pub async fn measure_joined(
    store: &Store,
    management: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<Option<Measured>, ServiceError> {
    let mut db = Db::Read(store);
    let joined = joined_since(&mut db, management, region).await?;
    if joined.is_empty() {
        return Ok(None);
    }
    let Some((g, _)) = organization_graph(&mut db, management, region).await? else {
        return Ok(None);
    };
    let accounts: Vec<String> = joined.into_iter().map(|(a, _)| a).collect();
    Ok(Some(volume::measure(store, &g, &accounts, now).await?))
}

/// Auto-enable for the administrator of `management`'s organization in `region`: the
/// accounts [`joined_since`] finds that `volumes` measured become organization members (up
/// to the graph's member quota; `ENABLED` as far as the graph's volume allows), and
/// auto-enable's mark moves past them, so an account the administrator later removes is not
/// taken again. Answers how many were enrolled.
pub async fn auto_enable(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
    volumes: &mut Measured,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let found = joined_since(db, management, region).await?;
    let Some((g, mut a)) = organization_graph(db, management, region).await? else {
        return Ok(0);
    };
    if volumes.graph_arn != g.arn() {
        return Ok(0);
    }
    let mut count = members::all(db, &g).await?.len();
    let mut latest = None;
    let mut added = 0;
    for (account, joined) in found {
        // An account that joined after the measurement waits for the next round.
        if !volumes.candidates.contains_key(&account) {
            continue;
        }
        latest = latest.max(Some(joined));
        if count >= members::MAX_MEMBERS {
            continue;
        }
        enroll(db, &g, &account, volumes, now).await?;
        count += 1;
        added += 1;
    }
    if let Some(t) = latest {
        a.auto_enable_since = Some(t + Duration::milliseconds(1));
        RELATIONS
            .put_org_admin(db, management, region, &a, now)
            .await?;
    }
    Ok(added)
}

/// The members of the organization behavior graph of `management`'s administrator in
/// `region` that are no longer there to monitor: organization members whose account left
/// the organization or was closed, and invited members whose account was closed (AWS
/// removes both).
pub async fn departed(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
) -> Result<Vec<String>, ServiceError> {
    let Some((g, _)) = organization_graph(db, management, region).await? else {
        return Ok(Vec::new());
    };
    let org = org_of(db, management).await?;
    let mut out = Vec::new();
    for m in members::all(db, &g).await? {
        let gone = if m.invitation_type == model::BY_ORGANIZATION {
            match &org {
                Some(org) => !still_in(db, org, &m.account_id).await?,
                None => true,
            }
        } else {
            is_closed(db, &m.account_id).await?
        };
        if gone {
            out.push(m.account_id);
        }
    }
    Ok(out)
}

/// Removes the members [`departed`] finds from the organization behavior graph (with their
/// invitations); answers how many.
pub async fn remove_departed(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
) -> Result<usize, ServiceError> {
    let gone = departed(db, management, region).await?;
    let Some((g, _)) = organization_graph(db, management, region).await? else {
        return Ok(0);
    };
    for account in &gone {
        members::remove(db, &g, account).await?;
    }
    Ok(gone.len())
}

/// Forgets an administrator whose graph was deleted by `DeleteGraph` (the organization has
/// no Detective administrator in the region after it, as after
/// `DisableOrganizationAdminAccount`).
pub async fn graph_deleted(db: &mut Db<'_>, g: &Graph) -> Result<(), ServiceError> {
    let Some(org) = organization_of_graph(db, g).await? else {
        return Ok(());
    };
    db.entities()
        .delete(&org.management, RELATIONS.org_admin, &g.doc.region)
        .await?;
    let key = index_key(&org.management, &g.doc.region);
    if entity::find(db, model::SYSTEM_ACCOUNT, ADMIN_INDEX, &key)
        .await?
        .is_some()
    {
        db.entities()
            .delete(model::SYSTEM_ACCOUNT, ADMIN_INDEX, &key)
            .await?;
    }
    Ok(())
}
