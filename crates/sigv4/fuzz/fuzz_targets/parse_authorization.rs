//! Fuzz target: the SigV4 `Authorization` header parser, and the whole parse + verify path of a
//! request built from the same bytes. Nothing may panic.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use rampart_sigv4::{parse_authorization, parse_request, verify, RequestParts, SecretKey};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_authorization(&text);

    // Split the input into header value / query / path / body to drive the full request path.
    let mut parts = data.splitn(4, |b| *b == 0);
    let auth = parts.next().unwrap_or_default();
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let headers: [(&str, &[u8]); 3] = [
        ("host", b"example.amazonaws.com"),
        ("authorization", auth),
        ("x-amz-date", b"20150830T123600Z"),
    ];
    let req = RequestParts {
        method: "POST",
        path: &path,
        query: &query,
        headers: &headers,
        body,
    };
    if let Ok(parsed) = parse_request(&req) {
        if let Some(now) = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).single() {
            let _ = verify(&parsed, &req, &SecretKey::from("secret"), now);
        }
    }
});
