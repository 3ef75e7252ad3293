//! Storage of buckets, objects and multipart uploads as store entities; object bytes are
//! blobs (see `rampart_kit::payload`) that the documents name.
//!
//! - A bucket is an entity of its owner (`s3:bucket`, keyed by name) whose id,
//!   `s3:bucket/NAME`, is unique across the store: bucket names are global, as in AWS.
//! - An object is an entity of the bucket's owner (`s3:object`) keyed by `BUCKET/KEY`, with the
//!   same text as its path so that a prefix listing is a path-prefix scan in key order.
//! - A multipart upload (`s3:upload`, keyed by upload id) and its parts (`s3:part`, keyed by
//!   `UPLOAD/PARTNUMBER` zero-padded) belong to the bucket's owner too.

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
}

/// A bucket as stored.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The entity.
    pub entity: Entity,
    /// Its settings.
    pub doc: BucketDoc,
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
    Ok(Some(Bucket { entity: e, doc }))
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
        arn: bucket_arn(name),
        created_at: now,
        updated_at: now,
        doc: entity::to_text(doc)?,
    };
    match db.entities().create(&e).await {
        Ok(()) => Ok(Some(Bucket {
            entity: e,
            doc: doc.clone(),
        })),
        Err(StoreError::AlreadyExists(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Saves a bucket's changed settings.
pub async fn save_bucket(db: &mut Db<'_>, bucket: Bucket, now: DateTime<Utc>) -> S3Result<()> {
    let Bucket { entity: e, doc } = bucket;
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
    let mut out = Vec::with_capacity(page.items.len());
    for e in page.items {
        let doc = entity::read_doc(&e)?;
        out.push(Bucket { entity: e, doc });
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
        arn: object_arn(bucket.name(), key),
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
    let path_prefix = object_key(bucket.name(), prefix);
    let after_key = after.map(|a| object_key(bucket.name(), a));
    let page = db
        .entities()
        .list(
            bucket.owner(),
            OBJECT,
            &path_prefix,
            after_key.as_deref(),
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

/// Whether the bucket holds any object.
pub async fn has_objects(db: &mut Db<'_>, bucket: &Bucket) -> S3Result<bool> {
    let (objects, _) = list_objects(db, bucket, "", None, 1).await?;
    Ok(!objects.is_empty())
}
