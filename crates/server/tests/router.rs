//! In-process tests of the router: the same `App` and routes the binary serves, driven
//! without a socket (requests are signed with the project's own SigV4 signer).

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

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Request, StatusCode},
    Router,
};
use chrono::Utc;
use http_body_util::BodyExt;
use rampart::{
    app::{router, App, Started},
    config::ServeConfig,
};
use rampart_sigv4::{sign, RequestParts, SecretKey, SigningParams};
use tower::ServiceExt;

struct Harness {
    _dir: tempfile::TempDir,
    started: Started,
    router: Router,
}

async fn harness(dev: bool) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ServeConfig {
        dev,
        max_body_bytes: 64 * 1024,
        request_timeout_secs: 5,
        idle_timeout_secs: 5,
        ..ServeConfig::new(dir.path().to_path_buf())
    };
    let started = App::start(config).await.expect("start");
    let router = router(started.app.clone());
    Harness {
        _dir: dir,
        started,
        router,
    }
}

impl Harness {
    fn app(&self) -> &Arc<App> {
        &self.started.app
    }

    fn root_secret(&self) -> String {
        let text = std::fs::read_to_string(&self.started.boot.credentials_file).expect("creds");
        text.lines()
            .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
            .expect("secret")
            .to_string()
    }

    /// Sends a signed awsQuery POST (STS scope) and returns status and body.
    async fn query(&self, body: &str, key: &str, secret: &str) -> (StatusCode, String) {
        self.send_signed(
            "sts",
            None,
            "application/x-www-form-urlencoded; charset=utf-8",
            body,
            key,
            secret,
        )
        .await
    }

    /// A call signed with the root user's key: awsQuery when `target` is `None`, else awsJson.
    async fn as_root(
        &self,
        service: &str,
        target: Option<&str>,
        body: &str,
    ) -> (StatusCode, String) {
        let content_type = match target {
            None => "application/x-www-form-urlencoded; charset=utf-8",
            Some(_) => "application/x-amz-json-1.1",
        };
        let key = self.started.boot.root_access_key_id.clone();
        let secret = self.root_secret();
        self.send_signed(service, target, content_type, body, &key, &secret)
            .await
    }

    /// An awsJson call as the root user that must succeed; its output.
    async fn root_json(&self, service: &str, target: &str, body: &str) -> serde_json::Value {
        let (status, out) = self.as_root(service, Some(target), body).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        serde_json::from_str(&out).expect("json")
    }

    /// `LookupEvents` as the root user, after the audit trail is flushed.
    async fn lookup_events(&self, body: &str) -> serde_json::Value {
        self.app().audit.flush().await.expect("flush");
        self.root_json(
            "cloudtrail",
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
            body,
        )
        .await
    }

