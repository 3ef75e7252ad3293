//! A small key/value table for server state such as first-start bootstrap markers.

use crate::db::{dispatch, now_ms, to_ms, Handle};
use crate::error::{Result, StoreError};

/// Repository of settings, on the pool or inside a transaction.
pub struct Settings<'a> {
    h: Handle<'a>,
}

impl<'a> Settings<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Settings { h }
    }

    /// The value stored under `key`, if any.
    pub async fn get(&mut self, key: &str) -> Result<Option<String>> {
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *c)
                .await?)
        })
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub async fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        // ON CONFLICT ... DO UPDATE is understood by SQLite (3.24+), PostgreSQL and CockroachDB.
        dispatch!(g.conn(), c => {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                    updated_at_ms = excluded.updated_at_ms",
            )
            .bind(key)
            .bind(value)
            .bind(to_ms(now_ms()))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Stores `value` only if `key` is absent; true if this call stored it. Lets several
    /// nodes race on first start with exactly one winner.
    pub async fn insert_if_absent(&mut self, key: &str, value: &str) -> Result<bool> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(value)
            .bind(to_ms(now_ms()))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Removes `key`; `NotFound` if it was absent.
    pub async fn delete(&mut self, key: &str) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("DELETE FROM settings WHERE key = $1")
                .bind(key)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("setting {key}")));
        }
        Ok(())
    }
}
