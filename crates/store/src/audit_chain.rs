//! The audit hash chain: canonical record bytes, chaining, and verification.
//!
//! `hash = SHA-256(prev_hash || canonical(record))`, genesis `prev_hash` = 32 zero bytes. The
//! chain head (last seq and hash) also carries an HMAC under a master-key subkey, so someone
//! holding only the database cannot truncate the log and rewrite the head to match.

use aws_lc_rs::digest;
use sqlx::Row;

use crate::audit::{AuditRecord, AuditResource};
use crate::audit_encoded::AuditFields;
use crate::crypto::MasterKey;
use crate::db::{dispatch, from_ms, to_ms, Conn};
use crate::error::{Result, StoreError};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Records read per round trip while verifying.
const VERIFY_PAGE: i64 = 1000;

/// What [`crate::Store::verify_chain`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Records checked before the first break (all of them when intact).
    pub records_checked: u64,
    /// The head's last sequence number.
    pub head_seq: i64,
    /// The head's hash.
    pub head_hash: String,
    /// The first problem found, if any.
    pub first_break: Option<ChainBreak>,
    /// The audit journal's last sequence number (its own chain; 0 without one).
    pub journal_head_seq: i64,
}

impl ChainReport {
    /// True when every record and the head check out.
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The sequence number at which the problem shows.
    pub seq: i64,
    /// What is wrong (missing record, altered record, head mismatch, ...).
    pub reason: String,
}

/// Deterministic bytes of a record at a chain position: every stored field, length-prefixed
/// (absent values get a distinct marker), so no two different records encode the same.
pub(crate) fn canonical_bytes(seq: i64, r: &AuditRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + r.event_json.len());
    append_canonical(&mut out, seq, r);
    out
}

/// Appends [`canonical_bytes`] to `out`.
pub(crate) fn append_canonical(out: &mut Vec<u8>, seq: i64, r: &AuditRecord) {
    out.reserve(256 + r.event_json.len());
    append_fields(out, seq, &r.fields());
    push_str(out, &r.event_json);
}

/// Appends everything [`canonical_bytes`] holds before the event JSON (which comes last, so
/// that [`crate::EncodedAudit`] can write it in place).
pub(crate) fn append_fields(out: &mut Vec<u8>, seq: i64, f: &AuditFields<'_>) {
    fn o(out: &mut Vec<u8>, v: Option<&str>) {
        match v {
            Some(v) => push_str(out, v),
            None => out.push(0),
        }
    }
    out.extend_from_slice(b"rampart-audit-v1");
    out.extend_from_slice(&seq.to_be_bytes());
    push_str(out, f.event_id);
    out.extend_from_slice(&to_ms(f.event_time).to_be_bytes());
    push_str(out, f.event_name);
    push_str(out, f.event_source);
    o(out, f.username);
    o(out, f.access_key_id);
    out.push(u8::from(f.read_only));
    o(out, f.error_code);
    o(out, f.account_id);
    out.extend_from_slice(&(f.resources.len() as u64).to_be_bytes());
    for res in f.resources {
        o(out, res.resource_type.as_deref());
        o(out, res.resource_name.as_deref());
    }
}

/// A present string: marker, length, bytes.
fn push_str(out: &mut Vec<u8>, v: &str) {
    out.push(1);
    out.extend_from_slice(&(v.len() as u64).to_be_bytes());
    out.extend_from_slice(v.as_bytes());
}

/// `hex(SHA-256(prev_hash_bytes || canonical))`.
pub(crate) fn chain_hash(prev_hex: &str, canonical: &[u8]) -> Result<String> {
    let prev = hex::decode(prev_hex)
        .map_err(|_| StoreError::Corrupt("audit prev_hash is not hex".into()))?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&prev);
    ctx.update(canonical);
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// The MAC stored with the head.
pub(crate) fn head_mac(key: &MasterKey, seq: i64, hash: &str) -> String {
    let mut data = Vec::with_capacity(8 + hash.len());
    data.extend_from_slice(&seq.to_be_bytes());
    data.extend_from_slice(hash.as_bytes());
    key.audit_mac(&data)
}

/// The MAC a head at sequence 0 carries: over the genesis hash and the installation's account
/// id, so a head reset to 0 after records were removed does not verify.
pub(crate) fn genesis_head_mac(key: &MasterKey, account_id: &str) -> String {
    let mut data = b"rampart-audit-head-genesis".to_vec();
    data.extend_from_slice(&0i64.to_be_bytes());
    data.extend_from_slice(GENESIS_HASH.as_bytes());
    data.extend_from_slice(account_id.as_bytes());
    key.audit_mac(&data)
}

