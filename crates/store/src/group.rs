//! Group commit for the embedded store.
//!
//! SQLite makes a commit durable with an fsync, and one fsync per mutating request caps the
//! API at the disk's flush rate (~600 commits/s on this machine's disk). Writers therefore
//! share one transaction: each runs inside its own savepoint, so a failed call undoes only its
//! own changes, and a committer task commits whatever has been released since the last commit
//! with one fsync, then answers every waiter. Nobody is answered before the commit holding its
//! changes is durable, so `Tx::commit` keeps its meaning; only its cost is shared.
//!
//! Writers take turns on one async mutex (tokio's is FIFO): while a commit's fsync runs, the
//! writers that arrive queue up and form the next batch, so batches grow with the load.

use std::sync::Arc;

use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{oneshot, Mutex, Notify, OwnedMutexGuard};

use crate::audit::{self, Appended, AuditRecord, ChainHead};
use crate::cache::{LocalCache, Touched};
use crate::crypto::MasterKey;
use crate::db::Conn;
use crate::error::{Result, StoreError};

/// The savepoint each writer runs in. Writers take turns, so one name serves them all.
const SAVEPOINT: &str = "SAVEPOINT rampart_write";
const RELEASE: &str = "RELEASE rampart_write";
const ROLLBACK_TO: &str = "ROLLBACK TO rampart_write";

/// The shared write transaction of a SQLite store and its committer task.
#[derive(Debug)]
pub(crate) struct Group {
    batch: Arc<Mutex<Batch>>,
    wake: Arc<Notify>,
    cache: Arc<LocalCache>,
    key: Arc<MasterKey>,
    committer: tokio::task::AbortHandle,
}

/// What the writers share: the open transaction and who waits for its commit.
#[derive(Default)]
pub(crate) struct Batch {
    tx: Option<Transaction<'static, Sqlite>>,
    /// A writer's savepoint is open: set by `begin`, cleared by `release`/`rollback`. Still set
    /// when the next turn starts, the writer was abandoned and its changes are rolled back.
    savepoint_open: bool,
    waiters: Vec<oneshot::Sender<Result<()>>>,
    /// The read caches the released writers invalidate once their commit is visible.
    touched: Touched,
    /// The audit chain's head as this transaction has moved it: read once per transaction
    /// and stored once at commit, instead of twice per appended record.
    chain: Option<ChainHead>,
    /// `chain` when the open savepoint began, restored if it rolls back.
    chain_at_savepoint: Option<ChainHead>,
    stats: GroupStats,
}

/// What group commit has done since the store opened (exported as metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Commits (fsyncs) of the shared transaction.
    pub commits: u64,
    /// Writers (transactions) those commits made durable.
    pub writes: u64,
}

/// One writer's turn: the batch locked, with the writer's savepoint open.
#[derive(Debug)]
pub(crate) struct Turn {
    batch: OwnedMutexGuard<Batch>,
    wake: Arc<Notify>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Whatever the turn's outcome, the committer has something to do: commit released
        // work, or roll back an abandoned savepoint and end an otherwise empty transaction.
        self.wake.notify_one();
    }
}

impl Group {
    /// Creates the group and starts its committer on the current tokio runtime.
    pub(crate) fn new(cache: Arc<LocalCache>, key: Arc<MasterKey>) -> Group {
        let batch = Arc::new(Mutex::new(Batch::default()));
        let wake = Arc::new(Notify::new());
        let committer = tokio::spawn(commit_loop(
            batch.clone(),
            wake.clone(),
            cache.clone(),
            key.clone(),
        ));
        Group {
            batch,
            wake,
            cache,
            key,
            committer: committer.abort_handle(),
        }
    }

    /// Starts a writer's turn: joins the open transaction (or opens one) in a new savepoint.
    pub(crate) async fn begin(&self, pool: &SqlitePool) -> Result<Turn> {
        let mut batch = self.batch.clone().lock_owned().await;
        batch.settle().await;
        if batch.tx.is_none() {
            batch.tx = Some(pool.begin_with("BEGIN IMMEDIATE").await?);
        }
        let conn = batch.conn()?;
        sqlx::query(SAVEPOINT).execute(&mut *conn).await?;
        batch.savepoint_open = true;
        batch.chain_at_savepoint = batch.chain.clone();
        Ok(Turn {
            batch,
            wake: self.wake.clone(),
        })
    }

    /// Counters since the store opened.
    pub(crate) async fn stats(&self) -> GroupStats {
        self.batch.lock().await.stats
    }

    /// Exclusive use of the database outside the shared transaction (for autocommit writes):
    /// commits what is pending first, and holds every writer off while the guard lives.
    pub(crate) async fn exclusive(&self) -> OwnedMutexGuard<Batch> {
        let mut batch = self.batch.clone().lock_owned().await;
        batch.commit_pending(&self.cache, &self.key).await;
        batch
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Every `Tx` holds the store, so no writer can be waiting when the group goes.
        self.committer.abort();
    }
}

impl Turn {
    /// The shared transaction's connection.
    pub(crate) fn conn(&mut self) -> Result<&mut SqliteConnection> {
        self.batch.conn()
    }

