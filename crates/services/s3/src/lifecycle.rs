//! Lifecycle configuration: `PutBucketLifecycleConfiguration`,
//! `GetBucketLifecycleConfiguration`, `DeleteBucketLifecycle`, the rules as S3 validates them,
//! and what a rule says about an object (when it expires). [`crate::lifecycle_run`] applies
//! the rules.
//!
//! Expiration actions are built (current versions by `Days` or `Date`, expired object delete
//! markers, noncurrent versions by `NoncurrentDays` keeping `NewerNoncurrentVersions`, and
//! incomplete multipart uploads). Transitions move objects between storage classes, which
//! Rampart does not have (every object is `STANDARD`): a rule with one is refused with
//! `NotImplemented` rather than stored and never applied.

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use rampart_kit::{db::Db, CallContext};
use rampart_store::{Entity, StoreError};
use serde_json::{json, Value};

use crate::{
    error::{S3Error, S3Result},
    input::bucket_name,
    repo::{self, Bucket},
};

/// The entity kind of the lifecycle index: one entry per bucket with a configuration, so the
/// job finds them without scanning every account.
pub const INDEX_KIND: &str = "s3:lifecycle";
/// The pseudo-account holding the index.
pub const INDEX_ACCOUNT: &str = "~s3";

/// At most this many rules (S3's limit).
const MAX_RULES: usize = 1000;

/// What an object is filtered on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The key prefix (empty: every key).
    pub prefix: String,
    /// Tags the object must carry, all of them.
    pub tags: Vec<(String, String)>,
    /// The object must be larger than this.
    pub size_greater_than: Option<u64>,
    /// The object must be smaller than this.
    pub size_less_than: Option<u64>,
}

impl Filter {
    /// Whether an object of this key, size and tags falls under the filter.
    pub fn matches(
        &self,
        key: &str,
        size: u64,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        key.starts_with(&self.prefix)
            && self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
            && self.size_greater_than.is_none_or(|min| size > min)
            && self.size_less_than.is_none_or(|max| size < max)
    }
}

/// When current versions expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// This many days after creation, at the following midnight UTC.
    Days(u32),
    /// On this date (midnight UTC).
    Date(DateTime<Utc>),
}

/// Noncurrent versions expire this many days after becoming noncurrent, keeping the newest
/// `keep` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoncurrentExpiry {
    /// `NoncurrentDays`.
    pub days: u32,
    /// `NewerNoncurrentVersions` (0: keep none).
    pub keep: u32,
}

/// One enabled rule, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `ID`.
    pub id: String,
    /// Whether `Status` is `Enabled`.
    pub enabled: bool,
    /// The objects it applies to.
    pub filter: Filter,
    /// The expiration of current versions.
    pub expiry: Option<Expiry>,
    /// `ExpiredObjectDeleteMarker`: a delete marker with no noncurrent version is removed.
    pub expired_delete_marker: bool,
    /// The expiration of noncurrent versions.
    pub noncurrent: Option<NoncurrentExpiry>,
    /// `AbortIncompleteMultipartUpload.DaysAfterInitiation`.
    pub abort_after_days: Option<u32>,
}

fn malformed() -> S3Error {
    S3Error::MalformedXML(
        "The XML you provided was not well-formed or did not validate against our published schema"
            .into(),
    )
}

fn positive(v: &Value, what: &str) -> S3Result<u32> {
    v.as_u64()
        .filter(|n| *n > 0)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| S3Error::argument(format!("{what} must be a positive integer")))
}

fn size(v: Option<&Value>) -> S3Result<Option<u64>> {
    match v {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| S3Error::argument("Object size must be a non-negative integer")),
    }
}

fn tag(v: &Value) -> S3Result<(String, String)> {
    match (
        v.get("Key").and_then(Value::as_str),
        v.get("Value").and_then(Value::as_str),
    ) {
        (Some(k), Some(val)) => Ok((k.to_string(), val.to_string())),
        _ => Err(malformed()),
    }
}

