//! `StartMonitoringMember`: the administrator asks again to enable a member that is
//! `ACCEPTED_BUT_DISABLED` because its data volume would take the graph over its limit
//! ([`crate::volume`]). The member becomes `ENABLED` when it fits now, and stays
//! `ACCEPTED_BUT_DISABLED` otherwise; a graph already over its limit takes no member
//! (`ServiceQuotaExceededException`).

use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    entity,
    error::ServiceError,
    input::opt_str,
};
use rampart_store::{Entity, Store};
use serde_json::{json, Value};

use crate::{
    error::DetectiveError,
    members,
    model::{self, Graph, MemberDoc},
    volume, Op,
};

/// The caller's graph `GraphArn` names and its member `AccountId`; `ResourceNotFoundException`
/// when either does not exist.
async fn named_member(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<(Graph, Entity, MemberDoc), ServiceError> {
    let g = model::own_graph(db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let account = opt_str(input, "AccountId").unwrap_or_default();
    let (e, m) = members::member(db, &g, account)
        .await?
        .ok_or_else(DetectiveError::not_found)?;
    Ok((g, e, m))
}

/// The preparation: for an `ACCEPTED_BUT_DISABLED` member, the data volumes of the graph and
/// of the member.
pub async fn prepare(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<Preparation>, ServiceError> {
    match named_member(input, ctx, &mut Db::Read(store)).await {
        Ok((g, _, m)) if m.status == model::ACCEPTED_BUT_DISABLED => {
            let measured = volume::measure(store, &g, &[m.account_id], ctx.now).await?;
            Ok(Some(Preparation::new(move || Ok(measured))))
        }
        _ => Ok(None),
    }
}

/// `StartMonitoringMember`.
pub async fn start(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (g, e, mut m) = named_member(input, ctx, &mut db).await?;
    if m.status != model::ACCEPTED_BUT_DISABLED {
        return Err(DetectiveError::conflict().into());
    }
    let mut volumes = volume::prepared(ctx, &g)?;
    if volumes.over() {
        return Err(DetectiveError::ServiceQuotaExceededException(
            "The behavior graph's data volume is over its limit; it cannot take more member accounts.".into(),
        )
        .into());
    }
    members::admit(&mut m, &mut volumes, ctx.now);
    if m.status == model::ENABLED {
        entity::save_doc(&mut db, e, &m, ctx.now).await?;
    }
    Ok(json!({}))
}
