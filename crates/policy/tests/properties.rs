//! Property tests: explicit Deny always wins, adding a Deny never grants, adding an Allow never
//! revokes, and parse -> print -> parse is stable.

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

use std::sync::Arc;

use proptest::prelude::*;
use rampart_policy::*;
use serde_json::{json, Value};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:Put*",
    "s3:*",
    "kms:*",
    "*",
    "iam:?etUser",
    "kms:Decrypt",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:kms:us-east-1:111122223333:key/*",
    "arn:aws:iam::111122223333:user/*",
];
const PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:sts::111122223333:assumed-role/Dev/s1",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:user/bob",
    "*",
    "cloudtrail.amazonaws.com",
];
const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "kms:Decrypt",
    "iam:GetUser",
    "ec2:RunInstances",
];
const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::bucket/alice/x",
    "arn:aws:s3:::bucket/k",
    "arn:aws:kms:us-east-1:111122223333:key/abc",
    "arn:aws:iam::111122223333:user/alice",
    "*",
];

fn pick(xs: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(xs)
}

fn one_or_many(xs: Vec<&'static str>) -> Value {
    if xs.len() == 1 {
        json!(xs[0])
    } else {
        json!(xs)
    }
}

fn condition() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({"StringEquals": {"aws:username": "alice"}}))),
        Just(Some(json!({"Bool": {"aws:SecureTransport": "true"}}))),
        Just(Some(
            json!({"ForAnyValue:StringLike": {"aws:TagKeys": ["env*", "team"]}})
        )),
        Just(Some(
            json!({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}})
        )),
        Just(Some(json!({"NumericLessThan": {"s3:max-keys": 10}}))),
    ]
}

fn statement(effect: &'static str, principal: bool) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(pick(ACTIONS), 1..3),
        prop::collection::vec(pick(RESOURCES), 1..3),
        any::<bool>(),
        condition(),
        prop::sample::select(vec![
            json!("*"),
            json!({"AWS": "111122223333"}),
            json!({"AWS": "arn:aws:iam::111122223333:user/alice"}),
            json!({"AWS": ["arn:aws:iam::111122223333:role/Dev", "444455556666"]}),
            json!({"Service": "cloudtrail.amazonaws.com"}),
        ]),
    )
        .prop_map(move |(acts, res, not_action, cond, pr)| {
            let mut s = serde_json::Map::new();
            s.insert("Effect".into(), json!(effect));
            let key = if not_action && effect == "Deny" {
                "NotAction"
            } else {
                "Action"
            };
            s.insert(key.into(), one_or_many(acts));
            s.insert("Resource".into(), one_or_many(res));
            if principal {
                s.insert("Principal".into(), pr);
            }
            if let Some(c) = cond {
                s.insert("Condition".into(), c);
            }
            Value::Object(s)
        })
}

fn any_statement(principal: bool) -> impl Strategy<Value = Value> {
    prop_oneof![3 => statement("Allow", principal), 1 => statement("Deny", principal)]
}

fn document(principal: bool) -> impl Strategy<Value = Value> {
    prop::collection::vec(any_statement(principal), 0..4)
        .prop_map(|st| json!({"Version": "2012-10-17", "Statement": st}))
}

/// A generated scenario: raw documents for every layer plus the request.
#[derive(Debug, Clone)]
struct Scenario {
    identity: Vec<Value>,
    resource: Option<Value>,
    boundary: Option<Value>,
    scp: Vec<Value>,
    required: bool,
    principal: &'static str,
    action: &'static str,
    resource_arn: &'static str,
    ctx: Vec<(&'static str, Value)>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(document(false), 0..3),
        prop::option::of(document(true)),
        prop::option::of(document(false)),
        prop::collection::vec(document(false), 0..2),
        any::<bool>(),
        pick(PRINCIPALS),
        pick(REQ_ACTIONS),
        pick(REQ_RESOURCES),
        prop::sample::subsequence(
            vec![
                ("aws:SecureTransport", json!(true)),
                ("aws:TagKeys", json!(["env", "x"])),
                ("aws:SourceIp", json!("10.1.2.3")),
                ("s3:max-keys", json!(5)),
            ],
            0..4,
        ),
    )
        .prop_map(
            |(
                identity,
                resource,
                boundary,
                scp,
                required,
                principal,
                action,
                resource_arn,
                ctx,
            )| Scenario {
                identity,
                resource,
                boundary,
                scp,
                required,
                principal,
                action,
                resource_arn,
                ctx,
            },
        )
}

fn compile(doc: &Value, kind: PolicyKind, name: &str) -> Arc<Policy> {
    Arc::new(
        Policy::from_value(doc, kind)
            .expect("generated policy is valid")
            .with_name(name),
    )
}

fn build(s: &Scenario) -> (Request, PolicySet) {
    let set = PolicySet {
        identity: PolicyLayer::new(
            s.identity
                .iter()
                .enumerate()
                .map(|(i, d)| compile(d, PolicyKind::Identity, &format!("I{i}")))
                .collect(),
        ),
        resource: s
            .resource
            .as_ref()
            .map(|d| PolicyLayer::new(vec![compile(d, PolicyKind::Resource, "R")])),
        resource_policy_required: s.required,
        boundary: s
            .boundary
            .as_ref()
            .map(|d| PolicyLayer::new(vec![compile(d, PolicyKind::Boundary, "B")])),
        session: None,
        scp: s
            .scp
            .iter()
            .enumerate()
            .map(|(i, d)| OrgLevel {
                target: format!("ou-{i}"),
                layer: PolicyLayer::new(vec![compile(d, PolicyKind::Scp, &format!("S{i}"))]),
            })
            .collect(),
        rcp: Vec::new(),
        management_account: None,
    };
    let p = Principal::from_arn(s.principal);
    let mut ctx = Context::new();
    for (k, v) in &s.ctx {
        match v {
            Value::Array(a) => ctx.insert(
                k,
                ContextValue::multi(a.iter().map(|x| x.as_str().unwrap_or_default().to_string())),
            ),
            other => ctx.set(k, other.to_string().trim_matches('"').to_string()),
        }
    }
    p.fill_context(&mut ctx);
    let req = Request::new(
        p,
        s.action,
        s.resource_arn,
        Some("111122223333".into()),
        ctx,
    );
    (req, set)
}

fn add_statement(doc: &Value, st: Value) -> Value {
    let mut d = doc.clone();
    if let Some(a) = d.get_mut("Statement").and_then(Value::as_array_mut) {
        a.push(st);
    }
    d
}

/// Which layer gets the extra statement.
#[derive(Debug, Clone, Copy)]
enum Target {
    Identity,
    Resource,
    Boundary,
    Scp,
}

fn with_extra(s: &Scenario, target: Target, st_plain: &Value, st_principal: &Value) -> Scenario {
    let mut s = s.clone();
    let empty = json!({"Version": "2012-10-17", "Statement": []});
    match target {
        Target::Identity => {
            if s.identity.is_empty() {
                s.identity.push(empty);
            }
            s.identity[0] = add_statement(&s.identity[0], st_plain.clone());
        }
        Target::Resource => {
            let base = s.resource.clone().unwrap_or(empty);
            s.resource = Some(add_statement(&base, st_principal.clone()));
        }
        Target::Boundary => {
            if let Some(b) = &s.boundary {
                s.boundary = Some(add_statement(b, st_plain.clone()));
            }
        }
        Target::Scp => {
            if let Some(first) = s.scp.first().cloned() {
                s.scp[0] = add_statement(&first, st_plain.clone());
            }
        }
    }
    s
}

fn target() -> impl Strategy<Value = Target> {
    prop::sample::select(vec![
        Target::Identity,
        Target::Resource,
        Target::Boundary,
        Target::Scp,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn explicit_deny_always_wins(s in scenario()) {
        let deny_all = json!({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"});
        let s2 = with_extra(&s, Target::Resource, &deny_all, &deny_all);
        let (req, set) = build(&s2);
        prop_assert_eq!(evaluate(&req, &set).outcome, Outcome::ExplicitDeny);
    }

    #[test]
    fn adding_a_deny_never_grants(s in scenario(), t in target(), plain in statement("Deny", false), with_p in statement("Deny", true)) {
        let (req, set) = build(&s);
        let before = evaluate(&req, &set);
        let (req2, set2) = build(&with_extra(&s, t, &plain, &with_p));
        let after = evaluate(&req2, &set2);
        if before.outcome != Outcome::Allow {
            prop_assert_ne!(after.outcome, Outcome::Allow);
        }
    }

    #[test]
    fn adding_an_allow_never_revokes(s in scenario(), t in target(), plain in statement("Allow", false), with_p in statement("Allow", true)) {
        let (req, set) = build(&s);
        let before = evaluate(&req, &set);
        let (req2, set2) = build(&with_extra(&s, t, &plain, &with_p));
        let after = evaluate(&req2, &set2);
        if before.outcome == Outcome::Allow {
            prop_assert_eq!(after.outcome, Outcome::Allow);
        }
    }

    #[test]
    fn parse_print_parse_is_stable(doc in document(true), single in any::<bool>()) {
        let mut doc = doc;
        if single {
            if let Some(first) = doc["Statement"].as_array().and_then(|a| a.first()).cloned() {
                doc["Statement"] = first;
            }
        }
        let p1 = Policy::from_value(&doc, PolicyKind::Resource).expect("valid");
        let printed = p1.to_json();
        let p2 = Policy::from_value(&printed, PolicyKind::Resource).expect("printed policy parses");
        prop_assert_eq!(&p2.to_json(), &printed);
        prop_assert_eq!(p1.statements, p2.statements);
    }
}
