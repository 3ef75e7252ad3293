//! The journal's on-disk format.
//!
//! A segment file is a header, then frames, appended and never rewritten:
//!
//! ```text
//! header: b"RMPJRNL1" | first_seq: u64 BE | prev_hash: [u8; 32]   (the chain before this file)
//! frame:  len: u32 BE | payload: canonical_bytes(seq, record) (len bytes) | hash: [u8; 32]
//! ```
//!
//! `hash = SHA-256(prev_hash || payload)`: the same chain rule as the audit table, over the same
//! canonical bytes, so the payload is both the stored record and what is hashed. A frame is
//! complete only when its hash checks; a torn tail (crash mid-write) fails that check.

use aws_lc_rs::digest;

use crate::audit::{AuditResource, StoredEvent};
#[cfg(test)]
use crate::audit_chain::canonical_bytes;
use crate::audit_encoded::AuditFields;
use crate::db::from_ms;
use crate::error::{Result, StoreError};

/// Identifies a segment file and its format version.
const MAGIC: &[u8; 8] = b"RMPJRNL1";
/// Bytes before the first frame.
pub(crate) const HEADER_LEN: usize = 8 + 8 + 32;
/// Length prefix plus trailing hash.
const FRAME_OVERHEAD: usize = 4 + 32;
/// The canonical encoding's leading tag (see `audit_chain::canonical_bytes`).
const CANONICAL_TAG: &[u8] = b"rampart-audit-v1";

/// A chain hash in raw form.
pub(crate) type Hash = [u8; 32];

/// What a segment file starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    /// Sequence number of the segment's first frame.
    pub(crate) first_seq: i64,
    /// Hash of the frame before it (the genesis hash for the first segment).
    pub(crate) prev_hash: Hash,
}

impl SegmentHeader {
    /// The header's bytes.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8..16].copy_from_slice(&self.first_seq.to_be_bytes());
        out[16..].copy_from_slice(&self.prev_hash);
        out
    }

    /// Parses a header; `None` if the bytes are too short or not a journal segment.
    pub(crate) fn decode(bytes: &[u8]) -> Option<SegmentHeader> {
        let head = bytes.get(..HEADER_LEN)?;
        let (magic, rest) = head.split_at_checked(8)?;
        if magic != MAGIC {
            return None;
        }
        let (seq, prev) = rest.split_at_checked(8)?;
        let first_seq = i64::from_be_bytes(seq.try_into().ok()?);
        let prev_hash: Hash = prev.try_into().ok()?;
        Some(SegmentHeader {
            first_seq,
            prev_hash,
        })
    }
}

