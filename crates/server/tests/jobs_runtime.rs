//! The job runtime in process: the outbox drained through a registered in-memory delivery
//! (retries on the request clock, dead letters), and an audit-stream consumer job that sees
//! every record of both chains once, with its lag in the job's state.

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

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use rampart::{
    app::{App, Started},
    config::ServeConfig,
    jobs::{
        consumer::{ConsumerJob, HandleFuture, StreamConsumer},
        outbox::{Delivery, DeliveryFuture, Drain, Outcome},
        Job, Runtime,
    },
};
use rampart_store::{AuditRecord, OutboxItem, StreamBatch};

async fn start() -> (tempfile::TempDir, Started) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ServeConfig {
        dev: true,
        node_id: Some("node-t".into()),
        ..ServeConfig::new(dir.path().to_path_buf())
    };
    let started = App::start(config).await.expect("start");
    (dir, started)
}

/// Fails its first `failures` attempts of each item, then accepts it.
struct Memory {
    failures: usize,
    attempts: Mutex<Vec<String>>,
    delivered: Mutex<Vec<String>>,
}

impl Delivery for Memory {
    fn target(&self) -> &'static str {
        "test:memory"
    }

    fn deliver<'a>(
        &'a self,
        _app: &'a App,
        item: &'a OutboxItem,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let mut attempts = self.attempts.lock().unwrap();
            attempts.push(item.id.clone());
            if attempts.iter().filter(|id| **id == item.id).count() <= self.failures {
                return Outcome::retry("target unavailable".into(), item, now);
            }
            self.delivered.lock().unwrap().push(item.payload.clone());
            Outcome::Delivered
        })
    }
}

async fn enqueue(app: &App, target: &str, payload: &str) {
    let mut tx = app.store.begin().await.unwrap();
    tx.outbox()
        .enqueue(target, payload, app.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_delivers_with_backoff_and_dead_letters() {
    let (_dir, started) = start().await;
    let app = started.app.clone();
    let memory = Arc::new(Memory {
        failures: 2,
        attempts: Mutex::default(),
        delivered: Mutex::default(),
    });
    let drain: Arc<dyn Job> = Arc::new(Drain::new(vec![memory.clone()]));
    let rt = Runtime::new("node-t".into(), Duration::from_secs(15), vec![drain]);
    enqueue(&app, "test:memory", r#"{"n":1}"#).await;
    enqueue(&app, "test:nowhere", r#"{"n":2}"#).await;

    assert!(rt.run_now(&app, "outbox-delivery").await);
    assert_eq!(memory.attempts.lock().unwrap().len(), 1);
    // Not due again until the backoff (1 s on the request clock) has passed.
    rt.run_now(&app, "outbox-delivery").await;
    assert_eq!(memory.attempts.lock().unwrap().len(), 1);
    app.clock.advance(1).expect("advance");
    rt.run_now(&app, "outbox-delivery").await;
    assert_eq!(memory.attempts.lock().unwrap().len(), 2);
    app.clock.advance(2).expect("advance");
    rt.run_now(&app, "outbox-delivery").await;
    assert_eq!(*memory.delivered.lock().unwrap(), vec![r#"{"n":1}"#]);
    assert_eq!(app.store.outbox().counts().await.unwrap(), (1, 0));
    // The delivery without a target uses up its attempts and is kept as dead.
    for _ in 0..10 {
        app.clock.advance(600).expect("advance");
        rt.run_now(&app, "outbox-delivery").await;
    }
    assert_eq!(app.store.outbox().counts().await.unwrap(), (0, 1));
    let dead = app.store.outbox().dead(10).await.unwrap();
    assert_eq!(dead[0].target, "test:nowhere");
    assert_eq!(dead[0].attempts, rampart::jobs::outbox::MAX_ATTEMPTS);
    assert_eq!(memory.delivered.lock().unwrap().len(), 1, "delivered once");
}

/// Writes one outbox item per record, in the batch's transaction.
struct Recorder;

impl StreamConsumer for Recorder {
    fn name(&self) -> &'static str {
        "test-recorder"
    }

    fn handle<'a>(&'a self, _app: &'a App, batch: &'a mut StreamBatch) -> HandleFuture<'a> {
        Box::pin(async move {
            let ids: Vec<(String, chrono::DateTime<chrono::Utc>)> = batch
                .records()
                .iter()
                .map(|r| (r.event.record.event_id.clone(), r.event.record.event_time))
                .collect();
            for (id, at) in ids {
                batch.tx().outbox().enqueue("test:seen", &id, at).await?;
            }
            Ok(())
        })
    }
}

fn record(n: u32, read_only: bool) -> AuditRecord {
    AuditRecord {
        event_id: format!("00000000-0000-4000-8000-{n:012}"),
        event_time: chrono::Utc::now(),
        event_name: if read_only { "GetUser" } else { "CreateUser" }.into(),
        event_source: "iam.amazonaws.com".into(),
        username: None,
        access_key_id: None,
        read_only,
        error_code: None,
        account_id: Some("000000000000".into()),
        resources: vec![],
        event_json: "{}".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_consumer_job_sees_both_chains_once() {
    let (_dir, started) = start().await;
    let app = started.app.clone();
    let consumer: Arc<dyn Job> = Arc::new(ConsumerJob(Recorder));
    let rt = Runtime::new("node-t".into(), Duration::from_secs(15), vec![consumer]);
    // The bootstrap wrote no audit records; these go to the table and to the journal.
    for n in 1..=3 {
        app.store.append_audit(&record(n, false)).await.unwrap();
        app.audit.append(record(100 + n, true)).await.unwrap();
    }
    assert!(rt.run_now(&app, "test-recorder").await);
    app.store.append_audit(&record(4, false)).await.unwrap();
    rt.run_now(&app, "test-recorder").await;
    rt.run_now(&app, "test-recorder").await;
    let seen = app.store.outbox().due(app.clock.now(), 100).await.unwrap();
    let mut ids: Vec<String> = seen.into_iter().map(|i| i.payload).collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "no record twice");
    assert_eq!(ids.len(), 7, "{ids:?}");
    let status = rt.status(&app).await;
    assert_eq!(status[0].lag, Some(0));
    assert_eq!(status[0].owner.as_deref(), Some("node-t"));
    assert_eq!(status[0].runs_here, 3);
}

/// A step that takes several lease times.
struct Slow;

impl Job for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn scope(&self) -> rampart::jobs::Scope {
        rampart::jobs::Scope::Cluster
    }

    fn period(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn step<'a>(
        &'a self,
        _app: &'a App,
        _lease: Option<&'a rampart_store::Lease>,
    ) -> rampart::jobs::StepFuture<'a> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_step_keeps_its_lease() {
    let (_dir, started) = start().await;
    let app = started.app.clone();
    let lease = Duration::from_millis(300);
    let node_a = Runtime::new("node-a".into(), lease, vec![Arc::new(Slow)]);
    let node_b = Runtime::new("node-b".into(), lease, vec![Arc::new(Slow)]);
    let a = tokio::spawn({
        let app = app.clone();
        async move { node_a.run_now(&app, "slow").await }
    });
    // Two lease times into node-a's step: renewed, so node-b cannot take the job.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!node_b.run_now(&app, "slow").await);
    assert!(a.await.unwrap(), "node-a ran its step");
    let rows = app.store.jobs().list().await.unwrap();
    assert_eq!((rows[0].owner.as_str(), rows[0].token), ("node-a", 1));
}
