//! Wiping every row: the dev-mode reset (`POST /_rampart/reset`), never used otherwise.

use crate::audit_chain::GENESIS_HASH;
use crate::audit_genesis::{GENESIS_SETTING, PENDING_SETTING};
use crate::db::dispatch;
use crate::error::Result;
use crate::store::Store;

/// Tables in an order that respects foreign keys (children first).
const TABLES: &[&str] = &[
    "audit_resources",
    "audit_events",
    "links",
    "entities",
    "access_keys",
    "accounts",
    "stream_cursors",
    "outbox",
    "resource_changes",
];

impl Store {
    /// Deletes every row of every table and restarts the audit chain at its genesis, in one
    /// transaction. Only the dev-mode reset calls this: it also erases the audit trail.
    pub async fn wipe_all(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        dispatch!(tx.conn()?, c => {
            for table in TABLES {
                sqlx::query(&format!("DELETE FROM {table}"))
                    .execute(&mut *c)
                    .await?;
            }
            // The store's own `store.*` settings (the master key check) describe the database,
            // not the emulated state, and must survive a reset.
            sqlx::query("DELETE FROM settings WHERE key NOT LIKE 'store.%'")
                .execute(&mut *c)
                .await?;
            // Bumped, not reset: nodes cache policy sets per epoch and must not reuse them.
            sqlx::query("UPDATE authz_epoch SET epoch = epoch + 1 WHERE id = 1")
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE audit_head SET seq = 0, hash = $1, mac = '' WHERE id = 1")
                .bind(GENESIS_HASH)
                .execute(&mut *c)
                .await?;
            // The trail starts over: its genesis is recorded again by the next
            // `ensure_audit_genesis` (the reset's bootstrap).
            sqlx::query("DELETE FROM settings WHERE key = $1")
                .bind(GENESIS_SETTING)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, '1', 0)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(PENDING_SETTING)
            .execute(&mut *c)
            .await?;
        });
        tx.forget_chain_head();
        tx.touched.mark(crate::cache::Domain::Credentials);
        tx.touched.mark(crate::cache::Domain::Epoch);
        tx.touched.mark(crate::cache::Domain::Entities);
        tx.commit().await?;
        match &self.inner.journal {
            Some(j) => j.wipe(),
            None => Ok(()),
        }
    }
}
