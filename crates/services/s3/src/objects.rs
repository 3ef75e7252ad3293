//! Objects: `PutObject`, `GetObject`, `HeadObject`, `DeleteObject`, `DeleteObjects`,
//! `CopyObject` and object tags.
//!
//! The bytes of a `PutObject` arrive staged by the pipeline (verified and durable); the handler
//! records them and the object becomes visible when its transaction commits. A read hands the
//! pipeline the stretch of blobs to stream.

use std::collections::BTreeMap;

use base64::Engine as _;
use rampart_kit::{
    authz::AuthzQuestion,
    blob_cipher::BlobKey,
    context::{CallContext, Preparation},
    db::Db,
    payload::{OutboundBody, Segment},
};
use serde_json::{json, Map, Value};

use crate::{
    authz,
    buckets::{tag_list, tag_set},
    conditions::{self, Preconditions},
    error::{S3Error, S3Result},
    input::{bucket_name, key, opt_nonempty, opt_time},
    names::check_key,
    repo::{self, Bucket, Object, ObjectDoc, Piece, StoredChecksum},
    sse::{self, Sse},
    versioning,
};

/// The standard headers stored with an object, by member name.
pub const STORED_HEADERS: [&str; 7] = [
    "ContentType",
    "ContentEncoding",
    "ContentDisposition",
    "ContentLanguage",
    "CacheControl",
    "Expires",
    "WebsiteRedirectLocation",
];

/// The content type S3 gives an object stored without one.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// The stored headers of an input.
pub fn headers_of(input: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for name in STORED_HEADERS {
        if let Some(v) = input.get(name).filter(|v| !v.is_null()) {
            out.insert(name.to_string(), v.clone());
        }
    }
    out.entry("ContentType".to_string())
        .or_insert_with(|| json!(DEFAULT_CONTENT_TYPE));
    out
}

