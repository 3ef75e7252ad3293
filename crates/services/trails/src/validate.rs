//! Validation of a trail's delivered files, with the verdicts `aws cloudtrail validate-logs`
//! gives: each digest's signature against its region's public key (by
//! `digestPublicKeyFingerprint`), the digest chain (each digest's `previousDigestHashValue`
//! against the previous digest's bytes), each listed log file's SHA-256, and digests or log
//! files that are missing. It also reports what `validate-logs` cannot see: a log file or
//! digest under the trail's root that no digest lists and the chain does not reach (a file
//! added to the bucket), and, against the trail's delivery state, the log files of the period
//! not yet digested.
//!
//! The chain is walked from its head (the last digest the trail wrote) backwards through
//! `previousDigestS3Object`; past a missing or unreadable digest the walk goes on from the
//! next older digest the bucket holds.

use std::{collections::BTreeSet, future::Future, io::Read as _};

use aws_lc_rs::signature;
use serde_json::Value;

use crate::{digest, logfile};

/// An object as the validator reads it.
#[derive(Debug, Clone)]
pub struct Object {
    /// The stored (gzipped) body.
    pub body: Vec<u8>,
    /// `x-amz-meta-signature`, if set.
    pub signature: Option<String>,
}

/// Where the validator reads a trail's bucket and public keys.
pub trait Source {
    /// Every key under `prefix`, in key order.
    fn list(&mut self, prefix: &str) -> impl Future<Output = Result<Vec<String>, String>>;
    /// The object `key`, `None` when there is none.
    fn fetch(&mut self, key: &str) -> impl Future<Output = Result<Option<Object>, String>>;
    /// The public key (PKCS#1 `RSAPublicKey` DER) of `region` with `fingerprint`.
    fn public_key(
        &mut self,
        region: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, String>>;
}

/// What a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A digest file.
    Digest,
    /// A log file.
    Log,
}

/// What is wrong with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// It is listed (or linked) but absent.
    NotFound,
    /// Its bytes are not the ones its digest (or the next digest) hashed.
    HashMismatch,
    /// Its signature does not verify, or it has none.
    SignatureFailed,
    /// No public key of its region has its fingerprint.
    UnknownKey,
    /// It does not decompress or parse, or names another location than its own.
    Unreadable,
    /// A log file no digest lists and the trail did not deliver.
    NotInAnyDigest,
    /// A digest the chain does not reach.
    NotInChain,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Problem::NotFound => "not found",
            Problem::HashMismatch => "hash value doesn't match",
            Problem::SignatureFailed => "signature verification failed",
            Problem::UnknownKey => "public key not found",
            Problem::Unreadable => "invalid format",
            Problem::NotInAnyDigest => "not listed in any digest",
            Problem::NotInChain => "not in the digest chain",
        })
    }
}

/// The verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Digest or log file.
    pub kind: Kind,
    /// Its key.
    pub key: String,
    /// What is wrong; `None` when valid.
    pub problem: Option<Problem>,
}

impl Verdict {
    /// The line `validate-logs --verbose` would print.
    pub fn line(&self, bucket: &str) -> String {
        let kind = match self.kind {
            Kind::Digest => "Digest file",
            Kind::Log => "Log file",
        };
        match self.problem {
            None => format!("{kind}\ts3://{bucket}/{}\tvalid", self.key),
            Some(p) => format!("{kind}\ts3://{bucket}/{}\tINVALID: {p}", self.key),
        }
    }
}

/// Every verdict of a validation.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In the order the files were checked.
    pub verdicts: Vec<Verdict>,
    /// Log files delivered after the newest digest, when the trail's state is not known
    /// (read through the API): not digested yet, so not checked.
    pub undigested: usize,
}

impl Report {
    /// (valid, all) of one kind.
    pub fn count(&self, kind: Kind) -> (usize, usize) {
        let all = self.verdicts.iter().filter(|v| v.kind == kind);
        let valid = all.clone().filter(|v| v.problem.is_none()).count();
        (valid, all.count())
    }

    /// Whether every file is valid.
    pub fn ok(&self) -> bool {
        self.verdicts.iter().all(|v| v.problem.is_none())
    }

