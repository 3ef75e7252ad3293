//! A graph's members, on the administrator's side: `CreateMembers`, `GetMembers`,
//! `ListMembers`, `DeleteMembers`. An invited account is `INVITED` until it accepts
//! ([`crate::invitations`]); members are invited by account id and email, as outside an
//! organization (`InvitationType` `INVITATION`). No email is sent. In the organization
//! behavior graph (of the organization's Detective administrator) an account of the
//! organization is enabled at once, without an invitation (`ORGANIZATION`, [`crate::org`]).

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str, str_list},
    json_field::SetField,
    page,
    timestamp::ts,
};
use rampart_store::{Entity, Store};
use serde_json::{json, Value};

use crate::{
    error::DetectiveError,
    graphs,
    model::{self, Graph, InvitationDoc, MemberDoc},
    org,
    volume::{self, Measured},
};

/// Members per graph (AWS's quota).
pub const MAX_MEMBERS: usize = 1200;

/// A member as `MemberDetail`.
pub fn detail(m: &MemberDoc) -> Value {
    let mut out = json!({
        "AccountId": m.account_id,
        "EmailAddress": m.email,
        "GraphArn": m.graph_arn,
        "MasterId": m.administrator,
        "AdministratorId": m.administrator,
        "Status": m.status,
        "InvitedTime": ts(m.invited_time),
        "UpdatedTime": ts(m.updated_time),
        "InvitationType": m.invitation_type,
    });
    if let Some(reason) = &m.disabled_reason {
        out.set_field("DisabledReason", json!(reason));
    }
    out
}

/// Makes member `m` contribute to the graph (`ENABLED`) when its data volume fits the
/// graph's ([`Measured::admit`]), else `ACCEPTED_BUT_DISABLED` with `VOLUME_TOO_HIGH`.
pub fn admit(m: &mut MemberDoc, volumes: &mut Measured, now: DateTime<Utc>) {
    if volumes.admit(&m.account_id) {
        m.status = model::ENABLED.into();
        m.disabled_reason = None;
    } else {
        m.status = model::ACCEPTED_BUT_DISABLED.into();
        m.disabled_reason = Some(volume::TOO_HIGH.into());
    }
    m.updated_time = now;
}

fn unprocessed(account: &str, reason: &str) -> Value {
    json!({ "AccountId": account, "Reason": reason })
}

/// The member `account` of graph `g`, if any.
pub async fn member(
    db: &mut Db<'_>,
    g: &Graph,
    account: &str,
) -> Result<Option<(Entity, MemberDoc)>, ServiceError> {
    entity::load_doc::<MemberDoc>(
        db,
        g.account(),
        model::MEMBER,
        &model::member_key(g.graph_id(), account),
    )
    .await
}

/// Every member of graph `g`, in account order.
pub async fn all(db: &mut Db<'_>, g: &Graph) -> Result<Vec<MemberDoc>, ServiceError> {
    let mut out = Vec::new();
    for e in model::all(db, g.account(), model::MEMBER, &model::under(g.graph_id())).await? {
        out.push(entity::read_doc(&e)?);
    }
    Ok(out)
}

/// Stores a new member record of graph `g`.
pub async fn insert(
    db: &mut Db<'_>,
    g: &Graph,
    doc: &MemberDoc,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let account = &doc.account_id;
    let key = model::member_key(g.graph_id(), account);
    db.entities()
        .create(&Entity {
            account_id: g.account().to_string(),
            kind: model::MEMBER.into(),
            name: account.to_string(),
            name_key: key.clone(),
            id: format!("{}/{key}", model::MEMBER),
            path: model::under(g.graph_id()),
            arn: format!("{}/member/{account}", g.arn()),
            created_at: now,
            updated_at: now,
            doc: entity::to_text(doc)?,
        })
        .await?;
    Ok(())
}

