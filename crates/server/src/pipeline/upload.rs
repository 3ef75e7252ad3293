//! Staging an upload's body (S3 `PutObject`, `UploadPart`): the bytes flow from the socket
//! through their verification (the SHA-256 the signature covers, or each `aws-chunked`
//! chunk's signature, and the checksums the client sent) to a blob on disk, never held whole
//! in memory. The blob is fsynced and renamed into place before the handler runs; a body that
//! fails any check leaves nothing behind.

use std::time::Duration;

use aws_lc_rs::digest;
use axum::body::Body;
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use rampart_services::{
    blob_cipher::{BlobCipher, BlobKey, SEGMENT, TAG},
    payload::{BlobStore, Checksum, StagedBody},
};
use rampart_sigv4::{ChecksumAlgorithm, ChecksumHasher, ChunkError, ChunkedDecoder};
use rampart_wire::ApiError;
use std::io::Write as _;

/// How the bytes are proven to be what the client signed.
pub(crate) enum PayloadCheck {
    /// `x-amz-content-sha256` is the body's SHA-256.
    Sha256([u8; 32]),
    /// `UNSIGNED-PAYLOAD`: the signature leaves the body out.
    Unsigned,
    /// An `aws-chunked` body, each chunk checked by the decoder.
    Chunked(Box<ChunkedDecoder>),
}

/// A checksum the client asked for: its value from a header now, or from a trailer at the end.
pub(crate) struct ExpectedChecksum {
    pub algorithm: ChecksumAlgorithm,
    /// The base64 value of the `x-amz-checksum-*` header; `None` when it comes as a trailer.
    pub value: Option<String>,
}

/// What staging needs to know of the request.
pub(crate) struct Upload {
    pub check: PayloadCheck,
    pub checksums: Vec<ExpectedChecksum>,
    /// The most bytes the object may have.
    pub max_bytes: u64,
    /// How long the client may leave the body idle.
    pub idle: Duration,
    /// The data key to seal the blob with (`None`: stored in clear).
    pub sealing: Option<BlobKey>,
}

/// The blob's bytes on their way to disk, in the blob's own layout: with a key, each segment of
/// plaintext is sealed in place as soon as it is whole and followed by its tag. An upload holds
/// this one buffer (handed to a blocking task by value for each write and back for reuse), and
/// its bytes are never copied between decoding and the file.
struct BlobWriter {
    cipher: Option<BlobCipher>,
    /// The next segment's index.
    index: u64,
    /// Bytes waiting to be written: sealed segments, then the open segment's plaintext.
    buf: Vec<u8>,
    /// Where the open (not yet sealed) segment starts in `buf`.
    open: usize,
    /// The length of `buf` at which it is written.
    due: usize,
    /// The blob file (`None` only while a write is in flight).
    file: Option<std::fs::File>,
}

impl BlobWriter {
    fn new(key: Option<&BlobKey>, blob: &str, file: std::fs::File) -> BlobWriter {
        let due = match key {
            Some(_) => WRITE_BUFFER / SEGMENT * (SEGMENT + TAG),
            None => WRITE_BUFFER,
        };
        BlobWriter {
            cipher: key.map(|k| BlobCipher::new(k, blob)),
            index: 0,
            buf: Vec::with_capacity(due),
            open: 0,
            due,
            file: Some(file),
        }
    }

    /// How many plaintext bytes may be appended now: up to the open segment's end (with a
    /// key) and the buffer's due length, so the buffer never grows past its capacity.
    fn room(&self) -> usize {
        let to_due = self.due.saturating_sub(self.buf.len());
        let to_segment_end = match self.cipher {
            Some(_) => SEGMENT.saturating_sub(self.buf.len() - self.open),
            None => usize::MAX,
        };
        to_due.min(to_segment_end).max(1)
    }

    /// The plaintext appended since the last call ends here: seals the open segment if it is
    /// whole, and writes the buffer when it is due.
    async fn appended(&mut self) -> Result<(), ApiError> {
        if self.buf.len() - self.open >= SEGMENT {
            self.seal_open()?;
        }
        if self.buf.len() >= self.due {
            self.write().await?;
        }
        Ok(())
    }

    /// Seals the open segment (a no-op without a key, or when it is empty).
    fn seal_open(&mut self) -> Result<(), ApiError> {
        if let Some(cipher) = &self.cipher {
            if self.buf.len() > self.open {
                cipher
                    .seal_tail(self.index, &mut self.buf, self.open)
                    .map_err(|_| io_failed(&std::io::Error::other("segment sealing failed")))?;
                self.index += 1;
            }
        }
        self.open = self.buf.len();
        Ok(())
    }

