//! `CopyObject`: the source's bytes are copied into a new blob before the write transaction
//! (a [`Preparation`], on a blocking thread), then recorded under the destination key like
//! an upload. Metadata and tags are copied or replaced as the directives say.

use std::io::{Read, Seek, SeekFrom, Write};

use md5::{Digest, Md5};
use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    payload::{BlobStore, StagedBody},
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
    objects::{headers_of, metadata_of, tags_of_header},
    repo::{self, ObjectDoc, Piece, StoredChecksum},
    Op,
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

/// Plans the copy: checks the source and the directives, then copies the bytes into a new
/// blob that the call's payload holds as its staged upload.
pub async fn prepare(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> S3Result<Option<Preparation>> {
    let (src_bucket, src_key) = copy_source(input).ok_or_else(|| {
        S3Error::argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    })?;
    let dest_bucket = bucket_name(input)?;
    let dest_key = key(input)?;
    check_key(dest_key)?;
    let mut db = Db::Read(store);
    let source_bucket = repo::bucket(&mut db, &src_bucket).await?;
    let source = repo::find_object(&mut db, &source_bucket, &src_key)
        .await?
        .ok_or_else(S3Error::no_key)?;
    let replace_meta = replaces(input, "MetadataDirective")?;
    replaces(input, "TaggingDirective")?;
    if src_bucket == dest_bucket && src_key == dest_key && !replace_meta {
        return Err(S3Error::InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into()));
    }
    conditions::check(
        &source_preconditions(input),
        &source.doc.etag,
        source.last_modified().timestamp(),
    )
    .map_err(|e| match e {
        S3Error::NotModified(_) => S3Error::precondition(),
        other => other,
    })?;
    let payload = ctx.payload.clone();
    let blobs = payload.blobs().ok_or_else(|| {
        tracing::error!("CopyObject without a blob store");
        S3Error::internal()
    })?;
    let pieces = source.doc.pieces.clone();
    Ok(Some(Preparation::new(move || {
        let staged = copy_pieces(&blobs, &pieces).map_err(|err| {
            tracing::error!(error = %err, "copying an object's bytes failed");
            ServiceError::from(S3Error::internal())
        })?;
        payload.set_inbound(staged);
        Ok(())
    })))
}

/// Copies the pieces into one new durable blob, hashing as it goes.
pub fn copy_pieces(blobs: &BlobStore, pieces: &[Piece]) -> std::io::Result<StagedBody> {
    let id = BlobStore::new_id();
    std::fs::create_dir_all(blobs.dir_of(&id))?;
    let partial = blobs.partial_path_of(&id);
    let mut out = std::fs::File::create(&partial)?;
    let mut md5 = Md5::new();
    let mut len = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for p in pieces {
        let mut src = std::fs::File::open(blobs.path_of(&p.blob))?;
        src.seek(SeekFrom::Start(0))?;
        let mut left = p.len;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let chunk = buf.get_mut(..want).unwrap_or_default();
            let n = src.read(chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "blob shorter than recorded",
                ));
            }
            let got = chunk.get(..n).unwrap_or_default();
            md5.update(got);
            out.write_all(got)?;
            left -= n as u64;
            len += n as u64;
        }
    }
    out.sync_all()?;
    drop(out);
    std::fs::rename(&partial, blobs.path_of(&id))?;
    std::fs::File::open(blobs.dir_of(&id))?.sync_all()?;
    Ok(StagedBody {
        blob: id,
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
    let source = repo::find_object(&mut db, &source_bucket, &src_key)
        .await?
        .ok_or_else(S3Error::no_key)?;
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
    let doc = ObjectDoc {
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
    };
    let previous = repo::put_object(&mut db, &bucket, dest_key, &doc, ctx.now).await?;
    ctx.payload.adopt_inbound();
    if let Some(old) = previous {
        old.blobs()
            .into_iter()
            .for_each(|b| ctx.payload.release_after_commit(b));
    }
    Ok(json!({
        "CopyObjectResult": {
            "ETag": format!("\"{}\"", doc.etag),
            "LastModified": ctx.now.timestamp(),
        }
    }))
}
