//! Property tests: decoders and encoders never panic on arbitrary input.

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

use proptest::prelude::*;
use rampart_wire::*;

fn targets() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("TrentService.Encrypt".to_string()),
        Just("TrentService.CreateKey".to_string()),
        Just("secretsmanager.CreateSecret".to_string()),
        Just("AWSOrganizationsV20161128.CreatePolicy".to_string()),
        Just("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents".to_string()),
        "[A-Za-z.]{0,40}",
    ]
}

/// Form keys built from real member names so decoding goes deep.
fn form_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let seg = prop_oneof![
        Just("Tags".to_string()),
        Just("member".to_string()),
        Just("entry".to_string()),
        Just("key".to_string()),
        Just("Key".to_string()),
        Just("Value".to_string()),
        Just("PolicyArns".to_string()),
        Just("arn".to_string()),
        Just("ContextEntries".to_string()),
        Just("ContextKeyValues".to_string()),
        Just("UserName".to_string()),
        Just("MaxItems".to_string()),
        "[0-9]{1,3}",
        "\\PC{0,6}",
    ];
    prop::collection::vec(
        (
            prop::collection::vec(seg, 1..6).prop_map(|s| s.join(".")),
            "\\PC{0,12}",
        ),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn query_decoder_never_panics(
        action in prop_oneof![Just("CreateUser"), Just("AssumeRole"), Just("SimulatePrincipalPolicy"), Just("UpdateAccountPasswordPolicy"), Just("Op")],
        signed in prop_oneof![Just(Some("iam")), Just(Some("sts")), Just(None), Just(Some("kms"))],
        pairs in form_pairs(),
        raw in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut body = format!("Action={action}");
        for (k, v) in &pairs {
            body.push('&');
            body.push_str(&form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>());
            body.push('=');
            body.push_str(&form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
        }
        let r = decode_request(&HttpRequest { method: "POST", content_type: None, signed_service: signed, body: body.as_bytes(), ..Default::default() });
        if let Err(f) = r { let _ = f.encode("r"); }
        let _ = decode_query(&common::QUERY, &parse_form(body.as_bytes()));
        let _ = decode_request(&HttpRequest { method: "POST", body: &raw, ..Default::default() });
    }

    #[test]
    fn json_decoder_never_panics(target in targets(), body in "\\PC{0,200}", raw in prop::collection::vec(any::<u8>(), 0..128)) {
        for b in [body.as_bytes(), &raw[..]] {
            let r = decode_request(&HttpRequest { method: "POST", content_type: Some("application/x-amz-json-1.1"), target: Some(&target), body: b, ..Default::default() });
            if let Err(f) = r { let _ = f.encode("r"); }
        }
    }

    #[test]
    fn json_values_never_panic(v in arb_json()) {
        let text = v.to_string();
        for t in ["TrentService.Encrypt", "secretsmanager.CreateSecret", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.PutEventSelectors"] {
            let _ = decode_request(&HttpRequest { method: "POST", target: Some(t), body: text.as_bytes(), ..Default::default() });
        }
        // Encoding arbitrary values against real output shapes errors or succeeds, never panics.
        for (svc, op) in [("iam", "GetUser"), ("kms", "DescribeKey"), ("sts", "AssumeRole"), ("secretsmanager", "DescribeSecret")] {
            let s = rampart_model::service(svc).unwrap();
            let o = s.operation(op).unwrap();
            let _ = encode_output(s, o, &v, "r");
            let wrapped = serde_json::json!({"User": v, "KeyMetadata": v, "Credentials": v, "VersionIdsToStages": v});
            let _ = encode_output(s, o, &wrapped, "r");
        }
    }

    #[test]
    fn rest_json_decoder_never_panics(
        signed in prop_oneof![Just(Some("guardduty")), Just(Some("securityhub")), Just(Some("access-analyzer")), Just(Some("macie2")), Just(None)],
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE"), Just("PATCH")],
        segs in prop::collection::vec(prop_oneof![Just("detector".to_string()), Just("findings".to_string()), Just("actionTargets".to_string()), Just("analyzer".to_string()), Just("get".to_string()), "[%0-9A-Za-z:]{0,8}"], 0..6),
        query in "[a-zA-Z=&%0-9]{0,30}",
        header in "\\PC{0,20}",
        body in "\\PC{0,200}",
        v in arb_json(),
    ) {
        let path = format!("/{}", segs.join("/"));
        let text = v.to_string();
        let headers: [(&str, &[u8]); 2] = [("x-amz-meta-a", header.as_bytes()), ("retry-after", header.as_bytes())];
        for b in [body.as_bytes(), text.as_bytes()] {
            let r = decode_request(&HttpRequest { method, path: &path, query: &query, signed_service: signed, headers: &headers, body: b, content_type: Some("application/json"), ..Default::default() });
            if let Err(f) = r { let _ = f.encode("r"); }
        }
        for (svc, op) in [("guardduty", "ListFindings"), ("detective", "ListGraphs"), ("securityhub", "GetFindingsV2")] {
            let s = rampart_model::service(svc).unwrap();
            let _ = encode_output(s, s.operation(op).unwrap(), &v, "r");
        }
    }

    #[test]
    fn xml_escaping_is_total(s in "\\PC*|[\\x00-\\x1f]*") {
        let e = escape_xml(&s);
        prop_assert!(!e.contains('<') && !e.contains('>') && !e.chars().any(|c| (c as u32) < 0x20));
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,10}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("2024-01-02T03:04:05Z")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("KeyId".to_string()),
                    Just("Name".to_string()),
                    Just("Tags".to_string()),
                    Just("CreateDate".to_string()),
                    Just("Plaintext".to_string()),
                    Just("Key".to_string()),
                    "[A-Za-z]{1,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
