//! Versioned schema migrations, embedded in the binary and applied at open.
//!
//! Our own small runner rather than sqlx's: sqlx's migrator takes a Postgres advisory lock,
//! which CockroachDB and YugabyteDB lack. Here each migration runs in one transaction that
//! first inserts its version row; a node racing us blocks on (or fails with) that primary
//! key, and then sees the migration as applied. DDL is transactional on every backend we use.

use aws_lc_rs::digest;

use crate::db::{dispatch, to_ms, Conn, ConnGuard, Pools};
use crate::error::{Result, StoreError};

/// One embedded migration.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "entities",
        sql: include_str!("../migrations/sqlite/0002_entities.sql"),
    },
    Migration {
        version: 3,
        name: "audit_rowid",
        sql: include_str!("../migrations/sqlite/0003_audit_rowid.sql"),
    },
    Migration {
        version: 4,
        name: "audit_genesis",
        sql: include_str!("../migrations/sqlite/0004_audit_genesis.sql"),
    },
    Migration {
        version: 5,
        name: "jobs",
        sql: include_str!("../migrations/sqlite/0005_jobs.sql"),
    },
    Migration {
        version: 6,
        name: "resource_changes",
        sql: include_str!("../migrations/sqlite/0006_resource_changes.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "entities",
        sql: include_str!("../migrations/postgres/0002_entities.sql"),
    },
    Migration {
        version: 3,
        name: "audit_genesis",
        sql: include_str!("../migrations/postgres/0003_audit_genesis.sql"),
    },
    Migration {
        version: 4,
        name: "jobs",
        sql: include_str!("../migrations/postgres/0004_jobs.sql"),
    },
    Migration {
        version: 5,
        name: "resource_changes",
        sql: include_str!("../migrations/postgres/0005_resource_changes.sql"),
    },
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS rampart_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL
)";

fn checksum(sql: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, sql.as_bytes()).as_ref())
}

/// Brings the schema up to the newest embedded version.
pub(crate) async fn run(pools: &Pools) -> Result<()> {
    let migrations = match pools {
        Pools::Sqlite(_) => SQLITE,
        Pools::Postgres(_) => POSTGRES,
    };
    // Two nodes creating the bookkeeping table at once can collide in Postgres' catalog;
    // the loser simply tries again and finds it.
    let mut created = false;
    for _ in 0..3 {
        let mut g = ConnGuard::acquire(pools).await?;
        let r: Result<()> = dispatch!(g.conn(), c => {
            sqlx::query(CREATE_TABLE).execute(&mut *c).await.map(|_| ()).map_err(Into::into)
        });
        if r.is_ok() {
            created = true;
            break;
        }
    }
    if !created {
        return Err(StoreError::Migration(
            "cannot create rampart_migrations".into(),
        ));
    }

    let newest = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    let mut g = ConnGuard::acquire(pools).await?;
    let applied_max: Option<i64> = dispatch!(g.conn(), c => {
        sqlx::query_scalar("SELECT MAX(version) FROM rampart_migrations")
            .fetch_one(&mut *c)
            .await?
    });
    drop(g);
    if let Some(v) = applied_max {
        if v > newest {
            return Err(StoreError::Migration(format!(
                "database schema version {v} is newer than this binary's {newest}; upgrade Rampart"
            )));
        }
    }

    for m in migrations {
        apply(pools, m).await?;
    }
    Ok(())
}

async fn apply(pools: &Pools, m: &Migration) -> Result<()> {
    let sum = checksum(m.sql);
    if check_applied(pools, m, &sum).await? {
        return Ok(());
    }
    let outcome: Result<()> = match pools {
        Pools::Sqlite(p) => {
            let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
            let r = apply_in(Conn::Sqlite(&mut tx), m, &sum).await;
            match r {
                Ok(()) => tx.commit().await.map_err(Into::into),
                Err(e) => Err(e),
            }
        }
        Pools::Postgres(p) => {
            let mut tx = p.begin().await?;
            let r = apply_in(Conn::Postgres(&mut tx), m, &sum).await;
            match r {
                Ok(()) => tx.commit().await.map_err(Into::into),
                Err(e) => Err(e),
            }
        }
    };
    match outcome {
        Ok(()) => {
            tracing::info!(version = m.version, name = m.name, "applied migration");
            Ok(())
        }
        // Another node applied it between our check and our insert.
        Err(StoreError::AlreadyExists(_)) | Err(StoreError::Retryable(_)) => {
            if check_applied(pools, m, &sum).await? {
                Ok(())
            } else {
                Err(StoreError::Migration(format!(
                    "migration {} raced and is still missing",
                    m.version
                )))
            }
        }
        Err(e) => Err(StoreError::Migration(format!(
            "migration {} ({}) failed: {e}",
            m.version, m.name
        ))),
    }
}

async fn apply_in(conn: Conn<'_>, m: &Migration, sum: &str) -> Result<()> {
    let now = to_ms(chrono::Utc::now());
    dispatch!(conn, c => {
        sqlx::query("INSERT INTO rampart_migrations (version, name, checksum, applied_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(sum)
            .bind(now)
            .execute(&mut *c)
            .await?;
        sqlx::Executor::execute(&mut *c, sqlx::raw_sql(m.sql)).await?;
    });
    Ok(())
}

/// True if applied; an error if applied with different contents (an edited migration).
async fn check_applied(pools: &Pools, m: &Migration, sum: &str) -> Result<bool> {
    const Q: &str = "SELECT checksum FROM rampart_migrations WHERE version = $1";
    let mut g = ConnGuard::acquire(pools).await?;
    let found: Option<String> = dispatch!(g.conn(), c => {
        sqlx::query_scalar(Q).bind(m.version).fetch_optional(&mut *c).await?
    });
    match found {
        None => Ok(false),
        Some(s) if s == sum => Ok(true),
        Some(_) => Err(StoreError::Migration(format!(
            "migration {} ({}) was changed after it was applied",
            m.version, m.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 3 rebuilds the audit tables: existing records, their resources and the
    /// foreign key between them survive, and `seq` becomes the rowid.
    #[tokio::test]
    async fn audit_rowid_migration_keeps_events_and_resources() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let pools = Pools::Sqlite(pool.clone());
        sqlx::query(CREATE_TABLE).execute(&pool).await.unwrap();
        for m in &SQLITE[..2] {
            apply(&pools, m).await.unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO audit_events (seq, event_id, event_time_ms, event_name, event_source,
                read_only, event_json, prev_hash, hash)
             VALUES (1, 'e1', 10, 'A', 's', 1, '{}', 'p', 'h1'),
                    (2, 'e2', 20, 'B', 's', 0, '{}', 'h1', 'h2');
             INSERT INTO audit_resources VALUES (2, 0, 'T', 'n');",
        )
        .execute(&pool)
        .await
        .unwrap();
        run(&pools).await.unwrap();
        let rows: Vec<(i64, i64, String)> =
            sqlx::query_as("SELECT rowid, seq, event_id FROM audit_events ORDER BY seq")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(rows, vec![(1, 1, "e1".into()), (2, 2, "e2".into())]);
        let res: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, resource_name FROM audit_resources")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(res, vec![(2, "n".into())]);
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&pool)
            .await
            .unwrap();
        let orphan = sqlx::query("INSERT INTO audit_resources VALUES (99, 0, 'T', 'n')")
            .execute(&pool)
            .await;
        assert!(orphan.is_err(), "the foreign key must follow the rename");
    }
}
