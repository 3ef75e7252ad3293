//! Backend plumbing shared by every repository: pools, borrowed connections, the dispatch macro
//! that runs one query text on either backend, and time conversion.

use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::OwnedMutexGuard;

use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::tx::Tx;

/// The connection pool of whichever backend is open.
#[derive(Clone, Debug)]
pub(crate) enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A borrowed connection of either backend; queries are written once and run through
/// [`dispatch!`], which type-checks the same body against both drivers.
pub(crate) enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Conn<'_> {
    /// The same connection for a shorter borrow (to run several helpers on one connection).
    pub(crate) fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// Runs `$body` with `$c` bound to the concrete `&mut Connection` of the active backend.
/// Shared SQL uses `$1`-style placeholders, which both SQLite and Postgres understand.
macro_rules! dispatch {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}
pub(crate) use dispatch;

/// A connection held for one repository call: pooled (autocommit) or borrowed from a [`Tx`].
pub(crate) enum ConnGuard<'a> {
    SqlitePool(PoolConnection<Sqlite>),
    /// A pooled SQLite connection with every other writer held off for one statement.
    SqliteWriter {
        // Declared first so the connection goes back to the pool before the lock is released.
        conn: PoolConnection<Sqlite>,
        _lock: OwnedMutexGuard<crate::group::Batch>,
    },
    PgPool(PoolConnection<Postgres>),
    Borrowed(Conn<'a>),
}

impl ConnGuard<'static> {
    /// A pooled connection (autocommit).
    pub(crate) async fn acquire(pools: &Pools) -> Result<ConnGuard<'static>> {
        Ok(match pools {
            Pools::Sqlite(p) => ConnGuard::SqlitePool(p.acquire().await?),
            Pools::Postgres(p) => ConnGuard::PgPool(p.acquire().await?),
        })
    }
}

impl ConnGuard<'_> {
    /// The connection to run statements on.
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            ConnGuard::SqlitePool(c) | ConnGuard::SqliteWriter { conn: c, .. } => Conn::Sqlite(c),
            ConnGuard::PgPool(c) => Conn::Postgres(c),
            ConnGuard::Borrowed(Conn::Sqlite(c)) => Conn::Sqlite(c),
            ConnGuard::Borrowed(Conn::Postgres(c)) => Conn::Postgres(c),
        }
    }
}

/// Where a repository runs its statements: the store's pool (each call commits on its own) or
/// an open transaction (nothing is visible to others until the transaction commits).
pub(crate) enum Handle<'a> {
    Store(&'a Store),
    Tx(&'a mut Tx),
}

impl Handle<'_> {
    /// A connection for the next statement(s).
    pub(crate) async fn conn(&mut self) -> Result<ConnGuard<'_>> {
        match self {
            Handle::Store(s) => ConnGuard::acquire(&s.inner.pools).await,
            Handle::Tx(t) => Ok(ConnGuard::Borrowed(t.conn()?)),
        }
    }

    /// A connection for a mutating statement. Outside a transaction on SQLite this first
    /// takes the write group (committing what it holds), so writers queue fairly in-process
    /// instead of spinning in SQLite's busy handler (whose sleeps grow to 100 ms).
    pub(crate) async fn write_conn(&mut self) -> Result<ConnGuard<'_>> {
        match self {
            Handle::Store(s) => match &s.inner.pools {
                Pools::Sqlite(p) => {
                    let group = s.inner.group.as_ref().ok_or_else(|| {
                        StoreError::Database("the SQLite store has no write group".into())
                    })?;
                    let lock = group.exclusive().await;
                    Ok(ConnGuard::SqliteWriter {
                        conn: p.acquire().await?,
                        _lock: lock,
                    })
                }
                Pools::Postgres(_) => ConnGuard::acquire(&s.inner.pools).await,
            },
            Handle::Tx(t) => Ok(ConnGuard::Borrowed(t.conn()?)),
        }
    }

    /// Records that a write to `domain` just ran: on the pool it is already committed, so the
    /// read caches are invalidated now; in a transaction, when the transaction ends.
    pub(crate) fn touched(&mut self, domain: crate::cache::Domain) {
        match self {
            Handle::Store(s) => s.inner.cache.bump(domain),
            Handle::Tx(t) => t.touched.mark(domain),
        }
    }

    /// True outside a transaction, where reads see only committed data (and may be cached).
    pub(crate) fn is_pool(&self) -> bool {
        matches!(self, Handle::Store(_))
    }

    /// The store this handle belongs to (for the master key).
    pub(crate) fn store(&self) -> &Store {
        match self {
            Handle::Store(s) => s,
            Handle::Tx(t) => t.store(),
        }
    }
}

/// Times are stored as integer milliseconds since the epoch in both backends: portable, exact,
/// and ordered correctly (SQLite's text timestamps sort wrongly with varying fraction digits).
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Inverse of [`to_ms`].
pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

/// Like [`from_ms`] for nullable columns.
pub(crate) fn from_ms_opt(ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    ms.map(from_ms).transpose()
}

/// The current time truncated to what the store keeps (milliseconds), so values read back
/// compare equal to values written.
pub fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
