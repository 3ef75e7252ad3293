//! The store's error type and the mapping from database errors onto it.

use std::borrow::Cow;

/// Everything a store operation can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A unique constraint (primary key, unique email, event id, ...) was violated.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The change conflicts with other rows (a foreign key, a check constraint, a state rule).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A transient concurrency failure (SQLSTATE 40001/40P01, SQLite busy): retry the transaction.
    #[error("transaction must be retried: {0}")]
    Retryable(String),
    /// The caller passed something the store cannot accept (e.g. a malformed pagination token).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
    /// Sealing or opening a secret failed (wrong key, tampered ciphertext, wrong AAD).
    #[error("crypto error: {0}")]
    Crypto(String),
    /// The master key could not be loaded or created.
    #[error("master key error: {0}")]
    MasterKey(String),
    /// Applying or checking schema migrations failed.
    #[error("migration error: {0}")]
    Migration(String),
    /// Stored data is not what the store wrote (an unknown enum value, a bad hash).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A job step's fencing token is no longer its lease's: another node owns the job now,
    /// and the step's writes must not commit.
    #[error("lease lost: {0}")]
    Fenced(String),
    /// The background audit writer has stopped and can take no more records.
    #[error("audit writer closed")]
    WriterClosed,
}

impl StoreError {
    /// True when running the same transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Retryable(_))
    }
}

/// The result type of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or(Cow::Borrowed(""));
                if is_retryable_code(&code) {
                    return StoreError::Retryable(db.message().to_string());
                }
                if db.is_unique_violation() {
                    return StoreError::AlreadyExists(db.message().to_string());
                }
                if db.is_foreign_key_violation() || db.is_check_violation() {
                    return StoreError::Conflict(db.message().to_string());
                }
                StoreError::Database(e.to_string())
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

/// SQLSTATE 40001 (serialization failure) and 40P01 (deadlock) on Postgres-wire databases, and
/// SQLite's BUSY family (5, 517 busy-snapshot, 261 busy-recovery) when the busy timeout ran out.
fn is_retryable_code(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | "5" | "261" | "517")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes() {
        assert!(is_retryable_code("40001"));
        assert!(is_retryable_code("517"));
        assert!(!is_retryable_code("23505"));
        assert!(StoreError::Retryable("x".into()).is_retryable());
        assert!(!StoreError::NotFound("x".into()).is_retryable());
    }
}
