//! The audit journal: where the embedded store keeps the CloudTrail records of read-only,
//! refused and failed calls.
//!
//! Those records need no transaction with anything (a mutating call's record still commits
//! with its call, in the audit table), so they are appended to segment files instead of
//! SQLite: one `write` and one `fdatasync` per batch, and no index, page split, WAL copy or
//! checkpoint per record. That is what lets a signed read-only call cost about as much as
//! the HTTP exchange carrying it.
//!
//! - Records form their own hash chain (same rule and canonical bytes as the audit table),
//!   frame by frame across segments ([`frame`]); the head is checkpointed with a MAC under the
//!   master key after every batch, before the batch is acknowledged, and the chain's genesis
//!   is recorded under the MAC too ([`anchor`]). Recovery is anchored to the head.
//! - A segment is sealed at a size limit, with a summary beside it ([`summary`]) that lets
//!   `LookupEvents` skip it; the active segment is always scanned.
//! - One writer per directory ([`writer`]), holding a lock; readers need none.
//! - PostgreSQL stores keep every record in the audit table: nodes share it.

mod anchor;
pub(crate) mod frame;
pub(crate) mod read;
pub(crate) mod segment_reader;
mod stream;
mod summary;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::crypto::MasterKey;
use crate::error::{Result, StoreError};
pub(crate) use anchor::{Genesis, Head, GENESIS_FILE};
use frame::RecordView;
pub(crate) use read::{lookup, verify, Expect};
use segment_reader::SegmentReader;
pub(crate) use stream::read_after;
use summary::Summary;
pub(crate) use writer::JournalWriter;

/// Default size at which a segment is sealed.
pub const DEFAULT_SEGMENT_BYTES: u64 = 32 * 1024 * 1024;
/// The checkpointed chain head.
pub(crate) const HEAD_FILE: &str = "HEAD";

/// A journal directory: opens its writer on demand and serves lookups and verification.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
    key: Arc<MasterKey>,
    segment_bytes: u64,
    writer: Mutex<Option<Arc<JournalWriter>>>,
    /// Summaries of sealed segments (immutable once written), by first sequence number.
    summaries: Mutex<HashMap<i64, Arc<Summary>>>,
    /// Where recent forward reads stopped.
    positions: stream::Positions,
}

impl Journal {
    /// A journal in `dir`; nothing is touched until it is written or read.
    pub(crate) fn new(dir: PathBuf, key: Arc<MasterKey>, segment_bytes: u64) -> Journal {
        Journal {
            dir,
            key,
            segment_bytes,
            writer: Mutex::new(None),
            summaries: Mutex::new(HashMap::new()),
            positions: stream::Positions::default(),
        }
    }

    /// The journal directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// This process's writer, opened (locked and recovered) on first use.
    pub(crate) fn writer(&self) -> Result<Arc<JournalWriter>> {
        let mut slot = self
            .writer
            .lock()
            .map_err(|_| StoreError::Database("audit journal poisoned".into()))?;
        if let Some(w) = slot.as_ref() {
            return Ok(w.clone());
        }
        let w = Arc::new(JournalWriter::open(
            &self.dir,
            self.key.clone(),
            self.segment_bytes,
        )?);
        *slot = Some(w.clone());
        Ok(w)
    }

    /// The writer if this process has opened one.
    pub(crate) fn open_writer(&self) -> Option<Arc<JournalWriter>> {
        self.writer.lock().ok().and_then(|w| w.clone())
    }

    /// Whether a writer (this process's, or another process holding the lock) is open.
    fn writer_running(&self) -> bool {
        if self.open_writer().is_some() {
            return true;
        }
        let Ok(lock) = std::fs::File::open(self.dir.join("LOCK")) else {
            return false;
        };
        // A lock taken here is released when `lock` closes, at once.
        !matches!(lock.try_lock_shared(), Ok(()))
    }