/// A rule's `Filter` (or its legacy `Prefix`): exactly one of `Prefix`, `Tag`,
/// `ObjectSizeGreaterThan`, `ObjectSizeLessThan` or `And`.
fn filter(rule: &Value) -> S3Result<Filter> {
    match (rule.get("Filter"), rule.get("Prefix")) {
        (Some(_), Some(_)) => Err(malformed()),
        (None, Some(prefix)) => Ok(Filter {
            prefix: prefix.as_str().ok_or_else(malformed)?.to_string(),
            ..Filter::default()
        }),
        (None, None) => Err(malformed()),
        (Some(f), None) => {
            let given = [
                "Prefix",
                "Tag",
                "ObjectSizeGreaterThan",
                "ObjectSizeLessThan",
                "And",
            ]
            .iter()
            .filter(|k| f.get(**k).is_some())
            .count();
            if given > 1 {
                return Err(malformed());
            }
            let and = f.get("And");
            let within = and.unwrap_or(f);
            let mut out = Filter {
                prefix: within
                    .get("Prefix")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                size_greater_than: size(within.get("ObjectSizeGreaterThan"))?,
                size_less_than: size(within.get("ObjectSizeLessThan"))?,
                ..Filter::default()
            };
            if let Some(t) = f.get("Tag") {
                out.tags.push(tag(t)?);
            }
            if let Some(tags) = and.and_then(|a| a.get("Tags")).and_then(Value::as_array) {
                for t in tags {
                    out.tags.push(tag(t)?);
                }
            }
            if let (Some(min), Some(max)) = (out.size_greater_than, out.size_less_than) {
                if min >= max {
                    return Err(S3Error::argument(
                        "ObjectSizeGreaterThan must be less than ObjectSizeLessThan",
                    ));
                }
            }
            Ok(out)
        }
    }
}

/// A rule's `Expiration`: `Days`, `Date` or `ExpiredObjectDeleteMarker`, one of them.
fn expiration(rule: &Value) -> S3Result<(Option<Expiry>, bool)> {
    let Some(e) = rule.get("Expiration") else {
        return Ok((None, false));
    };
    let marker = e.get("ExpiredObjectDeleteMarker").and_then(Value::as_bool);
    match (e.get("Days"), e.get("Date"), marker) {
        (Some(days), None, None) => Ok((
            Some(Expiry::Days(positive(
                days,
                "'Days' for Expiration action",
            )?)),
            false,
        )),
        (None, Some(date), None) => {
            let secs = match date {
                Value::Number(n) => n.as_f64().map(|f| f as i64),
                _ => None,
            };
            let at = secs
                .and_then(|s| Utc.timestamp_opt(s, 0).single())
                .ok_or_else(malformed)?;
            if at.time() != NaiveTime::MIN {
                return Err(S3Error::argument("'Date' must be at midnight GMT"));
            }
            Ok((Some(Expiry::Date(at)), false))
        }
        (None, None, Some(m)) => Ok((None, m)),
        _ => Err(malformed()),
    }
}

fn noncurrent(rule: &Value) -> S3Result<Option<NoncurrentExpiry>> {
    let Some(n) = rule.get("NoncurrentVersionExpiration") else {
        return Ok(None);
    };
    let days = positive(
        n.get("NoncurrentDays").unwrap_or(&Value::Null),
        "'NoncurrentDays' for NoncurrentVersionExpiration action",
    )?;
    let keep = match n.get("NewerNoncurrentVersions") {
        None => 0,
        Some(v) => v
            .as_u64()
            .filter(|k| (1..=100).contains(k))
            .and_then(|k| u32::try_from(k).ok())
            .ok_or_else(|| {
                S3Error::argument("NewerNoncurrentVersions must be an integer from 1 to 100")
            })?,
    };
    Ok(Some(NoncurrentExpiry { days, keep }))
}

