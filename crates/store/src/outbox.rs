//! The delivery outbox: deliveries (event-bus targets, trail files) written in their
//! producer's transaction and drained by a job, at least once, with backoff and a dead-letter
//! state. What a delivery means is the caller's; the store keeps the target name, the payload
//! and the attempt bookkeeping.

use chrono::{DateTime, Utc};

use crate::db::{dispatch, from_ms, to_ms, Handle};
use crate::error::Result;

/// A pending delivery is retried; a dead one has used up its attempts.
const PENDING: &str = "pending";
const DEAD: &str = "dead";

/// One delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Its id (a UUID).
    pub id: String,
    /// Which delivery function takes it (e.g. `eventbridge:http`).
    pub target: String,
    /// What to deliver (the target's format, usually JSON).
    pub payload: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When it is next due.
    pub next_attempt: DateTime<Utc>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// `pending` or `dead`.
    pub state: String,
}

/// Repository of deliveries, on the pool or inside a transaction.
pub struct Outbox<'a> {
    h: Handle<'a>,
}

type Row = (String, String, String, i32, i64, Option<String>, String);

fn item(r: Row) -> Result<OutboxItem> {
    let (id, target, payload, attempts, next, last_error, state) = r;
    Ok(OutboxItem {
        id,
        target,
        payload,
        attempts,
        next_attempt: from_ms(next)?,
        last_error,
        state,
    })
}

const COLUMNS: &str = "id, target, payload, attempts, next_attempt_ms, last_error, state";

impl<'a> Outbox<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Outbox { h }
    }

    /// Adds a delivery due at `now`; returns its id. Call it in the producer's transaction.
    pub async fn enqueue(
        &mut self,
        target: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query(
                "INSERT INTO outbox (id, target, payload, state, attempts, next_attempt_ms,
                    created_at_ms) VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
            )
            .bind(&id)
            .bind(target)
            .bind(payload)
            .bind(to_ms(now))
            .execute(&mut *c)
            .await?;
        });
        Ok(id)
    }

    /// Up to `limit` pending deliveries due at `now`, the longest-waiting first.
    pub async fn due(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxItem>> {
        let mut g = self.h.conn().await?;
        let rows: Vec<Row> = dispatch!(g.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE state = $1 AND next_attempt_ms <= $2
                 ORDER BY next_attempt_ms, created_at_ms LIMIT $3"
            ))
            .bind(PENDING)
            .bind(to_ms(now))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(item).collect()
    }

    /// Dead deliveries (attempts used up), oldest first.
    pub async fn dead(&mut self, limit: i64) -> Result<Vec<OutboxItem>> {
        let mut g = self.h.conn().await?;
        let rows: Vec<Row> = dispatch!(g.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE state = $1 ORDER BY created_at_ms LIMIT $2"
            ))
            .bind(DEAD)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(item).collect()
    }

    /// Removes a delivered item; false if it was already gone.
    pub async fn delivered(&mut self, id: &str) -> Result<bool> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("DELETE FROM outbox WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records a failed attempt: due again at `retry_at`, or dead when that is `None`.
    pub async fn failed(
        &mut self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let (state, next) = match retry_at {
            Some(t) => (PENDING, Some(to_ms(t))),
            None => (DEAD, None),
        };
        dispatch!(g.conn(), c => {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, state = $3,
                    next_attempt_ms = COALESCE($4, next_attempt_ms)
                 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(state)
            .bind(next)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Moves a pending delivery to `at` without counting an attempt (a rate limit).
    pub async fn postpone(&mut self, id: &str, at: DateTime<Utc>) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query("UPDATE outbox SET next_attempt_ms = $2 WHERE id = $1 AND state = $3")
                .bind(id)
                .bind(to_ms(at))
                .bind(PENDING)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// How many deliveries are pending and dead.
    pub async fn counts(&mut self) -> Result<(i64, i64)> {
        let mut g = self.h.conn().await?;
        let rows: Vec<(String, i64)> = dispatch!(g.conn(), c => {
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
                .fetch_all(&mut *c)
                .await?
        });
        let count = |s: &str| rows.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
        Ok((count(PENDING), count(DEAD)))
    }
}

impl crate::store::Store {
    /// The delivery outbox, each call committing on its own.
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox::new(Handle::Store(self))
    }
}

impl crate::tx::Tx {
    /// The delivery outbox inside this transaction (enqueue with the producer's writes).
    pub fn outbox(&mut self) -> Outbox<'_> {
        Outbox::new(Handle::Tx(self))
    }
}
