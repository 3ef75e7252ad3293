//! Background-work primitives on SQLite and (when `RAMPART_TEST_DATABASE_URL` is set)
//! PostgreSQL: job leases with fencing tokens between two store handles (two nodes), audit
//! stream consumers across restarts and crashes, and the delivery outbox.

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

#[macro_use]
mod common;

use std::collections::HashSet;

use chrono::Duration;
use common::{record, t, Harness};
use rampart_store::{AuditWriter, AuditWriterConfig, Lease, Store, StoreError, StreamSource};

on_both_backends!(
    one_owner_at_a_time_and_renewal_keeps_the_token,
    a_step_runs_once_when_both_nodes_try,
    expired_lease_moves_and_the_stale_token_cannot_commit,
    consumer_sees_every_record_once_across_restart_and_crash,
    a_consumer_of_changes_gets_the_table_alone_and_passes_the_journal,
    two_consumers_on_one_cursor_cannot_both_commit,
    outbox_retries_then_dead_letters,
);

const TTL_S: i64 = 10;

async fn acquire(store: &Store, owner: &str, at: i64) -> Option<Lease> {
    store
        .jobs()
        .acquire("job-a", owner, t(at), Duration::seconds(TTL_S))
        .await
        .unwrap()
}

async fn one_owner_at_a_time_and_renewal_keeps_the_token(h: &Harness) {
    let node_b = h.reopen().await;
    let a = acquire(&h.store, "node-a", 0)
        .await
        .expect("first taker wins");
    assert_eq!(a.token, 1);
    assert!(acquire(&node_b, "node-b", 1).await.is_none());
    let renewed = acquire(&h.store, "node-a", 5).await.unwrap();
    assert_eq!(renewed.token, 1, "a renewal keeps the token");
    assert_eq!(renewed.expires_at, t(5 + TTL_S));
    // Still held at 14 (renewed at 5 until 15).
    assert!(acquire(&node_b, "node-b", 14).await.is_none());
    let rows = node_b.jobs().list().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].owner, "node-a");
}

/// One step: under the lease, count a run in the step's own transaction.
async fn step(store: &Store, lease: &Lease) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.jobs().fence(lease).await?;
    let n: i64 = tx
        .settings()
        .get("runs")
        .await?
        .map_or(0, |v| v.parse().unwrap());
    tx.settings().set("runs", &(n + 1).to_string()).await?;
    tx.commit().await
}

async fn a_step_runs_once_when_both_nodes_try(h: &Harness) {
    let node_b = h.reopen().await;
    let try_step = |store: Store, owner: &'static str| async move {
        match acquire(&store, owner, 0).await {
            Some(lease) => step(&store, &lease).await.map(|()| 1).unwrap_or(0),
            None => 0,
        }
    };
    let (ra, rb) = tokio::join!(
        tokio::spawn(try_step(h.store.clone(), "node-a")),
        tokio::spawn(try_step(node_b.clone(), "node-b")),
    );
    assert_eq!(
        ra.unwrap() + rb.unwrap(),
        1,
        "exactly one node ran the step"
    );
    assert_eq!(
        h.store.settings().get("runs").await.unwrap().as_deref(),
        Some("1")
    );
}

async fn expired_lease_moves_and_the_stale_token_cannot_commit(h: &Harness) {
    let node_b = h.reopen().await;
    let old = acquire(&h.store, "node-a", 0).await.unwrap();
    step(&h.store, &old).await.unwrap();
    // node-a stops renewing (killed); at the lease's end node-b takes over.
    assert!(acquire(&node_b, "node-b", TTL_S - 1).await.is_none());
    let new = acquire(&node_b, "node-b", TTL_S)
        .await
        .expect("takeover at expiry");
    assert_eq!(new.token, old.token + 1);
    // The old owner wakes up: its step and its run record are refused, and nothing it wrote
    // in that transaction stays.
    assert!(matches!(
        step(&h.store, &old).await,
        Err(StoreError::Fenced(_))
    ));
    assert!(matches!(
        h.store.jobs().record_run(&old, t(TTL_S), None).await,
        Err(StoreError::Fenced(_))
    ));
    assert_eq!(
        h.store.settings().get("runs").await.unwrap().as_deref(),
        Some("1")
    );
    assert!(acquire(&h.store, "node-a", TTL_S + 1).await.is_none());
    step(&node_b, &new).await.unwrap();
    node_b
        .jobs()
        .record_run(&new, t(TTL_S), Some("boom"))
        .await
        .unwrap();
    let row = &h.store.jobs().list().await.unwrap()[0];
    assert_eq!(
        (row.owner.as_str(), row.token, row.last_error.as_deref()),
        ("node-b", 2, Some("boom"))
    );
    // A release lets the next node in at once.
    node_b.jobs().release(&new, t(TTL_S + 1)).await.unwrap();
    assert_eq!(
        acquire(&h.store, "node-a", TTL_S + 2).await.unwrap().token,
        3
    );
}

