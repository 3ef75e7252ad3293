//! One runtime for background work.
//!
//! A [`Job`] is a step run every period (and once at start), and at once when its wake
//! signal ([`Job::wake`]) fires. Cluster jobs have exactly one
//! owner across the nodes sharing a database: each round the node takes or renews the job's
//! lease row (`rampart_store::Jobs`), and only the owner runs the step, passing its lease to
//! every transaction the step commits, which then commits only while the lease's fencing
//! token is current. The owner renews every third of a lease; a node that is not the owner
//! looks again when the owner's lease ends, so it takes over within one lease time of the
//! owner's last renewal. Node jobs (flushes of this
//! node's in-memory counts) run on every node without a lease.
//!
//! Steps read what is due from the store on the request clock (`App::clock`), so the dev
//! clock moves them; lease times are wall-clock times. State shows in `/_rampart/health` and
//! `/metrics` ([`status`]).

pub mod access_logs;
pub mod accessanalyzer;
pub mod accessanalyzer_policygen;
pub mod accessanalyzer_unused;
pub mod config;
pub mod config_delivery;
pub mod config_lambda;
pub mod config_remediation;
pub mod consumer;
pub mod detective;
pub mod due;
pub mod events;
pub mod events_api_calls;
pub mod guardduty;
pub mod guardduty_export;
pub mod http_out;
pub mod key_usage;
pub mod kms;
pub mod lambda_hooks;
pub mod last_access;
pub mod log_files;
pub mod meter;
pub mod metrics;
pub mod outbox;
pub mod provision;
pub mod rotation_builtin;
pub mod rotation_postgres;
pub mod s3;
pub mod secretsmanager;
pub mod securityhub;
pub mod signed;
pub mod status;
pub mod trails;
pub mod waf_logs;

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use rampart_store::Lease;

use crate::app::App;
pub use status::JobStatus;

/// A step's future.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On one node at a time, under a lease.
    Cluster,
    /// On every node, over that node's own state.
    Node,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Cluster => "cluster",
            Scope::Node => "node",
        }
    }
}

/// A background job. Steps are idempotent: a step cut short (crash, lost lease) leaves
/// nothing half-done, and the next one finds what is still due in the store.
pub trait Job: Send + Sync + 'static {
    /// A stable name (the lease row's key, the metrics label).
    fn name(&self) -> &'static str;
    /// Cluster-wide under a lease, or per node.
    fn scope(&self) -> Scope;
    /// Time between steps.
    fn period(&self) -> Duration;
    /// One step. `lease` is the cluster lease (none for node jobs): pass it to
    /// `Tx::jobs().fence` in every transaction the step commits.
    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a>;
    /// A signal that runs the job at once, besides its period (a change it must react to
    /// within less than a period); none by default.
    fn wake(&self, _app: &App) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
    /// Records still to process, for stream consumers.
    fn lag<'a>(&'a self, _app: &'a App) -> Pin<Box<dyn Future<Output = Option<u64>> + Send + 'a>> {
        Box::pin(async { None })
    }
}

/// A registered job and what this node knows of it.
struct Entry {
    job: Arc<dyn Job>,
    /// Held while a step runs, so a forced run and the loop never overlap.
    running: tokio::sync::Mutex<()>,
    state: Mutex<status::State>,
}

