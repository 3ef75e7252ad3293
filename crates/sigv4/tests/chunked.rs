//! `aws-chunked` bodies: AWS's documented chunked-upload examples sign and verify here, any
//! split of a body across pushes decodes the same, tampering is refused, and the streaming
//! forms pass `verify` only when the options allow them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rampart_sigv4::chunked::MIN_CHUNK_SIZE;
use rampart_sigv4::{
    parse_request, sign_chunked, sign_with_payload_hash, verify, verify_with_options,
    ChecksumAlgorithm, ChunkError, ChunkSigner, ChunkedDecoder, ChunkedMode, ContentSha256,
    RequestParts, SecretKey, SigningKey, SigningKeyCache, SigningParams, StreamingForm,
    VerifyOptions,
};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The S3 documentation's example secret (note the `/`: not the IAM docs' `+`).
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AMZ_DATE: &str = "20130524T000000Z";
const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";

fn key() -> SigningKey {
    SigningKey::derive(&SecretKey::from(SECRET), "20130524", "us-east-1", "s3")
}

fn signer(seed_hex: &str) -> ChunkSigner {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(seed_hex, &mut seed).unwrap();
    ChunkSigner::new(seed, key(), AMZ_DATE, SCOPE)
}

/// Decoded bytes and trailers.
type Decoded = (Vec<u8>, Vec<(String, String)>);

/// Decodes `body` in `frame`-byte pushes, with no minimum chunk size.
fn decode_all(mode: ChunkedMode, body: &[u8], frame: usize) -> Result<Decoded, ChunkError> {
    let mut d = ChunkedDecoder::new(mode).with_min_chunk_size(0);
    let mut out = Vec::new();
    for f in body.chunks(frame.max(1)) {
        d.push(f, &mut out)?;
    }
    Ok((out, d.finish()?))
}

/// The PUT Object example of AWS's "Transferring Payload in Multiple Chunks" page: 65 KiB of
/// `a` in a 64 KiB and a 1 KiB chunk.
fn example_request_headers() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("host", b"s3.amazonaws.com"),
        ("x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        (
            "x-amz-content-sha256",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        ),
        ("content-encoding", b"aws-chunked"),
        ("x-amz-decoded-content-length", b"66560"),
        ("content-length", b"66824"),
    ]
}

fn example_params(secret: &SecretKey) -> SigningParams<'_> {
    SigningParams {
        access_key_id: AKID,
        secret,
        region: "us-east-1",
        service: "s3",
        time: Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap(),
        security_token: None,
    }
}

#[test]
fn aws_example_seed_and_chunk_signatures() {
    let secret = SecretKey::from(SECRET);
    let headers = example_request_headers();
    let req = RequestParts {
        method: "PUT",
        path: "/examplebucket/chunkObject.txt",
        query: "",
        headers: &headers,
        body: b"",
    };
    let signed = sign_with_payload_hash(
        &req,
        &example_params(&secret),
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    )
    .unwrap();
    assert_eq!(
        signed.signature,
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    );

    let data = vec![b'a'; 65 * 1024];
    let mode = ChunkedMode::Signed {
        signer: signer(&signed.signature),
        trailer: false,
    };
    let body = sign_chunked(mode, &data, 64 * 1024, &[]);
    assert_eq!(body.len(), 66824, "the example's Content-Length");
    assert!(body.starts_with(
        b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    ));
    let second = 88 + 65536 + 2;
    assert!(body[second..].starts_with(
        b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
    ));
    assert!(body.ends_with(
        b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
    ));

    // Server side: the headers verify under S3's options without the body, and the decoder
    // built from the verified request checks every chunk.
    let mut server_headers = headers.clone();
    server_headers.push(("authorization", signed.authorization.as_bytes()));
    server_headers.push(("x-amz-date", signed.x_amz_date.as_bytes()));
    let req = RequestParts {
        headers: &server_headers,
        ..req
    };
    let parsed = parse_request(&req).unwrap();
    assert_eq!(
        parsed.content_sha256,
        Some(ContentSha256::Streaming(StreamingForm::SignedPayload))
    );
    let now = Utc.with_ymd_and_hms(2013, 5, 24, 0, 5, 0).unwrap();
    // Every other service refuses the streaming forms, as before.
    let e = verify(&parsed, &req, &secret, now).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("NotImplemented", 501));

    let cache = SigningKeyCache::default();
    cache
        .check_with_options(&parsed, &req, &secret, now, &VerifyOptions::s3())
        .unwrap();
    let key = cache.get_or_derive(&parsed.access_key_id, &secret, &parsed.scope);
    let mode = ChunkedMode::for_request(&parsed, &key).unwrap();
    let mut d = ChunkedDecoder::new(mode).with_decoded_length(66560);
    let mut out = Vec::new();
    for frame in body.chunks(1500) {
        d.push(frame, &mut out).unwrap();
    }
    assert!(d.is_done());
    assert_eq!(d.verified_len(), 66560);
    assert!(d.finish().unwrap().is_empty());
    assert_eq!(out, data);
}

