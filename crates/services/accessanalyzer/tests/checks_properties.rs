//! Property tests of the custom policy checks against the real evaluator (`rampart_policy`):
//! for random small policies, a `PASS` must hold for every request of a grid of actions,
//! resources, principals and request contexts.
//!
//! - `CheckNoNewAccess(new, existing)` passes ⇒ every request the new policy allows, the
//!   existing one allows (identity and resource policies).
//! - `CheckAccessNotGranted(policy, access)` passes ⇒ no request of the listed actions and
//!   resources is allowed.
//! - `CheckNoPublicAccess(policy)` passes ⇒ no anonymous request is allowed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code, not the request path"
)]

use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use rampart_accessanalyzer::checks::{new_access, not_granted, public};
use rampart_policy::*;
use serde_json::{json, Value};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "*",
    "s3:*Object",
    "s3:Put?bject",
    "kms:Decrypt",
    "iam:*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/x",
    "arn:aws:s3:::*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:kms:us-east-1:111122223333:key/*",
    "arn:aws:*:us-east-1:111122223333:*",
];
const CONDITIONS: &[&str] = &[
    r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
    r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
    r#"{"StringEquals": {"aws:PrincipalAccount": "111122223333"}}"#,
    r#"{"StringLike": {"s3:prefix": "${aws:username}/*"}}"#,
    r#"{"StringEqualsIfExists": {"aws:username": ["alice", "bob"]}}"#,
];
const PRINCIPALS: &[&str] = &[
    "*",
    "111122223333",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::444455556666:root",
];

const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:GetBucketAcl",
    "kms:Decrypt",
    "iam:GetUser",
    "ec2:RunInstances",
];
const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/x",
    "arn:aws:s3:::b/alice/y",
    "arn:aws:s3:::c/x",
    "arn:aws:s3:::b",
    "arn:aws:kms:us-east-1:111122223333:key/k",
    "arn:aws:ec2:us-east-1:111122223333:instance/i",
];
const CALLERS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:user/bob",
    "*",
];

fn pick(xs: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(xs)
}

fn statement(principal: bool) -> impl Strategy<Value = Value> {
    (
        prop::bool::weighted(0.75),
        prop::bool::weighted(0.2),
        prop::collection::vec(pick(ACTIONS), 1..3),
        prop::collection::vec(pick(RESOURCES), 1..3),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
        prop::option::weighted(0.3, pick(CONDITIONS)),
        prop::collection::vec(pick(PRINCIPALS), 1..3),
    )
        .prop_map(
            move |(
                allow,
                not_principal,
                actions,
                resources,
                not_action,
                not_resource,
                cond,
                principals,
            )| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
                let a = if not_action { "NotAction" } else { "Action" };
                s.insert(a.into(), json!(actions));
                let r = if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                };
                s.insert(r.into(), json!(resources));
                if let Some(c) = cond {
                    s.insert("Condition".into(), serde_json::from_str(c).unwrap());
                }
                if principal {
                    // NotPrincipal is only valid in a Deny.
                    let key = if not_principal && !allow {
                        "NotPrincipal"
                    } else {
                        "Principal"
                    };
                    s.insert(key.into(), json!({"AWS": principals}));
                }
                Value::Object(s)
            },
        )
}

fn document(principal: bool) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(statement(principal), 0..4),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(st, old)| {
            let version = if old { "2008-10-17" } else { "2012-10-17" };
            json!({"Version": version, "Statement": st})
        })
}

/// A new policy: a random one, or the existing one with statements dropped and elements
/// narrowed (so that `PASS` is common).
fn pair(principal: bool) -> impl Strategy<Value = (Value, Value)> {
    (
        document(principal),
        document(principal),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 4),
    )
        .prop_map(|(existing, random, derive, cuts)| {
            if !derive {
                return (random, existing);
            }
            let mut new = existing.clone();
            if let Some(st) = new["Statement"].as_array_mut() {
                let n = st.len().max(1);
                for (i, cut) in cuts.iter().enumerate() {
                    match (cut % 4, st.get_mut(i % n)) {
                        (0, Some(s)) => {
                            for key in ["Action", "Resource", "NotAction", "NotResource"] {
                                if let Some(list) = s.get_mut(key).and_then(Value::as_array_mut) {
                                    list.truncate(1);
                                }
                            }
                        }
                        (1, Some(s)) => {
                            if let Some(obj) = s.as_object_mut() {
                                obj.remove("Condition");
                            }
                        }
                        (2, Some(s)) => {
                            if let Some(a) = s.get_mut("Action") {
                                *a = json!("s3:GetObject");
                            }
                        }
                        _ => {}
                    }
                }
            }
            (new, existing)
        })
}

fn compile(doc: &Value, kind: PolicyKind) -> Option<Arc<Policy>> {
    Policy::from_value(doc, kind).ok().map(Arc::new)
}

