//! S3's `aws-chunked` request bodies: an incremental, push-based decoder that checks every
//! chunk signature (and the trailer signature) while the body streams, and the chunk signer it
//! shares with [`crate::sign::sign_chunked`].
//!
//! Signed forms (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`):
//! `hex-size;chunk-signature=<64 hex>\r\n<data>\r\n` ... `0;chunk-signature=<64 hex>\r\n`, then
//! trailer lines (`name:value\r\n`, ending with `x-amz-trailer-signature:<64 hex>\r\n` in the
//! trailer form) and `\r\n`. The unsigned trailer form
//! (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`) is the same without the extensions and the signature.
//!
//! Chunk `n` is signed over `AWS4-HMAC-SHA256-PAYLOAD\n<amz-date>\n<scope>\n<signature of chunk
//! n-1>\n<sha256("")>\n<sha256(data)>`, chunk 1 chaining from the request's (seed) signature;
//! the trailer over `AWS4-HMAC-SHA256-TRAILER\n<amz-date>\n<scope>\n<signature of the last
//! chunk>\n<sha256(trailers)>` where the trailers are `name:value\n` each, sorted by name.
//!
//! ```
//! use rampart_sigv4::chunked::{ChunkSigner, ChunkedDecoder, ChunkedMode};
//! use rampart_sigv4::sign::sign_chunked;
//! use rampart_sigv4::SigningKey;
//!
//! let signer = ChunkSigner::new([7; 32], SigningKey::from_bytes([1; 32]), "20130524T000000Z",
//!     "20130524/us-east-1/s3/aws4_request");
//! let mode = ChunkedMode::Signed { signer, trailer: false };
//! let body = sign_chunked(mode.clone(), &[b'a'; 10_000], 8192, &[]);
//!
//! let mut d = ChunkedDecoder::new(mode).with_decoded_length(10_000);
//! let mut out = Vec::new();
//! for frame in body.chunks(1000) {
//!     d.push(frame, &mut out).unwrap();        // any split of the body works
//! }
//! let trailers = d.finish().unwrap();           // out is trustworthy only after this
//! assert_eq!(out, vec![b'a'; 10_000]);
//! assert!(trailers.is_empty());
//! ```

use aws_lc_rs::digest;
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::canonical::{sha256, Hex32, EMPTY_SHA256_HEX};
use crate::parse::{ParsedAuth, StreamingForm};
use crate::secret::SigningKey;

/// Longest chunk-size line accepted (`hex-size;chunk-signature=...`, 87 bytes in practice).
pub const MAX_CHUNK_LINE: usize = 4096;
/// Largest trailer section accepted (every trailer line with its CRLF).
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// S3's smallest chunk: every data chunk but the last must be at least this long (S3 refuses
/// shorter ones with `InvalidChunkSizeError` in the signed and the unsigned forms alike).
pub const MIN_CHUNK_SIZE: u64 = 8192;
/// The name of the trailer that carries the trailer signature.
pub const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

const CHUNK_SIGNATURE_EXT: &[u8] = b"chunk-signature=";

/// Why an `aws-chunked` body was refused, named after the AWS error codes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkError {
    /// A chunk or trailer signature does not verify (AWS: 403).
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    SignatureDoesNotMatch,

    /// The body ended before the final chunk and trailer section (AWS: 400).
    #[error(
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )]
    IncompleteBody,

    /// The decoded bytes differ from `x-amz-decoded-content-length` (AWS: 400).
    #[error("You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header: declared {declared}, got {decoded}.")]
    LengthMismatch {
        /// `x-amz-decoded-content-length`.
        declared: u64,
        /// Decoded bytes (so far, when too many).
        decoded: u64,
    },

    /// A chunk other than the last is smaller than the minimum (AWS: 400).
    #[error("Only the last chunk is allowed to have a size less than {min} bytes")]
    InvalidChunkSize {
        /// The minimum chunk size.
        min: u64,
    },

    /// The framing is wrong: a bad size line, a missing CRLF, an unknown extension, an
    /// oversized line or trailer section, bytes after the end (AWS: 400 `InvalidRequest`).
    #[error("Malformed aws-chunked body: {reason}.")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
}

