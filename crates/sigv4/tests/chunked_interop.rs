//! Chunked uploads signed by the official `aws-sigv4` crate (the seed request as the AWS SDK
//! for Rust signs an S3 PutObject, then its `sign_chunk` / `sign_trailer`) verify and decode
//! here.

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

use std::time::{Duration as StdDuration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign as aws_sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::http::Headers;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use rampart_sigv4::{
    parse_request, ChecksumAlgorithm, ChunkError, ChunkedDecoder, ChunkedMode, RequestParts,
    SecretKey, SigningKeyCache, StreamingForm, VerifyOptions,
};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A PutObject signed by aws-sigv4 with S3's settings, its body encoded with aws-sigv4's
/// chunk and trailer signatures. Gives the request's headers and the encoded body.
fn sdk_upload(
    form: StreamingForm,
    data: &[u8],
    chunk: usize,
    trailers: &[(&str, &str)],
) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let identity: Identity = Credentials::new(AKID, SECRET, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let time = SystemTime::UNIX_EPOCH + StdDuration::from_secs(1_714_557_600); // 2024-05-01T10:00Z
    let params = || -> v4::SigningParams<'_, SigningSettings> {
        v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-3")
            .name("s3")
            .time(time)
            .settings(settings.clone())
            .build()
            .unwrap()
    };
    let uri = "http://bucket.s3.localhost:4566/dir/my%20key.txt";
    let decoded_len = data.len().to_string();
    let headers = [
        ("host", "bucket.s3.localhost:4566"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", decoded_len.as_str()),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ];
    let body = match form {
        StreamingForm::UnsignedPayloadTrailer => SignableBody::StreamingUnsignedPayloadTrailer,
        StreamingForm::SignedPayloadTrailer => SignableBody::StreamingSignedPayloadTrailer,
        StreamingForm::SignedPayload => SignableBody::Precomputed(form.as_str().to_owned()),
    };
    let signable = SignableRequest::new("PUT", uri, headers.iter().copied(), body).unwrap();
    let (instructions, seed) = aws_sign(signable, &params().into()).unwrap().into_parts();
    let mut req = http::Request::builder().method("PUT").uri(uri);
    for (n, v) in &headers {
        req = req.header(*n, *v);
    }
    let mut req = req.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();

    let params = params();
    let mut out = Vec::new();
    let mut running = seed;
    let signed = form.is_signed();
    let mut pieces: Vec<&[u8]> = data.chunks(chunk).collect();
    pieces.push(&[]);
    for piece in pieces {
        out.extend_from_slice(format!("{:X}", piece.len()).as_bytes());
        if signed {
            let sig = v4::sign_chunk(&Bytes::copy_from_slice(piece), &running, &params)
                .unwrap()
                .into_parts()
                .1;
            out.extend_from_slice(format!(";chunk-signature={sig}").as_bytes());
            running = sig;
        }
        out.extend_from_slice(b"\r\n");
        if !piece.is_empty() {
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
    }
    if form.has_trailer() {
        let mut h = Headers::new();
        for (n, v) in trailers {
            out.extend_from_slice(format!("{n}:{v}\r\n").as_bytes());
            h.insert(n.to_string(), v.to_string());
        }
        if signed {
            let sig = v4::sign_trailer(&h, &running, &params)
                .unwrap()
                .into_parts()
                .1;
            out.extend_from_slice(format!("x-amz-trailer-signature:{sig}\r\n").as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    (headers, out)
}

/// Decoded bytes and trailers.
type Decoded = (Vec<u8>, Vec<(String, String)>);

/// Verifies the headers as the S3 path would and decodes the body in `frame`-byte pushes.
fn server_side(
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    frame: usize,
) -> Result<Decoded, ChunkError> {
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = RequestParts {
        method: "PUT",
        path: "/dir/my%20key.txt",
        query: "",
        headers: &headers,
        body: b"",
    };
    let parsed = parse_request(&req).unwrap();
    let secret = SecretKey::from(SECRET);
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 10, 1, 0).unwrap();
    let cache = SigningKeyCache::default();
    cache
        .check_with_options(&parsed, &req, &secret, now, &VerifyOptions::s3())
        .unwrap();
    let key = cache.get_or_derive(&parsed.access_key_id, &secret, &parsed.scope);
    let declared: u64 = std::str::from_utf8(
        headers
            .iter()
            .find(|(n, _)| *n == "x-amz-decoded-content-length")
            .unwrap()
            .1,
    )
    .unwrap()
    .parse()
    .unwrap();
    let mut d = ChunkedDecoder::new(ChunkedMode::for_request(&parsed, &key).unwrap())
        .with_decoded_length(declared);
    let mut out = Vec::new();
    for f in body.chunks(frame) {
        d.push(f, &mut out)?;
    }
    Ok((out, d.finish()?))
}

#[test]
fn aws_sdk_chunked_uploads_verify() {
    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let crc = ChecksumAlgorithm::Crc32.checksum_base64(&data);
    let sha = ChecksumAlgorithm::Sha256.checksum_base64(&data);
    // Two trailers, not in name order: the trailer signature sorts them.
    let trailers = [
        ("x-amz-checksum-sha256", sha.as_str()),
        ("x-amz-checksum-crc32", crc.as_str()),
    ];
    for form in StreamingForm::ALL {
        let (headers, body) = sdk_upload(form, &data, 16 * 1024, &trailers);
        for frame in [1, 97, 8192, body.len()] {
            let (out, got) = server_side(&headers, &body, frame).unwrap();
            assert_eq!(out, data, "{form:?}");
            if form.has_trailer() {
                assert_eq!(
                    got,
                    [
                        ("x-amz-checksum-sha256".to_owned(), sha.clone()),
                        ("x-amz-checksum-crc32".to_owned(), crc.clone()),
                    ]
                );
                let alg = ChecksumAlgorithm::from_header_name(&got[1].0).unwrap();
                assert_eq!(alg.checksum_base64(&out), got[1].1);
            } else {
                assert!(got.is_empty());
            }
        }
        // One changed data byte: a signature mismatch in the signed forms (the unsigned form
        // leaves it to the checksum).
        let mut bad = body.clone();
        let i = bad.len() / 2;
        bad[i] ^= 1;
        match server_side(&headers, &bad, 4096) {
            Err(e) => {
                assert!(form.is_signed());
                assert_eq!(e, ChunkError::SignatureDoesNotMatch);
            }
            Ok((out, got)) => {
                assert!(!form.is_signed());
                assert_ne!(ChecksumAlgorithm::Crc32.checksum_base64(&out), got[1].1);
            }
        }
    }
}
