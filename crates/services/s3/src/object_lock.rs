//! Object Lock: a bucket's configuration (`Put`/`GetObjectLockConfiguration`, enabled with
//! `x-amz-bucket-object-lock-enabled` on `CreateBucket`, which turns versioning on), each
//! version's retention (`Put`/`GetObjectRetention`, `x-amz-object-lock-mode` and
//! `-retain-until-date` on writes, or the bucket's default) and legal hold
//! (`Put`/`GetObjectLegalHold`, `x-amz-object-lock-legal-hold`), and what they protect.
//!
//! - A locked version cannot be deleted (`DeleteObject`/`DeleteObjects` with a version id):
//!   `AccessDenied`, as AWS answers. A delete without a version id only adds a delete marker,
//!   and a write adds a version: neither touches a locked one.
//! - `COMPLIANCE` retention cannot be removed or shortened by anyone. `GOVERNANCE` retention
//!   can, by a caller that sends `x-amz-bypass-governance-retention: true` and is allowed
//!   `s3:BypassGovernanceRetention` on the object (asked of the one authorizer).
//! - Retention ends on the request clock (`ctx.now`), so the dev clock makes it expire.

use chrono::{DateTime, Duration, Utc};
use rampart_kit::{authz::AuthzQuestion, context::CallContext, db::Db};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{
    error::{S3Error, S3Result},
    input::{bucket_name, key, opt_nonempty, opt_time},
    repo::{self, Bucket, BucketDoc, Object, ObjectDoc},
    versioning,
};

/// The retention modes.
pub const GOVERNANCE: &str = "GOVERNANCE";
/// Retention nobody can shorten.
pub const COMPLIANCE: &str = "COMPLIANCE";

/// A bucket's default retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    /// `GOVERNANCE` or `COMPLIANCE`.
    pub mode: Mode,
    /// The period in days, or in years.
    pub days: Option<i64>,
    /// The period in years.
    pub years: Option<i64>,
}

/// A retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Removable with the bypass permission.
    Governance,
    /// Removable by nobody until it ends.
    Compliance,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        match s {
            GOVERNANCE => Some(Mode::Governance),
            COMPLIANCE => Some(Mode::Compliance),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::Governance => GOVERNANCE,
            Mode::Compliance => COMPLIANCE,
        }
    }
}

/// A bucket's Object Lock configuration (present once Object Lock is enabled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockConfig {
    /// The retention new versions get when a write names none.
    pub default: Option<DefaultRetention>,
}

/// A version's retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// The mode.
    pub mode: Mode,
    /// Until when, in epoch seconds.
    pub until: i64,
}

impl Retention {
    /// Whether the retention still holds at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.until > now.timestamp()
    }
}

fn missing_configuration() -> S3Error {
    S3Error::InvalidRequest("Bucket is missing Object Lock Configuration".into())
}

fn malformed() -> S3Error {
    S3Error::MalformedXML(
        "The XML you provided was not well-formed or did not validate against our published schema"
            .into(),
    )
}

fn denied() -> S3Error {
    S3Error::AccessDenied("Access Denied".into())
}

/// Enables Object Lock on a new bucket (and versioning with it).
pub fn enable_at_create(doc: &mut BucketDoc) {
    doc.object_lock = Some(LockConfig::default());
    doc.versioning = Some("Enabled".into());
}

/// The retention and legal hold a write gives a new version: its `x-amz-object-lock-*`
/// headers, else the bucket's default retention.
pub fn at_write(
    input: &Value,
    bucket: &Bucket,
    now: DateTime<Utc>,
) -> S3Result<(Option<Retention>, Option<bool>)> {
    let mode = opt_nonempty(input, "ObjectLockMode");
    let until = opt_time(input, "ObjectLockRetainUntilDate");
    let hold = opt_nonempty(input, "ObjectLockLegalHoldStatus");
    let Some(config) = bucket.doc.object_lock else {
        if mode.is_some() || until.is_some() || hold.is_some() {
            return Err(missing_configuration());
        }
        return Ok((None, None));
    };
    let legal_hold = match hold {
        None => None,
        Some("OFF") => Some(false),
        Some("ON") => Some(true),
        Some(_) => {
            return Err(S3Error::argument(
                "Legal Hold must be either of 'ON' or 'OFF'",
            ))
        }
    };
    let retention = match (mode, until) {
        (Some(m), Some(u)) => Some(new_retention(m, u, now)?),
        (None, None) => config.default.map(|d| Retention {
            mode: d.mode,
            until: default_until(&d, now),
        }),
        _ => return Err(S3Error::argument(
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )),
    };
    Ok((retention, legal_hold))
}

/// A `PutObject` that locks its version must prove its body's integrity: a `Content-MD5` or
/// an `x-amz-checksum-*` (AWS's rule for uploads with Object Lock parameters, the bucket's
/// default retention included).
pub fn check_integrity(locked: bool, input: &Value, has_checksum: bool) -> S3Result<()> {
    if locked && !has_checksum && opt_nonempty(input, "ContentMD5").is_none() {
        return Err(S3Error::InvalidRequest(
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters".into(),
        ));
    }
    Ok(())
}