    fn push(&mut self, kind: Kind, key: &str, problem: Option<Problem>) {
        self.verdicts.push(Verdict {
            kind,
            key: key.to_string(),
            problem,
        });
    }
}

/// One digest chain to validate: a trail's files of one account and region.
#[derive(Debug, Clone)]
pub struct ChainPlan {
    /// The trail's root for the account (`destination::logs_root`).
    pub root: String,
    /// The region.
    pub region: String,
    /// The last digest written, when the trail's state is known (`None`: the newest digest
    /// the bucket holds).
    pub head: Option<String>,
    /// Whether the trail's state is known (then a bucket without the head is a missing one).
    pub state_known: bool,
    /// The log files delivered since the head, with their hashes (from the trail's state).
    pub pending: Vec<digest::Logged>,
}

/// Gunzips `gz`.
fn gunzip(gz: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// The date stamp of a digest key (`YYYYMMDDTHHMMSSZ` before `.json.gz`), for ordering.
fn stamp(key: &str) -> &str {
    let n = key.len();
    key.get(n.saturating_sub(24)..n.saturating_sub(8))
        .unwrap_or_default()
}

fn str_of<'a>(doc: &'a Value, member: &str) -> Option<&'a str> {
    doc.get(member).and_then(Value::as_str)
}

/// What a checked digest leaves for the walk.
struct Checked {
    /// Its parsed document, when it parsed.
    doc: Option<Value>,
    /// Hex SHA-256 of its uncompressed bytes.
    hash: Option<String>,
    problem: Option<Problem>,
}

/// Checks one digest: present, readable, at its own location, signed by its region's key.
async fn check_digest<S: Source>(
    src: &mut S,
    bucket: &str,
    region: &str,
    key: &str,
) -> Result<Checked, String> {
    let failed = |problem| Checked {
        doc: None,
        hash: None,
        problem: Some(problem),
    };
    let Some(object) = src.fetch(key).await? else {
        return Ok(failed(Problem::NotFound));
    };
    let Some(plain) = gunzip(&object.body) else {
        return Ok(failed(Problem::Unreadable));
    };
    let hash = logfile::sha256_hex(&plain);
    let Ok(doc) = serde_json::from_slice::<Value>(&plain) else {
        return Ok(failed(Problem::Unreadable));
    };
    let problem = signature_problem(src, &doc, &object, bucket, region, key, &hash).await?;
    Ok(Checked {
        doc: Some(doc),
        hash: Some(hash),
        problem,
    })
}

async fn signature_problem<S: Source>(
    src: &mut S,
    doc: &Value,
    object: &Object,
    bucket: &str,
    region: &str,
    key: &str,
    hash: &str,
) -> Result<Option<Problem>, String> {
    if str_of(doc, "digestS3Bucket") != Some(bucket) || str_of(doc, "digestS3Object") != Some(key) {
        return Ok(Some(Problem::Unreadable));
    }
    let fingerprint = str_of(doc, "digestPublicKeyFingerprint").unwrap_or_default();
    let Some(public) = src.public_key(region, fingerprint).await? else {
        return Ok(Some(Problem::UnknownKey));
    };
    let Some(sig) = object
        .signature
        .as_deref()
        .and_then(|s| hex::decode(s).ok())
    else {
        return Ok(Some(Problem::SignatureFailed));
    };
    let to_sign = digest::string_to_sign(
        str_of(doc, "digestEndTime").unwrap_or_default(),
        bucket,
        key,
        hash,
        str_of(doc, "previousDigestSignature"),
    );
    let verifier =
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public);
    Ok(verifier
        .verify(to_sign.as_bytes(), &sig)
        .err()
        .map(|_| Problem::SignatureFailed))
}

/// Checks a log file against the hash a digest (or the trail's state) holds for it.
async fn check_log<S: Source>(
    src: &mut S,
    report: &mut Report,
    key: &str,
    expected: &str,
) -> Result<(), String> {
    let problem = match src.fetch(key).await? {
        None => Some(Problem::NotFound),
        Some(o) => match gunzip(&o.body) {
            Some(plain) if logfile::sha256_hex(&plain) == expected => None,
            _ => Some(Problem::HashMismatch),
        },
    };
    report.push(Kind::Log, key, problem);
    Ok(())
}

