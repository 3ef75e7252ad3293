//! A generated property test over every built operation of every service: random inputs
//! shaped by the model (valid-looking ones and hostile mutations), signed as the root user,
//! an IAM user allowed everything, one allowed nothing, or a role session, and sent through
//! the in-process router. Every call must
//! be answered without a panic and without a 5xx, and a call answered with an error must
//! leave the store as it found it and name an error the service's model (or AWS's common
//! errors) knows, with that error's HTTP status.
//!
//! The seed is fixed, so a run is reproducible. More cases: `RAMPART_EVERY_OP_CASES` (per
//! operation and round, default 6), `RAMPART_EVERY_OP_ROUNDS` (fresh store and fixture each,
//! default 2) and `RAMPART_EVERY_OP_SEED`. `RAMPART_EVERY_OP_ONLY=kms:ListGrants,iam` narrows
//! the run to some operations or services; `RAMPART_EVERY_OP_VERBOSE=1` prints every answer.

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

mod encode;
mod fixture;
mod generate;
mod harness;

use std::time::Instant;

use generate::{Generator, Rng};
use harness::{Harness, Outcome};
use rampart_model::{Operation, Service, SERVICES};
use rampart_services::registry::Registry;
use serde_json::Value;

const DEFAULT_SEED: u64 = 0x5EED_2026_1206;

/// Name prefixes of operations that remove, disable or replace what others use: they run
/// last in a round, so that the others meet the fixture as it was seeded.
const DESTRUCTIVE: &[&str] = &[
    "Delete",
    "Remove",
    "Detach",
    "Disable",
    "Deactivate",
    "Leave",
    "Close",
    "Schedule",
    "Retire",
    "Revoke",
    "Decline",
    "Cancel",
    "Abort",
    "Move",
    "Update",
    "Untag",
];

/// Entity kinds written in the background after a call is authorized (service last access)
/// or by metering, whatever the call's outcome.
const BACKGROUND_KINDS: &[&str] = &["iam:last-access", "billing:requests"];

struct Failure {
    operation: String,
    caller: &'static str,
    input: Value,
    what: String,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Every operation the registry serves, the destructive ones last.
fn built_operations() -> Vec<(&'static Service, &'static Operation)> {
    let registry = Registry;
    let mut ops: Vec<_> = SERVICES
        .iter()
        .flat_map(|s| s.operations.iter().map(move |op| (*s, op)))
        .filter(|(s, op)| registry.lookup(s.name, op.name).is_some())
        .collect();
    ops.sort_by_key(|(_, op)| DESTRUCTIVE.iter().any(|p| op.name.starts_with(p)));
    ops
}

/// The store's state as calls leave it, without what background work writes, and the blob
/// files (object data) on disk: a refused upload must leave no blob behind.
async fn state(h: &Harness) -> Vec<String> {
    let mut rows = h.app().store.dump_state().await.expect("dump");
    rows.retain(|r| {
        !(r.starts_with("entities|")
            && BACKGROUND_KINDS
                .iter()
                .any(|k| r.contains(&format!("|{k}|"))))
    });
    let shards = std::fs::read_dir(h.app().blobs.root())
        .into_iter()
        .flatten();
    for shard in shards.flatten() {
        for blob in std::fs::read_dir(shard.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            rows.push(format!("blobs|{}", blob.file_name().to_string_lossy()));
        }
    }
    rows.sort();
    rows
}

/// The error code of an error body: awsQuery's `<Code>`, awsJson's `__type` (the part after
/// a `#`, as clients read it).
fn error_code(body: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let t = v.get("__type")?.as_str()?;
        return Some(t.rsplit('#').next().unwrap_or(t).to_string());
    }
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body.get(start..)?.find("</Code>")? + start;
    body.get(start..end).map(str::to_string)
}

/// A 5xx that is a deliberate refusal, not a fault: S3 answers `NotImplemented` (501) to a
/// header asking for what it does not do (`If-None-Match` other than `*` on a write), as AWS
/// does. It is checked like any other error answer.
fn refusal(status: u16, body: &str) -> bool {
    status == 501 && error_code(body).as_deref() == Some("NotImplemented")
}

/// Whether an error of `service` (its model's, S3's table, AWS's common ones) answers with
/// `status`: S3's `HEAD` errors are a status alone.
fn head_error_status(service: &Service, status: u16) -> bool {
    const S3_HEAD_ERRORS: &[&str] = &[
        "AccessDenied",
        "InvalidArgument",
        "InvalidBucketName",
        "InvalidRequest",
        "NoSuchBucket",
        "NoSuchKey",
        "PreconditionFailed",
        "InvalidRange",
        "MethodNotAllowed",
        "NotModified",
    ];
    service.errors.iter().any(|e| e.status == status)
        || S3_HEAD_ERRORS
            .iter()
            .any(|code| service.error_status(code).is_some_and(|(s, _)| s == status))
}