impl ChunkError {
    /// The AWS error code this renders as.
    pub fn code(&self) -> &'static str {
        match self {
            ChunkError::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            ChunkError::IncompleteBody | ChunkError::LengthMismatch { .. } => "IncompleteBody",
            ChunkError::InvalidChunkSize { .. } => "InvalidChunkSizeError",
            ChunkError::Malformed { .. } => "InvalidRequest",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ChunkError::SignatureDoesNotMatch => 403,
            ChunkError::IncompleteBody
            | ChunkError::LengthMismatch { .. }
            | ChunkError::InvalidChunkSize { .. }
            | ChunkError::Malformed { .. } => 400,
        }
    }

    fn malformed(reason: &'static str) -> Self {
        ChunkError::Malformed { reason }
    }
}

/// The running signature chain of a chunked upload: signs (or, compared, verifies) each chunk
/// in turn and then the trailer. Holds the signing key: never log it (`Debug` hides the key).
#[derive(Debug, Clone)]
pub struct ChunkSigner {
    key: SigningKey,
    amz_date: String,
    scope: String,
    previous: [u8; 32],
}

impl ChunkSigner {
    /// A chain starting at `seed` (the request's signature), for the request's `X-Amz-Date`
    /// (`YYYYMMDDTHHMMSSZ`) and credential scope string (`date/region/service/aws4_request`).
    pub fn new(
        seed: [u8; 32],
        key: SigningKey,
        amz_date: impl Into<String>,
        scope: impl Into<String>,
    ) -> Self {
        Self {
            key,
            amz_date: amz_date.into(),
            scope: scope.into(),
            previous: seed,
        }
    }

    /// The chain of a request whose signature verified: the seed is `auth.signature`, the key
    /// is the one it verified with. `None` when the signature is not 64 hex digits.
    pub fn for_request(auth: &ParsedAuth, key: &SigningKey) -> Option<Self> {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&auth.signature, &mut seed).ok()?;
        Some(Self::new(
            seed,
            key.clone(),
            auth.amz_date(),
            auth.scope.to_scope_string(),
        ))
    }

    /// The last signature of the chain (the seed before any chunk).
    pub fn previous(&self) -> &[u8; 32] {
        &self.previous
    }

    /// Signs the next chunk and moves the chain on to its signature.
    pub fn sign_chunk(&mut self, data: &[u8]) -> [u8; 32] {
        self.sign_chunk_digest(&sha256(data))
    }

    /// [`Self::sign_chunk`] given the chunk data's SHA-256.
    pub fn sign_chunk_digest(&mut self, data_sha256: &[u8; 32]) -> [u8; 32] {
        let sts = self.string_to_sign(
            "AWS4-HMAC-SHA256-PAYLOAD",
            &[EMPTY_SHA256_HEX, Hex32::new(data_sha256).as_str()],
        );
        self.previous = self.key.sign(sts.as_bytes());
        self.previous
    }

    /// Signs the trailing headers (names in any case; sorted and lowercased here) after the
    /// last chunk; the chain moves on to the trailer signature.
    pub fn sign_trailer<N: AsRef<str>, V: AsRef<str>>(&mut self, trailers: &[(N, V)]) -> [u8; 32] {
        let canonical = canonical_trailers(trailers);
        let sts = self.string_to_sign(
            "AWS4-HMAC-SHA256-TRAILER",
            &[Hex32::new(&sha256(&canonical)).as_str()],
        );
        self.previous = self.key.sign(sts.as_bytes());
        self.previous
    }

    fn string_to_sign(&self, algorithm: &str, hashes: &[&str]) -> String {
        let mut sts = String::with_capacity(256);
        for part in [
            algorithm,
            "\n",
            &self.amz_date,
            "\n",
            &self.scope,
            "\n",
            Hex32::new(&self.previous).as_str(),
        ] {
            sts.push_str(part);
        }
        for h in hashes {
            sts.push('\n');
            sts.push_str(h);
        }
        sts
    }
}

