//! Verify of a typical STS GetCallerIdentity POST (as the aws CLI sends it), with the signing
//! key derived per request, cached in a `SigningKeyCache`, and pre-derived.

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
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rampart_sigv4::{
    parse_request, sign, verify, verify_with_key, RequestParts, SecretKey, SigningKey,
    SigningKeyCache, SigningParams,
};

fn bench(c: &mut Criterion) {
    let secret = SecretKey::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
    let body: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";
    let base: Vec<(&str, &[u8])> = vec![
        ("host", b"127.0.0.1:4566"),
        (
            "content-type",
            b"application/x-www-form-urlencoded; charset=utf-8",
        ),
        ("content-length", b"43"),
    ];
    let unsigned = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &base,
        body,
    };
    let params = SigningParams {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret: &secret,
        region: "us-east-1",
        service: "sts",
        time: now,
        security_token: None,
    };
    let signed = sign(&unsigned, &params).expect("sign");
    let mut headers = base.clone();
    headers.push(("accept-encoding", b"identity"));
    headers.push(("user-agent", b"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/sts.get-caller-identity"));
    headers.push(("x-amz-date", signed.x_amz_date.as_bytes()));
    headers.push(("authorization", signed.authorization.as_bytes()));
    let req = RequestParts {
        headers: &headers,
        ..unsigned
    };
    let parsed = parse_request(&req).expect("parse");
    verify(&parsed, &req, &secret, now).expect("verify");

    c.bench_function("sts_get_caller_identity/parse", |b| {
        b.iter(|| parse_request(black_box(&req)))
    });
    c.bench_function("sts_get_caller_identity/parse+verify (derive key)", |b| {
        b.iter(|| {
            let p = parse_request(black_box(&req)).expect("parse");
            verify(&p, &req, &secret, now).expect("verify")
        })
    });
    let cache = SigningKeyCache::default();
    c.bench_function(
        "sts_get_caller_identity/parse+verify (SigningKeyCache)",
        |b| {
            b.iter(|| {
                let p = parse_request(black_box(&req)).expect("parse");
                cache.verify(&p, &req, &secret, now).expect("verify")
            })
        },
    );
    let key = SigningKey::for_scope(&secret, &parsed.scope);
    c.bench_function("sts_get_caller_identity/verify (pre-derived key)", |b| {
        b.iter(|| verify_with_key(black_box(&parsed), &req, &key, now).expect("verify"))
    });
    c.bench_function("signing_key/derive", |b| {
        b.iter(|| SigningKey::for_scope(black_box(&secret), &parsed.scope))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
