//! A behavior graph's data volume, which decides whether a member may contribute to it.
//!
//! What a graph ingests in Rampart is its accounts' audit trail: an account's daily volume
//! is the size of its audit records (`event_json`, the CloudTrail event) of the day before
//! now. A graph's volume is the sum over the accounts that contribute to it (its
//! administrator and its `ENABLED` members). AWS caps a graph at 10 TB a day: a member whose
//! volume would take the graph over its limit is `ACCEPTED_BUT_DISABLED` with
//! `DisabledReason` `VOLUME_TOO_HIGH`, and `StartMonitoringMember` enables it once it fits;
//! a graph already over its limit takes no more members (`ServiceQuotaExceededException`).
//! The operator may lower the limit (`--detective-graph-volume-limit`, stored under
//! [`LIMIT_SETTING`]).
//!
//! Volumes are read from the audit trail outside the call's write transaction (the routes'
//! `prepare`, and the auto-enable job before its transaction), each account's reading
//! stopping once it passes the limit.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    error::ServiceError,
};
use rampart_store::{LookupQuery, Store, MAX_PAGE};

use crate::{
    error::DetectiveError,
    members,
    model::{self, Graph},
};

/// AWS's limit on a graph's data volume: 10 TB a day.
pub const AWS_LIMIT: u64 = 10_000_000_000_000;

/// The setting holding the operator's graph volume limit in bytes a day, if any.
pub const LIMIT_SETTING: &str = "detective:graph-volume-limit";

/// `DisabledReason` of a member whose volume would take the graph over its limit.
pub const TOO_HIGH: &str = "VOLUME_TOO_HIGH";

/// The graph volume limit in bytes a day: the operator's, else AWS's.
pub async fn limit(db: &mut Db<'_>) -> Result<u64, ServiceError> {
    let set = db.settings().get(LIMIT_SETTING).await?;
    Ok(set.and_then(|v| v.parse().ok()).unwrap_or(AWS_LIMIT))
}

/// The size of `account`'s audit records in the day before `now`, read until it passes
/// `cap` (the answer is then more than `cap`, not the whole volume).
pub async fn of_account(
    store: &Store,
    account: &str,
    now: DateTime<Utc>,
    cap: u64,
) -> Result<u64, ServiceError> {
    let mut query = LookupQuery {
        account_id: Some(account.to_string()),
        start_time: Some(now - Duration::days(1)),
        end_time: Some(now),
        max_results: MAX_PAGE,
        ..Default::default()
    };
    let mut total = 0u64;
    loop {
        let page = store.lookup_events(&query).await?;
        for e in &page.events {
            let size = u64::try_from(e.record.event_json.len()).unwrap_or(u64::MAX);
            total = total.saturating_add(size);
        }
        if total > cap || page.next_token.is_none() {
            return Ok(total);
        }
        query.next_token = page.next_token;
    }
}

/// A graph's volumes as measured before a call's transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The graph measured.
    pub graph_arn: String,
    /// The limit in bytes a day.
    pub limit: u64,
    /// The graph's volume: its administrator's and its enabled members'.
    pub graph: u64,
    /// The volumes of the accounts that may be enabled.
    pub candidates: BTreeMap<String, u64>,
}

impl Measured {
    /// Whether the graph is over its limit already.
    pub fn over(&self) -> bool {
        self.graph > self.limit
    }

    /// Whether `account` fits: its volume with the graph's stays within the limit. When it
    /// does, the graph's volume counts it from now on (for the next account enabled in the
    /// same call). An account that was not measured does not fit.
    pub fn admit(&mut self, account: &str) -> bool {
        let Some(v) = self.candidates.get(account) else {
            return false;
        };
        let total = self.graph.saturating_add(*v);
        if total > self.limit {
            return false;
        }
        self.graph = total;
        true
    }
}

/// Measures graph `g` and the `candidates` that may be enabled in it, at `now`.
pub async fn measure(
    store: &Store,
    g: &Graph,
    candidates: &[String],
    now: DateTime<Utc>,
) -> Result<Measured, ServiceError> {
    let limit = limit(&mut Db::Read(store)).await?;
    let cap = limit.saturating_add(1);
    let mut graph = of_account(store, g.account(), now, cap).await?;
    for m in members::all(&mut Db::Read(store), g).await? {
        if graph > limit {
            break;
        }
        if m.status == model::ENABLED && !candidates.contains(&m.account_id) {
            graph = graph.saturating_add(of_account(store, &m.account_id, now, cap).await?);
        }
    }
    let mut measured = BTreeMap::new();
    for account in candidates {
        measured.insert(account.clone(), of_account(store, account, now, cap).await?);
    }
    Ok(Measured {
        graph_arn: g.arn().to_string(),
        limit,
        graph,
        candidates: measured,
    })
}

/// The volumes measured for graph `g` before this call, handed over by the route's
/// preparation; `InternalServerException` when there are none (the pipeline always
/// prepares these calls).
pub fn prepared(ctx: &CallContext, g: &Graph) -> Result<Measured, ServiceError> {
    ctx.prepared
        .as_deref()
        .and_then(|p| p.get::<Measured>())
        .filter(|m| m.graph_arn == g.arn())
        .cloned()
        .ok_or_else(|| {
            DetectiveError::InternalServerException(
                "The behavior graph's data volume was not measured.".into(),
            )
            .into()
        })
}

/// The preparation of a call that may enable `candidates` in the graph `arn` names: their
/// volumes and the graph's. Nothing when the ARN names no graph (the handler answers).
pub async fn prepare_for(
    store: &Store,
    arn: &str,
    candidates: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Option<Preparation>, ServiceError> {
    let Some(g) = model::graph_of_arn(&mut Db::Read(store), arn).await? else {
        return Ok(None);
    };
    let m = measure(store, &g, &candidates, now).await?;
    Ok(Some(Preparation::new(move || Ok(m))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(graph: u64, candidates: &[(&str, u64)]) -> Measured {
        Measured {
            graph_arn: "g".into(),
            limit: 100,
            graph,
            candidates: candidates
                .iter()
                .map(|(a, v)| (a.to_string(), *v))
                .collect(),
        }
    }

    #[test]
    fn accounts_are_admitted_while_the_graph_stays_within_its_limit() {
        let mut m = measured(40, &[("a", 50), ("b", 20), ("c", 5)]);
        assert!(m.admit("a"));
        assert_eq!(m.graph, 90);
        assert!(!m.admit("b"));
        assert!(m.admit("c"));
        assert!(!m.admit("unmeasured"));
        assert!(!m.over());
        assert!(measured(101, &[]).over());
        assert!(measured(100, &[("a", 0)]).admit("a"));
    }
}
