//! The one writer of a journal directory: appends batches of frames with one write and one
//! `fdatasync` each, rolls segments, and checkpoints the chain head. Holding an exclusive
//! lock on the directory, it makes a second server on the same data directory fail at start
//! instead of interleaving two chains in one file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::audit::Appended;
use crate::crypto::MasterKey;
use crate::error::{Result, StoreError};
use crate::journal::frame::{
    encode_frame, link, set_seq, Hash, RecordView, SegmentHeader, HEADER_LEN,
};
use crate::journal::segment_reader::SegmentReader;
use crate::journal::summary::Summary;
use crate::journal::{
    io_err, list_segments, segment_path, sync_dir, write_summary, Genesis, Head, GENESIS_FILE,
    HEAD_FILE,
};
/// Largest batch buffer kept for reuse.
const MAX_KEPT_BUFFER: usize = 8 << 20;

/// Appends to the active segment of one journal directory.
#[derive(Debug)]
pub(crate) struct JournalWriter {
    state: Mutex<State>,
    /// First sequence number of the active segment and its durable length: readers in this
    /// process read that far and no further.
    active: Mutex<(i64, u64)>,
    /// Held for the writer's lifetime (released when the file closes).
    _lock: File,
}

#[derive(Debug)]
struct State {
    dir: PathBuf,
    key: Arc<MasterKey>,
    segment_bytes: u64,
    file: File,
    first_seq: i64,
    len: u64,
    seq: i64,
    hash: Hash,
    checkpointed_seq: i64,
    /// The head file, once there is one, and the slot the next checkpoint overwrites.
    head_file: Option<File>,
    head_slot: u8,
    /// The active segment's summary, kept up to date as frames are appended.
    summary: Summary,
    /// The batch being encoded, kept between batches: a fresh megabyte per batch costs page
    /// faults and zeroing.
    buf: Vec<u8>,
}

