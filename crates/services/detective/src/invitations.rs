//! A graph's members, on the member's side: `ListInvitations`, `AcceptInvitation`,
//! `RejectInvitation`, `DisassociateMembership`. The invited account reads its invitation
//! entries and changes the member record in the administrator's account.

use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str},
    page,
};
use rampart_store::{Entity, Store};
use serde_json::{json, Value};

use crate::{
    error::DetectiveError,
    graphs, members,
    model::{self, InvitationDoc, MemberDoc},
    volume,
};

/// The caller's member record for the graph `GraphArn` names; `ResourceNotFoundException`
/// when the caller has no invitation to it.
async fn own_membership(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<(Entity, MemberDoc), ServiceError> {
    let arn = opt_str(input, "GraphArn").unwrap_or_default();
    let account = &ctx.principal.account_id;
    let Some((_, inv)) =
        entity::load_doc::<InvitationDoc>(db, account, model::INVITATION, arn).await?
    else {
        return Err(DetectiveError::not_found().into());
    };
    let key = model::member_key(&inv.graph_id, account);
    entity::load_doc::<MemberDoc>(db, &inv.administrator, model::MEMBER, &key)
        .await?
        .ok_or_else(|| DetectiveError::not_found().into())
}

/// `ListInvitations`: the caller's open and accepted invitations.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let account = ctx.principal.account_id.clone();
    let mut items = Vec::new();
    for e in model::all(&mut db, &account, model::INVITATION, "/").await? {
        let inv: InvitationDoc = entity::read_doc(&e)?;
        let key = model::member_key(&inv.graph_id, &account);
        if let Some((_, m)) =
            entity::load_doc::<MemberDoc>(&mut db, &inv.administrator, model::MEMBER, &key).await?
        {
            items.push(members::detail(&m));
        }
    }
    let max = usize::try_from(opt_int(input, "MaxResults").unwrap_or(100)).unwrap_or(100);
    let p = page::at_offset(items, opt_str(input, "NextToken"), max)
        .ok_or_else(|| DetectiveError::invalid("The pagination token is not valid."))?;
    let mut out = json!({ "Invitations": p.items });
    if let Some(next) = p.next {
        rampart_kit::json_field::SetField::set_field(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

/// `AcceptInvitation`'s preparation: for an open invitation, the data volumes of the graph
/// and of the caller.
pub async fn prepare_accept(
    _op: crate::Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<Preparation>, ServiceError> {
    match own_membership(input, ctx, &mut Db::Read(store)).await {
        Ok((_, m)) if m.status == model::INVITED => {
            let caller = vec![ctx.principal.account_id.clone()];
            volume::prepare_for(store, &m.graph_arn, caller, ctx.now).await
        }
        _ => Ok(None),
    }
}

/// `AcceptInvitation`: an invited account joins the graph, `ENABLED` when its data volume
/// fits the graph's, else `ACCEPTED_BUT_DISABLED` ([`members::admit`]); accepting twice is a
/// `ConflictException`.
pub async fn accept(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut m) = own_membership(input, ctx, &mut db).await?;
    if m.status != model::INVITED {
        return Err(DetectiveError::conflict().into());
    }
    let g = model::graph_of_arn(&mut db, &m.graph_arn)
        .await?
        .ok_or_else(DetectiveError::not_found)?;
    let mut volumes = volume::prepared(ctx, &g)?;
    members::admit(&mut m, &mut volumes, ctx.now);
    entity::save_doc(&mut db, e, &m, ctx.now).await?;
    Ok(json!({}))
}

/// Removes the caller's membership (its record and invitation).
async fn leave(
    db: &mut Db<'_>,
    ctx: &CallContext,
    e: &Entity,
    m: &MemberDoc,
) -> Result<(), ServiceError> {
    db.entities()
        .delete(&e.account_id, model::MEMBER, &e.name_key)
        .await?;
    graphs::remove_invitation(db, &ctx.principal.account_id, &m.graph_arn).await
}

/// `RejectInvitation`: declines an open invitation; an accepted one is a `ConflictException`
/// (the member leaves with `DisassociateMembership`).
pub async fn reject(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, m) = own_membership(input, ctx, &mut db).await?;
    if m.status != model::INVITED {
        return Err(DetectiveError::conflict().into());
    }
    leave(&mut db, ctx, &e, &m).await?;
    Ok(json!({}))
}

/// `DisassociateMembership`: an enabled member leaves the graph; an open invitation is a
/// `ConflictException` (it is rejected instead).
pub async fn disassociate(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, m) = own_membership(input, ctx, &mut db).await?;
    if m.status == model::INVITED {
        return Err(DetectiveError::conflict().into());
    }
    leave(&mut db, ctx, &e, &m).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use rampart_kit::test_support;
    use serde_json::json;

    use crate::{
        test_util::{call, root},
        Op,
    };

    #[tokio::test]
    async fn members_are_invited_accept_and_leave() {
        let (store, dir) = test_support::store().await;
        let admin = root("111111111111");
        let member = root("222222222222");
        let arn = call(Op::CreateGraph, json!({}), &admin, &store)
            .await
            .unwrap()["GraphArn"]
            .clone();
        let accounts = json!([
            {"AccountId": "222222222222", "EmailAddress": "m@example.com"},
            {"AccountId": "111111111111", "EmailAddress": "a@example.com"},
        ]);
        let created = call(
            Op::CreateMembers,
            json!({"GraphArn": arn, "Accounts": accounts}),
            &admin,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(created["Members"][0]["Status"], "INVITED");
        assert_eq!(
            created["UnprocessedAccounts"][0]["AccountId"],
            "111111111111"
        );
        let again = json!({"GraphArn": arn, "Accounts": [{"AccountId": "222222222222", "EmailAddress": "m@example.com"}]});
        let twice = call(Op::CreateMembers, again, &admin, &store)
            .await
            .unwrap();
        assert_eq!(twice["Members"], json!([]));
        assert_eq!(twice["UnprocessedAccounts"][0]["AccountId"], "222222222222");

        let invited = call(Op::ListInvitations, json!({}), &member, &store)
            .await
            .unwrap();
        assert_eq!(invited["Invitations"][0]["GraphArn"], arn);
        assert_eq!(invited["Invitations"][0]["AdministratorId"], "111111111111");
        // Leaving before accepting is a conflict; accepting enables the member.
        let early = call(
            Op::DisassociateMembership,
            json!({"GraphArn": arn}),
            &member,
            &store,
        )
        .await
        .unwrap_err();
        assert_eq!(early.code, "ConflictException");
        call(
            Op::AcceptInvitation,
            json!({"GraphArn": arn}),
            &member,
            &store,
        )
        .await
        .unwrap();
        let twice = call(
            Op::AcceptInvitation,
            json!({"GraphArn": arn}),
            &member,
            &store,
        )
        .await
        .unwrap_err();
        assert_eq!(twice.code, "ConflictException");
        let got = call(
            Op::GetMembers,
            json!({"GraphArn": arn, "AccountIds": ["222222222222", "333333333333"]}),
            &admin,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(got["MemberDetails"][0]["Status"], "ENABLED");
        assert_eq!(got["UnprocessedAccounts"][0]["AccountId"], "333333333333");
        // A stranger has no invitation.
        let stranger = call(
            Op::AcceptInvitation,
            json!({"GraphArn": arn}),
            &root("333333333333"),
            &store,
        )
        .await
        .unwrap_err();
        assert_eq!(stranger.code, "ResourceNotFoundException");

        call(
            Op::DisassociateMembership,
            json!({"GraphArn": arn}),
            &member,
            &store,
        )
        .await
        .unwrap();
        let listed = call(Op::ListMembers, json!({"GraphArn": arn}), &admin, &store)
            .await
            .unwrap();
        assert_eq!(listed["MemberDetails"], json!([]));
        assert_eq!(
            call(Op::ListInvitations, json!({}), &member, &store)
                .await
                .unwrap()["Invitations"],
            json!([])
        );

        // Invited again, then rejected; then invited, and removed by the administrator.
        let invite = json!({"GraphArn": arn, "Accounts": [{"AccountId": "222222222222", "EmailAddress": "m@example.com"}]});
        call(Op::CreateMembers, invite.clone(), &admin, &store)
            .await
            .unwrap();
        call(
            Op::RejectInvitation,
            json!({"GraphArn": arn}),
            &member,
            &store,
        )
        .await
        .unwrap();
        call(Op::CreateMembers, invite, &admin, &store)
            .await
            .unwrap();
        let deleted = call(
            Op::DeleteMembers,
            json!({"GraphArn": arn, "AccountIds": ["222222222222"]}),
            &admin,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(deleted["AccountIds"], json!(["222222222222"]));
        assert_eq!(
            call(Op::ListInvitations, json!({}), &member, &store)
                .await
                .unwrap()["Invitations"],
            json!([])
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
