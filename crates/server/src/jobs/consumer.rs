//! Audit-stream consumers as jobs: each round takes the records after the consumer's cursor
//! (`Store::consume`), lets the consumer write its effects in the batch's transaction, and
//! commits them with the cursor, under the job's lease. Effects that leave the process
//! (deliveries) go through the outbox, enqueued in that transaction.

use std::{future::Future, pin::Pin, time::Duration};

use rampart_store::{Lease, StreamBatch};

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// Records per batch (one transaction).
const BATCH: usize = 256;
/// Batches per round, so one round stays short.
const BATCHES_PER_ROUND: usize = 16;
/// The lag is counted up to this many records.
const LAG_CAP: usize = 100_000;

/// A consumer's handling of one batch.
pub type HandleFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// A consumer of the audit stream (a trail, a detector, a recorder, an event bus).
pub trait StreamConsumer: Send + Sync + 'static {
    /// Its name: the cursor's and the job's.
    fn name(&self) -> &'static str;
    /// Writes the effects of `batch.records()` through `batch.tx()`; nothing else.
    fn handle<'a>(&'a self, app: &'a App, batch: &'a mut StreamBatch) -> HandleFuture<'a>;
    /// Time between rounds (a second unless the consumer must follow the stream closer).
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }
    /// True for a consumer of changes alone (successful writes): it is handed only the audit
    /// table's records, and the journal's (read-only, refused and failed calls) are not read
    /// for it.
    fn changes_only(&self) -> bool {
        false
    }
}

/// The job that drives a [`StreamConsumer`].
pub struct ConsumerJob<C>(pub C);

impl<C: StreamConsumer> Job for ConsumerJob<C> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    fn period(&self) -> Duration {
        self.0.period()
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            for _ in 0..BATCHES_PER_ROUND {
                let mut batch = if self.0.changes_only() {
                    app.store.consume_changes(self.0.name(), BATCH).await?
                } else {
                    app.store.consume(self.0.name(), BATCH).await?
                };
                if batch.records().is_empty() {
                    break;
                }
                if let Some(lease) = lease {
                    batch.tx().jobs().fence(lease).await?;
                }
                self.0.handle(app, &mut batch).await?;
                batch.commit().await?;
            }
            Ok(())
        })
    }

    fn lag<'a>(&'a self, app: &'a App) -> Pin<Box<dyn Future<Output = Option<u64>> + Send + 'a>> {
        Box::pin(async move {
            let at = app.store.stream_cursor(self.0.name()).await.ok()?;
            let lag = app.store.stream_lag(at, LAG_CAP).await.ok()?;
            u64::try_from(lag).ok()
        })
    }
}