/// Parses and checks one rule as S3 does.
fn rule(r: &Value) -> S3Result<Rule> {
    let id = r
        .get("ID")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if id.len() > 255 {
        return Err(S3Error::argument(
            "ID length should not exceed allowed limit of 255",
        ));
    }
    let enabled = match r.get("Status").and_then(Value::as_str) {
        Some("Enabled") => true,
        Some("Disabled") => false,
        _ => return Err(malformed()),
    };
    let has_transition = r
        .get("Transitions")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty())
        || r.get("NoncurrentVersionTransitions")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
    if has_transition {
        return Err(S3Error::NotImplemented(
            "Rampart keeps every object in one storage class (STANDARD), so lifecycle transitions are not supported; expiration actions are".into(),
        ));
    }
    let filter = filter(r)?;
    let (expiry, expired_delete_marker) = expiration(r)?;
    let abort_after_days = match r
        .get("AbortIncompleteMultipartUpload")
        .map(|a| a.get("DaysAfterInitiation").unwrap_or(&Value::Null))
    {
        Some(days) => Some(positive(
            days,
            "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action",
        )?),
        None => None,
    };
    let noncurrent = noncurrent(r)?;
    let has_tags = !filter.tags.is_empty();
    if has_tags && expired_delete_marker {
        return Err(S3Error::InvalidRequest(
            "ExpiredObjectDeleteMarker cannot be specified with object tags".into(),
        ));
    }
    if has_tags && abort_after_days.is_some() {
        return Err(S3Error::InvalidRequest(
            "Tag-based filter cannot be used with AbortIncompleteMultipartUpload action".into(),
        ));
    }
    if expiry.is_none()
        && !expired_delete_marker
        && noncurrent.is_none()
        && abort_after_days.is_none()
    {
        return Err(S3Error::InvalidRequest(
            "At least one action needs to be specified in a rule".into(),
        ));
    }
    Ok(Rule {
        id,
        enabled,
        filter,
        expiry,
        expired_delete_marker,
        noncurrent,
        abort_after_days,
    })
}

/// Every rule of a configuration (`{"Rules": [...]}`), checked as S3 does.
pub fn rules(config: &Value) -> S3Result<Vec<Rule>> {
    let list = config
        .get("Rules")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or_else(malformed)?;
    if list.len() > MAX_RULES {
        return Err(S3Error::argument(format!(
            "Lifecycle configuration cannot have more than {MAX_RULES} rules"
        )));
    }
    let parsed = list.iter().map(rule).collect::<S3Result<Vec<Rule>>>()?;
    let mut ids: Vec<&str> = parsed
        .iter()
        .map(|r| r.id.as_str())
        .filter(|i| !i.is_empty())
        .collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w.first() == w.last()) {
        return Err(S3Error::argument(
            "Rule ID must be unique. Found same ID for more than one rule",
        ));
    }
    Ok(parsed)
}

/// The enabled rules of a bucket (none without a configuration; a stored configuration
/// always parses, as it was checked when put).
pub fn enabled_rules(bucket: &Bucket) -> Vec<Rule> {
    bucket
        .doc
        .lifecycle
        .as_ref()
        .and_then(|c| rules(c).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.enabled)
        .collect()
}

