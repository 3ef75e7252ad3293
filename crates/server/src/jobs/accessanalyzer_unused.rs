//! IAM Access Analyzer's unused access analysis: every unused access analyzer of every
//! account analysed again on the request clock, so findings age with the dev clock and
//! resolve once the access is used again. AWS analyses unused access daily; Rampart runs the
//! analysis every minute (it reads only IAM entities and their last-use records), and
//! `POST /_rampart/clock` runs it at once after flushing the service last-accessed data.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::{accessanalyzer::unused_scan, Db};
use rampart_store::Lease;

use super::due::{DueJob, RoundFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "access-analyzer-unused";

/// The unused access analysis, every minute.
pub const JOB: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(60),
    "unused access analysed",
    round,
);

fn round<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let mut tx = app.store.begin_fenced(lease).await?;
        unused_scan::run_all(&mut Db::Write(&mut tx), now)
            .await
            .map_err(|e| anyhow::anyhow!("unused access analysis failed: {}", e.message))?;
        tx.commit().await?;
        Ok(Vec::new())
    })
}