    /// Writes the sealed part of the buffer (all of it without a key).
    async fn write(&mut self) -> Result<(), ApiError> {
        if self.cipher.is_none() {
            self.open = self.buf.len();
        }
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io_failed(&std::io::Error::other("blob file lost")))?;
        let buf = std::mem::take(&mut self.buf);
        let ready = self.open;
        let (file, mut buf, written) = tokio::task::spawn_blocking(move || {
            let written = file.write_all(buf.get(..ready).unwrap_or_default());
            (file, buf, written)
        })
        .await
        .map_err(|_| io_failed(&std::io::Error::other("blob write task failed")))?;
        written.map_err(|e| io_failed(&e))?;
        buf.drain(..ready);
        self.open = 0;
        self.buf = buf;
        self.file = Some(file);
        Ok(())
    }

    /// Seals and writes what is left, makes the blob durable and closes it.
    async fn finish(mut self) -> Result<(), ApiError> {
        self.seal_open()?;
        self.write().await?;
        let file = self
            .file
            .take()
            .ok_or_else(|| io_failed(&std::io::Error::other("blob file lost")))?;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|_| io_failed(&std::io::Error::other("blob sync task failed")))?
            .map_err(|e| io_failed(&e))
    }
}

/// Plaintext bytes written to the file at once. Each upload holds one buffer of this size
/// plus its segments' tags: with a second buffer for the sealed copy, 16 clients uploading
/// 1 GiB each peaked at 103 MiB of RSS (`bench/s3_memory.sh`, goal under 100 MiB).
const WRITE_BUFFER: usize = 256 * 1024;

fn error(code: &str, message: impl Into<String>, status: u16) -> ApiError {
    ApiError::new(code, message, status, true)
}

fn chunk_error(err: &ChunkError) -> ApiError {
    error(err.code(), err.to_string(), err.http_status())
}

fn too_large(max: u64) -> ApiError {
    error(
        "EntityTooLarge",
        format!("Your proposed upload exceeds the maximum allowed size of {max} bytes."),
        400,
    )
}

fn io_failed(err: &std::io::Error) -> ApiError {
    tracing::error!(error = %err, "writing an upload to disk failed");
    ApiError::new(
        "InternalError",
        "We encountered an internal error. Please try again.",
        500,
        false,
    )
}

/// The running digests of the decoded bytes.
struct Digests {
    md5: Md5,
    sha256: Option<digest::Context>,
    checksums: Vec<(ChecksumHasher, Option<String>)>,
    len: u64,
}

impl Digests {
    fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        if let Some(s) = &mut self.sha256 {
            s.update(data);
        }
        for (h, _) in &mut self.checksums {
            h.update(data);
        }
        self.len += data.len() as u64;
    }
}

/// Streams `body` into a new blob, verifying it; the staged body, or the error to answer.
pub(crate) async fn stage(
    body: Body,
    upload: Upload,
    blobs: &BlobStore,
) -> Result<StagedBody, ApiError> {
    let id = BlobStore::new_id();
    let partial = blobs.partial_path_of(&id);
    let result = write_blob(body, upload, blobs, &id).await;
    if result.is_err() {
        // Nothing of a refused body stays on disk.
        let _ = tokio::fs::remove_file(&partial).await;
    }
    result
}

