//! Costs of the credential checks: a TOTP code check (the STS and sign-in path), argon2id
//! hashing and verification of a password (every password set and sign-in), and the QR code
//! PNG of a new virtual MFA device.

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

use chrono::Utc;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rampart_iam::{passwords, totp};

fn checks(c: &mut Criterion) {
    let seed = totp::new_seed().expect("seed");
    let now = Utc::now();
    let good = totp::code_at(&seed, totp::step_of(now));
    c.bench_function("totp_check_good_code", |b| {
        b.iter(|| {
            totp::find_step(
                black_box(&seed),
                black_box(&good),
                now,
                totp::AUTH_WINDOW,
                None,
            )
        })
    });
    c.bench_function("totp_check_wrong_code", |b| {
        b.iter(|| {
            totp::find_step(
                black_box(&seed),
                black_box("000000"),
                now,
                totp::AUTH_WINDOW,
                None,
            )
        })
    });
    c.bench_function("totp_enable_pair_worst_case", |b| {
        b.iter(|| totp::find_consecutive(black_box(&seed), "000000", "000001", now, None))
    });
    let hash = passwords::hash("Bench-pass-1!").expect("hash");
    let mut slow = c.benchmark_group("argon2id");
    slow.sample_size(20);
    slow.bench_function("hash_password", |b| {
        b.iter(|| passwords::hash(black_box("Bench-pass-1!")))
    });
    slow.bench_function("verify_password", |b| {
        b.iter(|| passwords::verify(black_box(&hash), black_box("Bench-pass-1!")))
    });
    slow.finish();
    let uri = totp::otpauth_uri("alice-phone", "alice", &totp::base32(&seed));
    c.bench_function("qr_code_png", |b| b.iter(|| totp::qr_png(black_box(&uri))));
}

criterion_group!(benches, checks);
criterion_main!(benches);
