//! Storage of buckets, objects and multipart uploads as store entities; object bytes are
//! blobs (see `rampart_kit::payload`) that the documents name.
//!
//! - A bucket is an entity of its owner (`s3:bucket`, keyed by name) whose id,
//!   `s3:bucket/NAME`, is unique across the store: bucket names are global, as in AWS.
//! - An object is an entity of the bucket's owner (`s3:object`) keyed by `BUCKET/KEY`, with the
//!   same text as its path so that a prefix listing is a path-prefix scan in key order.
//! - A multipart upload (`s3:upload`, keyed by upload id) and its parts (`s3:part`, keyed by
//!   `UPLOAD/PARTNUMBER` zero-padded) belong to the bucket's owner too.

use rampart_kit::Partition;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, payload::Checksum};
use rampart_store::{Entity, StoreError};
use serde::{Deserialize, Serialize};

use crate::{
    error::{S3Error, S3Result},
    names::{bucket_arn, object_arn},
};

/// The entity kinds.
pub const BUCKET: &str = "s3:bucket";
/// Objects.
pub const OBJECT: &str = "s3:object";
/// Multipart uploads in progress.
pub const UPLOAD: &str = "s3:upload";
/// Parts of uploads in progress.
pub const PART: &str = "s3:part";
/// Noncurrent versions of objects (keyed `BUCKET/KEY\0VERSIONID`; version ids sort newest
/// first).
pub const VERSION: &str = "s3:version";

/// The version id of an object written while versioning was never enabled or is suspended.
pub const NULL_VERSION: &str = "null";

/// A bucket's own settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BucketDoc {
    /// The region the bucket lives in.
    pub region: String,
    /// The bucket policy (JSON text), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The bucket's tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The Block Public Access settings, if configured (none for a bucket stored before
    /// they were built, as for an AWS bucket made before April 2023).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_access_block: Option<crate::public_access::PublicAccessBlock>,
    /// The default encryption (`ServerSideEncryptionConfiguration`); SSE-S3 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<serde_json::Value>,
    /// `Enabled` or `Suspended`; `None` while versioning was never enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
    /// `Enabled` or `Disabled` once set (MFA Delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_delete: Option<String>,
    /// The lifecycle configuration (`{"Rules": [...]}` as given, checked by
    /// `crate::lifecycle::rules`), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<serde_json::Value>,
    /// Object Ownership (`BucketOwnerEnforced`, `BucketOwnerPreferred`, `ObjectWriter`);
    /// `None` when the bucket has no ownership controls (ACLs then apply, as `ObjectWriter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<String>,
    /// The bucket's ACL; `None` is the owner's `FULL_CONTROL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<crate::acl::Acl>,
    /// Object Lock, once enabled (it cannot be turned off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<crate::object_lock::LockConfig>,
}

impl BucketDoc {
    /// Whether versioning is on.
    pub fn versioning_enabled(&self) -> bool {
        self.versioning.as_deref() == Some("Enabled")
    }

    /// Whether MFA Delete is on.
    pub fn mfa_delete_enabled(&self) -> bool {
        self.mfa_delete.as_deref() == Some("Enabled")
    }

    /// Whether ACLs take part in access (every Object Ownership but `BucketOwnerEnforced`).
    pub fn acls_enabled(&self) -> bool {
        self.ownership.as_deref() != Some(crate::ownership::BUCKET_OWNER_ENFORCED)
    }
}

/// A bucket as stored, with its owner's account-level Block Public Access settings.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The entity.
    pub entity: Entity,
    /// Its settings.
    pub doc: BucketDoc,
    /// The owner's account-level Block Public Access settings (S3 Control), if set.
    pub account_block: Option<crate::public_access::PublicAccessBlock>,
}

impl Bucket {
    /// The name.
    pub fn name(&self) -> &str {
        &self.entity.name
    }

    /// The owning account.
    pub fn owner(&self) -> &str {
        &self.entity.account_id
    }

    /// The partition of the bucket's region: its ARNs'.
    pub fn partition(&self) -> Partition {
        Partition::of_region(&self.doc.region)
    }
}

/// A stretch of an object's bytes: one blob (a single PUT has one, a multipart object one per
/// part).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Piece {
    /// The blob.
    pub blob: String,
    /// Its length.
    pub len: u64,
}