/// The user metadata of an input (`Metadata`, names lowercased as S3 stores them).
pub fn metadata_of(input: &Value) -> BTreeMap<String, String> {
    input
        .get("Metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The tags of an `x-amz-tagging` header (a query string: `k1=v1&k2=v2`).
pub fn tags_of_header(input: &Value) -> S3Result<BTreeMap<String, String>> {
    let Some(text) = opt_nonempty(input, "Tagging") else {
        return Ok(BTreeMap::new());
    };
    let mut set = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        set.push(json!({ "Key": form_decode(k), "Value": form_decode(v) }));
    }
    tag_set(&json!({ "Tagging": { "TagSet": set } }))
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The digest `Content-MD5` gives (base64 of 16 bytes), if any; a value that is not one is
/// `InvalidDigest`, known before the body is read.
pub fn content_md5(input: &Value) -> S3Result<Option<[u8; 16]>> {
    let Some(given) = opt_nonempty(input, "ContentMD5") else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(given)
        .ok()
        .and_then(|d| <[u8; 16]>::try_from(d.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| S3Error::InvalidDigest("The Content-MD5 you specified was invalid.".into()))
}

/// Checks `Content-MD5` (base64 of the digest) against the body's digest.
pub fn check_content_md5(input: &Value, md5: &[u8; 16]) -> S3Result<()> {
    match content_md5(input)? {
        Some(given) if given != *md5 => Err(S3Error::BadDigest(
            "The Content-MD5 you specified did not match what we received.".into(),
        )),
        _ => Ok(()),
    }
}

/// The checksum members of an output (`ChecksumCRC32`, ...), for the algorithms stored.
fn checksum_members(out: &mut Map<String, Value>, checksums: &[StoredChecksum]) {
    for c in checksums {
        out.insert(format!("Checksum{}", c.algorithm), json!(c.value));
    }
}

/// Conditional writes: `If-None-Match: *` refuses to overwrite, `If-Match` needs the current
/// ETag.
fn check_write_conditions(input: &Value, existing: Option<&Object>) -> S3Result<()> {
    if let Some(none_match) = opt_nonempty(input, "IfNoneMatch") {
        if none_match.trim() != "*" {
            return Err(S3Error::NotImplemented(
                "A header you provided implies functionality that is not implemented".into(),
            ));
        }
        if existing.is_some() {
            return Err(S3Error::precondition());
        }
    }
    if let Some(if_match) = opt_nonempty(input, "IfMatch") {
        match existing {
            Some(o) if if_match.trim().trim_matches('"') == o.doc.etag => {}
            Some(_) => return Err(S3Error::precondition()),
            None => return Err(S3Error::no_key()),
        }
    }
    Ok(())
}

/// `PutObject`.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let key = key(input)?;
    check_key(key)?;
    let staged = ctx.payload.inbound().ok_or_else(|| {
        tracing::error!("PutObject reached its handler without a staged body");
        S3Error::internal()
    })?;
    check_content_md5(input, &staged.md5)?;
    let existing = repo::find_object(&mut db, &bucket, key).await?;
    check_write_conditions(input, existing.as_ref())?;
    let checksums: Vec<StoredChecksum> = staged.checksums.iter().map(Into::into).collect();
    let sse = prepared_sse(ctx)?;
    let (owner, acl) = crate::ownership::object_acl_at_write(input, ctx, &bucket, &mut db).await?;
    let (retention, legal_hold) = crate::object_lock::at_write(input, &bucket, ctx.now)?;
    let locked = retention.is_some() || legal_hold.is_some();
    crate::object_lock::check_integrity(locked, input, !staged.checksums.is_empty())?;
    let doc = ObjectDoc {
        size: staged.len,
        etag: hex::encode(staged.md5),
        headers: headers_of(input),
        metadata: metadata_of(input),
        tags: tags_of_header(input)?,
        checksums: checksums.clone(),
        pieces: vec![Piece {
            blob: staged.blob.clone(),
            len: staged.len,
        }],
        parts_count: None,
        sse: Some(sse),
        owner,
        acl,
        retention,
        legal_hold,
        ..ObjectDoc::default()
    };
    let mut doc = doc;
    release(
        ctx,
        repo::write_current(&mut db, &bucket, key, &mut doc, ctx.now).await?,
    );
    ctx.payload.adopt_inbound();
    let mut out = Map::new();
    out.insert("ETag".into(), json!(format!("\"{}\"", doc.etag)));
    expiration_member(&bucket, key, &doc, ctx.now, &mut out);
    checksum_members(&mut out, &checksums);
    sse::describe(doc.sse.as_ref(), &mut out);
    version_member(&doc, &mut out);
    Ok(Value::Object(out))
}

/// Notes the blobs a write left unreferenced, removed once the call commits.
pub fn release(ctx: &CallContext, displaced: repo::Displaced) {
    for blob in displaced.released {
        ctx.payload.release_after_commit(blob);
    }
}

/// `VersionId` of an output, once the bucket's versioning was ever enabled.
pub fn version_member(doc: &ObjectDoc, out: &mut Map<String, Value>) {
    if let Some(v) = &doc.version_id {
        out.insert("VersionId".into(), json!(v));
    }
}

/// The encryption a write's preparation chose.
#[derive(Debug, Clone)]
pub struct PreparedSse(pub Sse);

/// The encryption chosen by the call's preparation.
pub fn prepared_sse(ctx: &CallContext) -> S3Result<Sse> {
    ctx.prepared
        .as_ref()
        .and_then(|p| p.get::<PreparedSse>())
        .map(|p| p.0.clone())
        .ok_or_else(|| {
            tracing::error!("an S3 write reached its handler without its encryption");
            S3Error::internal()
        })
}

/// Prepares `PutObject` (before its body is read): chooses the encryption and makes the data
/// key the pipeline seals the body with.
pub async fn prepare_put(
    _op: crate::Op,
    input: &Value,
    ctx: &CallContext,
    store: &rampart_store::Store,
) -> S3Result<Option<Preparation>> {
    let bucket = repo::bucket(&mut Db::Read(store), bucket_name(input)?).await?;
    let key = key(input)?;
    check_key(key)?;
    // A malformed digest is refused before a data key (and maybe the account's `aws/s3` key,
    // made on first use) is made for a body that cannot be stored.
    content_md5(input)?;
    let wanted = sse::wanted(input, bucket.doc.encryption.as_ref())?;
    let (sse, data_key) =
        sse::new_key(&wanted, store, ctx, bucket.owner(), bucket.name(), key).await?;
    ctx.payload.set_sealing_key(data_key);
    Ok(Some(Preparation::new(move || Ok(PreparedSse(sse)))))
}

/// The conditional headers of a read.
fn preconditions(input: &Value) -> Preconditions<'_> {
    Preconditions {
        if_match: opt_nonempty(input, "IfMatch"),
        if_none_match: opt_nonempty(input, "IfNoneMatch"),
        if_modified_since: opt_time(input, "IfModifiedSince"),
        if_unmodified_since: opt_time(input, "IfUnmodifiedSince"),
    }
}

/// The members `GetObject` and `HeadObject` share.
fn described(o: &Object, input: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("AcceptRanges".into(), json!("bytes"));
    out.insert("LastModified".into(), json!(o.last_modified().timestamp()));
    out.insert("ETag".into(), json!(o.quoted_etag()));
    for (k, v) in &o.doc.headers {
        out.insert(k.clone(), v.clone());
    }
    if !o.doc.metadata.is_empty() {
        out.insert("Metadata".into(), json!(o.doc.metadata));
    }
    if !o.doc.tags.is_empty() {
        out.insert("TagCount".into(), json!(o.doc.tags.len()));
    }
    sse::describe(o.doc.sse.as_ref(), &mut out);
    version_member(&o.doc, &mut out);
    crate::object_lock::describe(&o.doc, &mut out);
    if let Some(n) = o.doc.parts_count {
        out.insert("PartsCount".into(), json!(n));
    }
    // A checksum covers the whole object: a range gets none, as in S3.
    if opt_nonempty(input, "ChecksumMode") == Some("ENABLED")
        && opt_nonempty(input, "Range").is_none()
    {
        checksum_members(&mut out, &o.doc.checksums);
    }
    // Response-header overrides (`response-content-type`, ...), as presigned downloads use.
    for (member, header) in [
        ("ResponseContentType", "ContentType"),
        ("ResponseContentLanguage", "ContentLanguage"),
        ("ResponseExpires", "Expires"),
        ("ResponseCacheControl", "CacheControl"),
        ("ResponseContentDisposition", "ContentDisposition"),
        ("ResponseContentEncoding", "ContentEncoding"),
    ] {
        if let Some(v) = input.get(member).filter(|v| !v.is_null()) {
            out.insert(header.into(), v.clone());
        }
    }
    out
}

/// The object a read names, its preconditions checked, and its bucket.
async fn readable(input: &Value, db: &mut Db<'_>) -> S3Result<(Bucket, Object)> {
    let bucket = repo::bucket(db, bucket_name(input)?).await?;
    let object =
        versioning::readable(db, &bucket, key(input)?, versioning::version_of(input)).await?;
    conditions::check(
        &preconditions(input),
        &object.doc.etag,
        object.last_modified().timestamp(),
    )?;
    Ok((bucket, object))
}

/// `Expiration` (`x-amz-expiration`) of a current version a lifecycle rule will expire.
fn expiration_member(
    bucket: &Bucket,
    key: &str,
    doc: &ObjectDoc,
    created: chrono::DateTime<chrono::Utc>,
    out: &mut Map<String, Value>,
) {
    if let Some(header) = crate::lifecycle::expiration_header(bucket, key, doc, created) {
        out.insert("Expiration".into(), json!(header));
    }
}

/// The blob stretches holding bytes `first..=last` of an object.
pub fn segments(pieces: &[Piece], first: u64, len: u64, key: Option<&BlobKey>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut start = 0u64;
    let end = first.saturating_add(len);
    for p in pieces {
        let p_end = start + p.len;
        if p_end > first && start < end {
            let from = first.max(start);
            let to = end.min(p_end);
            out.push(Segment {
                blob: p.blob.clone(),
                offset: from - start,
                len: to - from,
                key: key.cloned(),
            });
        }
        start = p_end;
    }
    out
}

/// `GetObject` and `HeadObject` (`send_body` false): the object's headers, and for a get the
/// stretch of blobs the pipeline streams (a `Range` gives `206` with `Content-Range`).
async fn read(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    send_body: bool,
) -> S3Result<Value> {
    let (bucket, object) = readable(input, &mut db).await?;
    let Db::Read(store) = db else {
        return Err(S3Error::internal());
    };
    // A get opens the data key (SSE-KMS: KMS `Decrypt` for the caller); a head does not.
    let data_key = match (&object.doc.sse, send_body) {
        (Some(sse), true) => {
            Some(sse::open_key(sse, store, ctx, bucket_name(input)?, object.key()).await?)
        }
        _ => None,
    };
    let size = object.doc.size;
    let range = conditions::range(opt_nonempty(input, "Range"), size)?;
    let mut out = described(&object, input);
    // The header is for the current version only (kept as an `s3:object` entity).
    if object.entity.kind == repo::OBJECT {
        expiration_member(
            &bucket,
            object.key(),
            &object.doc,
            object.last_modified(),
            &mut out,
        );
    }
    let (first, len) = match range {
        Some(r) => {
            out.insert("ContentRange".into(), json!(r.content_range(size)));
            (r.first, r.len())
        }
        None => (0, size),
    };
    out.insert("ContentLength".into(), json!(len));
    let body = OutboundBody {
        segments: if send_body {
            segments(&object.doc.pieces, first, len, data_key.as_ref())
        } else {
            Vec::new()
        },
        partial: range.is_some(),
    };
    ctx.payload.set_outbound(body);
    Ok(Value::Object(out))
}

/// `GetObject`.
pub async fn get(input: &Value, ctx: &CallContext, db: Db<'_>) -> S3Result<Value> {
    read(input, ctx, db, true).await
}

/// `HeadObject`.
pub async fn head(input: &Value, ctx: &CallContext, db: Db<'_>) -> S3Result<Value> {
    read(input, ctx, db, false).await
}

/// `DeleteObject`: deleting a key that does not exist succeeds, as in S3.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let version = versioning::version_of(input);
    let out = versioning::delete(input, key(input)?, version, ctx, &mut db, &bucket).await?;
    Ok(Value::Object(out))
}

