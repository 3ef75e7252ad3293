//! AWS Signature Version 4 for a server: parse the `Authorization` header or presigned-URL
//! query into a [`ParsedAuth`] without any key lookup, then [`verify`] it with the secret the
//! server looked up. Signing ([`sign`], [`presign`]) is here for tests, benchmarks and load
//! generators.
//!
//! S3 bodies are verified while they stream, never held whole: verify the headers with
//! [`VerifyOptions::s3`] (`defer_payload` and `allow_streaming`; every other service keeps the
//! defaults, which refuse the `STREAMING-*` forms with `NotImplemented`), then check the body
//! as it arrives:
//! - a hex `x-amz-content-sha256`: hash the body ([`checksum`]'s SHA-256) and compare with
//!   [`ParsedAuth::claimed_sha256`] (`XAmzContentSHA256Mismatch` when different);
//! - a streaming form: feed the body to a [`chunked::ChunkedDecoder`] built from
//!   [`chunked::ChunkedMode::for_request`] (with the signing key the headers verified with) and
//!   `x-amz-decoded-content-length`; it checks every chunk signature and gives the trailers
//!   (check an `x-amz-checksum-*` trailer with [`checksum`]);
//! - `UNSIGNED-PAYLOAD`: nothing to check but any `x-amz-checksum-*` header.
//!
//! ```
//! use rampart_sigv4::{parse_request, sign, verify, RequestParts, SecretKey, SigningParams};
//! use chrono::{TimeZone, Utc};
//!
//! let secret = SecretKey::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
//! let now = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
//! let body = b"Action=GetCallerIdentity&Version=2011-06-15";
//! let base = [
//!     ("host", &b"sts.amazonaws.com"[..]),
//!     ("content-type", &b"application/x-www-form-urlencoded; charset=utf-8"[..]),
//! ];
//! let req = RequestParts { method: "POST", path: "/", query: "", headers: &base, body };
//! let params = SigningParams {
//!     access_key_id: "AKIDEXAMPLE", secret: &secret, region: "us-east-1", service: "sts",
//!     time: now, security_token: None,
//! };
//! let signed = sign(&req, &params).unwrap();
//!
//! // Server side:
//! let mut headers: Vec<(&str, &[u8])> = base.to_vec();
//! headers.push(("authorization", signed.authorization.as_bytes()));
//! headers.push(("x-amz-date", signed.x_amz_date.as_bytes()));
//! let req = RequestParts { headers: &headers, ..req };
//! let parsed = parse_request(&req).unwrap();          // no key lookup yet
//! assert_eq!(parsed.access_key_id.as_str(), "AKIDEXAMPLE");
//! let scope = verify(&parsed, &req, &secret, now).unwrap();
//! assert_eq!(scope.scope.service, "sts");
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

pub mod canonical;
pub mod checksum;
pub mod chunked;
pub mod error;
pub mod parse;
pub mod secret;
pub mod sign;
pub mod verify;

pub use canonical::{UriRules, EMPTY_SHA256_HEX};
pub use checksum::{ChecksumAlgorithm, ChecksumHasher};
pub use chunked::{ChunkError, ChunkSigner, ChunkedDecoder, ChunkedMode};
pub use error::{Mismatch, SigV4Error};
pub use parse::{
    parse_authorization, parse_credential, parse_presigned_query, parse_request, AuthKind,
    AuthorizationHeader, ContentSha256, CredentialScope, ParsedAuth, PresignedParams,
    SignedHeaders, StreamingForm, MAX_PRESIGNED_EXPIRES_SECS, UNSIGNED_PAYLOAD,
};
pub use secret::{AccessKeyId, SecretKey, SigningKey};
pub use sign::{
    presign, sign, sign_chunked, sign_with_payload_hash, sign_with_uri_rules, SignedRequest,
    SigningParams,
};
pub use verify::{
    check_time, verify, verify_with_key, verify_with_options, SigningKeyCache, VerifiedScope,
    VerifyOptions, MAX_CLOCK_SKEW,
};

/// The parts of an HTTP request SigV4 looks at, borrowed from the server's request.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method (`GET`, `POST`, ...).
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded), without the query.
    pub path: &'a str,
    /// The raw query string without `?` (empty when none).
    pub query: &'a str,
    /// Every header as (name, value); names in any case; repeated names allowed, in order.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The whole body.
    pub body: &'a [u8],
}