    /// Deletes every record and restarts the chain (dev-mode reset).
    pub(crate) fn wipe(&self) -> Result<()> {
        self.writer()?.wipe()?;
        if let Ok(mut s) = self.summaries.lock() {
            s.clear();
        }
        self.positions.clear();
        Ok(())
    }

    /// The summary stored beside a sealed segment, if there is a readable one.
    fn stored_summary(path: &Path) -> Option<Summary> {
        let bytes = std::fs::read(path.with_extension("sum")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The summary of a sealed segment: cached, else its `.sum` file, else rebuilt.
    fn summary(&self, first_seq: i64, path: &Path) -> Result<Arc<Summary>> {
        if let Some(s) = self
            .summaries
            .lock()
            .ok()
            .and_then(|m| m.get(&first_seq).cloned())
        {
            return Ok(s);
        }
        let summary = match Journal::stored_summary(path) {
            Some(s) => s,
            None => {
                let s = summarize(path, None)?;
                // Best effort: a read-only reader may not be able to write it.
                let _ = write_summary(&self.dir, first_seq, &s);
                s
            }
        };
        let summary = Arc::new(summary);
        if let Ok(mut m) = self.summaries.lock() {
            m.insert(first_seq, summary.clone());
        }
        Ok(summary)
    }

    /// A segment opened for reading: all of a sealed one; of the active one, what this
    /// process's writer has made durable (or, written by another process, whatever whole
    /// frames are there).
    fn open_segment(&self, first_seq: i64, path: &Path) -> Result<SegmentReader> {
        SegmentReader::open(path, self.durable_limit(first_seq))
    }

    /// [`Self::open_segment`], reading from byte `offset`, a frame boundary.
    fn open_segment_at(&self, first_seq: i64, path: &Path, offset: u64) -> Result<SegmentReader> {
        SegmentReader::open_at(path, self.durable_limit(first_seq), offset)
    }

    /// How much of segment `first_seq` may be read: what this process's writer made durable
    /// if it is the active one, else all of it.
    fn durable_limit(&self, first_seq: i64) -> Option<u64> {
        self.open_writer().and_then(|w| {
            let (active, len) = w.durable();
            (active == first_seq).then_some(len)
        })
    }
}

/// `seg-<first seq, 20 digits>.log`: names sort in chain order.
pub(crate) fn segment_path(dir: &Path, first_seq: i64) -> PathBuf {
    dir.join(format!("seg-{first_seq:020}.log"))
}

/// The segment files of `dir` in chain order, with their first sequence numbers.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name
            .strip_prefix("seg-")
            .and_then(|n| n.strip_suffix(".log"))
        else {
            continue;
        };
        if let Ok(first) = num.parse::<i64>() {
            out.push((first, entry.path()));
        }
    }
    out.sort_by_key(|(first, _)| *first);
    Ok(out)
}

/// Summarizes a segment's whole frames (the first `limit` bytes of it, if given).
fn summarize(path: &Path, limit: Option<u64>) -> Result<Summary> {
    let mut reader = SegmentReader::open(path, limit)?;
    if reader.header.is_none() {
        return Err(StoreError::Corrupt(format!(
            "{} is not a journal segment",
            path.display()
        )));
    }
    let mut s = Summary::default();
    while let Some((payload, _)) = reader.next_frame()? {
        match RecordView::parse(payload) {
            Ok(v) => s.add(&v),
            Err(_) => break,
        }
    }
    Ok(s)
}

/// Writes `<segment>.sum` (temporary file, then rename).
fn write_summary(dir: &Path, first_seq: i64, summary: &Summary) -> Result<()> {
    let path = segment_path(dir, first_seq).with_extension("sum");
    let tmp = path.with_extension("sum.tmp");
    let bytes = serde_json::to_vec(summary)
        .map_err(|e| StoreError::Database(format!("audit journal summary: {e}")))?;
    create_private(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))
}

/// Creates (or truncates) a file only its owner can read: summaries and the head name users
/// and access keys, like the segments they describe.
pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// Makes renames and new files in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

pub(crate) fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Database(format!("audit journal: {}: {e}", path.display()))
}
