//! Job leases: which node runs a cluster-wide background job, and the fencing token that
//! keeps a node that lost its lease from committing.
//!
//! A lease is one row per job, taken and renewed with a single conditional upsert (no
//! advisory locks, no `SELECT ... FOR UPDATE`), so it works on SQLite, PostgreSQL and
//! Postgres-wire distributed databases. The token grows whenever the lease changes hands; a
//! step calls [`Jobs::fence`] inside its own transaction, which writes the lease row only while
//! the token is still current. On PostgreSQL that write also locks the row until the step
//! commits, so a takeover waits for the step or the step sees the new token and fails.
//!
//! Lease times are wall-clock times of the nodes (not the dev clock), so nodes must keep
//! their clocks in sync to well within a lease.

use chrono::{DateTime, Duration, Utc};

use crate::db::{dispatch, from_ms, from_ms_opt, to_ms, Handle};
use crate::error::{Result, StoreError};

/// A lease this node holds on a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job's name.
    pub job: String,
    /// This node's id.
    pub owner: String,
    /// The fencing token: writes commit only while it is the lease row's token.
    pub token: i64,
    /// When the lease ends unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// A job's lease row, as health reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job's name.
    pub job: String,
    /// The node holding (or last holding) the lease.
    pub owner: String,
    /// The current fencing token.
    pub token: i64,
    /// When the lease ends unless renewed.
    pub expires_at: DateTime<Utc>,
    /// When a step last finished.
    pub last_run: Option<DateTime<Utc>>,
    /// The last step's error, if it failed.
    pub last_error: Option<String>,
}

/// Repository of job leases, on the pool or inside a transaction.
pub struct Jobs<'a> {
    h: Handle<'a>,
}

impl<'a> Jobs<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Jobs { h }
    }

    /// Takes the lease on `job` for `owner` until `now + ttl`, or renews it if `owner` holds
    /// it. `None` while another owner's lease has not expired. The token stays the same on a
    /// renewal and grows by one whenever the lease is taken anew.
    pub async fn acquire(
        &mut self,
        job: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let expires = now
            .checked_add_signed(ttl)
            .ok_or_else(|| StoreError::InvalidInput("lease time out of range".into()))?;
        let mut g = self.h.write_conn().await?;
        let token: Option<i64> = dispatch!(g.conn(), c => {
            sqlx::query_scalar(
                "INSERT INTO job_leases (job, owner, token, expires_at_ms, updated_at_ms)
                 VALUES ($1, $2, 1, $3, $4)
                 ON CONFLICT (job) DO UPDATE SET
                    token = CASE WHEN job_leases.owner = excluded.owner
                                  AND job_leases.expires_at_ms > excluded.updated_at_ms
                            THEN job_leases.token ELSE job_leases.token + 1 END,
                    owner = excluded.owner,
                    expires_at_ms = excluded.expires_at_ms,
                    updated_at_ms = excluded.updated_at_ms
                 WHERE job_leases.owner = excluded.owner
                    OR job_leases.expires_at_ms <= excluded.updated_at_ms
                 RETURNING token",
            )
            .bind(job)
            .bind(owner)
            .bind(to_ms(expires))
            .bind(to_ms(now))
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(token.map(|token| Lease {
            job: job.to_string(),
            owner: owner.to_string(),
            token,
            expires_at: expires,
        }))
    }

    /// Fails with [`StoreError::Fenced`] unless `lease` is still the job's current lease. Call
    /// it inside the transaction of a step's writes: they then commit only under that lease.
    pub async fn fence(&mut self, lease: &Lease) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query(
                "UPDATE job_leases SET token = token
                 WHERE job = $1 AND owner = $2 AND token = $3",
            )
            .bind(&lease.job)
            .bind(&lease.owner)
            .bind(lease.token)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Fenced(format!(
                "{} is no longer held by {} with token {}",
                lease.job, lease.owner, lease.token
            )))
        }
    }

    /// Records a finished step (its error, if any) under `lease`; fenced like a step's writes.
    pub async fn record_run(
        &mut self,
        lease: &Lease,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query(
                "UPDATE job_leases SET last_run_ms = $4, last_error = $5
                 WHERE job = $1 AND owner = $2 AND token = $3",
            )
            .bind(&lease.job)
            .bind(&lease.owner)
            .bind(lease.token)
            .bind(to_ms(at))
            .bind(error)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Fenced(format!("{} changed hands", lease.job)))
        }
    }

    /// Gives the lease up at once (at shutdown), so another node need not wait for it to
    /// expire. Does nothing if the lease already changed hands.
    pub async fn release(&mut self, lease: &Lease, now: DateTime<Utc>) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query(
                "UPDATE job_leases SET expires_at_ms = $4
                 WHERE job = $1 AND owner = $2 AND token = $3",
            )
            .bind(&lease.job)
            .bind(&lease.owner)
            .bind(lease.token)
            .bind(to_ms(now))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Every job's lease row, by name.
    pub async fn list(&mut self) -> Result<Vec<JobRecord>> {
        type Row = (String, String, i64, i64, Option<i64>, Option<String>);
        let mut g = self.h.conn().await?;
        let rows: Vec<Row> = dispatch!(g.conn(), c => {
            sqlx::query_as(
                "SELECT job, owner, token, expires_at_ms, last_run_ms, last_error
                 FROM job_leases ORDER BY job",
            )
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter()
            .map(|(job, owner, token, expires, last_run, last_error)| {
                Ok(JobRecord {
                    job,
                    owner,
                    token,
                    expires_at: from_ms(expires)?,
                    last_run: from_ms_opt(last_run)?,
                    last_error,
                })
            })
            .collect()
    }
}

impl crate::store::Store {
    /// Job leases, each call committing on its own.
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs::new(Handle::Store(self))
    }
}

impl crate::tx::Tx {
    /// Job leases inside this transaction (for [`Jobs::fence`]).
    pub fn jobs(&mut self) -> Jobs<'_> {
        Jobs::new(Handle::Tx(self))
    }
}