/// A retention a caller asks for: a known mode and a date in the future.
fn new_retention(mode: &str, until: i64, now: DateTime<Utc>) -> S3Result<Retention> {
    let mode = Mode::parse(mode).ok_or_else(|| S3Error::argument("Unknown wormMode directive."))?;
    if until <= now.timestamp() {
        return Err(S3Error::argument(
            "The retain until date must be in the future!",
        ));
    }
    Ok(Retention { mode, until })
}

fn default_until(d: &DefaultRetention, now: DateTime<Utc>) -> i64 {
    let days = d.days.unwrap_or(0) + d.years.unwrap_or(0) * 365;
    (now + Duration::days(days)).timestamp()
}

/// The lock members of `GetObject`/`HeadObject`.
pub fn describe(doc: &ObjectDoc, out: &mut Map<String, Value>) {
    if let Some(r) = &doc.retention {
        out.insert("ObjectLockMode".into(), json!(r.mode.as_str()));
        out.insert("ObjectLockRetainUntilDate".into(), json!(r.until));
    }
    if let Some(on) = doc.legal_hold {
        out.insert(
            "ObjectLockLegalHoldStatus".into(),
            json!(if on { "ON" } else { "OFF" }),
        );
    }
}

/// Whether the caller asked to bypass governance retention and may.
async fn may_bypass(input: &Value, ctx: &CallContext, bucket: &Bucket, key: &str) -> bool {
    if input
        .get("BypassGovernanceRetention")
        .and_then(Value::as_bool)
        != Some(true)
    {
        return false;
    }
    let caller = ctx.principal.account_id.as_str();
    let question: AuthzQuestion = crate::authz::object_request(
        "s3:BypassGovernanceRetention",
        bucket,
        key,
        None,
        caller,
        Vec::new(),
    )
    .into();
    ctx.authorizer.authorize(ctx, &question).await.is_ok()
}

/// Refuses to delete a locked version: a legal hold, active `COMPLIANCE` retention, or
/// active `GOVERNANCE` retention without an allowed bypass.
pub async fn check_delete(
    input: &Value,
    ctx: &CallContext,
    bucket: &Bucket,
    object: &Object,
) -> S3Result<()> {
    if object.doc.legal_hold == Some(true) {
        return Err(denied());
    }
    match object.doc.retention {
        Some(r) if r.active(ctx.now) => match r.mode {
            Mode::Compliance => Err(denied()),
            Mode::Governance if may_bypass(input, ctx, bucket, object.key()).await => Ok(()),
            Mode::Governance => Err(denied()),
        },
        _ => Ok(()),
    }
}

/// `PutObjectLockConfiguration`: enables Object Lock on a versioned bucket and sets (or
/// clears) its default retention.
pub async fn put_configuration(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let config = input.get("ObjectLockConfiguration").ok_or_else(malformed)?;
    if config.get("ObjectLockEnabled").and_then(Value::as_str) != Some("Enabled") {
        return Err(malformed());
    }
    if !bucket.doc.versioning_enabled() {
        return Err(S3Error::InvalidBucketState(
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
                .into(),
        ));
    }
    let default = match config.pointer("/Rule/DefaultRetention") {
        None => None,
        Some(d) => Some(default_retention(d)?),
    };
    bucket.doc.object_lock = Some(LockConfig { default });
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    Ok(json!({}))
}

/// A `DefaultRetention`: a mode and a positive number of days or of years, not both.
fn default_retention(d: &Value) -> S3Result<DefaultRetention> {
    let mode = d
        .get("Mode")
        .and_then(Value::as_str)
        .and_then(Mode::parse)
        .ok_or_else(malformed)?;
    let days = d.get("Days").and_then(Value::as_i64);
    let years = d.get("Years").and_then(Value::as_i64);
    match (days, years) {
        (Some(n), None) | (None, Some(n)) if n > 0 => Ok(DefaultRetention { mode, days, years }),
        (Some(_), Some(_)) | (None, None) => Err(malformed()),
        _ => Err(S3Error::argument(
            "Default retention period must be a positive integer value",
        )),
    }
}

/// `GetObjectLockConfiguration`: `ObjectLockConfigurationNotFoundError` without one.
pub async fn get_configuration(
    input: &Value,
    _ctx: &CallContext,
    mut db: Db<'_>,
) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let config = bucket.doc.object_lock.ok_or_else(|| {
        S3Error::ObjectLockConfigurationNotFoundError(
            "Object Lock configuration does not exist for this bucket".into(),
        )
    })?;
    let mut out = json!({ "ObjectLockEnabled": "Enabled" });
    if let (Some(d), Some(map)) = (config.default, out.as_object_mut()) {
        let mut retention = json!({ "Mode": d.mode.as_str() });
        if let Some(obj) = retention.as_object_mut() {
            if let Some(n) = d.days {
                obj.insert("Days".into(), json!(n));
            }
            if let Some(n) = d.years {
                obj.insert("Years".into(), json!(n));
            }
        }
        map.insert("Rule".into(), json!({ "DefaultRetention": retention }));
    }
    Ok(json!({ "ObjectLockConfiguration": out }))
}

