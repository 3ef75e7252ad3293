//! Rule groups of one's own, geo match statements and the JSON body, compiled from AWS's
//! JSON and evaluated.

use std::{net::IpAddr, sync::Arc};

use base64::Engine as _;
use serde_json::{json, Value};

use super::{
    compile::{GroupDef, Refs},
    geo::Countries,
    *,
};

const GROUP: &str = "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/g/1";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn rule(name: &str, prio: i64, st: Value, action: Value) -> Value {
    json!({"Name": name, "Priority": prio, "Statement": st, "Action": action,
        "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name}})
}

fn path_starts(s: &str) -> Value {
    json!({"ByteMatchStatement": {"FieldToMatch": {"UriPath": {}}, "SearchString": b64(s),
        "PositionalConstraint": "STARTS_WITH", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}})
}

/// A table of places, standing in for the operator's database.
#[derive(Debug)]
struct Table;

impl Countries for Table {
    fn locate(&self, ip: IpAddr) -> Option<(String, Option<String>)> {
        match ip.to_string().as_str() {
            "192.0.2.1" => Some(("FR".into(), Some("IDF".into()))),
            "198.51.100.1" => Some(("US".into(), Some("WA".into()))),
            "203.0.113.1" => Some(("AU".into(), None)),
            _ => None,
        }
    }
}

fn refs() -> Refs {
    let mut r = Refs {
        namespace: "awswaf:111122223333:webacl:acl:".into(),
        geo: Some(Arc::new(Table)),
        ..Refs::default()
    };
    let mut tagged = rule(
        "admin",
        1,
        path_starts("/admin"),
        json!({"Block": {
        "CustomResponse": {"ResponseCode": 451, "CustomResponseBodyKey": "no"}}}),
    );
    tagged["RuleLabels"] = json!([{"Name": "seen:admin"}]);
    r.rule_groups.insert(
        GROUP.into(),
        GroupDef {
            name: "g".into(),
            account: "111122223333".into(),
            rules: vec![
                tagged,
                rule("debug", 2, path_starts("/debug"), json!({"Block": {}})),
                rule("ok", 3, path_starts("/ok"), json!({"Allow": {}})),
            ],
            bodies: json!({"no": {"ContentType": "TEXT_PLAIN", "Content": "not here"}}),
            capacity: 40,
        },
    );
    r
}

fn req(path: &str, ip: &str) -> Request {
    Request {
        method: "POST".into(),
        uri_path: path.into(),
        source_ip: ip.parse().ok(),
        ..Request::default()
    }
}

fn acl(rules: Value) -> WebAcl {
    WebAcl::compile(
        "arn:acl",
        rules.as_array().unwrap(),
        &json!({"Allow": {}}),
        &json!({"acl": {"ContentType": "TEXT_PLAIN", "Content": "acl says no"}}),
        &refs(),
    )
    .unwrap()
}

fn reference(extra: Value, override_action: &str) -> Value {
    let mut st = json!({"ARN": GROUP});
    if let (Some(o), Some(e)) = (st.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    json!({"Name": "mine", "Priority": 0, "Statement": {"RuleGroupReferenceStatement": st},
        "OverrideAction": {override_action: {}},
        "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "mine"}})
}

fn decide(a: &WebAcl, r: &Request) -> Decision {
    a.evaluate(r, &RateCounters::default(), 0)
}

#[test]
fn a_rule_group_runs_its_rules_with_its_namespace_bodies_and_capacity() {
    let a = acl(json!([reference(json!({}), "None")]));
    assert_eq!(a.capacity, 40);
    let d = decide(&a, &req("/admin/x", "127.0.0.1"));
    assert_eq!(d.rule.as_deref(), Some("mine"));
    assert_eq!(d.group_rule.as_deref(), Some("admin"));
    assert_eq!(d.labels, ["awswaf:111122223333:rulegroup:g:seen:admin"]);
    match d.action {
        Action::Block(r) => {
            assert_eq!(r.status, 451);
            assert_eq!(r.body, Some(("text/plain".into(), "not here".into())));
        }
        other => panic!("{other:?}"),
    }
    let ok = decide(&a, &req("/ok", "127.0.0.1"));
    assert!(matches!(ok.action, Action::Allow(_)) && ok.group_rule.as_deref() == Some("ok"));
    assert!(decide(&a, &req("/other", "127.0.0.1")).rule.is_none());
}

#[test]
fn excluded_rules_overrides_and_count_change_the_group_actions() {
    let a = acl(json!([reference(
        json!({"ExcludedRules": [{"Name": "admin"}],
            "RuleActionOverrides": [{"Name": "debug", "ActionToUse": {"Block": {
                "CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "acl"}}}}]}),
        "None"
    )]));
    let d = decide(&a, &req("/admin", "127.0.0.1"));
    assert!(d.rule.is_none(), "an excluded rule counts");
    assert_eq!(d.labels, ["awswaf:111122223333:rulegroup:g:seen:admin"]);
    match decide(&a, &req("/debug", "127.0.0.1")).action {
        Action::Block(r) => assert_eq!(
            (r.status, r.body),
            (429, Some(("text/plain".into(), "acl says no".into())))
        ),
        other => panic!("{other:?}"),
    }
    let counted = acl(json!([reference(json!({}), "Count")]));
    assert!(decide(&counted, &req("/debug", "127.0.0.1")).rule.is_none());
}

#[test]
fn rule_group_references_are_checked() {
    let compile = |rules: Value| {
        WebAcl::compile(
            "arn:acl",
            rules.as_array().unwrap(),
            &json!({"Allow": {}}),
            &Value::Null,
            &refs(),
        )
        .map(|_| ())
        .unwrap_err()
    };
    let unknown = compile(json!([reference(
        json!({"ExcludedRules": [{"Name": "nope"}]}),
        "None"
    )]));
    assert_eq!(unknown.field, "RULE");
    let mut missing = reference(json!({}), "None");
    missing["Statement"]["RuleGroupReferenceStatement"]["ARN"] = json!("arn:other");
    assert_eq!(compile(json!([missing])).field, "RULE_GROUP");
    let mut with_action = reference(json!({}), "None");
    with_action["Action"] = json!({"Block": {}});
    assert_eq!(compile(json!([with_action])).field, "RULE_ACTION");
    // A rule group cannot hold a rule group statement.
    let nested = vec![reference(json!({}), "None")];
    let err = rule_group::compile_rules("c", &nested, &Value::Null, &refs()).unwrap_err();
    assert_eq!(err.field, "STATEMENT");
    let (rules, wcu) = rule_group::compile_rules(
        "c",
        &[rule("a", 1, path_starts("/a"), json!({"Block": {}}))],
        &Value::Null,
        &refs(),
    )
    .unwrap();
    assert_eq!((rules.len(), wcu), (1, 2));
}

fn geo(codes: &[&str], fwd: Option<Value>) -> Value {
    let mut st = json!({"CountryCodes": codes});
    if let Some(f) = fwd {
        st["ForwardedIPConfig"] = f;
    }
    json!({"GeoMatchStatement": st})
}

#[test]
fn geo_match_labels_every_request_and_matches_its_countries() {
    let a = acl(json!([
        rule("where", 1, geo(&["US"], None), json!({"Count": {}})),
        rule(
            "block-fr",
            2,
            json!({"LabelMatchStatement": {"Scope": "LABEL",
            "Key": "awswaf:clientip:geo:region:FR-IDF"}}),
            json!({"Block": {}})
        ),
        rule(
            "block-us",
            3,
            geo(&["US", "CA"], None),
            json!({"Block": {}})
        ),
    ]));
    assert_eq!(a.capacity, 3);
    let fr = decide(&a, &req("/", "192.0.2.1"));
    assert_eq!(fr.rule.as_deref(), Some("block-fr"));
    assert_eq!(
        fr.labels,
        [
            "awswaf:clientip:geo:country:FR",
            "awswaf:clientip:geo:region:FR-IDF"
        ]
    );
    let us = decide(&a, &req("/", "198.51.100.1"));
    assert_eq!(us.rule.as_deref(), Some("block-us"));
    let au = decide(&a, &req("/", "203.0.113.1"));
    assert!(au.rule.is_none());
    assert_eq!(au.labels, ["awswaf:clientip:geo:country:AU"]);
    let unknown = decide(&a, &req("/", "127.0.0.1"));
    assert!(unknown.rule.is_none() && unknown.labels.is_empty());
}

#[test]
fn geo_match_reads_a_forwarded_address_with_its_fallback() {
    let fwd = json!({"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"});
    let a = acl(json!([rule(
        "us",
        1,
        geo(&["US"], Some(fwd)),
        json!({"Block": {}})
    )]));
    let mut r = req("/", "127.0.0.1");
    r.headers = vec![("X-Forwarded-For".into(), "198.51.100.1, 10.0.0.1".into())];
    let d = decide(&a, &r);
    assert_eq!(d.rule.as_deref(), Some("us"));
    assert_eq!(
        d.labels,
        [
            "awswaf:forwardedip:geo:country:US",
            "awswaf:forwardedip:geo:region:US-WA"
        ]
    );
    r.headers = vec![("X-Forwarded-For".into(), "203.0.113.1".into())];
    assert!(decide(&a, &r).rule.is_none());
    // No header: the fallback decides.
    assert!(decide(&a, &req("/", "127.0.0.1")).rule.is_some());
}

#[test]
fn geo_match_without_a_database_or_with_bad_codes_is_refused() {
    let no_db = Refs {
        geo: None,
        ..refs()
    };
    let rules = vec![rule("g", 1, geo(&["US"], None), json!({"Block": {}}))];
    let err = WebAcl::compile("a", &rules, &json!({"Allow": {}}), &Value::Null, &no_db)
        .map(|_| ())
        .unwrap_err();
    assert!(err.reason.contains("--geoip-city-db"), "{err:?}");
    for bad in [geo(&[], None), geo(&["usa"], None)] {
        let rules = vec![rule("g", 1, bad, json!({"Block": {}}))];
        let err = WebAcl::compile("a", &rules, &json!({"Allow": {}}), &Value::Null, &refs())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.field, "COUNTRY_CODES");
    }
}

fn json_rule(pattern: Value, scope: &str, fallback: Option<&str>, s: &str) -> Value {
    let mut field = json!({"MatchPattern": pattern, "MatchScope": scope});
    if let Some(f) = fallback {
        field["InvalidFallbackBehavior"] = json!(f);
    }
    rule(
        "j",
        1,
        json!({"ByteMatchStatement": {"FieldToMatch": {"JsonBody": field}, "SearchString": b64(s),
            "PositionalConstraint": "EXACTLY", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}),
        json!({"Block": {}}),
    )
}

fn with_body(body: &str) -> Request {
    Request {
        body: body.as_bytes().to_vec(),
        ..req("/", "127.0.0.1")
    }
}

#[test]
fn json_body_statements_inspect_keys_values_and_paths_at_double_cost() {
    let a = acl(json!([json_rule(
        json!({"IncludedPaths": ["/user/role"]}),
        "VALUE",
        None,
        "admin"
    )]));
    assert_eq!(
        a.capacity, 4,
        "an EXACTLY byte match costs 2, doubled for the JSON body"
    );
    let blocked = |a: &WebAcl, b: &str| decide(a, &with_body(b)).rule.is_some();
    assert!(blocked(&a, r#"{"user": {"role": "admin"}}"#));
    assert!(!blocked(&a, r#"{"user": {"name": "admin"}}"#));
    assert!(!blocked(&a, r#"{"role": "admin"}"#));
    let keys = acl(json!([json_rule(
        json!({"All": {}}),
        "KEY",
        None,
        "__proto__"
    )]));
    assert!(blocked(&keys, r#"{"a": [{"__proto__": 1}]}"#));
    assert!(!blocked(&keys, r#"{"a": "__proto__"}"#));
    let strict = acl(json!([json_rule(
        json!({"All": {}}),
        "ALL",
        Some("MATCH"),
        "zzz"
    )]));
    assert!(blocked(&strict, "{not json"));
    assert!(!blocked(&strict, r#"{"ok": true}"#));
    let as_string = acl(json!([json_rule(
        json!({"All": {}}),
        "VALUE",
        Some("EVALUATE_AS_STRING"),
        "{x"
    )]));
    assert!(blocked(&as_string, "{x"));
}

#[test]
fn json_body_fields_are_checked() {
    for (pattern, scope, fallback, field) in [
        (
            json!({"IncludedPaths": ["no-slash"]}),
            "ALL",
            None,
            "JSON_MATCH_PATTERN",
        ),
        (
            json!({"All": {}, "IncludedPaths": ["/a"]}),
            "ALL",
            None,
            "JSON_MATCH_PATTERN",
        ),
        (json!({"All": {}}), "BOTH", None, "JSON_MATCH_SCOPE"),
        (
            json!({"All": {}}),
            "ALL",
            Some("MAYBE"),
            "BODY_PARSING_FALLBACK_BEHAVIOR",
        ),
    ] {
        let rules = vec![json_rule(pattern, scope, fallback, "x")];
        let err = WebAcl::compile("a", &rules, &json!({"Allow": {}}), &Value::Null, &refs())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.field, field);
    }
}
