//! CloudTrail `LookupEvents` over the audit table: one attribute filter, a time range,
//! newest first, keyset pagination with an opaque token.

use base64::Engine;
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::audit::{AuditResource, StoredEvent};
use crate::db::{dispatch, to_ms, Conn};
use crate::error::{Result, StoreError};

/// A [`StoredEvent`] (without its resources) from an `audit_events` row of either backend.
macro_rules! stored_event_from_row {
    ($r:expr) => {
        crate::audit::StoredEvent {
            seq: $r.try_get("seq")?,
            record: crate::audit::AuditRecord {
                event_id: $r.try_get("event_id")?,
                event_time: crate::db::from_ms($r.try_get("event_time_ms")?)?,
                event_name: $r.try_get("event_name")?,
                event_source: $r.try_get("event_source")?,
                username: $r.try_get("username")?,
                access_key_id: $r.try_get("access_key_id")?,
                read_only: $r.try_get("read_only")?,
                error_code: $r.try_get("error_code")?,
                account_id: $r.try_get("account_id")?,
                resources: Vec::new(),
                event_json: $r.try_get("event_json")?,
            },
        }
    };
}
pub(crate) use stored_event_from_row;

/// Largest page the store returns (the CloudTrail service layer caps at 50 itself).
pub const MAX_PAGE: u32 = 1000;

/// The attribute keys CloudTrail's `LookupAttributes` supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupAttribute {
    /// `EventId`.
    EventId,
    /// `EventName`.
    EventName,
    /// `ReadOnly` (`true`/`false`).
    ReadOnly,
    /// `Username`.
    Username,
    /// `ResourceType`.
    ResourceType,
    /// `ResourceName`.
    ResourceName,
    /// `EventSource`.
    EventSource,
    /// `AccessKeyId`.
    AccessKeyId,
}

impl LookupAttribute {
    /// Parses CloudTrail's `AttributeKey` spelling; `None` for anything else.
    pub fn parse(key: &str) -> Option<LookupAttribute> {
        Some(match key {
            "EventId" => LookupAttribute::EventId,
            "EventName" => LookupAttribute::EventName,
            "ReadOnly" => LookupAttribute::ReadOnly,
            "Username" => LookupAttribute::Username,
            "ResourceType" => LookupAttribute::ResourceType,
            "ResourceName" => LookupAttribute::ResourceName,
            "EventSource" => LookupAttribute::EventSource,
            "AccessKeyId" => LookupAttribute::AccessKeyId,
            _ => return None,
        })
    }
}

/// One `LookupEvents` request.
#[derive(Debug, Clone, Default)]
pub struct LookupQuery {
    /// Only events whose `recipientAccountId` is this account (a trail's view); `None` = all.
    pub account_id: Option<String>,
    /// At most one attribute filter, as CloudTrail allows.
    pub attribute: Option<(LookupAttribute, String)>,
    /// Events at or after this time.
    pub start_time: Option<DateTime<Utc>>,
    /// Events at or before this time.
    pub end_time: Option<DateTime<Utc>>,
    /// Page size; 0 means 50; capped at [`MAX_PAGE`].
    pub max_results: u32,
    /// The token from the previous page.
    pub next_token: Option<String>,
}

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// The events.
    pub events: Vec<StoredEvent>,
    /// Pass back as [`LookupQuery::next_token`] for the next page; `None` on the last page.
    pub next_token: Option<String>,
}

enum Val {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// Which audit store an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    /// The journal of read-only, refused and failed calls (embedded store only).
    Journal,
    /// The audit table (mutating calls; every call on PostgreSQL).
    Table,
}

/// A position in the one order both audit stores share, newest first: by event time, then
/// table before journal, then by sequence number. A page holds the events ordered before its
/// cursor, so paging works across both stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cursor {
    pub(crate) time_ms: i64,
    pub(crate) source: Source,
    pub(crate) seq: i64,
}

/// The opaque `NextToken` of a cursor.
pub(crate) fn encode_token(c: Cursor) -> String {
    let src = match c.source {
        Source::Journal => 'j',
        Source::Table => 't',
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("v2.{}.{src}.{}", c.time_ms, c.seq))
}

