//! IAM Access Analyzer's policy generation: runs the jobs `StartPolicyGeneration` recorded
//! `IN_PROGRESS` once their window has ended on the request clock, every second (AWS's
//! generations take minutes; Rampart's read at most 100,000 audit records).
//! `POST /_rampart/clock` runs it at once.

use std::time::Duration;

use rampart_services::accessanalyzer::generation_run;
use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "access-analyzer-policy-generation";

/// The policy generation runs.
#[derive(Debug)]
pub struct PolicyGeneration;

impl Job for PolicyGeneration {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let r = generation_run::run_due(&app.store, app.clock.now(), lease)
                .await
                .map_err(|e| anyhow::anyhow!("policy generation failed: {}", e.message))?;
            if r != Default::default() {
                tracing::info!(
                    succeeded = r.succeeded,
                    failed = r.failed,
                    canceled = r.canceled,
                    "policy generations done"
                );
            }
            Ok(())
        })
    }
}
