//! Flushes this node's request meter (in-memory counts) to the store.

use std::time::Duration;

use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The billing meter flush.
#[derive(Debug)]
pub struct MeterFlush;

impl Job for MeterFlush {
    fn name(&self) -> &'static str {
        "billing-meter-flush"
    }

    fn scope(&self) -> Scope {
        Scope::Node
    }

    fn period(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn step<'a>(&'a self, app: &'a App, _lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(app.meter.flush(&app.store, app.clock.now()))
    }
}
