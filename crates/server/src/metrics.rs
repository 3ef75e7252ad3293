//! Prometheus metrics: requests by service, operation and outcome, and their latency.

use std::{
    cell::RefCell,
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
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
    /// Tells this instance's handles apart in the per-thread cache (tests run several).
    id: u64,
    registry: Mutex<Registry>,
    requests: Family<CallLabels, Counter>,
    latency: Family<CallLabels, Histogram>,
    commits: Counter,
    committed_writes: Counter,
    connections: ConnMetrics,
    /// The background jobs' metrics.
    pub jobs: crate::jobs::metrics::JobMetrics,
}

/// The API port's connections, set from the connection table's totals.
#[derive(Default)]
struct ConnMetrics {
    open: Gauge,
    cap: Gauge,
    shed: Counter,
    refused: Counter,
    first_byte_timeouts: Counter,
    header_timeouts: Counter,
}

impl ConnMetrics {
    fn register(&self, registry: &mut Registry) {
        let gauges = [
            ("connections_open", "Open API connections", &self.open),
            (
                "connections_cap",
                "Most API connections open at once",
                &self.cap,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
        let counters = [
            ("connections_shed", "Connections closed to make room for new ones (oldest without a completed request first)", &self.shed),
            ("connections_refused", "New connections refused while every open one had a request in flight", &self.refused),
            ("connections_first_byte_timeouts", "Connections closed for sending no byte in time after accept", &self.first_byte_timeouts),
            ("connections_header_timeouts", "Connections closed for not sending a first request head in time after accept", &self.header_timeouts),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
    }
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
        let connections = ConnMetrics::default();
        connections.register(&mut registry);
        let jobs = crate::jobs::metrics::JobMetrics::register(&mut registry);
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Metrics {
            jobs,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            registry: Mutex::new(registry),
            requests,
            latency,
            commits,
            committed_writes,
            connections,
        }
    }

    /// Sets the connection metrics from the connection table's counters.
    pub fn set_connections(&self, stats: crate::conn_table::ConnStats) {
        let c = &self.connections;
        c.open.set(i64::try_from(stats.open).unwrap_or(i64::MAX));
        c.cap.set(i64::try_from(stats.cap).unwrap_or(i64::MAX));
        c.shed.inner().store(stats.shed, Ordering::Relaxed);
        c.refused.inner().store(stats.refused, Ordering::Relaxed);
        c.first_byte_timeouts
            .inner()
            .store(stats.first_byte_timeouts, Ordering::Relaxed);
        c.header_timeouts
            .inner()
            .store(stats.header_timeouts, Ordering::Relaxed);
    }

    /// Records one finished call.
    pub fn observe(&self, labels: CallLabels, seconds: f64) {
        // A family lookup takes a shared lock and hashes the labels' text, twice per call, so
        // each worker thread keeps the handles it has used, keyed by the labels' addresses
        // (they are `'static` strings from the model's tables).
        let key = HandleKey::of(&labels);
        let counted = HANDLES.with(|cell| {
            let Ok(mut cache) = cell.try_borrow_mut() else {
                return false;
            };
            if cache.owner != self.id {
                cache.owner = self.id;
                cache.handles.clear();
            }
            let (requests, latency) = cache.handles.entry(key).or_insert_with(|| {
                (
                    self.requests.get_or_create(&labels).clone(),
                    self.latency.get_or_create(&labels).clone(),
                )
            });
            latency.observe(seconds);
            requests.inc();
            true
        });
        if !counted {
            self.latency.get_or_create(&labels).observe(seconds);
            self.requests.get_or_create(&labels).inc();
        }
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

/// A call's labels by address and length: equal keys are equal labels. (Equal labels at two
/// addresses get two entries, which share the family's one metric.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct HandleKey([(usize, usize); 3]);

impl HandleKey {
    fn of(l: &CallLabels) -> HandleKey {
        let at = |s: &'static str| (s.as_ptr() as usize, s.len());
        HandleKey([at(l.service), at(l.operation), at(l.outcome)])
    }
}

/// One thread's handles into one [`Metrics`].
#[derive(Default)]
struct Handles {
    owner: u64,
    handles: HashMap<HandleKey, (Counter, Histogram)>,
}

thread_local! {
    static HANDLES: RefCell<Handles> = RefCell::new(Handles::default());
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(operation: &'static str, outcome: &'static str) -> CallLabels {
        CallLabels {
            service: "sts",
            operation,
            outcome,
        }
    }

    fn count(text: &str, operation: &str, outcome: &str) -> u64 {
        let line = format!(
            r#"rampart_requests_total{{service="sts",operation="{operation}",outcome="{outcome}"}} "#
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .map_or(0, |n| n.parse().expect("count"))
    }

    #[test]
    fn cached_handles_count_into_their_own_instance() {
        let (a, b) = (Metrics::new(), Metrics::new());
        for _ in 0..3 {
            a.observe(labels("GetCallerIdentity", "ok"), 0.001);
        }
        b.observe(labels("GetCallerIdentity", "ok"), 0.001);
        a.observe(labels("GetCallerIdentity", "denied"), 0.001);
        // The same text at another address is the same label set.
        let op = String::from("GetCallerIdentity").leak();
        a.observe(labels(op, "ok"), 0.001);
        let (a, b) = (a.render(), b.render());
        assert_eq!(count(&a, "GetCallerIdentity", "ok"), 4, "{a}");
        assert_eq!(count(&a, "GetCallerIdentity", "denied"), 1, "{a}");
        assert_eq!(count(&b, "GetCallerIdentity", "ok"), 1, "{b}");
        assert!(
            a.contains(r#"rampart_request_duration_seconds_count{service="sts",operation="GetCallerIdentity",outcome="ok"} 4"#),
            "{a}"
        );
    }
}
