//! Handshakes: invitations of existing accounts (`InviteAccountToOrganization`) and the
//! requests to enable all features ([`super::all_features`]); `AcceptHandshake`,
//! `DeclineHandshake`, `CancelHandshake`, `DescribeHandshake`, `ListHandshakesForAccount`,
//! `ListHandshakesForOrganization`.

use chrono::{DateTime, Duration, Utc};
use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    all_features,
    common::{caller_org, managed_org, membership, org_of, paged, req, Org, Res},
    model::{self, HandshakeDoc, MemberDoc},
    policies, tree, OrgError,
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, read_doc, save_doc, to_text},
    error::ServiceError,
    timestamp::ts,
};

/// How long an invitation stays open.
const OPEN_DAYS: i64 = 15;

/// The `Handshake` structure. An enable-all-features request's own handshake is the
/// organization's alone; the others name the account they are sent to.
pub(crate) fn handshake_json(e: &Entity, d: &HandshakeDoc) -> Value {
    let mut parties = vec![json!({"Id": d.org_id, "Type": "ORGANIZATION"})];
    let mut resources = vec![json!({"Type": "ORGANIZATION", "Value": d.org_id})];
    if !all_features::is_request(d) {
        parties.push(json!({"Id": d.target_account, "Type": "ACCOUNT"}));
        resources.push(json!({"Type": "ACCOUNT", "Value": d.target_account}));
    }
    if let Some(p) = &d.parent {
        resources.push(json!({"Type": "PARENT_HANDSHAKE", "Value": p}));
    }
    if let Some(n) = &d.notes {
        resources.push(json!({"Type": "NOTES", "Value": n}));
    }
    json!({
        "Id": e.name_key,
        "Arn": e.arn,
        "Parties": parties,
        "State": d.state,
        "RequestedTimestamp": ts(d.requested_at),
        "ExpirationTimestamp": ts(d.expires_at),
        "Action": d.action,
        "Resources": resources,
    })
}

/// A handshake to send: to whom, what it asks, the state it starts in, the request it is part
/// of and the invitation's notes.
pub(crate) struct Sent<'a> {
    /// The account it is sent to.
    pub target: &'a str,
    /// `INVITE`, `ENABLE_ALL_FEATURES` or `APPROVE_ALL_FEATURES`.
    pub action: &'a str,
    /// `OPEN`, or `REQUESTED` for a request waiting on others.
    pub state: &'a str,
    /// The request it is part of.
    pub parent: Option<String>,
    /// An invitation's notes.
    pub notes: Option<String>,
}

/// Stores a new handshake of `org` (listed among the target's handshakes).
pub(crate) async fn create(
    db: &mut Db<'_>,
    org: &Org,
    sent: Sent<'_>,
    now: DateTime<Utc>,
) -> Res<(Entity, HandshakeDoc)> {
    let Sent {
        target,
        action,
        state,
        parent,
        notes,
    } = sent;
    let hid = model::new_handshake_id()?;
    let d = HandshakeDoc {
        org_id: org.id.clone(),
        management_account: org.management.clone(),
        target_account: target.to_string(),
        action: action.into(),
        state: state.into(),
        parent,
        notes,
        requested_at: now,
        expires_at: now + Duration::days(OPEN_DAYS),
    };
    let e = Entity {
        account_id: org.management.clone(),
        kind: model::HANDSHAKE.into(),
        name: hid.clone(),
        name_key: hid.clone(),
        id: hid.clone(),
        path: "/".into(),
        arn: model::handshake_arn(org.partition(), &org.management, &org.id, action, &hid),
        created_at: now,
        updated_at: now,
        doc: to_text(&d)?,
    };
    db.entities().create(&e).await?;
    db.links()
        .add(target, model::LINK_HANDSHAKE, target, &hid)
        .await?;
    Ok((e, d))
}

pub async fn invite(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    if all_features::pending(db, &org, ctx.now).await?.is_some() {
        return Err(OrgError::HandshakeConstraintViolationException(
            "You can't invite accounts while the organization is enabling all features.".into(),
            "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
        )
        .into());
    }
    let target = input.get("Target").cloned().unwrap_or(Value::Null);
    let id = req(&target, "Id")?;
    let account = match req(&target, "Type")? {
        "ACCOUNT" => db.accounts().get(id).await?,
        "EMAIL" => db.accounts().get_by_email(id).await?,
        _ => {
            return Err(OrgError::invalid(
                "INVALID_PARTY_TYPE_TARGET",
                "You specified the wrong type for the invited party.",
            )
            .into())
        }
    }
    .ok_or_else(|| -> ServiceError {
        OrgError::invalid(
            "INVALID_PARTY_TYPE_TARGET",
            "The invited account does not exist.",
        )
        .into()
    })?;
    if membership(db, &account.id).await?.is_some() {
        return Err(OrgError::HandshakeConstraintViolationException(
            "The account is already a member of an organization.".into(),
            "ALREADY_IN_AN_ORGANIZATION",
        )
        .into());
    }
    for h in db
        .links()
        .targets(&account.id, model::LINK_HANDSHAKE, &account.id)
        .await?
    {
        if let Some(e) = db.entities().get_by_id(&h).await? {
            let d: HandshakeDoc = read_doc(&e)?;
            if d.action == "INVITE" && d.state == "OPEN" && d.org_id == org.id {
                return Err(OrgError::DuplicateHandshakeException.into());
            }
        }
    }
    let notes = input
        .get("Notes")
        .and_then(Value::as_str)
        .map(str::to_string);
    let sent = Sent {
        target: &account.id,
        action: "INVITE",
        state: "OPEN",
        parent: None,
        notes,
    };
    let (e, d) = create(db, &org, sent, ctx.now).await?;
    Ok(json!({ "Handshake": handshake_json(&e, &d) }))
}

