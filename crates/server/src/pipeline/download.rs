//! Streaming a response body out of blobs (S3 `GetObject`): the stretches the handler chose are
//! opened at once (an open file keeps its bytes even if a later write removes the blob) and
//! read in turn as the client takes them; a sealed blob is opened segment by segment (only the
//! segments the range covers), and a segment that does not authenticate ends the body with an
//! error, so a client never receives altered bytes as good ones.

use std::{collections::VecDeque, io::SeekFrom};

use axum::body::{Body, Bytes};
use rampart_services::{
    blob_cipher::{BlobCipher, SEGMENT, TAG},
    payload::{BlobStore, OutboundBody},
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes read from disk at once from a blob stored in clear.
const READ_CHUNK: usize = 256 * 1024;

/// One stretch of a blob, open.
struct Part {
    file: tokio::fs::File,
    cipher: Option<BlobCipher>,
    /// The next segment's index (sealed blobs).
    index: u64,
    /// Plaintext bytes to drop from the next segment (the range starts inside it).
    skip: usize,
    /// Plaintext bytes still to send.
    left: u64,
}

impl Part {
    /// The next bytes of the stretch, `None` when it is done.
    async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut buf = match &self.cipher {
            None => {
                let want = usize::try_from(self.left).map_or(READ_CHUNK, |l| l.min(READ_CHUNK));
                let mut buf = vec![0u8; want];
                let n = self.file.read(&mut buf).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.truncate(n);
                buf
            }
            Some(cipher) => {
                let mut sealed = Vec::with_capacity(SEGMENT + TAG);
                (&mut self.file)
                    .take((SEGMENT + TAG) as u64)
                    .read_to_end(&mut sealed)
                    .await?;
                cipher
                    .open(self.index, &mut sealed)
                    .map_err(std::io::Error::other)?;
                self.index += 1;
                sealed.drain(..self.skip.min(sealed.len()));
                self.skip = 0;
                if sealed.is_empty() {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                sealed
            }
        };
        let keep = usize::try_from(self.left).map_or(buf.len(), |l| l.min(buf.len()));
        buf.truncate(keep);
        self.left -= keep as u64;
        Ok(Some(Bytes::from(buf)))
    }
}

/// Opens the body's stretches; an error when a blob is gone (the object changed under the
/// read) or unreadable.
pub(crate) async fn open(blobs: &BlobStore, body: &OutboundBody) -> std::io::Result<Body> {
    let mut parts = VecDeque::with_capacity(body.segments.len());
    for s in &body.segments {
        let mut file = tokio::fs::File::open(blobs.path_of(&s.blob)).await?;
        let cipher = s.key.as_ref().map(|k| BlobCipher::new(k, &s.blob));
        let (index, skip, start) = match cipher {
            Some(_) => {
                let index = s.offset / SEGMENT as u64;
                let skip = (s.offset % SEGMENT as u64) as usize;
                (index, skip, index * (SEGMENT + TAG) as u64)
            }
            None => (0, 0, s.offset),
        };
        if start > 0 {
            file.seek(SeekFrom::Start(start)).await?;
        }
        parts.push_back(Part {
            file,
            cipher,
            index,
            skip,
            left: s.len,
        });
    }
    let stream = futures_util::stream::unfold(parts, |mut parts| async move {
        loop {
            let part = parts.front_mut()?;
            match part.next().await {
                Ok(Some(bytes)) => return Some((Ok::<Bytes, std::io::Error>(bytes), parts)),
                Ok(None) => {
                    parts.pop_front();
                }
                Err(err) => {
                    tracing::error!(error = %err, "object bytes unreadable; the response is cut short");
                    parts.clear();
                    return Some((Err(err), parts));
                }
            }
        }
    });
    Ok(Body::from_stream(stream))
}