impl JournalWriter {
    /// Takes the directory's lock, then recovers: the last segment is cut back to its last
    /// whole frame (a crash can leave a torn, never-synced tail).
    pub(crate) fn open(
        dir: &Path,
        key: Arc<MasterKey>,
        segment_bytes: u64,
    ) -> Result<JournalWriter> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        restrict(dir, 0o700);
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Database(format!(
                    "another Rampart server is writing the audit journal in {}: one data directory serves one server at a time",
                    dir.display()
                )))
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
        }
        let state = recover(dir, key, segment_bytes)?;
        let writer = JournalWriter {
            active: Mutex::new((state.first_seq, state.len)),
            state: Mutex::new(state),
            _lock: lock,
        };
        Ok(writer)
    }

    /// The active segment's first sequence number and how much of it is durable.
    pub(crate) fn durable(&self) -> (i64, u64) {
        self.active.lock().map_or((0, 0), |a| *a)
    }

    /// The sequence number of the last record appended (0 for none).
    pub(crate) fn last_seq(&self) -> i64 {
        self.state.lock().map_or(0, |s| s.seq)
    }

    fn publish(&self, first_seq: i64, len: u64) {
        if let Ok(mut a) = self.active.lock() {
            *a = (first_seq, len);
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Database("audit journal writer poisoned".into()))
    }

    /// Appends records, given as canonical bytes with a placeholder sequence number (which
    /// this sets), in order, and returns once they are on disk.
    pub(crate) fn append(&self, records: &mut [Vec<u8>]) -> Result<Vec<Appended>> {
        let mut s = self.lock()?;
        let mut buf = std::mem::take(&mut s.buf);
        buf.clear();
        let written = self.append_with(&mut s, &mut buf, records);
        // Keep the buffer for the next batch unless one huge batch blew it up.
        if buf.capacity() <= MAX_KEPT_BUFFER {
            s.buf = buf;
        }
        written
    }

    fn append_with(
        &self,
        s: &mut State,
        buf: &mut Vec<u8>,
        records: &mut [Vec<u8>],
    ) -> Result<Vec<Appended>> {
        for (seq, payload) in (s.seq + 1..).zip(records.iter_mut()) {
            set_seq(payload, seq)?;
        }
        // Each record's columns are parsed before anything is written: a malformed one fails
        // the batch here, and the views feed the segment's summary once the batch is durable.
        let views = records
            .iter()
            .map(|p| RecordView::parse_columns(p))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(records.len());
        let mut hash = s.hash;
        for (view, payload) in views.iter().zip(records.iter()) {
            hash = encode_frame(buf, &hash, payload)?;
            out.push(Appended {
                seq: view.seq,
                hash: hex32(&hash),
            });
        }
        let seq = s.seq + records.len() as i64;
        let at = s.len;
        let written = s
            .file
            .write_all_at(buf, at)
            .and_then(|()| s.file.sync_data());
        if let Err(e) = written {
            // Nothing past `at` counts; cut any partial write so a retry starts clean.
            let _ = s.file.set_len(at);
            return Err(io_err(&segment_path(&s.dir, s.first_seq), e));
        }
        for view in &views {
            s.summary.add(view);
        }
        s.len = at + buf.len() as u64;
        s.seq = seq;
        s.hash = hash;
        self.publish(s.first_seq, s.len);
        // The records are durable from here on: a failure to seal or checkpoint must not fail
        // the append (the caller would write them again), so it is logged and retried later.
        if s.len >= s.segment_bytes {
            if let Err(e) = self.roll(s) {
                tracing::error!(error = %e, "audit journal: segment not sealed; retrying at the next batch");
            }
        }
        // The head follows every batch before the batch is acknowledged: recovery may then cut
        // only what comes after the head, which no caller was ever told is stored.
        if let Err(e) = checkpoint(s) {
            tracing::error!(error = %e, "audit journal: head not checkpointed; retrying");
        }
        Ok(out)
    }

    /// Records the journal's genesis for `account_id` (a new trail, or one that verified from
    /// its start on upgrade) and anchors the current head under it.
    pub(crate) fn record_genesis(&self, account_id: &str) -> Result<()> {
        let mut s = self.lock()?;
        Genesis::new(&s.key, account_id).store(&s.dir)?;
        let head = if s.seq == 0 {
            Head::genesis(&s.key, account_id)
        } else {
            Head::new(&s.key, s.seq, s.hash)
        };
        s.head_file = Some(head.store_file(&s.dir)?);
        s.checkpointed_seq = s.seq;
        Ok(())
    }

    /// Writes the chain head now (graceful shutdown, flushes).
    pub(crate) fn checkpoint(&self) -> Result<()> {
        let mut s = self.lock()?;
        checkpoint(&mut s)
    }

    /// Seals the active segment (with its summary) and starts the next one.
    fn roll(&self, s: &mut State) -> Result<()> {
        write_summary(&s.dir, s.first_seq, &s.summary)?;
        let first = s.seq + 1;
        let file = match create_segment(&s.dir, first, s.hash) {
            Ok(f) => f,
            Err(e) => {
                // A half-made next segment would look like the active one to readers.
                let _ = std::fs::remove_file(segment_path(&s.dir, first));
                return Err(e);
            }
        };
        s.summary = Summary::default();
        s.file = file;
        s.first_seq = first;
        s.len = HEADER_LEN as u64;
        self.publish(first, s.len);
        checkpoint(s)
    }

    /// Deletes every segment and the head, and starts over at the genesis (dev-mode reset).
    pub(crate) fn wipe(&self) -> Result<()> {
        let mut s = self.lock()?;
        for (first, path) in list_segments(&s.dir)? {
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            let sum = path.with_extension("sum");
            if sum.exists() {
                std::fs::remove_file(&sum).map_err(|e| io_err(&sum, e))?;
            }
            tracing::debug!(first, "audit journal segment wiped");
        }
        for name in [HEAD_FILE, GENESIS_FILE] {
            let path = s.dir.join(name);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            }
        }
        s.head_file = None;
        s.file = create_segment(&s.dir, 1, [0u8; 32])?;
        s.first_seq = 1;
        s.len = HEADER_LEN as u64;
        s.seq = 0;
        s.hash = [0u8; 32];
        s.checkpointed_seq = 0;
        s.summary = Summary::default();
        self.publish(1, s.len);
        Ok(())
    }
}

/// Stores the head (sequence, hash, MAC): into the slot not holding the last checkpoint,
/// in place, or as a new head file when there is none yet.
fn checkpoint(s: &mut State) -> Result<()> {
    if s.seq == s.checkpointed_seq {
        return Ok(());
    }
    let head = Head::new(&s.key, s.seq, s.hash);
    match &s.head_file {
        Some(f) => {
            head.store_slot(f, s.head_slot, &s.dir)?;
            s.head_slot ^= 1;
        }
        None => s.head_file = Some(head.store_file(&s.dir)?),
    }
    s.checkpointed_seq = s.seq;
    Ok(())
}

