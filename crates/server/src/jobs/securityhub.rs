//! Security Hub's background work: every enabled control of every hub run on what AWS
//! Config records, its findings written or archived as the results change; and the findings
//! of the AWS integrations (GuardDuty, Config, IAM Access Analyzer) delivered to every hub.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::securityhub::{controls, imports};
use rampart_store::Lease;

use super::due::{DueJob, RoundFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "securityhub-controls";

/// Security Hub's control evaluation, every second.
pub const CONTROLS: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(1),
    "security hub controls run",
    run_controls,
);

fn run_controls<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        controls::run(&app.store, now, lease).await?;
        Ok(Vec::new())
    })
}

/// The import job's name (`POST /_rampart/clock` runs it at once).
pub const IMPORTS: &str = "securityhub-imports";

/// Delivery of the AWS integrations' findings (`rampart_securityhub::imports`), every second.
pub const IMPORT: DueJob = DueJob::new(
    IMPORTS,
    Duration::from_secs(1),
    "security hub findings imported",
    run_imports,
);

fn run_imports<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        imports::run(&app.store, now, lease).await?;
        Ok(Vec::new())
    })
}
