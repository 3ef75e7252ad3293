//! Background jobs against the real binary: KMS deletion driven by the dev clock and recorded
//! as AWS records it, job state in health and metrics, and, on PostgreSQL (when
//! `RAMPART_TEST_DATABASE_URL` is set), two nodes where a job step runs once and killing the
//! lease owner hands its jobs to the other within the lease time.

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

use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_kms::error::ProvideErrorMetadata;
use serde_json::Value;
use support::Server;

const REGION: &str = "us-east-1";

async fn kms(server: &Server) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(
        &server
            .sdk_config(&server.root_key, &server.root_secret, REGION)
            .await,
    )
}

/// A new key scheduled for deletion in 7 days; returns its ARN.
async fn doomed_key(c: &aws_sdk_kms::Client) -> String {
    let key = c.create_key().send().await.expect("CreateKey");
    let arn = key
        .key_metadata()
        .expect("m")
        .arn()
        .expect("arn")
        .to_string();
    c.schedule_key_deletion()
        .key_id(&arn)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    arn
}

fn job<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name} in {health}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_deletion_follows_the_dev_clock_and_records_delete_key() {
    let server = Server::start(&["--dev"]);
    let c = kms(&server).await;
    let arn = doomed_key(&c).await;
    server.advance_clock(6 * 86_400).await;
    c.describe_key()
        .key_id(&arn)
        .send()
        .await
        .expect("still pending on day 6");
    server.advance_clock(2 * 86_400).await;
    let err = c
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .expect_err("deleted on day 8");
    assert_eq!(err.code(), Some("NotFoundException"));

    let page = server
        .cloudtrail()
        .await
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value("DeleteKey")
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("LookupEvents");
    assert_eq!(page.events().len(), 1, "one DeleteKey event");
    let e = &page.events()[0];
    assert_eq!(e.event_source(), Some("kms.amazonaws.com"));
    assert_eq!(
        e.username(),
        None,
        "no caller: the service acted on its own"
    );
    assert_eq!(
        e.resources().first().and_then(|r| r.resource_name()),
        Some(arn.as_str())
    );
    let json: Value = serde_json::from_str(e.cloud_trail_event().expect("json")).expect("JSON");
    let account = arn.split(':').nth(4).expect("account");
    assert_eq!(json["eventType"], "AwsServiceEvent");
    assert_eq!(json["eventSource"], "kms.amazonaws.com");
    assert_eq!(json["userIdentity"]["invokedBy"], "AWS Internal");
    assert_eq!(json["userIdentity"]["accountId"], account);
    assert_eq!(json["recipientAccountId"], account);
    assert_eq!(json["resources"][0]["ARN"], arn.as_str());
    assert_eq!(json["resources"][0]["type"], "AWS::KMS::Key");
    assert_eq!(json["readOnly"], false);

    // Automatic rotation is due 90 days after creation: RotateKey, with AWS's details.
    let rotating = c.create_key().send().await.expect("CreateKey");
    let rotating = rotating
        .key_metadata()
        .expect("m")
        .arn()
        .expect("arn")
        .to_string();
    c.enable_key_rotation()
        .key_id(&rotating)
        .rotation_period_in_days(90)
        .send()
        .await
        .expect("EnableKeyRotation");
    server.advance_clock(91 * 86_400).await;
    let page = server
        .cloudtrail()
        .await
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value("RotateKey")
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("LookupEvents");
    assert_eq!(page.events().len(), 1, "one RotateKey event");
    let json: Value =
        serde_json::from_str(page.events()[0].cloud_trail_event().expect("json")).expect("JSON");
    assert_eq!(json["eventSource"], "kms.amazonaws.com");
    assert_eq!(json["eventType"], "AwsServiceEvent");
    assert_eq!(json["resources"][0]["ARN"], rotating.as_str());
    assert_eq!(json["serviceEventDetails"]["rotationType"], "AUTOMATIC");
    assert!(json["serviceEventDetails"]["currentKeyMaterialId"].is_string());

    let health = server.health().await;
    let kms_job = job(&health, "kms-due");
    assert_eq!(kms_job["scope"], "cluster");
    assert_eq!(kms_job["owned_here"], true);
    assert_eq!(kms_job["fencing_token"], 1);
    assert!(kms_job["last_run"].is_string(), "{kms_job}");
    assert_eq!(kms_job["last_error"], Value::Null);
    assert_eq!(job(&health, "billing-meter-flush")["scope"], "node");
    let metrics = reqwest::get(format!("{}/metrics", server.endpoint))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains(r#"rampart_job_steps_total{job="kms-due",outcome="ok"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"rampart_job_lease_owned{job="kms-due"} 1"#),
        "{metrics}"
    );
}

/// A fresh database on the test server, dropped when the value is.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(admin_url: &str) -> Database {
        use sqlx::Connection;
        let name = format!("rampart_jobs_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect");
        sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let (base, _) = admin_url.rsplit_once('/').expect("database URL");
        Database {
            admin_url: admin_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    async fn drop_it(self) {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect");
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = sqlx::Executor::execute(&mut c, sql.as_str()).await;
    }
}

const LEASE_MS: u64 = 1_500;
const CLUSTER_JOBS: &[&str] = &[
    "kms-due",
    "secretsmanager-due",
    "organizations-create-account",
    "outbox-delivery",
];

