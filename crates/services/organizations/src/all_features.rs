//! `EnableAllFeatures`: an organization created with consolidated billing only turns on all
//! features through handshakes, as AWS does.
//!
//! - The call makes the request's own handshake (`ENABLE_ALL_FEATURES`, the organization's
//!   alone, `REQUESTED`), which it answers, and one `ENABLE_ALL_FEATURES` handshake for each
//!   account that joined by invitation (part of the request: `PARENT_HANDSHAKE`). Accounts the
//!   organization created are not asked: their approval is inferred.
//! - When every invited account has accepted (at once when there is none), Organizations
//!   sends the management account an `APPROVE_ALL_FEATURES` handshake and the request turns
//!   `OPEN`. The management account finalizes by accepting either of them: the organization's
//!   feature set becomes `ALL`. Policy types stay as they were (`EnablePolicyType` turns them
//!   on).
//! - While a request is under way, invitations are refused
//!   (`INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES`) and so is a second request; canceling the
//!   request cancels its open handshakes.

use chrono::{DateTime, Utc};
use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{managed_org, Org, Res},
    handshakes::{self, Sent},
    model::{self, HandshakeDoc, MemberDoc},
    OrgError,
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, read_doc, save_doc},
};

/// The request to enable all features, and its handshakes to invited members.
pub const ENABLE: &str = "ENABLE_ALL_FEATURES";
/// Organizations' handshake to the management account once every member has approved.
pub const APPROVE: &str = "APPROVE_ALL_FEATURES";

/// True for a request's own handshake (the organization's; its parts name an account).
pub fn is_request(d: &HandshakeDoc) -> bool {
    d.action == ENABLE && d.parent.is_none()
}

/// Every handshake of `org`, as the request clock shows them.
async fn all(db: &mut Db<'_>, org: &Org, now: DateTime<Utc>) -> Res<Vec<(Entity, HandshakeDoc)>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(
                &org.management,
                model::HANDSHAKE,
                "/",
                after.as_deref(),
                1000,
            )
            .await?;
        for e in &page.items {
            let (e, d) = handshakes::load(db, &e.name_key, now).await?;
            if d.org_id == org.id {
                out.push((e, d));
            }
        }
        if !page.truncated {
            return Ok(out);
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
}

/// The organization's request to enable all features that is still under way.
pub async fn pending(
    db: &mut Db<'_>,
    org: &Org,
    now: DateTime<Utc>,
) -> Res<Option<(Entity, HandshakeDoc)>> {
    Ok(all(db, org, now)
        .await?
        .into_iter()
        .find(|(_, d)| is_request(d) && (d.state == "REQUESTED" || d.state == "OPEN")))
}

/// The accounts that joined `org` by invitation (not the management account).
async fn invited_members(db: &mut Db<'_>, org: &Org) -> Res<Vec<String>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(&org.management, model::MEMBER, "/", after.as_deref(), 1000)
            .await?;
        for e in &page.items {
            let m: MemberDoc = read_doc(e)?;
            if m.org_id == org.id && m.joined_method == "INVITED" && e.name_key != org.management {
                out.push(e.name_key.clone());
            }
        }
        if !page.truncated {
            return Ok(out);
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
}

fn sent<'a>(target: &'a str, action: &'a str, state: &'a str, parent: Option<String>) -> Sent<'a> {
    Sent {
        target,
        action,
        state,
        parent,
        notes: None,
    }
}

/// `EnableAllFeatures`.
pub async fn enable(_input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    if org.doc.feature_set == "ALL" {
        return Err(OrgError::HandshakeConstraintViolationException(
            "This organization has already enabled all features.".into(),
            "ORGANIZATION_ALREADY_HAS_ALL_FEATURES",
        )
        .into());
    }
    if pending(db, &org, ctx.now).await?.is_some() {
        return Err(OrgError::HandshakeConstraintViolationException(
            "This organization is already in the process of enabling all features.".into(),
            "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
        )
        .into());
    }
    let request = sent(&org.management, ENABLE, "REQUESTED", None);
    let (mut e, mut d) = handshakes::create(db, &org, request, ctx.now).await?;
    let members = invited_members(db, &org).await?;
    for member in &members {
        let part = sent(member, ENABLE, "OPEN", Some(e.id.clone()));
        handshakes::create(db, &org, part, ctx.now).await?;
    }
    if members.is_empty() {
        (e, d) = approved(db, &org, e, d, ctx.now).await?;
    }
    Ok(json!({ "Handshake": handshakes::handshake_json(&e, &d) }))
}

