//! Object Ownership and the ACL calls: `Put`/`Get`/`DeleteBucketOwnershipControls`,
//! `GetBucketAcl`/`PutBucketAcl`, `GetObjectAcl`/`PutObjectAcl`, and the ACL a write
//! (`x-amz-acl`, `x-amz-grant-*`) gives a new object.
//!
//! - A new bucket is `BucketOwnerEnforced` (AWS's default since April 2023) unless
//!   `x-amz-object-ownership` says otherwise: ACLs are disabled, the bucket owner owns every
//!   object, and only an ACL that grants the bucket owner `FULL_CONTROL` alone is accepted
//!   (`AccessControlListNotSupported` otherwise). Reading ACLs still works.
//! - With ACLs enabled (`BucketOwnerPreferred`, `ObjectWriter`, or no ownership controls) ACLs
//!   are stored and their grants take part in authorization (see [`crate::acl::statements`]),
//!   except public ones under `IgnorePublicAcls`; `BlockPublicAcls` refuses a public ACL.
//! - The writer of an object owns it under `ObjectWriter`, and under `BucketOwnerPreferred`
//!   unless it is written with `bucket-owner-full-control`.

use rampart_kit::{context::CallContext, db::Db};
use serde_json::{json, Value};

use crate::{
    acl::{self, Acl},
    error::{S3Error, S3Result},
    input::{bucket_name, key, opt_nonempty},
    public_access::effective,
    repo::{self, Bucket, Object},
    versioning,
};

/// ACLs disabled; the bucket owner owns every object.
pub const BUCKET_OWNER_ENFORCED: &str = "BucketOwnerEnforced";
/// The bucket owner owns objects written with `bucket-owner-full-control`.
pub const BUCKET_OWNER_PREFERRED: &str = "BucketOwnerPreferred";
/// The writer owns what it writes.
pub const OBJECT_WRITER: &str = "ObjectWriter";

fn acls_disabled() -> S3Error {
    S3Error::AccessControlListNotSupported("The bucket does not allow ACLs".into())
}

fn malformed() -> S3Error {
    S3Error::MalformedXML(
        "The XML you provided was not well-formed or did not validate against our published schema"
            .into(),
    )
}

/// A valid Object Ownership value.
pub fn check_ownership(value: &str) -> S3Result<&str> {
    match value {
        BUCKET_OWNER_ENFORCED | BUCKET_OWNER_PREFERRED | OBJECT_WRITER => Ok(value),
        _ => Err(S3Error::argument("Invalid x-amz-object-ownership header")),
    }
}

/// Checks an ACL a call sets on `bucket`: a bucket whose ACLs are disabled takes only the
/// owner's `FULL_CONTROL`, and `BlockPublicAcls` refuses a public one.
pub fn check_acl(bucket: &Bucket, acl: &Acl) -> S3Result<()> {
    if !bucket.doc.acls_enabled() && !acl.owner_only(bucket.owner()) {
        return Err(acls_disabled());
    }
    if acl.is_public() && effective(bucket).block_public_acls {
        return Err(S3Error::AccessDenied("Access Denied".into()));
    }
    Ok(())
}

/// The ACL for a new bucket from `CreateBucket`'s headers, checked against its Object
/// Ownership and its account's `BlockPublicAcls`.
pub async fn bucket_acl_at_create(
    input: &Value,
    bucket: &Bucket,
    db: &mut Db<'_>,
) -> S3Result<Option<Acl>> {
    let owner = bucket.owner();
    let Some(acl) = acl::from_headers(input, owner, owner, db).await? else {
        return Ok(None);
    };
    if !bucket.doc.acls_enabled() && !acl.owner_only(owner) {
        return Err(S3Error::InvalidBucketAclWithObjectOwnership(
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting".into(),
        ));
    }
    check_acl(bucket, &acl)?;
    Ok(bucket.doc.acls_enabled().then_some(acl))
}

/// The owner and ACL of an object `ctx`'s caller writes into `bucket` (`x-amz-acl`,
/// `x-amz-grant-*`): `(owner when not the bucket's, ACL when not the default)`.
pub async fn object_acl_at_write(
    input: &Value,
    ctx: &CallContext,
    bucket: &Bucket,
    db: &mut Db<'_>,
) -> S3Result<(Option<String>, Option<Acl>)> {
    let writer = ctx.principal.account_id.as_str();
    let owner = match bucket.doc.ownership.as_deref() {
        Some(BUCKET_OWNER_ENFORCED) => bucket.owner(),
        Some(BUCKET_OWNER_PREFERRED)
            if opt_nonempty(input, "ACL") == Some("bucket-owner-full-control") =>
        {
            bucket.owner()
        }
        // The anonymous writer (a public-read-write ACL) leaves the object to the bucket owner.
        _ if writer.is_empty() => bucket.owner(),
        _ => writer,
    };
    let acl = acl::from_headers(input, owner, bucket.owner(), db).await?;
    if let Some(acl) = &acl {
        check_acl(bucket, acl)?;
    }
    let owner = (owner != bucket.owner()).then(|| owner.to_string());
    let acl = acl.filter(|_| bucket.doc.acls_enabled());
    Ok((owner, acl))
}

