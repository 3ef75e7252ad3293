//! The shape most cluster jobs share: every period, one round of a service's due work on the
//! request clock under the job's lease, and one log line of what the round did when it did
//! anything. A job of this shape is a [`DueJob`] built from its name, period and round.

use std::{future::Future, pin::Pin, time::Duration};

use chrono::{DateTime, Utc};
use rampart_services::Authorizer;
use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// What a round did, as counts by name (`("destroyed", 2)`); logged when any is above zero.
pub type Counts = Vec<(&'static str, usize)>;

/// A round's future.
pub type RoundFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Counts>> + Send + 'a>>;

/// One round: the server, the request clock's time, and the lease to pass to every
/// transaction the round commits.
pub type Round = for<'a> fn(&'a App, DateTime<Utc>, Option<&'a Lease>) -> RoundFuture<'a>;

/// A cluster job that runs its round every period.
pub struct DueJob {
    name: &'static str,
    period: Duration,
    /// The log line of a round that did something.
    done: &'static str,
    round: Round,
}

impl DueJob {
    /// The job `name`, running `round` every `period` and logging `done` with its counts.
    pub const fn new(
        name: &'static str,
        period: Duration,
        done: &'static str,
        round: Round,
    ) -> DueJob {
        DueJob {
            name,
            period,
            done,
            round,
        }
    }
}

impl Job for DueJob {
    fn name(&self) -> &'static str {
        self.name
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    fn period(&self) -> Duration {
        self.period
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let counts = (self.round)(app, app.clock.now(), lease).await?;
            if let Some(counts) = shown(&counts) {
                tracing::info!(job = self.name, %counts, "{}", self.done);
            }
            Ok(())
        })
    }
}

/// `counts` as a log field (`destroyed=2 rotated=0`); none when every count is zero.
fn shown(counts: &Counts) -> Option<String> {
    counts.iter().any(|(_, n)| *n > 0).then(|| {
        counts
            .iter()
            .map(|(name, n)| format!("{name}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// The authorizer for the calls a job makes through the one request path; an error once the
/// server is stopping.
pub fn authorizer(app: &App) -> anyhow::Result<Authorizer> {
    let app = app
        .me
        .upgrade()
        .ok_or_else(|| anyhow::anyhow!("the server is stopping"))?;
    Ok(Authorizer::new(app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_only_when_something_was_done() {
        assert_eq!(shown(&vec![("destroyed", 0), ("rotated", 0)]), None);
        assert_eq!(
            shown(&vec![("destroyed", 2), ("rotated", 0)]).as_deref(),
            Some("destroyed=2 rotated=0")
        );
        assert_eq!(shown(&Vec::new()), None);
    }
}
