//! How to open a store: which backend, where, and under which master key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::crypto::MasterKey;

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "rampart.db";

/// Which database holds the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (created if missing).
    Sqlite {
        /// Path of the database file.
        path: PathBuf,
    },
    /// A PostgreSQL (or Postgres-wire) server.
    Postgres {
        /// Connection URL, e.g. `postgres://user@host:5432/db`.
        url: String,
        /// Optional schema to create and use (via `search_path`); `None` uses the default.
        schema: Option<String>,
    },
}

/// Everything [`crate::Store::open`] needs.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Where the data lives.
    pub backend: Backend,
    /// The key sealing secrets at rest.
    pub master_key: Arc<MasterKey>,
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long a SQLite writer waits for the lock, and a pool waits for a connection.
    pub busy_timeout: Duration,
    /// SQLite only: the size at which an audit journal segment is sealed.
    pub journal_segment_bytes: u64,
}

impl StoreConfig {
    /// An embedded SQLite database at `<data_dir>/rampart.db`.
    pub fn sqlite_in(data_dir: &Path, master_key: Arc<MasterKey>) -> StoreConfig {
        StoreConfig::sqlite(data_dir.join(SQLITE_FILE), master_key)
    }

    /// An embedded SQLite database at an explicit path.
    pub fn sqlite(path: impl Into<PathBuf>, master_key: Arc<MasterKey>) -> StoreConfig {
        StoreConfig {
            backend: Backend::Sqlite { path: path.into() },
            master_key,
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            journal_segment_bytes: crate::journal::DEFAULT_SEGMENT_BYTES,
        }
    }

    /// A PostgreSQL database at `url`.
    pub fn postgres(url: impl Into<String>, master_key: Arc<MasterKey>) -> StoreConfig {
        StoreConfig {
            backend: Backend::Postgres {
                url: url.into(),
                schema: None,
            },
            master_key,
            max_connections: 16,
            busy_timeout: Duration::from_secs(10),
            journal_segment_bytes: crate::journal::DEFAULT_SEGMENT_BYTES,
        }
    }

    /// Picks the backend from a string: a `postgres://`/`postgresql://` URL, a `sqlite://` URL or
    /// a plain file path for SQLite.
    pub fn from_url_or_path(target: &str, master_key: Arc<MasterKey>) -> StoreConfig {
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            StoreConfig::postgres(target, master_key)
        } else {
            let path = target
                .strip_prefix("sqlite://")
                .or_else(|| target.strip_prefix("sqlite:"))
                .unwrap_or(target);
            StoreConfig::sqlite(path, master_key)
        }
    }

    /// Uses (and creates if missing) a Postgres schema; ignored for SQLite.
    pub fn with_schema(mut self, name: impl Into<String>) -> StoreConfig {
        if let Backend::Postgres { schema, .. } = &mut self.backend {
            *schema = Some(name.into());
        }
        self
    }

    /// Sets the size at which audit journal segments are sealed (SQLite only).
    pub fn with_journal_segment_bytes(mut self, bytes: u64) -> StoreConfig {
        self.journal_segment_bytes = bytes;
        self
    }

    /// The audit journal directory beside an embedded database: `<file>-audit`, next to
    /// SQLite's own `-wal` and `-shm` files.
    pub fn journal_dir(path: &Path) -> PathBuf {
        let mut name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push("-audit");
        path.with_file_name(name)
    }

    /// Sets the connection pool size.
    pub fn with_max_connections(mut self, n: u32) -> StoreConfig {
        self.max_connections = n.max(1);
        self
    }
}
