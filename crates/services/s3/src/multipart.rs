//! Multipart uploads: `CreateMultipartUpload`, `UploadPart`, `CompleteMultipartUpload`,
//! `AbortMultipartUpload`, `ListParts`, `ListMultipartUploads`.
//!
//! Each part is a blob staged by the pipeline; completing an upload records an object whose
//! pieces are the chosen parts' blobs (no bytes are copied), with S3's multipart ETag: the
//! MD5 of the parts' MD5 digests, then `-` and the number of parts.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    entity,
    json_field::SetField,
};
use rampart_store::Entity;
use rampart_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{
    buckets::owner,
    error::{S3Error, S3Result},
    input::{bucket_name, key, opt_nonempty},
    names::check_key,
    objects::{headers_of, metadata_of, tags_of_header},
    objects::{prepared_sse, release, version_member, PreparedSse},
    repo::{self, Bucket, ObjectDoc, Piece, StoredChecksum, PART, UPLOAD},
    sse::{self, Sse},
};

/// The smallest part other than the last: 5 MiB.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// The highest part number.
pub const MAX_PART_NUMBER: i64 = 10_000;

/// An upload in progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct UploadDoc {
    bucket: String,
    headers: BTreeMap<String, Value>,
    metadata: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    initiator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum_algorithm: Option<String>,
    /// The upload's encryption: every part is sealed with its data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sse: Option<Sse>,
    /// The object's owner when not the bucket's, and its ACL (`x-amz-acl`, `x-amz-grant-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acl: Option<crate::acl::Acl>,
    /// The object's Object Lock retention and legal hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retention: Option<crate::object_lock::Retention>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    legal_hold: Option<bool>,
}

/// A part uploaded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PartDoc {
    blob: String,
    len: u64,
    /// Hex MD5 of the part.
    etag: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<StoredChecksum>,
}

fn part_key(upload: &str, number: i64) -> String {
    format!("{upload}/{number:05}")
}

/// The upload named by `UploadId`, which must be for this bucket and key.
async fn upload(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key: &str,
    upload_id: &str,
) -> S3Result<(Entity, UploadDoc)> {
    match entity::load_doc::<UploadDoc>(db, bucket.owner(), UPLOAD, upload_id).await? {
        Some((e, doc)) if doc.bucket == bucket.name() && e.name == key => Ok((e, doc)),
        _ => Err(S3Error::no_upload()),
    }
}

