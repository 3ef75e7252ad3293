//! The engine end to end: each statement type compiled from AWS's JSON and evaluated.

use base64::Engine as _;
use serde_json::{json, Value};

use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn refs() -> Refs {
    let mut r = Refs {
        namespace: "awswaf:111122223333:webacl:acl:".into(),
        ..Refs::default()
    };
    r.ip_sets.insert(
        "arn:ips".into(),
        vec!["192.0.2.0/24".into(), "10.1.1.1/32".into()],
    );
    r.regex_sets.insert(
        "arn:re".into(),
        vec!["^/admin".into(), "(?i)wp-login".into()],
    );
    r
}

fn req(path: &str, query: &str) -> Request {
    Request {
        method: "GET".into(),
        uri_path: path.into(),
        query: query.into(),
        headers: vec![
            ("Host".into(), "app".into()),
            ("User-Agent".into(), "Mozilla/5.0".into()),
        ],
        body: Vec::new(),
        body_oversize: false,
        source_ip: "127.0.0.1".parse().ok(),
        token: Default::default(),
    }
}

fn acl(rules: Value, default: Value) -> WebAcl {
    let rules = rules.as_array().cloned().unwrap();
    WebAcl::compile(
        "arn:acl",
        &rules,
        &default,
        &json!({"k": {"ContentType": "APPLICATION_JSON", "Content": "{\"no\":1}"}}),
        &refs(),
    )
    .unwrap()
}