/// The trailer example (AWS's "trailing headers" page, as the AWS SDK for Rust tests it): the
/// same object with a CRC32C trailer.
#[test]
fn aws_example_with_signed_trailer() {
    let data = vec![b'a'; 65 * 1024];
    let crc = ChecksumAlgorithm::Crc32c.checksum_base64(&data);
    assert_eq!(crc, "sOO8/Q==");
    let seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    let mode = ChunkedMode::Signed {
        signer: signer(seed),
        trailer: true,
    };
    let body = sign_chunked(
        mode.clone(),
        &data,
        64 * 1024,
        &[("x-amz-checksum-crc32c", &crc)],
    );
    assert!(body.starts_with(
        b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n"
    ));
    assert!(body.ends_with(
        b"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n"
            .as_slice()
            .iter()
            .chain(&[b'a'; 1024])
            .chain(b"\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n\
x-amz-checksum-crc32c:sOO8/Q==\r\n\
x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n")
            .copied()
            .collect::<Vec<u8>>()
            .as_slice()
    ));
    let (out, trailers) = decode_all(mode.clone(), &body, 4096).unwrap();
    assert_eq!(out, data);
    assert_eq!(
        trailers,
        [("x-amz-checksum-crc32c".to_owned(), "sOO8/Q==".to_owned())]
    );

    // A changed trailer value fails the trailer signature.
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("sOO8/Q==", "sOO8/Q=A");
    assert_eq!(
        decode_all(mode, tampered.as_bytes(), 4096).unwrap_err(),
        ChunkError::SignatureDoesNotMatch
    );
}

/// The AWS SDK for Rust's unsigned-trailer example: 25 bytes in 10-byte chunks, CRC32 trailer.
#[test]
fn sdk_unsigned_trailer_example() {
    let data = b"1234567890123456789012345";
    assert_eq!(ChecksumAlgorithm::Crc32.checksum_base64(data), "78DeVw==");
    let body = b"A\r\n1234567890\r\nA\r\n1234567890\r\n5\r\n12345\r\n0\r\nx-amz-checksum-crc32:78DeVw==\r\n\r\n";
    assert_eq!(
        sign_chunked(
            ChunkedMode::UnsignedTrailer,
            data,
            10,
            &[("x-amz-checksum-crc32", "78DeVw==")]
        ),
        body
    );
    for frame in 1..body.len() {
        let (out, trailers) = decode_all(ChunkedMode::UnsignedTrailer, body, frame).unwrap();
        assert_eq!(out, data);
        assert_eq!(
            trailers,
            [("x-amz-checksum-crc32".to_owned(), "78DeVw==".to_owned())]
        );
    }
}

fn test_signer() -> ChunkSigner {
    ChunkSigner::new([9; 32], key(), AMZ_DATE, SCOPE)
}

