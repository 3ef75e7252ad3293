//! Group commit for audit records of read-only calls: a channel drained by one background
//! task that writes whatever has queued up at once: to the audit journal on the embedded
//! store (one write and one `fdatasync` per batch), to the audit table in one transaction on
//! PostgreSQL. Records are never dropped: transient errors are retried until they succeed.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use std::sync::Arc;

use crate::audit::{Appended, AuditRecord};
use crate::audit_encoded::EncodedAudit;
use crate::error::{Result, StoreError};
use crate::journal::frame::RecordView;
use crate::journal::JournalWriter;
use crate::store::Store;

/// Where batches go.
enum Sink {
    /// The audit table, in one transaction per batch.
    Table(Store),
    /// The embedded store's journal.
    Journal(Arc<JournalWriter>),
}

/// Queued records' commits: [`Durability::wait`] returns once every one is durable.
#[derive(Debug)]
pub struct Durability {
    waits: Vec<oneshot::Receiver<Result<Appended>>>,
}

impl Durability {
    /// Returns once every record is durable, or the first error among them.
    pub async fn wait(self) -> Result<()> {
        let mut outcome = Ok(());
        for wait in self.waits {
            let appended = wait.await.map_err(|_| StoreError::WriterClosed)?;
            if let Err(e) = appended {
                outcome = Err(e);
            }
        }
        outcome
    }
}

/// Tuning for [`AuditWriter`].
#[derive(Debug, Clone, Copy)]
pub struct AuditWriterConfig {
    /// Most records per transaction.
    pub max_batch: usize,
    /// Queue length; senders wait (backpressure) rather than drop when it is full.
    pub queue: usize,
    /// How long a batch of records nobody waits for (`submit`) waits for more after its first
    /// one. Each commit rewrites the index pages it touched, so larger batches cost less per
    /// record. A record someone waits for ends the wait at once: under load, the records
    /// queued while the previous batch was syncing make the next batch.
    pub linger: Duration,
    /// Whether [`AuditWriter::record_durably`] waits for the records to be on disk (the
    /// default). Off, it returns once they are queued: more throughput for the cheapest calls,
    /// but a crash in the few milliseconds before the batch's sync loses records of calls
    /// already answered.
    pub durable_answers: bool,
}

impl Default for AuditWriterConfig {
    fn default() -> Self {
        AuditWriterConfig {
            max_batch: 512,
            queue: 16_384,
            linger: Duration::from_millis(5),
            durable_answers: true,
        }
    }
}

type Reply = oneshot::Sender<Result<Appended>>;

/// A record travels as its canonical bytes (the chain's and the journal's encoding) with a
/// placeholder sequence number that the writer sets. Encoded by the caller, on its own thread:
/// the writer gets one buffer per record, and the record's many small strings are freed where
/// they were allocated (the allocator frees across threads at a higher cost).
type Encoded = Vec<u8>;

enum Msg {
    Record(Encoded, Option<Reply>),
    Flush(oneshot::Sender<()>),
}

/// Handle to the background audit writer; clone it freely.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    durable_answers: bool,
}

impl AuditWriter {
    /// Starts the writer task on the current tokio runtime. The task ends once every handle
    /// is dropped and the queue is drained; await the returned handle at shutdown. On the
    /// embedded store this opens the audit journal, which fails if another server already
    /// writes to the same data directory.
    pub fn spawn(store: Store, config: AuditWriterConfig) -> Result<(AuditWriter, JoinHandle<()>)> {
        let sink = match store.journal_writer()? {
            Some(w) => Sink::Journal(w),
            None => Sink::Table(store),
        };
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let task = tokio::spawn(run(sink, rx, config.max_batch.max(1), config.linger));
        let writer = AuditWriter {
            tx,
            durable_answers: config.durable_answers,
        };
        Ok((writer, task))
    }

    /// Queues a record and returns once it is queued (committed shortly after).
    pub async fn submit(&self, record: AuditRecord) -> Result<()> {
        let encoded = EncodedAudit::from(&record);
        drop(record);
        self.submit_encoded(encoded).await
    }

    /// Queues a record built in its canonical bytes; returns once it is queued.
    pub async fn submit_encoded(&self, record: EncodedAudit) -> Result<()> {
        self.tx
            .send(Msg::Record(record.0, None))
            .await
            .map_err(|_| StoreError::WriterClosed)
    }

    /// Queues records built in their canonical bytes and returns once the batch holding the
    /// last of them is durable: the request path answers a call only after its records are
    /// on disk, so a crash right after an answer loses no record of it. With
    /// `durable_answers` off, returns once they are queued.
    pub async fn record_durably(&self, records: Vec<EncodedAudit>) -> Result<()> {
        self.queue_durably(records).await?.wait().await
    }

    /// Queues records and returns, once they are queued, what resolves when they are durable
    /// (at once with `durable_answers` off). A streamed answer sends its body meanwhile and
    /// holds back only its last bytes until then.
    pub async fn queue_durably(&self, records: Vec<EncodedAudit>) -> Result<Durability> {
        if !self.durable_answers {
            for record in records {
                self.submit_encoded(record).await?;
            }
            return Ok(Durability { waits: Vec::new() });
        }
        let mut waits = Vec::with_capacity(records.len());
        for record in records {
            let (reply, wait) = oneshot::channel();
            self.tx
                .send(Msg::Record(record.0, Some(reply)))
                .await
                .map_err(|_| StoreError::WriterClosed)?;
            waits.push(wait);
        }
        Ok(Durability { waits })
    }