/// Parses a token: `v2` (a position in the merged order) or `v1` (a position in the audit
/// table alone).
pub(crate) fn decode_token(token: &str) -> Result<Cursor> {
    let bad = || StoreError::InvalidInput("invalid next token".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<&str> = text.split('.').collect();
    let (time, source, seq) = match parts.as_slice() {
        ["v1", t, s] => (t, Source::Table, s),
        ["v2", t, "t", s] => (t, Source::Table, s),
        ["v2", t, "j", s] => (t, Source::Journal, s),
        _ => return Err(bad()),
    };
    Ok(Cursor {
        time_ms: time.parse().map_err(|_| bad())?,
        source,
        seq: seq.parse().map_err(|_| bad())?,
    })
}

/// `ReadOnly`'s value as CloudTrail accepts it.
pub(crate) fn read_only_value(value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(StoreError::InvalidInput(
            "ReadOnly must be true or false".into(),
        )),
    }
}

/// The page size a query asks for.
pub(crate) fn page_size(q: &LookupQuery) -> usize {
    if q.max_results == 0 {
        50
    } else {
        q.max_results.min(MAX_PAGE) as usize
    }
}

/// Builds the WHERE clause and its bind values (placeholders `$1..`, valid on both backends).
fn build(q: &LookupQuery, after: Option<Cursor>, limit: i64) -> Result<(String, Vec<Val>)> {
    let mut sql = String::from(
        "SELECT e.seq, e.event_id, e.event_time_ms, e.event_name, e.event_source, e.username,
            e.access_key_id, e.read_only, e.error_code, e.account_id, e.event_json
         FROM audit_events e WHERE 1 = 1",
    );
    let mut vals = Vec::new();
    let mut push = |sql: &mut String, frag: &str, v: Val| {
        vals.push(v);
        sql.push_str(&frag.replace('?', &format!("${}", vals.len())));
    };
    if let Some(acct) = &q.account_id {
        push(&mut sql, " AND e.account_id = ?", Val::Text(acct.clone()));
    }
    if let Some((attr, value)) = &q.attribute {
        let v = Val::Text(value.clone());
        match attr {
            LookupAttribute::EventId => push(&mut sql, " AND e.event_id = ?", v),
            LookupAttribute::EventName => push(&mut sql, " AND e.event_name = ?", v),
            LookupAttribute::Username => push(&mut sql, " AND e.username = ?", v),
            LookupAttribute::EventSource => push(&mut sql, " AND e.event_source = ?", v),
            LookupAttribute::AccessKeyId => push(&mut sql, " AND e.access_key_id = ?", v),
            LookupAttribute::ReadOnly => push(
                &mut sql,
                " AND e.read_only = ?",
                Val::Bool(read_only_value(value)?),
            ),
            LookupAttribute::ResourceType => push(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = e.seq AND r.resource_type = ?)",
                v,
            ),
            LookupAttribute::ResourceName => push(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = e.seq AND r.resource_name = ?)",
                v,
            ),
        }
    }
    if let Some(t) = q.start_time {
        push(&mut sql, " AND e.event_time_ms >= ?", Val::Int(to_ms(t)));
    }
    if let Some(t) = q.end_time {
        push(&mut sql, " AND e.event_time_ms <= ?", Val::Int(to_ms(t)));
    }
    match after {
        // Journal events at the cursor's time order below every table event of that time.
        Some(c) if c.source == Source::Journal => {
            push(&mut sql, " AND e.event_time_ms < ?", Val::Int(c.time_ms));
        }
        Some(c) => {
            push(&mut sql, " AND (e.event_time_ms < ?", Val::Int(c.time_ms));
            push(&mut sql, " OR (e.event_time_ms = ?", Val::Int(c.time_ms));
            push(&mut sql, " AND e.seq < ?))", Val::Int(c.seq));
        }
        None => {}
    }
    push(
        &mut sql,
        " ORDER BY e.event_time_ms DESC, e.seq DESC LIMIT ?",
        Val::Int(limit),
    );
    Ok((sql, vals))
}

