//! Accounts of the organization: `CreateAccount` and `CreateGovCloudAccount` (asynchronous,
//! see [`super::provision`]), `DescribeCreateAccountStatus`, `ListCreateAccountStatus`, `DescribeAccount`, `ListAccounts`,
//! `ListAccountsForParent`, `MoveAccount`, `RemoveAccountFromOrganization`, `CloseAccount`.

use rampart_store::{Account, AccountStatus, Entity};
use serde_json::{json, Map, Value};

use super::{
    common::{find, key_after, managed_org, paged, readable_org, req, Org, OrgError, Res},
    model::{self, CreateStatusDoc, MemberDoc},
    tree::{self, Node},
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, read_doc, save_doc, to_text},
    input::{opt_str, str_list},
    page,
    timestamp::ts,
    Partition,
};

/// The `Account` structure.
pub fn account_json(org: &Org, a: &Account, m: &MemberDoc) -> Value {
    let state = match a.status {
        AccountStatus::Active => "ACTIVE",
        AccountStatus::Suspended => "SUSPENDED",
        AccountStatus::PendingClosure => "PENDING_CLOSURE",
    };
    json!({
        "Id": a.id,
        "Arn": model::account_arn(org.partition(), &org.management, &org.id, &a.id),
        "Email": a.email,
        "Name": a.name,
        "Status": a.status.as_str(),
        "State": state,
        "JoinedMethod": m.joined_method,
        "JoinedTimestamp": ts(m.joined_at),
    })
}

/// The `CreateAccountStatus` structure.
pub fn status_json(e: &Entity, d: &CreateStatusDoc) -> Value {
    let mut v = Map::new();
    v.insert("Id".into(), json!(e.name_key));
    v.insert("AccountName".into(), json!(d.account_name));
    v.insert("State".into(), json!(d.state));
    v.insert("RequestedTimestamp".into(), json!(ts(d.requested_at)));
    if let Some(t) = d.completed_at {
        v.insert("CompletedTimestamp".into(), json!(ts(t)));
    }
    if let Some(a) = &d.account_id {
        v.insert("AccountId".into(), json!(a));
    }
    if let Some(g) = &d.govcloud_account_id {
        v.insert("GovCloudAccountId".into(), json!(g));
    }
    if let Some(r) = &d.failure_reason {
        v.insert("FailureReason".into(), json!(r));
    }
    Value::Object(v)
}

/// A member account of the organization with its stored account.
pub async fn member(db: &mut Db<'_>, org: &Org, id: &str) -> Res<(Entity, MemberDoc, Account)> {
    if !rampart_store::is_valid_account_id(id) {
        return Err(OrgError::invalid(
            "INVALID_INPUT",
            "You specified an invalid value for AccountId.",
        )
        .into());
    }
    let e = find(db, org, model::MEMBER, id)
        .await?
        .ok_or(OrgError::AccountNotFoundException)?;
    let m: MemberDoc = read_doc(&e)?;
    let a = db
        .accounts()
        .get(id)
        .await?
        .ok_or(OrgError::AccountNotFoundException)?;
    Ok((e, m, a))
}

fn check_create_input(email: &str, name: &str, role: &str) -> Res<()> {
    let email_ok = email.len() >= 6
        && email.len() <= 64
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !email_ok {
        return Err(OrgError::invalid(
            "INVALID_EMAIL_ADDRESS_TARGET",
            "You specified an invalid email address.",
        )
        .into());
    }
    if name.is_empty() || name.chars().count() > 50 {
        return Err(OrgError::invalid(
            "INVALID_INPUT",
            "The account name must be 1 to 50 characters long.",
        )
        .into());
    }
    let role_ok = !role.is_empty()
        && role.len() <= 64
        && role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c));
    if !role_ok {
        return Err(OrgError::invalid(
            "INVALID_ROLE_NAME",
            "You provided a role name that isn't valid.",
        )
        .into());
    }
    Ok(())
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    request(input, ctx, db, false).await
}

/// `CreateGovCloudAccount`: a `CreateAccount` whose request also pairs a new account of the
/// `aws-us-gov` partition with the commercial one (see [`super::provision`]). AWS serves it
/// only in the commercial partition, to the management account of a commercial organization.
pub async fn create_govcloud(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    if ctx.partition() != Partition::Aws {
        return Err(OrgError::UnsupportedAPIEndpointException.into());
    }
    request(input, ctx, db, true).await
}

/// Records an account request for the provisioner and answers its `IN_PROGRESS` status.
async fn request(input: &Value, ctx: &CallContext, db: &mut Db<'_>, govcloud: bool) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let email = req(input, "Email")?;
    let name = req(input, "AccountName")?;
    let role = opt_str(input, "RoleName").unwrap_or(model::DEFAULT_ACCESS_ROLE);
    check_create_input(email, name, role)?;
    let id = model::new_create_status_id()?;
    let d = CreateStatusDoc {
        org_id: org.id.clone(),
        state: "IN_PROGRESS".into(),
        account_name: name.into(),
        email: email.into(),
        role_name: role.into(),
        tags: super::tags::from_input(input)?,
        requested_at: ctx.now,
        completed_at: None,
        account_id: None,
        failure_reason: None,
        govcloud,
        govcloud_account_id: None,
    };
    let e = Entity {
        account_id: org.management.clone(),
        kind: model::CREATE_STATUS.into(),
        name: id.clone(),
        name_key: id.clone(),
        id: id.clone(),
        path: "/".into(),
        arn: model::arn(
            org.partition(),
            &org.management,
            &format!("create-account-status/{}/{id}", org.id),
        ),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&d)?,
    };
    db.entities().create(&e).await?;
    // The provisioner finishes the request after this transaction commits.
    db.links()
        .add(&org.management, model::LINK_PENDING, &id, model::PENDING)
        .await?;
    Ok(json!({ "CreateAccountStatus": status_json(&e, &d) }))
}

