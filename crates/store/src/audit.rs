//! Audit records (CloudTrail events) and appending them to the hash chain.

use chrono::{DateTime, Utc};

use crate::audit_chain::{canonical_bytes, chain_hash, head_mac};
use crate::crypto::MasterKey;
use crate::db::{dispatch, to_ms, Conn};
use crate::error::{Result, StoreError};

/// One resource an event touched (CloudTrail's `Resources` in `LookupEvents`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditResource {
    /// E.g. `AWS::IAM::User`.
    pub resource_type: Option<String>,
    /// E.g. the user name or ARN.
    pub resource_name: Option<String>,
}

/// One CloudTrail event: the full JSON plus the columns `LookupEvents` filters on. The store
/// does not parse the JSON; the caller keeps the columns consistent with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// `eventID` (a UUID); unique.
    pub event_id: String,
    /// `eventTime`; kept to the millisecond.
    pub event_time: DateTime<Utc>,
    /// `eventName`, e.g. `CreateUser`.
    pub event_name: String,
    /// `eventSource`, e.g. `iam.amazonaws.com`.
    pub event_source: String,
    /// `LookupEvents`' `Username` (user name, role session name, `root`), if known.
    pub username: Option<String>,
    /// `userIdentity.accessKeyId`, if the caller signed with one.
    pub access_key_id: Option<String>,
    /// `readOnly`.
    pub read_only: bool,
    /// `errorCode`, for failed or denied calls.
    pub error_code: Option<String>,
    /// `recipientAccountId`: the account whose trail shows this event (none if unknown).
    pub account_id: Option<String>,
    /// The resources the event names.
    pub resources: Vec<AuditResource>,
    /// The complete CloudTrail event as JSON text (`CloudTrailEvent` in `LookupEvents`).
    pub event_json: String,
}

/// Where an appended record landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Position in the chain (1, 2, ...; gap-free).
    pub seq: i64,
    /// The record's chain hash (hex).
    pub hash: String,
}

/// A record as read back, with its chain position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the chain.
    pub seq: i64,
    /// The record.
    pub record: AuditRecord,
}

/// Rows per multi-row INSERT: 13 parameters each stays far below SQLite's (32,766) and
/// PostgreSQL's (65,535) bind limits.
const ROWS_PER_INSERT: usize = 100;

/// The end of the chain: the last record's position and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub(crate) seq: i64,
    pub(crate) hash: String,
}

/// Appends `records` in order on `conn`, which must be inside a transaction: the first
/// statement bumps the one-row chain head, which locks it (Postgres row lock, SQLite write
/// lock) until commit, so concurrent appenders queue up and the chain stays linear.
pub(crate) async fn append_batch(
    mut conn: Conn<'_>,
    key: &MasterKey,
    records: &[AuditRecord],
) -> Result<Vec<Appended>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(records.len())
        .map_err(|_| StoreError::InvalidInput("too many records".into()))?;
    let (last_seq, hash): (i64, String) = dispatch!(conn.reborrow(), c => {
        sqlx::query_as("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
            .bind(n)
            .fetch_one(&mut *c)
            .await?
    });
    let mut head = ChainHead {
        seq: last_seq - n,
        hash,
    };
    let out = insert_chained(conn.reborrow(), &mut head, records).await?;
    write_head(conn, key, &head).await?;
    Ok(out)
}

/// Reads the chain head (inside the transaction that will append after it).
pub(crate) async fn read_head(conn: Conn<'_>) -> Result<ChainHead> {
    dispatch!(conn, c => {
        let (seq, hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&mut *c)
                .await?;
        Ok(ChainHead { seq, hash })
    })
}

/// Stores the chain head with its MAC (the head row must already be locked or the database
/// otherwise held by this writer).
pub(crate) async fn write_head(conn: Conn<'_>, key: &MasterKey, head: &ChainHead) -> Result<()> {
    dispatch!(conn, c => {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1")
            .bind(head.seq)
            .bind(&head.hash)
            .bind(head_mac(key, head.seq, &head.hash))
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Hashes `records` onto the chain after `head` and inserts them; `head` moves to the last
/// one. The stored head row is not touched (see [`write_head`]).
pub(crate) async fn insert_chained(
    conn: Conn<'_>,
    head: &mut ChainHead,
    records: &[AuditRecord],
) -> Result<Vec<Appended>> {
    dispatch!(conn, c => {
        // Hash every record first, then write them with multi-row INSERTs: one statement per
        // chunk instead of one per record is what lets group commit keep up with the API
        // (each statement is a round trip to the database driver).
        let mut out = Vec::with_capacity(records.len());
        let mut rows = Vec::with_capacity(records.len());
        for rec in records {
            let seq = head.seq + 1;
            let hash = chain_hash(&head.hash, &canonical_bytes(seq, rec))?;
            let prev = std::mem::replace(&mut head.hash, hash.clone());
            head.seq = seq;
            rows.push((seq, rec, prev, hash.clone()));
            out.push(Appended { seq, hash });
        }
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_events (seq, event_id, event_time_ms, event_name, event_source,
                    username, access_key_id, read_only, error_code, account_id, event_json,
                    prev_hash, hash) ",
            );
            q.push_values(chunk, |mut b, (seq, rec, prev_hash, hash)| {
                b.push_bind(*seq)
                    .push_bind(rec.event_id.as_str())
                    .push_bind(to_ms(rec.event_time))
                    .push_bind(rec.event_name.as_str())
                    .push_bind(rec.event_source.as_str())
                    .push_bind(rec.username.as_deref())
                    .push_bind(rec.access_key_id.as_deref())
                    .push_bind(rec.read_only)
                    .push_bind(rec.error_code.as_deref())
                    .push_bind(rec.account_id.as_deref())
                    .push_bind(rec.event_json.as_str())
                    .push_bind(prev_hash.as_str())
                    .push_bind(hash.as_str());
            });
            q.build().execute(&mut *c).await?;
        }
        let resources: Vec<(i64, i32, &AuditResource)> = rows
            .iter()
            .flat_map(|(seq, rec, _, _)| {
                rec.resources
                    .iter()
                    .enumerate()
                    .map(move |(ord, r)| (*seq, i32::try_from(ord).unwrap_or(i32::MAX), r))
            })
            .collect();
        for chunk in resources.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_resources (seq, ord, resource_type, resource_name) ",
            );
            q.push_values(chunk, |mut b, (seq, ord, res)| {
                b.push_bind(*seq)
                    .push_bind(*ord)
                    .push_bind(res.resource_type.as_deref())
                    .push_bind(res.resource_name.as_deref());
            });
            q.build().execute(&mut *c).await?;
        }
        Ok(out)
    })
}