/// The jobs of this node.
pub struct Runtime {
    node_id: String,
    lease: Duration,
    entries: Vec<Entry>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Runtime {
    /// A runtime for `jobs`, on node `node_id`, with leases of `lease`.
    pub fn new(node_id: String, lease: Duration, jobs: Vec<Arc<dyn Job>>) -> Runtime {
        Runtime {
            node_id,
            lease: lease.clamp(Duration::from_millis(100), Duration::from_secs(3600)),
            entries: jobs
                .into_iter()
                .map(|job| Entry {
                    job,
                    running: tokio::sync::Mutex::new(()),
                    state: Mutex::new(status::State::default()),
                })
                .collect(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// The server's jobs.
    pub fn standard(node_id: String, lease: Duration) -> Runtime {
        let listeners = crate::listeners::Listeners::default();
        let waf_logs = listeners.waf_logs();
        let access_logs = listeners.access_logs();
        Runtime::new(
            node_id,
            lease,
            vec![
                Arc::new(kms::JOB),
                Arc::new(config::ConfigRecording::default()),
                Arc::new(config_lambda::JOB),
                Arc::new(config_remediation::JOB),
                Arc::new(config_delivery::JOB),
                Arc::new(securityhub::CONTROLS),
                Arc::new(securityhub::IMPORT),
                Arc::new(secretsmanager::DUE),
                Arc::new(secretsmanager::ROTATIONS),
                Arc::new(secretsmanager::REPLICATIONS),
                Arc::new(s3::LIFECYCLE),
                Arc::new(s3::BLOB_SWEEP),
                Arc::new(provision::JOB),
                Arc::new(meter::MeterFlush),
                Arc::new(last_access::LastAccessFlush),
                Arc::new(key_usage::KeyUsageFlush),
                Arc::new(outbox::Drain::new(vec![Arc::new(
                    events::EventsDelivery::default(),
                )])),
                Arc::new(trails::JOB),
                Arc::new(consumer::ConsumerJob(events_api_calls::ApiCallEvents)),
                Arc::new(consumer::ConsumerJob(accessanalyzer::Reanalysis)),
                Arc::new(accessanalyzer_unused::JOB),
                Arc::new(accessanalyzer_policygen::JOB),
                Arc::new(consumer::ConsumerJob(guardduty::GuardDutyDetection)),
                Arc::new(guardduty_export::JOB),
                Arc::new(detective::INVESTIGATIONS),
                Arc::new(detective::AUTO_ENABLING),
                Arc::new(listeners),
                Arc::new(waf_logs::WafLogDelivery { buffer: waf_logs }),
                Arc::new(access_logs::AccessLogDelivery {
                    buffer: access_logs,
                }),
                Arc::new(crate::shield::job::AttackRecording::default()),
                Arc::new(crate::shield::job::AutomaticResponse),
            ],
        )
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Starts one task per job; each ends when the application is dropped.
    pub fn spawn(app: &Arc<App>) {
        let handles: Vec<_> = (0..app.jobs.entries.len())
            .map(|i| {
                let weak = Arc::downgrade(app);
                tokio::spawn(async move {
                    let mut woken = false;
                    loop {
                        let Some(app) = weak.upgrade() else { break };
                        let wait = app.jobs.round(&app, i, woken).await;
                        let signal = app.jobs.entries.get(i).and_then(|e| e.job.wake(&app));
                        drop(app);
                        woken = match signal {
                            Some(signal) => tokio::select! {
                                () = tokio::time::sleep(wait) => false,
                                () = signal.notified() => true,
                            },
                            None => {
                                tokio::time::sleep(wait).await;
                                false
                            }
                        };
                    }
                })
            })
            .collect();
        if let Ok(mut tasks) = app.jobs.tasks.lock() {
            tasks.extend(handles);
        }
    }

    /// Runs the job named `name` now (if this node owns it or can take it); false if there is
    /// no such job or another node owns it.
    pub async fn run_now(&self, app: &App, name: &str) -> bool {
        match self.entries.iter().position(|e| e.job.name() == name) {
            Some(i) => {
                self.round(app, i, true).await;
                self.state(i).is_some_and(|s| s.ran_last_round)
            }
            None => false,
        }
    }

    /// Stops the loops, runs every node job one last time (the flushes) and gives up this
    /// node's leases so that another node can take over at once.
    pub async fn shutdown(&self, app: &App) {
        // Steps in flight finish first: a flush cut off between taking its counts and
        // committing them would lose them.
        let mut idle = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            idle.push(e.running.lock().await);
        }
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
        drop(idle);
        for (i, e) in self.entries.iter().enumerate() {
            match e.job.scope() {
                Scope::Node => {
                    self.round(app, i, true).await;
                }
                Scope::Cluster => {
                    let lease = self.state(i).and_then(|s| s.lease);
                    if let Some(lease) = lease {
                        if let Err(err) = app.store.jobs().release(&lease, Utc::now()).await {
                            tracing::warn!(job = e.job.name(), error = %err, "lease not released");
                        }
                    }
                }
            }
        }
    }

    fn state(&self, i: usize) -> Option<status::State> {
        self.entries
            .get(i)
            .and_then(|e| e.state.lock().ok().map(|s| s.clone()))
    }

    /// One round of job `i`: take or renew its lease (cluster jobs), run the step if it is
    /// due (or `force`d), record the outcome. Returns how long to wait for the next round.
    async fn round(&self, app: &App, i: usize, force: bool) -> Duration {
        let Some(e) = self.entries.get(i) else {
            return Duration::from_secs(60);
        };
        let job = &e.job;
        let period = job.period();
        let _running = e.running.lock().await;
        let lease = match job.scope() {
            Scope::Node => None,
            Scope::Cluster => {
                let ttl = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX);
                let now = Utc::now();
                // A lease with more than two thirds of its time left is used as it is: renewing
                // is a write (an fsync on SQLite), needed only every third of a lease.
                let held = self.state(i).and_then(|s| s.lease).filter(|l| {
                    let left = i128::from((l.expires_at - now).num_milliseconds());
                    left * 3 > i128::from(ttl.num_milliseconds()) * 2
                });
                let acquired = match held {
                    Some(lease) => Ok(Some(lease)),
                    None => {
                        app.store
                            .jobs()
                            .acquire(job.name(), &self.node_id, now, ttl)
                            .await
                    }
                };
                match acquired {
                    Ok(Some(lease)) => Some(lease),
                    Ok(None) => {
                        e.update(|s| {
                            s.lease = None;
                            s.ran_last_round = false;
                        });
                        return self.until_expiry(app, job.name()).await;
                    }
                    Err(err) => {
                        tracing::warn!(job = job.name(), error = %err, "lease not taken");
                        e.update(|s| {
                            s.lease = None;
                            s.ran_last_round = false;
                            s.last_error = Some(err.to_string());
                        });
                        return self.lease / 3;
                    }
                }
            }
        };
        let due = force
            || e.state
                .lock()
                .ok()
                .and_then(|s| s.last_started)
                .is_none_or(|at| at.elapsed() >= period);
        let mut wait = period;
        if job.scope() == Scope::Cluster {
            wait = wait.min(self.lease / 3);
        }
        if !due {
            e.update(|s| {
                s.lease = lease;
                s.ran_last_round = false;
            });
            return wait;
        }
        e.update(|s| s.last_started = Some(std::time::Instant::now()));
        let outcome = match &lease {
            // The lease is renewed while a long step runs; once it is lost, the step's
            // remaining transactions are fenced off.
            Some(held) => {
                tokio::select! {
                    outcome = job.step(app, lease.as_ref()) => outcome,
                    () = self.keep(app, held) => Ok(()),
                }
            }
            None => job.step(app, None).await,
        };
        let error = outcome.err().map(|err| format!("{err:#}"));
        if let Some(err) = &error {
            tracing::error!(job = job.name(), error = %err, "job step failed");
        }
        let lag = job.lag(app).await;
        let now = Utc::now();
        if let Some(lease) = &lease {
            if let Err(err) = app
                .store
                .jobs()
                .record_run(lease, now, error.as_deref())
                .await
            {
                tracing::warn!(job = job.name(), error = %err, "job run not recorded");
            }
        }
        app.metrics.jobs.observe(job.name(), error.is_none());
        e.update(|s| {
            s.lease = lease;
            s.ran_last_round = true;
            s.last_run = Some(now);
            s.last_error = error;
            s.lag = lag;
            s.runs += 1;
        });
        wait
    }
}

impl Runtime {
    /// Renews `held` every third of a lease for as long as it stays this node's; never
    /// returns (it waits forever once the lease is lost).
    async fn keep(&self, app: &App, held: &Lease) {
        let ttl = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX);
        loop {
            tokio::time::sleep(self.lease / 3).await;
            let renewed = app
                .store
                .jobs()
                .acquire(&held.job, &self.node_id, Utc::now(), ttl)
                .await;
            match renewed {
                Ok(Some(l)) if l.token == held.token => {}
                _ => break,
            }
        }
        std::future::pending::<()>().await;
    }

    /// How long a node that is not the owner waits before trying again: until the owner's
    /// lease ends (so it takes over within one lease time of the owner's last renewal), at
    /// most a third of a lease.
    async fn until_expiry(&self, app: &App, job: &str) -> Duration {
        let most = self.lease / 3;
        let Ok(rows) = app.store.jobs().list().await else {
            return most;
        };
        let Some(row) = rows.into_iter().find(|r| r.job == job) else {
            return most;
        };
        let left = (row.expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        left.min(most) + Duration::from_millis(5)
    }
}

impl Entry {
    fn update(&self, f: impl FnOnce(&mut status::State)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
    }
}

/// A fresh node id: the host name (when known) and a random suffix.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", id.get(..8).unwrap_or(&id))
}