/// `SHA-256(prev || payload)`.
pub(crate) fn link(prev: &Hash, payload: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(prev);
    ctx.update(payload);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Where the sequence number sits in canonical bytes (right after the tag).
const SEQ_AT: usize = CANONICAL_TAG.len();

/// Writes `seq` into canonical bytes encoded with a placeholder (records are encoded by
/// whoever submits them, before the writer knows their position).
pub(crate) fn set_seq(payload: &mut [u8], seq: i64) -> Result<()> {
    if !payload.starts_with(CANONICAL_TAG) {
        return Err(StoreError::Corrupt(
            "journal record has an unknown tag".into(),
        ));
    }
    let slot = payload.get_mut(SEQ_AT..SEQ_AT + 8).ok_or_else(short)?;
    slot.copy_from_slice(&seq.to_be_bytes());
    Ok(())
}

/// The sequence number of canonical bytes, read without decoding the rest.
pub(crate) fn seq_of(payload: &[u8]) -> Option<i64> {
    if !payload.starts_with(CANONICAL_TAG) {
        return None;
    }
    let bytes: [u8; 8] = payload.get(SEQ_AT..SEQ_AT + 8)?.try_into().ok()?;
    Some(i64::from_be_bytes(bytes))
}

/// Appends the frame of one record's canonical bytes after `prev` to `buf`; returns its hash.
pub(crate) fn encode_frame(buf: &mut Vec<u8>, prev: &Hash, payload: &[u8]) -> Result<Hash> {
    let Ok(len) = u32::try_from(payload.len()) else {
        return Err(StoreError::InvalidInput(
            "audit record larger than 4 GiB".into(),
        ));
    };
    let hash = link(prev, payload);
    buf.reserve(FRAME_OVERHEAD + payload.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(payload);
    buf.extend_from_slice(&hash);
    Ok(hash)
}

/// One frame as found in a segment's bytes (tests parse buffers with it; segments are read
/// with `SegmentReader`).
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawFrame<'a> {
    /// The canonical record bytes.
    pub(crate) payload: &'a [u8],
    /// The stored chain hash.
    pub(crate) hash: Hash,
    /// Offset just past the frame.
    pub(crate) end: usize,
}

/// The frame starting at `pos`, or `None` when the bytes end before it is complete.
#[cfg(test)]
pub(crate) fn frame_at(data: &[u8], pos: usize) -> Option<RawFrame<'_>> {
    let len_bytes: [u8; 4] = data.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).ok()?;
    let start = pos + 4;
    let payload_end = start.checked_add(len)?;
    let end = payload_end.checked_add(32)?;
    let payload = data.get(start..payload_end)?;
    let hash: Hash = data.get(payload_end..end)?.try_into().ok()?;
    Some(RawFrame { payload, hash, end })
}

/// A record decoded from its canonical bytes without copying (lookups filter on these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordView<'a> {
    pub(crate) seq: i64,
    pub(crate) event_id: &'a str,
    pub(crate) time_ms: i64,
    pub(crate) event_name: &'a str,
    pub(crate) event_source: &'a str,
    pub(crate) username: Option<&'a str>,
    pub(crate) access_key_id: Option<&'a str>,
    pub(crate) read_only: bool,
    pub(crate) error_code: Option<&'a str>,
    pub(crate) account_id: Option<&'a str>,
    pub(crate) resources: Vec<(Option<&'a str>, Option<&'a str>)>,
    pub(crate) event_json: &'a str,
}

/// Reads canonical bytes front to back.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(short)?;
        let out = self.data.get(self.pos..end).ok_or_else(short)?;
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        self.take(1)?.first().copied().ok_or_else(short)
    }
    fn u64(&mut self) -> Result<u64> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| short())?;
        Ok(u64::from_be_bytes(b))
    }
    fn i64(&mut self) -> Result<i64> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| short())?;
        Ok(i64::from_be_bytes(b))
    }
    fn str(&mut self) -> Result<&'a str> {
        if self.u8()? != 1 {
            return Err(StoreError::Corrupt(
                "journal record: expected a string".into(),
            ));
        }
        let n = usize::try_from(self.u64()?).map_err(|_| short())?;
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| StoreError::Corrupt("journal record: string is not UTF-8".into()))
    }
    /// Steps over a string without checking its text; returns `""`.
    fn skip_str(&mut self) -> Result<&'a str> {
        if self.u8()? != 1 {
            return Err(StoreError::Corrupt(
                "journal record: expected a string".into(),
            ));
        }
        let n = usize::try_from(self.u64()?).map_err(|_| short())?;
        self.take(n)?;
        Ok("")
    }
    fn opt(&mut self) -> Result<Option<&'a str>> {
        match self.data.get(self.pos) {
            Some(0) => {
                self.pos += 1;
                Ok(None)
            }
            _ => self.str().map(Some),
        }
    }
}

fn short() -> StoreError {
    StoreError::Corrupt("journal record is truncated".into())
}

