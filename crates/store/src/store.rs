//! The store handle: opening a backend, running migrations, handing out repositories and
//! transactions.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection;

use crate::accounts::Accounts;
use crate::audit::{Appended, AuditRecord};
use crate::audit_lookup::{EventPage, LookupQuery};
use crate::config::{Backend, StoreConfig};
use crate::credentials::Credentials;
use crate::crypto::MasterKey;
use crate::db::{Handle, Pools};
use crate::error::{Result, StoreError};
use crate::settings::Settings;
use crate::tx::{Tx, TxInner};

/// Retries of a transaction that failed with a serialization failure or SQLite busy.
const MAX_RETRIES: u32 = 8;

/// Rampart's persistence. Cheap to clone (an `Arc`), `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

/// The next [`Store::instance`].
static NEXT_INSTANCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) pools: Pools,
    pub(crate) key: Arc<MasterKey>,
    /// SQLite allows one writer at a time; queueing here (FIFO) beats SQLite's busy handler.
    /// Unused on Postgres, where row locks do the queueing.
    /// SQLite only: the shared write transaction (group commit) every writer goes through.
    pub(crate) group: Option<crate::group::Group>,
    /// Read caches, enabled only where this process is the database's sole writer (SQLite).
    pub(crate) cache: Arc<crate::cache::LocalCache>,
    /// SQLite only: the audit journal for records that commit with no call of their own.
    pub(crate) journal: Option<crate::journal::Journal>,
    /// This store's number in the process (see [`Store::instance`]).
    pub(crate) instance: u64,
}

/// Which kind of database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL or a Postgres-wire database.
    Postgres,
}

impl Store {
    /// Connects (creating the SQLite file if needed) and applies pending migrations.
    pub async fn open(config: StoreConfig) -> Result<Store> {
        let journal = match &config.backend {
            Backend::Sqlite { path } => Some(crate::journal::Journal::new(
                StoreConfig::journal_dir(path),
                config.master_key.clone(),
                config.journal_segment_bytes,
            )),
            Backend::Postgres { .. } => None,
        };
        let pools = match &config.backend {
            Backend::Sqlite { path } => open_sqlite(path, &config).await?,
            Backend::Postgres { url, schema } => {
                open_postgres(url, schema.as_deref(), &config).await?
            }
        };
        crate::migrate::run(&pools).await?;
        let sole_writer = matches!(pools, Pools::Sqlite(_));
        let cache = Arc::new(crate::cache::LocalCache::new(sole_writer));
        let group =
            sole_writer.then(|| crate::group::Group::new(cache.clone(), config.master_key.clone()));
        let store = Store {
            inner: Arc::new(Inner {
                pools,
                key: config.master_key,
                group,
                cache,
                journal,
                instance: NEXT_INSTANCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            }),
        };
        store.check_master_key().await?;
        Ok(store)
    }

