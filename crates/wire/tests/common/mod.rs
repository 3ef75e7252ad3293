//! A small synthetic awsQuery/awsJson model exercising every shape kind.
#![allow(dead_code)]

use rampart_model::*;

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

const fn m(name: &'static str, shape: ShapeId, required: bool) -> Member {
    Member {
        name,
        shape,
        location_name: None,
        location: Location::Body,
        required,
        flattened: false,
        idempotency_token: false,
        xml_namespace: None,
        xml_attribute: false,
        streaming: false,
        requires_length: false,
    }
}

// Ids: Blob0 Bool1 FlatList2 Int3 Map4 Nested5 OpInput6 OpOutput7 Str8 StrList9 Ts10.
static SHAPES: [Shape; 11] = [
    sh("Blob", ShapeKind::Blob),
    sh("Bool", ShapeKind::Boolean),
    sh(
        "FlatList",
        ShapeKind::List(ListInfo {
            member: 8,
            member_name: None,
            flattened: true,
        }),
    ),
    sh("Int", ShapeKind::Integer),
    sh(
        "Map",
        ShapeKind::Map(MapInfo {
            key: 8,
            value: 8,
            key_name: None,
            value_name: None,
            flattened: false,
        }),
    ),
    sh(
        "Nested",
        ShapeKind::Structure(&[m("Inner", 8, true), m("Deeper", 5, false)]),
    ),
    sh(
        "OpInput",
        ShapeKind::Structure(&[
            m("Name", 8, true),
            m("Count", 3, false),
            m("Enabled", 1, false),
            m("When", 10, false),
            m("Attrs", 4, false),
            m("Nested", 5, false),
            m("Flat", 2, false),
            m("Data", 0, false),
            m("Items", 9, false),
        ]),
    ),
    sh(
        "OpOutput",
        ShapeKind::Structure(&[
            m("Name", 8, false),
            m("Count", 3, false),
            m("Enabled", 1, false),
            m("When", 10, false),
            m("Attrs", 4, false),
            m("Nested", 5, false),
            m("Flat", 2, false),
            m("Data", 0, false),
            m("Items", 9, false),
        ]),
    ),
    sh("Str", ShapeKind::String),
    sh(
        "StrList",
        ShapeKind::List(ListInfo {
            member: 8,
            member_name: None,
            flattened: false,
        }),
    ),
    sh("Ts", ShapeKind::Timestamp(None)),
];

static OPS: [Operation; 1] = [Operation {
    name: "Op",
    input: Some(6),
    output: Some(7),
    result_wrapper: Some("OpResult"),
    errors: &[],
    unsigned: false,
    http: Http {
        method: "POST",
        uri: "/",
        status: 200,
    },
    streaming_input: false,
    streaming_output: false,
    checksum_required: false,
    deprecated: false,
}];

/// The synthetic awsQuery service.
pub static QUERY: Service = Service {
    name: "test",
    service_id: "Test",
    protocol: Protocol::Query,
    api_version: "2020-01-01",
    signing_name: "test",
    endpoint_prefix: "test",
    target_prefix: None,
    json_version: None,
    xml_namespace: Some("https://test.example.com/doc/2020-01-01/"),
    operations: &OPS,
    shapes: &SHAPES,
    errors: &[],
};

/// The same model as an awsJson 1.1 service.
pub static JSON: Service = Service {
    name: "testjson",
    service_id: "TestJson",
    protocol: Protocol::Json,
    api_version: "2020-01-01",
    signing_name: "testjson",
    endpoint_prefix: "testjson",
    target_prefix: Some("TestService"),
    json_version: Some("1.1"),
    xml_namespace: None,
    operations: &OPS,
    shapes: &SHAPES,
    errors: &[],
};

pub fn iam() -> &'static Service {
    service("iam").unwrap()
}
pub fn sts() -> &'static Service {
    service("sts").unwrap()
}
pub fn kms() -> &'static Service {
    service("kms").unwrap()
}
