//! Members, from the administrator: `CreateMembers`, `GetMembers`, `ListMembers`,
//! `DeleteMembers`, `DisassociateMembers`; and from a member: `GetAdministratorAccount` (and
//! the older `GetMasterAccount`), `DisassociateFromAdministratorAccount` (and
//! `DisassociateFromMasterAccount`).
//!
//! Organization accounts become members at once, enabled (Security Hub and its default
//! standards are turned on in them), and only the organization's administrator adds them;
//! accounts outside the organization are added `CREATED`, for an invitation
//! ([`crate::invitations`]). Statuses are stored as the shared records spell them and shown
//! in Security Hub's capitals (`ENABLED`).

use rampart_kit::{
    context::CallContext,
    db::Db,
    error::ServiceError,
    input::{opt_str, str_list},
};
use rampart_organizations::{
    common::{org_of, Org},
    service_members::{MemberDoc, CREATED, ENABLED, INVITED, REMOVED, RESIGNED},
};
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::{
    error::SecurityHubError,
    model,
    org::{enroll, RELATIONS},
    products::paged,
    time_text,
};

/// Account ids one call may name (AWS's 50).
const MAX_ACCOUNTS: usize = 50;

/// An `UnprocessedAccounts` entry.
pub(crate) fn unprocessed(account: &str, result: &str) -> Value {
    json!({ "AccountId": account, "ProcessingResult": result })
}

/// A stored relationship status as Security Hub's `MemberStatus`.
pub(crate) fn status(m: &MemberDoc) -> String {
    m.status.to_uppercase()
}

/// A member in AWS's `Member` shape.
fn member_json(admin: &str, e: &Entity, m: &MemberDoc) -> Value {
    json!({
        "AccountId": m.account,
        "Email": m.email,
        "MasterId": admin,
        "AdministratorId": admin,
        "MemberStatus": status(m),
        "InvitedAt": time_text(m.invited_at.unwrap_or(e.created_at)),
        "UpdatedAt": time_text(e.updated_at),
    })
}

/// The `AccountIds` of a request (1 to 50).
pub(crate) fn account_ids(input: &Value) -> Result<Vec<String>, ServiceError> {
    let ids = str_list(input, "AccountIds");
    if ids.is_empty() || ids.len() > MAX_ACCOUNTS {
        return Err(SecurityHubError::invalid(format!(
            "AccountIds must hold between 1 and {MAX_ACCOUNTS} account ids."
        ))
        .into());
    }
    Ok(ids)
}

/// `CreateMembers`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let admin = ctx.principal.account_id.clone();
    if RELATIONS
        .enabled_administrator(&mut db, &admin, &ctx.region)
        .await?
        .is_some()
    {
        return Err(SecurityHubError::AccessDeniedException(
            "A member account cannot have members of its own.".into(),
        )
        .into());
    }
    let org = org_of(&mut db, &admin).await?;
    let org_admin = RELATIONS
        .administered_by(&mut db, &admin, &ctx.region)
        .await?
        .is_some();
    let details = input
        .get("AccountDetails")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if details.is_empty() || details.len() > MAX_ACCOUNTS {
        return Err(SecurityHubError::invalid(format!(
            "AccountDetails must hold between 1 and {MAX_ACCOUNTS} accounts."
        ))
        .into());
    }
    let mut skipped = Vec::new();
    for d in &details {
        let account = opt_str(d, "AccountId").unwrap_or_default();
        let email = opt_str(d, "Email").unwrap_or_default();
        if let Some(why) = add(&mut db, ctx, (account, email), org.as_ref(), org_admin).await? {
            skipped.push(unprocessed(account, &why));
        }
    }
    Ok(json!({ "UnprocessedAccounts": skipped }))
}

/// Adds one account for `CreateMembers`; why not, when it is passed over.
async fn add(
    db: &mut Db<'_>,
    ctx: &CallContext,
    (account, email): (&str, &str),
    org: Option<&Org>,
    org_admin: bool,
) -> Result<Option<String>, ServiceError> {
    let admin = &ctx.principal.account_id;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Some(format!(
            "Account {account} is not a valid account ID."
        )));
    }
    if account == admin {
        return Ok(Some("An account cannot be a member of itself.".into()));
    }
    let current = RELATIONS.member(db, admin, &ctx.region, account).await?;
    if current.is_some_and(|(_, m)| m.status == ENABLED || m.status == INVITED) {
        return Ok(Some(format!("Account {account} is already a member.")));
    }
    let same_org = match org {
        Some(o) => org_of(db, account).await?.is_some_and(|m| m.id == o.id),
        None => false,
    };
    if !same_org {
        let doc = MemberDoc {
            account: account.to_string(),
            region: ctx.region.clone(),
            email: email.to_string(),
            status: CREATED.into(),
            ..Default::default()
        };
        RELATIONS.put_member(db, admin, &doc, ctx.now).await?;
        return Ok(None);
    }
    if !org_admin {
        return Ok(Some(format!("Account {account} is in the organization: only the organization's Security Hub administrator account can add it.")));
    }
    let management = org.is_some_and(|o| o.management == account);
    if management && model::hub_in(db, account, &ctx.region).await?.is_none() {
        return Ok(Some("Security Hub cannot be enabled automatically for the organization management account; it must enable Security Hub first.".into()));
    }
    let email = email.to_string();
    if !enroll(db, admin, &ctx.region, account, &email, true, ctx.now).await? {
        return Ok(Some(format!(
            "Account {account} already has a Security Hub administrator account."
        )));
    }
    Ok(None)
}

