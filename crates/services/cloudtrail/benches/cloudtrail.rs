//! Cost of the CloudTrail record every request writes: the event JSON of a signed
//! `GetCallerIdentity` (empty parameters) and of a `CreateUser` (parameters and response).

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

use chrono::Utc;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rampart_cloudtrail::event::{build, EventFacts};
use rampart_kit::Principal;
use serde_json::json;

fn events(c: &mut Criterion) {
    let root = Principal::root(
        rampart_kit::Partition::Aws,
        "111122223333",
        "AKIAIOSFODNN7EXAMPLE",
    );
    let empty = json!({});
    let facts = EventFacts {
        request_id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
        event_time: Utc::now(),
        service: Some("sts"),
        operation: Some("GetCallerIdentity"),
        region: "us-east-1",
        source_ip: "127.0.0.1",
        user_agent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/sts.get-caller-identity",
        principal: Some(&root),
        access_key_id: Some("AKIAIOSFODNN7EXAMPLE"),
        request_parameters: Some(&empty),
        response_elements: None,
        error: None,
        read_only: true,
        model: rampart_model::service("sts")
            .and_then(|s| Some((s, s.operation("GetCallerIdentity")?))),
        invoked_by: None,
        data_resources: None,
    };
    c.bench_function("cloudtrail_event/get_caller_identity", |b| {
        b.iter(|| build(black_box(&facts)))
    });
    let input =
        json!({"UserName": "alice", "Path": "/eng/", "Tags": [{"Key": "team", "Value": "x"}]});
    let output = json!({"User": {"UserName": "alice", "Path": "/eng/", "UserId": "AIDAEXAMPLE",
        "Arn": "arn:aws:iam::111122223333:user/eng/alice", "CreateDate": 1_700_000_000}});
    let write = EventFacts {
        operation: Some("CreateUser"),
        service: Some("iam"),
        request_parameters: Some(&input),
        response_elements: Some(&output),
        read_only: false,
        model: rampart_model::service("iam").and_then(|s| Some((s, s.operation("CreateUser")?))),
        ..facts.clone()
    };
    c.bench_function("cloudtrail_event/create_user", |b| {
        b.iter(|| build(black_box(&write)))
    });
}

criterion_group!(benches, events);
criterion_main!(benches);
