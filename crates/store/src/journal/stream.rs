//! Reading the journal forward, in chain order, for audit-stream consumers.

use crate::audit::StoredEvent;
use crate::error::Result;
use crate::journal::frame::RecordView;
use crate::journal::{list_segments, Journal};

/// Up to `limit` durable records with a sequence number above `after`, oldest first; with
/// `keep` false they are only counted (as `StoredEvent`s are not built, the result is empty
/// and the count is returned).
pub(crate) fn read_after(
    j: &Journal,
    after: i64,
    limit: usize,
    keep: bool,
) -> Result<(Vec<StoredEvent>, usize)> {
    let segments = list_segments(&j.dir)?;
    // The segment holding `after + 1` is the last one starting at or before it.
    let start = segments
        .iter()
        .rposition(|(first, _)| *first <= after.saturating_add(1))
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut count = 0usize;
    for (first, path) in segments.iter().skip(start) {
        let mut reader = j.open_segment(*first, path)?;
        while let Some((payload, _)) = reader.next_frame()? {
            // A frame that does not parse is a torn tail still being written: stop there.
            let Ok(r) = RecordView::parse(payload) else {
                break;
            };
            if r.seq <= after {
                continue;
            }
            if count >= limit {
                return Ok((out, count));
            }
            if keep {
                out.push(r.to_stored()?);
            }
            count += 1;
        }
    }
    Ok((out, count))
}
