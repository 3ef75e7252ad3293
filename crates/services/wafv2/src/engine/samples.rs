//! Sampled requests (`GetSampledRequests`): per web ACL and metric name, the most recent
//! requests a rule (or the default action) decided, in memory on this node, for rules and
//! web ACLs whose `VisibilityConfig.SampledRequestsEnabled` is true. Each metric keeps at
//! most [`KEEP`] samples and per-minute request counts (the population), both for the last
//! [`HORIZON`] seconds, so memory is bounded whatever the traffic.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, RwLock},
};

use serde_json::Value;

use super::{Decision, WebAcl};

/// Samples kept per web ACL and metric.
pub const KEEP: usize = 500;
/// How far back samples and counts are kept (AWS's three hours).
pub const HORIZON: u64 = 3 * 3600;

static LIVE: RwLock<Option<Arc<Samples>>> = RwLock::new(None);

/// Installs the samples the process's listeners keep (the listener runtime does this once),
/// so `GetSampledRequests` reads them.
pub fn install(samples: Arc<Samples>) {
    if let Ok(mut slot) = LIVE.write() {
        *slot = Some(samples);
    }
}

/// The installed samples, if the listener runtime runs in this process.
pub fn installed() -> Option<Arc<Samples>> {
    LIVE.read().ok().and_then(|g| g.clone())
}

/// The metric name of a `VisibilityConfig` whose `SampledRequestsEnabled` is true.
pub fn metric_of(visibility: Option<&Value>) -> Option<String> {
    let v = visibility?;
    if v.get("SampledRequestsEnabled").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    v.get("MetricName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// One sampled request, in the terms of AWS's `SampledHTTPRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Epoch second it arrived.
    pub at: u64,
    /// The client address.
    pub client_ip: String,
    /// Its country (ISO 3166-1 alpha-2), when the geolocation database places it.
    pub country: Option<String>,
    /// The URI path.
    pub uri: String,
    /// The method.
    pub method: String,
    /// `HTTP/1.1` and the like.
    pub http_version: String,
    /// The request's headers.
    pub headers: Vec<(String, String)>,
    /// `ALLOW` or `BLOCK`.
    pub action: String,
    /// The rule of a rule group that decided, when one did.
    pub group_rule: Option<String>,
    /// Headers an `Allow` inserted.
    pub inserted: Vec<(String, String)>,
    /// The status a `Block` answered with.
    pub response_code: Option<u16>,
    /// Labels the request collected.
    pub labels: Vec<String>,
}

/// One metric's samples and per-minute counts.
#[derive(Debug, Default)]
struct Metric {
    samples: VecDeque<Sample>,
    minutes: VecDeque<(u64, u64)>,
}

impl Metric {
    fn add(&mut self, sample: Sample) {
        let now = sample.at;
        let minute = now / 60;
        match self.minutes.back_mut() {
            Some((m, c)) if *m == minute => *c += 1,
            _ => self.minutes.push_back((minute, 1)),
        }
        while self
            .minutes
            .front()
            .is_some_and(|(m, _)| (m + 1) * 60 + HORIZON <= now)
        {
            self.minutes.pop_front();
        }
        self.samples.push_back(sample);
        while self.samples.len() > KEEP
            || self.samples.front().is_some_and(|s| s.at + HORIZON <= now)
        {
            self.samples.pop_front();
        }
    }
}

/// What a query returns: samples (newest first) and the requests the metric saw.
#[derive(Debug, Default)]
pub struct Found {
    /// Samples in the window, newest first.
    pub samples: Vec<Sample>,
    /// Requests the metric decided in the window (whole minutes at its edges).
    pub population: u64,
}

/// Samples of every web ACL and metric this node's listeners served.
#[derive(Debug, Default)]
pub struct Samples {
    metrics: Mutex<HashMap<(String, String), Metric>>,
}

impl Samples {
    /// The metric a decision is sampled under, if sampling is on for it: the deciding rule's,
    /// or the web ACL's for the default action.
    pub fn metric_for<'a>(acl: &'a WebAcl, decision: &Decision) -> Option<&'a str> {
        match &decision.rule {
            Some(name) => acl
                .rules
                .iter()
                .find(|r| &r.name == name)?
                .sampled_metric
                .as_deref(),
            None => acl.sampled_metric.as_deref(),
        }
    }

    /// Records a sample under a web ACL's metric.
    pub fn record(&self, acl_arn: &str, metric: &str, sample: Sample) {
        if let Ok(mut metrics) = self.metrics.lock() {
            metrics
                .entry((acl_arn.to_string(), metric.to_string()))
                .or_default()
                .add(sample);
        }
    }

    /// Up to `max` samples of a web ACL's metric from `start` to `end` (epoch seconds).
    pub fn find(&self, acl_arn: &str, metric: &str, start: u64, end: u64, max: usize) -> Found {
        let Ok(metrics) = self.metrics.lock() else {
            return Found::default();
        };
        let Some(m) = metrics.get(&(acl_arn.to_string(), metric.to_string())) else {
            return Found::default();
        };
        let samples = m
            .samples
            .iter()
            .rev()
            .filter(|s| s.at >= start && s.at <= end)
            .take(max)
            .cloned()
            .collect();
        let population = m
            .minutes
            .iter()
            .filter(|(minute, _)| minute * 60 + 59 >= start && minute * 60 <= end)
            .map(|(_, c)| c)
            .sum();
        Found {
            samples,
            population,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: u64) -> Sample {
        Sample {
            at,
            client_ip: "10.0.0.1".into(),
            country: None,
            uri: "/".into(),
            method: "GET".into(),
            http_version: "HTTP/1.1".into(),
            headers: Vec::new(),
            action: "BLOCK".into(),
            group_rule: None,
            inserted: Vec::new(),
            response_code: Some(403),
            labels: Vec::new(),
        }
    }

    #[test]
    fn keeps_a_bounded_recent_reservoir() {
        let s = Samples::default();
        for i in 0..(KEEP as u64 + 20) {
            s.record("acl", "m", sample(1_000_000 + i));
        }
        let found = s.find("acl", "m", 0, u64::MAX, 1000);
        assert_eq!(found.samples.len(), KEEP);
        assert_eq!(found.population, KEEP as u64 + 20);
        assert_eq!(found.samples.first().map(|x| x.at), Some(1_000_000 + 519));
        assert!(s.find("acl", "other", 0, u64::MAX, 10).samples.is_empty());
    }

    #[test]
    fn forgets_what_is_older_than_three_hours() {
        let s = Samples::default();
        s.record("acl", "m", sample(1_000_000));
        s.record("acl", "m", sample(1_000_000 + HORIZON + 60));
        let found = s.find("acl", "m", 0, u64::MAX, 10);
        assert_eq!(found.samples.len(), 1);
        assert_eq!(found.population, 1);
    }

    #[test]
    fn metric_needs_sampling_enabled() {
        let on = serde_json::json!({"SampledRequestsEnabled": true, "MetricName": "m"});
        let off = serde_json::json!({"SampledRequestsEnabled": false, "MetricName": "m"});
        assert_eq!(metric_of(Some(&on)).as_deref(), Some("m"));
        assert_eq!(metric_of(Some(&off)), None);
    }
}
