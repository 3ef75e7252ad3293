//! restJson1 decoding and encoding: requests as botocore 1.43.11 serializes them for the real
//! models (GuardDuty, Access Analyzer, Security Hub's greedy label, ...), and a synthetic model
//! for the bindings the security models do not use in inputs (headers, header prefixes,
//! payloads, query lists).

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

use rampart_model::*;
use rampart_wire::{
    decode_request, encode_error, encode_output, ApiError, DecodeFailure, Decoded, HttpRequest,
    WireHeader,
};
use serde_json::json;

fn send(
    signed: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
    body: &str,
) -> Result<Decoded, DecodeFailure> {
    decode_request(&HttpRequest {
        method,
        path,
        query,
        content_type: (!body.is_empty()).then_some("application/json"),
        signed_service: Some(signed),
        headers,
        body: body.as_bytes(),
        ..Default::default()
    })
}

#[test]
fn guardduty_list_findings_as_botocore_sends_it() {
    let d = send(
        "guardduty",
        "POST",
        "/detector/abc/findings",
        "",
        &[("content-type", b"application/json")],
        r#"{"findingCriteria": {"criterion": {"severity": {"gte": 4}}}, "maxResults": 10, "sortCriteria": {"attributeName": "severity", "orderBy": "DESC"}}"#,
    )
    .unwrap();
    assert_eq!(
        (d.service.name, d.operation.name),
        ("guardduty", "ListFindings")
    );
    assert_eq!(
        d.input,
        json!({
            "DetectorId": "abc",
            "FindingCriteria": {"Criterion": {"severity": {"Gte": 4}}},
            "MaxResults": 10,
            "SortCriteria": {"AttributeName": "severity", "OrderBy": "DESC"},
        })
    );
}

#[test]
fn guardduty_method_picks_between_operations_on_one_path() {
    let list = send("guardduty", "GET", "/detector", "maxResults=5", &[], "").unwrap();
    assert_eq!(list.operation.name, "ListDetectors");
    assert_eq!(list.input, json!({"MaxResults": 5}));
    let create = send(
        "guardduty",
        "POST",
        "/detector",
        "",
        &[],
        r#"{"enable": true, "tags": {"a": "b"}}"#,
    )
    .unwrap();
    assert_eq!(create.operation.name, "CreateDetector");
    assert_eq!(create.input, json!({"Enable": true, "Tags": {"a": "b"}}));
}

#[test]
fn access_analyzer_list_analyzers_reads_the_query() {
    let d = send(
        "access-analyzer",
        "GET",
        "/analyzer",
        "maxResults=5&type=ACCOUNT",
        &[],
        "",
    )
    .unwrap();
    assert_eq!(
        (d.service.name, d.operation.name),
        ("accessanalyzer", "ListAnalyzers")
    );
    assert_eq!(d.input, json!({"maxResults": 5, "type": "ACCOUNT"}));
    // A query value of the wrong type and an enum outside the model.
    let f = send(
        "access-analyzer",
        "GET",
        "/analyzer",
        "maxResults=five",
        &[],
        "",
    )
    .unwrap_err();
    assert_eq!(
        (f.error.code.as_str(), f.error.status),
        ("SerializationException", 400)
    );
    let f = send("access-analyzer", "GET", "/analyzer", "type=NOPE", &[], "").unwrap_err();
    assert_eq!(f.error.code, "ValidationException");
    assert_eq!(f.operation.map(|o| o.name), Some("ListAnalyzers"));
}

#[test]
fn security_hub_greedy_label_keeps_its_slashes() {
    let d = send(
        "securityhub",
        "DELETE",
        "/actionTargets/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A123456789012%3Aaction/custom/x",
        "",
        &[],
        "",
    )
    .unwrap();
    assert_eq!(d.operation.name, "DeleteActionTarget");
    assert_eq!(
        d.input,
        json!({"ActionTargetArn": "arn:aws:securityhub:us-east-1:123456789012:action/custom/x"})
    );
}

#[test]
fn every_service_of_the_module_decodes_one_call() {
    let calls = [
        (
            "detective",
            "POST",
            "/graphs/list",
            "",
            r#"{"MaxResults": 3}"#,
            "ListGraphs",
        ),
        (
            "macie2",
            "POST",
            "/findings",
            "",
            r#"{"maxResults": 3}"#,
            "ListFindings",
        ),
        (
            "inspector2",
            "POST",
            "/findings/list",
            "",
            r#"{"maxResults": 3}"#,
            "ListFindings",
        ),
        (
            "artifact",
            "GET",
            "/v1/report/list",
            "maxResults=3",
            "",
            "ListReports",
        ),
        (
            "securityhub",
            "POST",
            "/findingsv2",
            "",
            r#"{"MaxResults": 3}"#,
            "GetFindingsV2",
        ),
    ];
    for (svc, method, path, query, body, op) in calls {
        let d = send(svc, method, path, query, &[], body).unwrap();
        assert_eq!(d.operation.name, op, "{svc}");
        let max = d.input.get("MaxResults").or(d.input.get("maxResults"));
        assert_eq!(max, Some(&json!(3)), "{svc}");
    }
}

