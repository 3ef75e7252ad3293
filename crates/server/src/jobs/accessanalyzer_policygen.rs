//! IAM Access Analyzer's policy generation: runs the jobs `StartPolicyGeneration` recorded
//! `IN_PROGRESS` once their window has ended on the request clock, every second (AWS's
//! generations take minutes; Rampart's read at most 100,000 audit records).
//! `POST /_rampart/clock` runs it at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::accessanalyzer::generation_run;
use rampart_store::Lease;

use super::due::{DueJob, RoundFuture};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "access-analyzer-policy-generation";

/// The policy generation runs, every second.
pub const JOB: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(1),
    "policy generations done",
    round,
);

fn round<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let r = generation_run::run_due(&app.store, now, lease)
            .await
            .map_err(|e| anyhow::anyhow!("policy generation failed: {}", e.message))?;
        Ok(vec![
            ("succeeded", r.succeeded),
            ("failed", r.failed),
            ("canceled", r.canceled),
        ])
    })
}