/// Creates a segment file with its header, durably (file and directory entry).
fn create_segment(dir: &Path, first_seq: i64, prev_hash: Hash) -> Result<File> {
    let path = segment_path(dir, first_seq);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    restrict(&path, 0o600);
    let header = SegmentHeader {
        first_seq,
        prev_hash,
    };
    file.write_all(&header.encode())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_err(&path, e))?;
    sync_dir(dir)?;
    Ok(file)
}

/// The checkpoint recovery is anchored to: the authentic head, or `None` on a journal that
/// has neither a head nor a genesis yet (a new one, or one from before anchors existed).
fn anchor(dir: &Path, key: &MasterKey) -> Result<Option<Head>> {
    let genesis = Genesis::load(dir)?;
    if let Some(g) = &genesis {
        if !g.is_authentic(key) {
            return Err(refused(
                "its GENESIS file does not verify under the master key".into(),
            ));
        }
    }
    let account = genesis.as_ref().map(|g| g.account_id.as_str());
    match Head::load_slots(dir)? {
        Some(slots) => Head::best(&slots, key, account)
            .map(Some)
            .ok_or_else(|| refused("its HEAD does not verify under the master key".into())),
        None if genesis.is_some() => Err(refused(
            "its HEAD is missing although its genesis is recorded: records may have been removed"
                .into(),
        )),
        None => Ok(None),
    }
}

/// Start-up refused: the journal does not match its anchors.
fn refused(what: String) -> StoreError {
    StoreError::Corrupt(format!(
        "the audit journal cannot be recovered: {what}. Nothing was changed; inspect it with \
         `rampart audit verify` (restore it from a backup if records were lost)"
    ))
}

