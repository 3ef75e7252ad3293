//! Drains the delivery outbox: each due delivery goes to the [`Delivery`] registered for its
//! target, at least once. A failed attempt is retried with exponential backoff on the request
//! clock; after [`MAX_ATTEMPTS`] the delivery is dead (kept for the operator to see).
//!
//! A producer enqueues in its own transaction (`Tx::outbox().enqueue`), so a delivery exists
//! exactly when the change that caused it committed. A delivery is removed only after its
//! target accepted it; a crash in between delivers it again, so targets must tolerate
//! duplicates (the item id is stable, for deduplication).
//!
//! A delivery may bring its own retry policy (EventBridge targets' `RetryPolicy`) by
//! answering [`Outcome::Failed`] with its own next time, and may postpone an item without an
//! attempt ([`Outcome::Postponed`], a rate limit).

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use futures_util::StreamExt;
use rampart_store::{Lease, OutboxItem};

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "outbox-delivery";
/// Attempts before a delivery is dead.
pub const MAX_ATTEMPTS: i32 = 8;
/// Deliveries taken per round.
const BATCH: i64 = 100;
/// Batches per round at most.
const BATCHES_PER_ROUND: usize = 10;
/// Deliveries attempted at once.
const CONCURRENCY: usize = 16;
/// The first retry's delay; each further one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: chrono::Duration = chrono::Duration::seconds(1);
const MAX_BACKOFF: chrono::Duration = chrono::Duration::minutes(10);

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The target accepted it: the item is removed.
    Delivered,
    /// The attempt failed: the item is due again at `retry_at`, or dead when it is `None`.
    Failed {
        /// Why.
        error: String,
        /// When to try again.
        retry_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Not attempted (a rate limit): due again then, its attempts unchanged.
    Postponed(chrono::DateTime<chrono::Utc>),
}

impl Outcome {
    /// A failure retried on the outbox's own schedule ([`retry_at`]).
    pub fn retry(error: String, item: &OutboxItem, now: chrono::DateTime<chrono::Utc>) -> Outcome {
        Outcome::Failed {
            error,
            retry_at: retry_at(item.attempts, now),
        }
    }
}

/// A delivery's future.
pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// Where deliveries of one target kind go (an HTTP endpoint, a queue, a bucket...).
pub trait Delivery: Send + Sync + 'static {
    /// The target kind this delivers (`OutboxItem::target`).
    fn target(&self) -> &'static str;
    /// Delivers one item at `now` (the request clock). It may be called again for the same
    /// item after a crash.
    fn deliver<'a>(
        &'a self,
        app: &'a App,
        item: &'a OutboxItem,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DeliveryFuture<'a>;
}

/// The outbox job, with the delivery function of each target kind.
pub struct Drain {
    targets: HashMap<&'static str, Arc<dyn Delivery>>,
}

impl Drain {
    /// A drain over `deliveries`.
    pub fn new(deliveries: Vec<Arc<dyn Delivery>>) -> Drain {
        Drain {
            targets: deliveries.into_iter().map(|d| (d.target(), d)).collect(),
        }
    }

    /// Up to [`BATCHES_PER_ROUND`] batches, while batches come full.
    async fn drain(&self, app: &App, lease: Option<&Lease>) -> anyhow::Result<()> {
        let now = app.clock.now();
        for _ in 0..BATCHES_PER_ROUND {
            // Each batch leaves its items delivered, dead or due after `now`: the next one
            // takes others.
            if self.batch(app, lease, now).await? < BATCH {
                break;
            }
        }
        Ok(())
    }

    /// One batch of the deliveries due at `now`; returns how many it took.
    async fn batch(
        &self,
        app: &App,
        lease: Option<&Lease>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<i64> {
        let due = app.store.outbox().due(now, BATCH).await?;
        let taken = i64::try_from(due.len()).unwrap_or(BATCH);
        // Attempts run side by side, so a slow target holds up no other delivery of the round.
        let attempts = futures_util::stream::iter(due).map(|item| async move {
            let outcome = match self.targets.get(item.target.as_str()) {
                Some(d) => d.deliver(app, &item, now).await,
                None => Outcome::retry(
                    format!("no delivery for target {}", item.target),
                    &item,
                    now,
                ),
            };
            (item, outcome)
        });
        let outcomes: Vec<(OutboxItem, Outcome)> = attempts.buffered(CONCURRENCY).collect().await;
        if outcomes.is_empty() {
            return Ok(0);
        }
        // The round's outcomes commit together: one transaction (one fsync) per round, not
        // per delivery. A failed commit only means those deliveries are made again.
        let mut tx = app.store.begin_fenced(lease).await?;
        for (item, outcome) in outcomes {
            match outcome {
                Outcome::Delivered => {
                    tx.outbox().delivered(&item.id).await?;
                }
                Outcome::Failed { error, retry_at } => {
                    if retry_at.is_none() {
                        tracing::warn!(id = %item.id, target = %item.target, error = %error, "delivery dead");
                    }
                    tx.outbox().failed(&item.id, &error, retry_at).await?;
                }
                Outcome::Postponed(at) => {
                    tx.outbox().postpone(&item.id, at).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(taken)
    }
}

/// When a delivery that has failed `attempts` times before is tried again; `None` once it
/// has used up its attempts.
pub fn retry_at(
    attempts: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if attempts.saturating_add(1) >= MAX_ATTEMPTS {
        return None;
    }
    let factor = 1i32.checked_shl(u32::try_from(attempts).unwrap_or(0).min(20))?;
    let delay = FIRST_BACKOFF
        .checked_mul(factor)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    now.checked_add_signed(delay)
}

impl Job for Drain {
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
        Box::pin(self.drain(app, lease))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_dead_letters() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let delay = |a| retry_at(a, now).map(|t| (t - now).num_seconds());
        assert_eq!(delay(0), Some(1));
        assert_eq!(delay(1), Some(2));
        assert_eq!(delay(5), Some(32));
        assert_eq!(delay(MAX_ATTEMPTS - 1), None);
        assert_eq!(delay(i32::MAX), None);
    }
}