pub async fn describe_status(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let id = req(input, "CreateAccountRequestId")?;
    let e = find(db, &org, model::CREATE_STATUS, id)
        .await?
        .ok_or(OrgError::CreateAccountStatusNotFoundException)?;
    let d: CreateStatusDoc = read_doc(&e)?;
    Ok(json!({ "CreateAccountStatus": status_json(&e, &d) }))
}

pub async fn list_status(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let states = str_list(input, "States");
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let got = db
            .entities()
            .list(
                &org.management,
                model::CREATE_STATUS,
                "/",
                after.as_deref(),
                1000,
            )
            .await?;
        for e in &got.items {
            let d: CreateStatusDoc = read_doc(e)?;
            if states.is_empty() || states.contains(&d.state) {
                items.push(status_json(e, &d));
            }
        }
        if !got.truncated {
            break;
        }
        after = got.items.last().map(|e| e.name_key.clone());
    }
    paged("CreateAccountStatuses", items, input)
}

pub async fn describe(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let (_, m, a) = member(db, &org, req(input, "AccountId")?).await?;
    Ok(json!({ "Account": account_json(&org, &a, &m) }))
}

/// `ListAccounts` pages with the store's keyset pagination, so a page costs the same in an
/// organization of ten accounts or of thousands.
/// The ids of the organization's active accounts (the management account too), for work done
/// on the organization's behalf (an organization trail's digests).
pub async fn active_ids(db: &mut Db<'_>, org: &Org) -> Res<Vec<String>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let got = db
            .entities()
            .list(&org.management, model::MEMBER, "/", after.as_deref(), 1000)
            .await?;
        let ids: Vec<&str> = got.items.iter().map(|e| e.name_key.as_str()).collect();
        let found = db.accounts().get_many(&ids).await?;
        out.extend(
            found
                .into_iter()
                .filter(|a| a.status == AccountStatus::Active)
                .map(|a| a.id),
        );
        match got.items.last() {
            Some(last) if got.truncated => after = Some(last.name_key.clone()),
            _ => return Ok(out),
        }
    }
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let max = match input.get("MaxResults").and_then(Value::as_i64) {
        None => 20,
        Some(n) if (1..=20).contains(&n) => n as u32,
        Some(_) => {
            return Err(
                OrgError::invalid("INVALID_INPUT", "MaxResults must be between 1 and 20.").into(),
            )
        }
    };
    let after = key_after(input)?;
    let got = db
        .entities()
        .list(&org.management, model::MEMBER, "/", after.as_deref(), max)
        .await?;
    let ids: Vec<&str> = got.items.iter().map(|e| e.name_key.as_str()).collect();
    let found = db.accounts().get_many(&ids).await?;
    let mut accounts = Vec::with_capacity(got.items.len());
    for e in &got.items {
        let m: MemberDoc = read_doc(e)?;
        if let Some(a) = found.iter().find(|a| a.id == e.name_key) {
            accounts.push(account_json(&org, a, &m));
        }
    }
    let mut out = Map::new();
    out.insert("Accounts".into(), Value::Array(accounts));
    if got.truncated {
        if let Some(last) = got.items.last() {
            out.insert("NextToken".into(), json!(page::encode(&last.name_key)));
        }
    }
    Ok(Value::Object(out))
}

pub async fn list_for_parent(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let parent = req(input, "ParentId")?;
    tree::parent(db, &org, parent, OrgError::ParentNotFoundException).await?;
    let mut items = Vec::new();
    for id in tree::children(db, &org, parent, Node::Account).await? {
        if let Ok((_, m, a)) = member(db, &org, &id).await {
            items.push(account_json(&org, &a, &m));
        }
    }
    paged("Accounts", items, input)
}

pub async fn move_account(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let account = req(input, "AccountId")?;
    let source = req(input, "SourceParentId")?;
    let dest = req(input, "DestinationParentId")?;
    let (e, mut m, _) = member(db, &org, account).await?;
    tree::parent(db, &org, source, OrgError::SourceParentNotFoundException).await?;
    tree::parent(db, &org, dest, OrgError::DestinationParentNotFoundException).await?;
    if m.parent_id != source {
        return Err(OrgError::SourceParentNotFoundException.into());
    }
    if source == dest {
        return Err(OrgError::DuplicateAccountException.into());
    }
    db.links()
        .remove(&org.management, model::LINK_CHILD, source, account)
        .await?;
    db.links()
        .add(&org.management, model::LINK_CHILD, dest, account)
        .await?;
    m.parent_id = dest.to_string();
    save_doc(db, e, &m, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn remove(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let account = req(input, "AccountId")?;
    member(db, &org, account).await?;
    if account == org.management {
        return Err(OrgError::MasterCannotLeaveOrganizationException.into());
    }
    tree::remove_member(db, &org, account).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn close(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let account = req(input, "AccountId")?;
    let (_, _, a) = member(db, &org, account).await?;
    if account == org.management {
        return Err(OrgError::constraint(
            "CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED",
            "The management account can't be closed with CloseAccount.",
        )
        .into());
    }
    if a.status != AccountStatus::Active {
        return Err(OrgError::AccountAlreadyClosedException.into());
    }
    // A closed account's principals stop working at once (the authorizer reads the status
    // with the organization's policies, at the bumped epoch).
    db.accounts()
        .set_status(account, AccountStatus::PendingClosure)
        .await?;
    bump(db).await?;
    Ok(json!({}))
}
