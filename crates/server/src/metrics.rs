//! Prometheus metrics: requests by service, operation and outcome, and their latency.

use std::sync::Mutex;

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

/// Labels of one API call.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The service (`sts`, `iam`, ...; `unknown` when routing failed).
    pub service: &'static str,
    /// The operation name (from the model's static tables, so labels cost no allocation).
    pub operation: &'static str,
    /// `ok`, `denied`, `client_error` or `server_error`.
    pub outcome: &'static str,
}

/// The server's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<CallLabels, Counter>,
    latency: Family<CallLabels, Histogram>,
    commits: Counter,
    committed_writes: Counter,
}

impl Metrics {
    /// Registers the metric families.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rampart");
        let requests = Family::<CallLabels, Counter>::default();
        let latency = Family::<CallLabels, Histogram>::new_with_constructor(|| {
            // 50 us .. ~1.6 s, doubling.
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_05, 2.0, 16,
            ))
        });
        registry.register(
            "requests",
            "API requests by service, operation and outcome",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "API request latency by service, operation and outcome",
            latency.clone(),
        );
        let commits = Counter::default();
        let committed_writes = Counter::default();
        registry.register(
            "store_group_commits",
            "Commits (fsyncs) of the embedded store's shared write transaction",
            commits.clone(),
        );
        registry.register(
            "store_group_committed_writes",
            "Write transactions made durable by those commits",
            committed_writes.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
            commits,
            committed_writes,
        }
    }

    /// Records one finished call.
    pub fn observe(&self, labels: CallLabels, seconds: f64) {
        self.latency.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }

    /// Sets the group-commit counters from the store's own totals.
    pub fn set_group_commit(&self, stats: rampart_store::GroupStats) {
        use std::sync::atomic::Ordering;
        self.commits.inner().store(stats.commits, Ordering::Relaxed);
        self.committed_writes
            .inner()
            .store(stats.writes, Ordering::Relaxed);
    }

    /// The metrics in Prometheus's text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = match self.registry.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