    /// Queues a record and returns once its batch has committed.
    pub async fn append(&self, record: AuditRecord) -> Result<Appended> {
        let encoded = EncodedAudit::from(&record).0;
        drop(record);
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Msg::Record(encoded, Some(reply)))
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        wait.await.map_err(|_| StoreError::WriterClosed)?
    }

    /// Returns once every record queued before this call has committed (graceful shutdown).
    pub async fn flush(&self) -> Result<()> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Msg::Flush(reply))
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        wait.await.map_err(|_| StoreError::WriterClosed)
    }
}

async fn run(sink: Sink, mut rx: mpsc::Receiver<Msg>, max_batch: usize, linger: Duration) {
    let mut records: Vec<Encoded> = Vec::with_capacity(max_batch);
    let mut replies: Vec<Option<Reply>> = Vec::with_capacity(max_batch);
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + linger;
        let mut next = Some(first);
        let mut lingered = false;
        loop {
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Record(r, reply) => {
                        records.push(r);
                        replies.push(reply);
                    }
                    Msg::Flush(f) => flushes.push(f),
                }
                if records.len() < max_batch {
                    next = rx.try_recv().ok();
                }
            }
            // A flush or a caller waiting for its commit ends the wait at once.
            let hurry = !flushes.is_empty() || replies.iter().any(Option::is_some);
            if hurry || lingered || records.len() >= max_batch {
                break;
            }
            // One timer for the whole linger, then take whatever queued meanwhile. Not waiting
            // on the channel, the task is not woken by each sender: a batch costs one wake-up
            // instead of one per record (a caller that needs its commit waits out the linger).
            tokio::time::sleep_until(deadline).await;
            lingered = true;
            next = rx.try_recv().ok();
        }
        if !records.is_empty() {
            write_batch(&sink, &mut records, &mut replies).await;
        }
        if !flushes.is_empty() {
            checkpoint(&sink).await;
        }
        for f in flushes.drain(..) {
            let _ = f.send(());
        }
    }
}

/// Writes the batch; a record the database refuses for good (e.g. a duplicate event id) is
/// isolated and reported to its waiter so it cannot block the others.
async fn write_batch(sink: &Sink, records: &mut Vec<Encoded>, replies: &mut Vec<Option<Reply>>) {
    match write_until_done(sink, records).await {
        Ok(appended) => {
            for (reply, a) in replies.drain(..).zip(appended) {
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(a));
                }
            }
        }
        Err(_) if records.len() > 1 => {
            for (rec, reply) in records.iter().zip(replies.drain(..)) {
                let result = write_until_done(sink, &mut vec![rec.clone()])
                    .await
                    .and_then(|mut v| {
                        v.pop()
                            .ok_or_else(|| StoreError::Database("no result".into()))
                    });
                if let Err(e) = &result {
                    tracing::error!(event_id = event_id(rec), error = %e, "audit record refused");
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
        Err(e) => {
            // One record (len() == 1): its waiter gets the error itself.
            if let Some(rec) = records.first() {
                tracing::error!(event_id = event_id(rec), error = %e, "audit record refused");
            }
            let mut err = Some(e);
            for reply in replies.drain(..).flatten() {
                if let Some(e) = err.take() {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }
    records.clear();
    replies.clear();
}

/// The event id of an encoded record, for logs.
fn event_id(encoded: &[u8]) -> &str {
    RecordView::parse_columns(encoded).map_or("(unreadable)", |v| v.event_id)
}

/// Permanent refusals are returned; anything else (database down, lock timeouts) is retried
/// with capped backoff for as long as it takes, so records are not lost.
async fn write_until_done(sink: &Sink, records: &mut Vec<Encoded>) -> Result<Vec<Appended>> {
    let mut delay = Duration::from_millis(50);
    loop {
        let r = write_once(sink, records).await;
        match r {
            Ok(a) => return Ok(a),
            Err(
                e @ (StoreError::AlreadyExists(_)
                | StoreError::InvalidInput(_)
                | StoreError::Conflict(_)
                | StoreError::Corrupt(_)
                | StoreError::Crypto(_)),
            ) => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, records = records.len(), "audit write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn write_once(sink: &Sink, records: &mut Vec<Encoded>) -> Result<Vec<Appended>> {
    match sink {
        Sink::Table(store) => {
            // The table stores the fields in columns; decoding costs little next to the
            // database round trip.
            let records = records
                .iter()
                .map(|r| Ok(RecordView::parse(r)?.to_stored()?.record))
                .collect::<Result<Vec<AuditRecord>>>()?;
            let records: &[AuditRecord] = &records;
            store
                .retry(|| async {
                    let mut tx = store.begin().await?;
                    let a = tx.append_audit_batch(records).await?;
                    tx.commit().await?;
                    Ok(a)
                })
                .await
        }
        Sink::Journal(w) => {
            // The write and its fdatasync block: run them off the async workers, lending the
            // batch to the blocking thread and taking it back.
            let batch = std::mem::take(records);
            let w = w.clone();
            let joined = tokio::task::spawn_blocking(move || {
                let mut batch = batch;
                let r = w.append(&mut batch);
                (batch, r)
            })
            .await;
            match joined {
                Ok((batch, r)) => {
                    *records = batch;
                    r
                }
                Err(e) => Err(StoreError::Database(format!("audit journal task: {e}"))),
            }
        }
    }
}

/// Checkpoints the journal's head so a flush (shutdown) leaves it current.
async fn checkpoint(sink: &Sink) {
    if let Sink::Journal(w) = sink {
        let w = w.clone();
        match tokio::task::spawn_blocking(move || w.checkpoint()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "audit journal checkpoint failed"),
            Err(e) => tracing::error!(error = %e, "audit journal checkpoint task failed"),
        }
    }
}
