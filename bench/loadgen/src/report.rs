//! Counting results per connection and summing them into one report.

use std::time::Duration;

/// Latency histogram resolution: 10 µs buckets up to 1 s, then one overflow bucket.
const BUCKET_US: u64 = 10;
const BUCKETS: usize = 100_000;

/// One connection's results.
#[derive(Debug)]
pub struct Worker {
    ok: u64,
    failed: u64,
    first_error: Option<String>,
    histogram: Vec<u32>,
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            ok: 0,
            failed: 0,
            first_error: None,
            histogram: vec![0; BUCKETS + 1],
        }
    }
}

impl Worker {
    /// Records one response; `describe` is called only for the first failure.
    pub fn record(&mut self, latency: Duration, ok: bool, describe: impl FnOnce() -> String) {
        let bucket = (latency.as_micros() as u64 / BUCKET_US).min(BUCKETS as u64) as usize;
        self.histogram[bucket] += 1;
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
            if self.first_error.is_none() {
                self.first_error = Some(describe());
            }
        }
    }
}

/// The whole run.
#[derive(Debug, Default)]
pub struct Report {
    /// Successful (2xx) responses.
    pub ok: u64,
    /// Other responses.
    pub failed: u64,
    /// The first failure's status and body.
    pub first_error: Option<String>,
    histogram: Vec<u64>,
    /// Wall time from the first connection to the last response.
    pub elapsed: Duration,
}

impl Report {
    /// Adds a connection's results.
    pub fn add(&mut self, w: Worker) {
        self.ok += w.ok;
        self.failed += w.failed;
        if self.first_error.is_none() {
            self.first_error = w.first_error;
        }
        if self.histogram.is_empty() {
            self.histogram = vec![0; BUCKETS + 1];
        }
        for (total, n) in self.histogram.iter_mut().zip(w.histogram) {
            *total += u64::from(n);
        }
    }

    fn rate(&self) -> f64 {
        (self.ok + self.failed) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (upper edge of its bucket), in microseconds.
    fn quantile_us(&self, q: f64) -> u64 {
        let total: u64 = self.histogram.iter().sum();
        let rank = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.histogram.iter().enumerate() {
            seen += n;
            if seen >= rank.max(1) {
                return (i as u64 + 1) * BUCKET_US;
            }
        }
        0
    }

    /// A human-readable summary.
    pub fn table(&self, label: &str, connections: usize) -> String {
        let mut out = format!(
            "{} with {connections} connections for {:.1}s\n  requests/s: {:.0}\n  ok: {}  failed: {}\n  latency p50: {} us  p99: {} us  p99.9: {} us\n",
            label,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.ok,
            self.failed,
            self.quantile_us(0.5),
            self.quantile_us(0.99),
            self.quantile_us(0.999),
        );
        if let Some(e) = &self.first_error {
            out.push_str(&format!("  first failure: {}\n", truncate(e)));
        }
        out
    }

    /// One JSON object (for scripts).
    pub fn json(&self, label: &str) -> String {
        format!(
            "{{\"op\":\"{}\",\"rps\":{:.1},\"ok\":{},\"failed\":{},\"p50_us\":{},\"p99_us\":{}}}",
            label,
            self.rate(),
            self.ok,
            self.failed,
            self.quantile_us(0.5),
            self.quantile_us(0.99)
        )
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(300) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
