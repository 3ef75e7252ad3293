//! The jobs' metrics: steps run by outcome, lease ownership, consumer lag.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use super::JobStatus;

/// A job's label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabel {
    /// The job's name.
    pub job: &'static str,
}

/// A step's labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    /// The job's name.
    pub job: &'static str,
    /// `ok` or `error`.
    pub outcome: &'static str,
}

/// The families, registered once in the server's registry.
#[derive(Debug, Clone, Default)]
pub struct JobMetrics {
    steps: Family<StepLabels, Counter>,
    owner: Family<JobLabel, Gauge>,
    last_run: Family<JobLabel, Gauge>,
    lag: Family<JobLabel, Gauge>,
}

impl JobMetrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &mut Registry) -> JobMetrics {
        let m = JobMetrics::default();
        registry.register(
            "job_steps",
            "Background job steps run on this node, by outcome",
            m.steps.clone(),
        );
        registry.register(
            "job_lease_owned",
            "1 if this node holds the job's lease (node jobs: always 1)",
            m.owner.clone(),
        );
        registry.register(
            "job_last_run_timestamp_seconds",
            "When the job's last step finished",
            m.last_run.clone(),
        );
        registry.register(
            "job_lag_records",
            "Audit records a stream consumer has yet to process",
            m.lag.clone(),
        );
        m
    }

    /// Counts one finished step.
    pub fn observe(&self, job: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.steps.get_or_create(&StepLabels { job, outcome }).inc();
    }

    /// Sets the gauges from the jobs' current state.
    pub fn set(&self, jobs: &[JobStatus]) {
        for j in jobs {
            let label = JobLabel { job: j.name };
            self.owner
                .get_or_create(&label)
                .set(i64::from(j.owned_here));
            if let Some(t) = j.last_run {
                self.last_run.get_or_create(&label).set(t.timestamp());
            }
            if let Some(lag) = j.lag {
                self.lag
                    .get_or_create(&label)
                    .set(i64::try_from(lag).unwrap_or(i64::MAX));
            }
        }
    }
}