/// The log files a digest lists: (key, hash).
fn listed(doc: &Value, bucket: &str) -> Vec<(String, String)> {
    doc.get("logFiles")
        .and_then(Value::as_array)
        .map(|files| {
            files
                .iter()
                .filter(|f| str_of(f, "s3Bucket") == Some(bucket))
                .filter_map(|f| {
                    let key = str_of(f, "s3Object")?;
                    let hash = str_of(f, "hashValue")?;
                    Some((key.to_string(), hash.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The next digest the bucket holds older than `key` and not yet walked.
fn older(stored: &[String], key: &str, walked: &BTreeSet<String>) -> Option<String> {
    stored
        .iter()
        .filter(|k| stamp(k) < stamp(key) && !walked.contains(*k))
        .max_by(|a, b| stamp(a).cmp(stamp(b)))
        .cloned()
}

/// Validates one chain: its digests, the log files they list, the pending log files, and
/// any file under the chain's root and region that none of them accounts for.
pub async fn validate_chain<S: Source>(
    src: &mut S,
    bucket: &str,
    plan: &ChainPlan,
    report: &mut Report,
) -> Result<(), String> {
    let digest_dir = format!("{}CloudTrail-Digest/{}/", plan.root, plan.region);
    let log_dir = format!("{}CloudTrail/{}/", plan.root, plan.region);
    let stored_digests = src.list(&digest_dir).await?;
    let newest = stored_digests.iter().max_by(|a, b| stamp(a).cmp(stamp(b)));
    let mut next = if plan.state_known {
        plan.head.clone()
    } else {
        newest.cloned()
    };
    let mut walked = BTreeSet::new();
    let mut accounted = BTreeSet::new();
    // What the newer digest says the current one hashes to.
    let mut expected: Option<String> = None;
    // Without the trail's state: the end of the newest valid digest, after which log files
    // are not digested yet.
    let mut digested_until: Option<String> = None;
    while let Some(key) = next.take() {
        if !walked.insert(key.clone()) {
            break;
        }
        let checked = check_digest(src, bucket, &plan.region, &key).await?;
        let mut problem = checked.problem;
        if problem.is_none() && expected.is_some() && expected != checked.hash {
            problem = Some(Problem::HashMismatch);
        }
        report.push(Kind::Digest, &key, problem);
        let Some(doc) = checked.doc.filter(|_| problem.is_none()) else {
            expected = None;
            next = older(&stored_digests, &key, &walked);
            continue;
        };
        if !plan.state_known && digested_until.is_none() {
            digested_until = str_of(&doc, "digestEndTime").map(minute_stamp);
        }
        for (log, hash) in listed(&doc, bucket) {
            check_log(src, report, &log, &hash).await?;
            accounted.insert(log);
        }
        expected = str_of(&doc, "previousDigestHashValue").map(str::to_string);
        next = str_of(&doc, "previousDigestS3Object").map(str::to_string);
    }
    for file in &plan.pending {
        check_log(src, report, &file.key, &file.hash).await?;
        accounted.insert(file.key.clone());
    }
    for key in stored_digests.iter().filter(|k| !walked.contains(*k)) {
        report.push(Kind::Digest, key, Some(Problem::NotInChain));
    }
    for key in src.list(&log_dir).await? {
        if accounted.contains(&key) || reported(report, &key) {
            continue;
        }
        let undigested = !plan.state_known
            && digested_until
                .as_deref()
                .is_none_or(|until| log_stamp(&key) >= until);
        if undigested {
            report.undigested += 1;
        } else {
            report.push(Kind::Log, &key, Some(Problem::NotInAnyDigest));
        }
    }
    Ok(())
}

/// `YYYYMMDDTHHMM` of a digest's `digestEndTime` (`YYYY-MM-DDTHH:MM:SSZ`).
fn minute_stamp(time: &str) -> String {
    time.chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .take(13)
        .collect()
}

/// `YYYYMMDDTHHMM` of a log file's key (`..._YYYYMMDDTHHMMZ_UNIQUE.json.gz`); empty when the
/// key has no such stamp.
fn log_stamp(key: &str) -> &str {
    let name = key.rsplit('/').next().unwrap_or_default();
    name.rsplit('_')
        .nth(1)
        .and_then(|s| s.strip_suffix('Z'))
        .filter(|s| s.len() == 13)
        .unwrap_or_default()
}

/// Whether a log file was already reported on (a checked digest listed it).
fn reported(report: &Report, key: &str) -> bool {
    report
        .verdicts
        .iter()
        .any(|v| v.kind == Kind::Log && v.key == key)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Duration, Utc};
    use rampart_kit::db::Db;
    use rampart_store::Store;

    use super::*;
    use crate::{digest::Chain, keys};

    #[test]
    fn stamps_of_log_files_and_digest_ends_compare() {
        let log = "AWSLogs/1/CloudTrail/r/2015/08/17/1_CloudTrail_r_20150817T1505Z_abcdefghijklmnop.json.gz";
        assert_eq!(log_stamp(log), "20150817T1505");
        assert_eq!(minute_stamp("2015-08-17T15:01:31Z"), "20150817T1501");
        assert!(log_stamp(log) >= minute_stamp("2015-08-17T15:01:31Z").as_str());
        assert_eq!(log_stamp("AWSLogs/forged.json.gz"), "");
    }

    #[test]
    fn stamps_order_digest_keys() {
        let k = "AWSLogs/1/CloudTrail-Digest/r/2015/08/17/1_CloudTrail-Digest_r_t_r_20150817T150131Z.json.gz";
        assert_eq!(stamp(k), "20150817T150131Z");
        assert_eq!(stamp("x"), "");
        let stored = vec![
            "a_20150817T130000Z.json.gz".to_string(),
            "a_20150817T140000Z.json.gz".to_string(),
            "a_20150817T150000Z.json.gz".to_string(),
        ];
        let walked = BTreeSet::new();
        assert_eq!(
            older(&stored, "a_20150817T150000Z.json.gz", &walked).as_deref(),
            Some("a_20150817T140000Z.json.gz")
        );
        assert_eq!(older(&stored, "a_20150817T130000Z.json.gz", &walked), None);
    }

    /// A bucket in memory, with the store's public keys.
    struct Mem<'a> {
        objects: BTreeMap<String, Object>,
        store: &'a Store,
    }

    impl Source for Mem<'_> {
        async fn list(&mut self, prefix: &str) -> Result<Vec<String>, String> {
            Ok(self
                .objects
                .keys()
                .filter(|k| k.starts_with(prefix))
                .cloned()
                .collect())
        }

        async fn fetch(&mut self, key: &str) -> Result<Option<Object>, String> {
            Ok(self.objects.get(key).cloned())
        }

        async fn public_key(&mut self, region: &str, fp: &str) -> Result<Option<Vec<u8>>, String> {
            let all = keys::public_keys(&mut Db::Read(self.store), region)
                .await
                .map_err(|e| e.message)?;
            Ok(all.into_iter().find(|(f, _)| f == fp).map(|(_, d)| d))
        }
    }

    const ROOT: &str = "AWSLogs/111122223333/";

    fn names() -> digest::Names<'static> {
        digest::Names {
            account: "111122223333",
            region: "us-east-1",
            trail: "t",
            home_region: "us-east-1",
            bucket: "b",
            root: ROOT,
        }
    }

    /// Three hours of one log file each, digested; returns the bucket, the chain plan and
    /// the log files' keys.
    async fn delivered(store: &Store) -> (BTreeMap<String, Object>, ChainPlan, Vec<String>) {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let mut objects = BTreeMap::new();
        let mut chain = Chain::default();
        let mut logs = Vec::new();
        let mut tx = store.begin().await.unwrap();
        for hour in 0..3 {
            let at: DateTime<Utc> = t0 + Duration::hours(hour);
            let key = logfile::key(ROOT, "111122223333", "us-east-1", at, &logfile::unique());
            let record = format!(r#"{{"eventName":"E{hour}"}}"#);
            let file = logfile::build(key.clone(), &[(record.as_str(), at)]).unwrap();
            objects.insert(
                key.clone(),
                Object {
                    body: file.gz.clone(),
                    signature: None,
                },
            );
            chain.start = Some(at);
            chain.files = vec![digest::Logged {
                bucket: "b".into(),
                key: key.clone(),
                hash: file.sha256.clone(),
                oldest: at,
                newest: at,
            }];
            let end = at + Duration::hours(1);
            let signer = keys::current(&mut Db::Write(&mut tx), "us-east-1", end)
                .await
                .unwrap();
            let d = digest::build(&chain, &names(), end, &signer).unwrap();
            objects.insert(
                d.key.clone(),
                Object {
                    body: d.gz,
                    signature: Some(d.signature),
                },
            );
            chain.previous = Some(d.link);
            logs.push(key);
        }
        tx.commit().await.unwrap();
        let plan = ChainPlan {
            root: ROOT.into(),
            region: "us-east-1".into(),
            head: chain.previous.map(|p| p.key),
            state_known: true,
            pending: Vec::new(),
        };
        (objects, plan, logs)
    }

    async fn check(store: &Store, objects: &BTreeMap<String, Object>, plan: &ChainPlan) -> Report {
        let mut src = Mem {
            objects: objects.clone(),
            store,
        };
        let mut report = Report::default();
        validate_chain(&mut src, "b", plan, &mut report)
            .await
            .unwrap();
        report
    }

    fn problem_of(report: &Report, key: &str) -> Option<Problem> {
        report
            .verdicts
            .iter()
            .find(|v| v.key == key)
            .and_then(|v| v.problem)
    }

    #[tokio::test]
    async fn finds_altered_missing_and_added_files() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let (objects, plan, logs) = delivered(&store).await;
        let digests: Vec<String> = objects
            .keys()
            .filter(|k| k.contains("-Digest/"))
            .cloned()
            .collect();
        let ok = check(&store, &objects, &plan).await;
        assert!(ok.ok(), "{ok:?}");
        assert_eq!(ok.count(Kind::Digest), (3, 3));
        assert_eq!(ok.count(Kind::Log), (3, 3));

        // A log file altered, then deleted.
        let mut bad = objects.clone();
        let forged = logfile::build(logs[1].clone(), &[("{}", DateTime::default())]).unwrap();
        bad.insert(
            logs[1].clone(),
            Object {
                body: forged.gz.clone(),
                signature: None,
            },
        );
        let r = check(&store, &bad, &plan).await;
        assert_eq!(problem_of(&r, &logs[1]), Some(Problem::HashMismatch));
        bad.remove(&logs[1]);
        let r = check(&store, &bad, &plan).await;
        assert_eq!(problem_of(&r, &logs[1]), Some(Problem::NotFound));

        // The middle digest re-signed with nothing, altered, then deleted: the walk goes on.
        let mut bad = objects.clone();
        let middle = digests[1].clone();
        let mut altered = bad[&middle].clone();
        altered.body = logfile::gzip(b"{}").unwrap();
        bad.insert(middle.clone(), altered);
        let r = check(&store, &bad, &plan).await;
        assert_eq!(problem_of(&r, &middle), Some(Problem::Unreadable));
        let mut resigned = bad[&middle].clone();
        resigned.body = objects[&middle].body.clone();
        resigned.signature = objects[&digests[0]].signature.clone();
        bad.insert(middle.clone(), resigned);
        let r = check(&store, &bad, &plan).await;
        assert_eq!(problem_of(&r, &middle), Some(Problem::SignatureFailed));
        bad.remove(&middle);
        let r = check(&store, &bad, &plan).await;
        assert_eq!(problem_of(&r, &middle), Some(Problem::NotFound));
        assert_eq!(
            problem_of(&r, &digests[0]),
            None,
            "the walk reaches the oldest"
        );
        assert_eq!(problem_of(&r, &logs[0]), None);
        assert_eq!(problem_of(&r, &logs[1]), Some(Problem::NotInAnyDigest));

        // Files added: a log file, and a digest the chain does not reach.
        let mut bad = objects.clone();
        let added = format!("{ROOT}CloudTrail/us-east-1/2023/11/14/added.json.gz");
        bad.insert(added.clone(), objects[&logs[0]].clone());
        let extra = digests[0].replace(".json.gz", "-extra.json.gz");
        bad.insert(extra.clone(), objects[&digests[0]].clone());
        let r = check(&store, &bad, &plan).await;
        assert_eq!(problem_of(&r, &added), Some(Problem::NotInAnyDigest));
        assert_eq!(problem_of(&r, &extra), Some(Problem::NotInChain));
        assert!(!r.ok());
        let _ = std::fs::remove_dir_all(dir);
    }
}
