//! Issue 23's speed figures for IAM Access Analyzer, in criterion:
//!
//! - `reanalysis/one_role_among_10000`: the re-analysis of one changed role trust policy (the
//!   `react` of its `UpdateAssumeRolePolicy` record, with its commit) in an account of 10,000
//!   analysed roles (1,000 with findings) — issue 23 asks for p50 under 10 ms;
//! - `check_no_new_access/20_statements`: `CheckNoNewAccess` (parsing included) of two
//!   realistic 20-statement identity policies, one statement broadened — under 50 ms at p50.
//!
//! `cargo bench -p rampart-accessanalyzer --bench accessanalyzer` (the first builds the 10,000
//! roles and scans them once before measuring).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "bench code, not the request path"
)]

use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use rampart_accessanalyzer::{
    checks, engine,
    model::{self, AnalyzerDoc},
    react,
};
use rampart_kit::db::Db;
use rampart_store::{Entity, Store};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const ROLES: usize = 10_000;

fn trust(account: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "sts:AssumeRole"}]})
    .to_string()
}

fn role(i: usize, account: &str) -> Entity {
    let name = format!("role-{i:05}");
    let now = Utc::now();
    Entity {
        account_id: ACCOUNT.into(),
        kind: rampart_iam::model::ROLE.into(),
        name: name.clone(),
        name_key: name.clone(),
        id: format!("AROA{i:017}"),
        path: "/".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        created_at: now,
        updated_at: now,
        doc: json!({"assume_role_policy": trust(account), "max_session_duration": 3600})
            .to_string(),
    }
}

/// A store with 10,000 roles (every tenth trusting another account) scanned by an `ACCOUNT`
/// analyzer.
async fn analysed_account() -> (Store, std::path::PathBuf) {
    let (store, dir) = rampart_kit::test_support::store().await;
    let mut tx = store.begin().await.unwrap();
    for i in 0..ROLES {
        let other = if i % 10 == 0 { "444455556666" } else { ACCOUNT };
        tx.entities().create(&role(i, other)).await.unwrap();
    }
    let doc = AnalyzerDoc {
        name: "a".into(),
        region: "us-east-1".into(),
        analyzer_type: "ACCOUNT".into(),
        status: "ACTIVE".into(),
        ..Default::default()
    };
    {
        let mut db = Db::Write(&mut tx);
        let mut a = model::insert(&mut db, ACCOUNT, &doc, Utc::now())
            .await
            .unwrap();
        engine::scan(&mut db, &mut a, Utc::now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    (store, dir)
}

/// Changes role `n`'s trust policy (outside the timing), then times its re-analysis.
async fn reanalyse(store: &Store, n: u64) -> Duration {
    let i = 1 + (n as usize * 7) % (ROLES - 1);
    let other = if n.is_multiple_of(2) {
        "999988887777"
    } else {
        ACCOUNT
    };
    let mut tx = store.begin().await.unwrap();
    let changed = role(i, other);
    tx.entities()
        .update(&changed.name_key.clone(), &changed)
        .await
        .unwrap();
    let event = json!({"eventSource": "iam.amazonaws.com", "eventName": "UpdateAssumeRolePolicy",
        "recipientAccountId": ACCOUNT, "awsRegion": "us-east-1",
        "requestParameters": {"roleName": changed.name}});
    let t = Instant::now();
    react::react(&mut Db::Write(&mut tx), &[event], Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    t.elapsed()
}

fn reanalysis(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (store, dir) = rt.block_on(analysed_account());
    let mut g = c.benchmark_group("reanalysis");
    g.sample_size(50);
    g.measurement_time(Duration::from_secs(10));
    let mut n = 0u64;
    g.bench_function("one_role_among_10000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                total += rt.block_on(reanalyse(&store, n));
            }
            total
        })
    });
    g.finish();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

/// Twenty statements of the kinds real identity policies hold: service actions on named
/// resources, wildcards, conditions, a `NotAction`, a `Deny`.
fn twenty_statements(broaden: bool) -> Value {
    let mut s: Vec<Value> = Vec::new();
    for (i, bucket) in ["logs", "data", "backups", "reports", "assets"]
        .iter()
        .enumerate()
    {
        s.push(json!({"Sid": format!("S3Read{i}"), "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
            "Resource": [format!("arn:aws:s3:::{bucket}-{ACCOUNT}"), format!("arn:aws:s3:::{bucket}-{ACCOUNT}/*")]}));
    }
    for (i, bucket) in ["uploads", "exports", "tmp"].iter().enumerate() {
        s.push(json!({"Sid": format!("S3Write{i}"), "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": format!("arn:aws:s3:::{bucket}-{ACCOUNT}/team/*"),
            "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}));
    }
    for i in 0..4 {
        s.push(json!({"Sid": format!("Kms{i}"), "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/0000000{i}-1111-2222-3333-444444444444"),
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}));
    }
    s.push(json!({"Sid": "Secrets", "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/*"),
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}));
    s.push(
        json!({"Sid": "PassRole", "Effect": "Allow", "Action": "iam:PassRole",
        "Resource": format!("arn:aws:iam::{ACCOUNT}:role/app-*"),
        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}),
    );
    s.push(json!({"Sid": "ReadIam", "Effect": "Allow",
        "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}));
    s.push(json!({"Sid": "Identity", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}));
    s.push(
        json!({"Sid": "Network", "Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}}),
    );
    s.push(json!({"Sid": "Trails", "Effect": "Allow",
        "Action": ["cloudtrail:LookupEvents", "cloudtrail:GetTrailStatus"], "Resource": "*"}));
    s.push(json!({"Sid": "NoKeyAdmin", "Effect": "Deny",
        "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"], "Resource": "*"}));
    s.push(json!({"Sid": "OnlyHere", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}));
    assert_eq!(s.len(), 20);
    if broaden {
        // The change under review: one read statement gains writes on its bucket.
        s[1]["Action"] = json!([
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:ListBucket",
            "s3:PutObject"
        ]);
    }
    json!({"Version": "2012-10-17", "Statement": s})
}

fn check_no_new_access(c: &mut Criterion) {
    let input = json!({
        "policyType": "IDENTITY_POLICY",
        "existingPolicyDocument": twenty_statements(false).to_string(),
        "newPolicyDocument": twenty_statements(true).to_string(),
    });
    let same = json!({
        "policyType": "IDENTITY_POLICY",
        "existingPolicyDocument": twenty_statements(false).to_string(),
        "newPolicyDocument": twenty_statements(false).to_string(),
    });
    assert_eq!(checks::no_new_access(&input).unwrap()["result"], "FAIL");
    assert_eq!(checks::no_new_access(&same).unwrap()["result"], "PASS");
    let mut g = c.benchmark_group("check_no_new_access");
    g.bench_function("20_statements_fail", |b| {
        b.iter(|| checks::no_new_access(&input).unwrap())
    });
    g.bench_function("20_statements_pass", |b| {
        b.iter(|| checks::no_new_access(&same).unwrap())
    });
    g.finish();
}

criterion_group!(benches, check_no_new_access, reanalysis);
criterion_main!(benches);
