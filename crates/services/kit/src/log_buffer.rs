//! Log records waiting for delivery, in memory on this node: per destination (`K`: a WAF web
//! ACL and its bucket, a load balancer and its bucket and prefix) and five-minute window of
//! the request clock (the S3 delivery interval of AWS WAF and of ELB's access logs), one line
//! per record. Memory is bounded: past [`MAX_RECORDS`] records or [`MAX_BYTES`] bytes waiting,
//! a new record is dropped and counted ([`LogBuffer::dropped`]).

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

/// The delivery interval (AWS WAF and ELB write to S3 every five minutes).
pub const WINDOW_SECS: u64 = 300;
/// The most records waiting in one buffer.
pub const MAX_RECORDS: usize = 50_000;
/// The most bytes of records waiting in one buffer.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// A window's records for one destination, due once the window has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<K> {
    /// Where the records go.
    pub destination: K,
    /// The window's start (epoch seconds, a multiple of [`WINDOW_SECS`]).
    pub window: u64,
    /// The records, one line each.
    pub lines: Vec<String>,
}

#[derive(Debug)]
struct Pending<K> {
    batches: BTreeMap<(K, u64), Vec<String>>,
    records: usize,
    bytes: usize,
}

impl<K> Default for Pending<K> {
    fn default() -> Self {
        Pending {
            batches: BTreeMap::new(),
            records: 0,
            bytes: 0,
        }
    }
}

/// Records waiting for delivery on this node.
#[derive(Debug)]
pub struct LogBuffer<K> {
    pending: Mutex<Pending<K>>,
    dropped: AtomicU64,
}

impl<K> Default for LogBuffer<K> {
    fn default() -> Self {
        LogBuffer {
            pending: Mutex::new(Pending::default()),
            dropped: AtomicU64::new(0),
        }
    }
}

impl<K: Ord + Clone> LogBuffer<K> {
    /// Adds a record for `destination` that arrived at epoch second `at`; false (and
    /// counted) when the buffer is full.
    pub fn push(&self, destination: &K, at: u64, line: String) -> bool {
        let Ok(mut p) = self.pending.lock() else {
            return false;
        };
        if p.records >= MAX_RECORDS || p.bytes.saturating_add(line.len()) > MAX_BYTES {
            drop(p);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        p.records += 1;
        p.bytes += line.len();
        let window = at - at % WINDOW_SECS;
        p.batches
            .entry((destination.clone(), window))
            .or_default()
            .push(line);
        true
    }

    /// Takes the batches whose window ended by epoch second `now`.
    pub fn take_due(&self, now: u64) -> Vec<Batch<K>> {
        let Ok(mut p) = self.pending.lock() else {
            return Vec::new();
        };
        let due: Vec<(K, u64)> = p
            .batches
            .keys()
            .filter(|(_, w)| w + WINDOW_SECS <= now)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for key in due {
            if let Some(lines) = p.batches.remove(&key) {
                p.records = p.records.saturating_sub(lines.len());
                p.bytes = p
                    .bytes
                    .saturating_sub(lines.iter().map(String::len).sum::<usize>());
                let (destination, window) = key;
                out.push(Batch {
                    destination,
                    window,
                    lines,
                });
            }
        }
        out
    }
}

impl<K> LogBuffer<K> {
    /// Counts records lost (the buffer full, or a delivery refused).
    pub fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Records lost since the process started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting.
    pub fn waiting(&self) -> usize {
        self.pending.lock().map(|p| p.records).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_due_when_their_window_ends() {
        let b = LogBuffer::default();
        let to = ("acl".to_string(), "bkt".to_string());
        assert!(b.push(&to, 601, "a".into()));
        assert!(b.push(&to, 899, "b".into()));
        assert!(b.push(&to, 900, "c".into()));
        assert!(b.take_due(899).is_empty());
        let due = b.take_due(900);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].window, 600);
        assert_eq!(due[0].destination, to);
        assert_eq!(due[0].lines, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(b.waiting(), 1);
        assert_eq!(b.take_due(1200).len(), 1);
        assert_eq!(b.waiting(), 0);
    }

    #[test]
    fn destinations_are_batched_apart() {
        let b = LogBuffer::default();
        assert!(b.push(&"one", 10, "a".into()));
        assert!(b.push(&"two", 20, "b".into()));
        let due = b.take_due(300);
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].destination, "one");
        assert_eq!(due[1].lines, vec!["b".to_string()]);
    }

    #[test]
    fn a_full_buffer_drops_and_counts() {
        let b = LogBuffer::default();
        for i in 0..MAX_RECORDS {
            assert!(b.push(&0u8, i as u64, String::new()));
        }
        assert!(!b.push(&0u8, 0, String::new()));
        assert_eq!(b.dropped(), 1);
        b.take_due(u64::MAX / 2);
        assert!(b.push(&0u8, 0, String::new()));
    }
}
