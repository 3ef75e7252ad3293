//! Log files as CloudTrail delivers them: the records of one account and region, as
//! `{"Records":[...]}` (each record the JSON the audit trail holds), gzipped, at
//! `[prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
//! ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.

use std::io::Write as _;

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use flate2::{write::GzEncoder, Compression};

/// A log file ready to put.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// Its object key.
    pub key: String,
    /// The gzipped body.
    pub gz: Vec<u8>,
    /// Hex SHA-256 of the uncompressed body (what a digest lists).
    pub sha256: String,
    /// The earliest record's time.
    pub oldest: DateTime<Utc>,
    /// The latest record's time.
    pub newest: DateTime<Utc>,
    /// How many records it holds.
    pub records: usize,
}

/// Sixteen random characters of `[A-Za-z0-9]`, the file name's unique part.
pub fn unique() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes
        .iter()
        .map(|b| {
            let i = usize::from(*b) % ALPHABET.len();
            ALPHABET.get(i).map_or('A', |c| char::from(*c))
        })
        .collect()
}

/// The key of a log file delivered at `at` under `root` (see `destination::logs_root`).
pub fn key(root: &str, account: &str, region: &str, at: DateTime<Utc>, unique: &str) -> String {
    format!(
        "{root}CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique}.json.gz",
        at.format("%Y/%m/%d"),
        at.format("%Y%m%dT%H%MZ"),
    )
}

/// The uncompressed body of a log file holding `records` (JSON texts).
pub fn body<'a>(records: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::from(&b"{\"Records\":["[..]);
    for (i, r) in records.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// Gzips `bytes`.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        Compression::fast(),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// A log file of `records` (JSON texts with their times), delivered at `at`.
pub fn build(key: String, records: &[(&str, DateTime<Utc>)]) -> std::io::Result<LogFile> {
    let plain = body(records.iter().map(|(r, _)| *r));
    let oldest = records.iter().map(|(_, t)| *t).min().unwrap_or_default();
    let newest = records.iter().map(|(_, t)| *t).max().unwrap_or_default();
    Ok(LogFile {
        key,
        gz: gzip(&plain)?,
        sha256: sha256_hex(&plain),
        oldest,
        newest,
        records: records.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn keys_follow_aws_layout() {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .unwrap()
            .to_utc();
        let k = key(
            "p/AWSLogs/111122223333/",
            "111122223333",
            "eu-west-1",
            at,
            "abcdEFGH12345678",
        );
        assert_eq!(
            k,
            "p/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/04/111122223333_CloudTrail_eu-west-1_20260304T0506Z_abcdEFGH12345678.json.gz"
        );
        let u = unique();
        assert_eq!(u.len(), 16);
        assert!(u.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn a_log_file_is_gzipped_records_with_their_hash() {
        let t = DateTime::from_timestamp(100, 0).unwrap();
        let f = build(
            "k".into(),
            &[
                (r#"{"a":1}"#, t),
                (r#"{"b":2}"#, t + chrono::Duration::seconds(5)),
            ],
        )
        .unwrap();
        let mut plain = String::new();
        flate2::read::GzDecoder::new(f.gz.as_slice())
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, r#"{"Records":[{"a":1},{"b":2}]}"#);
        let v: serde_json::Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(v["Records"].as_array().unwrap().len(), 2);
        assert_eq!(f.sha256, sha256_hex(plain.as_bytes()));
        assert_eq!(
            (f.oldest, f.newest, f.records),
            (t, t + chrono::Duration::seconds(5), 2)
        );
    }
}