/// The handshake `id`, shown as `EXPIRED` once its window has passed on the request clock.
pub(crate) async fn load(
    db: &mut Db<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Res<(Entity, HandshakeDoc)> {
    let e = db
        .entities()
        .get_by_id(id)
        .await?
        .filter(|e| e.kind == model::HANDSHAKE)
        .ok_or(OrgError::HandshakeNotFoundException)?;
    let mut d: HandshakeDoc = read_doc(&e)?;
    if (d.state == "OPEN" || d.state == "REQUESTED") && d.expires_at < now {
        d.state = "EXPIRED".into();
    }
    Ok((e, d))
}

fn party(ctx: &CallContext, d: &HandshakeDoc) -> bool {
    let me = &ctx.principal.account_id;
    *me == d.target_account || *me == d.management_account
}

pub async fn transition(input: &Value, ctx: &CallContext, db: &mut Db<'_>, to: &str) -> Res<Value> {
    let (e, mut d) = load(db, req(input, "HandshakeId")?, ctx.now).await?;
    let me = &ctx.principal.account_id;
    // Only the invited account accepts or declines; only the sender cancels.
    let allowed = if to == "CANCELED" {
        *me == d.management_account
    } else {
        *me == d.target_account
    };
    if !allowed {
        return Err(if party(ctx, &d) {
            OrgError::InvalidHandshakeTransitionException.into()
        } else {
            OrgError::HandshakeNotFoundException.into()
        });
    }
    if d.state == to {
        return Err(OrgError::HandshakeAlreadyInStateException.into());
    }
    if d.state != "OPEN" && !(to == "CANCELED" && d.state == "REQUESTED") {
        return Err(OrgError::InvalidHandshakeTransitionException.into());
    }
    if d.action != "INVITE" {
        let (e, d) = all_features::transition(db, ctx, e, d, to).await?;
        return Ok(json!({ "Handshake": handshake_json(&e, &d) }));
    }
    if to == "ACCEPTED" {
        if membership(db, me).await?.is_some() {
            return Err(OrgError::HandshakeConstraintViolationException(
                "The account is already a member of an organization.".into(),
                "ALREADY_IN_AN_ORGANIZATION",
            )
            .into());
        }
        let org = org_of(db, &d.management_account)
            .await?
            .filter(|o| o.id == d.org_id)
            .ok_or(OrgError::HandshakeNotFoundException)?;
        let member = MemberDoc {
            org_id: org.id.clone(),
            parent_id: org.doc.root_id.clone(),
            joined_method: "INVITED".into(),
            joined_at: ctx.now,
            tags: Vec::new(),
            delegations: Default::default(),
            govcloud_account_id: None,
        };
        tree::add_member(db, &org, me, &member, ctx.now).await?;
        policies::attach_defaults(db, &org, me).await?;
        bump(db).await?;
    }
    d.state = to.into();
    save_doc(db, e.clone(), &d, ctx.now).await?;
    Ok(json!({ "Handshake": handshake_json(&e, &d) }))
}

pub async fn describe(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, d) = load(db, req(input, "HandshakeId")?, ctx.now).await?;
    if !party(ctx, &d) {
        return Err(OrgError::HandshakeNotFoundException.into());
    }
    Ok(json!({ "Handshake": handshake_json(&e, &d) }))
}

/// Whether a handshake passes the request's `Filter` (its `ActionType`, or the handshake it
/// is part of).
fn passes(input: &Value, d: &HandshakeDoc) -> bool {
    let filter = input.get("Filter");
    let field = |name: &str| filter.and_then(|f| f.get(name)).and_then(Value::as_str);
    field("ActionType").is_none_or(|a| a == d.action)
        && field("ParentHandshakeId").is_none_or(|p| Some(p) == d.parent.as_deref())
}

pub async fn list_for_account(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let me = &ctx.principal.account_id;
    let mut items = Vec::new();
    for h in db.links().targets(me, model::LINK_HANDSHAKE, me).await? {
        if let Ok((e, d)) = load(db, &h, ctx.now).await {
            if passes(input, &d) {
                items.push(handshake_json(&e, &d));
            }
        }
    }
    paged("Handshakes", items, input)
}

pub async fn list_for_org(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = caller_org(db, ctx).await?;
    if !org.is_management(ctx) {
        return Err(super::common::not_management());
    }
    let page = db
        .entities()
        .list(&org.management, model::HANDSHAKE, "/", None, 1000)
        .await?;
    let mut items = Vec::new();
    for e in &page.items {
        let (e, d) = load(db, &e.name_key, ctx.now).await?;
        if passes(input, &d) {
            items.push(handshake_json(&e, &d));
        }
    }
    paged("Handshakes", items, input)
}
