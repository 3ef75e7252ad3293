//! S3's lifecycle: expires what the buckets' lifecycle rules make due (see
//! `rampart_s3::lifecycle_run`), on the request clock so the dev clock moves it.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rampart_services::{
    s3::lifecycle_run::{self, Host},
    Authorizer, CallContext, Payload, Principal,
};
use rampart_store::Lease;

use super::due::{self, DueJob, RoundFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "s3-lifecycle";

/// The lifecycle job, every ten minutes: S3 applies lifecycle rules once a day, at midnight
/// UTC boundaries; a run every ten minutes acts soon after an object becomes due without
/// rescanning buckets constantly.
pub const LIFECYCLE: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(600),
    "s3 lifecycle expirations done",
    lifecycle,
);

fn lifecycle<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let host = Owner {
            app,
            authorizer: due::authorizer(app)?,
        };
        let done = lifecycle_run::run_due(&app.store, now, lease, &host).await?;
        Ok(vec![
            ("current", done.current),
            ("removed", done.removed),
            ("uploads", done.uploads),
        ])
    })
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
            principal: Arc::new(Principal::root(self.app.config.partition(), account, "")),
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

/// The blob sweep's name.
pub const SWEEP: &str = "s3-blob-sweep";

/// How long a blob may go unreferenced before the sweep takes it: longer than any upload's
/// time between its blob's rename and its object's commit.
const SWEEP_GRACE: Duration = Duration::from_secs(3600);

/// Removes blobs no object, version or upload part references (left by a crash between a
/// blob's rename and its commit, or before a replaced object's blobs were removed). Runs at
/// start and every six hours; the blob directory is shared by all nodes, so one node sweeps.
pub const BLOB_SWEEP: DueJob = DueJob::new(
    SWEEP,
    Duration::from_secs(6 * 3600),
    "unreferenced s3 blobs removed",
    sweep,
);

fn sweep<'a>(app: &'a App, _now: DateTime<Utc>, _lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        // The cutoff is taken before the references are read: a blob written after it is
        // never considered, whatever commits meanwhile.
        let cutoff = std::time::SystemTime::now() - SWEEP_GRACE;
        let refs = rampart_services::s3::blob_refs::collect(&app.store).await?;
        let blobs = app.blobs.clone();
        let removed = tokio::task::spawn_blocking(move || {
            blobs.sweep_unreferenced(|id| refs.contains(id), cutoff)
        })
        .await??;
        Ok(vec![(
            "removed",
            usize::try_from(removed).unwrap_or(usize::MAX),
        )])
    })
}
