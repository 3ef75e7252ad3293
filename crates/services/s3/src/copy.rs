//! `CopyObject`: the source's bytes are copied into a new blob before the write transaction
//! (a [`Preparation`], on a blocking thread), then recorded under the destination key like
//! an upload. Metadata and tags are copied or replaced as the directives say.

use std::io::{Read, Seek, SeekFrom, Write};

use md5::{Digest, Md5};
use rampart_kit::{
    blob_cipher::{BlobCipher, BlobKey, SEGMENT, TAG},
    context::{CallContext, Preparation},
    db::Db,
    payload::{BlobStore, Segment, StagedBody},
    ServiceError,
};
use rampart_store::Store;
use serde_json::{json, Value};

use crate::{
    authz::copy_source,
    conditions::{self, Preconditions},
    error::{S3Error, S3Result},
    input::{bucket_name, key, opt_nonempty, opt_time},
    names::check_key,
    objects::{
        headers_of, metadata_of, prepared_sse, release, segments, tags_of_header, version_member,
        PreparedSse,
    },
    repo::{self, ObjectDoc, Piece, StoredChecksum},
    sse, Op,
};

/// The copy's preconditions (`x-amz-copy-source-if-*`), on the source.
fn source_preconditions(input: &Value) -> Preconditions<'_> {
    Preconditions {
        if_match: opt_nonempty(input, "CopySourceIfMatch"),
        if_none_match: opt_nonempty(input, "CopySourceIfNoneMatch"),
        if_modified_since: opt_time(input, "CopySourceIfModifiedSince"),
        if_unmodified_since: opt_time(input, "CopySourceIfUnmodifiedSince"),
    }
}

fn replaces(input: &Value, member: &str) -> S3Result<bool> {
    match opt_nonempty(input, member) {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(other) => Err(S3Error::argument(format!("Unknown {member}: {other}"))),
    }
}

/// The object a copy reads: the object (the current version; a delete
/// marker is `NoSuchKey`), its `x-amz-copy-source-if-*` preconditions checked, and its data
/// key opened for the caller.
struct Source {
    object: repo::Object,
    data_key: Option<BlobKey>,
}

async fn checked_source(input: &Value, ctx: &CallContext, store: &Store) -> S3Result<Source> {
    let (bucket, key) = copy_source(input).ok_or_else(|| {
        S3Error::argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    })?;
    let mut db = Db::Read(store);
    let source_bucket = repo::bucket(&mut db, &bucket).await?;
    let object = crate::versioning::readable(&mut db, &source_bucket, &key, None)
        .await
        .map_err(|e| match e {
            S3Error::MethodNotAllowed(_) => S3Error::no_key(),
            other => other,
        })?;
    conditions::check(
        &source_preconditions(input),
        &object.doc.etag,
        object.last_modified().timestamp(),
    )
    .map_err(|e| match e {
        S3Error::NotModified(_) => S3Error::precondition(),
        other => other,
    })?;
    let data_key = match &object.doc.sse {
        Some(sse) => Some(sse::open_key(sse, store, ctx, &bucket, &key).await?),
        None => None,
    };
    Ok(Source { object, data_key })
}

/// Plans the copy: checks the source and the directives, then copies the bytes into a new
/// blob that the call's payload holds as its staged upload.
pub async fn prepare(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> S3Result<Option<Preparation>> {
    let dest_bucket = bucket_name(input)?;
    let dest_key_name = key(input)?;
    check_key(dest_key_name)?;
    let replace_meta = replaces(input, "MetadataDirective")?;
    replaces(input, "TaggingDirective")?;
    if copy_source(input).is_some_and(|(b, k)| b == dest_bucket && k == dest_key_name)
        && !replace_meta
    {
        return Err(S3Error::InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into()));
    }
    let source = checked_source(input, ctx, store).await?;
    let mut db = Db::Read(store);
    let payload = ctx.payload.clone();
    let blobs = payload.blobs().ok_or_else(|| {
        tracing::error!("CopyObject without a blob store");
        S3Error::internal()
    })?;
    let dest = repo::bucket(&mut db, dest_bucket).await?;
    let wanted = sse::wanted(input, dest.doc.encryption.as_ref())?;
    let (dest_sse, dest_key) = sse::new_key(
        &wanted,
        store,
        ctx,
        dest.owner(),
        dest.name(),
        dest_key_name,
    )
    .await?;
    let stretches = segments(
        &source.object.doc.pieces,
        0,
        source.object.doc.size,
        source.data_key.as_ref(),
    );
    Ok(Some(Preparation::new(move || {
        let staged = copy_stretches(&blobs, &stretches, Some(&dest_key)).map_err(|err| {
            tracing::error!(error = %err, "copying an object's bytes failed");
            ServiceError::from(S3Error::internal())
        })?;
        payload.set_inbound(staged);
        Ok(PreparedSse(dest_sse))
    })))
}