/// Opens the last segment (creating the first one if none), cut back to its last whole frame.
///
/// Recovery is anchored to the checkpointed head. The head is written after every batch and
/// before the batch is acknowledged, so a crash can leave only frames *after* the head that no
/// caller was told are stored (a torn write, or a whole batch synced just before the crash):
/// a torn tail after the head is cut, whole frames after it are kept. Every record at or
/// before the head was acknowledged: one that fails to verify, is missing, or sits in a
/// segment cut back below the head stops start-up instead, naming the first bad record.
fn recover(dir: &Path, key: Arc<MasterKey>, segment_bytes: u64) -> Result<State> {
    let anchor = anchor(dir, &key)?;
    let anchored_seq = anchor.as_ref().map_or(0, |h| h.seq);
    let mut segments = list_segments(dir)?;
    if segments.is_empty() {
        if anchored_seq > 0 {
            return Err(refused(format!(
                "every segment is missing but its head is at record {anchored_seq}"
            )));
        }
        create_segment(dir, 1, [0u8; 32])?;
        segments.push((1, segment_path(dir, 1)));
    }
    let last_at = segments.len().saturating_sub(1);
    let Some((first_seq, path)) = segments.last().cloned() else {
        return Err(refused("it has no segment".into()));
    };
    if SegmentReader::open(&path, None)?
        .header
        .is_none_or(|h| h.first_seq != first_seq)
    {
        if anchored_seq >= first_seq {
            return Err(refused(format!(
                "segment {} lost its header, and records {first_seq}..={anchored_seq} in it are checkpointed",
                path.display()
            )));
        }
        // Torn while being created (the header is synced before any frame is written):
        // make it again after the previous segment's last frame.
        let prev_hash = match last_at.checked_sub(1).and_then(|i| segments.get(i)) {
            Some((_, prev)) => tail(prev)?.1,
            None => [0u8; 32],
        };
        tracing::warn!(path = %path.display(), "audit journal segment had no header; recreated");
        create_segment(dir, first_seq, prev_hash)?;
    }
    // Walk from the segment holding the checkpointed record to the last one.
    let start = segments
        .iter()
        .rposition(|(first, _)| *first <= anchored_seq)
        .unwrap_or(last_at);
    let mut prev: Option<(i64, Hash)> = None;
    let mut hash_at_anchor = (anchored_seq == 0).then_some([0u8; 32]);
    let mut end = HEADER_LEN as u64;
    let mut size = end;
    let mut seq = 0;
    let mut hash = [0u8; 32];
    for (i, (first, seg)) in segments.iter().enumerate().skip(start) {
        let header = SegmentReader::open(seg, None)?.header;
        let continues = match (header, prev) {
            (Some(h), Some((p_seq, p_hash))) => h.first_seq == p_seq + 1 && h.prev_hash == p_hash,
            (Some(h), None) => h.first_seq == *first,
            (None, _) => false,
        };
        let Some(header) = header.filter(|_| continues) else {
            return Err(refused(format!(
                "segment {} does not continue the chain at record {first}",
                seg.display()
            )));
        };
        let walked = whole_frames(seg, &header, anchored_seq)?;
        (seq, hash, end, size) = (walked.seq, walked.hash, walked.end, walked.size);
        if walked.at_anchor.is_some() {
            hash_at_anchor = walked.at_anchor;
        }
        if i < last_at && end < size {
            return Err(refused(format!(
                "record {} in sealed segment {} fails to verify",
                seq + 1,
                seg.display()
            )));
        }
        prev = Some((seq, hash));
    }
    if seq < anchored_seq {
        return Err(refused(format!(
            "record {} fails to verify or is missing, and the checkpointed head is at record {anchored_seq}",
            seq + 1
        )));
    }
    if let Some(h) = &anchor {
        if hash_at_anchor != Some(h.hash) {
            return Err(refused(format!(
                "record {anchored_seq} does not match the checkpointed head"
            )));
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    if end < size {
        tracing::warn!(
            path = %path.display(),
            bytes = size - end,
            after_record = seq,
            checkpointed = anchored_seq,
            "audit journal: discarding a torn tail after the checkpointed head (never acknowledged)"
        );
        file.set_len(end)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_err(&path, e))?;
    }
    let summary = crate::journal::summarize(&path, Some(end))?;
    let mut state = State {
        dir: dir.to_path_buf(),
        key,
        segment_bytes: segment_bytes.max(HEADER_LEN as u64 + 1),
        file,
        first_seq,
        len: end,
        seq,
        hash,
        checkpointed_seq: anchored_seq,
        head_file: None,
        head_slot: 1,
        summary,
        buf: Vec::new(),
    };
    // A fresh two-slot head file (also converting a single-line one), anchored at the
    // recovered end; a journal with nothing yet gets its head with its genesis.
    if anchor.is_some() || seq > 0 {
        let head = match &anchor {
            Some(h) if h.seq == seq => h.clone(),
            _ => Head::new(&state.key, seq, hash),
        };
        state.head_file = Some(head.store_file(dir)?);
        state.checkpointed_seq = seq;
    }
    Ok(state)
}

/// What walking a segment's whole, chained frames found.
struct Walked {
    /// The last sequence number and hash.
    seq: i64,
    hash: Hash,
    /// Where those frames end, and the file's size.
    end: u64,
    size: u64,
    /// The hash of record `anchor`, if the segment holds it.
    at_anchor: Option<Hash>,
}

/// Walks a segment's whole, chained frames. Read frame by frame: recovery does not hold the
/// segment.
fn whole_frames(path: &Path, header: &SegmentHeader, anchor: i64) -> Result<Walked> {
    let size = std::fs::metadata(path).map_err(|e| io_err(path, e))?.len();
    let mut reader = SegmentReader::open(path, None)?;
    let mut w = Walked {
        seq: header.first_seq - 1,
        hash: header.prev_hash,
        end: HEADER_LEN as u64,
        size,
        at_anchor: None,
    };
    if w.seq == anchor {
        w.at_anchor = Some(w.hash);
    }
    while let Some((payload, stored)) = reader.next_frame()? {
        let ok = link(&w.hash, payload) == stored
            && RecordView::parse(payload).is_ok_and(|v| v.seq == w.seq + 1);
        if !ok {
            break;
        }
        w.seq += 1;
        w.hash = stored;
        w.end = reader.pos();
        if w.seq == anchor {
            w.at_anchor = Some(stored);
        }
    }
    Ok(w)
}

/// The last sequence number and hash of a whole segment file.
fn tail(path: &Path) -> Result<(i64, Hash)> {
    let header = SegmentReader::open(path, None)?.header.ok_or_else(|| {
        StoreError::Corrupt(format!("{} is not a journal segment", path.display()))
    })?;
    let w = whole_frames(path, &header, -1)?;
    Ok((w.seq, w.hash))
}

/// Lowercase hex of a hash, through the `hex` crate's table-driven slice encoder (its
/// `encode` goes char by char through an iterator and showed in profiles).
fn hex32(h: &Hash) -> String {
    let mut out = [0u8; 64];
    match hex::encode_to_slice(h, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => hex::encode(h),
    }
}

fn restrict(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex32_matches_the_hex_crate() {
        let h: super::Hash = std::array::from_fn(|i| (i * 37 + 5) as u8);
        assert_eq!(super::hex32(&h), hex::encode(h));
    }
}