async fn owns_all(server: &Server, node: &str) -> bool {
    let health = server.health().await;
    CLUSTER_JOBS.iter().all(|name| {
        let j = job(&health, name);
        j["owner"] == node && j["owned_here"] == true
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_take_over_when_the_owner_is_killed() {
    let Some(admin_url) = std::env::var("RAMPART_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: RAMPART_TEST_DATABASE_URL is not set");
        return;
    };
    let db = Database::create(&admin_url).await;
    let lease = LEASE_MS.to_string();
    let args = |node: &'static str| {
        vec![
            "--dev".to_string(),
            "--database-url".to_string(),
            db.url.clone(),
            "--node-id".to_string(),
            node.to_string(),
            "--job-lease-ms".to_string(),
            lease.clone(),
        ]
    };
    let dir_a = tempfile::tempdir().expect("tempdir");
    let dir_b = tempfile::tempdir().expect("tempdir");
    let a_args = args("node-a");
    let a_refs: Vec<&str> = a_args.iter().map(String::as_str).collect();
    let mut a = Server::start_in(dir_a.path(), &a_refs);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !owns_all(&a, "node-a").await {
        assert!(Instant::now() < deadline, "node-a never took its leases");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The second node shares the database, so it needs the same master key (and reads the
    // root credentials the first one wrote).
    for f in ["master.key", "root-credentials"] {
        std::fs::copy(dir_a.path().join(f), dir_b.path().join(f)).expect("copy");
    }
    let b_args = args("node-b");
    let b_refs: Vec<&str> = b_args.iter().map(String::as_str).collect();
    let b = Server::start_in(dir_b.path(), &b_refs);
    tokio::time::sleep(Duration::from_millis(LEASE_MS / 2)).await;
    let health = b.health().await;
    for name in CLUSTER_JOBS {
        let j = job(&health, name);
        assert_eq!(j["owner"], "node-a", "{j}");
        assert_eq!(j["owned_here"], false, "{j}");
    }
    // A CreateAccount sent to node-b is completed once, by the lease owner (node-a).
    let o = aws_sdk_organizations::Client::new(
        &b.sdk_config(&b.root_key, &b.root_secret, REGION).await,
    );
    let status = organization_with_one_account(&o).await;
    assert_eq!(
        status.state(),
        Some(&aws_sdk_organizations::types::CreateAccountState::Succeeded),
        "{status:?}"
    );
    let results = b
        .cloudtrail()
        .await
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value("CreateAccountResult")
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("LookupEvents");
    assert_eq!(results.events().len(), 1, "the step ran once");
    let json: Value =
        serde_json::from_str(results.events()[0].cloud_trail_event().expect("json")).expect("JSON");
    assert_eq!(json["eventSource"], "organizations.amazonaws.com");
    assert_eq!(
        json["serviceEventDetails"]["createAccountStatus"]["state"],
        "SUCCEEDED"
    );
    assert_eq!(
        json["serviceEventDetails"]["createAccountStatus"]["id"],
        status.id().expect("request id")
    );

    let c = kms(&b).await;
    let arn = doomed_key(&c).await;

    a.kill_hard();
    let killed = Instant::now();
    while !owns_all(&b, "node-b").await {
        assert!(
            killed.elapsed() < Duration::from_millis(LEASE_MS + 1_500),
            "node-b did not take over within the lease time"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let took = killed.elapsed();
    eprintln!(
        "takeover after {} ms (lease {LEASE_MS} ms)",
        took.as_millis()
    );
    assert!(took <= Duration::from_millis(LEASE_MS + 1_000), "{took:?}");
    let health = b.health().await;
    let kms_job = job(&health, "kms-due");
    assert_eq!(
        kms_job["fencing_token"], 2,
        "a new owner, a new token: {kms_job}"
    );

    // The new owner does the work: the dev clock on node-b now deletes the key.
    b.advance_clock(8 * 86_400).await;
    let err = c
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .expect_err("deleted by node-b");
    assert_eq!(err.code(), Some("NotFoundException"));
    drop(b);
    drop(a);
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_follows_the_request_clock() {
    let server = Server::start(&["--dev"]);
    server.advance_clock(86_400).await;
    let o = aws_sdk_organizations::Client::new(
        &server
            .sdk_config(&server.root_key, &server.root_secret, REGION)
            .await,
    );
    let completed = organization_with_one_account(&o)
        .await
        .completed_timestamp()
        .expect("completed")
        .secs();
    // Completed a day ahead of the wall clock, like everything else the dev clock drives.
    let wall = chrono::Utc::now().timestamp();
    assert!(
        completed >= wall + 86_400 - 60,
        "completed at {completed}, wall clock {wall}"
    );
}

/// Creates an organization and one account through `o`, and waits (10 s at most) until the
/// account request is no longer in progress; returns its final status.
async fn organization_with_one_account(
    o: &aws_sdk_organizations::Client,
) -> aws_sdk_organizations::types::CreateAccountStatus {
    o.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let request = o
        .create_account()
        .account_name("dev")
        .email("dev@example.com")
        .send()
        .await
        .expect("CreateAccount");
    let request = request
        .create_account_status()
        .and_then(|s| s.id())
        .expect("request id")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = o
            .describe_create_account_status()
            .create_account_request_id(&request)
            .send()
            .await
            .expect("DescribeCreateAccountStatus");
        let status = s.create_account_status().expect("status").clone();
        if status.state() != Some(&aws_sdk_organizations::types::CreateAccountState::InProgress) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "account never created: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
