#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code, not the request path"
)]

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn event() -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {
            "instance-id": "i-1234567890abcdef0",
            "state": "terminated",
            "c-count": 5,
            "d-count": 3.5,
            "x-limit": 301.8,
            "source-ip": "10.0.0.123",
            "source-ip6": "2001:db8::1",
            "FileName": "image.PNG",
            "Location": null,
            "flag": true,
            "empty": "",
            "tags": ["prod", "web"],
            "items": [{"kind": "a", "n": 1}, {"kind": "b", "n": 2}],
            "nested": {"deep": {"value": "here"}}
        }
    })
}

fn m(pattern: Value) -> bool {
    parse_value(&pattern).unwrap().matches(&event())
}

fn reason(pattern: &str) -> String {
    parse(pattern).unwrap_err().0
}

#[test]
fn exact_values_and_arrays_as_or() {
    assert!(m(json!({"source": ["aws.ec2"]})));
    assert!(m(json!({"source": ["aws.s3", "aws.ec2"]})));
    assert!(!m(json!({"source": ["aws.s3"]})));
    assert!(!m(json!({"source": ["AWS.EC2"]})));
    assert!(m(
        json!({"source": ["aws.ec2"], "detail": {"state": ["terminated"]}})
    ));
    assert!(!m(
        json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}})
    ));
    // A number matches a numerically equal number, not a string.
    assert!(m(json!({"detail": {"c-count": [5.0]}})));
    assert!(!m(json!({"detail": {"c-count": ["5"]}})));
    assert!(!m(json!({"detail": {"state": [5]}})));
    assert!(m(json!({"detail": {"Location": [null]}})));
    assert!(!m(json!({"detail": {"missing": [null]}})));
    assert!(m(json!({"detail": {"flag": [true]}})));
    assert!(!m(json!({"detail": {"flag": [false]}})));
    assert!(m(json!({"detail": {"empty": [""]}})));
    // An event array matches when one element does.
    assert!(m(json!({"detail": {"tags": ["web"]}})));
    assert!(!m(json!({"detail": {"tags": ["dev"]}})));
    assert!(m(json!({"resources": [{"prefix": "arn:aws:ec2:"}]})));
}

#[test]
fn nested_objects_and_arrays_of_objects() {
    assert!(m(
        json!({"detail": {"nested": {"deep": {"value": ["here"]}}}})
    ));
    assert!(!m(
        json!({"detail": {"nested": {"deep": {"value": ["there"]}}}})
    ));
    // One element of an array of objects must satisfy the whole sub-pattern.
    assert!(m(json!({"detail": {"items": {"kind": ["b"], "n": [2]}}})));
    assert!(!m(json!({"detail": {"items": {"kind": ["b"], "n": [1]}}})));
    // A leaf pattern on an object, or an object pattern on a leaf, does not match.
    assert!(!m(json!({"detail": {"nested": ["here"]}})));
    assert!(!m(json!({"detail": {"state": {"x": ["y"]}}})));
}

#[test]
fn prefix_suffix_and_ignore_case() {
    assert!(m(json!({"time": [{"prefix": "2017-12-22"}]})));
    assert!(!m(json!({"time": [{"prefix": "2018"}]})));
    assert!(m(
        json!({"detail": {"state": [{"prefix": {"equals-ignore-case": "TERM"}}]}})
    ));
    assert!(m(json!({"detail": {"FileName": [{"suffix": ".PNG"}]}})));
    assert!(!m(json!({"detail": {"FileName": [{"suffix": ".png"}]}})));
    assert!(m(
        json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}})
    ));
    assert!(m(
        json!({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"equals-ignore-case": "running"}]}})
    ));
    // String operators never match numbers.
    assert!(!m(json!({"detail": {"c-count": [{"prefix": "5"}]}})));
}

