//! Fuzz target: the `aws-chunked` decoder in each mode, fed the input in pieces whose sizes
//! come from the input. Nothing may panic; a body that decodes never yields more bytes than
//! it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sigv4::{ChunkSigner, ChunkedDecoder, ChunkedMode, SigningKey};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let signer = || {
        ChunkSigner::new(
            [0; 32],
            SigningKey::from_bytes([1; 32]),
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
        )
    };
    let mode = match selector % 3 {
        0 => ChunkedMode::UnsignedTrailer,
        1 => ChunkedMode::Signed { signer: signer(), trailer: false },
        _ => ChunkedMode::Signed { signer: signer(), trailer: true },
    };
    let frame = usize::from(selector / 3).max(1);
    let mut d = ChunkedDecoder::new(mode).with_min_chunk_size(0);
    let mut out = Vec::new();
    for piece in body.chunks(frame) {
        if d.push(piece, &mut out).is_err() {
            return;
        }
    }
    assert!(out.len() <= body.len());
    let _ = d.finish();
});