impl<'a> RecordView<'a> {
    /// Decodes the canonical bytes written by `canonical_bytes`.
    pub(crate) fn parse(payload: &'a [u8]) -> Result<RecordView<'a>> {
        Self::parse_with(payload, true)
    }

    /// Decodes all but the event JSON, which is left empty and checked only for its length:
    /// for the writer, whose records were built as UTF-8 (`EncodedAudit` checks its JSON) and
    /// need their columns only (a kilobyte of UTF-8 checking per record is not free).
    pub(crate) fn parse_columns(payload: &'a [u8]) -> Result<RecordView<'a>> {
        Self::parse_with(payload, false)
    }

    fn parse_with(payload: &'a [u8], with_json: bool) -> Result<RecordView<'a>> {
        let mut r = Reader {
            data: payload,
            pos: 0,
        };
        if r.take(CANONICAL_TAG.len())? != CANONICAL_TAG {
            return Err(StoreError::Corrupt(
                "journal record has an unknown tag".into(),
            ));
        }
        let seq = r.i64()?;
        let event_id = r.str()?;
        let time_ms = r.i64()?;
        let event_name = r.str()?;
        let event_source = r.str()?;
        let username = r.opt()?;
        let access_key_id = r.opt()?;
        let read_only = r.u8()? != 0;
        let error_code = r.opt()?;
        let account_id = r.opt()?;
        let n = r.u64()?;
        // Each resource takes at least two bytes, which bounds a corrupt count.
        if n > (payload.len() as u64) / 2 {
            return Err(short());
        }
        let mut resources = Vec::with_capacity(n as usize);
        for _ in 0..n {
            resources.push((r.opt()?, r.opt()?));
        }
        let event_json = if with_json { r.str()? } else { r.skip_str()? };
        if r.pos != payload.len() {
            return Err(StoreError::Corrupt(
                "journal record has trailing bytes".into(),
            ));
        }
        Ok(RecordView {
            seq,
            event_id,
            time_ms,
            event_name,
            event_source,
            username,
            access_key_id,
            read_only,
            error_code,
            account_id,
            resources,
            event_json,
        })
    }

    /// An owned copy, as lookups return it.
    pub(crate) fn to_stored(&self) -> Result<StoredEvent> {
        let fields = AuditFields {
            event_id: self.event_id,
            event_time: from_ms(self.time_ms)?,
            event_name: self.event_name,
            event_source: self.event_source,
            username: self.username,
            access_key_id: self.access_key_id,
            read_only: self.read_only,
            error_code: self.error_code,
            account_id: self.account_id,
            // Filled below from the view's borrowed pairs.
            resources: &[],
        };
        let mut record = fields.to_record(self.event_json.to_string());
        let owned = |s: Option<&str>| s.map(str::to_string);
        record.resources = self
            .resources
            .iter()
            .map(|(t, n)| AuditResource {
                resource_type: owned(*t),
                resource_name: owned(*n),
            })
            .collect();
        Ok(StoredEvent {
            seq: self.seq,
            record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditRecord;
    use chrono::TimeZone;

    pub(crate) fn sample(n: u32) -> AuditRecord {
        AuditRecord {
            event_id: format!("00000000-0000-7000-8000-{n:012}"),
            event_time: chrono::Utc
                .timestamp_millis_opt(1_700_000_000_000 + i64::from(n))
                .unwrap(),
            event_name: "GetCallerIdentity".into(),
            event_source: "sts.amazonaws.com".into(),
            username: n.is_multiple_of(2).then(|| "alice".to_string()),
            access_key_id: Some("AKIAEXAMPLE".into()),
            read_only: true,
            error_code: None,
            account_id: Some("123456789012".into()),
            resources: vec![AuditResource {
                resource_type: Some("AWS::IAM::User".into()),
                resource_name: None,
            }],
            event_json: format!("{{\"n\":{n}}}"),
        }
    }

    #[test]
    fn frames_round_trip_and_chain() {
        let genesis = [0u8; 32];
        let mut buf = Vec::new();
        let h1 = encode_frame(&mut buf, &genesis, &canonical_bytes(1, &sample(1))).unwrap();
        let h2 = encode_frame(&mut buf, &h1, &canonical_bytes(2, &sample(2))).unwrap();
        let f1 = frame_at(&buf, 0).unwrap();
        assert_eq!(f1.hash, h1);
        assert_eq!(link(&genesis, f1.payload), h1);
        let f2 = frame_at(&buf, f1.end).unwrap();
        assert_eq!(f2.hash, h2);
        assert_eq!(f2.end, buf.len());
        let v = RecordView::parse(f2.payload).unwrap();
        assert_eq!(v.seq, 2);
        assert_eq!(v.to_stored().unwrap().record, sample(2));
        // The chain hash equals the audit table's for the same record and position.
        let table = crate::audit_chain::chain_hash(
            &hex::encode(h1),
            &crate::audit_chain::canonical_bytes(2, &sample(2)),
        )
        .unwrap();
        assert_eq!(table, hex::encode(h2));
    }

    #[test]
    fn the_writer_sets_the_position_of_a_record_encoded_without_one() {
        let mut payload = canonical_bytes(0, &sample(7));
        set_seq(&mut payload, 42).unwrap();
        assert_eq!(payload, canonical_bytes(42, &sample(7)));
        assert_eq!(RecordView::parse(&payload).unwrap().seq, 42);
        assert!(set_seq(&mut b"not-a-record-at-all-here".to_vec(), 1).is_err());
        assert!(set_seq(&mut CANONICAL_TAG.to_vec(), 1).is_err());
    }

    #[test]
    fn the_columns_parse_as_the_whole_record_does_without_the_event() {
        let bytes = canonical_bytes(3, &sample(3));
        let whole = RecordView::parse(&bytes).unwrap();
        let columns = RecordView::parse_columns(&bytes).unwrap();
        assert_eq!(columns.event_json, "");
        assert_eq!(
            RecordView {
                event_json: "",
                ..whole
            },
            columns
        );
        for cut in 0..bytes.len() {
            assert!(
                RecordView::parse_columns(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn torn_frames_are_incomplete() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, &[0u8; 32], &canonical_bytes(1, &sample(1))).unwrap();
        for cut in 0..buf.len() {
            assert!(frame_at(&buf[..cut], 0).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn header_round_trip() {
        let h = SegmentHeader {
            first_seq: 42,
            prev_hash: [7u8; 32],
        };
        assert_eq!(SegmentHeader::decode(&h.encode()), Some(h));
        assert_eq!(SegmentHeader::decode(&h.encode()[..10]), None);
        assert_eq!(SegmentHeader::decode(&[0u8; HEADER_LEN]), None);
    }

    proptest::proptest! {
        #[test]
        fn any_record_round_trips(
            id in ".{0,40}", ms in -1_000_000_000_000i64..4_000_000_000_000i64,
            name in "[A-Za-z]{1,30}", user in proptest::option::of(".{0,20}"),
            ro: bool, err in proptest::option::of("[A-Za-z]{1,20}"),
            res in proptest::collection::vec((proptest::option::of(".{0,10}"), proptest::option::of(".{0,10}")), 0..4),
            json in ".{0,200}", seq in 1i64..i64::MAX,
        ) {
            let rec = AuditRecord {
                event_id: id,
                event_time: chrono::DateTime::from_timestamp_millis(ms).unwrap(),
                event_name: name,
                event_source: "iam.amazonaws.com".into(),
                username: user,
                access_key_id: None,
                read_only: ro,
                error_code: err,
                account_id: Some("123456789012".into()),
                resources: res.into_iter().map(|(t, n)| AuditResource { resource_type: t, resource_name: n }).collect(),
                event_json: json,
            };
            let bytes = canonical_bytes(seq, &rec);
            let view = RecordView::parse(&bytes).unwrap();
            proptest::prop_assert_eq!(view.seq, seq);
            proptest::prop_assert_eq!(view.to_stored().unwrap().record, rec);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = RecordView::parse(&bytes);
            let _ = frame_at(&bytes, 0);
            let _ = SegmentHeader::decode(&bytes);
        }
    }

    #[test]
    fn garbage_payload_is_corrupt_not_a_panic() {
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            assert!(RecordView::parse(&junk).is_err());
        }
    }
}
