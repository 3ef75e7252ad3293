//! S3's lifecycle: expires what the buckets' lifecycle rules make due (see
//! `rampart_s3::lifecycle_run`), on the request clock so the dev clock moves it.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rampart_services::{
    s3::lifecycle_run::{self, Host},
    Authorizer, CallContext, Payload, Principal,
};
use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "s3-lifecycle";

/// The lifecycle job.
#[derive(Debug)]
pub struct S3Lifecycle;

impl Job for S3Lifecycle {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    /// S3 applies lifecycle rules once a day, at midnight UTC boundaries; a run every ten
    /// minutes acts soon after an object becomes due without rescanning buckets constantly.
    fn period(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let arc = app
                .me
                .upgrade()
                .ok_or_else(|| anyhow::anyhow!("the server is stopping"))?;
            let host = Owner {
                app,
                authorizer: Authorizer::new(arc),
            };
            let done = lifecycle_run::run_due(&app.store, app.clock.now(), lease, &host)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if done != lifecycle_run::Expired::default() {
                tracing::info!(
                    current = done.current,
                    removed = done.removed,
                    uploads = done.uploads,
                    "s3 lifecycle expirations done"
                );
            }
            Ok(())
        })
    }
}

/// Lifecycle work acts for the bucket's owner, inside S3: nothing it does is authorized
/// against a caller (S3 applies the owner's own configuration) and nothing is audited (AWS
/// records no CloudTrail event for lifecycle actions).
struct Owner<'a> {
    app: &'a App,
    authorizer: Authorizer,
}

impl Host for Owner<'_> {
    fn context(&self, account: &str, region: &str, now: DateTime<Utc>) -> CallContext {
        CallContext {
            request_id: uuid::Uuid::new_v4().to_string(),
            principal: Arc::new(Principal::root(account, "")),
            region: region.to_string(),
            source_ip: std::net::IpAddr::from([127, 0, 0, 1]),
            user_agent: "s3.amazonaws.com".into(),
            now,
            secure_transport: true,
            prepared: None,
            authorizer: self.authorizer.clone(),
            via_service: Some("s3".into()),
            side_calls: Default::default(),
            payload: Payload::with_blobs(self.app.blobs.clone()),
        }
    }
}