/// `PutBucketOwnershipControls`: one rule; `BucketOwnerEnforced` needs a bucket ACL that
/// grants nobody else.
pub async fn put_controls(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let rules = input
        .pointer("/OwnershipControls/Rules")
        .and_then(Value::as_array)
        .ok_or_else(malformed)?;
    let [rule] = rules.as_slice() else {
        return Err(malformed());
    };
    let value = rule
        .get("ObjectOwnership")
        .and_then(Value::as_str)
        .ok_or_else(malformed)?;
    let value = check_ownership(value).map_err(|_| malformed())?;
    let grants_others = bucket
        .doc
        .acl
        .as_ref()
        .is_some_and(|a| !a.owner_only(bucket.owner()));
    if value == BUCKET_OWNER_ENFORCED && grants_others {
        return Err(S3Error::InvalidBucketAclWithObjectOwnership(
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting".into(),
        ));
    }
    bucket.doc.ownership = Some(value.to_string());
    if value == BUCKET_OWNER_ENFORCED {
        bucket.doc.acl = None;
    }
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    rampart_kit::entity::bump(&mut db).await?;
    Ok(json!({}))
}

/// `GetBucketOwnershipControls`: `OwnershipControlsNotFoundError` when there are none.
pub async fn get_controls(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let value = bucket.doc.ownership.ok_or_else(|| {
        S3Error::OwnershipControlsNotFoundError(
            "The bucket ownership controls were not found".into(),
        )
    })?;
    Ok(json!({ "OwnershipControls": { "Rules": [{ "ObjectOwnership": value }] } }))
}

/// `DeleteBucketOwnershipControls`: the bucket then has ACLs enabled.
pub async fn delete_controls(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if bucket.doc.ownership.take().is_some() {
        repo::save_bucket(&mut db, bucket, ctx.now).await?;
        rampart_kit::entity::bump(&mut db).await?;
    }
    Ok(json!({}))
}

/// `GetBucketAcl`.
pub async fn get_bucket_acl(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let acl = bucket
        .doc
        .acl
        .clone()
        .unwrap_or_else(|| Acl::private(bucket.owner()));
    Ok(acl.to_output(bucket.owner()))
}

/// The ACL a `PutBucketAcl`/`PutObjectAcl` sets: its headers, or its `AccessControlPolicy`.
async fn acl_of_call(
    input: &Value,
    owner: &str,
    bucket_owner: &str,
    db: &mut Db<'_>,
) -> S3Result<Acl> {
    let from_headers = acl::from_headers(input, owner, bucket_owner, db).await?;
    match (from_headers, input.get("AccessControlPolicy")) {
        (Some(_), Some(_)) => Err(S3Error::UnexpectedContent(
            "This request does not support content".into(),
        )),
        (Some(acl), None) => Ok(acl),
        (None, Some(policy)) => acl::from_policy(policy, db).await,
        (None, None) => Err(S3Error::MissingSecurityHeader(
            "Your request was missing a required header".into(),
        )),
    }
}

/// `PutBucketAcl`.
pub async fn put_bucket_acl(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let owner = bucket.owner().to_string();
    let acl = acl_of_call(input, &owner, &owner, &mut db).await?;
    check_acl(&bucket, &acl)?;
    if bucket.doc.acls_enabled() {
        bucket.doc.acl = Some(acl);
        repo::save_bucket(&mut db, bucket, ctx.now).await?;
        rampart_kit::entity::bump(&mut db).await?;
    }
    Ok(json!({}))
}

/// The object (or version) an object ACL call names.
async fn acl_object(input: &Value, db: &mut Db<'_>) -> S3Result<(Bucket, Object)> {
    let bucket = repo::bucket(db, bucket_name(input)?).await?;
    let object =
        versioning::readable(db, &bucket, key(input)?, versioning::version_of(input)).await?;
    Ok((bucket, object))
}

/// The account that owns an object.
pub fn object_owner<'a>(bucket: &'a Bucket, object: &'a Object) -> &'a str {
    object.doc.owner.as_deref().unwrap_or(bucket.owner())
}

/// `GetObjectAcl`.
pub async fn get_object_acl(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (bucket, object) = acl_object(input, &mut db).await?;
    let owner = object_owner(&bucket, &object);
    let acl = object
        .doc
        .acl
        .clone()
        .unwrap_or_else(|| Acl::private(owner));
    let mut out = acl.to_output(owner);
    if let (Some(v), Some(map)) = (&object.doc.version_id, out.as_object_mut()) {
        map.insert("VersionId".into(), json!(v));
    }
    Ok(out)
}

/// `PutObjectAcl` (on the current version or the one named).
pub async fn put_object_acl(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (bucket, mut object) = acl_object(input, &mut db).await?;
    let owner = object_owner(&bucket, &object).to_string();
    let acl = acl_of_call(input, &owner, bucket.owner(), &mut db).await?;
    check_acl(&bucket, &acl)?;
    if bucket.doc.acls_enabled() {
        object.doc.acl = Some(acl);
        repo::save_version(&mut db, &object).await?;
        rampart_kit::entity::bump(&mut db).await?;
    }
    let mut out = serde_json::Map::new();
    crate::objects::version_member(&object.doc, &mut out);
    Ok(Value::Object(out))
}
