//! Issue 26's speed figures for AWS Config with 10,000 recorded resources:
//!
//! - **change to evaluation**: one IAM change (`AttachRolePolicy` or `DetachRolePolicy` of a
//!   customer managed `*`-on-`*` policy, each on its own role) committed, then the time until its
//!   change-triggered evaluations are committed: until `IAM_POLICY_BLACKLISTED_CHECK`'s result
//!   for the role has flipped in the store. Every rule's result for the role, and the role's
//!   new configuration item, commit in that one transaction (`sync::process_batch`), so the
//!   first result seen is all of them. Issue 26 asks for p99 under 1 s.
//! - **write path**: the same changes timed from the call to its commit, on the recording
//!   store (recorder on, 17 rules, its recording loop reacting to every change) and on a store
//!   holding the same resources with nothing recorded, in alternating rounds, one caller and
//!   then 8 concurrent callers. Issue 26 asks for at most 10% slower.
//!
//! Two embedded stores in one process hold the same 10,000 IAM resources, made through IAM's
//! own handlers: 2,500 customer managed policies (one of them the `*`-on-`*` one), 500 groups, 3,000 users (each in a group, a
//! third with a managed policy) and 4,000 roles (each with a managed policy, a fifth with an
//! inline policy). On the first a recorder records every type, with 16 managed rules and a
//! Guard custom rule (made through Config's handlers); the second records nothing.
//!
//! Each store is followed by the server's recording loop (`crates/server/src/jobs/config.rs`
//! without its lease): `sync::run` as soon as the store's change signal fires, else every
//! second. Changes are made by the handler in its own transaction, without the request path's
//! SigV4, authorization and audit record, so the write's own cost is the smallest it can be
//! and any slowdown shows at its largest.
//!
//! Run: `cargo bench -p rampart-config --bench config [-- CHANGES]` (default 400 changes).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "bench code, not the request path"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use rampart_config::model::{evaluation_key, EvaluationDoc, EVALUATION};
use rampart_config::sync;
use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::principal::Principal;
use rampart_store::Store;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const POLICIES: usize = 2_500;
const GROUPS: usize = 500;
const USERS: usize = 3_000;
const ROLES: usize = 4_000;
/// The policy the changes attach and detach: a customer managed `*` on `*` (a bare store has
/// no AWS managed policies), named in `IAM_POLICY_BLACKLISTED_CHECK`'s `policyArns`.
const ADMIN: &str = "arn:aws:iam::111122223333:policy/blocked-admin";
const WATCHED_RULE: &str = "iam-policy-blacklisted";
/// Calls per write-path round, and the callers of the concurrent rounds (each caller's share
/// of a round is even: it attaches and detaches in pairs).
const ROUND: usize = 240;
const CALLERS: usize = 8;

fn ctx() -> CallContext {
    CallContext {
        now: Utc::now(),
        ..rampart_kit::test_support::context(Principal::root(
            rampart_kit::Partition::Aws,
            ACCOUNT,
            "AKIABENCH",
        ))
    }
}

async fn iam(db: Db<'_>, op: &str, input: Value) -> Value {
    let route = rampart_iam::Op::from_name(op)
        .and_then(rampart_iam::route)
        .unwrap_or_else(|| panic!("{op} is not built"));
    route
        .handle(input, &ctx(), db)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"))
}

