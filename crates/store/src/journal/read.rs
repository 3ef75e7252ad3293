//! Reading the journal: `LookupEvents` pages and chain verification.

use crate::audit::StoredEvent;
use crate::audit_chain::ChainBreak;
use crate::audit_lookup::{read_only_value, Cursor, LookupAttribute, LookupQuery, Source};
use crate::db::to_ms;
use crate::error::Result;
use crate::journal::frame::{link, RecordView};
use crate::journal::summary::Summary;
use crate::journal::{list_segments, Genesis, Head, Journal};

/// What verifying the journal found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JournalReport {
    /// Records whose hash and position checked out before the first break.
    pub(crate) records_checked: u64,
    /// The last sequence number found.
    pub(crate) last_seq: i64,
    /// The first problem, if any.
    pub(crate) first_break: Option<ChainBreak>,
}

/// The lookup's filters, resolved once.
struct Filter<'q> {
    q: &'q LookupQuery,
    read_only: Option<bool>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    after: Option<Cursor>,
}

impl Filter<'_> {
    fn matches(&self, r: &RecordView<'_>) -> bool {
        if self.start_ms.is_some_and(|t| r.time_ms < t)
            || self.end_ms.is_some_and(|t| r.time_ms > t)
        {
            return false;
        }
        if let Some(c) = self.after {
            if key(r) >= c {
                return false;
            }
        }
        if let Some(acct) = &self.q.account_id {
            if r.account_id != Some(acct.as_str()) {
                return false;
            }
        }
        let Some((attr, value)) = &self.q.attribute else {
            return true;
        };
        let v = Some(value.as_str());
        match attr {
            LookupAttribute::EventId => r.event_id == value,
            LookupAttribute::EventName => r.event_name == value,
            LookupAttribute::EventSource => r.event_source == value,
            LookupAttribute::Username => r.username == v,
            LookupAttribute::AccessKeyId => r.access_key_id == v,
            LookupAttribute::ReadOnly => Some(r.read_only) == self.read_only,
            LookupAttribute::ResourceType => r.resources.iter().any(|(t, _)| *t == v),
            LookupAttribute::ResourceName => r.resources.iter().any(|(_, n)| *n == v),
        }
    }
}

fn key(r: &RecordView<'_>) -> Cursor {
    Cursor {
        time_ms: r.time_ms,
        source: Source::Journal,
        seq: r.seq,
    }
}

/// Up to `limit` matching events ordered before `after` (newest first).
pub(crate) fn lookup(
    j: &Journal,
    q: &LookupQuery,
    after: Option<Cursor>,
    limit: usize,
) -> Result<Vec<StoredEvent>> {
    let read_only = match &q.attribute {
        Some((LookupAttribute::ReadOnly, v)) => Some(read_only_value(v)?),
        _ => None,
    };
    let filter = Filter {
        q,
        read_only,
        start_ms: q.start_time.map(to_ms),
        end_ms: q.end_time.map(to_ms),
        after,
    };
    let segments = list_segments(&j.dir)?;
    // (latest possible time, first seq, path): the active segment is always read.
    let mut candidates = Vec::with_capacity(segments.len());
    for (i, (first, path)) in segments.iter().enumerate() {
        if i + 1 == segments.len() {
            candidates.push((i64::MAX, *first, path));
            continue;
        }
        let s = j.summary(*first, path)?;
        let before_cursor = after.is_none_or(|c| s.min_ms <= c.time_ms);
        if before_cursor && s.may_match(q) {
            candidates.push((s.max_ms, *first, path));
        }
    }
    candidates.sort_by(|a, b| b.cmp(a));

    let mut found: Vec<(Cursor, StoredEvent)> = Vec::new();
    // The key the `limit`-th best event has so far; anything at or below it cannot make the page.
    let mut floor: Option<Cursor> = None;
    for (max_ms, first, path) in candidates {
        if let Some(f) = floor {
            // Later candidates hold older records (lower sequence numbers) no newer than max_ms.
            if max_ms < f.time_ms {
                break;
            }
        }
        let mut reader = j.open_segment(first, path)?;
        while let Some((payload, _)) = reader.next_frame()? {
            // A frame that does not parse is a torn tail still being written: stop there.
            let Ok(r) = RecordView::parse(payload) else {
                break;
            };
            if !filter.matches(&r) || floor.is_some_and(|fl| key(&r) <= fl) {
                continue;
            }
            found.push((key(&r), r.to_stored()?));
            if found.len() >= 2 * limit.max(1) {
                prune(&mut found, limit, &mut floor);
            }
        }
        prune(&mut found, limit, &mut floor);
    }
    prune(&mut found, limit, &mut floor);
    Ok(found.into_iter().map(|(_, e)| e).collect())
}

/// Keeps the best `limit` events and raises the floor once the page is full.
fn prune(found: &mut Vec<(Cursor, StoredEvent)>, limit: usize, floor: &mut Option<Cursor>) {
    found.sort_by_key(|e| std::cmp::Reverse(e.0));
    found.truncate(limit);
    if found.len() >= limit {
        *floor = found.last().map(|(k, _)| *k);
    }
}

/// What `verify` expects of the journal's anchors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect<'a> {
    /// The account id the audit table's genesis names, when it has one.
    pub(crate) account_id: Option<&'a str>,
    /// Tolerates a journal from before anchors existed (no genesis and maybe no head):
    /// only the upgrade check that records the genesis uses this.
    pub(crate) unanchored_ok: bool,
}