fn rule(name: &str, prio: i64, st: Value, action: Value) -> Value {
    json!({"Name": name, "Priority": prio, "Statement": st, "Action": action,
        "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name}})
}

fn byte(field: Value, s: &str, pos: &str, t: &str) -> Value {
    json!({"ByteMatchStatement": {"FieldToMatch": field, "SearchString": b64(s), "PositionalConstraint": pos,
        "TextTransformations": [{"Priority": 0, "Type": t}]}})
}

fn blocked(a: &WebAcl, r: &Request) -> bool {
    matches!(
        a.evaluate(r, &RateCounters::default(), 0).action,
        Action::Block(_)
    )
}

#[test]
fn byte_match_with_transformations() {
    let a = acl(
        json!([rule(
            "b",
            1,
            byte(
                json!({"QueryString": {}}),
                "<script>",
                "CONTAINS",
                "URL_DECODE"
            ),
            json!({"Block": {}})
        )]),
        json!({"Allow": {}}),
    );
    assert!(blocked(&a, &req("/", "q=%3Cscript%3E")));
    assert!(!blocked(&a, &req("/", "q=hello")));
    assert_eq!(a.capacity, 20);
    let a = acl(
        json!([rule(
            "w",
            1,
            byte(
                json!({"SingleQueryArgument": {"Name": "ID"}}),
                "union",
                "CONTAINS_WORD",
                "LOWERCASE"
            ),
            json!({"Block": {}})
        )]),
        json!({"Allow": {}}),
    );
    assert!(blocked(&a, &req("/", "id=1+UNION+select")));
    assert!(!blocked(&a, &req("/", "id=reunion")));
    assert!(!blocked(&a, &req("/", "other=union")));
}

#[test]
fn regex_and_regex_sets() {
    let a = acl(
        json!([
            rule(
                "r",
                1,
                json!({"RegexMatchStatement": {"RegexString": "^/api/v[0-9]+/secret", "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}),
                json!({"Block": {}})
            ),
            rule(
                "s",
                2,
                json!({"RegexPatternSetReferenceStatement": {"ARN": "arn:re", "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}),
                json!({"Block": {}})
            ),
        ]),
        json!({"Allow": {}}),
    );
    assert!(blocked(&a, &req("/api/v2/secret", "")));
    assert!(blocked(&a, &req("/admin/x", "")));
    assert!(blocked(&a, &req("/WP-LOGIN.php", "")));
    assert!(!blocked(&a, &req("/api/vx/secret", "")));
    assert_eq!(a.capacity, 28);
}

#[test]
fn size_constraints_and_body_oversize() {
    let a = acl(
        json!([rule(
            "big",
            1,
            json!({"SizeConstraintStatement": {"FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}}, "ComparisonOperator": "GT", "Size": 100, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}),
            json!({"Block": {}})
        ),]),
        json!({"Allow": {}}),
    );
    let mut r = req("/", "");
    r.body = vec![b'a'; 50];
    assert!(!blocked(&a, &r));
    r.body = vec![b'a'; 101];
    assert!(blocked(&a, &r));
    r.body = vec![b'a'; 10];
    r.body_oversize = true;
    assert!(blocked(&a, &r), "oversize MATCH");
}

#[test]
fn ip_sets_with_and_without_forwarded_addresses() {
    let a = acl(
        json!([rule(
            "ip",
            1,
            json!({"IPSetReferenceStatement": {"ARN": "arn:ips"}}),
            json!({"Block": {}})
        )]),
        json!({"Allow": {}}),
    );
    let mut r = req("/", "");
    assert!(!blocked(&a, &r));
    r.source_ip = "192.0.2.9".parse().ok();
    assert!(blocked(&a, &r));
    let a = acl(
        json!([rule(
            "fwd",
            1,
            json!({"IPSetReferenceStatement": {"ARN": "arn:ips", "IPSetForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH", "Position": "FIRST"}}}),
            json!({"Block": {}})
        )]),
        json!({"Allow": {}}),
    );
    let mut r = req("/", "");
    assert!(blocked(&a, &r), "fallback MATCH without the header");
    r.headers
        .push(("x-forwarded-for".into(), "10.1.1.1, 127.0.0.1".into()));
    assert!(blocked(&a, &r));
    r.headers.pop();
    r.headers
        .push(("x-forwarded-for".into(), "127.0.0.1, 10.1.1.1".into()));
    assert!(!blocked(&a, &r));
}

#[test]
fn logic_labels_count_and_custom_responses() {
    let a = acl(
        json!([
            {"Name": "tag", "Priority": 1, "Statement": byte(json!({"SingleHeader": {"Name": "user-agent"}}), "curl", "STARTS_WITH", "LOWERCASE"),
             "Action": {"Count": {}}, "RuleLabels": [{"Name": "bot:curl"}], "VisibilityConfig": {}},
            rule("deny", 2, json!({"AndStatement": {"Statements": [
                {"LabelMatchStatement": {"Scope": "LABEL", "Key": "bot:curl"}},
                {"NotStatement": {"Statement": byte(json!({"UriPath": {}}), "/public", "STARTS_WITH", "NONE")}}
            ]}}), json!({"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "k", "ResponseHeaders": [{"Name": "why", "Value": "bot"}]}}})),
            rule("ns", 3, json!({"OrStatement": {"Statements": [
                {"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "awswaf:111122223333:webacl:acl:bot:"}},
                byte(json!({"Method": {}}), "DELETE", "EXACTLY", "NONE")
            ]}}), json!({"Allow": {}})),
        ]),
        json!({"Block": {}}),
    );
    let mut r = req("/x", "");
    let d = a.evaluate(&r, &RateCounters::default(), 0);
    assert_eq!(d.rule, None, "default action");
    assert!(matches!(d.action, Action::Block(ref resp) if resp.status == 403));
    r.headers.push(("user-agent".into(), "CURL/8".into()));
    let d = a.evaluate(&r, &RateCounters::default(), 0);
    assert_eq!(d.rule.as_deref(), Some("deny"));
    assert_eq!(
        d.labels,
        vec!["awswaf:111122223333:webacl:acl:bot:curl".to_string()]
    );
    match d.action {
        Action::Block(resp) => {
            assert_eq!(resp.status, 429);
            assert_eq!(
                resp.headers,
                vec![("x-amzn-waf-why".to_string(), "bot".to_string())]
            );
            assert_eq!(
                resp.body,
                Some(("application/json".into(), "{\"no\":1}".into()))
            );
        }
        other => panic!("{other:?}"),
    }
    r.uri_path = "/public/a".into();
    assert_eq!(
        a.evaluate(&r, &RateCounters::default(), 0).rule.as_deref(),
        Some("ns")
    );
}

#[test]
fn rate_based_rules_limit_each_address() {
    let a = acl(
        json!([rule(
            "rate",
            1,
            json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}}),
            json!({"Block": {}})
        )]),
        json!({"Allow": {}}),
    );
    let counters = RateCounters::default();
    let r = req("/", "");
    let results: Vec<bool> = (0..12)
        .map(|_| matches!(a.evaluate(&r, &counters, 1000).action, Action::Block(_)))
        .collect();
    assert_eq!(results.iter().filter(|b| **b).count(), 2);
    assert!(matches!(
        a.evaluate(&r, &counters, 1030).action,
        Action::Block(_)
    ));
    assert!(
        matches!(a.evaluate(&r, &counters, 1061).action, Action::Allow(_)),
        "released after the window"
    );
}

#[test]
fn bad_rules_are_refused_with_their_field() {
    let bad = |st: Value| {
        WebAcl::compile(
            "a",
            &[rule("x", 1, st, json!({"Block": {}}))],
            &json!({"Allow": {}}),
            &Value::Null,
            &refs(),
        )
        .unwrap_err()
    };
    assert_eq!(
        bad(json!({"GeoMatchStatement": {"CountryCodes": ["US"]}})).field,
        "STATEMENT"
    );
    assert_eq!(
        bad(json!({"RateBasedStatement": {"Limit": 5}})).field,
        "RATE_BASED_STATEMENT"
    );
    assert_eq!(
        bad(json!({"RateBasedStatement": {"Limit": 50, "EvaluationWindowSec": 30}})).field,
        "EVALUATION_WINDOW_SEC"
    );
    assert_eq!(
        bad(json!({"IPSetReferenceStatement": {"ARN": "arn:missing"}})).field,
        "IP_SET"
    );
    assert_eq!(
        bad(byte(json!({"UriPath": {}}), "a b", "CONTAINS_WORD", "NONE")).field,
        "SEARCH_STRING"
    );
    assert_eq!(
        bad(byte(json!({"UriPath": {}}), "a", "CONTAINS", "ROT13")).field,
        "TEXT_TRANSFORMATION"
    );
    assert_eq!(bad(json!({"RegexMatchStatement": {"RegexString": "(", "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}})).field, "REGEX_STRING");
}

#[test]
fn references_are_found_anywhere() {
    let rules = vec![rule(
        "x",
        1,
        json!({"NotStatement": {"Statement": {"IPSetReferenceStatement": {"ARN": "arn:ips"}}}}),
        json!({"Block": {}}),
    )];
    assert_eq!(references(&rules), (vec!["arn:ips".to_string()], vec![]));
}

#[test]
fn sqli_and_xss_statements_inspect_the_decoded_component() {
    let decode = json!([{"Priority": 0, "Type": "URL_DECODE"}]);
    let a = acl(
        json!([
            rule(
                "sqli",
                1,
                json!({"SqliMatchStatement": {"FieldToMatch": {"QueryString": {}},
                "TextTransformations": decode, "SensitivityLevel": "LOW"}}),
                json!({"Block": {}})
            ),
            rule(
                "xss",
                2,
                json!({"XssMatchStatement": {"FieldToMatch": {"QueryString": {}},
                "TextTransformations": decode}}),
                json!({"Block": {}})
            ),
        ]),
        json!({"Allow": {}}),
    );
    assert!(blocked(&a, &req("/", "id=1%27%20OR%20%271%27%3D%271")));
    assert!(blocked(
        &a,
        &req("/", "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    ));
    assert!(!blocked(&a, &req("/", "id=42&name=John%20Smith")));
    // LOW leaves a bare time-delay probe; HIGH takes it.
    let probe = "id=1%20AND%20SLEEP(5)";
    let high = acl(
        json!([rule(
            "sqli",
            1,
            json!({"SqliMatchStatement": {"FieldToMatch": {"QueryString": {}},
            "TextTransformations": decode, "SensitivityLevel": "HIGH"}}),
            json!({"Block": {}})
        )]),
        json!({"Allow": {}}),
    );
    assert!(blocked(&high, &req("/", probe)));
    assert!(!blocked(&high, &req("/", "id=42&name=John%20Smith")));
}

#[test]
fn sqli_and_xss_cost_awss_capacity_units() {
    let cost = |st: Value| compile::compile(&st, &refs()).map(|(_, w)| w).unwrap();
    let none = json!([{"Priority": 0, "Type": "NONE"}]);
    let lower = json!([{"Priority": 0, "Type": "LOWERCASE"}]);
    assert_eq!(
        cost(
            json!({"SqliMatchStatement": {"FieldToMatch": {"Body": {}}, "TextTransformations": none}})
        ),
        20
    );
    assert_eq!(
        cost(
            json!({"SqliMatchStatement": {"FieldToMatch": {"Body": {}}, "TextTransformations": none, "SensitivityLevel": "HIGH"}})
        ),
        30
    );
    assert_eq!(
        cost(
            json!({"SqliMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}}, "TextTransformations": lower}})
        ),
        40
    );
    assert_eq!(
        cost(
            json!({"XssMatchStatement": {"FieldToMatch": {"UriPath": {}}, "TextTransformations": none}})
        ),
        40
    );
    assert!(compile::compile(
        &json!({"SqliMatchStatement": {"FieldToMatch": {"UriPath": {}}, "TextTransformations": none, "SensitivityLevel": "MEDIUM"}}),
        &refs()
    )
    .is_err());
}

fn managed(name: &str, extra: Value, override_action: &str) -> Value {
    let mut st = json!({"VendorName": "AWS", "Name": name});
    if let (Some(o), Some(e)) = (st.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    json!({"Name": name, "Priority": 10, "OverrideAction": {override_action: {}},
        "Statement": {"ManagedRuleGroupStatement": st},
        "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name}})
}

const CRS: &str = "AWSManagedRulesCommonRuleSet";
const LFI_LABEL: &str = "awswaf:managed:aws:core-rule-set:GenericLFI_QueryArguments";

fn lfi() -> Request {
    req("/view", "file=../../etc/passwd")
}

#[test]
fn a_managed_group_blocks_with_its_label_and_counts_as_its_capacity() {
    let a = acl(
        json!([managed(CRS, json!({}), "None")]),
        json!({"Allow": {}}),
    );
    assert_eq!(a.capacity, 700);
    let d = a.evaluate(&lfi(), &RateCounters::default(), 0);
    assert!(matches!(d.action, Action::Block(ref r) if r.status == 403));
    assert_eq!(d.rule.as_deref(), Some(CRS));
    assert_eq!(d.group_rule.as_deref(), Some("GenericLFI_QUERYARGUMENTS"));
    assert_eq!(d.labels, [LFI_LABEL]);
    assert!(!blocked(&a, &req("/view", "file=report.pdf")));
}

#[test]
fn count_override_excluded_rules_and_rule_action_overrides() {
    // OverrideAction Count: nothing blocks, labels are still added for later rules.
    let later = rule(
        "after",
        20,
        json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": LFI_LABEL}}),
        json!({"Block": {"CustomResponse": {"ResponseCode": 429}}}),
    );
    let a = acl(
        json!([managed(CRS, json!({}), "Count"), later]),
        json!({"Allow": {}}),
    );
    let d = a.evaluate(&lfi(), &RateCounters::default(), 0);
    assert!(matches!(d.action, Action::Block(ref r) if r.status == 429));
    assert_eq!(d.rule.as_deref(), Some("after"));
    // ExcludedRules: the rule counts; others still block.
    let a = acl(
        json!([managed(
            CRS,
            json!({"ExcludedRules": [{"Name": "GenericLFI_QUERYARGUMENTS"}]}),
            "None"
        )]),
        json!({"Allow": {}}),
    );
    let d = a.evaluate(&lfi(), &RateCounters::default(), 0);
    assert!(matches!(d.action, Action::Allow(_)));
    assert_eq!(d.labels, [LFI_LABEL]);
    assert!(blocked(&a, &req("/", "u=http://169.254.169.254/")));
    // RuleActionOverrides: Count, or a custom Block.
    let a = acl(
        json!([managed(
            CRS,
            json!({"RuleActionOverrides": [
                {"Name": "GenericLFI_QUERYARGUMENTS", "ActionToUse": {"Count": {}}},
                {"Name": "EC2MetaDataSSRF_QUERYARGUMENTS", "ActionToUse": {"Block": {"CustomResponse": {"ResponseCode": 451}}}}
            ]}),
            "None"
        )]),
        json!({"Allow": {}}),
    );
    assert!(!blocked(&a, &lfi()));
    let d = a.evaluate(
        &req("/", "u=http://169.254.169.254/"),
        &RateCounters::default(),
        0,
    );
    assert!(matches!(d.action, Action::Block(ref r) if r.status == 451));
}

#[test]
fn a_scope_down_statement_limits_the_group_and_adds_its_capacity() {
    let scope = byte(json!({"UriPath": {}}), "/api/", "STARTS_WITH", "NONE");
    let a = acl(
        json!([managed(CRS, json!({"ScopeDownStatement": scope}), "None")]),
        json!({"Allow": {}}),
    );
    assert_eq!(a.capacity, 702);
    assert!(!blocked(&a, &lfi()), "outside the scope-down");
    assert!(blocked(&a, &req("/api/view", "file=../../etc/passwd")));
}

#[test]
fn managed_group_statements_are_checked() {
    let bad = |rules: Value| {
        WebAcl::compile(
            "arn:acl",
            rules.as_array().unwrap(),
            &json!({"Allow": {}}),
            &json!({}),
            &refs(),
        )
        .unwrap_err()
    };
    assert_eq!(
        bad(json!([managed(
            "AWSManagedRulesNoSuchSet",
            json!({}),
            "None"
        )]))
        .field,
        "MANAGED_RULE_SET"
    );
    assert_eq!(
        bad(json!([managed(
            CRS,
            json!({"Version": "Version_9.9"}),
            "None"
        )]))
        .field,
        "MANAGED_RULE_GROUP_VERSION"
    );
    assert_eq!(
        bad(json!([managed(
            CRS,
            json!({"ExcludedRules": [{"Name": "NoSuchRule"}]}),
            "None"
        )]))
        .field,
        "RULE"
    );
    assert_eq!(
        bad(json!([managed(
            CRS,
            json!({"ManagedRuleGroupConfigs": [{}]}),
            "None"
        )]))
        .field,
        "MANAGED_RULE_GROUP_CONFIG"
    );
    let mut with_action = managed(CRS, json!({}), "None");
    with_action["Action"] = json!({"Block": {}});
    assert_eq!(bad(json!([with_action])).field, "RULE_ACTION");
    let mut without_override = managed(CRS, json!({}), "None");
    without_override
        .as_object_mut()
        .unwrap()
        .remove("OverrideAction");
    assert_eq!(bad(json!([without_override])).field, "OVERRIDE_ACTION");
    let nested = rule(
        "n",
        1,
        json!({"NotStatement": {"Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": CRS}}}}),
        json!({"Block": {}}),
    );
    assert_eq!(bad(json!([nested])).field, "STATEMENT");
    let ok = acl(
        json!([managed(CRS, json!({"Version": "Version_1.0"}), "None")]),
        json!({"Allow": {}}),
    );
    assert_eq!(ok.capacity, 700);
}
