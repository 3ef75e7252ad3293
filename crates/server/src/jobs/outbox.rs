//! Drains the delivery outbox: each due delivery goes to the [`Delivery`] registered for its
//! target, at least once. A failed attempt is retried with exponential backoff on the request
//! clock; after [`MAX_ATTEMPTS`] the delivery is dead (kept for the operator to see).
//!
//! A producer enqueues in its own transaction (`Tx::outbox().enqueue`), so a delivery exists
//! exactly when the change that caused it committed. A delivery is removed only after its
//! target accepted it; a crash in between delivers it again, so targets must tolerate
//! duplicates (the item id is stable, for deduplication).

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use rampart_store::{Lease, OutboxItem};

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// Attempts before a delivery is dead.
pub const MAX_ATTEMPTS: i32 = 8;
/// Deliveries taken per round.
const BATCH: i64 = 100;
/// The first retry's delay; each further one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: chrono::Duration = chrono::Duration::seconds(1);
const MAX_BACKOFF: chrono::Duration = chrono::Duration::minutes(10);

/// A delivery's future: `Err` with a message to retry.
pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Where deliveries of one target kind go (an HTTP endpoint, a queue, a bucket...).
pub trait Delivery: Send + Sync + 'static {
    /// The target kind this delivers (`OutboxItem::target`).
    fn target(&self) -> &'static str;
    /// Delivers one item. It may be called again for the same item after a crash.
    fn deliver<'a>(&'a self, item: &'a OutboxItem) -> DeliveryFuture<'a>;
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

    async fn drain(&self, app: &App, lease: Option<&Lease>) -> anyhow::Result<()> {
        let now = app.clock.now();
        let due = app.store.outbox().due(now, BATCH).await?;
        for item in due {
            let outcome = match self.targets.get(item.target.as_str()) {
                Some(d) => d.deliver(&item).await,
                None => Err(format!("no delivery for target {}", item.target)),
            };
            let mut tx = app.store.begin().await?;
            if let Some(lease) = lease {
                tx.jobs().fence(lease).await?;
            }
            match outcome {
                Ok(()) => {
                    tx.outbox().delivered(&item.id).await?;
                }
                Err(err) => {
                    let retry_at = retry_at(item.attempts, now);
                    if retry_at.is_none() {
                        tracing::warn!(id = %item.id, target = %item.target, error = %err, "delivery dead");
                    }
                    tx.outbox().failed(&item.id, &err, retry_at).await?;
                }
            }
            tx.commit().await?;
        }
        Ok(())
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
        "outbox-delivery"
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