    /// Fails fast with `MasterKey` if this database was sealed under another key (e.g. a lost
    /// `master.key` or a wrong `RAMPART_MASTER_KEY`), instead of failing at the first login.
    /// The first open stores a sealed marker that later opens must be able to open.
    async fn check_master_key(&self) -> Result<()> {
        use base64::Engine;
        const KEY: &str = "store.master_key_check";
        let aad = crate::crypto::aad_for("settings", "value", KEY);
        let b64 = base64::engine::general_purpose::STANDARD;
        let marker = b64.encode(self.inner.key.seal(&aad, b"rampart")?);
        if self.settings().insert_if_absent(KEY, &marker).await? {
            return Ok(());
        }
        let stored = self
            .settings()
            .get(KEY)
            .await?
            .ok_or_else(|| StoreError::MasterKey("key check marker vanished".into()))?;
        let sealed = b64
            .decode(stored)
            .map_err(|_| StoreError::Corrupt("key check marker is not base64".into()))?;
        match self.inner.key.open(&aad, &sealed) {
            Ok(_) => Ok(()),
            Err(_) => Err(StoreError::MasterKey(
                "the master key does not match the one this database was created with".into(),
            )),
        }
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> BackendKind {
        match self.inner.pools {
            Pools::Sqlite(_) => BackendKind::Sqlite,
            Pools::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Group-commit counters (SQLite only; PostgreSQL commits each transaction alone).
    pub async fn group_commit_stats(&self) -> Option<crate::group::GroupStats> {
        match &self.inner.group {
            Some(g) => Some(g.stats().await),
            None => None,
        }
    }

    /// The master key sealing secrets (for services that seal their own values, e.g. KMS).
    pub fn master_key(&self) -> &MasterKey {
        &self.inner.key
    }

    /// Signalled once a write of this process that appended to the resource change log
    /// (`Changes`) is visible: its reader (AWS Config's recording job) waits on it so a change
    /// is processed at once rather than at the next poll. One permit is kept while nobody
    /// waits; writes of other nodes sharing a PostgreSQL database do not signal here.
    pub fn change_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.inner.cache.change_signal()
    }

    /// A number unique to this open store within the process, so an in-memory cache shared
    /// by several stores (tests run many servers in one process) never mixes their entries.
    pub fn instance(&self) -> u64 {
        self.inner.instance
    }

    /// Starts a write transaction. On SQLite it waits for the store's writer lock, then takes
    /// SQLite's write lock at once (`BEGIN IMMEDIATE`) so a read-then-write transaction cannot
    /// fail half-way on lock upgrade; keep SQLite transactions short. While a task holds a
    /// `Tx` it must not begin another or write through `store.*()` on SQLite: that would wait
    /// for its own lock.
    pub async fn begin(&self) -> Result<Tx> {
        match &self.inner.pools {
            Pools::Sqlite(p) => {
                let group = self.inner.group.as_ref().ok_or_else(|| {
                    StoreError::Database("the SQLite store has no write group".into())
                })?;
                let turn = group.begin(p).await?;
                Ok(Tx::new(TxInner::Sqlite(turn), self.clone()))
            }
            Pools::Postgres(p) => Ok(Tx::new(TxInner::Postgres(p.begin().await?), self.clone())),
        }
    }

    /// Starts a write transaction of a job's step: under the job's `lease` (when there is
    /// one) it commits only while that lease is still current ([`crate::Jobs::fence`]).
    pub async fn begin_fenced(&self, lease: Option<&crate::Lease>) -> Result<Tx> {
        let mut tx = self.begin().await?;
        if let Some(lease) = lease {
            tx.jobs().fence(lease).await?;
        }
        Ok(tx)
    }

    /// Runs `f` again (with jittered backoff) while it fails with a retryable error; `f` must
    /// begin and commit its own transaction each time.
    pub async fn retry<T, F, Fut>(&self, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0u32;
        loop {
            match f().await {
                Err(e) if e.is_retryable() && attempt < MAX_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Accounts, each call committing on its own.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts::new(Handle::Store(self))
    }

    /// Access keys, each call committing on its own.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials::new(Handle::Store(self))
    }

    /// Settings (key/value), each call committing on its own.
    pub fn settings(&self) -> Settings<'_> {
        Settings::new(Handle::Store(self))
    }

    /// Appends one audit record in its own transaction (retried on conflicts).
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<Appended> {
        self.retry(|| async {
            let mut tx = self.begin().await?;
            let a = tx.append_audit(record).await?;
            tx.commit().await?;
            Ok(a)
        })
        .await
    }

    /// The audit journal's writer, opened (and the journal directory locked) on first use;
    /// `None` on PostgreSQL, where every record goes to the shared audit table.
    pub(crate) fn journal_writer(&self) -> Result<Option<Arc<crate::journal::JournalWriter>>> {
        self.inner.journal.as_ref().map(|j| j.writer()).transpose()
    }

    /// CloudTrail `LookupEvents` over the audit table and the journal: newest first, one page.
    pub async fn lookup_events(&self, query: &LookupQuery) -> Result<EventPage> {
        use crate::audit_lookup::{decode_token, merge_page, page_size};
        let page = page_size(query);
        let after = query.next_token.as_deref().map(decode_token).transpose()?;
        // One more than a page from each side tells whether another page exists.
        let table = {
            let mut h = Handle::Store(self);
            let mut g = h.conn().await?;
            crate::audit_lookup::lookup(g.conn(), query, after, page + 1).await?
        };
        let journal = match self.inner.journal {
            Some(_) => {
                let store = self.clone();
                let q = query.clone();
                tokio::task::spawn_blocking(move || match &store.inner.journal {
                    Some(j) => crate::journal::lookup(j, &q, after, page + 1),
                    None => Ok(Vec::new()),
                })
                .await
                .map_err(|e| StoreError::Database(format!("journal lookup: {e}")))??
            }
            None => Vec::new(),
        };
        Ok(merge_page(table, journal, page))
    }

    /// Checks that the database answers (for health endpoints).
    pub async fn ping(&self) -> Result<()> {
        match &self.inner.pools {
            Pools::Sqlite(p) => p.acquire().await?.ping().await?,
            Pools::Postgres(p) => p.acquire().await?.ping().await?,
        }
        Ok(())
    }

    /// Closes every pooled connection (after the audit writer has flushed).
    pub async fn close(&self) {
        match &self.inner.pools {
            Pools::Sqlite(p) => p.close().await,
            Pools::Postgres(p) => p.close().await,
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    let mut r = [0u8; 2];
    let jitter = match aws_lc_rs::rand::fill(&mut r) {
        Ok(()) => u64::from(u16::from_le_bytes(r)) % 20,
        Err(_) => 10,
    };
    Duration::from_millis(5u64.saturating_mul(1 << attempt.min(6)) + jitter)
}

async fn open_sqlite(path: &std::path::Path, config: &StoreConfig) -> Result<Pools> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
    }
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk when it returns, also in WAL mode (NORMAL can lose the
        // last commits on power loss).
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(config.busy_timeout)
        .foreign_keys(true)
        // Checkpoint every ~40 MB of WAL instead of every ~4 MB: the audit log appends to the
        // same index leaf pages over and over, and each checkpoint copies a page once however
        // often it changed in between.
        .pragma("wal_autocheckpoint", "10000");
    let pool = SqlitePoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.busy_timeout)
        .connect_with(opts)
        .await
        .map_err(|e| {
            if crate::sqlite_check::is_damage(&e) {
                crate::sqlite_check::damaged(path, &e.to_string())
            } else {
                e.into()
            }
        })?;
    restrict_permissions(path);
    crate::sqlite_check::quick_check(&pool, path).await?;
    Ok(Pools::Sqlite(pool))
}

/// The database holds account data and the audit log; keep it private like the key file.
fn restrict_permissions(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot restrict database permissions");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

async fn open_postgres(url: &str, schema: Option<&str>, config: &StoreConfig) -> Result<Pools> {
    let mut opts = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Database(format!("bad PostgreSQL URL: {e}")))?;
    if let Some(schema) = schema {
        if !is_plain_identifier(schema) {
            return Err(StoreError::InvalidInput(format!(
                "schema name {schema:?} must match [a-z_][a-z0-9_]*"
            )));
        }
        let mut conn = sqlx::PgConnection::connect_with(&opts).await?;
        let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        sqlx::Executor::execute(&mut conn, sqlx::raw_sql(&create)).await?;
        conn.close().await?;
        opts = opts.options([("search_path", schema)]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.busy_timeout)
        .connect_with(opts)
        .await?;
    Ok(Pools::Postgres(pool))
}

fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_plain_identifier("rampart_test_1"));
        assert!(!is_plain_identifier("x; DROP TABLE y"));
        assert!(!is_plain_identifier("1abc"));
        assert!(!is_plain_identifier(""));
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) < backoff(6));
        assert!(backoff(30) <= Duration::from_millis(5 * 64 + 20));
    }
}
