//! With `RAMPART_WIRE_DUMP=<dir>` set, writes sample responses (`<service>.<Operation>.<status>`)
//! for cross-checking with botocore's own parsers; a no-op otherwise.

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

mod common;

use rampart_wire::*;
use serde_json::json;

#[test]
fn dump_samples() {
    let Ok(dir) = std::env::var("RAMPART_WIRE_DUMP") else {
        return;
    };
    let samples = [
        (
            "iam",
            "GetUser",
            json!({"User": {"UserName": "alice", "Path": "/", "UserId": "AIDAX", "Arn": "arn:aws:iam::123456789012:user/alice", "CreateDate": 1704164645, "Tags": [{"Key": "k", "Value": "a&b\n<c>\t\"'"}]}}),
        ),
        (
            "iam",
            "ListUsers",
            json!({"Users": [{"UserName": "a", "Path": "/", "UserId": "AIDA1", "Arn": "arn:aws:iam::1:user/a", "CreateDate": 1704164645.5}], "IsTruncated": true, "Marker": "m"}),
        ),
        (
            "iam",
            "GetAccountSummary",
            json!({"SummaryMap": {"Users": 3, "Groups": 1}}),
        ),
        ("iam", "DeleteUser", serde_json::Value::Null),
        (
            "sts",
            "GetCallerIdentity",
            json!({"UserId": "123456789012", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root"}),
        ),
        (
            "sts",
            "AssumeRole",
            json!({"Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2024-01-02T03:04:05Z"}, "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::1:assumed-role/r/s"}, "PackedPolicySize": 6}),
        ),
        (
            "kms",
            "DescribeKey",
            json!({"KeyMetadata": {"KeyId": "k", "CreationDate": 1704164645.25, "Enabled": true, "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]}}),
        ),
        (
            "kms",
            "Encrypt",
            json!({"CiphertextBlob": "aGVsbG8=", "KeyId": "k", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
        ),
        (
            "secretsmanager",
            "DescribeSecret",
            json!({"Name": "s", "VersionIdsToStages": {"v1": ["AWSCURRENT"]}, "CreatedDate": 0}),
        ),
        (
            "guardduty",
            "ListDetectors",
            json!({"DetectorIds": ["d1", "d2"], "NextToken": "t"}),
        ),
        (
            "detective",
            "ListGraphs",
            json!({"GraphList": [{"Arn": "arn:aws:detective:us-east-1:123456789012:graph:1", "CreatedTime": 1704164645.25}]}),
        ),
    ];
    for (svc, op, out) in samples {
        let s = rampart_model::service(svc).unwrap();
        let o = s.operation(op).unwrap();
        let r = encode_output(s, o, &out, "rid-1").unwrap();
        std::fs::write(format!("{dir}/{svc}.{op}.200"), &r.body).unwrap();
    }
    let errors = [
        (
            "iam",
            ApiError::from_code(
                rampart_model::service("iam").unwrap(),
                "NoSuchEntity",
                "The user with name bob cannot be found.",
            ),
        ),
        (
            "kms",
            ApiError::from_code(
                rampart_model::service("kms").unwrap(),
                "NotFoundException",
                "Key not found",
            ),
        ),
        (
            "guardduty",
            ApiError::from_code(
                rampart_model::service("guardduty").unwrap(),
                "BadRequestException",
                "The request is rejected.",
            ),
        ),
    ];
    for (svc, e) in errors {
        let r = encode_error(rampart_model::service(svc).unwrap(), &e, "rid-2");
        let hdr: Vec<String> = r
            .headers
            .iter()
            .map(|(k, v)| format!("{}: {v}", k.name()))
            .collect();
        std::fs::write(format!("{dir}/{svc}.error.{}", r.status), &r.body).unwrap();
        std::fs::write(format!("{dir}/{svc}.error.headers"), hdr.join("\n")).unwrap();
    }
}
