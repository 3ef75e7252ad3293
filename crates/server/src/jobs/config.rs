//! AWS Config's background work: the store's resource change log turned into configuration
//! items and rule evaluations, and the periodic rules that are due on the request clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::config::sync;
use rampart_store::Lease;

use super::due::{DueJob, RoundFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "config-recording";

/// Config's recording and evaluation, every second.
pub const JOB: DueJob = DueJob::new(NAME, Duration::from_secs(1), "config recorded", round);

fn round<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        sync::run(&app.store, now, lease).await?;
        Ok(Vec::new())
    })
}