/// Writes 6 mutating records to the audit table and 6 to the journal (the table on
/// PostgreSQL), interleaved in time; returns every event id.
async fn seed_stream(store: &Store) -> HashSet<String> {
    let mut ids = HashSet::new();
    let (writer, task) = AuditWriter::spawn(
        store.clone(),
        AuditWriterConfig {
            max_batch: 4,
            queue: 16,
            linger: std::time::Duration::from_millis(1),
            ..AuditWriterConfig::default()
        },
    )
    .unwrap();
    for i in 1..=12u32 {
        let mut r = record(i, t(i64::from(i)));
        ids.insert(r.event_id.clone());
        if i % 2 == 0 {
            r.read_only = false;
            store.append_audit(&r).await.unwrap();
        } else {
            writer.append(r).await.unwrap();
        }
    }
    writer.flush().await.unwrap();
    drop(writer);
    task.await.unwrap();
    ids
}

/// Processes one batch: marks each record seen (in the batch's transaction), and commits
/// unless `crash`. Returns the event ids processed.
async fn consume_once(store: &Store, limit: usize, crash: bool) -> Vec<String> {
    let mut batch = store.consume("trail-1", limit).await.unwrap();
    let ids: Vec<String> = batch
        .records()
        .iter()
        .map(|r| r.event.record.event_id.clone())
        .collect();
    for id in &ids {
        let first = batch
            .tx()
            .settings()
            .insert_if_absent(&format!("seen/{id}"), "1")
            .await
            .unwrap();
        assert!(first, "{id} processed twice");
    }
    if crash {
        // A crash between the effects and the cursor: the batch goes away uncommitted, and
        // with it the effects, since both live in the one transaction.
        drop(batch);
    } else {
        batch.commit().await.unwrap();
    }
    ids
}

async fn consumer_sees_every_record_once_across_restart_and_crash(h: &Harness) {
    let all = seed_stream(&h.store).await;
    let first = consume_once(&h.store, 5, false).await;
    assert_eq!(first.len(), 5);
    // Stream order: event time, across both chains.
    let batch = h.store.consume("order-check", 12).await.unwrap();
    let times: Vec<_> = batch
        .records()
        .iter()
        .map(|r| r.event.record.event_time)
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    if h.store.backend() == rampart_store::BackendKind::Sqlite {
        assert!(batch
            .records()
            .iter()
            .any(|r| r.source == StreamSource::Journal));
    }
    drop(batch);

    let crashed = consume_once(&h.store, 4, true).await;
    assert_eq!(crashed.len(), 4);
    for id in &crashed {
        let seen = h.store.settings().get(&format!("seen/{id}")).await.unwrap();
        assert!(seen.is_none(), "an uncommitted batch left an effect");
    }
    // Restart: a new store handle on the same database resumes at the cursor.
    let restarted = h.reopen().await;
    let mut rest = Vec::new();
    loop {
        let got = consume_once(&restarted, 4, false).await;
        if got.is_empty() {
            break;
        }
        rest.extend(got);
    }
    assert_eq!(
        rest[..4],
        crashed[..],
        "the crashed batch comes again, in order"
    );
    let seen: HashSet<String> = first.into_iter().chain(rest).collect();
    assert_eq!(seen, all, "every record exactly once");
    let cursor = restarted.stream_cursor("trail-1").await.unwrap();
    assert_eq!(restarted.stream_lag(cursor, 100).await.unwrap(), 0);
    assert_eq!(
        restarted.stream_lag(Default::default(), 100).await.unwrap(),
        12
    );
}