/// Leaves out the one input this test must not send yet.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_built_operation_survives_generated_inputs() {
    let started = Instant::now();
    let seed = env_number("RAMPART_EVERY_OP_SEED", DEFAULT_SEED);
    let rounds = env_number("RAMPART_EVERY_OP_ROUNDS", 2);
    let cases = env_number("RAMPART_EVERY_OP_CASES", 6);
    let mut ops = built_operations();
    assert!(ops.len() > 100, "only {} built operations found", ops.len());
    if let Ok(only) = std::env::var("RAMPART_EVERY_OP_ONLY") {
        let wanted: Vec<&str> = only.split(',').map(str::trim).collect();
        ops.retain(|(s, op)| {
            wanted.contains(&s.name) || wanted.contains(&format!("{}:{}", s.name, op.name).as_str())
        });
    }
    let verbose = std::env::var_os("RAMPART_EVERY_OP_VERBOSE").is_some();
    let mut rng = Rng::new(seed);
    let mut failures: Vec<Failure> = Vec::new();
    let (mut calls, mut answered_ok) = (0u64, 0u64);
    let mut succeeded: std::collections::BTreeSet<&str> = Default::default();

    for _ in 0..rounds {
        let h = Harness::start().await;
        let fx = fixture::seed(&h).await;
        for &(service, op) in &ops {
            for case in 0..cases {
                // Cases take turns: minimal valid, hostile, valid with optional members, hostile.
                let hostile = case % 2 == 1;
                let minimal = case % 4 == 0;
                let (caller, who) = match rng.below(10) {
                    0 | 1 => (&fx.unprivileged, "unprivileged user"),
                    2 | 3 => (&fx.admin, "admin user"),
                    4 => (&fx.role_session, "role session"),
                    _ => (&h.root, "root"),
                };
                let input = Generator {
                    service,
                    rng: &mut rng,
                    pool: &fx.pool,
                    hostile,
                    minimal,
                    reuse: if op.name.starts_with("Create") {
                        50
                    } else {
                        80
                    },
                }
                .input(op);
                let before = state(&h).await;
                calls += 1;
                let fail = |what: String| Failure {
                    operation: format!("{}:{}", service.name, op.name),
                    caller: who,
                    input: input.clone(),
                    what,
                };
                let outcome = h.call(caller, service, op, &input).await;
                if verbose {
                    if let Outcome::Answered { status, body } = &outcome {
                        println!("{}:{} {status} {}", service.name, op.name, clip(body, 160));
                    }
                }
                match outcome {
                    Outcome::Panicked(p) => failures.push(fail(format!("panicked: {p}"))),
                    Outcome::Answered { status, body }
                        if status >= 500 && !refusal(status, &body) =>
                    {
                        failures.push(fail(format!("{status}: {}", clip(&body, 300))))
                    }
                    Outcome::Answered { status, .. }
                        if status == op.http.status || (200..300).contains(&status) =>
                    {
                        answered_ok += 1;
                        succeeded.insert(op.name);
                    }
                    Outcome::Answered { status, body } => {
                        match error_code(&body) {
                            // A HEAD answer has no body, so no code to check: its status must
                            // be one the service's errors have.
                            None if op.http.method == "HEAD" && body.is_empty() => {
                                if !head_error_status(service, status) {
                                    failures.push(fail(format!(
                                        "HEAD answered {status}, which no error of the service has"
                                    )));
                                }
                            }
                            None => failures.push(fail(format!(
                                "answered {status} without an error code: {}",
                                clip(&body, 200)
                            ))),
                            Some(code) => match service.error_status(&code) {
                                Some((expected, _)) if expected == status => {}
                                Some((expected, _)) => failures.push(fail(format!(
                                    "{code} answered {status}; the model says {expected}"
                                ))),
                                None => failures.push(fail(format!(
                                    "{code} ({status}) is neither in the model nor a common error"
                                ))),
                            },
                        }
                        let after = state(&h).await;
                        if after != before {
                            let changed: Vec<String> = after
                                .iter()
                                .filter(|r| !before.contains(r))
                                .chain(before.iter().filter(|r| !after.contains(r)))
                                .map(|r| clip(r, 200))
                                .collect();
                            failures.push(fail(format!(
                                "answered {status} ({}) but changed the store: {changed:#?}",
                                clip(&body, 200)
                            )));
                        }
                    }
                }
            }
        }
    }

    let never: Vec<&str> = ops
        .iter()
        .map(|(_, op)| op.name)
        .filter(|name| !succeeded.contains(name))
        .collect();
    println!(
        "{calls} calls to {} operations (seed {seed:#x}, {rounds} rounds x {cases} cases) in \
         {:.1}s; {answered_ok} succeeded; {} operations never succeeded: {never:?}",
        ops.len(),
        started.elapsed().as_secs_f64(),
        never.len(),
    );
    if !failures.is_empty() {
        let report: Vec<String> = failures
            .iter()
            .map(|f| {
                format!(
                    "{} as {}: {}\n  input: {}",
                    f.operation,
                    f.caller,
                    f.what,
                    clip(&f.input.to_string(), 600)
                )
            })
            .collect();
        panic!(
            "{} of {calls} calls failed (seed {seed:#x}):\n{}",
            failures.len(),
            report.join("\n")
        );
    }
}

#[test]
fn error_codes_are_read_from_both_envelopes() {
    let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
               <Message>m</Message></Error></ErrorResponse>";
    assert_eq!(error_code(xml).as_deref(), Some("NoSuchEntity"));
    let json = r#"{"__type":"NotFoundException","message":"m"}"#;
    assert_eq!(error_code(json).as_deref(), Some("NotFoundException"));
    let prefixed = r#"{"__type":"com.amazonaws.kms#NotFoundException"}"#;
    assert_eq!(error_code(prefixed).as_deref(), Some("NotFoundException"));
    assert_eq!(error_code("{}"), None);
}