/// An object's metadata and where its bytes are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectDoc {
    /// Length in bytes.
    pub size: u64,
    /// The ETag without quotes (hex MD5, or `hex-N` for a multipart object).
    pub etag: String,
    /// The standard headers stored with the object (`ContentType`, `ContentEncoding`,
    /// `ContentDisposition`, `ContentLanguage`, `CacheControl`, `Expires`), by member name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, serde_json::Value>,
    /// User metadata (`x-amz-meta-*`), names lowercased.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The object's tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The checksums verified on upload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<StoredChecksum>,
    /// The bytes, in order.
    pub pieces: Vec<Piece>,
    /// The number of parts of a multipart object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_count: Option<u32>,
    /// How the object's data key is kept (`None`: stored in clear, never for new objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<crate::sse::Sse>,
    /// The version id, once the bucket's versioning was ever enabled (`null` for a version
    /// written while it was not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// A delete marker: the key's current version says it is deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    /// The account that owns the object when it is not the bucket's owner (a writer of
    /// another account while ACLs are enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The object's ACL; `None` is its owner's `FULL_CONTROL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<crate::acl::Acl>,
    /// Object Lock retention of this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::object_lock::Retention>,
    /// Object Lock legal hold of this version (`None`: never set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<bool>,
}

impl ObjectDoc {
    /// The version id as S3 reports it (`null` for an object without one).
    pub fn version(&self) -> &str {
        self.version_id.as_deref().unwrap_or(NULL_VERSION)
    }
}

