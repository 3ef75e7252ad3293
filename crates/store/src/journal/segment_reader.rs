//! Reading a segment frame by frame: a lookup or a verification holds one frame in memory at a
//! time, not the (up to 32 MiB) file.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom, Take};
use std::path::Path;

use crate::error::Result;
use crate::journal::frame::{Hash, SegmentHeader, HEADER_LEN};
use crate::journal::io_err;

/// The most a reader buffers at once.
const BUFFER: u64 = 64 * 1024;

/// A segment opened for reading.
pub(crate) struct SegmentReader {
    inner: BufReader<Take<File>>,
    /// The header, `None` if the file does not start with a valid one.
    pub(crate) header: Option<SegmentHeader>,
    frame: Vec<u8>,
    pos: u64,
    len: u64,
}

impl SegmentReader {
    /// Opens `path`, reading at most `limit` bytes of it.
    pub(crate) fn open(path: &Path, limit: Option<u64>) -> Result<SegmentReader> {
        SegmentReader::open_at(path, limit, HEADER_LEN as u64)
    }

    /// Opens `path` to read frames from byte `offset` (a frame boundary, as [`Self::pos`]
    /// returned it), reading at most `limit` bytes of the file. The header is still read
    /// and checked.
    pub(crate) fn open_at(path: &Path, limit: Option<u64>, offset: u64) -> Result<SegmentReader> {
        let mut file = File::open(path).map_err(|e| io_err(path, e))?;
        let size = file.metadata().map_err(|e| io_err(path, e))?.len();
        let len = limit.map_or(size, |l| l.min(size));
        let mut head = [0u8; HEADER_LEN];
        let header = match file.read_exact(&mut head) {
            Ok(()) if len >= HEADER_LEN as u64 => SegmentHeader::decode(&head),
            Ok(()) => None,
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => None,
            Err(e) => return Err(io_err(path, e)),
        };
        let pos = offset.clamp(HEADER_LEN as u64, len.max(HEADER_LEN as u64));
        if pos != HEADER_LEN as u64 {
            file.seek(SeekFrom::Start(pos))
                .map_err(|e| io_err(path, e))?;
        }
        // The buffer is no larger than what is left to read: a stream consumer that wakes for
        // a few new records reads those, not 64 KiB each time (the kernel's copy of the rest
        // was a tenth of the server's CPU under `bench/sm_load.sh`).
        let left = len.saturating_sub(pos);
        let capacity = usize::try_from(left.clamp(256, BUFFER)).unwrap_or(256);
        let inner = BufReader::with_capacity(capacity, file.take(left));
        Ok(SegmentReader {
            inner,
            header,
            frame: Vec::new(),
            pos,
            len,
        })
    }

    /// The next whole frame (payload and stored hash); `None` at the end of the bytes or at
    /// an incomplete frame (a tail still being written, or cut by a crash).
    pub(crate) fn next_frame(&mut self) -> Result<Option<(&[u8], Hash)>> {
        if self.header.is_none() {
            return Ok(None);
        }
        let mut len_bytes = [0u8; 4];
        if !self.fill(&mut len_bytes)? {
            return Ok(None);
        }
        let n = u64::from(u32::from_be_bytes(len_bytes));
        // Checked against what is left before allocating: a corrupt length stays harmless.
        if self.pos + 4 + n + 32 > self.len {
            return Ok(None);
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.frame.resize(n + 32, 0);
        let mut frame = std::mem::take(&mut self.frame);
        let whole = self.fill(&mut frame)?;
        self.frame = frame;
        if !whole {
            return Ok(None);
        }
        self.pos += 4 + self.frame.len() as u64;
        // The frame is n + 32 bytes long (resized above): payload, then the stored hash.
        let Some((payload, stored)) = self.frame.split_at_checked(n) else {
            return Ok(None);
        };
        let Ok(hash) = Hash::try_from(stored) else {
            return Ok(None);
        };
        Ok(Some((payload, hash)))
    }

    /// The offset just past the last frame returned.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// True when every byte was consumed by whole frames.
    pub(crate) fn at_end(&self) -> bool {
        self.header.is_some() && self.pos == self.len
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<bool> {
        match self.inner.read_exact(buf) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(crate::error::StoreError::Database(format!(
                "audit journal: reading a segment: {e}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_chain::canonical_bytes;
    use crate::journal::frame::encode_frame;

    fn write_segment(bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("rampart-seg-{}.log", uuid::Uuid::new_v4()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn record(n: i64) -> crate::audit::AuditRecord {
        crate::audit::AuditRecord {
            event_id: format!("e{n}"),
            event_time: chrono::DateTime::from_timestamp_millis(n).unwrap(),
            event_name: "GetUser".into(),
            event_source: "iam.amazonaws.com".into(),
            username: None,
            access_key_id: None,
            read_only: true,
            error_code: None,
            account_id: None,
            resources: vec![],
            event_json: "{}".into(),
        }
    }

    #[test]
    fn reads_whole_frames_and_stops_at_a_cut_or_a_lying_length() {
        let header = SegmentHeader {
            first_seq: 1,
            prev_hash: [0u8; 32],
        };
        let mut bytes = header.encode().to_vec();
        let h1 = encode_frame(&mut bytes, &[0u8; 32], &canonical_bytes(1, &record(1))).unwrap();
        let whole = bytes.len();
        encode_frame(&mut bytes, &h1, &canonical_bytes(2, &record(2))).unwrap();

        let path = write_segment(&bytes);
        let mut r = SegmentReader::open(&path, None).unwrap();
        assert_eq!(r.header, Some(header));
        assert_eq!(r.next_frame().unwrap().unwrap().1, h1);
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_none());
        assert!(r.at_end());

        // Limited to the first frame, or cut inside the second: one frame, not at the end.
        for (limit, at_end) in [(Some(whole as u64), true), (Some(whole as u64 + 10), false)] {
            let mut r = SegmentReader::open(&path, limit).unwrap();
            assert!(r.next_frame().unwrap().is_some());
            assert!(r.next_frame().unwrap().is_none());
            assert_eq!(r.at_end(), at_end);
        }

        // A length prefix claiming 4 GiB is an incomplete frame, not an allocation.
        let mut lying = bytes[..whole].to_vec();
        lying.extend_from_slice(&u32::MAX.to_be_bytes());
        lying.extend_from_slice(&[0u8; 64]);
        let p2 = write_segment(&lying);
        let mut r = SegmentReader::open(&p2, None).unwrap();
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_none());
        assert!(!r.at_end());

        // Not a segment at all.
        let p3 = write_segment(b"hello");
        let mut r = SegmentReader::open(&p3, None).unwrap();
        assert!(r.header.is_none());
        assert!(r.next_frame().unwrap().is_none());
        for p in [path, p2, p3] {
            let _ = std::fs::remove_file(p);
        }
    }
}
