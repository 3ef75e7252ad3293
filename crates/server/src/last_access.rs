//! Service last-accessed recording on the request path: which IAM user or role used which
//! service, and when. Cheap per request (one in-memory map lookup); the store is written in
//! the background at most once a minute per entity and service, like access-key last use.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use rampart_services::{CallContext, PrincipalKind};
use rampart_store::Store;

/// How stale a recorded last access may get before a request refreshes it.
const GRANULARITY_SECS: i64 = 60;
/// Entries kept in memory before the map is cleared (bounds memory under churn).
const MAX_ENTRIES: usize = 100_000;

/// When this node last recorded each (entity, service).
#[derive(Debug, Default)]
pub struct LastAccess {
    recorded: Mutex<HashMap<(String, &'static str), DateTime<Utc>>>,
}

impl LastAccess {
    /// Notes an authorized request of `ctx`'s caller to `service` (its signing name).
    pub fn note(&self, store: &Store, ctx: &CallContext, service: &'static str) {
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
        let store = store.clone();
        let account = ctx.principal.account_id.clone();
        let region = ctx.region.clone();
        tokio::spawn(async move {
            let done = rampart_services::iam::last_accessed::record(
                &store, &account, &entity, service, &region, now,
            )
            .await;
            if let Err(err) = done {
                tracing::warn!(error = %err, entity = %entity, "service last access not recorded");
            }
        });
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
