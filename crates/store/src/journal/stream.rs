//! Reading the journal forward, in chain order, for audit-stream consumers.
//!
//! Each consumer reads from its cursor, a sequence number. Finding it by scanning its segment
//! from the start made every batch read, on average, half a 32 MiB segment: with three
//! consumers on the stream that scanning was about a third of the server's CPU under load
//! (perf, `bench/sm_load.sh`). So reads leave marks behind ([`Positions`]): the place of every
//! `MARK_EVERY`th record they pass and of the last one. A read seeks to the nearest mark at or
//! before its cursor and skips at most that many frames, by their sequence numbers alone.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::audit::StoredEvent;
use crate::error::Result;
use crate::journal::frame::{seq_of, RecordView};
use crate::journal::{list_segments, Journal};

/// One record in this many leaves a mark.
const MARK_EVERY: i64 = 32;
/// The most marks kept (about 32 bytes each): the newest, covering about 130,000 records, a
/// few segments; a cursor further behind is found by scanning its segment.
const MARKS_KEPT: usize = 4096;

/// A place in the journal: the byte offset just past the frame of record `seq`, in the
/// segment whose first record is `segment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    seq: i64,
    segment: i64,
    offset: u64,
}

/// Marks left by reads, by sequence number. A mark is only a hint: a read from it checks that
/// the frame found there follows it, and scans from the segment's start if not.
#[derive(Debug, Default)]
pub(crate) struct Positions(Mutex<BTreeMap<i64, Position>>);

impl Positions {
    /// The nearest mark at or before `seq`.
    fn before(&self, seq: i64) -> Option<Position> {
        let marks = self.0.lock().ok()?;
        marks.range(..=seq).next_back().map(|(_, p)| *p)
    }

    fn keep(&self, new: &[Position]) {
        let Ok(mut marks) = self.0.lock() else { return };
        for p in new {
            marks.insert(p.seq, *p);
        }
        while marks.len() > MARKS_KEPT {
            marks.pop_first();
        }
    }

    /// Forgets every mark (the journal was wiped).
    pub(crate) fn clear(&self) {
        if let Ok(mut marks) = self.0.lock() {
            marks.clear();
        }
    }
}

/// Up to `limit` durable records with a sequence number above `after`, oldest first; with
/// `keep` false they are only counted (as `StoredEvent`s are not built, the result is empty
/// and the count is returned).
pub(crate) fn read_after(
    j: &Journal,
    after: i64,
    limit: usize,
    keep: bool,
) -> Result<(Vec<StoredEvent>, usize)> {
    if let Some(at) = j.positions.before(after) {
        if let Some(found) = scan(j, after, limit, keep, Some(at))? {
            return Ok(found);
        }
    }
    Ok(scan(j, after, limit, keep, None)?.unwrap_or_default())
}

/// Reads from `from` if given, else from the start of the segment holding `after + 1`;
/// `None` when the frame at `from` is not the record after it (a stale mark).
fn scan(
    j: &Journal,
    after: i64,
    limit: usize,
    keep: bool,
    from: Option<Position>,
) -> Result<Option<(Vec<StoredEvent>, usize)>> {
    let segments = list_segments(&j.dir)?;
    let start = match from {
        Some(at) => match segments.iter().position(|(first, _)| *first == at.segment) {
            Some(i) => i,
            None => return Ok(None),
        },
        // The segment holding `after + 1` is the last one starting at or before it.
        None => segments
            .iter()
            .rposition(|(first, _)| *first <= after.saturating_add(1))
            .unwrap_or(0),
    };
    let mut out = Vec::new();
    let mut count = 0usize;
    let mut marks: Vec<Position> = Vec::new();
    let mut last: Option<Position> = None;
    for (i, (first, path)) in segments.iter().enumerate().skip(start) {
        let mut reader = match from {
            Some(at) if i == start => j.open_segment_at(*first, path, at.offset)?,
            _ => j.open_segment(*first, path)?,
        };
        let mut checked = !(from.is_some() && i == start);
        while let Some((payload, _)) = reader.next_frame()? {
            // A frame that does not parse is a torn tail still being written: stop there.
            let Some(seq) = seq_of(payload) else { break };
            if !checked {
                if Some(seq) != from.map(|at| at.seq.saturating_add(1)) {
                    return Ok(None);
                }
                checked = true;
            }
            if seq > after {
                if count >= limit {
                    break;
                }
                let Ok(r) = RecordView::parse(payload) else {
                    break;
                };
                if keep {
                    out.push(r.to_stored()?);
                }
                count += 1;
            }
            let here = Position {
                seq,
                segment: *first,
                offset: reader.pos(),
            };
            if seq % MARK_EVERY == 0 {
                marks.push(here);
            }
            last = Some(here);
        }
        if count >= limit {
            break;
        }
    }
    marks.extend(last);
    j.positions.keep(&marks);
    Ok(Some((out, count)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq: i64) -> Position {
        Position {
            seq,
            segment: 1,
            offset: seq as u64 * 100,
        }
    }

    #[test]
    fn finds_the_nearest_mark_and_keeps_the_newest() {
        let p = Positions::default();
        assert_eq!(p.before(10), None);
        p.keep(&[at(32), at(64), at(70)]);
        assert_eq!(p.before(31), None);
        assert_eq!(p.before(32), Some(at(32)));
        assert_eq!(p.before(69), Some(at(64)));
        assert_eq!(p.before(1000), Some(at(70)));
        let many: Vec<Position> = (100..100 + MARKS_KEPT as i64).map(at).collect();
        p.keep(&many);
        assert_eq!(p.before(99), None, "the oldest marks are forgotten");
        assert_eq!(p.0.lock().unwrap().len(), MARKS_KEPT);
        p.clear();
        assert_eq!(p.before(1000), None);
    }
}