/// `name:value\n` per trailer, names lowercased, values trimmed, sorted by name (as the AWS
/// SDKs sign them).
fn canonical_trailers<N: AsRef<str>, V: AsRef<str>>(trailers: &[(N, V)]) -> Vec<u8> {
    let mut sorted: Vec<(String, &str)> = trailers
        .iter()
        .map(|(n, v)| (n.as_ref().to_ascii_lowercase(), v.as_ref().trim()))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (n, v) in sorted {
        out.extend_from_slice(n.as_bytes());
        out.push(b':');
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    }
    out
}

/// How a chunked body is framed and checked.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "built once per request and moved into the decoder"
)]
pub enum ChunkedMode {
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (`trailer: false`) or `...-PAYLOAD-TRAILER`
    /// (`trailer: true`): every chunk signed, chained from the seed signature.
    Signed {
        /// The chain, at the seed signature.
        signer: ChunkSigner,
        /// Trailing headers and a trailer signature follow the last chunk.
        trailer: bool,
    },
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: no signatures; trailers (a checksum) follow.
    UnsignedTrailer,
    /// A signed form read for its framing only, its signatures unchecked: for a server that
    /// takes any key without checking signatures (a development mode), never otherwise.
    Unverified {
        /// Trailing headers (and a trailer signature) follow the last chunk.
        trailer: bool,
    },
}

impl ChunkedMode {
    /// The mode for a request that verified with [`crate::VerifyOptions::allow_streaming`]
    /// under `key`; `None` when its body is not `aws-chunked`.
    pub fn for_request(auth: &ParsedAuth, key: &SigningKey) -> Option<Self> {
        match auth.streaming_form()? {
            StreamingForm::UnsignedPayloadTrailer => Some(ChunkedMode::UnsignedTrailer),
            form => Some(ChunkedMode::Signed {
                signer: ChunkSigner::for_request(auth, key)?,
                trailer: form.has_trailer(),
            }),
        }
    }

    /// The mode that reads `form`'s framing without checking any signature (see
    /// [`ChunkedMode::Unverified`]).
    pub fn unverified(form: StreamingForm) -> Self {
        match form {
            StreamingForm::UnsignedPayloadTrailer => ChunkedMode::UnsignedTrailer,
            form => ChunkedMode::Unverified {
                trailer: form.has_trailer(),
            },
        }
    }

    fn has_trailer(&self) -> bool {
        match self {
            ChunkedMode::Signed { trailer, .. } | ChunkedMode::Unverified { trailer } => *trailer,
            ChunkedMode::UnsignedTrailer => true,
        }
    }

    /// Whether chunk-size lines carry `chunk-signature` (checked or not).
    fn signed_framing(&self) -> bool {
        !matches!(self, ChunkedMode::UnsignedTrailer)
    }
}

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line.
    SizeLine,
    /// Inside a chunk's data, with this many bytes to go.
    Data(u64),
    /// After a chunk's data, having seen this many bytes of its CRLF.
    DataEnd(u8),
    /// Reading trailer lines (after the zero-size chunk), up to the empty line.
    Trailer,
    /// The whole body has been read.
    Done,
}

/// An incremental `aws-chunked` decoder: feed it the body as it arrives with
/// [`Self::push`] (any split works), then call [`Self::finish`].
///
/// Decoded bytes are appended as they arrive, before their chunk's signature (which covers the
/// whole chunk) can be checked: treat the output as untrusted until [`Self::finish`] returns
/// `Ok` ([`Self::verified_len`] tells how much of it is covered by checked signatures so far).
/// After an error the decoder refuses every further push with that error.
pub struct ChunkedDecoder {
    signer: Option<ChunkSigner>,
    /// Chunk-size lines carry signatures (checked only with a signer).
    signed_framing: bool,
    trailer: bool,
    state: State,
    /// The current size or trailer line, without its CRLF.
    line: Vec<u8>,
    /// The current chunk's signature, as sent.
    chunk_signature: [u8; 32],
    /// SHA-256 of the current chunk's data (signed forms).
    hasher: Option<digest::Context>,
    decoded: u64,
    verified: u64,
    declared: Option<u64>,
    min_chunk: u64,
    short_chunk_seen: bool,
    trailers: Vec<(String, String)>,
    trailer_signature: Option<[u8; 32]>,
    trailer_bytes: usize,
    failed: Option<ChunkError>,
}

