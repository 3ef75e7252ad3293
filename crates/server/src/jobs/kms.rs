//! KMS's due work: destroys keys whose deletion window ended, rotates keys whose automatic
//! rotation is due and expires imported material, each change with its CloudTrail event. What
//! is due is indexed in the store and read on the request clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::kms::deletion;
use rampart_store::Lease;

use super::due::{DueJob, RoundFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "kms-due";

/// KMS deletion, rotation and material expiry, every minute.
pub const JOB: DueJob = DueJob::new(NAME, Duration::from_secs(60), "kms due work done", round);

fn round<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let r = deletion::run_due(&app.store, now, lease).await?;
        Ok(vec![
            ("destroyed", r.destroyed),
            ("rotated", r.rotated),
            ("expired", r.expired),
        ])
    })
}