/// The most keys one `DeleteObjects` may name.
const MAX_DELETE_KEYS: usize = 1000;

/// `DeleteObjects`: each key is authorized on its own (`s3:DeleteObject` on its ARN) through
/// the one authorizer; a refused key is reported in `Errors` while the others are deleted.
pub async fn delete_many(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let objects = input
        .pointer("/Delete/Objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if objects.is_empty() || objects.len() > MAX_DELETE_KEYS {
        return Err(S3Error::MalformedXML(
            "The XML you provided was not well-formed or did not validate against our published schema".into(),
        ));
    }
    let quiet = input
        .pointer("/Delete/Quiet")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for o in &objects {
        let Some(k) = o["Key"].as_str() else { continue };
        let action = if o.get("VersionId").is_some() {
            "s3:DeleteObjectVersion"
        } else {
            "s3:DeleteObject"
        };
        let caller = ctx.principal.account_id.as_str();
        let question: AuthzQuestion =
            authz::object_request(action, &bucket, k, None, caller, Vec::new()).into();
        if ctx.authorizer.authorize(ctx, &question).await.is_err() {
            errors.push(json!({ "Key": k, "Code": "AccessDenied", "Message": "Access Denied" }));
            continue;
        }
        let version = o.get("VersionId").and_then(Value::as_str);
        let done = match versioning::delete(input, k, version, ctx, &mut db, &bucket).await {
            Ok(done) => done,
            Err(e @ (S3Error::AccessDenied(_) | S3Error::InvalidArgument(_))) => {
                let err = rampart_kit::ServiceError::from(e);
                errors.push(json!({ "Key": k, "Code": err.code, "Message": err.message }));
                continue;
            }
            Err(e) => return Err(e),
        };
        if !quiet {
            let mut entry = Map::new();
            entry.insert("Key".into(), json!(k));
            if let Some(v) = version {
                entry.insert("VersionId".into(), json!(v));
            }
            if done.get("DeleteMarker").is_some() {
                entry.insert("DeleteMarker".into(), json!(true));
                if version.is_none() {
                    if let Some(v) = done.get("VersionId") {
                        entry.insert("DeleteMarkerVersionId".into(), v.clone());
                    }
                }
            }
            deleted.push(Value::Object(entry));
        }
    }
    let mut out = Map::new();
    if !deleted.is_empty() {
        out.insert("Deleted".into(), Value::Array(deleted));
    }
    if !errors.is_empty() {
        out.insert("Errors".into(), Value::Array(errors));
    }
    Ok(Value::Object(out))
}

