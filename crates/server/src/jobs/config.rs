//! AWS Config's background work: the store's resource change log turned into configuration
//! items and rule evaluations, and the periodic rules that are due on the request clock.

use std::time::Duration;

use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "config-recording";

/// Config's recording and evaluation.
#[derive(Debug)]
pub struct ConfigRecording;

impl Job for ConfigRecording {
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
            rampart_services::config::sync::run(&app.store, app.clock.now(), lease)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
    }
}
