//! Rate-based rule counting: requests per aggregation key (an IP address, a forwarded IP, or
//! one constant key) over the rule's evaluation window, in one-second buckets so memory per
//! key is bounded by the window whatever the limit. A key is over the limit while more than
//! `limit` of its requests fall in the window; it is released once they age out.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
};

static LIVE: RwLock<Option<Arc<RateCounters>>> = RwLock::new(None);

/// Installs the counters the process's listeners keep (the listener runtime does this once),
/// so `GetRateBasedStatementManagedKeys` reads them.
pub fn install(counters: Arc<RateCounters>) {
    if let Ok(mut slot) = LIVE.write() {
        *slot = Some(counters);
    }
}

/// The installed counters, if the listener runtime runs in this process.
pub fn installed() -> Option<Arc<RateCounters>> {
    LIVE.read().ok().and_then(|g| g.clone())
}

/// Keys tracked per rule before stale ones are swept.
const SWEEP_AT: usize = 10_000;

/// One key's counts: the second of each bucket and its count.
#[derive(Debug, Default)]
struct Counts {
    buckets: Vec<(u64, u64)>,
}

impl Counts {
    fn add(&mut self, now: u64, window: u64) -> u64 {
        self.buckets.retain(|(s, _)| s + window > now);
        match self.buckets.last_mut() {
            Some((s, c)) if *s == now => *c += 1,
            _ => self.buckets.push((now, 1)),
        }
        self.buckets.iter().map(|(_, c)| c).sum()
    }

    fn stale(&self, now: u64, window: u64) -> bool {
        self.buckets.last().is_none_or(|(s, _)| s + window <= now)
    }
}

/// The counters of every rate-based rule, kept across recompilations of a web ACL (keyed by
/// the web ACL's ARN and the rule's name).
#[derive(Debug, Default)]
pub struct RateCounters {
    rules: Mutex<HashMap<String, HashMap<String, Counts>>>,
}

impl RateCounters {
    /// Counts one request of `key` for `rule` at second `now`; true when the key is over
    /// `limit` in the last `window` seconds.
    pub fn hit(&self, rule: &str, key: &str, now: u64, window: u64, limit: u64) -> bool {
        let Ok(mut rules) = self.rules.lock() else {
            return false;
        };
        let keys = rules.entry(rule.to_string()).or_default();
        if keys.len() >= SWEEP_AT {
            keys.retain(|_, c| !c.stale(now, window));
        }
        keys.entry(key.to_string()).or_default().add(now, window) > limit
    }

    /// The keys of `rule` currently over `limit` (`GetRateBasedStatementManagedKeys`).
    pub fn over(&self, rule: &str, now: u64, window: u64, limit: u64) -> Vec<String> {
        let Ok(rules) = self.rules.lock() else {
            return Vec::new();
        };
        rules
            .get(rule)
            .map(|keys| {
                keys.iter()
                    .filter(|(_, c)| {
                        c.buckets
                            .iter()
                            .filter(|(s, _)| s + window > now)
                            .map(|(_, n)| n)
                            .sum::<u64>()
                            > limit
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_limited_then_released_after_the_window() {
        let c = RateCounters::default();
        for i in 0..10 {
            assert!(!c.hit("r", "1.2.3.4", 100 + i / 5, 60, 10), "request {i}");
        }
        assert!(c.hit("r", "1.2.3.4", 102, 60, 10));
        assert!(
            !c.hit("r", "5.6.7.8", 102, 60, 10),
            "other keys are not limited"
        );
        assert_eq!(c.over("r", 102, 60, 10), vec!["1.2.3.4".to_string()]);
        assert!(
            c.hit("r", "1.2.3.4", 159, 60, 10),
            "still inside the window"
        );
        assert!(
            !c.hit("r", "1.2.3.4", 163, 60, 10),
            "released once the flood aged out"
        );
    }
}
