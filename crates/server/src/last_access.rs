//! Service and action last-accessed recording on the request path: which IAM user or role
//! used which service and which actions, and when. Cheap per request (in-memory map lookups);
//! what is noted waits in memory for the node's flush job (`jobs::last_access`), which
//! writes each entity's batch in one transaction, and each entity and service or action is
//! written at most once a minute, like access-key last use.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use rampart_services::{
    iam::{
        last_accessed::{LastUse, Noted},
        last_use,
    },
    CallContext, PrincipalKind,
};
use rampart_store::Store;

/// How stale a recorded last access may get before a request refreshes it.
const GRANULARITY_SECS: i64 = 60;
/// Entries kept in memory before the map is cleared (bounds memory under churn).
const MAX_ENTRIES: usize = 100_000;

/// What waits to be written for one entity.
#[derive(Debug, Clone)]
struct Pending {
    account: String,
    /// The entity's unique id: the records are written only while it is still the entity
    /// of that ARN.
    id: String,
    noted: Noted,
    at: DateTime<Utc>,
}

/// When this node last recorded each (entity, service or `prefix:Action`), and what waits to
/// be written, by entity.
#[derive(Debug, Default)]
pub struct LastAccess {
    recorded: Mutex<HashMap<(String, String), DateTime<Utc>>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl LastAccess {
    /// Notes an authorized request of `ctx`'s caller to `service` (its signing name) that
    /// asked for `actions` (`prefix:Action`, as authorized).
    pub fn note<'a>(
        &self,
        ctx: &CallContext,
        service: &'static str,
        actions: impl IntoIterator<Item = &'a str>,
    ) {
        let Some((entity, id)) = entity_of(ctx) else {
            return;
        };
        let now = ctx.now;
        let mut fresh: Vec<String> = Vec::new();
        {
            let Ok(mut map) = self.recorded.lock() else {
                return;
            };
            for key in std::iter::once(service).chain(actions) {
                let key = (entity.clone(), key.to_string());
                if map
                    .get(&key)
                    .is_some_and(|at| (now - *at).num_seconds() < GRANULARITY_SECS)
                {
                    continue;
                }
                if map.len() >= MAX_ENTRIES {
                    map.clear();
                }
                fresh.push(key.1.clone());
                map.insert(key, now);
            }
        }
        if fresh.is_empty() {
            return;
        }
        let used = LastUse {
            at: now,
            region: ctx.region.clone(),
        };
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.len() >= MAX_ENTRIES && !pending.contains_key(&entity) {
            return;
        }
        let p = pending.entry(entity).or_insert_with(|| Pending {
            account: ctx.principal.account_id.clone(),
            id,
            noted: Noted::default(),
            at: now,
        });
        p.at = p.at.max(now);
        for key in fresh {
            let into = if key.contains(':') {
                &mut p.noted.actions
            } else {
                &mut p.noted.services
            };
            into.insert(key, used.clone());
        }
    }

    /// Writes every noted access to the store (one transaction per entity); the first error
    /// is returned after the others are tried.
    pub async fn flush(&self, store: &Store) -> anyhow::Result<()> {
        let taken = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        let mut first_err = None;
        for (entity, p) in taken {
            let done = last_use::record(store, &p.account, (&entity, &p.id), &p.noted, p.at).await;
            if let Err(err) = done {
                tracing::warn!(error = %err, entity = %entity, "last access not recorded");
                first_err.get_or_insert(err);
            }
        }
        match first_err {
            Some(err) => Err(anyhow::anyhow!("last access not recorded: {err}")),
            None => Ok(()),
        }
    }
}

/// The IAM entity a caller stands for, its ARN and unique id: the user (also behind its
/// `GetSessionToken` sessions) or the role of a role session; none for the root user and
/// federated users.
fn entity_of(ctx: &CallContext) -> Option<(String, String)> {
    let p = &ctx.principal;
    match p.kind {
        PrincipalKind::User => Some((p.arn.clone(), p.user_id.clone())),
        PrincipalKind::AssumedRole => {
            let session = &p.session.as_ref()?.context;
            Some((session.role_arn.clone()?, session.role_id.clone()?))
        }
        _ => None,
    }
}