    async fn send_signed(
        &self,
        service: &str,
        target: Option<&str>,
        content_type: &str,
        body: &str,
        key: &str,
        secret: &str,
    ) -> (StatusCode, String) {
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("host", b"localhost"),
            ("content-type", content_type.as_bytes()),
        ];
        if let Some(t) = target {
            headers.push(("x-amz-target", t.as_bytes()));
        }
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let secret = SecretKey::from(secret);
        let signed = sign(
            &parts,
            &SigningParams {
                access_key_id: key,
                secret: &secret,
                region: "eu-west-1",
                service,
                time: Utc::now(),
                security_token: None,
            },
        )
        .expect("sign");
        let mut req = Request::post("/")
            .header("host", "localhost")
            .header("content-type", content_type)
            .header("authorization", signed.authorization)
            .header("x-amz-date", signed.x_amz_date);
        if let Some(t) = target {
            req = req.header("x-amz-target", t);
        }
        self.send(req.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    async fn send(&self, mut req: Request<Body>) -> (StatusCode, String) {
        let peer: SocketAddr = "127.0.0.1:9".parse().expect("peer");
        req.extensions_mut().insert(ConnectInfo(peer));
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[tokio::test]
async fn signed_get_caller_identity_returns_root_in_xml() {
    let h = harness(false).await;
    let key = h.started.boot.root_access_key_id.clone();
    let (status, body) = h
        .query(
            "Action=GetCallerIdentity&Version=2011-06-15",
            &key,
            &h.root_secret(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.starts_with(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        ),
        "{body}"
    );
    let account = &h.started.boot.account_id;
    assert!(
        body.contains(&format!("<Arn>arn:aws:iam::{account}:root</Arn>")),
        "{body}"
    );
    assert!(body.contains("<RequestId>"), "{body}");
}

#[tokio::test]
async fn json_protocol_errors_use_json_envelopes() {
    let h = harness(false).await;
    let key = h.started.boot.root_access_key_id.clone();
    let (status, body) = h
        .send_signed(
            "organizations",
            // A modelled Organizations operation Rampart does not build (AWS Billing's
            // responsibility transfers; crates/services/registry/tests/unbuilt_operations.rs).
            Some("AWSOrganizationsV20161128.DescribeResponsibilityTransfer"),
            "application/x-amz-json-1.1",
            r#"{"Id": "rt-1234567890"}"#,
            &key,
            &h.root_secret(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["__type"], "NotImplemented");

    // Malformed JSON is a SerializationException, after authentication.
    let (status, body) = h
        .send_signed(
            "kms",
            Some("TrentService.ListKeys"),
            "application/x-amz-json-1.1",
            "{not json",
            &key,
            &h.root_secret(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("SerializationException"), "{body}");
}

#[tokio::test]
async fn bad_input_never_crashes_and_gets_aws_errors() {
    let h = harness(false).await;
    let key = h.started.boot.root_access_key_id.clone();
    let secret = h.root_secret();
    let cases = [
        ("", "MissingAction"),
        ("Version=2011-06-15", "MissingAction"),
        ("Action=NoSuchOperation&Version=2011-06-15", "InvalidAction"),
        (
            "Action=GetCallerIdentity&Version=2011-06-15&%ZZ=%",
            "GetCallerIdentityResult",
        ),
        ("Action=AssumeRole&Version=2011-06-15", "ValidationError"),
    ];
    for (body, expected) in cases {
        let (status, text) = h.query(body, &key, &secret).await;
        assert!(text.contains(expected), "{body:?} -> {status} {text}");
        assert!(!status.is_server_error(), "{body:?} -> {status}");
    }
}

#[tokio::test]
async fn refused_requests_are_audited_exactly_once() {
    let h = harness(false).await;
    let key = h.started.boot.root_access_key_id.clone();
    for _ in 0..3 {
        let (status, _) = h
            .query(
                "Action=GetCallerIdentity&Version=2011-06-15",
                &key,
                &"x".repeat(40),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = h
        .query(
            "Action=GetCallerIdentity&Version=2011-06-15",
            &key,
            &h.root_secret(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    h.app().audit.flush().await.expect("flush");
    let page = h
        .app()
        .store
        .lookup_events(&rampart_store::LookupQuery {
            account_id: Some(h.started.boot.account_id.clone()),
            max_results: 50,
            ..Default::default()
        })
        .await
        .expect("lookup");
    let refused = page
        .events
        .iter()
        .filter(|e| e.record.error_code.as_deref() == Some("SignatureDoesNotMatch"))
        .count();
    let ok = page
        .events
        .iter()
        .filter(|e| e.record.error_code.is_none())
        .count();
    assert_eq!((refused, ok), (3, 1));
    assert!(h
        .app()
        .store
        .verify_chain()
        .await
        .expect("chain")
        .is_intact());
}

#[tokio::test]
async fn health_and_unknown_target_prefix() {
    let h = harness(false).await;
    let (status, body) = h
        .send(
            Request::get("/_rampart/health")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = h
        .send(
            Request::post("/")
                .header("x-amz-target", "NoSuchService.Op")
                .header("content-type", "application/x-amz-json-1.1")
                .body(Body::from("{}"))
                .expect("req"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("UnknownOperationException"), "{body}");
}

#[tokio::test]
async fn dev_reset_keeps_the_root_key_working() {
    let h = harness(true).await;
    let key = h.started.boot.root_access_key_id.clone();
    let secret = h.root_secret();
    let (status, _) = h
        .send(
            Request::post("/_rampart/reset")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = h
        .query("Action=GetCallerIdentity&Version=2011-06-15", &key, &secret)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&h.started.boot.account_id), "{body}");
}

/// The principal built from a key is reused between calls, but never past a change to the
/// key's owner: after `UpdateUser` renames the user, the same key answers with the new ARN.
#[tokio::test]
async fn a_renamed_user_is_seen_at_once_by_its_key() {
    let h = harness(false).await;
    let root = h.started.boot.root_access_key_id.clone();
    let root_secret = h.root_secret();
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let iam = |body: &'static str| h.send_signed("iam", None, form, body, &root, &root_secret);
    let (status, body) = iam("Action=CreateUser&Version=2010-05-08&UserName=alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = iam("Action=CreateAccessKey&Version=2010-05-08&UserName=alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (key, secret) = (
        tag_text(&body, "AccessKeyId"),
        tag_text(&body, "SecretAccessKey"),
    );
    let account = &h.started.boot.account_id;
    let who = || h.query("Action=GetCallerIdentity&Version=2011-06-15", &key, &secret);
    for _ in 0..2 {
        let (status, body) = who().await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.contains(&format!("<Arn>arn:aws:iam::{account}:user/alice</Arn>")),
            "{body}"
        );
    }
    let (status, body) =
        iam("Action=UpdateUser&Version=2010-05-08&UserName=alice&NewUserName=bob").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = who().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!("<Arn>arn:aws:iam::{account}:user/bob</Arn>")),
        "{body}"
    );
}

/// Resources are dated on the request clock, which dev mode can advance: a user, a group, a
/// policy and its versions created after a jump show the jumped date, as keys and sessions do.
#[tokio::test]
async fn iam_resources_are_dated_on_the_request_clock() {
    let h = harness(true).await;
    let jumped = h.app().clock.advance(400 * 86_400).expect("advance");
    let calls = [
        "Action=CreateUser&Version=2010-05-08&UserName=later",
        "Action=CreateGroup&Version=2010-05-08&GroupName=later",
        "Action=CreatePolicy&Version=2010-05-08&PolicyName=later&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D",
    ];
    let mut dates = Vec::new();
    for body in calls {
        let (status, out) = h.as_root("iam", None, body).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        dates.push(create_date(&out));
        if body.contains("CreatePolicy") {
            let arn = tag_text(&out, "Arn");
            let version = format!(
                "Action=CreatePolicyVersion&Version=2010-05-08&PolicyArn={arn}&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"
            );
            let (status, out) = h.as_root("iam", None, &version).await;
            assert_eq!(status, StatusCode::OK, "{out}");
            dates.push(create_date(&out));
        }
    }
    assert_eq!(dates.len(), 4);
    for date in dates {
        let off = (date - jumped).num_seconds().abs();
        assert!(off < 120, "dated {date}, request clock {jumped}");
    }
}

/// A handshake's 15-day window runs on the request clock it was opened on.
#[tokio::test]
async fn handshakes_expire_on_the_request_clock() {
    let h = harness(true).await;
    let org = |op: &str, body: String| {
        let target = format!("AWSOrganizationsV20161128.{op}");
        let h = &h;
        async move { h.root_json("organizations", &target, &body).await }
    };
    org("CreateOrganization", r#"{"FeatureSet":"ALL"}"#.into()).await;
    // A standalone account to invite.
    h.app()
        .store
        .accounts()
        .create(&rampart_store::Account {
            id: "123456789012".into(),
            name: "standalone".into(),
            email: "standalone@example.com".into(),
            status: rampart_store::AccountStatus::Active,
            is_management: false,
            created_at: Utc::now(),
        })
        .await
        .expect("account");
    let invited = org(
        "InviteAccountToOrganization",
        r#"{"Target":{"Id":"123456789012","Type":"ACCOUNT"}}"#.into(),
    )
    .await;
    let id = invited["Handshake"]["Id"].as_str().expect("id").to_string();
    let describe = format!(r#"{{"HandshakeId":"{id}"}}"#);
    let shown = org("DescribeHandshake", describe.clone()).await;
    assert_eq!(shown["Handshake"]["State"], "OPEN");
    h.app().clock.advance(16 * 86_400).expect("advance");
    let shown = org("DescribeHandshake", describe).await;
    assert_eq!(shown["Handshake"]["State"], "EXPIRED");
}

fn tag_text(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).expect(name) + open.len();
    let end = start + xml[start..].find('<').expect(name);
    xml[start..end].to_string()
}

fn create_date(xml: &str) -> chrono::DateTime<Utc> {
    tag_text(xml, "CreateDate")
        .parse()
        .expect("CreateDate is RFC 3339")
}

/// Event history reaches back 90 days, as in AWS: after the request clock moves 91 days on,
/// the earlier calls are out of `LookupEvents`' reach, and a start time before the window
/// finds only what is inside it.
#[tokio::test]
async fn lookup_events_reaches_back_ninety_days() {
    let h = harness(true).await;
    let found = |body: &'static str| {
        let h = &h;
        async move {
            h.lookup_events(body).await["Events"]
                .as_array()
                .expect("events")
                .iter()
                .filter(|e| e["EventName"] == "GetCallerIdentity")
                .count()
        }
    };
    let who = || h.as_root("sts", None, "Action=GetCallerIdentity&Version=2011-06-15");
    let by_name = r#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"GetCallerIdentity"}]}"#;
    let (status, body) = who().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(found(by_name).await, 1);
    h.app().clock.advance(91 * 86_400).expect("advance");
    assert_eq!(found(by_name).await, 0, "older than 90 days");
    let (status, body) = who().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(found(by_name).await, 1);
    // A start time long before the window finds the same.
    let from_epoch = r#"{"StartTime":0,"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"GetCallerIdentity"}]}"#;
    assert_eq!(found(from_epoch).await, 1);
}

/// The audit trail keeps secrets out by shape: KMS `Sign`'s message (a blob) is left out of the
/// record, as in AWS's, while its key id is there.
#[tokio::test]
async fn sensitive_members_stay_out_of_the_audit_trail() {
    let h = harness(false).await;
    let key = h
        .root_json(
            "kms",
            "TrentService.CreateKey",
            r#"{"KeySpec":"ECC_NIST_P256","KeyUsage":"SIGN_VERIFY"}"#,
        )
        .await;
    let key_id = key["KeyMetadata"]["KeyId"]
        .as_str()
        .expect("key id")
        .to_string();
    // base64 of "a very private message"
    let message = "YSB2ZXJ5IHByaXZhdGUgbWVzc2FnZQ==";
    h.root_json(
        "kms",
        "TrentService.Sign",
        &format!(
            r#"{{"KeyId":"{key_id}","Message":"{message}","SigningAlgorithm":"ECDSA_SHA_256"}}"#
        ),
    )
    .await;
    let found = h
        .lookup_events(
            r#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"Sign"}]}"#,
        )
        .await;
    let event = found["Events"][0]["CloudTrailEvent"]
        .as_str()
        .expect("event");
    assert!(!event.contains(message), "{event}");
    let event: serde_json::Value = serde_json::from_str(event).expect("event json");
    assert!(
        event["requestParameters"].get("message").is_none(),
        "{event}"
    );
    assert_eq!(event["requestParameters"]["keyId"], key_id.as_str());
}

/// Password hashing takes a turn from a bounded pool before it starts: while every turn is
/// taken, a password call waits (before its hashing and before its transaction), and it
/// completes once a turn is free.
#[tokio::test]
async fn password_hashing_waits_for_a_turn() {
    let h = harness(false).await;
    let (status, body) = h
        .as_root(
            "iam",
            None,
            "Action=CreateUser&Version=2010-05-08&UserName=pat",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let turns = &h.app().password_work;
    let all = u32::try_from(turns.available_permits()).expect("permits");
    assert!(all >= 1);
    let held = turns.acquire_many(all).await.expect("turns");
    let call = h.as_root(
        "iam",
        None,
        "Action=CreateLoginProfile&Version=2010-05-08&UserName=pat&Password=Pat-pass-1234",
    );
    tokio::pin!(call);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(300), &mut call).await;
    assert!(waited.is_err(), "hashed without a turn");
    drop(held);
    let (status, body) = call.await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A member account of a new organization (created by the provisioner): its id, root key and
/// secret.
async fn member_account(h: &Harness) -> (String, String, String) {
    let orgs = |op: &str| format!("AWSOrganizationsV20161128.{op}");
    h.root_json(
        "organizations",
        &orgs("CreateOrganization"),
        r#"{"FeatureSet":"ALL"}"#,
    )
    .await;
    let created = h
        .root_json(
            "organizations",
            &orgs("CreateAccount"),
            r#"{"AccountName":"member","Email":"member@example.com"}"#,
        )
        .await;
    let request_id = created["CreateAccountStatus"]["Id"]
        .as_str()
        .expect("request id")
        .to_string();
    let mut account = None;
    for _ in 0..200 {
        let app = h.app();
        app.jobs.run_now(app, rampart::jobs::provision::NAME).await;
        let status = h
            .root_json(
                "organizations",
                &orgs("DescribeCreateAccountStatus"),
                &serde_json::json!({"CreateAccountRequestId": request_id}).to_string(),
            )
            .await;
        if status["CreateAccountStatus"]["State"] == "SUCCEEDED" {
            account = status["CreateAccountStatus"]["AccountId"]
                .as_str()
                .map(str::to_string);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let account = account.expect("account created");
    let text = std::fs::read_to_string(
        h.app()
            .config
            .data_dir
            .join("accounts")
            .join(&account)
            .join("root-credentials"),
    )
    .expect("member credentials");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
            .expect("field")
    };
    (
        account,
        field("aws_access_key_id"),
        field("aws_secret_access_key"),
    )
}

/// A call one service makes to KMS on the caller's behalf goes through the one authorizer:
/// an SCP that denies `kms:Decrypt` via Secrets Manager refuses it (and only it).
#[tokio::test]
async fn on_behalf_requests_are_decided_with_scps() {
    use rampart_services::{Authorizer, AuthzError, CallContext, Principal};
    let h = harness(false).await;
    let (account, key, secret) = member_account(&h).await;
    let kms = |op: &str| format!("TrentService.{op}");
    let json = "application/x-amz-json-1.1";
    let (status, out) = h
        .send_signed("kms", Some(&kms("CreateKey")), json, "{}", &key, &secret)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let key_id = serde_json::from_str::<serde_json::Value>(&out).expect("json")["KeyMetadata"]
        ["KeyId"]
        .as_str()
        .expect("key id")
        .to_string();
    let body = serde_json::json!({"KeyId": key_id, "Plaintext": "aGVsbG8="}).to_string();
    let (status, out) = h
        .send_signed("kms", Some(&kms("Encrypt")), json, &body, &key, &secret)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let blob =
        serde_json::from_str::<serde_json::Value>(&out).expect("json")["CiphertextBlob"].clone();
    let decrypt = serde_json::json!({ "CiphertextBlob": blob });

    let app = h.app();
    let direct = CallContext {
        request_id: "r".into(),
        principal: Arc::new(Principal::root(
            rampart_services::Partition::Aws,
            &account,
            &key,
        )),
        region: "eu-west-1".into(),
        source_ip: "127.0.0.1".parse().expect("ip"),
        user_agent: "test".into(),
        now: app.clock.now(),
        secure_transport: false,
        prepared: None,
        authorizer: Authorizer::new(app.clone()),
        via_service: None,
        side_calls: Default::default(),
        payload: Default::default(),
    };
    let via = direct.on_behalf_of("secretsmanager");
    let ask = |ctx: CallContext| {
        let decrypt = decrypt.clone();
        async move {
            app.registry
                .lookup("kms", "Decrypt")
                .expect("built")
                .authorize(&decrypt, &ctx, &app.store)
                .await
                .expect("question")
        }
    };
    assert_eq!(ask(via.clone()).await, Ok(()), "allowed without the SCP");

    let scp = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}}]}"#;
    let created = h
        .root_json(
            "organizations",
            "AWSOrganizationsV20161128.CreatePolicy",
            &serde_json::json!({"Name": "NoDecryptViaSecrets", "Description": "d",
                "Type": "SERVICE_CONTROL_POLICY", "Content": scp})
            .to_string(),
        )
        .await;
    let policy_id = created["Policy"]["PolicySummary"]["Id"]
        .as_str()
        .expect("policy id");
    h.root_json(
        "organizations",
        "AWSOrganizationsV20161128.AttachPolicy",
        &serde_json::json!({"PolicyId": policy_id, "TargetId": account}).to_string(),
    )
    .await;

    match ask(via).await {
        Err(AuthzError::AccessDenied(message)) => {
            assert!(message.contains("service control policy"), "{message}")
        }
        other => panic!("on-behalf Decrypt not refused: {other:?}"),
    }
    // The SCP's condition decides: the caller's own Decrypt is still allowed.
    assert_eq!(ask(direct).await, Ok(()));
    let (status, out) = h
        .send_signed(
            "kms",
            Some(&kms("Decrypt")),
            json,
            &decrypt.to_string(),
            &key,
            &secret,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
}

/// Issue 18's regression test through Secrets Manager itself: `GetSecretValue` opens the value
/// with KMS on the caller's behalf, so an SCP denying `kms:Decrypt` via Secrets Manager
/// refuses the read, and only the read.
#[tokio::test]
async fn an_scp_on_kms_decrypt_refuses_get_secret_value() {
    let h = harness(false).await;
    let (account, key, secret) = member_account(&h).await;
    let json = "application/x-amz-json-1.1";
    let sm = |op: &str| format!("secretsmanager.{op}");
    let call = |op: String, body: String| {
        let (h, key, secret) = (&h, key.clone(), secret.clone());
        async move {
            h.send_signed("secretsmanager", Some(&op), json, &body, &key, &secret)
                .await
        }
    };
    let create = r#"{"Name":"scp/app","SecretString":"guarded","ClientRequestToken":"00000000-0000-4000-8000-000000000001"}"#;
    let (status, out) = call(sm("CreateSecret"), create.into()).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let get = r#"{"SecretId":"scp/app"}"#.to_string();
    let (status, out) = call(sm("GetSecretValue"), get.clone()).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out.contains(r#""SecretString":"guarded""#), "{out}");

    let scp = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}}]}"#;
    let created = h
        .root_json(
            "organizations",
            "AWSOrganizationsV20161128.CreatePolicy",
            &serde_json::json!({"Name": "NoSecretsDecrypt", "Description": "d",
                "Type": "SERVICE_CONTROL_POLICY", "Content": scp})
            .to_string(),
        )
        .await;
    let policy_id = created["Policy"]["PolicySummary"]["Id"]
        .as_str()
        .expect("policy id");
    h.root_json(
        "organizations",
        "AWSOrganizationsV20161128.AttachPolicy",
        &serde_json::json!({"PolicyId": policy_id, "TargetId": account}).to_string(),
    )
    .await;

    let (status, out) = call(sm("GetSecretValue"), get.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["__type"], "AccessDeniedException", "{out}");
    assert!(!out.contains("guarded"), "{out}");
    let (status, out) = call(sm("DescribeSecret"), get).await;
    assert_eq!(status, StatusCode::OK, "{out}");

    // The KMS calls Secrets Manager made for the caller are in the caller's trail as AWS
    // records them: the caller, invoked by Secrets Manager; the refused one with its error.
    let lookup = r#"{"LookupAttributes":[{"AttributeKey":"EventSource","AttributeValue":"kms.amazonaws.com"}]}"#;
    let mut events = Vec::new();
    for _ in 0..100 {
        let (status, out) = call(
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents".into(),
            lookup.into(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        events = v["Events"].as_array().cloned().unwrap_or_default();
        if events.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let records: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().expect("event")).expect("json"))
        .collect();
    let names: Vec<&str> = records
        .iter()
        .filter_map(|r| r["eventName"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Decrypt", "Decrypt", "GenerateDataKey"],
        "{records:#?}"
    );
    for r in &records {
        assert_eq!(
            r["userIdentity"]["invokedBy"], "secretsmanager.amazonaws.com",
            "{r}"
        );
        assert_eq!(r["sourceIPAddress"], "secretsmanager.amazonaws.com", "{r}");
        assert_eq!(r["userIdentity"]["accountId"], account.as_str(), "{r}");
        assert!(!r.to_string().contains("guarded"), "{r}");
    }
    assert_eq!(
        records[0]["errorCode"], "AccessDeniedException",
        "{:#}",
        records[0]
    );
    assert!(records[1].get("errorCode").is_none(), "{:#}", records[1]);
    assert_eq!(
        records[2]["requestParameters"]["keySpec"], "AES_256",
        "{:#}",
        records[2]
    );
}

impl Harness {
    /// `POST path` with a JSON body, from the test's client address.
    async fn post_json(&self, path: &str, body: &str) -> (StatusCode, String) {
        let req = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(req).await
    }
}

/// The sign-in limiter belongs to the application: a dev reset clears it.
#[tokio::test]
async fn reset_clears_the_signin_limiter() {
    let h = harness(true).await;
    // Malformed attempts count too (the limiter admits before parsing) and cost no hashing.
    for _ in 0..30 {
        let (status, out) = h.post_json("/_rampart/signin", "{}").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    }
    let (status, out) = h.post_json("/_rampart/signin", "{}").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{out}");
    let (status, out) = h.post_json("/_rampart/reset", "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, out) = h.post_json("/_rampart/signin", "{}").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "admitted after the reset: {out}"
    );
}

/// Sign-in reads the request clock: advancing the dev clock past the lockout ends it.
#[tokio::test]
async fn signin_lockout_ends_on_the_request_clock() {
    let h = harness(true).await;
    let password = "Str0ng-Passw0rd!";
    for body in [
        "Action=CreateUser&UserName=alice&Version=2010-05-08".to_string(),
        format!(
            "Action=CreateLoginProfile&UserName=alice&Password={}&Version=2010-05-08",
            password.replace('!', "%21")
        ),
    ] {
        let (status, out) = h.as_root("iam", None, &body).await;
        assert_eq!(status, StatusCode::OK, "{out}");
    }
    let account = h.started.boot.account_id.clone();
    let attempt = |password: &str| {
        serde_json::json!({"account": account, "user": "alice", "password": password}).to_string()
    };
    for _ in 0..5 {
        let (status, out) = h.post_json("/_rampart/signin", &attempt("wrong")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{out}");
    }
    let (status, out) = h.post_json("/_rampart/signin", &attempt(password)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{out}");
    assert!(out.contains("LockedOut"), "{out}");

    let (status, out) = h
        .post_json("/_rampart/clock", r#"{"advance_seconds": 901}"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, out) = h.post_json("/_rampart/signin", &attempt(password)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "lockout over on the request clock: {out}"
    );
    assert!(out.contains("Success"), "{out}");
}

/// S3 errors are S3's XML error documents: a call to a bucket that does not exist is
/// `NoSuchBucket` (404), signed or anonymous (as on AWS); an anonymous call that no bucket
/// policy allows (`ListBuckets`) is refused with S3's bare AccessDenied.
#[tokio::test]
async fn s3_calls_get_s3_error_documents() {
    let h = harness(false).await;
    let key = h.started.boot.root_access_key_id.clone();
    let secret = SecretKey::from(h.root_secret().as_str());
    let headers: Vec<(&str, &[u8])> = vec![("host", b"localhost")];
    let parts = RequestParts {
        method: "GET",
        path: "/mybucket",
        query: "list-type=2",
        headers: &headers,
        body: b"",
    };
    let signed = sign(
        &parts,
        &SigningParams {
            access_key_id: &key,
            secret: &secret,
            region: "us-east-1",
            service: "s3",
            time: Utc::now(),
            security_token: None,
        },
    )
    .expect("sign");
    let req = Request::get("/mybucket?list-type=2")
        .header("host", "localhost")
        .header("authorization", signed.authorization)
        .header("x-amz-date", signed.x_amz_date)
        .body(Body::empty())
        .expect("request");
    let (status, body) = h.send(req).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
        ),
        "{body}"
    );

    let req = Request::get("/public/index.html")
        .header("host", "localhost")
        .body(Body::empty())
        .expect("request");
    let (status, body) = h.send(req).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");

    let req = Request::get("/")
        .header("host", "localhost")
        .body(Body::empty())
        .expect("request");
    let (status, body) = h.send(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("<Code>AccessDenied</Code><Message>Access Denied</Message>"),
        "{body}"
    );
}
