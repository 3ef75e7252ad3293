//! Versioning: `PutBucketVersioning`/`GetBucketVersioning` with MFA Delete, reads and deletes
//! of a given version, delete markers, and `ListObjectVersions`.
//!
//! A key's current version is its `s3:object` entity (a delete marker when the key is
//! deleted); noncurrent versions are `s3:version` entities keyed `BUCKET/KEY\0VERSIONID`, with
//! version ids that sort newest first, so one scan in store-key order lists a key's versions
//! as S3 does: the current one, then older ones.

use rampart_kit::{context::CallContext, db::Db};
use serde_json::{json, Map, Value};

use crate::{
    error::{S3Error, S3Result},
    input::{bucket_name, key, opt_nonempty},
    repo::{self, Bucket, Object, ObjectDoc},
};

fn mfa_required() -> S3Error {
    S3Error::AccessDenied("Mfa Authentication must be used for this request".into())
}

/// Checks the `x-amz-mfa` header (`SERIAL CODE`) against the bucket owner's root user's MFA
/// device, consuming the code: MFA Delete is the root user's.
pub async fn check_mfa(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    bucket: &Bucket,
) -> S3Result<()> {
    let Some(header) = opt_nonempty(input, "MFA") else {
        return Err(mfa_required());
    };
    let (serial, code) = header.trim().split_once(' ').ok_or_else(mfa_required)?;
    let root = bucket.partition().root_arn(bucket.owner());
    if ctx.principal.arn != root {
        return Err(S3Error::AccessDenied(
            "Only the bucket owner's root user can use MFA Delete.".into(),
        ));
    }
    let verified = rampart_iam::mfa_device::verify_code(
        db,
        bucket.owner(),
        serial,
        bucket.owner(),
        code.trim(),
        ctx.now,
        db.is_write(),
    )
    .await
    .map_err(|_| S3Error::internal())?;
    verified.map_err(|_| mfa_required())
}

/// `PutBucketVersioning`: `Enabled` or `Suspended`; changing `MFADelete`, or anything once
/// MFA Delete is on, needs the root user's MFA code.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let config = input
        .get("VersioningConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let malformed = || {
        S3Error::MalformedXML(
            "The XML you provided was not well-formed or did not validate against our published schema".into(),
        )
    };
    let status = match config.get("Status").and_then(Value::as_str) {
        Some(s @ ("Enabled" | "Suspended")) => Some(s.to_string()),
        None => None,
        Some(_) => return Err(malformed()),
    };
    let mfa_delete = match config.get("MFADelete").and_then(Value::as_str) {
        Some(m @ ("Enabled" | "Disabled")) => Some(m.to_string()),
        None => None,
        Some(_) => return Err(malformed()),
    };
    if mfa_delete.is_some() || bucket.doc.mfa_delete_enabled() {
        check_mfa(input, ctx, &mut db, &bucket).await?;
    }
    if mfa_delete.as_deref() == Some("Enabled")
        && status.as_deref() != Some("Enabled")
        && !bucket.doc.versioning_enabled()
    {
        return Err(S3Error::InvalidRequest(
            "MFA Delete can be enabled only on a bucket with versioning enabled.".into(),
        ));
    }
    if bucket.doc.object_lock.is_some() && status.as_deref() == Some("Suspended") {
        return Err(S3Error::InvalidBucketState(
            "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.".into(),
        ));
    }
    if let Some(s) = status {
        bucket.doc.versioning = Some(s);
    }
    if let Some(m) = mfa_delete {
        bucket.doc.mfa_delete = Some(m);
    }
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    Ok(json!({}))
}

/// `GetBucketVersioning`: nothing for a bucket that never had versioning.
pub async fn get(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let mut out = Map::new();
    if let Some(s) = &bucket.doc.versioning {
        out.insert("Status".into(), json!(s));
    }
    if let Some(m) = &bucket.doc.mfa_delete {
        out.insert("MFADelete".into(), json!(m));
    }
    Ok(Value::Object(out))
}

fn no_version() -> S3Error {
    S3Error::NoSuchVersion("The specified version does not exist.".into())
}

/// The version a read or delete names: the current one, or a noncurrent one.
pub async fn find(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
    version: &str,
) -> S3Result<Option<(Object, bool)>> {
    if !repo::is_version_id(version) {
        return Err(S3Error::argument("Invalid version id specified"));
    }
    if let Some(current) = repo::find_object(db, bucket, key).await? {
        if current.doc.version() == version {
            return Ok(Some((current, true)));
        }
    }
    Ok(repo::find_version(db, bucket, key, version)
        .await?
        .map(|o| (o, false)))
}

/// The object a read names (`VersionId` or the current version), not a delete marker.
pub async fn readable(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
    version: Option<&str>,
) -> S3Result<Object> {
    match version {
        None => match repo::find_object(db, bucket, key).await? {
            Some(o) if !o.doc.delete_marker => Ok(o),
            _ => Err(S3Error::no_key()),
        },
        Some(v) => match find(db, bucket, key, v).await? {
            Some((o, _)) if o.doc.delete_marker => Err(S3Error::MethodNotAllowed(
                "The specified method is not allowed against this resource.".into(),
            )),
            Some((o, _)) => Ok(o),
            None => Err(no_version()),
        },
    }
}

/// `DeleteObject` (and each key of `DeleteObjects`): without a version, a delete marker while
/// versioning was ever on (the object itself otherwise); with one, that version is removed for
/// good (MFA Delete then needs the root user's code) and the next newest becomes current.
pub async fn delete(
    input: &Value,
    key: &str,
    version: Option<&str>,
    ctx: &CallContext,
    db: &mut Db<'_>,
    bucket: &Bucket,
) -> S3Result<Map<String, Value>> {
    let mut out = Map::new();
    let Some(version) = version else {
        if bucket.doc.versioning.is_none() {
            if let Some(old) = repo::delete_object(db, bucket, key).await? {
                old.blobs()
                    .into_iter()
                    .for_each(|b| ctx.payload.release_after_commit(b));
            }
            return Ok(out);
        }
        let mut marker = ObjectDoc {
            delete_marker: true,
            ..ObjectDoc::default()
        };
        crate::objects::release(
            ctx,
            repo::write_current(db, bucket, key, &mut marker, ctx.now).await?,
        );
        out.insert("DeleteMarker".into(), json!(true));
        crate::objects::version_member(&marker, &mut out);
        return Ok(out);
    };
    if bucket.doc.mfa_delete_enabled() {
        check_mfa(input, ctx, db, bucket).await?;
    }
    out.insert("VersionId".into(), json!(version));
    let Some((object, current)) = find(db, bucket, key, version).await? else {
        return Ok(out);
    };
    crate::object_lock::check_delete(input, ctx, bucket, &object).await?;
    if object.doc.delete_marker {
        out.insert("DeleteMarker".into(), json!(true));
    }
    object
        .blobs()
        .into_iter()
        .for_each(|b| ctx.payload.release_after_commit(b));
    if !current {
        repo::delete_version(db, bucket, &object).await?;
        return Ok(out);
    }
    repo::delete_object(db, bucket, key).await?;
    if let Some(next) = repo::newest_version(db, bucket, key).await? {
        repo::delete_version(db, bucket, &next).await?;
        repo::put_object(db, bucket, key, &next.doc, next.last_modified()).await?;
    }
    Ok(out)
}

/// Reads the `VersionId` member of an input.
pub fn version_of(input: &Value) -> Option<&str> {
    opt_nonempty(input, "VersionId")
}

/// The key of an input (re-exported for the object handlers).
pub fn key_of(input: &Value) -> S3Result<&str> {
    key(input)
}
