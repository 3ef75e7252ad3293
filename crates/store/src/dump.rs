//! A plain-text dump of the state calls change, for tests that check a failed call changed
//! nothing (and for comparing two stores by eye).

use sqlx::Row;

use crate::db::{dispatch, Handle};
use crate::error::Result;
use crate::store::Store;

/// Each table a call can change and the columns dumped. Left out: the audit trail (every call
/// adds to it) and an access key's last use (noted by reads too); a sealed secret shows as
/// its length.
const TABLES: &[(&str, &[&str])] = &[
    (
        "accounts",
        &[
            "id",
            "name",
            "email",
            "status",
            "is_management",
            "created_at_ms",
        ],
    ),
    (
        "access_keys",
        &[
            "access_key_id",
            "account_id",
            "principal_kind",
            "principal_id",
            "principal_arn",
            "length(secret_sealed)",
            "status",
            "created_at_ms",
            "session_token_hash",
            "expires_at_ms",
            "session_context",
        ],
    ),
    ("settings", &["key", "value", "updated_at_ms"]),
    (
        "entities",
        &[
            "account_id",
            "kind",
            "name_key",
            "name",
            "id",
            "path",
            "arn",
            "created_at_ms",
            "updated_at_ms",
            "doc",
        ],
    ),
    (
        "links",
        &["account_id", "kind", "from_key", "to_key", "created_at_ms"],
    ),
    ("authz_epoch", &["epoch"]),
];

impl Store {
    /// Every row of the tables calls change, one line per row (`table|col|col|...`, NULL as
    /// `~`), sorted. Two dumps are equal when no call changed anything in between, apart from
    /// the audit trail and access keys' last use.
    pub async fn dump_state(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut handle = Handle::Store(self);
        let mut guard = handle.conn().await?;
        for (table, columns) in TABLES {
            let row_text = columns
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '~')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let sql = format!("SELECT '{table}|' || {row_text} AS line FROM {table}");
            dispatch!(guard.conn(), c => {
                for row in sqlx::query(&sql).fetch_all(&mut *c).await? {
                    out.push(row.try_get::<String, _>("line")?);
                }
            });
        }
        out.sort();
        Ok(out)
    }
}
