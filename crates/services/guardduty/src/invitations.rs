//! Invitations, for accounts outside the administrator's organization: `InviteMembers` (the
//! administrator's), and the invited account's `ListInvitations`, `GetInvitationsCount`,
//! `AcceptAdministratorInvitation` (and the older `AcceptInvitation`), `DeclineInvitations`
//! and `DeleteInvitations`.
//!
//! An invitation is the administrator's member record in status `Invited` with an
//! invitation id; the invited account finds it through its link to the administrator. No
//! email is sent (Rampart has no mail).

use rampart_kit::{
    context::CallContext,
    db::Db,
    error::ServiceError,
    input::{opt_str, str_list},
    timestamp::ts,
};
use rampart_organizations::service_members::Refusal;
use serde_json::{json, Value};

use crate::{
    detectors::listed,
    error::GuardDutyError,
    model,
    relation::{self, MemberDoc, CREATED, INVITED, REMOVED, RESIGNED},
};

fn unprocessed(account: &str, result: &str) -> Value {
    json!({ "AccountId": account, "Result": result })
}

fn bad(message: &str) -> ServiceError {
    GuardDutyError::BadRequestException(message.into()).into()
}

/// `InviteMembers`: members added by `CreateMembers` outside the organization (or who left
/// an earlier relation) are invited.
pub async fn invite(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let ids = str_list(input, "AccountIds");
    if ids.is_empty() || ids.len() > 50 {
        return Err(GuardDutyError::invalid_input().into());
    }
    let admin = ctx.principal.account_id.clone();
    let mut skipped = Vec::new();
    for id in ids {
        let Some((_, mut m)) = relation::member(&mut db, &admin, &ctx.region, &id).await? else {
            skipped.push(unprocessed(&id, "The request is rejected because the input account ID is not associated with the current account."));
            continue;
        };
        let invitable = !m.by_organization
            && [CREATED, INVITED, REMOVED, RESIGNED].contains(&m.status.as_str());
        if !invitable {
            skipped.push(unprocessed(
                &id,
                &format!(
                    "The request is rejected because the member's relationship status is {}.",
                    m.status
                ),
            ));
            continue;
        }
        m.status = INVITED.into();
        m.invitation_id = Some(model::new_id());
        m.invited_at = Some(ctx.now);
        relation::put_member(&mut db, &admin, &m, ctx.now).await?;
    }
    Ok(json!({ "UnprocessedAccounts": skipped }))
}

/// The invitations waiting for the caller in its region, with who sent them.
async fn waiting(
    db: &mut Db<'_>,
    ctx: &CallContext,
) -> Result<Vec<(String, MemberDoc)>, ServiceError> {
    relation::RELATIONS
        .invitations_for(db, &ctx.principal.account_id, &ctx.region)
        .await
}

/// `ListInvitations`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let items: Vec<Value> = waiting(&mut db, ctx)
        .await?
        .into_iter()
        .map(|(admin, m)| {
            json!({
                "AccountId": admin,
                "InvitationId": m.invitation_id,
                "RelationshipStatus": m.status,
                "InvitedAt": m.invited_at.map(ts),
            })
        })
        .collect();
    Ok(listed("Invitations", input, items)?)
}

/// `GetInvitationsCount`.
pub async fn count(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
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
    model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let admin = opt_str(input, admin_member).unwrap_or_default();
    let invitation = opt_str(input, "InvitationId").unwrap_or_default();
    let account = ctx.principal.account_id.clone();
    let answer = relation::RELATIONS
        .accept(&mut db, (&account, &ctx.region), admin, invitation, ctx.now)
        .await?;
    match answer {
        Ok(()) => {}
        Err(Refusal::HasAdministrator) => return Err(bad("The request is rejected because the current account already has a GuardDuty administrator account.")),
        Err(Refusal::NoInvitation) => {
            return Err(bad(
                "The request is rejected because the invitation is not valid.",
            ))
        }
    }
    Ok(json!({}))
}

/// `DeclineInvitations` and `DeleteInvitations`: the invitations from the named accounts are
/// withdrawn (the administrator's member goes back to `Created`).
pub async fn decline(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let ids = str_list(input, "AccountIds");
    if ids.is_empty() || ids.len() > 50 {
        return Err(GuardDutyError::invalid_input().into());
    }
    let account = ctx.principal.account_id.clone();
    let mut skipped = Vec::new();
    for admin in ids {
        let withdrawn = relation::RELATIONS
            .withdraw(&mut db, &admin, &ctx.region, &account, ctx.now)
            .await?;
        if !withdrawn {
            skipped.push(unprocessed(
                &admin,
                "The request is rejected because there is no invitation from the account.",
            ));
        }
    }
    Ok(json!({ "UnprocessedAccounts": skipped }))
}
