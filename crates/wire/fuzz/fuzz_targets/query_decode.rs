//! Fuzzes awsQuery decoding: routing, form parsing, shape-driven decode, validation, and the
//! error envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_wire::{decode_request, HttpRequest};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the signed service, the rest is the form body.
    let (signed, body) = match data.split_first() {
        Some((b, rest)) => (
            ["iam", "sts", "kms", "nope"]
                .get(usize::from(*b) % 5)
                .copied(),
            rest,
        ),
        None => (None, data),
    };
    let query = std::str::from_utf8(body).unwrap_or("");
    for req in [
        HttpRequest {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            signed_service: signed,
            body,
            ..Default::default()
        },
        HttpRequest {
            method: "GET",
            query,
            signed_service: signed,
            ..Default::default()
        },
    ] {
        if let Err(f) = decode_request(&req) {
            let _ = f.encode("fuzz");
        }
    }
});