/// Walks every segment from the genesis and checks the chain, the genesis and the
/// checkpointed head.
pub(crate) fn verify(j: &Journal, expect: Expect<'_>) -> Result<JournalReport> {
    let mut report = JournalReport {
        records_checked: 0,
        last_seq: 0,
        first_break: None,
    };
    let broken = |seq: i64, reason: String| Some(ChainBreak { seq, reason });
    let genesis = match Genesis::load(&j.dir) {
        Ok(g) => g,
        Err(e) => {
            report.first_break = broken(0, format!("the journal's genesis is unreadable: {e}"));
            return Ok(report);
        }
    };
    let genesis_problem = match &genesis {
        None if expect.unanchored_ok => None,
        None => Some(
            "the journal's GENESIS file is missing: its records may have been removed".to_string(),
        ),
        Some(g) if !g.is_authentic(&j.key) => {
            Some("the journal's GENESIS file does not verify under the master key".to_string())
        }
        Some(g) if expect.account_id.is_some_and(|a| a != g.account_id) => Some(format!(
            "the journal's genesis names account {} but the audit table's names another",
            g.account_id
        )),
        Some(_) => None,
    };
    if let Some(reason) = genesis_problem {
        report.first_break = broken(0, reason);
        return Ok(report);
    }
    let account = genesis.as_ref().map(|g| g.account_id.as_str());
    let head = match Head::load_slots(&j.dir)? {
        None if expect.unanchored_ok && genesis.is_none() => None,
        None => {
            report.first_break = broken(
                0,
                "the journal's HEAD is missing: its records may have been removed".into(),
            );
            return Ok(report);
        }
        Some(slots) => match Head::best(&slots, &j.key, account) {
            Some(h) => Some(h),
            None => {
                report.first_break = broken(
                    0,
                    "the journal's HEAD does not verify under the master key (rewritten without it)"
                        .into(),
                );
                return Ok(report);
            }
        },
    };
    let segments = list_segments(&j.dir)?;
    let mut prev = [0u8; 32];
    let mut expected = 1i64;
    let mut hash_at_head = head.as_ref().filter(|h| h.seq == 0).map(|_| prev);
    for (i, (first, path)) in segments.iter().enumerate() {
        let mut reader = j.open_segment(*first, path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match reader.header {
            Some(h) if h.first_seq == expected && h.prev_hash == prev => {}
            _ => {
                report.first_break = broken(
                    expected,
                    format!(
                        "journal segment {name} does not continue the chain at record {expected}"
                    ),
                );
                return Ok(report);
            }
        }
        // Rebuilt alongside, to check the stored summary: an altered `.sum` would otherwise
        // hide a segment's records from LookupEvents while the chain stays intact.
        let mut summary = Summary::default();
        while let Some((payload, hash)) = reader.next_frame()? {
            let parsed = RecordView::parse(payload)
                .ok()
                .filter(|r| r.seq == expected);
            let Some(record) = parsed.filter(|_| link(&prev, payload) == hash) else {
                report.first_break = broken(
                    expected,
                    format!("journal record {expected} was altered or is missing"),
                );
                return Ok(report);
            };
            summary.add(&record);
            if head.as_ref().is_some_and(|h| h.seq == expected) {
                hash_at_head = Some(hash);
            }
            prev = hash;
            report.last_seq = expected;
            report.records_checked += 1;
            expected += 1;
        }
        let sealed = i + 1 < segments.len();
        if sealed && !reader.at_end() {
            report.first_break = broken(
                expected,
                format!("journal segment {name} is cut inside record {expected}"),
            );
            return Ok(report);
        }
        let stored = sealed.then(|| Journal::stored_summary(path)).flatten();
        if stored.is_some_and(|s| s != summary) {
            report.first_break = broken(
                summary.first_seq,
                format!("the summary of journal segment {name} does not match its records"),
            );
            return Ok(report);
        }
    }
    if let Some(h) = head {
        if h.seq > report.last_seq {
            report.first_break = broken(
                report.last_seq + 1,
                format!(
                    "the journal ends at record {} but its checkpoint says {}: records were removed",
                    report.last_seq, h.seq
                ),
            );
        } else if hash_at_head != Some(h.hash) {
            report.first_break = broken(
                h.seq,
                format!("journal record {} does not match its checkpoint", h.seq),
            );
        } else if h.seq < report.last_seq && !head_caught_up(j, account, report.last_seq)? {
            report.first_break = broken(
                h.seq + 1,
                format!(
                    "journal records {}..={} are after its checkpoint (record {}) while no server \
                     writes the journal: the HEAD is older than the records (replaced by an \
                     earlier copy), or a crash came between a write and its checkpoint (starting \
                     the server once recovers that)",
                    h.seq + 1,
                    report.last_seq,
                    h.seq
                ),
            );
        }
    }
    Ok(report)
}

/// Whether records past the head read at the start are accounted for: a running writer
/// checkpoints them right after writing them, so the head is read again; with no writer, a
/// head behind the records stays behind.
fn head_caught_up(j: &Journal, account: Option<&str>, last_seq: i64) -> Result<bool> {
    let again = Head::load_slots(&j.dir)?
        .and_then(|slots| Head::best(&slots, &j.key, account))
        .is_some_and(|h| h.seq >= last_seq);
    Ok(again || j.writer_running())
}
