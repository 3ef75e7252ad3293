//! The resource change log: what AWS Config records, captured by the write path itself.
//!
//! [`Entities`](crate::Entities), [`Links`](crate::Links) and
//! [`Credentials`](crate::Credentials) append one row to `resource_changes` for every write to
//! a family in [`RECORDED_KINDS`], on the same connection and so in the same transaction as the
//! write: a change commits with its row or not at all. Config reads the rows in `seq` order
//! behind a durable cursor. Families outside the list (S3 objects, audit state, jobs) pay
//! nothing, which keeps the cost on the hot write paths to one small insert on resource writes.

use sqlx::Row;

use crate::db::{dispatch, Conn, Handle};
use crate::error::Result;
use crate::store::Store;
use crate::tx::Tx;

/// The entity and link kinds whose writes are logged: the resource families AWS Config
/// records, and the links and documents their configuration items are built from.
pub const RECORDED_KINDS: &[&str] = &[
    "iam:user",
    "iam:group",
    "iam:role",
    "iam:policy",
    "iam:login-profile",
    "iam:password-policy",
    "iam:attached",
    "iam:member",
    "iam:boundary",
    "iam:mfa",
    "iam:access-key",
    "kms:key",
    "secretsmanager:secret",
    "s3:bucket",
    "s3:account-public-access-block",
    "cloudtrail:trail",
];

/// The kind logged for a user's long-term access key (key: the user's id).
pub const ACCESS_KEY_KIND: &str = "iam:access-key";

/// True when writes to `kind` are logged.
pub(crate) fn is_recorded(kind: &str) -> bool {
    RECORDED_KINDS.contains(&kind)
}

/// One logged change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The position in the log.
    pub seq: i64,
    /// The account owning the resource.
    pub account_id: String,
    /// The entity or link kind written.
    pub kind: String,
    /// The entity's name key, a link's from key, or an access key's user id.
    pub key: String,
    /// True when the entity itself was deleted.
    pub deleted: bool,
}

/// Appends a change on `conn` (the writer's own connection, so inside its transaction);
/// true when it did (the caller then marks [`Domain::Changes`](crate::cache::Domain), so the
/// write's end wakes the log's reader).
pub(crate) async fn log(
    conn: Conn<'_>,
    account_id: &str,
    kind: &str,
    key: &str,
    deleted: bool,
) -> Result<bool> {
    if !is_recorded(kind) {
        return Ok(false);
    }
    dispatch!(conn, c => {
        sqlx::query(
            "INSERT INTO resource_changes (account_id, kind, key, deleted) VALUES ($1, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(kind)
        .bind(key)
        .bind(i32::from(deleted))
        .execute(&mut *c)
        .await?;
    });
    Ok(true)
}

/// Logs a change of the long-term access key `access_key_id` (before it changes or goes),
/// against its owner: a user's id, or the account root's; true when it logged one.
pub(crate) async fn log_access_key(conn: Conn<'_>, access_key_id: &str) -> Result<bool> {
    let n = dispatch!(conn, c => {
        sqlx::query(
            "INSERT INTO resource_changes (account_id, kind, key, deleted)
             SELECT account_id, $1, principal_id, 0 FROM access_keys
             WHERE access_key_id = $2 AND session_token_hash IS NULL
               AND principal_kind IN ('IAMUser', 'Root')",
        )
        .bind(ACCESS_KEY_KIND)
        .bind(access_key_id)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n > 0)
}

/// Reads the change log, on the pool or inside a transaction.
pub struct Changes<'a> {
    h: Handle<'a>,
}

impl<'a> Changes<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Changes { h }
    }

    /// The changes after `seq`, in order, at most `limit`.
    pub async fn after(&mut self, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            let rows = sqlx::query(
                "SELECT seq, account_id, kind, key, deleted FROM resource_changes
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(seq)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let deleted: i32 = r.try_get("deleted")?;
                out.push(Change {
                    seq: r.try_get("seq")?,
                    account_id: r.try_get("account_id")?,
                    kind: r.try_get("kind")?,
                    key: r.try_get("key")?,
                    deleted: deleted != 0,
                });
            }
            Ok(out)
        })
    }

    /// Forgets the changes up to and including `seq` (every reader has processed them).
    pub async fn trim(&mut self, seq: i64) -> Result<u64> {
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            Ok(sqlx::query("DELETE FROM resource_changes WHERE seq <= $1")
                .bind(seq)
                .execute(&mut *c)
                .await?
                .rows_affected())
        })
    }
}

impl Store {
    /// The change log, each call committing alone.
    pub fn changes(&self) -> Changes<'_> {
        Changes::new(Handle::Store(self))
    }
}

impl Tx {
    /// The change log inside this transaction.
    pub fn changes(&mut self) -> Changes<'_> {
        Changes::new(Handle::Tx(self))
    }
}

#[cfg(test)]
mod tests {
    use super::is_recorded;

    #[test]
    fn objects_are_not_recorded_and_buckets_are() {
        assert!(is_recorded("s3:bucket"));
        assert!(!is_recorded("s3:object"));
        assert!(is_recorded("iam:attached"));
    }
}
