//! A policy document (identity, and resource when it parses as one) plus a request ->
//! `evaluate` must not panic; and an explicit Deny of everything must always win.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rampart_policy::{
    evaluate, Context, ContextValue, Outcome, Policy, PolicyKind, PolicyLayer, PolicySet,
    Principal, Request,
};

#[derive(Arbitrary, Debug)]
struct Input {
    policy: String,
    principal: String,
    action: String,
    resource: String,
    resource_account: Option<String>,
    context: Vec<(String, Vec<String>, bool)>,
    fill_context: bool,
}

const DENY_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Action":"*","Resource":"*"}]}"#;

fuzz_target!(|input: Input| {
    let principal = Principal::from_arn(&input.principal);
    let mut ctx = Context::new();
    for (k, vs, multi) in &input.context {
        let v = if *multi || vs.len() != 1 {
            ContextValue::multi(vs.iter().cloned())
        } else {
            ContextValue::single(vs[0].clone())
        };
        ctx.insert(k, v);
    }
    if input.fill_context {
        principal.fill_context(&mut ctx);
    }
    let req = Request::new(
        principal,
        &input.action,
        &input.resource,
        input.resource_account.clone(),
        ctx,
    );
    let identity: Vec<Arc<Policy>> = Policy::parse(&input.policy, PolicyKind::Identity)
        .ok()
        .map(Arc::new)
        .into_iter()
        .collect();
    let resource = Policy::parse(&input.policy, PolicyKind::Resource)
        .ok()
        .map(|p| PolicyLayer::new(vec![Arc::new(p)]));
    let set = PolicySet {
        identity: PolicyLayer::new(identity.clone()),
        resource: resource.clone(),
        ..Default::default()
    };
    let d = evaluate(&req, &set);
    let _ = d.explain(&req);

    // Deny wins: with a Deny-everything identity policy, an IAM identity is always denied.
    if req.principal.kind.is_iam_identity() {
        let mut with_deny = identity;
        with_deny.push(Arc::new(
            Policy::parse(DENY_ALL, PolicyKind::Identity).expect("DENY_ALL parses"),
        ));
        let set = PolicySet {
            identity: PolicyLayer::new(with_deny),
            resource,
            ..Default::default()
        };
        let d2 = evaluate(&req, &set);
        assert_eq!(d2.outcome, Outcome::ExplicitDeny, "{input:?}");
        // Adding a Deny never turns a deny into an allow.
        if d.outcome != Outcome::Allow {
            assert_ne!(d2.outcome, Outcome::Allow);
        }
    }
});
