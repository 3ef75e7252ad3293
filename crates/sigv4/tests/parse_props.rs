//! Property tests: parsing never panics on arbitrary input, and verification of arbitrary
//! requests returns an error rather than panicking.

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
use rampart_sigv4::{
    parse_authorization, parse_presigned_query, parse_request, verify, RequestParts, SecretKey,
};

fn header_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "AWS4-HMAC-SHA256 [ -~]{0,200}",
        "AWS4-HMAC-SHA256 Credential=[ -~]{0,60}, SignedHeaders=[a-z;:-]{0,40}, Signature=[0-9a-f]{0,70}",
        "AWS4-HMAC-SHA256 Credential=AKID/2015083[0-9]/[a-z0-9-/]{0,20}/aws4_request, SignedHeaders=host[;a-z-]{0,20}, Signature=[0-9a-f]{64}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn parse_authorization_never_panics(s in header_like()) {
        let _ = parse_authorization(&s);
    }

    #[test]
    fn parse_presigned_never_panics(q in "[ -~]{0,300}") {
        let _ = parse_presigned_query(&q);
        let q2 = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&{q}");
        let _ = parse_presigned_query(&q2);
    }

    #[test]
    fn parse_and_verify_never_panic(
        auth in header_like(),
        date in prop_oneof![Just("20150830T123600Z".to_owned()), "[ -~]{0,20}"],
        sha in prop_oneof![Just(String::new()), Just("UNSIGNED-PAYLOAD".to_owned()), "[0-9a-f]{64}", "[ -~]{0,70}"],
        path in "[ -~]{0,60}",
        query in "[ -~]{0,100}",
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("Host", b"example.amazonaws.com"),
            ("Authorization", auth.as_bytes()),
            ("X-Amz-Date", date.as_bytes()),
        ];
        if !sha.is_empty() {
            headers.push(("x-amz-content-sha256", sha.as_bytes()));
        }
        let req = RequestParts { method: "POST", path: &path, query: &query, headers: &headers, body: &body };
        if let Ok(parsed) = parse_request(&req) {
            let now = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
            prop_assert!(verify(&parsed, &req, &SecretKey::from("s"), now).is_err());
        }
    }
}