/// The accounts a `CreateMembers` input names.
fn named_accounts(input: &Value) -> Vec<String> {
    input
        .get("Accounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| opt_str(a, "AccountId"))
        .map(str::to_string)
        .collect()
}

/// `CreateMembers`' preparation: in the organization behavior graph, the data volumes of
/// the graph and of the organization accounts the input names, which are enabled at once.
pub async fn prepare_create(
    _op: crate::Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<Preparation>, ServiceError> {
    let mut db = Db::Read(store);
    let arn = opt_str(input, "GraphArn").unwrap_or_default();
    let Ok(g) = model::own_graph(&mut db, ctx, arn).await else {
        return Ok(None);
    };
    let Some(org) = org::organization_of_graph(&mut db, &g).await? else {
        return Ok(None);
    };
    let mut candidates = Vec::new();
    for account in named_accounts(input) {
        if account != g.account() && org::in_organization(&mut db, &org, &account).await? {
            candidates.push(account);
        }
    }
    let measured = volume::measure(store, &g, &candidates, ctx.now).await?;
    Ok(Some(Preparation::new(move || Ok(measured))))
}

/// `CreateMembers`: invites each account not yet a member.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let mut count = all(&mut db, &g).await?.len();
    let org = org::organization_of_graph(&mut db, &g).await?;
    // Organization accounts are enabled at once, as far as the graph's volume allows.
    let mut volumes = match &org {
        Some(_) => Some(volume::prepared(ctx, &g)?),
        None => None,
    };
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    for a in input
        .get("Accounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let account = opt_str(a, "AccountId").unwrap_or_default();
        let email = opt_str(a, "EmailAddress").unwrap_or_default();
        if account == g.account() {
            skipped.push(unprocessed(
                account,
                "The administrator account cannot be a member of its own behavior graph.",
            ));
            continue;
        }
        if member(&mut db, &g, account).await?.is_some() {
            skipped.push(unprocessed(
                account,
                "The account is already a member of the behavior graph.",
            ));
            continue;
        }
        if count >= MAX_MEMBERS {
            return Err(DetectiveError::ServiceQuotaExceededException(
                "The behavior graph has reached its maximum number of member accounts.".into(),
            )
            .into());
        }
        count += 1;
        if let (Some(org), Some(volumes)) = (&org, volumes.as_mut()) {
            if org::in_organization(&mut db, org, account).await? {
                let doc = org::enroll(&mut db, &g, account, volumes, ctx.now).await?;
                members.push(detail(&doc));
                continue;
            }
        }
        let doc = MemberDoc {
            account_id: account.to_string(),
            email: email.to_string(),
            graph_arn: g.arn().to_string(),
            administrator: g.account().to_string(),
            status: model::INVITED.into(),
            invited_time: ctx.now,
            updated_time: ctx.now,
            invitation_type: model::BY_INVITATION.into(),
            disabled_reason: None,
        };
        insert(&mut db, &g, &doc, ctx.now).await?;
        graphs::remove_invitation(&mut db, account, g.arn()).await?;
        let invitation = InvitationDoc {
            administrator: g.account().to_string(),
            graph_id: g.graph_id().to_string(),
        };
        db.entities()
            .create(&Entity {
                account_id: account.to_string(),
                kind: model::INVITATION.into(),
                name: g.arn().to_string(),
                name_key: g.arn().to_string(),
                id: format!("{}/{account}/{}", model::INVITATION, g.graph_id()),
                path: "/".into(),
                arn: g.arn().to_string(),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: entity::to_text(&invitation)?,
            })
            .await?;
        members.push(detail(&doc));
    }
    Ok(json!({ "Members": members, "UnprocessedAccounts": skipped }))
}

/// `GetMembers`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for account in str_list(input, "AccountIds") {
        match member(&mut db, &g, &account).await? {
            Some((_, m)) => found.push(detail(&m)),
            None => skipped.push(unprocessed(
                &account,
                "The account is not a member of the behavior graph.",
            )),
        }
    }
    Ok(json!({ "MemberDetails": found, "UnprocessedAccounts": skipped }))
}

/// `ListMembers`: the graph's members, invited and enabled, in account order.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let max = usize::try_from(opt_int(input, "MaxResults").unwrap_or(100)).unwrap_or(100);
    let items: Vec<Value> = all(&mut db, &g).await?.iter().map(detail).collect();
    let p = page::at_offset(items, opt_str(input, "NextToken"), max)
        .ok_or_else(|| DetectiveError::invalid("The pagination token is not valid."))?;
    let mut out = json!({ "MemberDetails": p.items });
    if let Some(next) = p.next {
        out.set_field("NextToken", json!(next));
    }
    Ok(out)
}

/// Removes member `account` of graph `g`, with its invitation.
pub async fn remove(db: &mut Db<'_>, g: &Graph, account: &str) -> Result<(), ServiceError> {
    let key = model::member_key(g.graph_id(), account);
    db.entities()
        .delete(g.account(), model::MEMBER, &key)
        .await?;
    graphs::remove_invitation(db, account, g.arn()).await
}

/// `DeleteMembers`: removes members (and their invitations) from the graph.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let mut deleted = Vec::new();
    let mut skipped = Vec::new();
    for account in str_list(input, "AccountIds") {
        match member(&mut db, &g, &account).await? {
            Some(_) => {
                remove(&mut db, &g, &account).await?;
                deleted.push(json!(account));
            }
            None => skipped.push(unprocessed(
                &account,
                "The account is not a member of the behavior graph.",
            )),
        }
    }
    Ok(json!({ "AccountIds": deleted, "UnprocessedAccounts": skipped }))
}