async fn write_blob(
    mut body: Body,
    upload: Upload,
    blobs: &BlobStore,
    id: &str,
) -> Result<StagedBody, ApiError> {
    let Upload {
        mut check,
        checksums,
        max_bytes,
        idle,
        sealing,
    } = upload;
    tokio::fs::create_dir_all(blobs.dir_of(id))
        .await
        .map_err(|e| io_failed(&e))?;
    let file = tokio::fs::File::create(blobs.partial_path_of(id))
        .await
        .map_err(|e| io_failed(&e))?
        .into_std()
        .await;
    let mut digests = Digests {
        md5: Md5::new(),
        sha256: matches!(check, PayloadCheck::Sha256(_))
            .then(|| digest::Context::new(&digest::SHA256)),
        checksums: checksums
            .into_iter()
            .map(|c| (c.algorithm.hasher(), c.value))
            .collect(),
        len: 0,
    };
    let mut out = BlobWriter::new(sealing.as_ref(), id, file);
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => {
                return Err(error(
                    "RequestTimeout",
                    "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
                    400,
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return Err(error(
                    "IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                    400,
                ))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        // The frame goes in pieces that fit the writer's room, so a segment never holds more
        // than its size and the buffer never grows (decoding never makes more bytes than it
        // reads).
        let mut rest: &[u8] = &data;
        while !rest.is_empty() {
            let (piece, after) = rest.split_at(out.room().min(rest.len()));
            rest = after;
            let start = out.buf.len();
            match &mut check {
                PayloadCheck::Chunked(decoder) => decoder
                    .push(piece, &mut out.buf)
                    .map_err(|e| chunk_error(&e))?,
                _ => out.buf.extend_from_slice(piece),
            }
            digests.update(out.buf.get(start..).unwrap_or_default());
            if digests.len > max_bytes {
                return Err(too_large(max_bytes));
            }
            out.appended().await?;
        }
    }
    let trailers = match check {
        PayloadCheck::Chunked(decoder) => decoder.finish().map_err(|e| chunk_error(&e))?,
        PayloadCheck::Sha256(claimed) => {
            let actual = digests.sha256.take().map(digest::Context::finish);
            if actual.as_ref().map(digest::Digest::as_ref) != Some(claimed.as_slice()) {
                return Err(error(
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    400,
                ));
            }
            Vec::new()
        }
        PayloadCheck::Unsigned => Vec::new(),
    };
    let checksums = verify_checksums(digests.checksums, &trailers)?;
    out.finish().await?;
    tokio::fs::rename(blobs.partial_path_of(id), blobs.path_of(id))
        .await
        .map_err(|e| io_failed(&e))?;
    let dir = blobs.dir_of(id);
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(|_| io_failed(&std::io::Error::other("directory sync task failed")))?
        .map_err(|e| io_failed(&e))?;
    Ok(StagedBody {
        blob: id.to_string(),
        len: digests.len,
        md5: digests.md5.finalize().into(),
        checksums,
    })
}

/// Compares each computed checksum with the client's value (header or trailer).
fn verify_checksums(
    computed: Vec<(ChecksumHasher, Option<String>)>,
    trailers: &[(String, String)],
) -> Result<Vec<Checksum>, ApiError> {
    let mut out = Vec::new();
    for (hasher, header_value) in computed {
        let algorithm = hasher.algorithm();
        let name = algorithm.header_name();
        let given = header_value.or_else(|| {
            trailers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        });
        let Some(given) = given else {
            return Err(error(
                "InvalidRequest",
                format!("The {name} trailer was declared but not sent."),
                400,
            ));
        };
        let actual = hasher.finish_base64();
        if actual != given {
            return Err(error(
                "BadDigest",
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    algorithm.as_str()
                ),
                400,
            ));
        }
        out.push(Checksum {
            algorithm: algorithm.as_str().to_string(),
            value: actual,
        });
    }
    Ok(out)
}

/// How an upload's bytes are checked, from its signature: the claimed SHA-256, the chunk
/// chain of an `aws-chunked` body, or nothing for `UNSIGNED-PAYLOAD` (and presigned URLs,
/// which S3 signs without their payload).
pub(crate) fn payload_check(
    auth: Option<&rampart_sigv4::ParsedAuth>,
    chunked: Option<rampart_sigv4::ChunkedMode>,
    headers: &axum::http::HeaderMap,
) -> PayloadCheck {
    if let Some(mode) = chunked {
        let mut decoder = ChunkedDecoder::new(mode);
        // Without the declared length, chunk sizes are bounded only by the object limit.
        if let Some(len) = headers
            .get("x-amz-decoded-content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
        {
            decoder = decoder.with_decoded_length(len);
        }
        return PayloadCheck::Chunked(Box::new(decoder));
    }
    match auth.and_then(|a| a.content_sha256.as_ref()) {
        Some(rampart_sigv4::ContentSha256::Hash(h)) => {
            let mut claimed = [0u8; 32];
            match hex::decode_to_slice(h, &mut claimed) {
                Ok(()) => PayloadCheck::Sha256(claimed),
                // Verification refused malformed hashes before; never reached.
                Err(_) => PayloadCheck::Sha256([0; 32]),
            }
        }
        _ => PayloadCheck::Unsigned,
    }
}

/// The checksums a request asks the server to check: `x-amz-checksum-*` headers, and the
/// checksum trailers `x-amz-trailer` announces.
pub(crate) fn expected_checksums(headers: &axum::http::HeaderMap) -> Vec<ExpectedChecksum> {
    let mut out = Vec::new();
    for (name, value) in headers {
        if let Some(algorithm) = ChecksumAlgorithm::from_header_name(name.as_str()) {
            out.push(ExpectedChecksum {
                algorithm,
                value: value.to_str().ok().map(|v| v.trim().to_string()),
            });
        }
    }
    for trailer in headers.get_all("x-amz-trailer") {
        let Ok(list) = trailer.to_str() else { continue };
        for name in list.split(',').map(str::trim) {
            if let Some(algorithm) = ChecksumAlgorithm::from_header_name(name) {
                if !out.iter().any(|c| c.algorithm == algorithm) {
                    out.push(ExpectedChecksum {
                        algorithm,
                        value: None,
                    });
                }
            }
        }
    }
    out
}

/// The integrity check S3 requires of some small bodies (`DeleteObjects`, `PutBucketPolicy`,
/// tagging, ...: the model's `httpChecksum.requestChecksumRequired`): a `Content-MD5` or an
/// `x-amz-checksum-*` header, which must match the body.
pub(crate) fn check_body_integrity(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    use base64::Engine as _;
    let mut checked = false;
    if let Some(given) = headers.get("content-md5").and_then(|v| v.to_str().ok()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(given.trim())
            .ok()
            .filter(|d| d.len() == 16)
            .ok_or_else(|| {
                error(
                    "InvalidDigest",
                    "The Content-MD5 you specified was invalid.",
                    400,
                )
            })?;
        if decoded.as_slice() != Md5::digest(body).as_slice() {
            return Err(error(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
                400,
            ));
        }
        checked = true;
    }
    for expected in expected_checksums(headers) {
        let Some(given) = expected.value else {
            continue;
        };
        let mut hasher = expected.algorithm.hasher();
        hasher.update(body);
        if hasher.finish_base64() != given {
            return Err(error(
                "BadDigest",
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    expected.algorithm.as_str()
                ),
                400,
            ));
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(error(
            "InvalidRequest",
            "Missing required header for this request: Content-MD5",
            400,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use base64::Engine as _;

    /// Writes `data` through a [`BlobWriter`] in pieces of the given sizes (as the upload loop
    /// does: each piece cut to the writer's room) and returns the file's bytes.
    async fn written(key: Option<&BlobKey>, data: &[u8], pieces: &[usize]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let file = std::fs::File::create(&path).unwrap();
        let mut out = BlobWriter::new(key, "blob-id", file);
        let mut rest = data;
        let mut sizes = pieces.iter().cycle();
        while !rest.is_empty() {
            let want = (*sizes.next().unwrap()).max(1).min(rest.len());
            let (piece, after) = rest.split_at(out.room().min(want));
            rest = after;
            out.buf.extend_from_slice(piece);
            out.appended().await.unwrap();
        }
        out.finish().await.unwrap();
        std::fs::read(&path).unwrap()
    }

    #[tokio::test]
    async fn a_blob_is_its_segments_sealed_in_order_whatever_the_pieces() {
        let key = BlobKey::generate().unwrap();
        let cipher = BlobCipher::new(&key, "blob-id");
        for len in [
            0,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * WRITE_BUFFER + 5,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            for pieces in [&[1_000_003][..], &[1, 17, 65_536, 300_000], &[4_096]] {
                let sealed = written(Some(&key), &data, pieces).await;
                let mut opened = Vec::new();
                for (index, chunk) in sealed.chunks(SEGMENT + TAG).enumerate() {
                    let mut segment = chunk.to_vec();
                    let n = cipher.open_slice(index as u64, &mut segment).unwrap();
                    opened.extend_from_slice(&segment[..n]);
                }
                assert_eq!(opened, data, "len {len}, pieces {pieces:?}");
                assert_eq!(sealed.len(), len + len.div_ceil(SEGMENT) * TAG);
                assert_eq!(written(None, &data, pieces).await, data);
            }
        }
    }

    #[test]
    fn bodies_that_need_a_checksum_are_checked() {
        let body = b"<Delete><Object><Key>k</Key></Object></Delete>";
        let mut headers = HeaderMap::new();
        assert_eq!(
            check_body_integrity(&headers, body).unwrap_err().code,
            "InvalidRequest"
        );
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body));
        headers.insert("content-md5", HeaderValue::from_str(&md5).unwrap());
        assert!(check_body_integrity(&headers, body).is_ok());
        assert_eq!(
            check_body_integrity(&headers, b"other").unwrap_err().code,
            "BadDigest"
        );
        let mut crc = HeaderMap::new();
        let value = ChecksumAlgorithm::Crc32.checksum_base64(body);
        crc.insert(
            "x-amz-checksum-crc32",
            HeaderValue::from_str(&value).unwrap(),
        );
        assert!(check_body_integrity(&crc, body).is_ok());
        assert_eq!(
            check_body_integrity(&crc, b"other").unwrap_err().code,
            "BadDigest"
        );
    }
}
