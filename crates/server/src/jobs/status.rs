//! What the runtime knows of each job, as `/_rampart/health` shows it.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_store::Lease;
use serde_json::{json, Value};

use super::Runtime;
use crate::app::App;

/// This node's view of one job.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    /// The lease this node holds (cluster jobs).
    pub(crate) lease: Option<Lease>,
    /// Whether the last round ran the step here.
    pub(crate) ran_last_round: bool,
    /// When a step last started here (wall clock, for the period).
    pub(crate) last_started: Option<std::time::Instant>,
    /// When a step last finished here.
    pub(crate) last_run: Option<DateTime<Utc>>,
    /// The last step's error here.
    pub(crate) last_error: Option<String>,
    /// Records still to process (stream consumers).
    pub(crate) lag: Option<u64>,
    /// Steps run here.
    pub(crate) runs: u64,
}

/// One job's state for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The job's name.
    pub name: &'static str,
    /// `cluster` or `node`.
    pub scope: &'static str,
    /// Whether this node holds the job's lease (always true for node jobs).
    pub owned_here: bool,
    /// The lease owner, across the cluster (cluster jobs).
    pub owner: Option<String>,
    /// The current fencing token (cluster jobs).
    pub token: Option<i64>,
    /// When the lease ends unless renewed.
    pub lease_expires: Option<DateTime<Utc>>,
    /// When a step last finished (on the owner, for cluster jobs).
    pub last_run: Option<DateTime<Utc>>,
    /// The last step's error.
    pub last_error: Option<String>,
    /// Records still to process (stream consumers).
    pub lag: Option<u64>,
    /// Steps run on this node since it started.
    pub runs_here: u64,
}

impl JobStatus {
    /// The JSON of `/_rampart/health`.
    pub fn to_json(&self) -> Value {
        let ts =
            |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true));
        json!({
            "name": self.name,
            "scope": self.scope,
            "owned_here": self.owned_here,
            "owner": self.owner,
            "fencing_token": self.token,
            "lease_expires": ts(&self.lease_expires),
            "last_run": ts(&self.last_run),
            "last_error": self.last_error,
            "lag": self.lag,
            "runs_here": self.runs_here,
        })
    }
}

impl Runtime {
    /// Every job's state: this node's view, with the lease rows of cluster jobs (the owner
    /// may be another node).
    pub async fn status(&self, app: &App) -> Vec<JobStatus> {
        let rows = app.store.jobs().list().await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "job leases not read");
            Vec::new()
        });
        self.entries
            .iter()
            .map(|e| {
                let s = e.state.lock().map(|s| s.clone()).unwrap_or_default();
                let name = e.job.name();
                let scope = e.job.scope();
                let row = rows.iter().find(|r| r.job == name);
                let cluster = scope == super::Scope::Cluster;
                let owned_here = !cluster
                    || row.is_some_and(|r| r.owner == self.node_id && r.expires_at > Utc::now());
                JobStatus {
                    name,
                    scope: scope.as_str(),
                    owned_here,
                    owner: row.map(|r| r.owner.clone()),
                    token: row.map(|r| r.token),
                    lease_expires: row.map(|r| r.expires_at),
                    last_run: row.and_then(|r| r.last_run).or(s.last_run),
                    last_error: match row {
                        Some(r) if cluster => r.last_error.clone(),
                        _ => s.last_error.clone(),
                    },
                    lag: s.lag,
                    runs_here: s.runs,
                }
            })
            .collect()
    }
}