#[test]
fn unknown_paths_and_bad_bodies_answer_aws_errors() {
    let f = send("guardduty", "GET", "/nowhere", "", &[], "").unwrap_err();
    assert_eq!(
        (f.error.code.as_str(), f.error.status),
        ("UnknownOperationException", 404)
    );
    let r = f.encode("rid");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header(WireHeader::ErrorType),
        Some("UnknownOperationException")
    );
    let f = send(
        "guardduty",
        "POST",
        "/detector/abc/findings",
        "",
        &[],
        "[1]",
    )
    .unwrap_err();
    assert_eq!(f.error.code, "SerializationException");
    let f = send("guardduty", "POST", "/detector/abc/findings", "", &[], "{").unwrap_err();
    assert_eq!(f.error.code, "SerializationException");
    let f = send(
        "guardduty",
        "POST",
        "/detector/abc/findings",
        "",
        &[],
        r#"{"maxResults": "ten"}"#,
    )
    .unwrap_err();
    assert_eq!(f.error.code, "SerializationException");
    // Constraints: maxResults is 1..=50 in the model; GuardDuty answers BadRequestException.
    let f = send(
        "guardduty",
        "POST",
        "/detector/abc/findings",
        "",
        &[],
        r#"{"maxResults": 500}"#,
    )
    .unwrap_err();
    assert_eq!(
        (f.error.code.as_str(), f.error.status),
        ("BadRequestException", 400)
    );
    assert!(
        f.error.message.contains("maxResults"),
        "{}",
        f.error.message
    );
}

#[test]
fn errors_parse_as_botocore_reads_them() {
    let gd = service("guardduty").unwrap();
    let err = ApiError::from_code(gd, "BadRequestException", "The request is rejected.");
    let r = encode_error(gd, &err, "rid-1");
    assert_eq!(r.status, 400);
    assert_eq!(r.header(WireHeader::ErrorType), Some("BadRequestException"));
    assert_eq!(r.header(WireHeader::RequestId), Some("rid-1"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"__type": "BadRequestException", "message": "The request is rejected."})
    );
}

#[test]
fn outputs_use_json_names_model_status_and_timestamp_formats() {
    let gd = service("guardduty").unwrap();
    let op = gd.operation("ListDetectors").unwrap();
    let r = encode_output(
        gd,
        op,
        &json!({"DetectorIds": ["d1"], "NextToken": "t"}),
        "rid",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header(WireHeader::ContentType), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, json!({"detectorIds": ["d1"], "nextToken": "t"}));
    // Detective's timestamps are ISO 8601 by the model.
    let det = service("detective").unwrap();
    let op = det.operation("ListGraphs").unwrap();
    let r = encode_output(
        det,
        op,
        &json!({"GraphList": [{"Arn": "arn:aws:detective:us-east-1:123456789012:graph:1", "CreatedTime": 1704164645}]}),
        "rid",
    )
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["GraphList"][0]["CreatedTime"], "2024-01-02T03:04:05Z");
    // The operations whose model answers 204 send no body.
    let mut checked = 0;
    for svc in SERVICES.iter().filter(|s| s.protocol == Protocol::RestJson) {
        for op in svc.operations.iter().filter(|o| o.http.status == 204) {
            let r = encode_output(svc, op, &json!({}), "rid").unwrap();
            assert_eq!((r.status, r.body.len()), (204, 0), "{}", op.name);
            checked += 1;
        }
    }
    assert!(checked > 0);
}

// A synthetic restJson1 service with every input binding.
// Ids: Blob0 Int1 Map2 OpInput3 OpOutput4 Str5 StrList6 Ts7 Body8.
const fn sh(name: &'static str, kind: ShapeKind) -> Shape {
    Shape {
        name,
        kind,
        min: None,
        max: None,
        pattern: None,
        enum_values: &[],
        sensitive: false,
    }
}

const fn m(name: &'static str, shape: ShapeId, location: Location, wire: &'static str) -> Member {
    Member {
        name,
        shape,
        location_name: Some(wire),
        location,
        required: false,
        flattened: false,
        idempotency_token: false,
        xml_namespace: None,
        xml_attribute: false,
        streaming: false,
        requires_length: false,
    }
}