impl std::fmt::Debug for ChunkedDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedDecoder")
            .field("signed", &self.signer.is_some())
            .field("trailer", &self.trailer)
            .field("state", &self.state)
            .field("decoded", &self.decoded)
            .field("declared", &self.declared)
            .finish_non_exhaustive()
    }
}

impl ChunkedDecoder {
    /// A decoder for `mode`. Every data chunk but the last must be at least
    /// [`MIN_CHUNK_SIZE`] bytes (S3's rule); see [`Self::with_min_chunk_size`].
    pub fn new(mode: ChunkedMode) -> Self {
        let trailer = mode.has_trailer();
        let signed_framing = mode.signed_framing();
        let signer = match mode {
            ChunkedMode::Signed { signer, .. } => Some(signer),
            ChunkedMode::UnsignedTrailer | ChunkedMode::Unverified { .. } => None,
        };
        Self {
            signer,
            signed_framing,
            trailer,
            state: State::SizeLine,
            line: Vec::new(),
            chunk_signature: [0; 32],
            hasher: None,
            decoded: 0,
            verified: 0,
            declared: None,
            min_chunk: MIN_CHUNK_SIZE,
            short_chunk_seen: false,
            trailers: Vec::new(),
            trailer_signature: None,
            trailer_bytes: 0,
            failed: None,
        }
    }

    /// Requires the decoded body to be exactly `len` bytes (`x-amz-decoded-content-length`);
    /// a chunk that would exceed it is refused as soon as its size line arrives.
    pub fn with_decoded_length(mut self, len: u64) -> Self {
        self.declared = Some(len);
        self
    }

    /// Sets the smallest size allowed for every chunk but the last data chunk (`0`: any).
    pub fn with_min_chunk_size(mut self, min: u64) -> Self {
        self.min_chunk = min;
        self
    }

