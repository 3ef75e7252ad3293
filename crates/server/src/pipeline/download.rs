//! Streaming a response body out of blobs (S3 `GetObject`): the stretches the handler chose are
//! opened at once (an open file keeps its bytes even if a later write removes the blob) and
//! read in turn as the client takes them; a sealed blob is opened segment by segment (only the
//! segments the range covers), and a segment that does not authenticate ends the body with an
//! error, so a client never receives altered bytes as good ones.
//!
//! Each step reads a batch of segments with one positioned read and opens them in place, on a
//! blocking thread: one hand-off per 256 KiB instead of several per 64 KiB segment, and the
//! decryption off the request workers.

use std::{collections::VecDeque, os::unix::fs::FileExt, sync::Arc};

use futures_util::{Stream, StreamExt};

use axum::body::{Body, Bytes};
use rampart_services::{
    blob_cipher::{BlobCipher, SEGMENT, TAG},
    payload::{BlobStore, OutboundBody},
};

/// Bytes read from disk at once from a blob stored in clear.
const READ_CHUNK: usize = 256 * 1024;
/// Segments read and opened at once from a sealed blob.
const BATCH: usize = READ_CHUNK / SEGMENT;

/// One stretch of a blob, open.
struct Part {
    /// The file (`None` only while a read is in flight).
    file: Option<std::fs::File>,
    cipher: Option<Arc<BlobCipher>>,
    /// Where the next read starts in the file.
    pos: u64,
    /// The next segment's index (sealed blobs).
    index: u64,
    /// Plaintext bytes to drop from the next segment (the range starts inside it).
    skip: usize,
    /// Plaintext bytes still to send.
    left: u64,
}

/// What one read brought: plaintext, and how far it went.
struct Read {
    plain: Vec<u8>,
    segments: u64,
    consumed: u64,
}

/// Reads up to `want` bytes at `pos`, fewer only at the end of the file.
fn read_full(file: &std::fs::File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match file.read_at(rest, pos + filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// One step of a stretch (run on a blocking thread).
fn read_step(
    file: &std::fs::File,
    cipher: Option<&BlobCipher>,
    pos: u64,
    index: u64,
    skip: usize,
    left: u64,
) -> std::io::Result<Read> {
    let Some(cipher) = cipher else {
        let want = usize::try_from(left).map_or(READ_CHUNK, |l| l.min(READ_CHUNK));
        let mut plain = vec![0u8; want];
        let n = read_full(file, &mut plain, pos)?;
        plain.truncate(n);
        return Ok(Read {
            plain,
            segments: 0,
            consumed: n as u64,
        });
    };
    let needed = usize::try_from((skip as u64 + left).div_ceil(SEGMENT as u64))
        .unwrap_or(BATCH)
        .clamp(1, BATCH);
    let mut buf = vec![0u8; needed * (SEGMENT + TAG)];
    let n = read_full(file, &mut buf, pos)?;
    buf.truncate(n);
    // Each segment opens in place; its plaintext moves down to follow the previous one.
    let mut written = 0;
    let mut segments = 0;
    let mut start = 0;
    while start < n {
        let end = (start + SEGMENT + TAG).min(n);
        let sealed = buf
            .get_mut(start..end)
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let len = cipher
            .open_slice(index + segments, sealed)
            .map_err(std::io::Error::other)?;
        buf.copy_within(start..start + len, written);
        written += len;
        segments += 1;
        start = end;
    }
    buf.truncate(written);
    buf.drain(..skip.min(buf.len()));
    Ok(Read {
        plain: buf,
        segments,
        consumed: n as u64,
    })
}

impl Part {
    /// The next bytes of the stretch, `None` when it is done.
    async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        if self.left == 0 {
            return Ok(None);
        }
        let file = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("blob file lost"))?;
        let cipher = self.cipher.clone();
        let (pos, index, skip, left) = (self.pos, self.index, self.skip, self.left);
        let (file, read) = tokio::task::spawn_blocking(move || {
            let read = read_step(&file, cipher.as_deref(), pos, index, skip, left);
            (file, read)
        })
        .await
        .map_err(|_| std::io::Error::other("blob read task failed"))?;
        self.file = Some(file);
        let Read {
            mut plain,
            segments,
            consumed,
        } = read?;
        if plain.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.pos += consumed;
        self.index += segments;
        self.skip = 0;
        let keep = usize::try_from(self.left).map_or(plain.len(), |l| l.min(plain.len()));
        plain.truncate(keep);
        self.left -= keep as u64;
        Ok(Some(Bytes::from(plain)))
    }
}

/// A body's chunks.
pub(crate) type Chunks =
    std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + 'static>>;

/// Opens the body's stretches; an error when a blob is gone (the object changed under the
/// read) or unreadable.
pub(crate) async fn open(blobs: &BlobStore, body: &OutboundBody) -> std::io::Result<Chunks> {
    let mut parts = VecDeque::with_capacity(body.segments.len());
    for s in &body.segments {
        let file = tokio::fs::File::open(blobs.path_of(&s.blob))
            .await?
            .into_std()
            .await;
        let cipher = s
            .key
            .as_ref()
            .map(|k| Arc::new(BlobCipher::new(k, &s.blob)));
        let (index, skip, pos) = match cipher {
            Some(_) => {
                let index = s.offset / SEGMENT as u64;
                let skip = (s.offset % SEGMENT as u64) as usize;
                (index, skip, index * (SEGMENT + TAG) as u64)
            }
            None => (0, 0, s.offset),
        };
        parts.push_back(Part {
            file: Some(file),
            cipher,
            pos,
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
    Ok(Box::pin(stream))
}

/// The body of `chunks`, each sent as it comes except the last, which waits for `gate`: the
/// client has the whole answer only once the call's audit record is durable, while reading
/// and sending the rest overlap the record's sync. An error is passed on at once (the client
/// never has a whole answer then).
pub(crate) fn held_until(chunks: Chunks, gate: super::Durable) -> Body {
    let state = (chunks.fuse(), None::<Bytes>, Some(gate));
    let stream =
        futures_util::stream::unfold(state, |(mut chunks, mut held, mut gate)| async move {
            loop {
                match chunks.next().await {
                    Some(Ok(bytes)) => {
                        if let Some(previous) = held.replace(bytes) {
                            return Some((Ok(previous), (chunks, held, gate)));
                        }
                    }
                    Some(Err(err)) => return Some((Err(err), (chunks, held, gate))),
                    None => {
                        if let Some(gate) = gate.take() {
                            gate.await;
                        }
                        let last = held.take()?;
                        return Some((Ok(last), (chunks, held, gate)));
                    }
                }
            }
        });
    Body::from_stream(stream)
}