static SHAPES: [Shape; 9] = [
    sh("Blob", ShapeKind::Blob),
    sh("Int", ShapeKind::Integer),
    sh(
        "Map",
        ShapeKind::Map(MapInfo {
            key: 5,
            value: 5,
            key_name: None,
            value_name: None,
            flattened: false,
        }),
    ),
    sh(
        "OpInput",
        ShapeKind::Structure(&[
            m("Bucket", 5, Location::Uri, "Bucket"),
            m("Key", 5, Location::Uri, "Key"),
            m("Token", 5, Location::Header, "X-Amz-Token"),
            m("Count", 1, Location::Header, "X-Count"),
            m("Since", 7, Location::Header, "If-Modified-Since"),
            m("Meta", 2, Location::Headers, "x-amz-meta-"),
            m("Ids", 6, Location::Query, "id"),
            m("When", 7, Location::Query, "when"),
            m("Data", 0, Location::Payload, "Data"),
        ]),
    ),
    sh(
        "OpOutput",
        ShapeKind::Structure(&[
            m("Etag", 5, Location::Header, "ETag"),
            m("Modified", 7, Location::Header, "Last-Modified"),
            m("Code", 1, Location::StatusCode, "Code"),
            m("Value", 5, Location::Body, "value"),
        ]),
    ),
    sh("Str", ShapeKind::String),
    sh(
        "StrList",
        ShapeKind::List(ListInfo {
            member: 5,
            member_name: None,
            flattened: false,
        }),
    ),
    sh("Ts", ShapeKind::Timestamp(None)),
    sh("Body", ShapeKind::Structure(&[])),
];

static OPS: [Operation; 1] = [Operation {
    name: "PutThing",
    input: Some(3),
    output: Some(4),
    result_wrapper: None,
    errors: &[],
    unsigned: false,
    http: Http {
        method: "PUT",
        uri: "/{Bucket}/{Key+}?thing",
        status: 200,
    },
    streaming_input: false,
    streaming_output: false,
    checksum_required: false,
    deprecated: false,
}];

static REST: Service = Service {
    name: "testrest",
    service_id: "TestRest",
    protocol: Protocol::RestJson,
    api_version: "2020-01-01",
    signing_name: "testrest",
    endpoint_prefix: "testrest",
    target_prefix: None,
    json_version: None,
    xml_namespace: None,
    operations: &OPS,
    shapes: &SHAPES,
    errors: &[],
};

#[test]
fn header_query_greedy_and_payload_bindings() {
    let req = HttpRequest {
        method: "PUT",
        path: "/b1/a/b%20c.txt",
        query: "thing&id=1&id=2&when=2024-01-02T03:04:05Z",
        headers: &[
            ("x-amz-token", b"tok"),
            ("X-Count", b" 7 "),
            ("if-modified-since", b"Tue, 02 Jan 2024 03:04:05 GMT"),
            ("x-amz-meta-Color", b"blue"),
            ("x-amz-meta-size", b"L"),
        ],
        body: b"\x00\x01bytes",
        ..Default::default()
    };
    let (op, input) = rampart_wire::decode_rest_json(&REST, &req).unwrap();
    assert_eq!(op.name, "PutThing");
    assert_eq!(
        input,
        json!({
            "Bucket": "b1",
            "Key": "a/b c.txt",
            "Token": "tok",
            "Count": 7,
            "Since": 1704164645,
            "Meta": {"Color": "blue", "size": "L"},
            "Ids": ["1", "2"],
            "When": 1704164645,
            "Data": "AAFieXRlcw==",
        })
    );
    // The template's query literal is required.
    let missing = HttpRequest {
        query: "id=1",
        ..req
    };
    let err = rampart_wire::decode_rest_json(&REST, &missing).unwrap_err();
    assert_eq!(err.code, "UnknownOperationException");
    // A header of the wrong type.
    let bad = HttpRequest {
        headers: &[("x-count", b"many")],
        ..req
    };
    let err = rampart_wire::decode_rest_json(&REST, &bad).unwrap_err();
    assert_eq!(err.code, "SerializationException");
    assert!(err.message.contains("X-Count"), "{}", err.message);
}

#[test]
fn output_headers_and_status_code_member() {
    let op = &OPS[0];
    let r = encode_output(
        &REST,
        op,
        &json!({"Etag": "\"e1\"", "Modified": 1704164645, "Code": 201, "Value": "v"}),
        "rid",
    )
    .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.header(WireHeader::Named("ETag")), Some("\"e1\""));
    assert_eq!(
        r.header(WireHeader::Named("Last-Modified")),
        Some("Tue, 02 Jan 2024 03:04:05 GMT")
    );
    assert_eq!(r.body, br#"{"value":"v"}"#);
}
