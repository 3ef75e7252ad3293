//! Members, from the delegated administrator: `CreateMembers`, `GetMembers`, `ListMembers`,
//! `DeleteMembers`, `DisassociateMembers`, `StartMonitoringMembers`, `StopMonitoringMembers`,
//! `GetMemberDetectors`, `UpdateMemberDetectors`; and from a member: `GetAdministratorAccount`,
//! `DisassociateFromAdministratorAccount`.
//!
//! Organization accounts become members at once, enabled (GuardDuty is turned on in them);
//! accounts outside the organization are added `Created`, for an invitation
//! ([`crate::invitations`]).

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_str, str_list},
    timestamp::ts,
};
use rampart_organizations::common::{org_of, Org};
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::{
    detectors::{self, page_answer, paged},
    error::GuardDutyError,
    model,
    org::enroll,
    relation::{self, MemberDoc, CREATED, DISABLED, ENABLED, INVITED, REMOVED, RESIGNED},
};

/// Account ids one call may name (AWS's 50).
const MAX_ACCOUNTS: usize = 50;

fn unprocessed(account: &str, result: &str) -> Value {
    json!({ "AccountId": account, "Result": result })
}

/// A member in AWS's `Member` shape.
fn member_json(admin: &str, e: &Entity, m: &MemberDoc, detector: Option<String>) -> Value {
    let mut v = json!({
        "AccountId": m.account,
        "MasterId": admin,
        "AdministratorId": admin,
        "Email": m.email,
        "RelationshipStatus": m.status,
        "InvitedAt": ts(m.invited_at.unwrap_or(e.created_at)),
        "UpdatedAt": ts(e.updated_at),
    });
    if let (Some(id), Some(obj)) = (detector, v.as_object_mut()) {
        obj.insert("DetectorId".into(), json!(id));
    }
    v
}

fn account_ids(input: &Value) -> Result<Vec<String>, ServiceError> {
    let ids = str_list(input, "AccountIds");
    if ids.is_empty() || ids.len() > MAX_ACCOUNTS {
        return Err(GuardDutyError::invalid_input().into());
    }
    Ok(ids)
}

/// `CreateMembers`: accounts of the caller's organization become enabled members at once
/// (only the organization's GuardDuty administrator may add them); other accounts are added
/// `Created`, for `InviteMembers`.
pub async fn create(
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
    let admin = ctx.principal.account_id.clone();
    let org = org_of(&mut db, &admin).await?;
    let org_admin = match &org {
        Some(o) => relation::org_admin(&mut db, &o.management, &ctx.region)
            .await?
            .is_some_and(|(_, a)| a.admin == admin),
        None => false,
    };
    let details = input
        .get("AccountDetails")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if details.is_empty() || details.len() > MAX_ACCOUNTS {
        return Err(GuardDutyError::invalid_input().into());
    }
    let mut skipped = Vec::new();
    for d in &details {
        let account = opt_str(d, "AccountId").unwrap_or_default();
        let email = opt_str(d, "Email").unwrap_or_default();
        if let Some(why) = refusal(&mut db, ctx, account, org.as_ref(), org_admin).await? {
            skipped.push(unprocessed(account, why));
            continue;
        }
        let same_org = match &org {
            Some(o) => org_of(&mut db, account)
                .await?
                .is_some_and(|m| m.id == o.id),
            None => false,
        };
        if same_org {
            if !enroll(&mut db, &admin, &ctx.region, account, email, ctx.now).await? {
                skipped.push(unprocessed(
                    account,
                    "The request is rejected because the account already has a GuardDuty administrator account.",
                ));
            }
        } else {
            let doc = MemberDoc {
                account: account.to_string(),
                region: ctx.region.clone(),
                email: email.to_string(),
                status: CREATED.into(),
                ..Default::default()
            };
            relation::put_member(&mut db, &admin, &doc, ctx.now).await?;
        }
    }
    Ok(json!({ "UnprocessedAccounts": skipped }))
}