/// The parts of an upload, in part-number order.
async fn parts(
    db: &mut Db<'_>,
    bucket: &Bucket,
    upload_id: &str,
) -> S3Result<Vec<(Entity, PartDoc)>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(
                bucket.owner(),
                PART,
                &format!("{upload_id}/"),
                after.as_deref(),
                1000,
            )
            .await?;
        for e in page.items {
            after = Some(e.name_key.clone());
            let doc = entity::read_doc(&e)?;
            out.push((e, doc));
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

fn part_number(e: &Entity) -> i64 {
    e.name_key
        .rsplit_once('/')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// `CreateMultipartUpload`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let key = key(input)?;
    check_key(key)?;
    let upload_id = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let (owner, acl) = crate::ownership::object_acl_at_write(input, ctx, &bucket, &mut db).await?;
    let (retention, legal_hold) = crate::object_lock::at_write(input, &bucket, ctx.now)?;
    let doc = UploadDoc {
        owner,
        acl,
        retention,
        legal_hold,
        bucket: bucket.name().to_string(),
        headers: headers_of(input),
        metadata: metadata_of(input),
        tags: tags_of_header(input)?,
        initiator: ctx.principal.arn.clone(),
        checksum_algorithm: opt_nonempty(input, "ChecksumAlgorithm").map(str::to_string),
        sse: Some(prepared_sse(ctx)?),
    };
    let e = Entity {
        account_id: bucket.owner().to_string(),
        kind: UPLOAD.to_string(),
        name: key.to_string(),
        name_key: upload_id.clone(),
        id: format!("s3:upload/{upload_id}"),
        path: repo::object_key(bucket.name(), key),
        arn: crate::names::object_arn(bucket.partition(), bucket.name(), key),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: entity::to_text(&doc)?,
    };
    db.entities().create(&e).await?;
    let mut out = Map::new();
    out.insert("Bucket".into(), json!(bucket.name()));
    out.insert("Key".into(), json!(key));
    out.insert("UploadId".into(), json!(upload_id));
    if let Some(a) = &doc.checksum_algorithm {
        out.insert("ChecksumAlgorithm".into(), json!(a));
    }
    sse::describe(doc.sse.as_ref(), &mut out);
    Ok(Value::Object(out))
}

/// `UploadPart`: the staged body becomes part `PartNumber` (replacing an earlier upload of
/// the same number).
pub async fn upload_part(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let key = key(input)?;
    let number = input.get("PartNumber").and_then(Value::as_i64).unwrap_or(0);
    if !(1..=MAX_PART_NUMBER).contains(&number) {
        return Err(S3Error::argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        ));
    }
    let upload_id = crate::input::req_str(input, "UploadId")?;
    let (_, _) = upload(&mut db, &bucket, key, upload_id).await?;
    let staged = ctx.payload.inbound().ok_or_else(|| {
        tracing::error!("UploadPart reached its handler without a staged body");
        S3Error::internal()
    })?;
    crate::objects::check_content_md5(input, &staged.md5)?;
    let doc = PartDoc {
        blob: staged.blob.clone(),
        len: staged.len,
        etag: hex::encode(staged.md5),
        checksums: staged.checksums.iter().map(Into::into).collect(),
    };
    let name_key = part_key(upload_id, number);
    let e = Entity {
        account_id: bucket.owner().to_string(),
        kind: PART.to_string(),
        name: number.to_string(),
        name_key: name_key.clone(),
        id: format!("s3:part/{name_key}"),
        path: name_key.clone(),
        arn: crate::names::object_arn(bucket.partition(), bucket.name(), key),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: entity::to_text(&doc)?,
    };
    let previous: Option<(Entity, PartDoc)> =
        entity::load_doc(&mut db, bucket.owner(), PART, &name_key).await?;
    match previous {
        Some((_, old)) => {
            db.entities().update(&name_key, &e).await?;
            ctx.payload.release_after_commit(old.blob);
        }
        None => db.entities().create(&e).await?,
    }
    ctx.payload.adopt_inbound();
    let mut out = Map::new();
    out.insert("ETag".into(), json!(format!("\"{}\"", doc.etag)));
    for c in &doc.checksums {
        out.insert(format!("Checksum{}", c.algorithm), json!(c.value));
    }
    Ok(Value::Object(out))
}

