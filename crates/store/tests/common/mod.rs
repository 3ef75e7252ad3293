//! Test harness: a fresh store per test on SQLite (always) or PostgreSQL (when
//! `RAMPART_TEST_DATABASE_URL` is set; each test gets its own schema), plus a raw connection
//! to tamper with the data the way an attacker with database access would.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rampart_store::{
    AccessKey, Account, AccountStatus, AuditRecord, AuditResource, KeyStatus, MasterKey, Principal,
    PrincipalKind, Store, StoreConfig,
};
use sqlx::Connection;

pub const PG_ENV: &str = "RAMPART_TEST_DATABASE_URL";

pub enum Target {
    Sqlite { dir: PathBuf, path: PathBuf },
    Postgres { url: String, schema: String },
}

/// The account id the test stores' audit trails are created for.
pub const ACCOUNT: &str = "123456789012";

pub struct Harness {
    pub store: Store,
    pub target: Target,
    pub key: Arc<MasterKey>,
}

impl Harness {
    pub async fn sqlite() -> Harness {
        let dir = std::env::temp_dir().join(format!("rampart-store-{}", uuid::Uuid::new_v4()));
        let path = dir.join("rampart.db");
        let key = Arc::new(MasterKey::generate().unwrap());
        let store = Store::open(StoreConfig::sqlite_in(&dir, key.clone()))
            .await
            .unwrap();
        store.ensure_audit_genesis(ACCOUNT).await.unwrap();
        Harness {
            store,
            target: Target::Sqlite { dir, path },
            key,
        }
    }

    pub async fn postgres() -> Option<Harness> {
        let url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        let schema = format!("rampart_t_{}", uuid::Uuid::new_v4().simple());
        let key = Arc::new(MasterKey::generate().unwrap());
        let store = Store::open(StoreConfig::postgres(&url, key.clone()).with_schema(&schema))
            .await
            .unwrap();
        store.ensure_audit_genesis(ACCOUNT).await.unwrap();
        Some(Harness {
            store,
            target: Target::Postgres { url, schema },
            key,
        })
    }

    /// Opens a second store on the same database (as a restart or a second node would).
    pub async fn reopen(&self) -> Store {
        let cfg = match &self.target {
            Target::Sqlite { path, .. } => StoreConfig::sqlite(path.clone(), self.key.clone()),
            Target::Postgres { url, schema } => {
                StoreConfig::postgres(url, self.key.clone()).with_schema(schema)
            }
        };
        Store::open(cfg).await.unwrap()
    }

    /// Runs SQL on a separate raw connection, bypassing the store.
    pub async fn raw_exec(&self, sql: &str) -> u64 {
        match &self.target {
            Target::Sqlite { path, .. } => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
                let n = sqlx::Executor::execute(&mut c, sqlx::raw_sql(sql))
                    .await
                    .unwrap()
                    .rows_affected();
                c.close().await.unwrap();
                n
            }
            Target::Postgres { url, schema } => {
                let opts: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
                let opts = opts.options([("search_path", schema.as_str())]);
                let mut c = sqlx::PgConnection::connect_with(&opts).await.unwrap();
                let n = sqlx::Executor::execute(&mut c, sqlx::raw_sql(sql))
                    .await
                    .unwrap()
                    .rows_affected();
                c.close().await.unwrap();
                n
            }
        }
    }

    /// Every sealed secret column value, read raw.
    pub async fn raw_sealed_secrets(&self) -> Vec<Vec<u8>> {
        const Q: &str = "SELECT secret_sealed FROM access_keys";
        match &self.target {
            Target::Sqlite { path, .. } => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
                sqlx::query_scalar(Q).fetch_all(&mut c).await.unwrap()
            }
            Target::Postgres { url, schema } => {
                let opts: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
                let opts = opts.options([("search_path", schema.as_str())]);
                let mut c = sqlx::PgConnection::connect_with(&opts).await.unwrap();
                sqlx::query_scalar(Q).fetch_all(&mut c).await.unwrap()
            }
        }
    }

    pub async fn cleanup(&self) {
        self.store.close().await;
        match &self.target {
            Target::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Target::Postgres { schema, .. } => {
                let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                self.raw_exec(&sql).await;
            }
        }
    }
}

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap()
}

pub fn account(id: &str, email: &str) -> Account {
    Account {
        id: id.into(),
        name: format!("acct-{id}"),
        email: email.into(),
        status: AccountStatus::Active,
        is_management: false,
        created_at: t(0),
    }
}

pub fn key(id: &str, account_id: &str, user: &str) -> AccessKey {
    AccessKey {
        access_key_id: id.into(),
        principal: Principal {
            account_id: account_id.into(),
            kind: PrincipalKind::User,
            id: format!("AIDA{user}"),
            arn: format!("arn:aws:iam::{account_id}:user/{user}"),
        },
        status: KeyStatus::Active,
        created_at: t(1),
        last_used: None,
        session: None,
    }
}

pub fn record(n: u32, time: DateTime<Utc>) -> AuditRecord {
    AuditRecord {
        event_id: format!("00000000-0000-4000-8000-{n:012}"),
        event_time: time,
        event_name: "GetCallerIdentity".into(),
        event_source: "sts.amazonaws.com".into(),
        username: Some("root".into()),
        access_key_id: Some("AKIAAAAAAAAAAAAAAAAA".into()),
        read_only: true,
        error_code: None,
        account_id: Some("111111111111".into()),
        resources: vec![],
        event_json: format!(r#"{{"eventVersion":"1.08","n":{n}}}"#),
    }
}

pub fn resource(ty: &str, name: &str) -> AuditResource {
    AuditResource {
        resource_type: Some(ty.into()),
        resource_name: Some(name.into()),
    }
}

/// Runs each named `async fn NAME(h: &Harness)` of the calling test file twice: on SQLite, and
/// on PostgreSQL when `RAMPART_TEST_DATABASE_URL` is set (skipped otherwise).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = super::common::Harness::sqlite().await;
                    super::common::run(h, |h| async move { super::$name(&h).await }).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(h) = super::common::Harness::postgres().await else {
                        eprintln!("skipped: {} is not set", super::common::PG_ENV);
                        return;
                    };
                    super::common::run(h, |h| async move { super::$name(&h).await }).await;
                }
            )*
        }
    };
}

/// Runs `body` on its own task, then drops the harness's database (PostgreSQL schema) even
/// when `body` panicked, and re-raises the panic.
#[allow(dead_code)]
pub async fn run<F, Fut>(h: Harness, body: F)
where
    F: FnOnce(std::sync::Arc<Harness>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let h = std::sync::Arc::new(h);
    let outcome = tokio::spawn(body(h.clone())).await;
    h.cleanup().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