/// A checksum as stored (`rampart_kit::payload::Checksum` with serde).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredChecksum {
    /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1` or `SHA256`.
    pub algorithm: String,
    /// The base64 value.
    pub value: String,
}

impl From<&Checksum> for StoredChecksum {
    fn from(c: &Checksum) -> StoredChecksum {
        StoredChecksum {
            algorithm: c.algorithm.clone(),
            value: c.value.clone(),
        }
    }
}

/// An object as stored.
#[derive(Debug, Clone)]
pub struct Object {
    /// The entity (its `name` is the key, `updated_at` the last-modified time).
    pub entity: Entity,
    /// Its metadata.
    pub doc: ObjectDoc,
}

impl Object {
    /// The key.
    pub fn key(&self) -> &str {
        &self.entity.name
    }

    /// When it was last written.
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.entity.updated_at
    }

    /// The ETag as S3 sends it, in quotes.
    pub fn quoted_etag(&self) -> String {
        format!("\"{}\"", self.doc.etag)
    }

    /// The blobs holding its bytes.
    pub fn blobs(&self) -> Vec<String> {
        self.doc.pieces.iter().map(|p| p.blob.clone()).collect()
    }
}

/// The store key of an object.
pub fn object_key(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

fn bucket_id(name: &str) -> String {
    format!("s3:bucket/{name}")
}

/// The bucket of this name, whoever owns it.
pub async fn find_bucket(db: &mut Db<'_>, name: &str) -> S3Result<Option<Bucket>> {
    let Some(e) = db.entities().get_by_id(&bucket_id(name)).await? else {
        return Ok(None);
    };
    if e.kind != BUCKET {
        return Ok(None);
    }
    let doc = entity::read_doc(&e)?;
    let account_block = crate::public_access::account_block(db, &e.account_id).await?;
    Ok(Some(Bucket {
        entity: e,
        doc,
        account_block,
    }))
}

/// The bucket of this name, or `NoSuchBucket`.
pub async fn bucket(db: &mut Db<'_>, name: &str) -> S3Result<Bucket> {
    find_bucket(db, name).await?.ok_or_else(S3Error::no_bucket)
}

/// Creates a bucket; `None` when the name is taken (by anyone).
pub async fn create_bucket(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
    doc: &BucketDoc,
    now: DateTime<Utc>,
) -> S3Result<Option<Bucket>> {
    let e = Entity {
        account_id: account.to_string(),
        kind: BUCKET.to_string(),
        name: name.to_string(),
        name_key: name.to_string(),
        id: bucket_id(name),
        path: "/".to_string(),
        arn: bucket_arn(Partition::of_region(&doc.region), name),
        created_at: now,
        updated_at: now,
        doc: entity::to_text(doc)?,
    };
    match db.entities().create(&e).await {
        Ok(()) => Ok(Some(Bucket {
            account_block: crate::public_access::account_block(db, account).await?,
            entity: e,
            doc: doc.clone(),
        })),
        Err(StoreError::AlreadyExists(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Saves a bucket's changed settings.
pub async fn save_bucket(db: &mut Db<'_>, bucket: Bucket, now: DateTime<Utc>) -> S3Result<()> {
    let Bucket { entity: e, doc, .. } = bucket;
    entity::save_doc(db, e, &doc, now).await?;
    Ok(())
}

/// Deletes a bucket.
pub async fn delete_bucket(db: &mut Db<'_>, bucket: &Bucket) -> S3Result<()> {
    db.entities()
        .delete(bucket.owner(), BUCKET, &bucket.entity.name_key)
        .await?;
    Ok(())
}

/// The buckets an account owns, in name order after `after`, at most `limit`.
pub async fn list_buckets(
    db: &mut Db<'_>,
    account: &str,
    after: Option<&str>,
    limit: u32,
) -> S3Result<(Vec<Bucket>, bool)> {
    let page = db
        .entities()
        .list(account, BUCKET, "", after, limit)
        .await?;
    let account_block = crate::public_access::account_block(db, account).await?;
    let mut out = Vec::with_capacity(page.items.len());
    for e in page.items {
        let doc = entity::read_doc(&e)?;
        out.push(Bucket {
            entity: e,
            doc,
            account_block,
        });
    }
    Ok((out, page.truncated))
}

/// The object under `key`, if any.
pub async fn find_object(db: &mut Db<'_>, bucket: &Bucket, key: &str) -> S3Result<Option<Object>> {
    let name_key = object_key(bucket.name(), key);
    let Some(e) = db.entities().get(bucket.owner(), OBJECT, &name_key).await? else {
        return Ok(None);
    };
    let doc = entity::read_doc(&e)?;
    Ok(Some(Object { entity: e, doc }))
}

/// Writes an object (a new one or over an existing one), stamped `now`; returns the object
/// it replaced.
pub async fn put_object(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
    doc: &ObjectDoc,
    now: DateTime<Utc>,
) -> S3Result<Option<Object>> {
    let previous = find_object(db, bucket, key).await?;
    let name_key = object_key(bucket.name(), key);
    let e = Entity {
        account_id: bucket.owner().to_string(),
        kind: OBJECT.to_string(),
        name: key.to_string(),
        name_key: name_key.clone(),
        id: format!("s3:object/{name_key}"),
        path: name_key.clone(),
        arn: object_arn(bucket.partition(), bucket.name(), key),
        created_at: now,
        updated_at: now,
        doc: entity::to_text(doc)?,
    };
    match &previous {
        Some(_) => db.entities().update(&name_key, &e).await?,
        None => db.entities().create(&e).await?,
    }
    Ok(previous)
}

/// Saves the changed document of an object or noncurrent version (its ACL, retention, legal
/// hold), keeping its times: such changes are not writes of its content.
pub async fn save_version(db: &mut Db<'_>, object: &Object) -> S3Result<()> {
    let mut e = object.entity.clone();
    e.doc = entity::to_text(&object.doc)?;
    let key = e.name_key.clone();
    db.entities().update(&key, &e).await?;
    Ok(())
}

/// Deletes an object; returns it, or `None` when there was none.
pub async fn delete_object(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
) -> S3Result<Option<Object>> {
    let Some(found) = find_object(db, bucket, key).await? else {
        return Ok(None);
    };
    db.entities()
        .delete(bucket.owner(), OBJECT, &found.entity.name_key)
        .await?;
    Ok(Some(found))
}

/// Objects whose key starts with `prefix`, in key order after `after` (a key), at most `limit`.
pub async fn list_objects(
    db: &mut Db<'_>,
    bucket: &Bucket,
    prefix: &str,
    after: Option<&str>,
    limit: u32,
) -> S3Result<(Vec<Object>, bool)> {
    let after_key = after.map(|a| object_key(bucket.name(), a));
    list_kind(db, bucket, OBJECT, prefix, after_key.as_deref(), limit).await
}

/// Entities of `kind` in the bucket whose key starts with `prefix`, in store-key order after
/// `after` (a store key), at most `limit`.
async fn list_kind(
    db: &mut Db<'_>,
    bucket: &Bucket,
    kind: &str,
    prefix: &str,
    after: Option<&str>,
    limit: u32,
) -> S3Result<(Vec<Object>, bool)> {
    let page = db
        .entities()
        .list(
            bucket.owner(),
            kind,
            &object_key(bucket.name(), prefix),
            after,
            limit,
        )
        .await?;
    let mut out = Vec::with_capacity(page.items.len());
    for e in page.items {
        let doc = entity::read_doc(&e)?;
        out.push(Object { entity: e, doc });
    }
    Ok((out, page.truncated))
}

/// Whether the bucket holds any object, version or delete marker.
pub async fn has_objects(db: &mut Db<'_>, bucket: &Bucket) -> S3Result<bool> {
    let (objects, _) = list_objects(db, bucket, "", None, 1).await?;
    Ok(!objects.is_empty() || has_versions(db, bucket).await?)
}

/// A fresh version id: newer ids sort first (the complement of the time in nanoseconds, then
/// random digits).
pub fn new_version_id(now: DateTime<Utc>) -> String {
    let nanos = now.timestamp_nanos_opt().unwrap_or_default().max(0) as u64;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{:016x}{}",
        u64::MAX - nanos,
        random.get(..16).unwrap_or_default()
    )
}

/// Whether a version id is one this store could have issued (`null` or a generated id).
pub fn is_version_id(id: &str) -> bool {
    id == NULL_VERSION || (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn version_key(bucket: &str, key: &str, version: &str) -> String {
    format!("{bucket}/{key}\u{0}{version}")
}

/// Keeps `object` as a noncurrent version.
pub async fn archive(db: &mut Db<'_>, bucket: &Bucket, object: &Object) -> S3Result<()> {
    let name_key = version_key(bucket.name(), object.key(), object.doc.version());
    let e = Entity {
        kind: VERSION.to_string(),
        name_key: name_key.clone(),
        id: format!("s3:version/{name_key}"),
        path: name_key,
        ..object.entity.clone()
    };
    match db.entities().create(&e).await {
        Ok(()) => Ok(()),
        // An older noncurrent `null` version: the newer one replaces it (its blobs are
        // released by the caller, who found it first).
        Err(StoreError::AlreadyExists(_)) => {
            db.entities().update(&e.name_key, &e).await?;
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// The noncurrent version `version` of `key`, if any.
pub async fn find_version(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
    version: &str,
) -> S3Result<Option<Object>> {
    let name_key = version_key(bucket.name(), key, version);
    let Some(e) = db
        .entities()
        .get(bucket.owner(), VERSION, &name_key)
        .await?
    else {
        return Ok(None);
    };
    let doc = entity::read_doc(&e)?;
    Ok(Some(Object { entity: e, doc }))
}

/// Deletes a noncurrent version.
pub async fn delete_version(db: &mut Db<'_>, bucket: &Bucket, object: &Object) -> S3Result<()> {
    db.entities()
        .delete(bucket.owner(), VERSION, &object.entity.name_key)
        .await?;
    Ok(())
}

/// The newest noncurrent version of `key`, if any.
pub async fn newest_version(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
) -> S3Result<Option<Object>> {
    let prefix = format!("{}/{key}\u{0}", bucket.name());
    let page = db
        .entities()
        .list(bucket.owner(), VERSION, &prefix, None, 1)
        .await?;
    match page.items.into_iter().next() {
        Some(e) => {
            let doc = entity::read_doc(&e)?;
            Ok(Some(Object { entity: e, doc }))
        }
        None => Ok(None),
    }
}

/// Noncurrent versions whose key starts with `prefix`, in store-key order after `after` (a
/// store key), at most `limit`.
pub async fn list_versions(
    db: &mut Db<'_>,
    bucket: &Bucket,
    prefix: &str,
    after: Option<&str>,
    limit: u32,
) -> S3Result<(Vec<Object>, bool)> {
    list_kind(db, bucket, VERSION, prefix, after, limit).await
}

/// Whether the bucket holds any noncurrent version.
pub async fn has_versions(db: &mut Db<'_>, bucket: &Bucket) -> S3Result<bool> {
    let (versions, _) = list_versions(db, bucket, "", None, 1).await?;
    Ok(!versions.is_empty())
}

/// What writing a key's current version displaced.
#[derive(Debug, Default)]
pub struct Displaced {
    /// Blobs no version references any more.
    pub released: Vec<String>,
}

/// Writes `doc` as the current version of `key` under the bucket's versioning: a new version
/// id while versioning is on (the previous current version kept as noncurrent), `null` while
/// it is suspended (replacing a `null` current version), none while it was never on
/// (replacing the object). Sets `doc.version_id`.
pub async fn write_current(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
    doc: &mut ObjectDoc,
    now: DateTime<Utc>,
) -> S3Result<Displaced> {
    let previous = find_object(db, bucket, key).await?;
    let mut displaced = Displaced::default();
    doc.version_id = match bucket.doc.versioning.as_deref() {
        None => None,
        Some("Enabled") => Some(new_version_id(now)),
        Some(_) => Some(NULL_VERSION.to_string()),
    };
    if let Some(prev) = &previous {
        let replaced = doc.version_id.is_none() || prev.doc.version() == doc.version();
        if replaced {
            displaced.released = prev.blobs();
        } else {
            if prev.doc.version() == NULL_VERSION {
                if let Some(old) = find_version(db, bucket, key, NULL_VERSION).await? {
                    displaced.released.extend(old.blobs());
                }
            }
            archive(db, bucket, prev).await?;
        }
    }
    // A key has one `null` version: a new one (or a current `null` version just archived over
    // an older noncurrent one) replaces it.
    let null_written = doc.version() == NULL_VERSION && doc.version_id.is_some();
    if null_written {
        if let Some(old) = find_version(db, bucket, key, NULL_VERSION).await? {
            displaced.released.extend(old.blobs());
            delete_version(db, bucket, &old).await?;
        }
    }
    put_object(db, bucket, key, doc, now).await?;
    Ok(displaced)
}