async fn a_consumer_of_changes_gets_the_table_alone_and_passes_the_journal(h: &Harness) {
    seed_stream(&h.store).await;
    // PostgreSQL has no journal: its table holds every record, and the consumer gets them all.
    let sqlite = h.store.backend() == rampart_store::BackendKind::Sqlite;
    let mut got = Vec::new();
    loop {
        let batch = h.store.consume_changes("changes", 4).await.unwrap();
        if batch.records().is_empty() {
            drop(batch);
            break;
        }
        for r in batch.records() {
            assert_eq!(r.source, StreamSource::Table);
            assert!(!sqlite || !r.event.record.read_only, "only changes");
            got.push(r.event.record.event_id.clone());
        }
        batch.commit().await.unwrap();
    }
    let expected = if sqlite { 6 } else { 12 };
    assert_eq!(got.len(), expected, "the table's records, once each");
    // Its cursor stands past the journal's records too: nothing is left for it.
    let cursor = h.store.stream_cursor("changes").await.unwrap();
    assert_eq!(h.store.stream_lag(cursor, 100).await.unwrap(), 0);
}

async fn two_consumers_on_one_cursor_cannot_both_commit(h: &Harness) {
    seed_stream(&h.store).await;
    // One SQLite database has one writing process; two handles would wait on each other's
    // write lock, so the second consumer shares the handle (and queues for its write turn).
    let node_b = match h.store.backend() {
        rampart_store::BackendKind::Sqlite => h.store.clone(),
        rampart_store::BackendKind::Postgres => h.reopen().await,
    };
    let a = h.store.consume("trail-1", 3).await.unwrap();
    let b = tokio::spawn({
        let node_b = node_b.clone();
        async move { node_b.consume("trail-1", 3).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let a_done = a.commit().await;
    assert!(a_done.is_ok());
    let a_done = a_done.unwrap();
    let b = b.await.unwrap().unwrap();
    if b.from() == a_done {
        // SQLite: the second reader waited for the first batch's write turn.
        assert_eq!(h.store.backend(), rampart_store::BackendKind::Sqlite);
        return;
    }
    // PostgreSQL: both read the same cursor; only the first commit moves it.
    assert_eq!(b.from(), Default::default());
    assert!(matches!(b.commit().await, Err(StoreError::Conflict(_))));
    let next = node_b.consume("trail-1", 3).await.unwrap();
    assert_eq!(next.from(), a_done);
}

async fn outbox_retries_then_dead_letters(h: &Harness) {
    // Written in the producer's transaction: a rollback takes the delivery with it.
    let mut tx = h.store.begin().await.unwrap();
    tx.outbox().enqueue("test:http", "{}", t(0)).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(h.store.outbox().due(t(0), 10).await.unwrap().is_empty());

    let mut tx = h.store.begin().await.unwrap();
    let id = tx
        .outbox()
        .enqueue("test:http", r#"{"n":1}"#, t(0))
        .await
        .unwrap();
    tx.settings().set("produced", "1").await.unwrap();
    tx.commit().await.unwrap();
    let due = h.store.outbox().due(t(0), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id.as_str(), due[0].attempts), (id.as_str(), 0));

    h.store
        .outbox()
        .failed(&id, "connection refused", Some(t(5)))
        .await
        .unwrap();
    assert!(h.store.outbox().due(t(4), 10).await.unwrap().is_empty());
    let again = h.store.outbox().due(t(5), 10).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    // Postponed (a rate limit): due later, no attempt counted.
    h.store.outbox().postpone(&id, t(8)).await.unwrap();
    assert!(h.store.outbox().due(t(7), 10).await.unwrap().is_empty());
    let later = h.store.outbox().due(t(8), 10).await.unwrap();
    assert_eq!(later[0].attempts, 1);
    h.store.outbox().failed(&id, "503", None).await.unwrap();
    assert!(h.store.outbox().due(t(100), 10).await.unwrap().is_empty());
    let dead = h.store.outbox().dead(10).await.unwrap();
    assert_eq!(
        (dead[0].attempts, dead[0].last_error.as_deref()),
        (2, Some("503"))
    );
    assert_eq!(h.store.outbox().counts().await.unwrap(), (0, 1));
    // A dead delivery is not brought back by a postponement.
    h.store.outbox().postpone(&id, t(200)).await.unwrap();
    assert!(h.store.outbox().due(t(300), 10).await.unwrap().is_empty());
    assert!(h.store.outbox().delivered(&id).await.unwrap());
    assert_eq!(h.store.outbox().counts().await.unwrap(), (0, 0));
}