#[test]
fn anything_but_forms() {
    assert!(m(
        json!({"detail": {"state": [{"anything-but": "running"}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": "terminated"}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}})
    ));
    assert!(m(
        json!({"detail": {"c-count": [{"anything-but": [1, 2, 3]}]}})
    ));
    assert!(!m(json!({"detail": {"c-count": [{"anything-but": 5}]}})));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}})
    ));
    assert!(m(
        json!({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}})
    ));
    assert!(!m(
        json!({"detail": {"FileName": [{"anything-but": {"suffix": ".PNG"}}]}})
    ));
    assert!(m(
        json!({"detail": {"FileName": [{"anything-but": {"suffix": ".jpg"}}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED"]}}]}})
    ));
    assert!(m(
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": "running"}}]}})
    ));
    assert!(!m(
        json!({"detail": {"FileName": [{"anything-but": {"wildcard": "*.PNG"}}]}})
    ));
    assert!(m(
        json!({"detail": {"FileName": [{"anything-but": {"wildcard": ["*.jpg", "x*"]}}]}})
    ));
    // anything-but needs the field to be there.
    assert!(!m(json!({"detail": {"missing": [{"anything-but": "x"}]}})));
    // An array matches when one element is not excluded.
    assert!(m(json!({"detail": {"tags": [{"anything-but": "prod"}]}})));
    assert!(!m(
        json!({"detail": {"tags": [{"anything-but": ["prod", "web"]}]}})
    ));
}

#[test]
fn numeric_ranges() {
    assert!(m(
        json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}})
    ));
    assert!(!m(
        json!({"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}})
    ));
    assert!(m(json!({"detail": {"d-count": [{"numeric": ["<", 10]}]}})));
    assert!(m(
        json!({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}})
    ));
    assert!(m(json!({"detail": {"c-count": [{"numeric": [">=", 5]}]}})));
    assert!(!m(json!({"detail": {"c-count": [{"numeric": [">", 5]}]}})));
    assert!(!m(json!({"detail": {"state": [{"numeric": [">", 0]}]}})));
}

#[test]
fn exists() {
    assert!(m(json!({"detail": {"state": [{"exists": true}]}})));
    assert!(!m(json!({"detail": {"missing": [{"exists": true}]}})));
    assert!(m(json!({"detail": {"missing": [{"exists": false}]}})));
    assert!(!m(json!({"detail": {"state": [{"exists": false}]}})));
    // A null value is a value; an object is not a leaf.
    assert!(m(json!({"detail": {"Location": [{"exists": true}]}})));
    assert!(!m(json!({"detail": {"nested": [{"exists": true}]}})));
    // Absent parents: nothing exists below them.
    assert!(m(json!({"nothing": {"here": [{"exists": false}]}})));
    assert!(!m(json!({"nothing": {"here": [{"exists": true}]}})));
}

#[test]
fn wildcard() {
    assert!(m(json!({"detail": {"FileName": [{"wildcard": "*.PNG"}]}})));
    assert!(m(json!({"detail": {"FileName": [{"wildcard": "im*G"}]}})));
    assert!(m(json!({"detail": {"FileName": [{"wildcard": "i*a*e*"}]}})));
    assert!(!m(json!({"detail": {"FileName": [{"wildcard": "*.png"}]}})));
    assert!(m(
        json!({"detail": {"FileName": [{"wildcard": "image.PNG"}]}})
    ));
    assert!(!m(json!({"detail": {"FileName": [{"wildcard": "image"}]}})));
    let star = parse_value(&json!({"a": [{"wildcard": "x\\*y*"}]})).unwrap();
    assert!(star.matches(&json!({"a": "x*yz"})));
    assert!(!star.matches(&json!({"a": "xqyz"})));
    let overlap = parse_value(&json!({"a": [{"wildcard": "ab*b"}]})).unwrap();
    assert!(!overlap.matches(&json!({"a": "ab"})));
    assert!(overlap.matches(&json!({"a": "abb"})));
}

#[test]
fn cidr() {
    assert!(m(
        json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}})
    ));
    assert!(!m(
        json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}})
    ));
    assert!(m(
        json!({"detail": {"source-ip": [{"cidr": "10.0.0.120/30"}]}})
    ));
    assert!(m(json!({"detail": {"source-ip": [{"cidr": "0.0.0.0/0"}]}})));
    assert!(m(
        json!({"detail": {"source-ip6": [{"cidr": "2001:db8::/32"}]}})
    ));
    assert!(!m(
        json!({"detail": {"source-ip6": [{"cidr": "10.0.0.0/8"}]}})
    ));
    assert!(!m(json!({"detail": {"state": [{"cidr": "10.0.0.0/8"}]}})));
}

