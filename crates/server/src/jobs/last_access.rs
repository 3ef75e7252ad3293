//! Writes this node's noted service last accesses (in memory) to the store.

use std::time::Duration;

use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it before the unused access analysis).
pub const NAME: &str = "iam-last-access-flush";

/// The service last-accessed flush.
#[derive(Debug)]
pub struct LastAccessFlush;

impl Job for LastAccessFlush {
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
        Box::pin(app.last_access.flush(&app.store))
    }
}