    /// Appends audit records after the chain head this transaction has reached.
    pub(crate) async fn append_audit(&mut self, records: &[AuditRecord]) -> Result<Vec<Appended>> {
        let batch = &mut *self.batch;
        let head = match batch.chain.take() {
            Some(head) => head,
            None => {
                let conn = batch.conn()?;
                audit::read_head(Conn::Sqlite(conn)).await?
            }
        };
        let mut moved = head.clone();
        let conn = match batch.conn() {
            Ok(c) => c,
            Err(e) => {
                batch.chain = Some(head);
                return Err(e);
            }
        };
        match audit::insert_chained(Conn::Sqlite(conn), &mut moved, records).await {
            Ok(appended) => {
                batch.chain = Some(moved);
                Ok(appended)
            }
            Err(e) => {
                // Rows of a failed multi-row insert go with the savepoint's rollback.
                batch.chain = Some(head);
                Err(e)
            }
        }
    }

    /// Forgets the cached chain head (after a statement rewrote the head row itself).
    pub(crate) fn forget_chain_head(&mut self) {
        self.batch.chain = None;
    }

    /// Keeps the writer's changes and registers it for the next commit; the returned receiver
    /// answers once that commit is durable (or failed). Dropping the turn lets it run.
    pub(crate) async fn release(
        &mut self,
        touched: Touched,
    ) -> Result<oneshot::Receiver<Result<()>>> {
        let released = match self.batch.conn() {
            Ok(conn) => sqlx::query(RELEASE)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from),
            Err(e) => Err(e),
        };
        // On failure `savepoint_open` stays set: the next turn rolls the savepoint back.
        released?;
        self.batch.savepoint_open = false;
        self.batch.touched.merge(touched);
        let (tx, rx) = oneshot::channel();
        self.batch.waiters.push(tx);
        Ok(rx)
    }

    /// Undoes the writer's changes; the shared transaction goes on for the others.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        let result = self.batch.undo_savepoint().await;
        if result.is_err() {
            self.batch.abort(StoreError::Database(
                "a savepoint could not be rolled back; the batch was abandoned".into(),
            ));
        }
        result
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("open", &self.tx.is_some())
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

impl Batch {
    fn conn(&mut self) -> Result<&mut SqliteConnection> {
        match self.tx.as_mut() {
            Some(tx) => Ok(&mut **tx),
            None => Err(StoreError::Database(
                "the shared write transaction is not open".into(),
            )),
        }
    }

    async fn undo_savepoint(&mut self) -> Result<()> {
        let conn = self.conn()?;
        sqlx::query(ROLLBACK_TO).execute(&mut *conn).await?;
        sqlx::query(RELEASE).execute(&mut *conn).await?;
        self.savepoint_open = false;
        self.chain = self.chain_at_savepoint.take();
        Ok(())
    }

    /// Rolls back the savepoint of a writer that went away without finishing its turn (its
    /// future was dropped); if even that fails, the whole batch is abandoned.
    async fn settle(&mut self) {
        if self.savepoint_open && self.tx.is_some() {
            if let Err(e) = self.undo_savepoint().await {
                tracing::error!(error = %e, "abandoned savepoint could not be rolled back");
                self.abort(e);
            }
        }
        self.savepoint_open = false;
    }

    /// Rolls the whole transaction back and fails every waiter.
    fn abort(&mut self, err: StoreError) {
        self.tx = None;
        self.chain = None;
        self.chain_at_savepoint = None;
        self.savepoint_open = false;
        self.touched = Touched::default();
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(Err(err.clone()));
        }
    }

    /// Commits the released writers' work in one fsync and answers them; ends a transaction
    /// that holds nobody's work.
    async fn commit_pending(&mut self, cache: &LocalCache, key: &MasterKey) {
        self.settle().await;
        self.chain_at_savepoint = None;
        if let Some(head) = self.chain.take() {
            let stored = match self.conn() {
                Ok(conn) => audit::write_head(Conn::Sqlite(conn), key, &head).await,
                Err(e) => Err(e),
            };
            if let Err(e) = stored {
                tracing::error!(error = %e, "storing the audit chain head failed; batch abandoned");
                self.abort(e);
                return;
            }
        }
        let Some(tx) = self.tx.take() else {
            return;
        };
        if self.waiters.is_empty() {
            if let Err(e) = tx.rollback().await {
                tracing::warn!(error = %e, "ending an empty write transaction failed");
            }
            return;
        }
        let result = tx.commit().await.map_err(StoreError::from);
        self.stats.commits += 1;
        self.stats.writes += self.waiters.len() as u64;
        // Invalidate only now that the commit is visible (see `cache`), and also after a
        // failed commit: a needless invalidation is harmless.
        std::mem::take(&mut self.touched).bump(cache);
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}

async fn commit_loop(
    batch: Arc<Mutex<Batch>>,
    wake: Arc<Notify>,
    cache: Arc<LocalCache>,
    key: Arc<MasterKey>,
) {
    loop {
        wake.notified().await;
        // Writers queued before this lock (FIFO) join the batch before it commits.
        let mut batch = batch.lock().await;
        batch.commit_pending(&cache, &key).await;
    }
}
