//! Durable write benchmarks: single-row inserts (one transaction each), entity writes of a
//! family AWS Config records (which add a change-log row in the same transaction) against an
//! unrecorded one, and audit appends, one by one versus group commit through `AuditWriter`. SQLite always; PostgreSQL too when
//! `RAMPART_TEST_DATABASE_URL` is set. Run: `cargo bench -p rampart-store`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rampart_store::{
    AuditRecord, AuditWriter, AuditWriterConfig, Entity, MasterKey, Store, StoreConfig,
};

/// Records per measured iteration.
const BATCH: u64 = 256;

fn record(n: u64) -> AuditRecord {
    AuditRecord {
        event_id: uuid::Uuid::new_v4().to_string(),
        event_time: chrono::Utc::now(),
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

fn entity(kind: &str, n: u64) -> Entity {
    let now = chrono::Utc::now();
    Entity {
        account_id: "111111111111".into(),
        kind: kind.into(),
        name: format!("e{n}"),
        name_key: format!("e{n}"),
        id: format!("AIDA{n:016}"),
        path: "/".into(),
        arn: format!("arn:aws:iam::111111111111:user/e{n}"),
        created_at: now,
        updated_at: now,
        doc: "{}".into(),
    }
}

/// Drops the benchmark's Postgres schema and SQLite directory.
fn cleanup(rt: &tokio::runtime::Runtime, dir: &std::path::Path, schema: &str) {
    let _ = std::fs::remove_dir_all(dir);
    if let Ok(url) = std::env::var("RAMPART_TEST_DATABASE_URL") {
        rt.block_on(async {
            use sqlx::Connection;
            if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                let _ = sqlx::Executor::execute(&mut c, sqlx::raw_sql(&sql)).await;
            }
        });
    }
}

fn stores(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    schema: &str,
) -> Vec<(&'static str, Store)> {
    let key = Arc::new(MasterKey::generate().expect("key"));
    let mut out = vec![(
        "sqlite",
        rt.block_on(Store::open(StoreConfig::sqlite_in(dir, key.clone())))
            .expect("sqlite store"),
    )];
    // As the server does at first start: the chain verifies from its genesis.
    rt.block_on(out[0].1.ensure_audit_genesis("111111111111"))
        .expect("sqlite genesis");
    if let Ok(url) = std::env::var("RAMPART_TEST_DATABASE_URL") {
        out.push((
            "postgres",
            rt.block_on(Store::open(
                StoreConfig::postgres(url, key).with_schema(schema),
            ))
            .expect("postgres store"),
        ));
        if let Some((_, pg)) = out.last() {
            rt.block_on(pg.ensure_audit_genesis("111111111111"))
                .expect("postgres genesis");
        }
    }
    out
}

fn durable_writes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("rampart-bench-{}", uuid::Uuid::new_v4()));
    let schema = format!("rampart_bench_{}", uuid::Uuid::new_v4().simple());
    let mut counter = 0u64;
    for (name, store) in stores(&rt, &dir, &schema) {
        let mut g = c.benchmark_group(format!("durable_{name}"));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(8))
            .throughput(Throughput::Elements(BATCH));

        g.bench_function("insert_one_row_per_tx", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters * BATCH {
                        counter += 1;
                        let mut tx = store.begin().await.expect("begin");
                        tx.settings()
                            .set(&format!("bench-{counter}"), "v")
                            .await
                            .expect("set");
                        tx.commit().await.expect("commit");
                    }
                    start.elapsed()
                })
            })
        });

        // A user (logged for Config) against an unlogged kind: the same create and update,
        // one transaction each; the difference is the change log's insert.
        for (label, kind) in [
            ("entity_write_logged", "iam:user"),
            ("entity_write_unlogged", "bench:thing"),
        ] {
            g.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters * BATCH {
                            counter += 1;
                            let mut e = entity(kind, counter);
                            let mut tx = store.begin().await.expect("begin");
                            tx.entities().create(&e).await.expect("create");
                            tx.commit().await.expect("commit");
                            e.doc = r#"{"tags":{"k":"v"}}"#.into();
                            let mut tx = store.begin().await.expect("begin");
                            let key = e.name_key.clone();
                            tx.entities().update(&key, &e).await.expect("update");
                            tx.commit().await.expect("commit");
                        }
                        start.elapsed()
                    })
                })
            });
        }

        g.bench_function("audit_append_one_by_one", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for n in 0..iters * BATCH {
                        store.append_audit(&record(n)).await.expect("append");
                    }
                    start.elapsed()
                })
            })
        });

        // 256 concurrent callers each waiting for their own record to be durable: the
        // writer turns them into a few transactions.
        let (writer, task) = rt
            .block_on(async { AuditWriter::spawn(store.clone(), AuditWriterConfig::default()) })
            .expect("audit writer");
        g.bench_function("audit_append_group_commit", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let mut set = tokio::task::JoinSet::new();
                        for n in 0..BATCH {
                            let w = writer.clone();
                            set.spawn(async move { w.append(record(n)).await.expect("append") });
                        }
                        while let Some(r) = set.join_next().await {
                            r.expect("join");
                        }
                    }
                    start.elapsed()
                })
            })
        });
        g.finish();
        rt.block_on(async {
            writer.flush().await.expect("flush");
            drop(writer);
            task.await.expect("writer task");
            assert!(store.verify_chain().await.expect("verify").is_intact());
            store.close().await;
        });
    }
    cleanup(&rt, &dir, &schema);
}

criterion_group!(benches, durable_writes);
criterion_main!(benches);