async fn config(store: &Store, op: &str, input: Value) -> Value {
    let route = rampart_config::Op::from_name(op)
        .and_then(rampart_config::route)
        .unwrap_or_else(|| panic!("{op} is not built"));
    route
        .call_unaudited(input, &ctx(), store)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn policy_document(i: usize) -> String {
    let statement = match i % 4 {
        0 => json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [format!("arn:aws:s3:::data-{i}"), format!("arn:aws:s3:::data-{i}/*")]}),
        1 => json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}),
        2 => json!({"Effect": "Allow", "Action": "dynamodb:*",
            "Resource": format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t{i}")}),
        _ => json!({"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}),
    };
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

fn policy_arn(i: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/p-{i:05}")
}

/// Runs `calls` IAM calls in transactions of `per_tx` calls each; returns their outputs.
async fn iam_batch(store: &Store, calls: Vec<(&'static str, Value)>, per_tx: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(calls.len());
    for chunk in calls.chunks(per_tx) {
        let mut tx = store.begin().await.unwrap();
        for (op, input) in chunk {
            out.push(iam(Db::Write(&mut tx), op, input.clone()).await);
        }
        tx.commit().await.unwrap();
    }
    out
}

/// The 10,000 IAM resources; returns the roles' ids in order.
async fn populate(store: &Store) -> Vec<String> {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    let admin = json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let mut calls: Vec<(&'static str, Value)> = vec![(
        "CreatePolicy",
        json!({"PolicyName": "blocked-admin", "PolicyDocument": admin.to_string()}),
    )];
    for i in 1..POLICIES {
        calls.push((
            "CreatePolicy",
            json!({"PolicyName": format!("p-{i:05}"), "PolicyDocument": policy_document(i)}),
        ));
    }
    for i in 0..GROUPS {
        calls.push(("CreateGroup", json!({"GroupName": format!("g-{i:04}")})));
    }
    for i in 0..USERS {
        let user = format!("u-{i:05}");
        calls.push(("CreateUser", json!({"UserName": user})));
        calls.push((
            "AddUserToGroup",
            json!({"UserName": user, "GroupName": format!("g-{:04}", i % GROUPS)}),
        ));
        if i % 3 == 0 {
            calls.push((
                "AttachUserPolicy",
                json!({"UserName": user, "PolicyArn": policy_arn(1 + i % (POLICIES - 1))}),
            ));
        }
    }
    iam_batch(store, calls, 250).await;
    let mut calls: Vec<(&'static str, Value)> = Vec::new();
    for i in 0..ROLES {
        calls.push((
            "CreateRole",
            json!({"RoleName": format!("r-{i:05}"), "AssumeRolePolicyDocument": trust}),
        ));
    }
    let roles: Vec<String> = iam_batch(store, calls, 250)
        .await
        .iter()
        .map(|o| o["Role"]["RoleId"].as_str().expect("role id").to_string())
        .collect();
    let mut calls: Vec<(&'static str, Value)> = Vec::new();
    for i in 0..ROLES {
        let role = format!("r-{i:05}");
        calls.push((
            "AttachRolePolicy",
            json!({"RoleName": role, "PolicyArn": policy_arn(1 + i % (POLICIES - 1))}),
        ));
        if i % 5 == 0 {
            calls.push((
                "PutRolePolicy",
                json!({"RoleName": role, "PolicyName": "inline", "PolicyDocument": policy_document(i)}),
            ));
        }
    }
    iam_batch(store, calls, 250).await;
    roles
}

/// A recorder over every type, a delivery channel, and the rules.
async fn record(store: &Store) {
    let s3 = rampart_s3::Op::from_name("CreateBucket")
        .and_then(rampart_s3::route)
        .expect("CreateBucket");
    s3.call_unaudited(json!({"Bucket": "config-bench-delivery"}), &ctx(), store)
        .await
        .expect("bucket");
    config(
        store,
        "PutConfigurationRecorder",
        json!({"ConfigurationRecorder": {"name": "default",
            "roleARN": format!("arn:aws:iam::{ACCOUNT}:role/config"),
            "recordingGroup": {"allSupported": true, "includeGlobalResourceTypes": true}}}),
    )
    .await;
    config(
        store,
        "PutDeliveryChannel",
        json!({"DeliveryChannel": {"name": "default", "s3BucketName": "config-bench-delivery"}}),
    )
    .await;
    let t = Instant::now();
    config(
        store,
        "StartConfigurationRecorder",
        json!({"ConfigurationRecorderName": "default"}),
    )
    .await;
    println!(
        "first recording of every resource: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let kms = r#"{"blockedActionsPatterns": "kms:Decrypt,kms:ReEncryptFrom"}"#;
    let role_policy = format!(r#"{{"managedPolicyArns": "{}"}}"#, policy_arn(1));
    let managed: Vec<(&str, &str, Option<String>)> = vec![
        ("iam-user-no-policies", "IAM_USER_NO_POLICIES_CHECK", None),
        ("iam-no-inline-policy", "IAM_NO_INLINE_POLICY_CHECK", None),
        (
            "iam-policy-no-admin",
            "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
            None,
        ),
        (
            "iam-policy-no-full",
            "IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS",
            None,
        ),
        ("iam-user-mfa", "IAM_USER_MFA_ENABLED", None),
        ("mfa-console", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS", None),
        ("access-keys-rotated", "ACCESS_KEYS_ROTATED", None),
        (
            "unused-credentials",
            "IAM_USER_UNUSED_CREDENTIALS_CHECK",
            None,
        ),
        ("group-membership", "IAM_USER_GROUP_MEMBERSHIP_CHECK", None),
        (
            WATCHED_RULE,
            "IAM_POLICY_BLACKLISTED_CHECK",
            Some(format!(r#"{{"policyArns": "{ADMIN}"}}"#)),
        ),
        (
            "role-managed-policy",
            "IAM_ROLE_MANAGED_POLICY_CHECK",
            Some(role_policy),
        ),
        (
            "inline-kms",
            "IAM_INLINE_POLICY_BLOCKED_KMS_ACTIONS",
            Some(kms.into()),
        ),
        (
            "customer-kms",
            "IAM_CUSTOMER_POLICY_BLOCKED_KMS_ACTIONS",
            Some(kms.into()),
        ),
        ("password-policy", "IAM_PASSWORD_POLICY", None),
        ("root-mfa", "ROOT_ACCOUNT_MFA_ENABLED", None),
        ("root-access-key", "IAM_ROOT_ACCESS_KEY_CHECK", None),
    ];
    let t = Instant::now();
    for (name, identifier, params) in managed {
        let mut rule = json!({"ConfigRuleName": name,
            "Source": {"Owner": "AWS", "SourceIdentifier": identifier}});
        if let Some(p) = params {
            rule["InputParameters"] = json!(p);
        }
        config(store, "PutConfigRule", json!({ "ConfigRule": rule })).await;
    }
    let guard = "rule roles_at_root when resourceType == \"AWS::IAM::Role\" {\n  \
                 configuration.path == \"/\"\n  configuration.maxSessionDuration <= 43200\n}\n";
    config(
        store,
        "PutConfigRule",
        json!({"ConfigRule": {"ConfigRuleName": "guard-roles",
            "Scope": {"ComplianceResourceTypes": ["AWS::IAM::Role"]},
            "Source": {"Owner": "CUSTOM_POLICY",
                "SourceDetails": [{"EventSource": "aws.config",
                    "MessageType": "ConfigurationItemChangeNotification"}],
                "CustomPolicyDetails": {"PolicyRuntime": "guard-2.x.x", "PolicyText": guard}}}}),
    )
    .await;
    println!(
        "17 rules put, each evaluating its scope: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// The server's recording loop without its lease: `sync::run` when the change signal fires,
/// else every second; the periodic duties once a second.
fn follow(store: &Store) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    let signal = store.change_signal();
    tokio::spawn(async move {
        let mut last_periodic = Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = signal.notified() => {}
            }
            let periodic = last_periodic.elapsed() >= Duration::from_secs(1);
            if periodic {
                last_periodic = Instant::now();
            }
            sync::run(&store, Utc::now(), None, periodic)
                .await
                .expect("recording step");
        }
    })
}

/// Waits until the change log is empty (everything recorded and evaluated).
async fn drained(store: &Store) {
    while !store.changes().after(0, 1).await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Attaches (`attach`) or detaches `AdministratorAccess` on role `i`; returns the call's time
/// to its commit.
async fn change(store: &Store, i: usize, attach: bool) -> Duration {
    let op = if attach {
        "AttachRolePolicy"
    } else {
        "DetachRolePolicy"
    };
    let t = Instant::now();
    let mut tx = store.begin().await.unwrap();
    iam(
        Db::Write(&mut tx),
        op,
        json!({"RoleName": format!("r-{i:05}"), "PolicyArn": ADMIN}),
    )
    .await;
    tx.commit().await.unwrap();
    t.elapsed()
}

async fn compliance(store: &Store, role_id: &str) -> Option<String> {
    let key = evaluation_key(WATCHED_RULE, "AWS::IAM::Role", role_id);
    let e = store
        .entities()
        .get(ACCOUNT, EVALUATION, &key)
        .await
        .unwrap()?;
    let doc: EvaluationDoc = serde_json::from_str(&e.doc).unwrap();
    Some(doc.compliance)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(label: &str, mut samples: Vec<Duration>) -> (f64, Duration, Duration) {
    samples.sort();
    let mean = samples.iter().map(|d| d.as_secs_f64()).sum::<f64>() / samples.len() as f64;
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{label}: n {} mean {:.2} ms p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        samples.len(),
        mean * 1e3,
        ms(p50),
        ms(p99),
        ms(*samples.last().unwrap())
    );
    (mean * 1e3, p50, p99)
}

/// Change to evaluation: `n` changes on distinct roles, one at a time.
async fn change_to_evaluation(store: &Store, roles: &[String], n: usize) {
    let mut lags = Vec::with_capacity(n);
    for k in 0..n {
        // Each role is attached, then detached by the next change.
        let i = 1 + (k / 2 * 7) % (ROLES - 1);
        let attach = k % 2 == 0;
        let want = if attach { "NON_COMPLIANT" } else { "COMPLIANT" };
        change(store, i, attach).await;
        let t = Instant::now();
        while compliance(store, &roles[i]).await.as_deref() != Some(want) {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "role {i} never became {want}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        lags.push(t.elapsed());
    }
    summary("change to evaluation committed", lags);
}

/// One write-path round: `ROUND` changes, by one caller or by `CALLERS`; returns each call's
/// time and the round's calls per second.
async fn writes(store: &Store, first: usize, callers: usize) -> (Vec<Duration>, f64) {
    let t = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let share = ROUND / callers;
            for j in 0..share {
                // Each caller attaches then detaches on roles of its own (`share` is even).
                let k = c * share + j;
                let i = ROLES / 2 + (first + k / 2) % (ROLES / 2);
                out.push(change(&store, i, j % 2 == 0).await);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let rate = all.len() as f64 / t.elapsed().as_secs_f64();
    (all, rate)
}

async fn write_path(on: &Store, off: &Store, rounds: usize) {
    for callers in [1, CALLERS] {
        let (mut on_all, mut off_all) = (Vec::new(), Vec::new());
        let (mut on_rates, mut off_rates) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            let first = r * ROUND;
            let (t, rate) = writes(on, first, callers).await;
            on_all.extend(t);
            on_rates.push(rate);
            // The recording store's evaluations finish before the other store's round.
            drained(on).await;
            let (t, rate) = writes(off, first, callers).await;
            off_all.extend(t);
            off_rates.push(rate);
        }
        let (on_mean, on_p50, on_p99) =
            summary(&format!("write, {callers} caller(s), recording"), on_all);
        let (off_mean, off_p50, off_p99) = summary(
            &format!("write, {callers} caller(s), not recording"),
            off_all,
        );
        let on_rate = on_rates.iter().sum::<f64>() / on_rates.len() as f64;
        let off_rate = off_rates.iter().sum::<f64>() / off_rates.len() as f64;
        println!(
            "write, {callers} caller(s): recording/not: mean x{:.3}, p50 x{:.3}, p99 x{:.3}, \
             calls/s {on_rate:.0} vs {off_rate:.0} (x{:.3})",
            on_mean / off_mean,
            on_p50.as_secs_f64() / off_p50.as_secs_f64(),
            on_p99.as_secs_f64() / off_p99.as_secs_f64(),
            on_rate / off_rate
        );
    }
}

async fn open() -> (Store, PathBuf) {
    rampart_kit::test_support::store().await
}

fn main() {
    let changes: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(400);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = Instant::now();
        let (on, on_dir) = open().await;
        let (off, off_dir) = open().await;
        let roles = populate(&on).await;
        populate(&off).await;
        println!(
            "two stores of {} IAM resources each made in {:.1} s",
            POLICIES + GROUPS + USERS + ROLES,
            t.elapsed().as_secs_f64()
        );
        record(&on).await;
        let followers = [follow(&on), follow(&off)];
        let t = Instant::now();
        drained(&on).await;
        println!(
            "setup's changes caught up in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let counts = config(&on, "GetDiscoveredResourceCounts", json!({})).await;
        println!("recorded: {}", counts["totalDiscoveredResources"]);
        change_to_evaluation(&on, &roles, changes).await;
        write_path(&on, &off, 3).await;
        for f in followers {
            f.abort();
        }
        drop((on, off));
        let _ = std::fs::remove_dir_all(on_dir);
        let _ = std::fs::remove_dir_all(off_dir);
    });
}
