//! The audit stream: every audit record in a defined order, for consumers (trails, detectors,
//! configuration recorders, event buses) that each keep a durable cursor.
//!
//! Records live in two chains on SQLite: the audit table (calls that change something) and
//! the journal (read-only, refused and failed calls); PostgreSQL has only the table. A
//! position is therefore one sequence number per chain ([`StreamPosition`]). Each chain is read
//! in its own sequence order; the two are interleaved by event time (the table first on a
//! tie), the order `LookupEvents` uses. A consumer sees every record of both chains exactly
//! once, whatever the interleaving.
//!
//! [`Store::consume`] hands out a [`StreamBatch`]: the records after the consumer's cursor and
//! an open transaction for the consumer's own effects. [`StreamBatch::commit`] moves the
//! cursor and commits the effects in that one transaction; there is no other way to commit
//! them, so effects and cursor cannot part. Dropping the batch (or a crash) discards both, and
//! the next batch starts from the same cursor. The cursor moves only from the position the
//! batch was read at, so two nodes consuming at once cannot both commit the same records.

use crate::audit::{AuditResource, StoredEvent};
use crate::audit_lookup::stored_event_from_row;
use crate::db::{dispatch, to_ms, Conn, Handle};
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::tx::Tx;

/// A consumer's position: the last processed sequence number in each chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamPosition {
    /// Last processed record of the audit table.
    pub table_seq: i64,
    /// Last processed record of the journal (always 0 on PostgreSQL).
    pub journal_seq: i64,
}

/// Which chain a stream record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StreamSource {
    /// The audit table: calls that changed something, and service events.
    Table,
    /// The journal: read-only, refused and failed calls (SQLite only).
    Journal,
}

/// One record of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// Its chain.
    pub source: StreamSource,
    /// Its position and content.
    pub event: StoredEvent,
}

/// Records after a consumer's cursor, and the transaction for the consumer's effects.
pub struct StreamBatch {
    tx: Tx,
    consumer: String,
    from: StreamPosition,
    records: Vec<StreamRecord>,
    /// For a consumer of the audit table alone: the journal's end when the batch was read,
    /// which the cursor moves to (its records are passed over unread).
    journal_end: Option<i64>,
}

impl std::fmt::Debug for StreamBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBatch")
            .field("consumer", &self.consumer)
            .field("from", &self.from)
            .field("records", &self.records.len())
            .finish()
    }
}

impl StreamBatch {
    /// The records to process, in stream order.
    pub fn records(&self) -> &[StreamRecord] {
        &self.records
    }

    /// The records and the transaction at once, for a consumer that writes while it reads them.
    pub fn parts(&mut self) -> (&[StreamRecord], &mut Tx) {
        (&self.records, &mut self.tx)
    }

    /// The cursor this batch starts after.
    pub fn from(&self) -> StreamPosition {
        self.from
    }

    /// The transaction the consumer writes its effects in (commit it with the batch).
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Moves the cursor past every record of the batch and commits it with the effects.
    /// Fails with `Conflict` (and commits nothing) if the cursor moved since the batch was
    /// read.
    pub async fn commit(mut self) -> Result<StreamPosition> {
        let mut to = end_of(self.from, &self.records);
        if let Some(end) = self.journal_end {
            to.journal_seq = to.journal_seq.max(end);
        }
        if to != self.from {
            let mut h = Handle::Tx(&mut self.tx);
            let mut g = h.write_conn().await?;
            let n = dispatch!(g.conn(), c => {
                sqlx::query(
                    "UPDATE stream_cursors SET table_seq = $2, journal_seq = $3, updated_at_ms = $6
                     WHERE consumer = $1 AND table_seq = $4 AND journal_seq = $5",
                )
                .bind(&self.consumer)
                .bind(to.table_seq)
                .bind(to.journal_seq)
                .bind(self.from.table_seq)
                .bind(self.from.journal_seq)
                .bind(to_ms(crate::db::now_ms()))
                .execute(&mut *c)
                .await?
                .rows_affected()
            });
            drop(g);
            if n != 1 {
                return Err(StoreError::Conflict(format!(
                    "the cursor of {} moved while its batch was processed",
                    self.consumer
                )));
            }
        }
        self.tx.commit().await?;
        Ok(to)
    }
}

