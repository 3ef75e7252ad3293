//! End-to-end: the real `rampart` binary on a loopback port, driven by aws-sdk-rust.

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

use aws_sdk_sts::error::ProvideErrorMetadata;
use support::Server;

#[tokio::test]
async fn root_user_gets_its_identity_from_any_region() {
    let server = Server::start(&[]);
    for region in ["us-east-1", "eu-central-1"] {
        let sts = server
            .sts(&server.root_key, &server.root_secret, region)
            .await;
        let ident = sts
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity");
        let account = ident.account().expect("account");
        assert_eq!(account.len(), 12);
        assert_eq!(
            ident.arn(),
            Some(format!("arn:aws:iam::{account}:root").as_str())
        );
        assert_eq!(ident.user_id(), Some(account));
    }
}

#[tokio::test]
async fn wrong_secret_and_unknown_key_are_refused_with_aws_codes() {
    let server = Server::start(&[]);
    let wrong = server
        .sts(&server.root_key, &"w".repeat(40), "us-east-1")
        .await;
    let err = wrong
        .get_caller_identity()
        .send()
        .await
        .expect_err("must fail");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));

    let unknown = server
        .sts("AKIAAAAAAAAAAAAAAAAA", &"u".repeat(40), "us-east-1")
        .await;
    let err = unknown
        .get_caller_identity()
        .send()
        .await
        .expect_err("must fail");
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
}

#[tokio::test]
async fn credentials_survive_a_restart_and_are_not_stored_in_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, secret) = {
        let server = Server::start_in(dir.path(), &[]);
        let sts = server
            .sts(&server.root_key, &server.root_secret, "us-east-1")
            .await;
        sts.get_caller_identity().send().await.expect("first start");
        (server.root_key.clone(), server.root_secret.clone())
    };
    let server = Server::start_in(dir.path(), &[]);
    assert!(
        !server.banner.contains(&secret),
        "the secret is shown only at first start"
    );
    let sts = server.sts(&key, &secret, "us-east-1").await;
    sts.get_caller_identity()
        .send()
        .await
        .expect("after restart");
    let db = std::fs::read(dir.path().join("rampart.db")).expect("db file");
    let wal = std::fs::read(dir.path().join("rampart.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "secret access key found in clear in the database"
        );
    }
}

#[tokio::test]
async fn cloudtrail_lookup_events_returns_the_audit_record() {
    let server = Server::start(&[]);
    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let out = sts.get_caller_identity().send().await.expect("call");
    let account = out.account().expect("account").to_string();
    let trail = server.cloudtrail().await;
    let mut found = None;
    for _ in 0..50 {
        let page = trail
            .lookup_events()
            .lookup_attributes(
                aws_sdk_cloudtrail::types::LookupAttribute::builder()
                    .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
                    .attribute_value("GetCallerIdentity")
                    .build()
                    .expect("attribute"),
            )
            .send()
            .await
            .expect("LookupEvents");
        if let Some(e) = page.events().first() {
            found = Some(e.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let event = found.expect("an audit record for GetCallerIdentity");
    assert_eq!(event.event_source(), Some("sts.amazonaws.com"));
    let record: serde_json::Value =
        serde_json::from_str(event.cloud_trail_event().expect("body")).expect("json");
    assert_eq!(record["userIdentity"]["type"], "Root");
    assert_eq!(record["recipientAccountId"], account.as_str());
    assert_eq!(record["eventVersion"], "1.08");
}

#[tokio::test]
async fn graceful_shutdown_flushes_every_audit_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, secret) = {
        let server = Server::start_in(dir.path(), &[]);
        let sts = server
            .sts(&server.root_key, &server.root_secret, "us-east-1")
            .await;
        for _ in 0..25 {
            sts.get_caller_identity().send().await.expect("call");
        }
        (server.root_key.clone(), server.root_secret.clone())
        // Dropping the server sends SIGTERM and waits for a clean exit.
    };
    let server = Server::start_in(dir.path(), &[]);
    let trail =
        aws_sdk_cloudtrail::Client::new(&server.sdk_config(&key, &secret, "us-east-1").await);
    let mut seen = 0;
    let mut token = None;
    loop {
        let page = trail
            .lookup_events()
            .lookup_attributes(
                aws_sdk_cloudtrail::types::LookupAttribute::builder()
                    .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
                    .attribute_value("GetCallerIdentity")
                    .build()
                    .expect("attribute"),
            )
            .set_next_token(token)
            .send()
            .await
            .expect("LookupEvents");
        seen += page.events().len();
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, 25, "every call before the shutdown is in the trail");
}