/// Every invited member approved the request: it turns `OPEN`, and the management account
/// gets the `APPROVE_ALL_FEATURES` handshake.
async fn approved(
    db: &mut Db<'_>,
    org: &Org,
    e: Entity,
    mut d: HandshakeDoc,
    now: DateTime<Utc>,
) -> Res<(Entity, HandshakeDoc)> {
    d.state = "OPEN".into();
    save_doc(db, e.clone(), &d, now).await?;
    let approval = sent(&org.management, APPROVE, "OPEN", Some(e.id.clone()));
    handshakes::create(db, org, approval, now).await?;
    Ok((e, d))
}

/// A transition of a handshake of a request to enable all features (the caller's right to
/// make it, and the state it leaves, are checked by `handshakes::transition`).
pub async fn transition(
    db: &mut Db<'_>,
    ctx: &CallContext,
    e: Entity,
    mut d: HandshakeDoc,
    to: &str,
) -> Res<(Entity, HandshakeDoc)> {
    let org = super::common::org_of(db, &d.management_account)
        .await?
        .filter(|o| o.id == d.org_id)
        .ok_or(OrgError::HandshakeNotFoundException)?;
    let request_id = d.parent.clone().unwrap_or_else(|| e.id.clone());
    match to {
        // The management account cancels the request rather than declining it.
        "DECLINED" if is_request(&d) => Err(OrgError::InvalidHandshakeTransitionException.into()),
        "ACCEPTED" if is_request(&d) || d.action == APPROVE => {
            finalize(db, ctx, org, &request_id).await?;
            handshakes::load(db, &e.id, ctx.now).await
        }
        "CANCELED" if is_request(&d) => {
            for (part, mut pd) in all(db, &org, ctx.now).await? {
                if pd.parent.as_deref() == Some(e.id.as_str()) && pd.state == "OPEN" {
                    pd.state = "CANCELED".into();
                    save_doc(db, part, &pd, ctx.now).await?;
                }
            }
            d.state = to.into();
            save_doc(db, e.clone(), &d, ctx.now).await?;
            Ok((e, d))
        }
        _ => {
            d.state = to.into();
            save_doc(db, e.clone(), &d, ctx.now).await?;
            if to == "ACCEPTED" {
                member_accepted(db, &org, &request_id, ctx.now).await?;
            }
            Ok((e, d))
        }
    }
}

/// A member accepted: when every invited member has, the request is approved.
async fn member_accepted(
    db: &mut Db<'_>,
    org: &Org,
    request_id: &str,
    now: DateTime<Utc>,
) -> Res<()> {
    let (request, rd) = handshakes::load(db, request_id, now).await?;
    if rd.state != "REQUESTED" {
        return Ok(());
    }
    let parts = all(db, org, now).await?;
    let waiting = parts.iter().any(|(_, p)| {
        p.parent.as_deref() == Some(request_id) && p.action == ENABLE && p.state != "ACCEPTED"
    });
    if !waiting {
        approved(db, org, request, rd, now).await?;
    }
    Ok(())
}

/// The management account's final acceptance: the organization has all features; the
/// request and its approval handshake are accepted.
async fn finalize(db: &mut Db<'_>, ctx: &CallContext, mut org: Org, request_id: &str) -> Res<()> {
    for (e, mut d) in all(db, &org, ctx.now).await? {
        let of_request = e.id == request_id || d.parent.as_deref() == Some(request_id);
        if of_request && (is_request(&d) || d.action == APPROVE) && d.state == "OPEN" {
            d.state = "ACCEPTED".into();
            save_doc(db, e, &d, ctx.now).await?;
        }
    }
    org.doc.feature_set = "ALL".into();
    save_doc(db, org.entity.clone(), &org.doc, ctx.now).await?;
    bump(db).await
}