/// The position just after `records`, read from `from`.
fn end_of(from: StreamPosition, records: &[StreamRecord]) -> StreamPosition {
    let mut to = from;
    for r in records {
        match r.source {
            StreamSource::Table => to.table_seq = to.table_seq.max(r.event.seq),
            StreamSource::Journal => to.journal_seq = to.journal_seq.max(r.event.seq),
        }
    }
    to
}

impl Store {
    /// The next batch (up to `limit` records) for `consumer`, starting after its cursor
    /// (created at the start of the stream on first use).
    pub async fn consume(&self, consumer: &str, limit: usize) -> Result<StreamBatch> {
        let from = self.stream_cursor(consumer).await?;
        let records = self.read_stream(from, limit).await?;
        let tx = self.begin().await?;
        Ok(StreamBatch {
            tx,
            consumer: consumer.to_string(),
            from,
            records,
            journal_end: None,
        })
    }

    /// Like [`Store::consume`], for a consumer that needs only the calls that changed
    /// something: it gets the audit table's records, and the journal's (read-only, refused and
    /// failed calls) are passed over without being read, the cursor moving past them at
    /// commit. On PostgreSQL, which has no journal, that is every record.
    pub async fn consume_changes(&self, consumer: &str, limit: usize) -> Result<StreamBatch> {
        let from = self.stream_cursor(consumer).await?;
        // Read before the table, so a record the journal gets meanwhile is passed over only if
        // it is no change: the journal never holds one.
        let journal_end = self.journal_last_seq()?;
        let table = {
            let mut h = Handle::Store(self);
            let mut g = h.conn().await?;
            table_after(g.conn(), from.table_seq, limit).await?
        };
        let records = table
            .into_iter()
            .map(|event| StreamRecord {
                source: StreamSource::Table,
                event,
            })
            .collect();
        let tx = self.begin().await?;
        Ok(StreamBatch {
            tx,
            consumer: consumer.to_string(),
            from,
            records,
            journal_end: Some(journal_end),
        })
    }

    /// `consumer`'s cursor, created at the start of the stream if it has none.
    pub async fn stream_cursor(&self, consumer: &str) -> Result<StreamPosition> {
        {
            let mut h = Handle::Store(self);
            let mut g = h.write_conn().await?;
            dispatch!(g.conn(), c => {
                sqlx::query(
                    "INSERT INTO stream_cursors (consumer, table_seq, journal_seq, updated_at_ms)
                     VALUES ($1, 0, 0, $2) ON CONFLICT (consumer) DO NOTHING",
                )
                .bind(consumer)
                .bind(to_ms(crate::db::now_ms()))
                .execute(&mut *c)
                .await?;
            });
        }
        let mut h = Handle::Store(self);
        let mut g = h.conn().await?;
        let (table_seq, journal_seq): (i64, i64) = dispatch!(g.conn(), c => {
            sqlx::query_as("SELECT table_seq, journal_seq FROM stream_cursors WHERE consumer = $1")
                .bind(consumer)
                .fetch_one(&mut *c)
                .await?
        });
        Ok(StreamPosition {
            table_seq,
            journal_seq,
        })
    }

    /// Up to `limit` committed records after `after`, in stream order.
    pub async fn read_stream(
        &self,
        after: StreamPosition,
        limit: usize,
    ) -> Result<Vec<StreamRecord>> {
        let table = {
            let mut h = Handle::Store(self);
            let mut g = h.conn().await?;
            table_after(g.conn(), after.table_seq, limit).await?
        };
        let journal = self.journal_after(after.journal_seq, limit, true).await?.0;
        Ok(merge(table, journal, limit))
    }

    /// How many committed records follow `after`, counting at most `cap`.
    pub async fn stream_lag(&self, after: StreamPosition, cap: usize) -> Result<usize> {
        let head: i64 = {
            let mut h = Handle::Store(self);
            let mut g = h.conn().await?;
            dispatch!(g.conn(), c => {
                sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
                    .fetch_one(&mut *c)
                    .await?
            })
        };
        let table = usize::try_from(head.saturating_sub(after.table_seq).max(0)).unwrap_or(cap);
        // Journal sequence numbers have no gaps: with this process writing the journal, the lag
        // is a subtraction, not a read (counting by reading up to `cap` records made each
        // metrics scrape of a lagging consumer read megabytes of the journal).
        let written = self.inner.journal.as_ref().and_then(|j| j.open_writer());
        let journal = match written {
            Some(w) => usize::try_from(w.last_seq().saturating_sub(after.journal_seq).max(0))
                .unwrap_or(cap),
            None => self.journal_after(after.journal_seq, cap, false).await?.1,
        };
        Ok(table.saturating_add(journal).min(cap))
    }

