//! Requests signed by the official `aws-sigv4` crate verify here; tampering, wrong secrets,
//! wrong dates, clock skew and expired presigned URLs fail with AWS's errors.

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
    sign as aws_sign, PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rampart_sigv4::{
    parse_request, presign, sign, verify, AuthKind, Mismatch, RequestParts, SecretKey, SigV4Error,
    SigningKeyCache, SigningParams,
};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "FwoGZXIvYXdzEBYaDH+session/token==";
const STS_BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()
}

/// An owned request (as the server would hold it).
#[derive(Clone, Debug)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Req {
    fn with<R>(&self, f: impl FnOnce(&RequestParts<'_>) -> R) -> R {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        f(&RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        })
    }

    fn check(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<rampart_sigv4::VerifiedScope, SigV4Error> {
        self.with(|r| {
            let parsed = parse_request(r)?;
            verify(&parsed, r, &SecretKey::from(secret), now)
        })
    }

    fn set_header(&mut self, name: &str, value: &str) {
        for (n, v) in &mut self.headers {
            if n.eq_ignore_ascii_case(name) {
                *v = value.as_bytes().to_vec();
            }
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
    }
}

struct Spec<'a> {
    method: &'a str,
    uri: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
    region: &'a str,
    service: &'a str,
    token: Option<&'a str>,
    presign: Option<u64>,
    checksum_header: bool,
}

fn sts_spec<'a>() -> Spec<'a> {
    Spec {
        method: "POST",
        uri: "http://127.0.0.1:4566/",
        headers: vec![
            ("host", "127.0.0.1:4566"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("user-agent", "aws-cli/2.15.0 Python/3.11"),
        ],
        body: STS_BODY,
        region: "eu-west-3",
        service: "sts",
        token: None,
        presign: None,
        checksum_header: false,
    }
}

/// Signs with the official aws-sigv4 crate and returns the request as the server sees it.
fn aws_signed(spec: &Spec<'_>, time: DateTime<Utc>) -> Req {
    let identity: Identity =
        Credentials::new(AKID, SECRET, spec.token.map(str::to_owned), None, "test").into();
    let mut settings = SigningSettings::default();
    if let Some(secs) = spec.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(StdDuration::from_secs(secs));
    }
    if spec.checksum_header {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let systime = SystemTime::UNIX_EPOCH + StdDuration::from_secs(time.timestamp() as u64);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(spec.region)
        .name(spec.service)
        .time(systime)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        spec.method,
        spec.uri,
        spec.headers.iter().copied(),
        SignableBody::Bytes(spec.body),
    )
    .unwrap();
    let (instructions, _sig) = aws_sign(signable, &params).unwrap().into_parts();
    let mut builder = http::Request::builder().method(spec.method).uri(spec.uri);
    for (n, v) in &spec.headers {
        builder = builder.header(*n, *v);
    }
    let mut req = builder.body(spec.body.to_vec()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    let uri = req.uri().clone();
    Req {
        method: req.method().to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
        body: req.body().clone(),
    }
}

fn code(r: Result<rampart_sigv4::VerifiedScope, SigV4Error>) -> &'static str {
    match r {
        Ok(_) => "Ok",
        Err(e) => e.code(),
    }
}

#[test]
fn aws_sdk_header_signed_sts_post_verifies() {
    let req = aws_signed(&sts_spec(), t0());
    let scope = req.check(SECRET, t0()).unwrap();
    assert_eq!(scope.access_key_id.as_str(), AKID);
    assert_eq!(scope.scope.region, "eu-west-3");
    assert_eq!(scope.scope.service, "sts");
    assert_eq!(scope.scope.date, "20240501");
    assert!(!scope.presigned);
    assert_eq!(scope.security_token, None);
}

#[test]
fn aws_sdk_variants_verify() {
    let mut specs = Vec::new();
    specs.push(Spec {
        token: Some(TOKEN),
        ..sts_spec()
    });
    specs.push(Spec {
        checksum_header: true,
        ..sts_spec()
    });
    specs.push(Spec {
        method: "GET",
        uri: "http://127.0.0.1:4566/?Action=GetCallerIdentity&Version=2011-06-15&Tag.member.1=a%20b%2Bc%2F~",
        body: b"",
        ..sts_spec()
    });
    specs.push(Spec {
        method: "GET",
        uri: "http://127.0.0.1:4566/some%20path/with%E1%88%B4/./../x//y?b=2&a=1&a=0",
        body: b"",
        region: "us-east-1",
        service: "execute-api",
        ..sts_spec()
    });
    specs.push(Spec {
        headers: vec![
            ("host", "localhost:4566"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.ListKeys"),
            ("x-custom", "  spaced    value  "),
        ],
        body: b"{}",
        service: "kms",
        ..sts_spec()
    });
    specs.push(Spec {
        presign: Some(900),
        method: "GET",
        uri: "http://127.0.0.1:4566/?Action=GetCallerIdentity&Version=2011-06-15",
        body: b"",
        ..sts_spec()
    });
    specs.push(Spec {
        presign: Some(604_800),
        token: Some(TOKEN),
        method: "GET",
        uri: "http://127.0.0.1:4566/?Action=GetCallerIdentity&Version=2011-06-15",
        body: b"",
        ..sts_spec()
    });
    for (i, spec) in specs.iter().enumerate() {
        let req = aws_signed(spec, t0());
        let scope = req
            .check(SECRET, t0() + Duration::minutes(3))
            .unwrap_or_else(|e| panic!("spec {i}: {e} {req:?}"));
        assert_eq!(scope.scope.service, spec.service);
        assert_eq!(scope.security_token.as_deref(), spec.token, "spec {i}");
        assert_eq!(scope.presigned, spec.presign.is_some(), "spec {i}");
        assert_eq!(
            code(req.check("wrong-secret", t0())),
            "SignatureDoesNotMatch",
            "spec {i}"
        );
    }
}

#[test]
fn tampering_with_any_signed_part_fails() {
    let base = aws_signed(
        &Spec {
            token: Some(TOKEN),
            ..sts_spec()
        },
        t0(),
    );
    assert_eq!(code(base.check(SECRET, t0())), "Ok");
    let mut cases: Vec<(&str, Req)> = Vec::new();
    let mut r = base.clone();
    r.method = "PUT".into();
    cases.push(("method", r));
    let mut r = base.clone();
    r.path = "/x".into();
    cases.push(("path", r));
    let mut r = base.clone();
    r.query = "Action=CreateUser".into();
    cases.push(("query", r));
    let mut r = base.clone();
    r.body = b"Action=GetCallerIdentity&Version=2011-06-16".to_vec();
    cases.push(("body", r));
    for h in ["host", "content-type", "x-amz-security-token"] {
        let mut r = base.clone();
        r.set_header(h, "tampered");
        cases.push((h, r));
    }
    let mut r = base.clone();
    r.headers
        .push(("content-type".into(), b"text/plain".to_vec()));
    cases.push(("repeated signed header", r));
    let authz = base.header("authorization").unwrap();
    for (what, from, to) in [
        ("signature", "Signature=", "Signature=0"),
        ("region", "/eu-west-3/", "/us-east-1/"),
        ("service", "/sts/", "/iam/"),
        (
            "signed headers",
            "SignedHeaders=content-type;",
            "SignedHeaders=",
        ),
    ] {
        let mut r = base.clone();
        let new = if what == "signature" {
            let sig = authz.rsplit("Signature=").next().unwrap();
            let mut flipped: Vec<u8> = sig.bytes().collect();
            flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
            authz.replace(sig, std::str::from_utf8(&flipped).unwrap())
        } else {
            authz.replacen(from, to, 1)
        };
        assert_ne!(new, authz, "{what}");
        r.set_header("authorization", &new);
        cases.push((what, r));
    }
    // (The access key id is not in the string to sign: changing it makes the server look up
    // another key's secret, which is the wrong-secret case.)
    for (what, r) in cases {
        assert_eq!(
            code(r.check(SECRET, t0())),
            "SignatureDoesNotMatch",
            "{what}"
        );
    }
    // Unsigned headers (the SDKs never sign user-agent) may change on the way.
    let mut r = base.clone();
    r.set_header("user-agent", "tampered");
    r.headers
        .push(("x-forwarded-for".into(), b"10.0.0.1".to_vec()));
    assert_eq!(code(r.check(SECRET, t0())), "Ok");
}

#[test]
fn dates_and_clock_window() {
    let req = aws_signed(&sts_spec(), t0());
    // Within the window on both sides.
    for m in [-15, -1, 0, 1, 15] {
        assert_eq!(
            code(req.check(SECRET, t0() + Duration::minutes(m))),
            "Ok",
            "{m}"
        );
    }
    // Signed 16 minutes ago.
    let e = req.check(SECRET, t0() + Duration::minutes(16)).unwrap_err();
    assert_eq!(e.code(), "SignatureDoesNotMatch");
    assert_eq!(e.http_status(), 403);
    assert_eq!(
        e.to_string(),
        "Signature expired: 20240501T100000Z is now earlier than 20240501T100100Z (20240501T101600Z - 15 min.)"
    );
    // Signed 16 minutes in the future.
    let e = req.check(SECRET, t0() - Duration::minutes(16)).unwrap_err();
    assert!(matches!(
        e,
        SigV4Error::SignatureDoesNotMatch(Mismatch::NotYetCurrent { .. })
    ));
    assert_eq!(
        e.to_string(),
        "Signature not yet current: 20240501T100000Z is still later than 20240501T095900Z (20240501T094400Z + 15 min.)"
    );
    // X-Amz-Date changed after signing.
    let mut r = req.clone();
    r.set_header("x-amz-date", "20240501T100001Z");
    assert_eq!(code(r.check(SECRET, t0())), "SignatureDoesNotMatch");
    // Credential scope date differs from X-Amz-Date.
    let mut r = req.clone();
    r.set_header("x-amz-date", "20240502T100000Z");
    let e = r.check(SECRET, t0() + Duration::days(1)).unwrap_err();
    assert!(
        matches!(
            e,
            SigV4Error::SignatureDoesNotMatch(Mismatch::ScopeDate { .. })
        ),
        "{e:?}"
    );
    // A bad X-Amz-Date.
    let mut r = req.clone();
    r.set_header("x-amz-date", "2024-05-01T10:00:00Z");
    assert_eq!(code(r.check(SECRET, t0())), "IncompleteSignature");
}

#[test]
fn presigned_expiry() {
    let spec = Spec {
        presign: Some(3600),
        method: "GET",
        uri: "http://127.0.0.1:4566/?Action=GetCallerIdentity&Version=2011-06-15",
        body: b"",
        ..sts_spec()
    };
    let req = aws_signed(&spec, t0());
    // Presigned URLs live for X-Amz-Expires, not 15 minutes.
    assert_eq!(code(req.check(SECRET, t0() + Duration::minutes(59))), "Ok");
    assert_eq!(
        code(req.check(SECRET, t0() + Duration::seconds(3600))),
        "Ok"
    );
    let e = req
        .check(SECRET, t0() + Duration::seconds(3601))
        .unwrap_err();
    assert_eq!(e.code(), "RequestExpired");
    assert_eq!(e.to_string(), "Request has expired.");
    // Not usable long before its date either.
    assert_eq!(
        code(req.check(SECRET, t0() - Duration::minutes(16))),
        "SignatureDoesNotMatch"
    );
    // Tampering with X-Amz-Expires breaks the signature.
    let mut r = req.clone();
    r.query = r.query.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200");
    assert_eq!(code(r.check(SECRET, t0())), "SignatureDoesNotMatch");
    // More than 7 days is refused outright.
    let mut r = req.clone();
    r.query = r
        .query
        .replace("X-Amz-Expires=3600", "X-Amz-Expires=604801");
    assert_eq!(code(r.check(SECRET, t0())), "IncompleteSignature");
}

#[test]
fn missing_and_incomplete() {
    let req = aws_signed(&sts_spec(), t0());
    let mut r = req.clone();
    r.headers.retain(|(n, _)| n != "authorization");
    let e = r.check(SECRET, t0()).unwrap_err();
    assert_eq!(e, SigV4Error::MissingAuthenticationToken);
    assert_eq!(e.http_status(), 403);
    let mut r = req.clone();
    r.headers.retain(|(n, _)| n != "x-amz-date");
    let e = r.check(SECRET, t0()).unwrap_err();
    assert_eq!(e.code(), "IncompleteSignature");
    assert!(e.to_string().starts_with(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 "
    ));
    // Both mechanisms at once.
    let mut r = req.clone();
    r.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256".into();
    assert_eq!(code(r.check(SECRET, t0())), "InvalidArgument");
}

#[test]
fn content_sha256_header() {
    let spec = Spec {
        checksum_header: true,
        ..sts_spec()
    };
    let req = aws_signed(&spec, t0());
    assert!(req.header("x-amz-content-sha256").is_some());
    // Body changed but header still claims the old hash.
    let mut r = req.clone();
    r.body.push(b'x');
    assert_eq!(code(r.check(SECRET, t0())), "XAmzContentSHA256Mismatch");
    // Streaming forms are refused explicitly.
    let mut r = req.clone();
    r.set_header("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    let e = r.check(SECRET, t0()).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("NotImplemented", 501));
    let mut r = req.clone();
    r.set_header("x-amz-content-sha256", "nonsense");
    assert_eq!(code(r.check(SECRET, t0())), "InvalidArgument");
    // UNSIGNED-PAYLOAD with a body is refused (the body carries the action).
    let mut r = req.clone();
    r.set_header("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    assert_eq!(code(r.check(SECRET, t0())), "InvalidArgument");
}

#[test]
fn our_signer_verifies_and_matches_aws_sdk() {
    let spec = sts_spec();
    let aws = aws_signed(&spec, t0());
    let secret = SecretKey::from(SECRET);
    let params = SigningParams {
        access_key_id: AKID,
        secret: &secret,
        region: "eu-west-3",
        service: "sts",
        time: t0(),
        security_token: None,
    };
    let headers: Vec<(&str, &[u8])> = spec
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_bytes()))
        .collect();
    let parts = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: STS_BODY,
    };
    let ours = sign(&parts, &params).unwrap();
    assert_eq!(
        Some(ours.authorization.clone()),
        aws.header("authorization")
    );

    // Presign for a load generator: a GET with the query parameters, valid for an hour.
    let host: [(&str, &[u8]); 1] = [("host", b"127.0.0.1:4566")];
    let get = RequestParts {
        method: "GET",
        path: "/",
        query: "Action=GetCallerIdentity&Version=2011-06-15",
        headers: &host,
        body: b"",
    };
    let query = presign(&get, &params, 3600).unwrap();
    let r = Req {
        method: "GET".into(),
        path: "/".into(),
        query,
        headers: vec![("host".into(), b"127.0.0.1:4566".to_vec())],
        body: vec![],
    };
    let scope = r.check(SECRET, t0() + Duration::minutes(30)).unwrap();
    assert!(scope.presigned);
    r.with(|p| {
        let parsed = parse_request(p).unwrap();
        assert_eq!(
            parsed.kind,
            AuthKind::Presigned {
                expires_secs: Some(3600)
            }
        );
    });
}

#[test]
fn signing_key_cache() {
    let cache = SigningKeyCache::new(2);
    let req = aws_signed(&sts_spec(), t0());
    req.with(|r| {
        let parsed = parse_request(r).unwrap();
        let secret = SecretKey::from(SECRET);
        cache.verify(&parsed, r, &secret, t0()).unwrap();
        cache.verify(&parsed, r, &secret, t0()).unwrap();
        assert_eq!(cache.len(), 1);
        // A rotated secret is not served the stale cached key.
        let e = cache
            .verify(&parsed, r, &SecretKey::from("rotated"), t0())
            .unwrap_err();
        assert_eq!(e.code(), "SignatureDoesNotMatch");
        cache.verify(&parsed, r, &secret, t0()).unwrap();
        cache.invalidate(&parsed.access_key_id);
        assert!(cache.is_empty());
    });
}
