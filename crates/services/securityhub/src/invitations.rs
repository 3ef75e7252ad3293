//! Invitations, for accounts outside the administrator's organization: `InviteMembers` (the
//! administrator's), and the invited account's `ListInvitations`, `GetInvitationsCount`,
//! `AcceptAdministratorInvitation` (and the older `AcceptInvitation`), `DeclineInvitations`
//! and `DeleteInvitations`.
//!
//! An invitation is the administrator's member record in status `INVITED` with an invitation
//! id; the invited account finds it through its link to the administrator. No email is sent.

use rampart_kit::{context::CallContext, db::Db, error::ServiceError, input::opt_str};
use rampart_organizations::service_members::{
    new_id, MemberDoc, Refusal, CREATED, INVITED, REMOVED, RESIGNED,
};
use serde_json::{json, Value};

use crate::{
    error::SecurityHubError,
    members::{account_ids, status, unprocessed},
    model,
    org::RELATIONS,
    products::paged,
    time_text,
};

/// `InviteMembers`: members added by `CreateMembers` outside the organization (or who left an
/// earlier relation) are invited.
pub async fn invite(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let admin = ctx.principal.account_id.clone();
    let mut skipped = Vec::new();
    for id in account_ids(input)? {
        let Some((_, mut m)) = RELATIONS.member(&mut db, &admin, &ctx.region, &id).await? else {
            skipped.push(unprocessed(
                &id,
                &format!("Account {id} is not a member of the current account."),
            ));
            continue;
        };
        let invitable = !m.by_organization
            && [CREATED, INVITED, REMOVED, RESIGNED].contains(&m.status.as_str());
        if !invitable {
            let why = format!("The member's status is {}.", status(&m));
            skipped.push(unprocessed(&id, &why));
            continue;
        }
        m.status = INVITED.into();
        m.invitation_id = Some(new_id());
        m.invited_at = Some(ctx.now);
        RELATIONS.put_member(&mut db, &admin, &m, ctx.now).await?;
    }
    Ok(json!({ "UnprocessedAccounts": skipped }))
}

/// The invitations waiting for the caller in its region, with who sent them.
async fn waiting(
    db: &mut Db<'_>,
    ctx: &CallContext,
) -> Result<Vec<(String, MemberDoc)>, ServiceError> {
    RELATIONS
        .invitations_for(db, &ctx.principal.account_id, &ctx.region)
        .await
}

/// `ListInvitations`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let items: Vec<Value> = waiting(&mut db, ctx)
        .await?
        .into_iter()
        .map(|(admin, m)| {
            json!({
                "AccountId": admin,
                "InvitationId": m.invitation_id,
                "InvitedAt": m.invited_at.map(time_text),
                "MemberStatus": status(&m),
            })
        })
        .collect();
    paged(input, items, "Invitations")
}

/// `GetInvitationsCount`.
pub async fn count(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let n = waiting(&mut db, ctx).await?.len();
    Ok(json!({ "InvitationsCount": n }))
}

/// `AcceptAdministratorInvitation` (`AdministratorId`) and `AcceptInvitation` (`MasterId`).
pub async fn accept(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    admin_member: &str,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let admin = opt_str(input, admin_member).unwrap_or_default();
    let invitation = opt_str(input, "InvitationId").unwrap_or_default();
    let account = ctx.principal.account_id.clone();
    let answer = RELATIONS
        .accept(&mut db, (&account, &ctx.region), admin, invitation, ctx.now)
        .await?;
    match answer {
        Ok(()) => Ok(json!({})),
        Err(Refusal::HasAdministrator) => Err(SecurityHubError::invalid(
            "The account already has a Security Hub administrator account.",
        )
        .into()),
        Err(Refusal::NoInvitation) => Err(SecurityHubError::ResourceNotFoundException(format!(
            "Invitation {invitation} from account {admin} was not found."
        ))
        .into()),
    }
}

/// `DeclineInvitations` and `DeleteInvitations`: the invitations from the named accounts are
/// withdrawn (the administrator's member goes back to `CREATED`).
pub async fn decline(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let account = ctx.principal.account_id.clone();
    let mut skipped = Vec::new();
    for admin in account_ids(input)? {
        let withdrawn = RELATIONS
            .withdraw(&mut db, &admin, &ctx.region, &account, ctx.now)
            .await?;
        if !withdrawn {
            skipped.push(unprocessed(
                &admin,
                &format!("There is no invitation from account {admin}."),
            ));
        }
    }
    Ok(json!({ "UnprocessedAccounts": skipped }))
}