#[test]
fn or_groups() {
    assert!(m(json!({"detail": {"$or": [
        {"c-count": [{"numeric": [">", 10]}]},
        {"d-count": [{"numeric": ["<", 10]}]}
    ]}})));
    assert!(!m(json!({"detail": {"$or": [
        {"c-count": [{"numeric": [">", 10]}]},
        {"d-count": [{"numeric": [">", 10]}]}
    ]}})));
    assert!(m(
        json!({"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["terminated"]}}]})
    ));
    // Fields beside $or still apply.
    assert!(!m(
        json!({"source": ["aws.s3"], "$or": [{"region": ["us-west-1"]}, {"account": ["1"]}]})
    ));
}

#[test]
fn refusals_with_aws_reasons() {
    assert_eq!(reason("[1]"), "Filter is not an object");
    assert_eq!(reason("{}"), "Empty objects are not allowed");
    assert_eq!(reason(r#"{"detail": {}}"#), "Empty objects are not allowed");
    assert_eq!(
        reason(r#"{"source": "aws.ec2"}"#),
        "\"source\" must be an object or an array"
    );
    assert_eq!(reason(r#"{"source": []}"#), "Empty arrays are not allowed");
    assert_eq!(
        reason(r#"{"a": [{"foo": "x"}]}"#),
        "Unrecognized match type foo"
    );
    assert_eq!(
        reason(r#"{"a": [{"prefix": 1}]}"#),
        "prefix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#),
        "Only one key allowed in match expression"
    );
    assert_eq!(
        reason(r#"{"a": [{"exists": "yes"}]}"#),
        "exists match pattern must be either true or false."
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": 5}]}"#),
        "Value of numeric must be an array."
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", "x"]}]}"#),
        "Value of > must be numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["!", 1]}]}"#),
        "Unrecognized numeric range operator: !"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 5, "<", 1]}]}"#),
        "Bottom must be less than top"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 5, ">", 1]}]}"#),
        "Bad numeric range operator: >"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["=", 5, "<", 1]}]}"#),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": ["x", 1]}]}"#),
        "Inside anything but list, either all values are number or string, mixed type is not supported"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": true}]}"#),
        "Value of anything-but must be an array or single string/number value."
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"numeric": [">", 1]}}]}"#),
        "Unsupported anything-but pattern: numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"prefix": ""}}]}"#),
        "Null prefix/suffix not allowed"
    );
    assert_eq!(
        reason(r#"{"a": [{"wildcard": "ab**c"}]}"#),
        "Consecutive wildcard characters at pos 2"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0.0"}]}"#),
        "Malformed CIDR, one '/' required: 10.0.0.0"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#),
        "Malformed CIDR, mask bits must be between 0 and 32: 10.0.0.0/33"
    );
    assert_eq!(
        reason(r#"{"$or": [{"a": ["x"]}]}"#),
        "There must have at least 2 Objects in $or relationship."
    );
    assert_eq!(
        reason(r#"{"$or": {"a": ["x"]}}"#),
        "It must be an Array followed with $or."
    );
    assert_eq!(
        reason(r#"{"$or": [{"a": ["x"]}, 1]}"#),
        "Only JSON object is allowed in array of $or relationship."
    );
    assert_eq!(
        reason(r#"{"a": [[1]]}"#),
        "Match value must be String, number, true, false, or null"
    );
    assert!(parse("{not json").is_err());
    assert_eq!(
        PatternError("x".into()).to_string(),
        "Event pattern is not valid. Reason: x"
    );
}

/// Scalars an event may hold.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z0-9._-]{0,12}".prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

/// Flat events with a few fields.
fn flat_event() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    prop::collection::btree_map("[a-e]", scalar(), 1..5).prop_map(|m| m.into_iter().collect())
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                "[a-c$]{1,3}|prefix|numeric|anything-but|exists",
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn parsing_never_panics(pattern in any_json(), event in any_json()) {
        if let Ok(p) = parse_value(&pattern) {
            let _ = p.matches(&event);
        }
    }

    #[test]
    fn an_event_matches_its_own_values(event in flat_event()) {
        let pattern: serde_json::Map<String, Value> =
            event.iter().map(|(k, v)| (k.clone(), json!([v]))).collect();
        let p = parse_value(&Value::Object(pattern)).unwrap();
        prop_assert!(p.matches(&Value::Object(event)));
    }

    #[test]
    fn anything_but_is_the_negation_of_exact(value in "[a-z]{0,6}", other in "[a-z]{0,6}") {
        let event = json!({"f": value});
        let exact = parse_value(&json!({"f": [other.clone()]})).unwrap();
        let but = parse_value(&json!({"f": [{"anything-but": other}]})).unwrap();
        prop_assert_ne!(exact.matches(&event), but.matches(&event));
    }

    #[test]
    fn exists_true_and_false_partition(event in flat_event(), field in "[a-f]") {
        let event = Value::Object(event);
        let yes = parse_value(&json!({ field.clone(): [{"exists": true}] })).unwrap();
        let no = parse_value(&json!({ field: [{"exists": false}] })).unwrap();
        prop_assert_ne!(yes.matches(&event), no.matches(&event));
    }

    #[test]
    fn numeric_ranges_compare_as_numbers(n in -1000i64..1000, low in -1000i64..0, high in 0i64..1000) {
        let p = parse_value(&json!({"n": [{"numeric": [">", low, "<=", high]}]})).unwrap();
        prop_assert_eq!(p.matches(&json!({"n": n})), n > low && n <= high);
    }

    #[test]
    fn prefix_suffix_and_wildcard_agree(s in "[a-c]{0,8}", cut in 0usize..8) {
        let cut = cut.min(s.len());
        let (head, tail) = s.split_at(cut);
        let event = json!({"f": s.clone()});
        let pre = parse_value(&json!({"f": [{"prefix": head}]})).unwrap();
        let suf = parse_value(&json!({"f": [{"suffix": tail}]})).unwrap();
        let wild = parse_value(&json!({"f": [{"wildcard": format!("{head}*{tail}")}]})).unwrap();
        prop_assert!(pre.matches(&event));
        prop_assert!(suf.matches(&event));
        prop_assert!(wild.matches(&event));
        let upper = json!({"f": s.to_uppercase()});
        let ci = parse_value(&json!({"f": [{"equals-ignore-case": s}]})).unwrap();
        prop_assert!(ci.matches(&upper));
    }

    #[test]
    fn cidr_agrees_with_masking(a in any::<u32>(), b in any::<u32>(), bits in 0u8..=32) {
        let net = std::net::Ipv4Addr::from(a);
        let ip = std::net::Ipv4Addr::from(b);
        let p = parse_value(&json!({"ip": [{"cidr": format!("{net}/{bits}")}]})).unwrap();
        let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
        prop_assert_eq!(p.matches(&json!({"ip": ip.to_string()})), a & mask == b & mask);
    }
}
