//! awsJson 1.1: decoding, type checks, validation, exact bodies and routing through
//! `decode_request`.

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

use common::*;
use rampart_wire::*;
use serde_json::json;

fn req<'a>(target: &'a str, body: &'a [u8]) -> HttpRequest<'a> {
    HttpRequest {
        method: "POST",
        content_type: Some("application/x-amz-json-1.1"),
        target: Some(target),
        signed_service: Some("kms"),
        body,
        ..Default::default()
    }
}

fn fail(target: &str, body: &str) -> ApiError {
    decode_request(&req(target, body.as_bytes()))
        .unwrap_err()
        .error
}

#[test]
fn decodes_kms_encrypt() {
    let d = decode_request(&req(
        "TrentService.Encrypt",
        br#"{"KeyId":"alias/x","Plaintext":"aGVsbG8=","EncryptionContext":{"a":"b"},"Unknown":1,"GrantTokens":null}"#,
    ))
    .unwrap();
    assert_eq!((d.service.name, d.operation.name), ("kms", "Encrypt"));
    assert_eq!(
        d.input,
        json!({"KeyId": "alias/x", "Plaintext": "aGVsbG8=", "EncryptionContext": {"a": "b"}})
    );
}

#[test]
fn decodes_timestamps_and_empty_bodies() {
    let (_, v) = decode_json(
        &JSON,
        "TestService.Op",
        br#"{"Name":"n","When":1704164645.5,"Count":2.0,"Items":["a"],"Nested":{"Inner":"i"}}"#,
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"Name": "n", "Count": 2, "When": 1704164645.5, "Nested": {"Inner": "i"}, "Items": ["a"]})
    );
    let d = decode_request(&HttpRequest {
        method: "POST",
        content_type: Some("application/x-amz-json-1.1"),
        target: Some("AWSOrganizationsV20161128.DescribeOrganization"),
        body: b"",
        ..Default::default()
    })
    .unwrap();
    assert_eq!(d.input, json!({}));
}

#[test]
fn serialization_errors() {
    let e = fail("TrentService.Encrypt", "{not json");
    assert_eq!((e.code.as_str(), e.status), ("SerializationException", 400));
    let e = fail("TrentService.Encrypt", "[1]");
    assert_eq!(e.code, "SerializationException");
    let e = fail("TrentService.Encrypt", r#"{"KeyId":1,"Plaintext":"aGk="}"#);
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "SerializationException",
            "NUMBER_VALUE can not be converted to a String"
        )
    );
    let e = fail("TrentService.Encrypt", r#"{"KeyId":"k","Plaintext":"!!"}"#);
    assert_eq!(e.code, "SerializationException");
    let e = fail("TrentService.ListKeys", r#"{"Limit":"10"}"#);
    assert_eq!(e.message, "STRING_VALUE can not be converted to an Integer");
    let e = fail("TrentService.ListKeys", r#"{"Limit":1.5}"#);
    assert_eq!(e.code, "SerializationException");
}

#[test]
fn unknown_operations_and_content_types() {
    let e = fail("TrentService.Nope", "{}");
    assert_eq!(
        (e.code.as_str(), e.status),
        ("UnknownOperationException", 400)
    );
    let e = fail("Bogus.Encrypt", "{}");
    assert_eq!(e.code, "UnknownOperationException");
    let f = decode_request(&HttpRequest {
        content_type: Some("text/plain"),
        ..req("TrentService.ListKeys", b"{}")
    })
    .unwrap_err();
    assert_eq!(f.error.code, "UnknownOperationException");
    assert_eq!(f.service.map(|s| s.name), Some("kms"));
    // Signed for KMS but sent as a form: no target.
    let f = decode_request(&HttpRequest {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        signed_service: Some("kms"),
        body: b"Action=ListKeys",
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(f.error.code, "UnknownOperationException");
    let r = f.encode("rid");
    assert_eq!(
        r.header(WireHeader::ErrorType),
        Some("UnknownOperationException")
    );
}

#[test]
fn validation_exceptions() {
    let e = fail("TrentService.Encrypt", r#"{"Plaintext":"aGk="}"#);
    assert_eq!((e.code.as_str(), e.status), ("ValidationException", 400));
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
    let e = fail("TrentService.ListKeys", r#"{"Limit":0}"#);
    assert_eq!(
        e.message,
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    let e = fail("TrentService.CreateKey", r#"{"KeyUsage":"SIGN"}"#);
    assert!(e.message.contains("Value 'SIGN' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: ["), "{}", e.message);
    // Plaintext is sensitive: its value is never echoed.
    let e = fail("TrentService.Encrypt", r#"{"KeyId":"k","Plaintext":""}"#);
    assert!(e.message.contains("Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"), "{}", e.message);
}

#[test]
fn encodes_describe_key_exactly() {
    let kms = kms();
    let op = kms.operation("DescribeKey").unwrap();
    let out = json!({"KeyMetadata": {
        "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "CreationDate": "2024-01-02T03:04:05Z", "Enabled": true, "KeyState": "Enabled", "Internal": "dropped",
        "DeletionDate": null, "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]
    }});
    let r = encode_output(kms, op, &out, "rid").unwrap();
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"KeyMetadata":{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Arn":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","CreationDate":1704164645,"Enabled":true,"KeyState":"Enabled","EncryptionAlgorithms":["SYMMETRIC_DEFAULT"]}}"#
    );
    assert_eq!(
        r.header(WireHeader::ContentType),
        Some("application/x-amz-json-1.1")
    );
    assert_eq!(r.header(WireHeader::RequestId), Some("rid"));
    let op = kms.operation("ScheduleKeyDeletion").unwrap();
    let r = encode_output(
        kms,
        op,
        &json!({"KeyId": "k", "DeletionDate": 1704164645.25}),
        "r",
    )
    .unwrap();
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"KeyId":"k","DeletionDate":1704164645.25}"#
    );
    let op = kms.operation("EnableKey").unwrap();
    let r = encode_output(kms, op, &serde_json::Value::Null, "r").unwrap();
    assert_eq!(r.body, b"{}");
}

#[test]
fn encodes_maps_and_errors() {
    let sm = rampart_model::service("secretsmanager").unwrap();
    let op = sm.operation("DescribeSecret").unwrap();
    let out = json!({"Name": "s", "VersionIdsToStages": {"v1": ["AWSCURRENT"]}, "CreatedDate": 0});
    let r = encode_output(sm, op, &out, "r").unwrap();
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"Name":"s","VersionIdsToStages":{"v1":["AWSCURRENT"]},"CreatedDate":0}"#
    );
    let e = ApiError::from_code(
        sm,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    );
    let r = encode_error(sm, &e, "r");
    assert_eq!(r.status, 400);
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}"#
    );
}
