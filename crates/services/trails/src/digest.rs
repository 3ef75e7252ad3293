//! Digest files: every hour, per region, the list of log files delivered since the last
//! digest with their SHA-256 hashes, chained to the previous digest by its hash and signature,
//! signed SHA256withRSA over AWS's string to sign:
//!
//! ```text
//! digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature
//! ```
//!
//! (`null` for the first digest's missing previous signature). The hex signature and
//! `SHA256withRSA` are the object's `x-amz-meta-signature` and
//! `x-amz-meta-signature-algorithm`. The key is
//! `[prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/
//! ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ.json.gz`, dated by the
//! digest's end. A digest is written even when no log file was delivered in its hour.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_kit::error::ServiceError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{keys::SigningKey, logfile};

/// The signature algorithm CloudTrail names.
pub const ALGORITHM: &str = "SHA256withRSA";
/// How long a digest covers.
pub const PERIOD_SECS: i64 = 3600;

/// One region's digest chain: the period being collected and the link to the last digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    /// The start of the period being collected; `None` until the trail logs here.
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    /// The log files delivered in this period.
    #[serde(default)]
    pub files: Vec<Logged>,
    /// The last digest written.
    #[serde(default)]
    pub previous: Option<Previous>,
}

/// A log file a digest lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logged {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Hex SHA-256 of its uncompressed body.
    pub hash: String,
    /// Its earliest record.
    pub oldest: DateTime<Utc>,
    /// Its latest record.
    pub newest: DateTime<Utc>,
}

/// The last digest of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Hex SHA-256 of its uncompressed body.
    pub hash: String,
    /// Its hex signature.
    pub signature: String,
}

/// The key of a chain in a trail's delivery state: the region for the trail's own account,
/// `ACCOUNT/REGION` for a member account of an organization trail.
pub fn chain_key(owner: &str, account: &str, region: &str) -> String {
    if account == owner {
        region.to_string()
    } else {
        format!("{account}/{region}")
    }
}

/// The (account, region) of a chain key of `owner`'s trail.
pub fn parse_chain_key<'a>(owner: &'a str, key: &'a str) -> (&'a str, &'a str) {
    match key.split_once('/') {
        Some((account, region)) => (account, region),
        None => (owner, key),
    }
}

impl Chain {
    /// Whether the period has run its hour at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.start
            .is_some_and(|s| (now - s).num_seconds() >= PERIOD_SECS)
    }
}

/// What identifies a trail's digests.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    /// The account whose files they cover.
    pub account: &'a str,
    /// The region the chain covers.
    pub region: &'a str,
    /// The trail's name.
    pub trail: &'a str,
    /// The trail's home region.
    pub home_region: &'a str,
    /// The destination bucket.
    pub bucket: &'a str,
    /// The trail's root (`destination::logs_root`).
    pub root: &'a str,
}

/// A digest ready to put.
#[derive(Debug, Clone)]
pub struct DigestFile {
    /// Its key.
    pub key: String,
    /// Its gzipped body.
    pub gz: Vec<u8>,
    /// Its hex signature (`x-amz-meta-signature`).
    pub signature: String,
    /// What the next digest links to.
    pub link: Previous,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The key of the digest ending at `end`.
pub fn key(n: &Names<'_>, end: DateTime<Utc>) -> String {
    format!(
        "{}CloudTrail-Digest/{region}/{}/{}_CloudTrail-Digest_{region}_{}_{}_{}.json.gz",
        n.root,
        end.format("%Y/%m/%d"),
        n.account,
        n.trail,
        n.home_region,
        end.format("%Y%m%dT%H%M%SZ"),
        region = n.region,
    )
}

/// AWS's string to sign.
pub fn string_to_sign(
    end: &str,
    bucket: &str,
    key: &str,
    hash: &str,
    previous: Option<&str>,
) -> String {
    format!(
        "{end}\n{bucket}/{key}\n{hash}\n{}",
        previous.unwrap_or("null")
    )
}

/// The digest of `chain`'s period, ending at `end`, signed with `signer`.
pub fn build(
    chain: &Chain,
    n: &Names<'_>,
    end: DateTime<Utc>,
    signer: &SigningKey,
) -> Result<DigestFile, ServiceError> {
    let key = key(n, end);
    let start = chain.start.unwrap_or(end);
    let files: Vec<Value> = chain
        .files
        .iter()
        .map(|f| {
            json!({
                "s3Bucket": f.bucket,
                "s3Object": f.key,
                "hashValue": f.hash,
                "hashAlgorithm": "SHA-256",
                "newestEventTime": time(f.newest),
                "oldestEventTime": time(f.oldest),
            })
        })
        .collect();
    let newest = chain.files.iter().map(|f| f.newest).max().map(time);
    let oldest = chain.files.iter().map(|f| f.oldest).min().map(time);
    let prev = chain.previous.as_ref();
    let end_text = time(end);
    let doc = json!({
        "awsAccountId": n.account,
        "digestStartTime": time(start),
        "digestEndTime": end_text,
        "digestS3Bucket": n.bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": signer.fingerprint,
        "digestSignatureAlgorithm": ALGORITHM,
        "newestEventTime": newest,
        "oldestEventTime": oldest,
        "previousDigestS3Bucket": prev.map(|p| p.bucket.clone()),
        "previousDigestS3Object": prev.map(|p| p.key.clone()),
        "previousDigestHashValue": prev.map(|p| p.hash.clone()),
        "previousDigestHashAlgorithm": prev.map(|_| "SHA-256"),
        "previousDigestSignature": prev.map(|p| p.signature.clone()),
        "logFiles": files,
    });
    let plain = serde_json::to_vec(&doc).map_err(|_| ServiceError::internal())?;
    let hash = logfile::sha256_hex(&plain);
    let to_sign = string_to_sign(
        &end_text,
        n.bucket,
        &key,
        &hash,
        prev.map(|p| p.signature.as_str()),
    );
    let signature = signer.sign(to_sign.as_bytes())?;
    let gz = logfile::gzip(&plain).map_err(|_| ServiceError::internal())?;
    Ok(DigestFile {
        link: Previous {
            bucket: n.bucket.to_string(),
            key: key.clone(),
            hash,
            signature: signature.clone(),
        },
        key,
        gz,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_strings_to_sign_follow_aws() {
        let end = DateTime::parse_from_rfc3339("2015-08-17T15:01:31Z")
            .unwrap()
            .to_utc();
        let n = Names {
            account: "111122223333",
            region: "us-east-2",
            trail: "your-trail-name",
            home_region: "us-east-2",
            bucket: "b",
            root: "AWSLogs/111122223333/",
        };
        let k = key(&n, end);
        assert_eq!(
            k,
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"
        );
        // validate-logs reads the key's date at [-24:-8].
        assert_eq!(&k[k.len() - 24..k.len() - 8], "20150817T150131Z");
        assert_eq!(
            string_to_sign("2015-08-17T15:01:31Z", "b", "k", "ab", None),
            "2015-08-17T15:01:31Z\nb/k\nab\nnull"
        );
        let start = end - chrono::Duration::hours(1);
        let chain = Chain {
            start: Some(start),
            ..Chain::default()
        };
        assert!(chain.due(end));
        assert!(!chain.due(end - chrono::Duration::seconds(1)));
        assert_eq!(chain_key("1", "1", "r"), "r");
        assert_eq!(chain_key("1", "2", "r"), "2/r");
        assert_eq!(parse_chain_key("1", "2/r"), ("2", "r"));
        assert_eq!(parse_chain_key("1", "r"), ("1", "r"));
    }
}
