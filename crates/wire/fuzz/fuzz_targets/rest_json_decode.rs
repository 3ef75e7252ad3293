//! Fuzzes restJson1 decoding: URI-template matching (labels, greedy labels, percent-decoding),
//! query and header bindings, JSON body type checks, validation, and the error envelope. The
//! first byte picks the signed service and method; the first line is the path and query, the
//! second a header value, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_wire::{decode_request, HttpRequest};

const SERVICES: [Option<&str>; 6] = [
    Some("guardduty"),
    Some("securityhub"),
    Some("access-analyzer"),
    Some("inspector2"),
    Some("macie2"),
    None,
];
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

fuzz_target!(|data: &[u8]| {
    let (pick, rest) = match data.split_first() {
        Some((b, rest)) => (usize::from(*b), rest),
        None => (0, data),
    };
    let signed = SERVICES[pick % SERVICES.len()];
    let method = METHODS[(pick / SERVICES.len()) % METHODS.len()];
    let mut lines = rest.splitn(3, |b| *b == b'\n');
    let target = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let header = lines.next().unwrap_or_default();
    let body = lines.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let headers: [(&str, &[u8]); 2] = [("x-amz-meta-a", header), ("retry-after", header)];
    let req = HttpRequest {
        method,
        path,
        query,
        content_type: Some("application/json"),
        signed_service: signed,
        headers: &headers,
        body,
        ..Default::default()
    };
    if let Err(f) = decode_request(&req) {
        let _ = f.encode("fuzz");
    }
});
