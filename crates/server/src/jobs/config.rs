//! AWS Config's background work: the store's resource change log turned into configuration
//! items and rule evaluations, and the periodic rules that are due on the request clock.
//!
//! The job runs every second and, woken by the store's change signal, as soon as a write
//! that appended to the change log is visible: a change is recorded and evaluated within its
//! own processing time, not at the next poll (BENCHMARKS.md, "Config").

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "config-recording";

/// Config's recording and evaluation.
#[derive(Debug, Default)]
pub struct ConfigRecording {
    /// When, on the request clock, the periodic duties (periodic rules that are due; trimming
    /// the log while nothing records) last ran: once a period, so the changes that wake the
    /// job do not each pay for them. On the request clock, so a dev clock move
    /// (`POST /_rampart/clock`, which runs the job) runs them at once.
    last_periodic: Mutex<Option<DateTime<Utc>>>,
}

impl ConfigRecording {
    /// True (and noted) when a period has passed on the request clock (`now`) since the
    /// periodic duties last ran, or the clock went back.
    fn periodic_due(&self, now: DateTime<Utc>) -> bool {
        let Ok(mut last) = self.last_periodic.lock() else {
            return true;
        };
        let period = chrono::Duration::from_std(self.period()).unwrap_or(chrono::Duration::MAX);
        if last.is_some_and(|t| t <= now && now - t < period) {
            return false;
        }
        *last = Some(now);
        true
    }
}

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

    fn wake(&self, app: &App) -> Option<Arc<tokio::sync::Notify>> {
        Some(app.store.change_signal())
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let now = app.clock.now();
            let periodic = self.periodic_due(now);
            rampart_services::config::sync::run(&app.store, now, lease, periodic)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
    }
}
