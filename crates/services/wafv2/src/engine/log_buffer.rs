//! Log records waiting for delivery, in memory on this node: per web ACL, destination bucket
//! and five-minute window of the request clock (AWS WAF's S3 delivery interval), one line of
//! JSON per record. Memory is bounded: past [`MAX_RECORDS`] records or [`MAX_BYTES`] bytes
//! waiting, a new record is dropped and counted ([`LogBuffer::dropped`]).

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, RwLock,
    },
};

/// The delivery interval (AWS WAF writes to S3 every five minutes).
pub const WINDOW_SECS: u64 = 300;
/// The most records waiting on a node.
pub const MAX_RECORDS: usize = 50_000;
/// The most bytes of records waiting on a node.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

static LIVE: RwLock<Option<Arc<LogBuffer>>> = RwLock::new(None);

/// Installs the buffer the process's listeners fill (the listener runtime does this once), so
/// the delivery job drains it.
pub fn install(buffer: Arc<LogBuffer>) {
    if let Ok(mut slot) = LIVE.write() {
        *slot = Some(buffer);
    }
}

/// The installed buffer, if the listener runtime runs in this process.
pub fn installed() -> Option<Arc<LogBuffer>> {
    LIVE.read().ok().and_then(|g| g.clone())
}

/// Where a batch goes: web ACL ARN, bucket, window start (epoch seconds).
pub type BatchKey = (String, String, u64);

/// A window's records, due once the window has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The web ACL's ARN.
    pub web_acl: String,
    /// The destination bucket.
    pub bucket: String,
    /// The window's start (epoch seconds, a multiple of [`WINDOW_SECS`]).
    pub window: u64,
    /// The records, one JSON document each.
    pub lines: Vec<String>,
}

#[derive(Debug, Default)]
struct Pending {
    batches: BTreeMap<BatchKey, Vec<String>>,
    records: usize,
    bytes: usize,
}

/// Records waiting for delivery on this node.
#[derive(Debug, Default)]
pub struct LogBuffer {
    pending: Mutex<Pending>,
    dropped: AtomicU64,
}

impl LogBuffer {
    /// Adds a record that arrived at epoch second `at`; false (and counted) when the buffer
    /// is full.
    pub fn push(&self, web_acl: &str, bucket: &str, at: u64, line: String) -> bool {
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
            .entry((web_acl.to_string(), bucket.to_string(), window))
            .or_default()
            .push(line);
        true
    }

    /// Takes the batches whose window ended by epoch second `now`.
    pub fn take_due(&self, now: u64) -> Vec<Batch> {
        let Ok(mut p) = self.pending.lock() else {
            return Vec::new();
        };
        let due: Vec<BatchKey> = p
            .batches
            .keys()
            .filter(|(_, _, w)| w + WINDOW_SECS <= now)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for key in due {
            if let Some(lines) = p.batches.remove(&key) {
                p.records = p.records.saturating_sub(lines.len());
                p.bytes = p
                    .bytes
                    .saturating_sub(lines.iter().map(String::len).sum::<usize>());
                let (web_acl, bucket, window) = key;
                out.push(Batch {
                    web_acl,
                    bucket,
                    window,
                    lines,
                });
            }
        }
        out
    }

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
        assert!(b.push("acl", "bkt", 601, "a".into()));
        assert!(b.push("acl", "bkt", 899, "b".into()));
        assert!(b.push("acl", "bkt", 900, "c".into()));
        assert!(b.take_due(899).is_empty());
        let due = b.take_due(900);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].window, 600);
        assert_eq!(due[0].lines, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(b.waiting(), 1);
        assert_eq!(b.take_due(1200).len(), 1);
        assert_eq!(b.waiting(), 0);
    }

    #[test]
    fn a_full_buffer_drops_and_counts() {
        let b = LogBuffer::default();
        for i in 0..MAX_RECORDS {
            assert!(b.push("acl", "bkt", i as u64, String::new()));
        }
        assert!(!b.push("acl", "bkt", 0, String::new()));
        assert_eq!(b.dropped(), 1);
        b.take_due(u64::MAX / 2);
        assert!(b.push("acl", "bkt", 0, String::new()));
    }
}