/// The object of a tagging call.
async fn tagged(input: &Value, db: &mut Db<'_>) -> S3Result<(repo::Bucket, Object)> {
    let bucket = repo::bucket(db, bucket_name(input)?).await?;
    let object = repo::find_object(db, &bucket, key(input)?)
        .await?
        .ok_or_else(S3Error::no_key)?;
    Ok((bucket, object))
}

/// `PutObjectTagging`.
pub async fn put_tagging(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (bucket, mut object) = tagged(input, &mut db).await?;
    object.doc.tags = tag_set(input)?;
    let key = object.key().to_string();
    // Tags change no content: the last-modified time stays.
    repo::put_object(&mut db, &bucket, &key, &object.doc, object.last_modified()).await?;
    let _ = ctx;
    Ok(json!({}))
}

/// `GetObjectTagging`.
pub async fn get_tagging(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (_, object) = tagged(input, &mut db).await?;
    Ok(json!({ "TagSet": tag_list(&object.doc.tags) }))
}

/// `DeleteObjectTagging`.
pub async fn delete_tagging(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let (bucket, mut object) = tagged(input, &mut db).await?;
    object.doc.tags.clear();
    let key = object.key().to_string();
    repo::put_object(&mut db, &bucket, &key, &object.doc, object.last_modified()).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_exactly_the_range() {
        let pieces = vec![
            Piece {
                blob: "a".into(),
                len: 10,
            },
            Piece {
                blob: "b".into(),
                len: 10,
            },
            Piece {
                blob: "c".into(),
                len: 5,
            },
        ];
        let s = segments(&pieces, 5, 10, None);
        assert_eq!(
            s,
            vec![
                Segment {
                    blob: "a".into(),
                    offset: 5,
                    len: 5,
                    key: None
                },
                Segment {
                    blob: "b".into(),
                    offset: 0,
                    len: 5,
                    key: None
                },
            ]
        );
        let all = segments(&pieces, 0, 25, None);
        assert_eq!(all.iter().map(|s| s.len).sum::<u64>(), 25);
        assert_eq!(
            segments(&pieces, 24, 1, None),
            vec![Segment {
                blob: "c".into(),
                offset: 4,
                len: 1,
                key: None
            }]
        );
        assert!(segments(&pieces, 0, 0, None).is_empty());
    }

    #[test]
    fn tagging_headers_decode_as_forms() {
        let tags = tags_of_header(&json!({ "Tagging": "a=1&b%20c=x+y" })).expect("tags");
        assert_eq!(tags.get("a").map(String::as_str), Some("1"));
        assert_eq!(tags.get("b c").map(String::as_str), Some("x y"));
    }
}