/// Why `CreateMembers` passes over an account, if it does.
async fn refusal(
    db: &mut Db<'_>,
    ctx: &CallContext,
    account: &str,
    org: Option<&Org>,
    org_admin: bool,
) -> Result<Option<&'static str>, ServiceError> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Some(
            "The request is rejected because the account ID is not valid.",
        ));
    }
    if account == ctx.principal.account_id {
        return Ok(Some(
            "The request is rejected because the current account cannot be a member of itself.",
        ));
    }
    if let Some(o) = org {
        let same_org = org_of(db, account).await?.is_some_and(|m| m.id == o.id);
        if same_org && !org_admin {
            return Ok(Some("The request is rejected because the account is in the organization: only the organization's GuardDuty delegated administrator can add it."));
        }
    }
    let current = relation::member(db, &ctx.principal.account_id, &ctx.region, account).await?;
    if current.is_some_and(|(_, m)| m.status == ENABLED || m.status == INVITED) {
        return Ok(Some(
            "The request is rejected because the account is already a member.",
        ));
    }
    Ok(None)
}

/// The named members of the caller, with the ids it has no member for.
async fn named(
    db: &mut Db<'_>,
    ctx: &CallContext,
    ids: &[String],
) -> Result<(Vec<(Entity, MemberDoc)>, Vec<Value>), ServiceError> {
    let (found, missing) = relation::RELATIONS
        .named(db, &ctx.principal.account_id, &ctx.region, ids)
        .await?;
    let missing = missing
        .iter()
        .map(|id| unprocessed(id, "The request is rejected because the input account ID is not associated with the current account."))
        .collect();
    Ok((found, missing))
}

async fn shaped(
    db: &mut Db<'_>,
    ctx: &CallContext,
    members: &[(Entity, MemberDoc)],
) -> Result<Vec<Value>, ServiceError> {
    let mut out = Vec::new();
    for (e, m) in members {
        let detector = model::detector_in(db, &m.account, &ctx.region)
            .await?
            .map(|d| d.id().to_string());
        out.push(member_json(&ctx.principal.account_id, e, m, detector));
    }
    Ok(out)
}

/// `GetMembers`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let (found, missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    let members = shaped(&mut db, ctx, &found).await?;
    Ok(json!({ "Members": members, "UnprocessedAccounts": missing }))
}

/// `ListMembers`: with `OnlyAssociated` `true` (the default), the associated members only
/// (`Enabled` or `Disabled`); with `false`, also those created, invited or disassociated.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let only_associated = opt_str(input, "OnlyAssociated") != Some("false");
    let all = relation::members(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    let kept: Vec<(Entity, MemberDoc)> = all
        .into_iter()
        .filter(|(_, m)| !only_associated || m.status == ENABLED || m.status == DISABLED)
        .collect();
    let (page, next) = paged(input, kept)?;
    let members = shaped(&mut db, ctx, &page).await?;
    Ok(page_answer("Members", json!(members), next))
}