/// The midnight UTC following `days` days after `from`: when S3 acts on an age-based rule.
pub fn due_after(from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let date = from.date_naive() + Days::new(u64::from(days) + 1);
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// When a current version created at `created` expires under `rule`, if it does.
pub fn expires_at(rule: &Rule, created: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match rule.expiry? {
        Expiry::Days(days) => Some(due_after(created, days)),
        Expiry::Date(at) => Some(at),
    }
}

/// The `x-amz-expiration` value for a current version: the earliest expiry among the rules
/// that apply to it (`expiry-date="...", rule-id="..."`).
pub fn expiration_header(
    bucket: &Bucket,
    key: &str,
    doc: &repo::ObjectDoc,
    created: DateTime<Utc>,
) -> Option<String> {
    if doc.delete_marker {
        return None;
    }
    enabled_rules(bucket)
        .iter()
        .filter(|r| r.filter.matches(key, doc.size, &doc.tags))
        .filter_map(|r| expires_at(r, created).map(|at| (at, r.id.clone())))
        .min_by_key(|(at, _)| *at)
        .map(|(at, id)| {
            format!(
                "expiry-date=\"{}\", rule-id=\"{}\"",
                at.format("%a, %d %b %Y %H:%M:%S GMT"),
                id
            )
        })
}

fn index_entity(bucket: &Bucket, now: DateTime<Utc>) -> Entity {
    Entity {
        account_id: INDEX_ACCOUNT.to_string(),
        kind: INDEX_KIND.to_string(),
        name: bucket.name().to_string(),
        name_key: bucket.name().to_string(),
        id: format!("{INDEX_KIND}/{}", bucket.name()),
        path: "/".to_string(),
        arn: bucket.entity.arn.clone(),
        created_at: now,
        updated_at: now,
        doc: "{}".to_string(),
    }
}

/// Removes a bucket from the lifecycle index (its configuration was deleted, or the bucket).
pub async fn unindex(db: &mut Db<'_>, bucket: &str) -> S3Result<()> {
    match db
        .entities()
        .delete(INDEX_ACCOUNT, INDEX_KIND, bucket)
        .await
    {
        Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// `PutBucketLifecycleConfiguration`: replaces the bucket's rules.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if bucket.doc.mfa_delete_enabled() {
        return Err(S3Error::InvalidRequest(
            "Lifecycle configuration is not supported on a bucket with MFA Delete enabled".into(),
        ));
    }
    let config = input
        .get("LifecycleConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    rules(&config)?;
    let index = index_entity(&bucket, ctx.now);
    match db.entities().create(&index).await {
        Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
        Err(err) => return Err(err.into()),
    }
    bucket.doc.lifecycle = Some(config);
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    Ok(json!({ "TransitionDefaultMinimumSize": "all_storage_classes_128K" }))
}

/// `GetBucketLifecycleConfiguration`.
pub async fn get(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let Some(mut config) = bucket.doc.lifecycle else {
        return Err(S3Error::NoSuchLifecycleConfiguration(
            "The lifecycle configuration does not exist".into(),
        ));
    };
    if let Value::Object(map) = &mut config {
        map.insert(
            "TransitionDefaultMinimumSize".into(),
            json!("all_storage_classes_128K"),
        );
    }
    Ok(config)
}

/// `DeleteBucketLifecycle`.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    unindex(&mut db, bucket.name()).await?;
    if bucket.doc.lifecycle.take().is_some() {
        repo::save_bucket(&mut db, bucket, ctx.now).await?;
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(rule: Value) -> S3Result<Rule> {
        rules(&json!({ "Rules": [rule] })).map(|mut r| r.remove(0))
    }

    #[test]
    fn days_round_up_to_the_next_midnight() {
        let created = Utc.with_ymd_and_hms(2014, 1, 15, 10, 30, 0).unwrap();
        let due = due_after(created, 3);
        assert_eq!(due, Utc.with_ymd_and_hms(2014, 1, 19, 0, 0, 0).unwrap());
    }

    #[test]
    fn a_rule_needs_an_action_a_status_and_one_filter() {
        let ok = one(
            json!({"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
            "Expiration": {"Days": 3}}),
        )
        .unwrap();
        assert_eq!(ok.filter.prefix, "logs/");
        assert_eq!(ok.expiry, Some(Expiry::Days(3)));
        assert!(matches!(
            one(json!({"Status": "Enabled", "Filter": {}})),
            Err(S3Error::InvalidRequest(_))
        ));
        assert!(matches!(
            one(json!({"Status": "On", "Filter": {}, "Expiration": {"Days": 1}})),
            Err(S3Error::MalformedXML(_))
        ));
        assert!(matches!(
            one(
                json!({"Status": "Enabled", "Filter": {"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}},
                "Expiration": {"Days": 1}})
            ),
            Err(S3Error::MalformedXML(_))
        ));
        assert!(matches!(
            one(json!({"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}})),
            Err(S3Error::InvalidArgument(_))
        ));
        assert!(matches!(
            one(
                json!({"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": true}})
            ),
            Err(S3Error::MalformedXML(_))
        ));
        assert!(matches!(
            one(
                json!({"Status": "Enabled", "Filter": {}, "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]})
            ),
            Err(S3Error::NotImplemented(_))
        ));
    }

    #[test]
    fn dates_must_be_midnight() {
        let noon = Utc
            .with_ymd_and_hms(2030, 1, 1, 12, 0, 0)
            .unwrap()
            .timestamp();
        assert!(matches!(
            one(json!({"Status": "Enabled", "Filter": {}, "Expiration": {"Date": noon}})),
            Err(S3Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn ids_are_unique() {
        let r = json!({"ID": "same", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}});
        assert!(matches!(
            rules(&json!({"Rules": [r.clone(), r]})),
            Err(S3Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn filters_match_prefix_tags_and_size() {
        let f = one(
            json!({"Status": "Enabled", "Filter": {"And": {"Prefix": "p/",
            "Tags": [{"Key": "t", "Value": "1"}], "ObjectSizeGreaterThan": 10}},
            "Expiration": {"Days": 1}}),
        )
        .unwrap()
        .filter;
        let mut tags = std::collections::BTreeMap::new();
        assert!(!f.matches("p/x", 20, &tags));
        tags.insert("t".to_string(), "1".to_string());
        assert!(f.matches("p/x", 20, &tags));
        assert!(!f.matches("p/x", 10, &tags));
        assert!(!f.matches("q/x", 20, &tags));
    }
}
