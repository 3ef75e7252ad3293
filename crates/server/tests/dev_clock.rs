//! The dev-mode clock takes only bounded, non-negative whole-second advances; whatever it is
//! sent, the API keeps answering signed calls.

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

mod support;

use support::Server;

async fn post_clock(server: &Server, body: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_rampart/clock", server.endpoint))
        .body(body.to_string())
        .send()
        .await
        .expect("clock");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

#[tokio::test]
async fn out_of_range_advances_are_refused_and_the_api_keeps_answering() {
    let server = Server::start(&["--dev"]);
    let refused = [
        (r#"{"advance_seconds": 9223372036854775807}"#, "at most"),
        (r#"{"advance_seconds": 18446744073709551615}"#, "at most"),
        (r#"{"advance_seconds": 3155760001}"#, "at most"),
        (r#"{"advance_seconds": -1}"#, "negative"),
        (r#"{"advance_seconds": -9223372036854775808}"#, "negative"),
        (r#"{"advance_seconds": 1.5}"#, "whole number"),
        (r#"{"advance_seconds": "60"}"#, "whole number"),
        (r#"{"seconds": 60}"#, "whole number"),
        ("not json", "whole number"),
    ];
    for (body, says) in refused {
        let (status, json) = post_clock(&server, body).await;
        assert_eq!(status, 400, "{body} -> {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body} -> {message}");
    }
    // 100 years at a time reach the end of year 9999, and no further.
    let mut last = 200;
    for _ in 0..100 {
        let (status, _) = post_clock(&server, r#"{"advance_seconds": 3155760000}"#).await;
        last = status;
        if status != 200 {
            break;
        }
    }
    assert_eq!(last, 400, "the clock must stop short of year 10000");
    let (status, json) = post_clock(&server, r#"{"advance_seconds": 0}"#).await;
    assert_eq!(status, 200);
    assert!(
        json["now"].as_str().is_some_and(|n| n.starts_with("99")),
        "{json}"
    );

    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let who = sts
        .get_caller_identity()
        .send()
        .await
        .expect("a signed call still answers");
    assert!(who.arn().is_some_and(|a| a.ends_with(":root")));
}
