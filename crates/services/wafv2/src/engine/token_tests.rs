//! CAPTCHA and Challenge rules evaluated against tokens: valid, forged, expired, of another
//! domain; immunity times from the rule and the web ACL; AWS's bounds; refusals in groups.

use rampart_store::Zeroizing;
use serde_json::{json, Value};

use super::{
    token::{Token, TokenKey, TokenState},
    *,
};

fn refs() -> Refs {
    Refs {
        namespace: "awswaf:111122223333:webacl:acl:".into(),
        ..Refs::default()
    }
}

fn rule(name: &str, prio: i64, path: &str, action: Value) -> Value {
    json!({"Name": name, "Priority": prio, "Action": action,
        "RuleLabels": [{"Name": name}],
        "Statement": {"ByteMatchStatement": {"FieldToMatch": {"UriPath": {}},
            "SearchString": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, path),
            "PositionalConstraint": "STARTS_WITH",
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
        "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name}})
}

fn acl(rules: Value) -> Result<WebAcl, Invalid> {
    let rules = rules.as_array().cloned().unwrap_or_default();
    WebAcl::compile(
        "arn:acl",
        &rules,
        &json!({"Allow": {}}),
        &json!({}),
        &refs(),
    )
}

fn key() -> TokenKey {
    TokenKey::from_bytes(Zeroizing::new(vec![7; 32]))
}

fn req(path: &str, host: &str, cookie: Option<String>) -> Request {
    let k = key();
    Request {
        method: "GET".into(),
        uri_path: path.into(),
        headers: vec![("Host".into(), format!("{host}:8080"))],
        token: cookie.map_or(TokenState::Absent, |c| k.read(&c)),
        ..Request::default()
    }
}

fn minted(challenge_at: u64, captcha_at: u64, domain: &str) -> String {
    key().mint(&Token {
        id: "id".into(),
        challenge_at,
        captcha_at,
        domain: domain.into(),
    })
}

fn decide(a: &WebAcl, r: &Request, now: u64) -> Decision {
    a.evaluate(r, &RateCounters::default(), now)
}

fn challenged() -> WebAcl {
    let rules = json!([
        rule(
            "ch",
            0,
            "/app",
            json!({"Challenge": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "ch", "Value": "1"}]}}})
        ),
        rule("ca", 1, "/app/admin", json!({"Captcha": {}})),
        rule(
            "ok",
            2,
            "/",
            json!({"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "ok", "Value": "1"}]}}})
        ),
    ]);
    let mut rules = rules.as_array().cloned().unwrap_or_default();
    if let Some(r) = rules.get_mut(1) {
        r["CaptchaConfig"] = json!({"ImmunityTimeProperty": {"ImmunityTime": 60}});
    }
    let mut a = acl(Value::Array(rules)).unwrap();
    a.set_token_config(None, None, &["example.com".to_string()])
        .unwrap();
    a
}

#[test]
fn no_token_ends_evaluation_with_the_interstitial() {
    let a = challenged();
    let d = decide(&a, &req("/app", "a.example.com", None), 1000);
    assert!(matches!(d.action, Action::Challenge(_)));
    assert_eq!(d.rule.as_deref(), Some("ch"));
    assert_eq!(d.labels, vec!["awswaf:111122223333:webacl:acl:ch"]);
}

#[test]
fn a_valid_token_counts_and_evaluation_goes_on_with_the_headers() {
    let a = challenged();
    let cookie = minted(1000, 0, "a.example.com");
    let d = decide(&a, &req("/app", "a.example.com", Some(cookie)), 1000 + 300);
    assert_eq!(d.rule.as_deref(), Some("ok"));
    assert_eq!(
        d.action,
        Action::Allow(vec![
            ("x-amzn-waf-ch".into(), "1".into()),
            ("x-amzn-waf-ok".into(), "1".into())
        ])
    );
    assert_eq!(
        d.labels,
        vec![
            "awswaf:111122223333:webacl:acl:ch",
            "awswaf:111122223333:webacl:acl:ok"
        ]
    );
}

#[test]
fn an_expired_forged_or_foreign_token_is_refused() {
    let a = challenged();
    let is_challenge = |r: &Request, now| matches!(decide(&a, r, now).action, Action::Challenge(_));
    let good = minted(1000, 0, "a.example.com");
    assert!(!is_challenge(
        &req("/app", "a.example.com", Some(good.clone())),
        1300
    ));
    assert!(is_challenge(
        &req("/app", "a.example.com", Some(good.clone())),
        1301
    ));
    // Solved "in the future" (a clock moved back) is not valid either.
    assert!(is_challenge(
        &req("/app", "a.example.com", Some(good.clone())),
        999
    ));
    assert!(is_challenge(
        &req("/app", "b.example.com", Some(good.clone())),
        1000
    ));
    let forged = TokenKey::from_bytes(Zeroizing::new(vec![8; 32])).mint(&Token {
        id: "id".into(),
        challenge_at: 1000,
        captcha_at: 0,
        domain: "a.example.com".into(),
    });
    assert!(is_challenge(
        &req("/app", "a.example.com", Some(forged)),
        1000
    ));
    // A token for the token domain serves every host under it.
    let wide = minted(1000, 0, "example.com");
    assert!(!is_challenge(
        &req("/app", "b.example.com", Some(wide.clone())),
        1000
    ));
    assert!(is_challenge(&req("/app", "example.org", Some(wide)), 1000));
}

#[test]
fn captcha_needs_its_own_solve_and_uses_the_rule_immunity() {
    let a = challenged();
    let only_challenge = minted(1000, 0, "a.example.com");
    let d = decide(
        &a,
        &req("/app/admin", "a.example.com", Some(only_challenge)),
        1000,
    );
    assert!(matches!(d.action, Action::Captcha(_)));
    let both = minted(1000, 1000, "a.example.com");
    let r = req("/app/admin", "a.example.com", Some(both));
    assert!(matches!(decide(&a, &r, 1060).action, Action::Allow(_)));
    assert!(matches!(decide(&a, &r, 1061).action, Action::Captcha(_)));
}

#[test]
fn immunity_times_are_bounded_as_aws_bounds_them() {
    let mut a = challenged();
    let c = |t: u64| json!({"ImmunityTimeProperty": {"ImmunityTime": t}});
    assert!(a.set_token_config(Some(&c(60)), Some(&c(300)), &[]).is_ok());
    assert_eq!((a.captcha_immunity, a.challenge_immunity), (60, 300));
    assert!(a.set_token_config(Some(&c(59)), None, &[]).is_err());
    assert!(a.set_token_config(None, Some(&c(299)), &[]).is_err());
    assert!(a.set_token_config(Some(&c(259_201)), None, &[]).is_err());
    assert!(a
        .set_token_config(None, None, &["not a domain".into()])
        .is_err());
    let mut r = rule("x", 0, "/", json!({"Challenge": {}}));
    r["ChallengeConfig"] = c(120);
    assert_eq!(
        acl(json!([r])).err().map(|e| e.field),
        Some("CHALLENGE_CONFIG")
    );
}

#[test]
fn not_a_default_action_nor_a_rule_group_action() {
    let default = WebAcl::compile("arn:acl", &[], &json!({"Captcha": {}}), &json!({}), &refs());
    assert!(default.is_err());
    let rules = vec![rule("g", 0, "/", json!({"Captcha": {}}))];
    assert!(rule_group::compile_rules("c", &rules, &json!({}), &refs()).is_err());
}