/// Walks the chain from the start and stops at the first break. With the genesis's account id,
/// a head at 0 must carry the genesis MAC; without one (only before the genesis is recorded)
/// it is not checked.
pub(crate) async fn verify(
    conn: Conn<'_>,
    key: &MasterKey,
    genesis_account: Option<&str>,
) -> Result<ChainReport> {
    dispatch!(conn, c => {
        let (head_seq, head_hash, mac): (i64, String, String) =
            sqlx::query_as("SELECT seq, hash, mac FROM audit_head WHERE id = 1")
                .fetch_one(&mut *c)
                .await?;
        let mut report = ChainReport {
            records_checked: 0,
            head_seq,
            head_hash: head_hash.clone(),
            first_break: None,
            journal_head_seq: 0,
        };
        let mut expected_seq = 1i64;
        let mut prev = GENESIS_HASH.to_string();
        loop {
            let rows = sqlx::query(
                "SELECT seq, event_id, event_time_ms, event_name, event_source, username,
                    access_key_id, read_only, error_code, account_id, event_json, prev_hash, hash
                 FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
            )
            .bind(expected_seq)
            .bind(VERIFY_PAGE)
            .fetch_all(&mut *c)
            .await?;
            let Some(last) = rows.last() else { break };
            let last_seq: i64 = last.try_get("seq")?;
            let res_rows = sqlx::query(
                "SELECT seq, resource_type, resource_name FROM audit_resources
                 WHERE seq >= $1 AND seq <= $2 ORDER BY seq, ord",
            )
            .bind(expected_seq)
            .bind(last_seq)
            .fetch_all(&mut *c)
            .await?;
            let mut resources: std::collections::HashMap<i64, Vec<AuditResource>> =
                std::collections::HashMap::new();
            for r in res_rows {
                resources.entry(r.try_get("seq")?).or_default().push(AuditResource {
                    resource_type: r.try_get("resource_type")?,
                    resource_name: r.try_get("resource_name")?,
                });
            }
            for r in rows {
                let seq: i64 = r.try_get("seq")?;
                if seq != expected_seq {
                    report.first_break = Some(ChainBreak {
                        seq: expected_seq,
                        reason: format!("record {expected_seq} is missing (next is {seq})"),
                    });
                    return Ok(report);
                }
                let record = AuditRecord {
                    event_id: r.try_get("event_id")?,
                    event_time: from_ms(r.try_get("event_time_ms")?)?,
                    event_name: r.try_get("event_name")?,
                    event_source: r.try_get("event_source")?,
                    username: r.try_get("username")?,
                    access_key_id: r.try_get("access_key_id")?,
                    read_only: r.try_get("read_only")?,
                    error_code: r.try_get("error_code")?,
                    account_id: r.try_get("account_id")?,
                    resources: resources.remove(&seq).unwrap_or_default(),
                    event_json: r.try_get("event_json")?,
                };
                let stored_prev: String = r.try_get("prev_hash")?;
                let stored_hash: String = r.try_get("hash")?;
                if stored_prev != prev {
                    report.first_break = Some(ChainBreak {
                        seq,
                        reason: format!("record {seq} does not link to record {}", seq - 1),
                    });
                    return Ok(report);
                }
                let computed = chain_hash(&prev, &canonical_bytes(seq, &record))?;
                if computed != stored_hash {
                    report.first_break = Some(ChainBreak {
                        seq,
                        reason: format!("record {seq} was altered (hash mismatch)"),
                    });
                    return Ok(report);
                }
                prev = stored_hash;
                report.records_checked += 1;
                expected_seq = seq + 1;
            }
        }
        let last_seq = expected_seq - 1;
        if last_seq != head_seq || prev != head_hash {
            report.first_break = Some(ChainBreak {
                seq: last_seq + 1,
                reason: format!(
                    "chain ends at record {last_seq} but the head says {head_seq}: records were removed or the head altered"
                ),
            });
        } else if head_seq > 0 && mac != head_mac(key, head_seq, &head_hash) {
            report.first_break = Some(ChainBreak {
                seq: head_seq,
                reason: "chain head MAC does not match (head rewritten without the master key)".into(),
            });
        } else if head_seq == 0
            && genesis_account.is_some_and(|a| mac != genesis_head_mac(key, a))
        {
            report.first_break = Some(ChainBreak {
                seq: 0,
                reason: "the audit table's head is at record 0 without the genesis MAC: records were removed and the head reset".into(),
            });
        }
        Ok(report)
    })
}