/// Prepares `CreateMultipartUpload`: chooses the encryption and makes the upload's data key.
pub async fn prepare_create(
    _op: crate::Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> S3Result<Option<Preparation>> {
    let bucket = repo::bucket(&mut Db::Read(store), bucket_name(input)?).await?;
    let key = key(input)?;
    check_key(key)?;
    let wanted = sse::wanted(input, bucket.doc.encryption.as_ref())?;
    let (sse, _) = sse::new_key(&wanted, store, ctx, bucket.owner(), bucket.name(), key).await?;
    Ok(Some(Preparation::new(move || Ok(PreparedSse(sse)))))
}

/// Prepares `UploadPart` (before its body is read): opens the upload's data key, which the
/// pipeline seals the part with (SSE-KMS: KMS `Decrypt` for the caller, as AWS requires).
pub async fn prepare_part(
    _op: crate::Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> S3Result<Option<Preparation>> {
    let mut db = Db::Read(store);
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let key = key(input)?;
    let upload_id = crate::input::req_str(input, "UploadId")?;
    let (_, up) = upload(&mut db, &bucket, key, upload_id).await?;
    if let Some(sse) = &up.sse {
        let data_key = sse::open_key(sse, store, ctx, bucket.name(), key).await?;
        ctx.payload.set_sealing_key(data_key);
    }
    Ok(None)
}

/// `UploadPartCopy`: the bytes its preparation copied become the part.
pub async fn upload_part_copy(input: &Value, ctx: &CallContext, db: Db<'_>) -> S3Result<Value> {
    let out = upload_part(input, ctx, db).await?;
    let etag = out.get("ETag").cloned().unwrap_or(Value::Null);
    Ok(json!({ "CopyPartResult": { "ETag": etag, "LastModified": ctx.now.timestamp() } }))
}

/// Removes an upload and its parts, noting the blobs to release except `keep`.
pub(crate) async fn remove_upload(
    db: &mut Db<'_>,
    ctx: &CallContext,
    bucket: &Bucket,
    upload_id: &str,
    keep: &[String],
) -> S3Result<()> {
    for (e, doc) in parts(db, bucket, upload_id).await? {
        db.entities()
            .delete(bucket.owner(), PART, &e.name_key)
            .await?;
        if !keep.contains(&doc.blob) {
            ctx.payload.release_after_commit(doc.blob);
        }
    }
    db.entities()
        .delete(bucket.owner(), UPLOAD, upload_id)
        .await?;
    Ok(())
}

/// The upload entities of the bucket whose key starts with `prefix` (name: the key,
/// `name_key`: the upload id, `created_at`: when it began).
pub(crate) async fn uploads_under(
    db: &mut Db<'_>,
    bucket: &Bucket,
    prefix: &str,
) -> S3Result<Vec<Entity>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(
                bucket.owner(),
                UPLOAD,
                &repo::object_key(bucket.name(), prefix),
                after.as_deref(),
                1000,
            )
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        out.extend(page.items);
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// `CompleteMultipartUpload`.
pub async fn complete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let key = key(input)?;
    let upload_id = crate::input::req_str(input, "UploadId")?;
    let (_, up) = upload(&mut db, &bucket, key, upload_id).await?;
    let chosen = input
        .pointer("/MultipartUpload/Parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if chosen.is_empty() {
        return Err(S3Error::MalformedXML(
            "The XML you provided was not well-formed or did not validate against our published schema".into(),
        ));
    }
    let stored: BTreeMap<i64, PartDoc> = parts(&mut db, &bucket, upload_id)
        .await?
        .into_iter()
        .map(|(e, d)| (part_number(&e), d))
        .collect();
    let invalid_part = || {
        S3Error::InvalidPart("One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.".into())
    };
    let numbers: Vec<i64> = chosen
        .iter()
        .map(|p| p["PartNumber"].as_i64().unwrap_or(0))
        .collect();
    if numbers.windows(2).any(|w| matches!(w, [a, b] if b <= a)) {
        return Err(S3Error::InvalidPartOrder(
            "The list of parts was not in ascending order. The parts list must be specified in order by part number.".into(),
        ));
    }
    let mut pieces = Vec::new();
    let mut digests = Md5::new();
    let mut size = 0u64;
    for (i, (p, &number)) in chosen.iter().zip(&numbers).enumerate() {
        let part = stored.get(&number).ok_or_else(invalid_part)?;
        let etag = p["ETag"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        if etag != part.etag {
            return Err(invalid_part());
        }
        if i + 1 < chosen.len() && part.len < MIN_PART_BYTES {
            return Err(S3Error::EntityTooSmall(
                "Your proposed upload is smaller than the minimum allowed object size.".into(),
            ));
        }
        let digest = hex::decode(&part.etag).map_err(|_| S3Error::internal())?;
        digests.update(&digest);
        size += part.len;
        pieces.push(Piece {
            blob: part.blob.clone(),
            len: part.len,
        });
    }
    let etag = format!("{}-{}", hex::encode(digests.finalize()), pieces.len());
    let doc = ObjectDoc {
        size,
        etag: etag.clone(),
        headers: up.headers,
        metadata: up.metadata,
        tags: up.tags,
        checksums: Vec::new(),
        parts_count: Some(pieces.len() as u32),
        pieces,
        sse: up.sse,
        owner: up.owner,
        acl: up.acl,
        retention: up.retention,
        legal_hold: up.legal_hold,
        ..ObjectDoc::default()
    };
    let kept: Vec<String> = doc.pieces.iter().map(|p| p.blob.clone()).collect();
    remove_upload(&mut db, ctx, &bucket, upload_id, &kept).await?;
    let mut doc = doc;
    release(
        ctx,
        repo::write_current(&mut db, &bucket, key, &mut doc, ctx.now).await?,
    );
    let mut out = Map::new();
    out.insert(
        "Location".into(),
        json!(format!("/{}/{}", bucket.name(), key)),
    );
    out.insert("Bucket".into(), json!(bucket.name()));
    out.insert("Key".into(), json!(key));
    out.insert("ETag".into(), json!(format!("\"{etag}\"")));
    sse::describe(doc.sse.as_ref(), &mut out);
    version_member(&doc, &mut out);
    Ok(Value::Object(out))
}

/// `AbortMultipartUpload`.
pub async fn abort(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let key = key(input)?;
    let upload_id = crate::input::req_str(input, "UploadId")?;
    upload(&mut db, &bucket, key, upload_id).await?;
    remove_upload(&mut db, ctx, &bucket, upload_id, &[]).await?;
    Ok(json!({}))
}

/// `ListParts`, paged by `PartNumberMarker`/`MaxParts`.
pub async fn list_parts(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let key = key(input)?;
    let upload_id = crate::input::req_str(input, "UploadId")?;
    let (_, up) = upload(&mut db, &bucket, key, upload_id).await?;
    let max = input
        .get("MaxParts")
        .and_then(Value::as_i64)
        .unwrap_or(1000)
        .clamp(0, 1000) as usize;
    let marker = input
        .get("PartNumberMarker")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(0);
    let all: Vec<(Entity, PartDoc)> = parts(&mut db, &bucket, upload_id)
        .await?
        .into_iter()
        .filter(|(e, _)| part_number(e) > marker)
        .collect();
    let truncated = all.len() > max;
    let page: Vec<Value> = all
        .iter()
        .take(max)
        .map(|(e, d)| {
            json!({
                "PartNumber": part_number(e),
                "LastModified": e.updated_at.timestamp(),
                "ETag": format!("\"{}\"", d.etag),
                "Size": d.len,
            })
        })
        .collect();
    let next = all
        .iter()
        .take(max)
        .next_back()
        .map(|(e, _)| part_number(e));
    let mut out = json!({
        "Bucket": bucket.name(),
        "Key": key,
        "UploadId": upload_id,
        "PartNumberMarker": marker,
        "MaxParts": max,
        "IsTruncated": truncated,
        "Parts": page,
        "Initiator": { "ID": up.initiator, "DisplayName": up.initiator },
        "Owner": owner(bucket.owner()),
        "StorageClass": "STANDARD",
    });
    if let Some(n) = next {
        out.set_field("NextPartNumberMarker", json!(n));
    }
    Ok(out)
}

/// `ListMultipartUploads`: the bucket's uploads in progress, by key then initiation.
pub async fn list_uploads(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let prefix = opt_nonempty(input, "Prefix").unwrap_or("");
    let max = input
        .get("MaxUploads")
        .and_then(Value::as_i64)
        .unwrap_or(1000)
        .clamp(0, 1000) as usize;
    let key_marker = opt_nonempty(input, "KeyMarker").unwrap_or("");
    let mut all = uploads_under(&mut db, &bucket, prefix).await?;
    all.retain(|e| e.name.as_str() > key_marker);
    all.sort_by(|a, b| (&a.name, a.created_at).cmp(&(&b.name, b.created_at)));
    let truncated = all.len() > max;
    all.truncate(max);
    let uploads: Vec<Value> = all
        .iter()
        .map(|e| {
            let initiator = entity::read_doc::<UploadDoc>(e)
                .map(|d| d.initiator)
                .unwrap_or_default();
            json!({
                "UploadId": e.name_key,
                "Key": e.name,
                "Initiated": e.created_at.timestamp(),
                "StorageClass": "STANDARD",
                "Owner": owner(bucket.owner()),
                "Initiator": { "ID": initiator, "DisplayName": initiator },
            })
        })
        .collect();
    let mut out = json!({
        "Bucket": bucket.name(),
        "KeyMarker": key_marker,
        "UploadIdMarker": opt_nonempty(input, "UploadIdMarker").unwrap_or(""),
        "MaxUploads": max,
        "IsTruncated": truncated,
        "Uploads": uploads,
        "Prefix": prefix,
    });
    if truncated {
        if let Some(last) = all.last() {
            out.set_field("NextKeyMarker", json!(last.name));
            out.set_field("NextUploadIdMarker", json!(last.name_key));
        }
    }
    Ok(out)
}