/// Moves the named members from a status `from` accepts to `to`; members in another
/// status come back unprocessed (monitoring restarts only what was stopped, so an
/// invitation is never bypassed).
async fn set_status(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    from: fn(&str) -> bool,
    to: &str,
) -> Result<Value, ServiceError> {
    model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let (found, mut missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    for (_, mut m) in found {
        if !from(&m.status) {
            missing.push(unprocessed(
                &m.account,
                &format!(
                    "The request is rejected because the member's relationship status is {}.",
                    m.status
                ),
            ));
            continue;
        }
        m.status = to.to_string();
        relation::put_member(&mut db, &ctx.principal.account_id, &m, ctx.now).await?;
    }
    Ok(json!({ "UnprocessedAccounts": missing }))
}

/// `DisassociateMembers`: the members stay listed (with `OnlyAssociated` `false`) as
/// `Removed`, and their findings leave the administrator's view.
pub async fn disassociate(
    input: &Value,
    ctx: &CallContext,
    db: Db<'_>,
) -> Result<Value, ServiceError> {
    set_status(input, ctx, db, |_| true, REMOVED).await
}

/// `StartMonitoringMembers`: a stopped member is monitored again.
pub async fn start_monitoring(
    input: &Value,
    ctx: &CallContext,
    db: Db<'_>,
) -> Result<Value, ServiceError> {
    set_status(input, ctx, db, |s| s == DISABLED || s == ENABLED, ENABLED).await
}

/// `StopMonitoringMembers`.
pub async fn stop_monitoring(
    input: &Value,
    ctx: &CallContext,
    db: Db<'_>,
) -> Result<Value, ServiceError> {
    set_status(input, ctx, db, |s| s == ENABLED || s == DISABLED, DISABLED).await
}

/// `DeleteMembers`.
pub async fn delete(
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
    let (found, missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    for (_, m) in found {
        relation::delete_member(&mut db, &ctx.principal.account_id, &ctx.region, &m.account)
            .await?;
    }
    Ok(json!({ "UnprocessedAccounts": missing }))
}

/// `GetMemberDetectors`: the protection plans of the named members' detectors.
pub async fn detectors(
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
    let (found, mut missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    let mut configs = Vec::new();
    for (_, m) in found {
        match model::detector_in(&mut db, &m.account, &ctx.region).await? {
            Some(d) => configs.push(json!({
                "AccountId": m.account,
                "DataSources": detectors::data_sources_out(&d),
                "Features": detectors::features_out(&d),
            })),
            None => missing.push(unprocessed(
                &m.account,
                "The request is rejected because the member account has no detector.",
            )),
        }
    }
    Ok(json!({ "MemberDataSourceConfigurations": configs, "UnprocessedAccounts": missing }))
}

/// `UpdateMemberDetectors`: the administrator sets the protection plans (`Features`, or the
/// older `DataSources`) of its enabled members' detectors, as `UpdateDetector` sets its own
/// (the same rules, checked before anything changes). Members not `Enabled`, organization
/// members no longer in the organization and accounts that are not members come back
/// unprocessed.
pub async fn update_detectors(
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
    detectors::check_features(input)?;
    let (found, mut missing) = named(&mut db, ctx, &account_ids(input)?).await?;
    let org = org_of(&mut db, &ctx.principal.account_id)
        .await?
        .map(|o| o.id);
    for (_, m) in found {
        let left_org = m.by_organization && org_of(&mut db, &m.account).await?.map(|o| o.id) != org;
        if m.status != ENABLED || left_org {
            missing.push(unprocessed(
                &m.account,
                "The request is rejected because the member account is not enabled (its relationship status is not Enabled).",
            ));
            continue;
        }
        let Some(mut d) = model::detector_in(&mut db, &m.account, &ctx.region).await? else {
            missing.push(unprocessed(
                &m.account,
                "The request is rejected because the member account has no detector.",
            ));
            continue;
        };
        detectors::apply_features(input, &mut d.doc.features, ctx.now)?;
        entity::save_doc(&mut db, d.entity, &d.doc, ctx.now).await?;
    }
    Ok(json!({ "UnprocessedAccounts": missing }))
}

/// `GetAdministratorAccount` (and the older `GetMasterAccount`, whose member is `Master`).
pub async fn administrator(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    member_name: &str,
) -> Result<Value, ServiceError> {
    model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let found = relation::administrator_of(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    let Some((admin, e, m)) = found else {
        return Ok(json!({}));
    };
    Ok(json!({ member_name: {
        "AccountId": admin,
        "RelationshipStatus": m.status,
        "InvitedAt": ts(m.invited_at.unwrap_or(e.created_at)),
    }}))
}

/// `DisassociateFromAdministratorAccount`: refused for organization members, whose
/// relation only the administrator changes (as AWS refuses it).
pub async fn leave(
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
    let found = relation::administrator_of(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    match found {
        Some((_, _, m)) if m.by_organization => Err(GuardDutyError::BadRequestException(
            "The request is rejected because the current account is a member of an organization and cannot disassociate from its GuardDuty administrator.".into(),
        )
        .into()),
        Some((admin, _, mut m)) => {
            m.status = RESIGNED.into();
            relation::put_member(&mut db, &admin, &m, ctx.now).await?;
            Ok(json!({}))
        }
        None => Ok(json!({})),
    }
}
