//! Writes this node's noted KMS key uses (in memory) to the store, and records when this
//! installation began tracking them (`GetKeyLastUsage`'s `TrackingStartDate`).

use std::time::Duration;

use rampart_services::kms::last_usage;
use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "kms-key-usage-flush";

/// The key last-usage flush.
#[derive(Debug)]
pub struct KeyUsageFlush;

impl Job for KeyUsageFlush {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Node
    }

    fn period(&self) -> Duration {
        Duration::from_millis(500)
    }

    fn step<'a>(&'a self, app: &'a App, _lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            last_usage::start_tracking(&app.store, app.clock.now())
                .await
                .map_err(|e| anyhow::anyhow!("key usage tracking not started: {}", e.message))?;
            app.key_usage.flush(&app.store).await
        })
    }
}