/// The named members of the caller, with the ids it has no member for.
async fn named(
    db: &mut Db<'_>,
    ctx: &CallContext,
    ids: &[String],
) -> Result<(Vec<(Entity, MemberDoc)>, Vec<Value>), ServiceError> {
    let (found, missing) = RELATIONS
        .named(db, &ctx.principal.account_id, &ctx.region, ids)
        .await?;
    let missing = missing
        .iter()
        .map(|id| {
            unprocessed(
                id,
                &format!("Account {id} is not a member of the current account."),
            )
        })
        .collect();
    Ok((found, missing))
}

/// `GetMembers`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let (found, missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    let admin = &ctx.principal.account_id;
    let members: Vec<Value> = found
        .iter()
        .map(|(e, m)| member_json(admin, e, m))
        .collect();
    Ok(json!({ "Members": members, "UnprocessedAccounts": missing }))
}

/// `ListMembers`: with `OnlyAssociated` true (the default), the `ENABLED` members only; with
/// false, also those created, invited or disassociated.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let only_associated = input
        .get("OnlyAssociated")
        .and_then(|v| v.as_bool().or_else(|| v.as_str().map(|s| s != "false")))
        .unwrap_or(true);
    let admin = &ctx.principal.account_id;
    let all = RELATIONS.members(&mut db, admin, &ctx.region).await?;
    let items: Vec<Value> = all
        .iter()
        .filter(|(_, m)| !only_associated || m.status == ENABLED)
        .map(|(e, m)| member_json(admin, e, m))
        .collect();
    paged(input, items, "Members")
}

/// `DisassociateMembers`: the members stay listed (with `OnlyAssociated` false) as
/// `REMOVED`, and their findings leave the administrator's view.
pub async fn disassociate(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let (found, missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    if let Some(first) = missing.first() {
        let text = opt_str(first, "ProcessingResult").unwrap_or_default();
        return Err(SecurityHubError::invalid(text).into());
    }
    for (_, mut m) in found {
        m.status = REMOVED.into();
        RELATIONS
            .put_member(&mut db, &ctx.principal.account_id, &m, ctx.now)
            .await?;
    }
    Ok(json!({}))
}

/// `DeleteMembers`.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let (found, missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    for (_, m) in found {
        RELATIONS
            .delete_member(&mut db, &ctx.principal.account_id, &ctx.region, &m.account)
            .await?;
    }
    Ok(json!({ "UnprocessedAccounts": missing }))
}

/// `GetAdministratorAccount` (`Administrator`) and `GetMasterAccount` (`Master`).
pub async fn administrator(
    ctx: &CallContext,
    mut db: Db<'_>,
    member_name: &str,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let found = RELATIONS
        .administrator_of(&mut db, &ctx.principal.account_id, &ctx.region)
        .await?;
    let Some((admin, e, m)) = found else {
        return Ok(json!({}));
    };
    let mut out = json!({
        "AccountId": admin,
        "MemberStatus": status(&m),
        "InvitedAt": time_text(m.invited_at.unwrap_or(e.created_at)),
    });
    if let Some(id) = &m.invitation_id {
        crate::set(&mut out, "InvitationId", json!(id));
    }
    Ok(json!({ member_name: out }))
}

/// `DisassociateFromAdministratorAccount` (and `DisassociateFromMasterAccount`): refused
/// for organization members, whose relation only the administrator changes.
pub async fn leave(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let found = RELATIONS
        .administrator_of(&mut db, &ctx.principal.account_id, &ctx.region)
        .await?;
    match found {
        Some((_, _, m)) if m.by_organization => Err(SecurityHubError::invalid(
            "The account is a member of an organization: only its Security Hub administrator account can disassociate it.",
        )
        .into()),
        Some((admin, _, mut m)) if m.status == ENABLED => {
            m.status = RESIGNED.into();
            RELATIONS.put_member(&mut db, &admin, &m, ctx.now).await?;
            Ok(json!({}))
        }
        _ => Err(SecurityHubError::ResourceNotFoundException(
            "The account has no Security Hub administrator account.".into(),
        )
        .into()),
    }
}