    /// Decoded bytes so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded
    }

    /// Decoded bytes whose chunk is complete and, for the signed forms, whose chunk signature
    /// has been checked.
    pub fn verified_len(&self) -> u64 {
        self.verified
    }

    /// `true` once the final chunk and trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes `input` (the next bytes of the body), appending chunk data to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.push_inner(input, out);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// Ends the body: errors if it is incomplete or its length is not the declared one;
    /// returns the trailing headers (lowercased names, trimmed values; without the trailer
    /// signature), in the order sent.
    pub fn finish(self) -> Result<Vec<(String, String)>, ChunkError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.state != State::Done {
            return Err(ChunkError::IncompleteBody);
        }
        if let Some(declared) = self.declared {
            if declared != self.decoded {
                return Err(ChunkError::LengthMismatch {
                    declared,
                    decoded: self.decoded,
                });
            }
        }
        Ok(self.trailers)
    }

    fn push_inner(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkError> {
        while !input.is_empty() {
            input = match self.state {
                State::SizeLine => self.take_size_line(input)?,
                State::Data(remaining) => self.take_data(input, remaining, out)?,
                State::DataEnd(seen) => self.take_data_crlf(input, seen)?,
                State::Trailer => self.take_trailer_line(input)?,
                State::Done => {
                    return Err(ChunkError::malformed(
                        "bytes follow the end of the aws-chunked body",
                    ))
                }
            };
        }
        Ok(())
    }

    /// Reads (part of) a chunk-size line; a complete one starts its chunk.
    fn take_size_line<'i>(&mut self, input: &'i [u8]) -> Result<&'i [u8], ChunkError> {
        let (line, rest) = self.take_line(input, MAX_CHUNK_LINE)?;
        if let Some(line) = line {
            self.start_chunk(&line)?;
        }
        Ok(rest)
    }

    /// Reads the CRLF after a chunk's data, `seen` bytes of which have been read already.
    fn take_data_crlf<'i>(&mut self, input: &'i [u8], seen: u8) -> Result<&'i [u8], ChunkError> {
        let Some((&first, rest)) = input.split_first() else {
            return Ok(input);
        };
        let (want, next) = if seen == 0 {
            (b'\r', State::DataEnd(1))
        } else {
            (b'\n', State::SizeLine)
        };
        if first != want {
            return Err(ChunkError::malformed("chunk data is not followed by CRLF"));
        }
        self.state = next;
        Ok(rest)
    }

    /// Reads (part of) a trailer line, within the trailer section's budget.
    fn take_trailer_line<'i>(&mut self, input: &'i [u8]) -> Result<&'i [u8], ChunkError> {
        let budget = MAX_TRAILER_BYTES.saturating_sub(self.trailer_bytes);
        let (line, rest) = self.take_line(input, budget)?;
        if let Some(line) = line {
            self.trailer_bytes += line.len() + 2;
            self.trailer_line(&line)?;
        }
        Ok(rest)
    }

    /// Adds `input` up to the next LF to the current line. Gives the complete line (without
    /// CRLF) when its LF was found, and the unread input.
    fn take_line<'i>(
        &mut self,
        input: &'i [u8],
        max: usize,
    ) -> Result<(Option<Vec<u8>>, &'i [u8]), ChunkError> {
        let (part, rest, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (part, rest) = input.split_at_checked(i).unwrap_or((input, &[]));
                (part, rest.get(1..).unwrap_or_default(), true)
            }
            None => (input, &[][..], false),
        };
        // The line's length counts its CR (the cap includes it).
        if self.line.len() + part.len() > max {
            return Err(ChunkError::malformed(
                "a chunk-size or trailer line is too long",
            ));
        }
        self.line.extend_from_slice(part);
        if !complete {
            return Ok((None, rest));
        }
        let mut line = std::mem::take(&mut self.line);
        if line.pop() != Some(b'\r') {
            return Err(ChunkError::malformed("a line does not end with CRLF"));
        }
        Ok((Some(line), rest))
    }

    /// Handles a chunk-size line.
    fn start_chunk(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        let (size, signature) = parse_size_line(line, self.signed_framing)?;
        if let Some(declared) = self.declared {
            if self.decoded.saturating_add(size) > declared {
                return Err(ChunkError::LengthMismatch {
                    declared,
                    decoded: self.decoded.saturating_add(size),
                });
            }
        }
        if size > 0 {
            if self.short_chunk_seen {
                return Err(ChunkError::InvalidChunkSize {
                    min: self.min_chunk,
                });
            }
            self.short_chunk_seen = size < self.min_chunk;
        }
        if let Some(sig) = signature {
            self.chunk_signature = sig;
        }
        if size == 0 {
            self.check_chunk_signature(&sha256(&[]))?;
            self.state = State::Trailer;
            return Ok(());
        }
        if self.signer.is_some() {
            self.hasher = Some(digest::Context::new(&digest::SHA256));
        }
        self.state = State::Data(size);
        Ok(())
    }

    /// Copies chunk data out; at the chunk's end checks its signature.
    fn take_data<'i>(
        &mut self,
        input: &'i [u8],
        remaining: u64,
        out: &mut Vec<u8>,
    ) -> Result<&'i [u8], ChunkError> {
        let n = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
        let (data, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
        out.extend_from_slice(data);
        if let Some(h) = &mut self.hasher {
            h.update(data);
        }
        let taken = data.len() as u64;
        self.decoded += taken;
        let remaining = remaining - taken;
        if remaining > 0 {
            self.state = State::Data(remaining);
            return Ok(rest);
        }
        if let Some(h) = self.hasher.take() {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(h.finish().as_ref());
            self.check_chunk_signature(&hash)?;
        }
        self.verified = self.decoded;
        self.state = State::DataEnd(0);
        Ok(rest)
    }

    fn check_chunk_signature(&mut self, data_sha256: &[u8; 32]) -> Result<(), ChunkError> {
        let Some(signer) = &mut self.signer else {
            return Ok(());
        };
        let expected = signer.sign_chunk_digest(data_sha256);
        if bool::from(expected.ct_eq(&self.chunk_signature)) {
            Ok(())
        } else {
            Err(ChunkError::SignatureDoesNotMatch)
        }
    }

    /// Handles a trailer line; the empty line ends the body.
    fn trailer_line(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        if line.is_empty() {
            return self.end_trailers();
        }
        if !self.trailer {
            return Err(ChunkError::malformed(
                "trailing headers are sent without a trailer form of x-amz-content-sha256",
            ));
        }
        if self.trailer_signature.is_some() {
            return Err(ChunkError::malformed(
                "trailing headers follow x-amz-trailer-signature",
            ));
        }
        let (name, value) = parse_trailer_line(line)?;
        if name == TRAILER_SIGNATURE {
            if !self.signed_framing {
                return Err(ChunkError::malformed(
                    "x-amz-trailer-signature is sent with an unsigned payload",
                ));
            }
            let mut sig = [0u8; 32];
            hex::decode_to_slice(value.as_bytes(), &mut sig).map_err(|_| {
                ChunkError::malformed("x-amz-trailer-signature is not 64 hex digits")
            })?;
            self.trailer_signature = Some(sig);
        } else if self.trailers.iter().any(|(n, _)| *n == name) {
            return Err(ChunkError::malformed("a trailing header is sent twice"));
        } else {
            self.trailers.push((name, value));
        }
        Ok(())
    }

    fn end_trailers(&mut self) -> Result<(), ChunkError> {
        if let (true, Some(signer)) = (self.trailer, &mut self.signer) {
            let provided = self
                .trailer_signature
                .ok_or(ChunkError::malformed("x-amz-trailer-signature is missing"))?;
            let expected = signer.sign_trailer(&self.trailers);
            if !bool::from(expected.ct_eq(&provided)) {
                return Err(ChunkError::SignatureDoesNotMatch);
            }
        }
        self.state = State::Done;
        Ok(())
    }
}