    async fn journal_after(
        &self,
        after: i64,
        limit: usize,
        keep: bool,
    ) -> Result<(Vec<StoredEvent>, usize)> {
        if self.inner.journal.is_none() {
            return Ok((Vec::new(), 0));
        }
        let store = self.clone();
        tokio::task::spawn_blocking(move || match &store.inner.journal {
            Some(j) => crate::journal::read_after(j, after, limit, keep),
            None => Ok((Vec::new(), 0)),
        })
        .await
        .map_err(|e| StoreError::Database(format!("journal read: {e}")))?
    }
}

impl Store {
    fn journal_last_seq(&self) -> Result<i64> {
        Ok(self.journal_writer()?.map_or(0, |w| w.last_seq()))
    }
}

impl Tx {
    /// Places `consumer`'s cursor at the stream's end as this transaction sees it (the audit
    /// table's head in this transaction, the journal's last record), creating it if needed.
    pub async fn place_stream_cursor_at_head(&mut self, consumer: &str) -> Result<StreamPosition> {
        let journal_seq = self.store().journal_last_seq()?;
        let mut h = Handle::Tx(self);
        let mut g = h.write_conn().await?;
        // The records this shared transaction already holds count (the head row is written
        // once at its commit).
        let table_seq: i64 = dispatch!(g.conn(), c => {
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_events")
                .fetch_one(&mut *c)
                .await?
        });
        dispatch!(g.conn(), c => {
            sqlx::query(
                "INSERT INTO stream_cursors (consumer, table_seq, journal_seq, updated_at_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (consumer) DO UPDATE SET table_seq = $2, journal_seq = $3,
                 updated_at_ms = $4",
            )
            .bind(consumer)
            .bind(table_seq)
            .bind(journal_seq)
            .bind(to_ms(crate::db::now_ms()))
            .execute(&mut *c)
            .await?;
        });
        Ok(StreamPosition {
            table_seq,
            journal_seq,
        })
    }

    /// Removes `consumer`'s cursor (a deleted trail).
    pub async fn drop_stream_cursor(&mut self, consumer: &str) -> Result<()> {
        let mut h = Handle::Tx(self);
        let mut g = h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query("DELETE FROM stream_cursors WHERE consumer = $1")
                .bind(consumer)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

/// Interleaves the two chains (each already in sequence order) by event time, table first on
/// a tie, and keeps the first `limit`.
fn merge(table: Vec<StoredEvent>, journal: Vec<StoredEvent>, limit: usize) -> Vec<StreamRecord> {
    let mut out = Vec::with_capacity(limit.min(table.len() + journal.len()));
    let mut t = table.into_iter().peekable();
    let mut j = journal.into_iter().peekable();
    while out.len() < limit {
        let take_table = match (t.peek(), j.peek()) {
            (Some(a), Some(b)) => a.record.event_time <= b.record.event_time,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let (source, next) = if take_table {
            (StreamSource::Table, t.next())
        } else {
            (StreamSource::Journal, j.next())
        };
        if let Some(event) = next {
            out.push(StreamRecord { source, event });
        }
    }
    out
}

/// Up to `limit` records of the audit table after `after`, in sequence order.
async fn table_after(conn: Conn<'_>, after: i64, limit: usize) -> Result<Vec<StoredEvent>> {
    use sqlx::Row;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    dispatch!(conn, c => {
        let rows = sqlx::query(
            "SELECT seq, event_id, event_time_ms, event_name, event_source, username,
                    access_key_id, read_only, error_code, account_id, event_json
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            events.push(stored_event_from_row!(r));
        }
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            let res = sqlx::query(
                "SELECT seq, resource_type, resource_name FROM audit_resources
                 WHERE seq >= $1 AND seq <= $2 ORDER BY seq, ord",
            )
            .bind(first.seq)
            .bind(last.seq)
            .fetch_all(&mut *c)
            .await?;
            for r in res {
                let seq: i64 = r.try_get("seq")?;
                if let Ok(i) = events.binary_search_by_key(&seq, |e| e.seq) {
                    if let Some(e) = events.get_mut(i) {
                        e.record.resources.push(AuditResource {
                            resource_type: r.try_get("resource_type")?,
                            resource_name: r.try_get("resource_name")?,
                        });
                    }
                }
            }
        }
        Ok(events)
    })
}
