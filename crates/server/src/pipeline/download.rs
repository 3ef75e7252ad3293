//! Streaming a response body out of blobs (S3 `GetObject`): the stretches the handler chose are
//! opened at once (an open file keeps its bytes even if a later write removes the blob) and
//! read in turn as the client takes them.

use std::io::SeekFrom;

use axum::body::Body;
use rampart_services::payload::{BlobStore, OutboundBody};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

/// Bytes read from disk at once.
const READ_CHUNK: usize = 256 * 1024;

/// Opens the body's stretches; an error when a blob is gone (the object changed under the
/// read) or unreadable.
pub(crate) async fn open(blobs: &BlobStore, body: &OutboundBody) -> std::io::Result<Body> {
    let mut reader: Box<dyn AsyncRead + Send + Unpin> = Box::new(tokio::io::empty());
    for s in &body.segments {
        let mut file = tokio::fs::File::open(blobs.path_of(&s.blob)).await?;
        if s.offset > 0 {
            file.seek(SeekFrom::Start(s.offset)).await?;
        }
        reader = Box::new(reader.chain(file.take(s.len)));
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK);
    Ok(Body::from_stream(stream))
}