/// The version a retention or legal-hold call names, in a bucket with Object Lock.
async fn locked_object(input: &Value, db: &mut Db<'_>) -> S3Result<(Bucket, Object)> {
    let bucket = repo::bucket(db, bucket_name(input)?).await?;
    if bucket.doc.object_lock.is_none() {
        return Err(missing_configuration());
    }
    let object =
        versioning::readable(db, &bucket, key(input)?, versioning::version_of(input)).await?;
    Ok((bucket, object))
}

fn no_lock() -> S3Error {
    S3Error::NoSuchObjectLockConfiguration(
        "The specified object does not have a ObjectLock configuration".into(),
    )
}

/// `PutObjectRetention`: sets, extends, shortens or removes a version's retention.
/// Shortening or removing active retention, or turning `COMPLIANCE` into `GOVERNANCE`, is
/// refused, except for `GOVERNANCE` with an allowed bypass.
pub async fn put_retention(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (bucket, mut object) = locked_object(input, &mut db).await?;
    let asked = input.get("Retention").cloned().unwrap_or(Value::Null);
    let mode = asked.get("Mode").and_then(Value::as_str);
    let until = opt_time(&asked, "RetainUntilDate");
    let wanted = match (mode, until) {
        (Some(m), Some(u)) => Some(new_retention(m, u, ctx.now)?),
        (None, None) => None,
        _ => return Err(malformed()),
    };
    if let Some(current) = object.doc.retention.filter(|r| r.active(ctx.now)) {
        let weakens = match wanted {
            None => true,
            Some(w) => {
                w.until < current.until
                    || (current.mode == Mode::Compliance && w.mode == Mode::Governance)
            }
        };
        if weakens {
            let allowed = current.mode == Mode::Governance
                && may_bypass(input, ctx, &bucket, object.key()).await;
            if !allowed {
                return Err(denied());
            }
        }
    }
    object.doc.retention = wanted;
    repo::save_version(&mut db, &object).await?;
    Ok(json!({}))
}

/// `GetObjectRetention`.
pub async fn get_retention(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (_, object) = locked_object(input, &mut db).await?;
    let r = object.doc.retention.ok_or_else(no_lock)?;
    Ok(json!({ "Retention": { "Mode": r.mode.as_str(), "RetainUntilDate": r.until } }))
}

/// `PutObjectLegalHold`: `ON` or `OFF`.
pub async fn put_legal_hold(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (_, mut object) = locked_object(input, &mut db).await?;
    object.doc.legal_hold = match input.pointer("/LegalHold/Status").and_then(Value::as_str) {
        Some("ON") => Some(true),
        Some("OFF") => Some(false),
        _ => return Err(malformed()),
    };
    repo::save_version(&mut db, &object).await?;
    Ok(json!({}))
}

/// `GetObjectLegalHold`: `NoSuchObjectLockConfiguration` for a version never held.
pub async fn get_legal_hold(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (_, object) = locked_object(input, &mut db).await?;
    let on = object.doc.legal_hold.ok_or_else(no_lock)?;
    Ok(json!({ "LegalHold": { "Status": if on { "ON" } else { "OFF" } } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_retention_takes_days_or_years() {
        let d = |v: Value| default_retention(&v);
        assert!(d(json!({ "Mode": "GOVERNANCE", "Days": 1 })).is_ok());
        assert!(d(json!({ "Mode": "COMPLIANCE", "Years": 2 })).is_ok());
        assert!(matches!(
            d(json!({ "Mode": "COMPLIANCE", "Days": 1, "Years": 2 })),
            Err(S3Error::MalformedXML(_))
        ));
        assert!(matches!(
            d(json!({ "Mode": "GOVERNANCE", "Days": 0 })),
            Err(S3Error::InvalidArgument(_))
        ));
        assert!(d(json!({ "Mode": "LOCKED", "Days": 1 })).is_err());
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let y = DefaultRetention {
            mode: Mode::Governance,
            days: None,
            years: Some(1),
        };
        assert_eq!(default_until(&y, now), 1_700_000_000 + 365 * 86_400);
    }

    #[test]
    fn locked_uploads_need_an_integrity_header() {
        assert!(check_integrity(false, &json!({}), false).is_ok());
        assert!(matches!(
            check_integrity(true, &json!({}), false),
            Err(S3Error::InvalidRequest(_))
        ));
        assert!(check_integrity(true, &json!({}), true).is_ok());
        assert!(check_integrity(true, &json!({ "ContentMD5": "x" }), false).is_ok());
    }

    #[test]
    fn retention_asked_for_must_end_in_the_future() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        assert!(new_retention("GOVERNANCE", 1_700_000_001, now).is_ok());
        assert!(new_retention("GOVERNANCE", 1_700_000_000, now).is_err());
        assert!(new_retention("NONE", 1_800_000_000, now).is_err());
    }
}
