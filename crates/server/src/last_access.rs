//! Service last-accessed recording on the request path: which IAM user or role used which
//! service, and when. Cheap per request (one in-memory map lookup); what is noted waits in
//! memory for the node's flush job (`jobs::last_access`), and each entity and service is
//! written at most once a minute, like access-key last use.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use rampart_services::{CallContext, PrincipalKind};
use rampart_store::Store;

/// How stale a recorded last access may get before a request refreshes it.
const GRANULARITY_SECS: i64 = 60;
/// Entries kept in memory before the map is cleared (bounds memory under churn).
const MAX_ENTRIES: usize = 100_000;

/// One noted access, waiting for the flush.
#[derive(Debug, Clone)]
struct Noted {
    account: String,
    region: String,
    at: DateTime<Utc>,
}

/// When this node last recorded each (entity, service), and what waits to be written.
#[derive(Debug, Default)]
pub struct LastAccess {
    recorded: Mutex<HashMap<(String, &'static str), DateTime<Utc>>>,
    pending: Mutex<HashMap<(String, &'static str), Noted>>,
}

impl LastAccess {
    /// Notes an authorized request of `ctx`'s caller to `service` (its signing name).
    pub fn note(&self, ctx: &CallContext, service: &'static str) {
        let Some(entity) = entity_arn(ctx) else {
            return;
        };
        let now = ctx.now;
        {
            let Ok(mut map) = self.recorded.lock() else {
                return;
            };
            let key = (entity.clone(), service);
            if map
                .get(&key)
                .is_some_and(|at| (now - *at).num_seconds() < GRANULARITY_SECS)
            {
                return;
            }
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, now);
        }
        let noted = Noted {
            account: ctx.principal.account_id.clone(),
            region: ctx.region.clone(),
            at: now,
        };
        if let Ok(mut pending) = self.pending.lock() {
            if pending.len() < MAX_ENTRIES {
                pending.insert((entity, service), noted);
            }
        }
    }

    /// Writes every noted access to the store (one transaction each); the first error is
    /// returned after the others are tried.
    pub async fn flush(&self, store: &Store) -> anyhow::Result<()> {
        let taken = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        let mut first_err = None;
        for ((entity, service), n) in taken {
            let done = rampart_services::iam::last_accessed::record(
                store, &n.account, &entity, service, &n.region, n.at,
            )
            .await;
            if let Err(err) = done {
                tracing::warn!(error = %err, entity = %entity, "service last access not recorded");
                first_err.get_or_insert(err);
            }
        }
        match first_err {
            Some(err) => Err(anyhow::anyhow!("service last access not recorded: {err}")),
            None => Ok(()),
        }
    }
}

/// The IAM entity a caller stands for: the user (also behind its `GetSessionToken` sessions)
/// or the role of a role session; none for the root user and federated users.
fn entity_arn(ctx: &CallContext) -> Option<String> {
    let p = &ctx.principal;
    match p.kind {
        PrincipalKind::User => Some(p.arn.clone()),
        PrincipalKind::AssumedRole => p.session.as_ref()?.context.role_arn.clone(),
        _ => None,
    }
}