#[test]
fn framing_errors() {
    let signed = || ChunkedMode::Signed {
        signer: test_signer(),
        trailer: false,
    };
    let malformed = |mode: ChunkedMode, body: &[u8]| match decode_all(mode, body, 7) {
        Err(ChunkError::Malformed { reason }) => reason,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
    };
    let unsigned = || ChunkedMode::UnsignedTrailer;
    // Size lines.
    assert!(malformed(unsigned(), b"zz\r\n").contains("hexadecimal"));
    assert!(malformed(unsigned(), b"\r\n").contains("hexadecimal"));
    assert!(malformed(unsigned(), b"11111111111111111\r\n").contains("hexadecimal"));
    assert!(malformed(unsigned(), &[b'1'; 5000]).contains("too long"));
    assert!(malformed(unsigned(), b"1\nx\r\n").contains("CRLF"));
    assert!(malformed(unsigned(), b"1;chunk-signature=00\r\n").contains("extensions"));
    assert!(malformed(signed(), b"1\r\n").contains("no chunk-signature"));
    assert!(malformed(signed(), b"1;foo=bar\r\n").contains("other than chunk-signature"));
    assert!(malformed(signed(), b"1;chunk-signature=abc\r\n").contains("64 hex"));
    // Data must be followed by CRLF.
    assert!(malformed(unsigned(), b"1\r\nab\r\n").contains("CRLF"));
    assert!(malformed(unsigned(), b"1\r\na\rx").contains("CRLF"));
    // Trailers.
    assert!(malformed(unsigned(), b"0\r\nno colon\r\n\r\n").contains("name:value"));
    assert!(malformed(unsigned(), b"0\r\na:1\r\nA:2\r\n\r\n").contains("twice"));
    assert!(malformed(unsigned(), b"0\r\nx-amz-trailer-signature:00\r\n\r\n").contains("unsigned"));
    let mut big = b"0\r\n".to_vec();
    for i in 0..1000 {
        big.extend_from_slice(format!("x-amz-meta-padding-{i}:0123456789\r\n").as_bytes());
    }
    assert!(malformed(unsigned(), &big).contains("too long"));
    // Bytes after the end.
    assert!(malformed(unsigned(), b"0\r\n\r\nextra").contains("follow the end"));
    // A trailer line in the form without trailers.
    let mut s = test_signer();
    let sig = hex::encode(s.sign_chunk(b""));
    let body = format!("0;chunk-signature={sig}\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    assert!(malformed(signed(), body.as_bytes()).contains("without a trailer form"));
    // The signed trailer form needs the trailer signature.
    let mut s = test_signer();
    let sig = hex::encode(s.sign_chunk(b""));
    let body = format!("0;chunk-signature={sig}\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    let mode = ChunkedMode::Signed {
        signer: test_signer(),
        trailer: true,
    };
    assert!(malformed(mode, body.as_bytes()).contains("missing"));
}

#[test]
fn incomplete_bodies_and_lengths() {
    let mode = || ChunkedMode::Signed {
        signer: test_signer(),
        trailer: false,
    };
    let data = vec![7u8; 20_000];
    let body = sign_chunked(mode(), &data, 10_000, &[]);
    for cut in [0, 1, 50, 10_000, body.len() - 2, body.len() - 1] {
        let e = decode_all(mode(), &body[..cut], 333).unwrap_err();
        assert_eq!(e, ChunkError::IncompleteBody, "cut at {cut}");
        assert_eq!((e.code(), e.http_status()), ("IncompleteBody", 400));
    }
    // x-amz-decoded-content-length: too few bytes at the end, too many as soon as they show.
    let decode_with = |declared: u64| {
        let mut d = ChunkedDecoder::new(mode()).with_decoded_length(declared);
        let mut out = Vec::new();
        d.push(&body, &mut out)?;
        d.finish()
    };
    assert!(decode_with(20_000).is_ok());
    assert_eq!(
        decode_with(20_001).unwrap_err(),
        ChunkError::LengthMismatch {
            declared: 20_001,
            decoded: 20_000
        }
    );
    let mut d = ChunkedDecoder::new(mode()).with_decoded_length(9_999);
    let e = d.push(&body[..100], &mut Vec::new()).unwrap_err();
    assert_eq!(e.code(), "IncompleteBody");
    // The decoder stays failed.
    assert_eq!(d.push(b"", &mut Vec::new()).unwrap_err(), e);
    assert_eq!(d.finish().unwrap_err(), e);
}

#[test]
fn short_chunks_only_last() {
    // S3's minimum holds in every form, by default.
    let modes = || {
        [
            ChunkedMode::Signed {
                signer: test_signer(),
                trailer: false,
            },
            ChunkedMode::UnsignedTrailer,
        ]
    };
    let data = vec![1u8; 3 * 4096];
    let decode = |mode: ChunkedMode, body: &[u8]| {
        let mut d = ChunkedDecoder::new(mode);
        let mut out = Vec::new();
        d.push(body, &mut out)?;
        d.finish().map(|_| out)
    };
    for (mode, again) in modes().into_iter().zip(modes()) {
        let body = sign_chunked(mode.clone(), &data, 4096, &[]);
        let e = decode(again.clone(), &body).unwrap_err();
        assert_eq!(
            e,
            ChunkError::InvalidChunkSize {
                min: MIN_CHUNK_SIZE
            }
        );
        assert_eq!((e.code(), e.http_status()), ("InvalidChunkSizeError", 400));
        // A short last chunk is fine (and a short only chunk).
        let body = sign_chunked(mode.clone(), &data, 8192, &[]);
        assert_eq!(decode(again.clone(), &body).unwrap(), data);
        let body = sign_chunked(mode, &data[..100], 8192, &[]);
        assert_eq!(decode(again, &body).unwrap(), &data[..100]);
    }
}

#[test]
fn chunks_must_chain() {
    // Two valid chunks swapped (each signed in its own place) fail the chain.
    let mode = || ChunkedMode::Signed {
        signer: test_signer(),
        trailer: false,
    };
    let body = sign_chunked(mode(), &[b'x'; 16_384], 8192, &[]);
    let line = 5 + 17 + 64 + 2 + 8192 + 2;
    let mut swapped = body[line..2 * line].to_vec();
    swapped.extend_from_slice(&body[..line]);
    swapped.extend_from_slice(&body[2 * line..]);
    assert_eq!(
        decode_all(mode(), &swapped, 100).unwrap_err(),
        ChunkError::SignatureDoesNotMatch
    );
    // Another seed fails the first chunk.
    let other = ChunkedMode::Signed {
        signer: ChunkSigner::new([8; 32], key(), AMZ_DATE, SCOPE),
        trailer: false,
    };
    let e = decode_all(other, &body, 100).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
}

/// Options: streaming refused by default, accepted under `allow_streaming`; `defer_payload`
/// takes the claimed hash without reading the body.
#[test]
fn verify_options_for_payloads() {
    let secret = SecretKey::from(SECRET);
    let now = Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap();
    let params = example_params(&secret);
    let body = b"hello";
    let hash = hex::encode(rampart_sigv4::canonical::sha256(body));
    let check = |content_sha256: &str, body: &[u8], opts: &VerifyOptions| {
        let base = [
            ("host", &b"s3.amazonaws.com"[..]),
            ("x-amz-content-sha256", content_sha256.as_bytes()),
        ];
        let req = RequestParts {
            method: "PUT",
            path: "/bucket/key",
            query: "",
            headers: &base,
            body,
        };
        let signed = sign_with_payload_hash(&req, &params, content_sha256).unwrap();
        let mut headers = base.to_vec();
        headers.push(("authorization", signed.authorization.as_bytes()));
        headers.push(("x-amz-date", signed.x_amz_date.as_bytes()));
        let req = RequestParts {
            headers: &headers,
            ..req
        };
        let parsed = parse_request(&req).unwrap();
        let key = SigningKey::for_scope(&secret, &parsed.scope);
        verify_with_options(&parsed, &req, &key, now, opts).map(|_| parsed)
    };
    let default = VerifyOptions::default();
    let deferred = VerifyOptions {
        defer_payload: true,
        ..VerifyOptions::default()
    };
    // Without deferral the body is hashed; with it the claim is taken (the body is not read).
    assert!(check(&hash, body, &default).is_ok());
    assert_eq!(
        check(&hash, b"", &default).unwrap_err().code(),
        "XAmzContentSHA256Mismatch"
    );
    let parsed = check(&hash, b"", &deferred).unwrap();
    assert_eq!(
        parsed.claimed_sha256(),
        Some(rampart_sigv4::canonical::sha256(body))
    );
    // UNSIGNED-PAYLOAD with a body: refused by default, accepted when deferred.
    assert_eq!(
        check("UNSIGNED-PAYLOAD", body, &default)
            .unwrap_err()
            .code(),
        "InvalidArgument"
    );
    assert!(check("UNSIGNED-PAYLOAD", body, &deferred).is_ok());
    // Streaming forms: refused unless allowed, whatever the deferral.
    for form in StreamingForm::ALL {
        for opts in [default, deferred] {
            let e = check(form.as_str(), b"", &opts).unwrap_err();
            assert_eq!((e.code(), e.http_status()), ("NotImplemented", 501));
        }
        let parsed = check(form.as_str(), b"", &VerifyOptions::s3()).unwrap();
        assert_eq!(parsed.streaming_form(), Some(form));
        let key = SigningKey::for_scope(&secret, &parsed.scope);
        let mode = ChunkedMode::for_request(&parsed, &key).unwrap();
        assert_eq!(
            matches!(mode, ChunkedMode::Signed { trailer: true, .. }),
            form == StreamingForm::SignedPayloadTrailer
        );
    }
    // SigV4a's streaming forms stay unimplemented.
    let req = RequestParts {
        method: "PUT",
        path: "/",
        query: "",
        headers: &[
            ("authorization", b"x"),
            (
                "x-amz-content-sha256",
                b"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
            ),
        ],
        body: b"",
    };
    let e = parse_request(&req).unwrap_err();
    assert_eq!(e.code(), "NotImplemented");
    assert!(e.to_string().contains("SigV4a"));
}

#[test]
fn deferred_header_form_needs_content_sha256() {
    let secret = SecretKey::from(SECRET);
    let now = Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap();
    let base = [("host", &b"s3.amazonaws.com"[..])];
    let req = RequestParts {
        method: "GET",
        path: "/bucket/key",
        query: "",
        headers: &base,
        body: b"",
    };
    let signed = rampart_sigv4::sign(&req, &example_params(&secret)).unwrap();
    let mut headers = base.to_vec();
    headers.push(("authorization", signed.authorization.as_bytes()));
    headers.push(("x-amz-date", signed.x_amz_date.as_bytes()));
    let req = RequestParts {
        headers: &headers,
        ..req
    };
    let parsed = parse_request(&req).unwrap();
    let key = SigningKey::for_scope(&secret, &parsed.scope);
    assert!(verify_with_options(&parsed, &req, &key, now, &VerifyOptions::default()).is_ok());
    let e = verify_with_options(&parsed, &req, &key, now, &VerifyOptions::s3()).unwrap_err();
    assert_eq!(e.code(), "InvalidArgument");
    assert!(e.to_string().contains("x-amz-content-sha256"));
}

fn signed_mode(trailer: bool) -> ChunkedMode {
    ChunkedMode::Signed {
        signer: test_signer(),
        trailer,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any split of a valid body across pushes decodes to the same bytes and trailers.
    #[test]
    fn any_split_decodes_the_same(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        chunk in 1usize..700,
        form in 0usize..3,
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let crc = ChecksumAlgorithm::Crc32.checksum_base64(&data);
        let trailers = [("x-amz-checksum-crc32", crc.as_str())];
        let mode = match form {
            0 => signed_mode(false),
            1 => signed_mode(true),
            _ => ChunkedMode::UnsignedTrailer,
        };
        let body = sign_chunked(mode.clone(), &data, chunk, &trailers);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
        points.push(0);
        points.push(body.len());
        points.sort_unstable();
        let mut d = ChunkedDecoder::new(mode)
            .with_min_chunk_size(0)
            .with_decoded_length(data.len() as u64);
        let mut out = Vec::new();
        for w in points.windows(2) {
            d.push(&body[w[0]..w[1]], &mut out).unwrap();
            prop_assert!(d.verified_len() <= d.decoded_len());
        }
        let got = d.finish().unwrap();
        prop_assert_eq!(out, data);
        if form == 0 {
            prop_assert!(got.is_empty());
        } else {
            prop_assert_eq!(got, vec![("x-amz-checksum-crc32".to_owned(), crc)]);
        }
    }

    /// In the signed forms a flipped bit anywhere in the body (data, sizes, signatures,
    /// trailers, CRLFs) is refused; in the data it is a signature mismatch.
    #[test]
    fn flipped_byte_is_refused(
        data in proptest::collection::vec(any::<u8>(), 1..2000),
        chunk in 1usize..500,
        trailer in any::<bool>(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
        frame in 1usize..300,
    ) {
        let trailers = [("x-amz-checksum-crc32c", "AAAAAA==")];
        let body = sign_chunked(signed_mode(trailer), &data, chunk, &trailers);
        let i = at.index(body.len());
        let mut bad = body.clone();
        bad[i] ^= 1 << bit;
        let decode = |body: &[u8]| {
            let mut d = ChunkedDecoder::new(signed_mode(trailer)).with_min_chunk_size(0);
            let mut out = Vec::new();
            for f in body.chunks(frame) {
                d.push(f, &mut out)?;
            }
            d.finish().map(|_| out)
        };
        prop_assert_eq!(decode(&body).unwrap(), data.clone());
        let result = decode(&bad);
        // Changing the case of a hex digit (a size or a signature) or of a trailer name
        // keeps the meaning.
        let case_only = body[i] != bad[i] && body[i].eq_ignore_ascii_case(&bad[i]);
        let in_trailer_name = ["x-amz-checksum-crc32c:", "x-amz-trailer-signature:"]
            .iter()
            .any(|name| {
                body.windows(name.len())
                    .position(|w| w == name.as_bytes())
                    .is_some_and(|at| (at..at + name.len()).contains(&i))
            });
        let same = case_only && (body[i].is_ascii_hexdigit() || in_trailer_name);
        prop_assert!(result.is_err() || same, "flip at {} accepted", i);
    }

    /// Arbitrary input never panics, and never decodes to more bytes than it holds.
    #[test]
    fn arbitrary_input_is_refused_or_decoded(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            "([0-9a-fA-F]{1,3}(;chunk-signature=[0-9a-f]{64})?\r\n[a-z]{0,20}\r\n){0,4}0\r\n([a-z-]{1,10}:[ -~]{0,10}\r\n){0,2}\r\n"
                .prop_map(String::into_bytes),
        ],
        form in 0usize..3,
        frame in 1usize..50,
    ) {
        let mode = match form {
            0 => signed_mode(false),
            1 => signed_mode(true),
            _ => ChunkedMode::UnsignedTrailer,
        };
        let mut d = ChunkedDecoder::new(mode).with_min_chunk_size(0);
        let mut out = Vec::new();
        let mut ok = true;
        for f in body.chunks(frame) {
            ok = d.push(f, &mut out).is_ok();
            if !ok {
                break;
            }
        }
        prop_assert!(out.len() <= body.len());
        if ok {
            let _ = d.finish();
        }
    }

    /// A flipped byte inside chunk data is a signature mismatch.
    #[test]
    fn flipped_data_byte_is_a_signature_mismatch(
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        chunk in 1usize..800,
        at in any::<prop::sample::Index>(),
        frame in 1usize..500,
    ) {
        let body = sign_chunked(signed_mode(false), &data, chunk, &[]);
        // Locate the data bytes: walk the chunks as the encoder wrote them.
        let mut offsets = Vec::new();
        let mut pos = 0;
        for piece in data.chunks(chunk) {
            let header = format!("{:x}", piece.len()).len() + 17 + 64 + 2;
            offsets.extend(pos + header..pos + header + piece.len());
            pos += header + piece.len() + 2;
        }
        let i = offsets[at.index(offsets.len())];
        let mut bad = body;
        bad[i] ^= 0x20;
        let mut d = ChunkedDecoder::new(signed_mode(false)).with_min_chunk_size(0);
        let mut out = Vec::new();
        let mut result = Ok(());
        for f in bad.chunks(frame) {
            result = d.push(f, &mut out);
            if result.is_err() {
                break;
            }
        }
        prop_assert_eq!(result.and_then(|()| d.finish().map(|_| ())), Err(ChunkError::SignatureDoesNotMatch));
    }
}

/// The unverified mode reads signed framing (real signatures or zeros) without checking it;
/// a signed decoder refuses the zero signatures.
#[test]
fn unverified_mode_reads_framing_only() {
    let data = vec![b'z'; 3 * MIN_CHUNK_SIZE as usize + 5];
    for trailer in [false, true] {
        let trailers: &[(&str, &str)] = if trailer {
            &[("x-amz-checksum-crc32", "AAAAAA==")]
        } else {
            &[]
        };
        let real = sign_chunked(
            signed_mode(trailer),
            &data,
            MIN_CHUNK_SIZE as usize,
            trailers,
        );
        let zeros = sign_chunked(
            ChunkedMode::Unverified { trailer },
            &data,
            MIN_CHUNK_SIZE as usize,
            trailers,
        );
        for body in [&real, &zeros] {
            let out = decode_all(ChunkedMode::Unverified { trailer }, body, 777).expect("decodes");
            assert_eq!(out.0, data);
        }
        assert_eq!(
            decode_all(signed_mode(trailer), &zeros, 777).err(),
            Some(ChunkError::SignatureDoesNotMatch)
        );
    }
}