/// The contexts requests are made with.
fn contexts() -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        vec![],
        vec![("aws:SecureTransport", "true")],
        vec![("aws:SourceIp", "10.1.2.3")],
        vec![("s3:prefix", "alice/x"), ("aws:SecureTransport", "true")],
    ]
}

/// Whether `policy` (as identity or resource policy) allows the request.
fn allows(
    policy: &Arc<Policy>,
    resource_policy: bool,
    caller: &str,
    action: &str,
    resource: &str,
    ctx: &[(&str, &str)],
) -> bool {
    let layer = PolicyLayer::new(vec![policy.clone()]);
    let set = if resource_policy {
        PolicySet {
            resource: Some(layer),
            ..Default::default()
        }
    } else {
        PolicySet {
            identity: layer,
            ..Default::default()
        }
    };
    let p = Principal::from_arn(caller);
    let mut c = Context::new();
    for (k, v) in ctx {
        c.set(k, *v);
    }
    p.fill_context(&mut c);
    let req = Request::new(p, action, resource, Some("111122223333".into()), c);
    evaluate(&req, &set).outcome == Outcome::Allow
}

/// Every request of the grid: caller, action, resource, context.
fn grid(resource_policy: bool) -> Vec<(&'static str, &'static str, &'static str, usize)> {
    let callers: &[&str] = if resource_policy {
        CALLERS
    } else {
        &CALLERS[..1]
    };
    let mut out = Vec::new();
    for c in callers {
        for a in REQ_ACTIONS {
            for r in REQ_RESOURCES {
                for i in 0..contexts().len() {
                    out.push((*c, *a, *r, i));
                }
            }
        }
    }
    out
}

fn no_new_access_is_sound(new: &Value, existing: &Value, resource_policy: bool) {
    let kind = if resource_policy {
        PolicyKind::Resource
    } else {
        PolicyKind::Identity
    };
    let (Some(n), Some(e)) = (compile(new, kind), compile(existing, kind)) else {
        return;
    };
    if !new_access::new_access(&n, &e).is_empty() {
        return;
    }
    let ctxs = contexts();
    for (caller, action, resource, ci) in grid(resource_policy) {
        let ctx = &ctxs[ci];
        if allows(&n, resource_policy, caller, action, resource, ctx) {
            assert!(
                allows(&e, resource_policy, caller, action, resource, ctx),
                "PASS, yet new allows {caller} {action} on {resource} {ctx:?} and existing does not\nnew: {new}\nexisting: {existing}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn no_new_access_pass_means_no_new_allow_identity((new, existing) in pair(false)) {
        no_new_access_is_sound(&new, &existing, false);
    }

    #[test]
    fn no_new_access_pass_means_no_new_allow_resource((new, existing) in pair(true)) {
        no_new_access_is_sound(&new, &existing, true);
    }

    #[test]
    fn access_not_granted_pass_means_denied(
        doc in document(false),
        actions in prop::collection::vec(pick(REQ_ACTIONS), 0..3),
        resources in prop::collection::vec(pick(REQ_RESOURCES), 0..3),
    ) {
        let Some(p) = compile(&doc, PolicyKind::Identity) else { return Ok(()) };
        let access = not_granted::Access {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
        };
        if !not_granted::granting(&p, &access).is_empty() {
            return Ok(());
        }
        let acts: Vec<&str> = if actions.is_empty() { REQ_ACTIONS.to_vec() } else { actions };
        let ress: Vec<&str> = if resources.is_empty() { REQ_RESOURCES.to_vec() } else { resources };
        let ctxs = contexts();
        for a in &acts {
            for r in &ress {
                for ctx in &ctxs {
                    prop_assert!(
                        !allows(&p, false, CALLERS[0], a, r, ctx),
                        "PASS, yet {a} on {r} {ctx:?} is allowed by {doc}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_public_access_pass_means_no_anonymous_allow(doc in document(true)) {
        let Some(p) = compile(&doc, PolicyKind::Resource) else { return Ok(()) };
        let services = public::services("AWS::S3::Bucket").unwrap();
        if !public::public_statements(&p, services, false).is_empty() {
            return Ok(());
        }
        for a in REQ_ACTIONS.iter().filter(|a| a.starts_with("s3:")) {
            for r in REQ_RESOURCES {
                prop_assert!(
                    !allows(&p, true, "*", a, r, &[]),
                    "PASS, yet anonymous {a} on {r} is allowed by {doc}"
                );
            }
        }
    }
}

/// The generator must reach `PASS` often, or the properties above would hold vacuously.
#[test]
fn the_generated_pairs_often_pass() {
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut passes = 0;
    for _ in 0..400 {
        let (new, existing) = pair(true).new_tree(&mut runner).unwrap().current();
        let (Some(n), Some(e)) = (
            compile(&new, PolicyKind::Resource),
            compile(&existing, PolicyKind::Resource),
        ) else {
            continue;
        };
        if new_access::new_access(&n, &e).is_empty() {
            passes += 1;
            no_new_access_is_sound(&new, &existing, true);
        }
    }
    assert!(passes >= 40, "only {passes} of 400 pairs pass");
}