/// Parses `hex-size[;chunk-signature=<64 hex>]`: the extension is required for the signed forms
/// and refused otherwise; no other extension is accepted.
fn parse_size_line(line: &[u8], signed: bool) -> Result<(u64, Option<[u8; 32]>), ChunkError> {
    let mut parts = line.splitn(2, |&b| b == b';');
    let size_hex = parts.next().unwrap_or_default();
    let extension = parts.next();
    if size_hex.is_empty() || size_hex.len() > 16 || !size_hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(ChunkError::malformed("the chunk size is not hexadecimal"));
    }
    let size = std::str::from_utf8(size_hex)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or(ChunkError::malformed("the chunk size is not hexadecimal"))?;
    match (signed, extension) {
        (false, None) => Ok((size, None)),
        (false, Some(_)) => Err(ChunkError::malformed(
            "chunk extensions are not accepted for an unsigned payload",
        )),
        (true, None) => Err(ChunkError::malformed("a chunk has no chunk-signature")),
        (true, Some(ext)) => {
            let hex_sig = ext
                .strip_prefix(CHUNK_SIGNATURE_EXT)
                .ok_or(ChunkError::malformed(
                    "chunk extensions other than chunk-signature are not accepted",
                ))?;
            let mut sig = [0u8; 32];
            hex::decode_to_slice(hex_sig, &mut sig)
                .map_err(|_| ChunkError::malformed("a chunk-signature is not 64 hex digits"))?;
            Ok((size, Some(sig)))
        }
    }
}

/// Parses `name:value` (name a header token, lowercased; value trimmed, visible ASCII).
fn parse_trailer_line(line: &[u8]) -> Result<(String, String), ChunkError> {
    let bad = || ChunkError::malformed("a trailing header is not 'name:value'");
    let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let (name, value) = line.split_at_checked(colon).ok_or_else(bad)?;
    let value = value.get(1..).unwrap_or_default();
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if name.is_empty() || !name.iter().all(token) {
        return Err(bad());
    }
    if !value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return Err(bad());
    }
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let value = String::from_utf8_lossy(value).trim().to_owned();
    Ok((name, value))
}