/// Prepares `UploadPartCopy`: the source's bytes (or `CopySourceRange`) copied into a new blob
/// sealed with the upload's data key, which the handler records as the part.
pub async fn prepare_part(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> S3Result<Option<Preparation>> {
    let source = checked_source(input, ctx, store).await?;
    let size = source.object.doc.size;
    let (first, len) = match opt_nonempty(input, "CopySourceRange") {
        None => (0, size),
        Some(range) => match conditions::range(Some(range), size) {
            Ok(Some(r)) => (r.first, r.len()),
            _ => {
                return Err(S3Error::InvalidRange(
                    "The requested range is not satisfiable".into(),
                ))
            }
        },
    };
    // The upload's key: `prepare_part` of an upload opens it and leaves it in the payload.
    crate::multipart::prepare_part(_op, input, ctx, store).await?;
    let dest_key = ctx.payload.sealing_key();
    let payload = ctx.payload.clone();
    let blobs = payload.blobs().ok_or_else(S3Error::internal)?;
    let stretches = segments(
        &source.object.doc.pieces,
        first,
        len,
        source.data_key.as_ref(),
    );
    Ok(Some(Preparation::new(move || {
        let staged = copy_stretches(&blobs, &stretches, dest_key.as_ref()).map_err(|err| {
            tracing::error!(error = %err, "copying a part's bytes failed");
            ServiceError::from(S3Error::internal())
        })?;
        payload.set_inbound(staged);
        Ok(())
    })))
}

/// Copies the pieces into one new durable blob, hashing as it goes: opened with the source's
/// data key (when sealed) and sealed with the destination's.
pub fn copy_stretches(
    blobs: &BlobStore,
    stretches: &[Segment],
    dest_key: Option<&BlobKey>,
) -> std::io::Result<StagedBody> {
    let id = BlobStore::new_id();
    std::fs::create_dir_all(blobs.dir_of(&id))?;
    let partial = blobs.partial_path_of(&id);
    let result = copy_into(blobs, stretches, dest_key, &id);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn copy_into(
    blobs: &BlobStore,
    stretches: &[Segment],
    dest_key: Option<&BlobKey>,
    id: &str,
) -> std::io::Result<StagedBody> {
    let partial = blobs.partial_path_of(id);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&partial)?);
    let sealer = dest_key.map(|k| BlobCipher::new(k, id));
    let mut index = 0u64;
    let mut pending: Vec<u8> = Vec::with_capacity(SEGMENT);
    let mut md5 = Md5::new();
    let mut len = 0u64;
    let mut emit = |data: &[u8],
                    pending: &mut Vec<u8>,
                    out: &mut std::io::BufWriter<std::fs::File>,
                    last: bool|
     -> std::io::Result<()> {
        pending.extend_from_slice(data);
        let Some(cipher) = &sealer else {
            out.write_all(pending)?;
            pending.clear();
            return Ok(());
        };
        while pending.len() >= SEGMENT || (last && !pending.is_empty()) {
            let take = pending.len().min(SEGMENT);
            let mut segment: Vec<u8> = pending.drain(..take).collect();
            cipher
                .seal(index, &mut segment)
                .map_err(std::io::Error::other)?;
            index += 1;
            out.write_all(&segment)?;
        }
        Ok(())
    };
    for p in stretches {
        let mut file = std::fs::File::open(blobs.path_of(&p.blob))?;
        let opener = p.key.as_ref().map(|k| BlobCipher::new(k, &p.blob));
        // A sealed blob is read from the segment holding the first byte.
        let mut segment_index = p.offset / SEGMENT as u64;
        let mut skip = (p.offset % SEGMENT as u64) as usize;
        let start = match opener {
            Some(_) => segment_index * (SEGMENT + TAG) as u64,
            None => {
                skip = 0;
                p.offset
            }
        };
        file.seek(SeekFrom::Start(start))?;
        let mut src = std::io::BufReader::with_capacity(1 << 20, file);
        let mut left = p.len;
        while left > 0 {
            let mut chunk = match &opener {
                Some(cipher) => {
                    let mut sealed = Vec::with_capacity(SEGMENT + TAG);
                    (&mut src)
                        .take((SEGMENT + TAG) as u64)
                        .read_to_end(&mut sealed)?;
                    cipher
                        .open(segment_index, &mut sealed)
                        .map_err(std::io::Error::other)?;
                    segment_index += 1;
                    sealed.drain(..skip.min(sealed.len()));
                    skip = 0;
                    sealed
                }
                None => {
                    let want = usize::try_from(left).map_or(1 << 20, |l| l.min(1 << 20));
                    let mut buf = vec![0u8; want];
                    let n = src.read(&mut buf)?;
                    buf.truncate(n);
                    buf
                }
            };
            if chunk.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "blob shorter than recorded",
                ));
            }
            chunk.truncate(usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len())));
            md5.update(&chunk);
            left -= chunk.len() as u64;
            len += chunk.len() as u64;
            emit(&chunk, &mut pending, &mut out, false)?;
        }
    }
    emit(&[], &mut pending, &mut out, true)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, blobs.path_of(id))?;
    std::fs::File::open(blobs.dir_of(id))?.sync_all()?;
    Ok(StagedBody {
        blob: id.to_string(),
        len,
        md5: md5.finalize().into(),
        checksums: Vec::new(),
    })
}