/// The audit table's events ordered before `after`, at most `limit` of them, newest first.
pub(crate) async fn lookup(
    conn: Conn<'_>,
    q: &LookupQuery,
    after: Option<Cursor>,
    limit: usize,
) -> Result<Vec<StoredEvent>> {
    let (sql, vals) = build(q, after, i64::try_from(limit).unwrap_or(i64::MAX))?;
    dispatch!(conn, c => {
        let mut query = sqlx::query(&sql);
        for v in &vals {
            query = match v {
                Val::Text(s) => query.bind(s.as_str()),
                Val::Int(i) => query.bind(*i),
                Val::Bool(b) => query.bind(*b),
            };
        }
        let rows = query.fetch_all(&mut *c).await?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            events.push(stored_event_from_row!(r));
        }
        if !events.is_empty() {
            let placeholders: Vec<String> = (1..=events.len()).map(|i| format!("${i}")).collect();
            let rsql = format!(
                "SELECT seq, resource_type, resource_name FROM audit_resources
                 WHERE seq IN ({}) ORDER BY seq, ord",
                placeholders.join(", ")
            );
            let mut rq = sqlx::query(&rsql);
            for e in &events {
                rq = rq.bind(e.seq);
            }
            for r in rq.fetch_all(&mut *c).await? {
                let seq: i64 = r.try_get("seq")?;
                if let Some(e) = events.iter_mut().find(|e| e.seq == seq) {
                    e.record.resources.push(AuditResource {
                        resource_type: r.try_get("resource_type")?,
                        resource_name: r.try_get("resource_name")?,
                    });
                }
            }
        }
        Ok(events)
    })
}

/// Merges the newest-first event lists of both stores into one page and its token.
pub(crate) fn merge_page(
    table: Vec<StoredEvent>,
    journal: Vec<StoredEvent>,
    page: usize,
) -> EventPage {
    let keyed = |source: Source| {
        move |e: StoredEvent| {
            let c = Cursor {
                time_ms: to_ms(e.record.event_time),
                source,
                seq: e.seq,
            };
            (c, e)
        }
    };
    let mut all: Vec<(Cursor, StoredEvent)> = table
        .into_iter()
        .map(keyed(Source::Table))
        .chain(journal.into_iter().map(keyed(Source::Journal)))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.0));
    let more = all.len() > page;
    all.truncate(page);
    let next_token = match (more, all.last()) {
        (true, Some((c, _))) => Some(encode_token(*c)),
        _ => None,
    };
    EventPage {
        events: all.into_iter().map(|(_, e)| e).collect(),
        next_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_rejects_garbage() {
        let c = Cursor {
            time_ms: 1_700_000_000_000,
            source: Source::Journal,
            seq: 42,
        };
        assert_eq!(decode_token(&encode_token(c)).unwrap(), c);
        let v1 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("v1.5.6");
        assert_eq!(decode_token(&v1).unwrap().source, Source::Table);
        assert!(decode_token("nope").is_err());
        assert!(
            decode_token(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("v2.1.2"))
                .is_err()
        );
    }

    #[test]
    fn placeholders_are_numbered_in_order() {
        let q = LookupQuery {
            account_id: Some("123456789012".into()),
            attribute: Some((LookupAttribute::ResourceName, "alice".into())),
            ..Default::default()
        };
        let after = Cursor {
            time_ms: 5,
            source: Source::Table,
            seq: 6,
        };
        let (sql, vals) = build(&q, Some(after), 51).unwrap();
        assert_eq!(vals.len(), 6);
        for i in 1..=6 {
            assert!(sql.contains(&format!("${i}")), "{sql}");
        }
        assert!(!sql.contains('?'));
    }

    #[test]
    fn attribute_names() {
        assert_eq!(
            LookupAttribute::parse("EventName"),
            Some(LookupAttribute::EventName)
        );
        assert_eq!(LookupAttribute::parse("eventname"), None);
    }
}
