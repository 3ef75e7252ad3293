//! The embedded database's integrity, checked when the store opens: a damaged or truncated file
//! is refused at start, with what to do, instead of failing the first query that reads a
//! damaged page.

use std::path::Path;

use sqlx::SqlitePool;

use crate::error::{Result, StoreError};

/// Runs `PRAGMA quick_check` (every page and b-tree, without cross-checking indexes against
/// their tables): proportional to the file's size, tens of milliseconds for a typical store.
pub(crate) async fn quick_check(pool: &SqlitePool, path: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(8)")
        .fetch_all(pool)
        .await
        .map_err(|e| damaged(path, &e.to_string()))?;
    if rows.as_slice() == ["ok"] {
        tracing::info!(
            path = %path.display(),
            elapsed_ms = started.elapsed().as_millis(),
            "database integrity check (quick_check) passed"
        );
        return Ok(());
    }
    Err(damaged(path, &rows.join("; ")))
}

/// True when SQLite reports a damaged file (`SQLITE_CORRUPT`) or not a database at all
/// (`SQLITE_NOTADB`), in their extended forms too.
pub(crate) fn is_damage(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|code| matches!(code & 0xff, 11 | 26))
}

/// The error that stops start-up on a damaged database.
pub(crate) fn damaged(path: &Path, detail: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "{} fails SQLite's integrity check ({detail}): the database is damaged or truncated. \
         Restore it (with its -wal file, if backed up) from a backup; do not delete it to get \
         going again, a new installation has none of its accounts, keys or audit records",
        path.display()
    ))
}