/// `CopyObject`.
pub async fn copy(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let staged = ctx.payload.inbound().ok_or_else(|| {
        tracing::error!("CopyObject reached its handler without its copied bytes");
        S3Error::internal()
    })?;
    let (src_bucket, src_key) = copy_source(input).ok_or_else(S3Error::no_key)?;
    let source_bucket = repo::bucket(&mut db, &src_bucket).await?;
    let source = crate::versioning::readable(&mut db, &source_bucket, &src_key, None)
        .await
        .map_err(|_| S3Error::no_key())?;
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let dest_key = key(input)?;
    let (headers, metadata) = if replaces(input, "MetadataDirective")? {
        (headers_of(input), metadata_of(input))
    } else {
        (source.doc.headers.clone(), source.doc.metadata.clone())
    };
    let tags = if replaces(input, "TaggingDirective")? {
        tags_of_header(input)?
    } else {
        source.doc.tags.clone()
    };
    let (owner, acl) = crate::ownership::object_acl_at_write(input, ctx, &bucket, &mut db).await?;
    let (retention, legal_hold) = crate::object_lock::at_write(input, &bucket, ctx.now)?;
    let doc = ObjectDoc {
        owner,
        acl,
        retention,
        legal_hold,
        size: staged.len,
        etag: hex::encode(staged.md5),
        headers,
        metadata,
        tags,
        checksums: Vec::<StoredChecksum>::new(),
        pieces: vec![Piece {
            blob: staged.blob.clone(),
            len: staged.len,
        }],
        parts_count: None,
        sse: Some(prepared_sse(ctx)?),
        ..ObjectDoc::default()
    };
    let mut doc = doc;
    release(
        ctx,
        repo::write_current(&mut db, &bucket, dest_key, &mut doc, ctx.now).await?,
    );
    ctx.payload.adopt_inbound();
    let mut out = serde_json::Map::new();
    out.insert(
        "CopyObjectResult".into(),
        json!({ "ETag": format!("\"{}\"", doc.etag), "LastModified": ctx.now.timestamp() }),
    );
    sse::describe(doc.sse.as_ref(), &mut out);
    version_member(&doc, &mut out);
    Ok(Value::Object(out))
}
