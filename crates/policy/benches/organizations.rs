//! What an organization adds to a decision: a member account five OUs deep (seven SCP levels:
//! root, five OUs, the account) with five SCPs at every level, against the same request and
//! identity policies with no organization. The target is at most 2 microseconds
//! added per decision (BENCHMARKS.md, Organizations).
//!
//! The SCPs are realistic guardrails (FullAWSAccess, region and service denials with
//! conditions, a protected-role denial, tag conditions); the request is allowed, so every
//! level is evaluated, which is the slowest path.
//!
//! Run: `cargo bench -p rampart-policy --bench organizations`

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

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::Criterion;
use rampart_policy::{
    evaluate, Context, ContextValue, OrgLevel, Outcome, Policy, PolicyKind, PolicyLayer, PolicySet,
    Principal, Request,
};

const USER_ARN: &str = "arn:aws:iam::222233334444:user/alice";

fn parse(json: &str, kind: PolicyKind) -> Arc<Policy> {
    Arc::new(Policy::parse(json, kind).expect("policy parses"))
}

fn identity() -> PolicyLayer {
    let docs = [
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::team-${aws:PrincipalTag/team}/*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#,
    ];
    PolicyLayer::new(
        docs.iter()
            .map(|d| parse(d, PolicyKind::Identity))
            .collect(),
    )
}

/// Five SCPs for one level (`n` makes each level's texts distinct).
fn scps(n: usize) -> Vec<Arc<Policy>> {
    let docs = [
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            .to_string(),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Regions{n}","Effect":"Deny","NotAction":["iam:*","sts:*","organizations:*","support:*"],"Resource":"*","Condition":{{"StringNotEquals":{{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}}}}}}]}}"#
        ),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"NoLeave{n}","Effect":"Deny","Action":["organizations:LeaveOrganization","account:CloseAccount"],"Resource":"*"}}]}}"#
        ),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Protect{n}","Effect":"Deny","Action":["iam:DeleteRole","iam:PutRolePolicy","iam:AttachRolePolicy"],"Resource":"arn:aws:iam::*:role/OrganizationAccountAccessRole","Condition":{{"StringNotLike":{{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin{n}"}}}}}}]}}"#
        ),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Tags{n}","Effect":"Deny","Action":["ec2:RunInstances","rds:CreateDBInstance"],"Resource":"*","Condition":{{"Null":{{"aws:RequestTag/cost-center":"true"}}}}}}]}}"#
        ),
    ];
    docs.iter().map(|d| parse(d, PolicyKind::Scp)).collect()
}

fn request() -> Request {
    let mut ctx = Context::new();
    ctx.insert("aws:RequestedRegion", ContextValue::single("eu-west-1"));
    ctx.insert("aws:PrincipalTag/team", ContextValue::single("data"));
    let principal = Principal::from_arn(USER_ARN);
    principal.fill_context(&mut ctx);
    Request::new(
        principal,
        "iam:ListUsers",
        "arn:aws:iam::222233334444:user/",
        Some("222233334444".into()),
        ctx,
    )
}

fn sets() -> (PolicySet, PolicySet) {
    let plain = PolicySet {
        identity: identity(),
        ..PolicySet::default()
    };
    let mut targets = vec!["r-ab12".to_string()];
    for i in 1..=5 {
        targets.push(format!("ou-ab12-0000000{i}"));
    }
    targets.push("222233334444".into());
    let scp = targets
        .iter()
        .enumerate()
        .map(|(i, t)| OrgLevel {
            target: t.clone(),
            layer: PolicyLayer::new(scps(i)),
        })
        .collect();
    let org = PolicySet {
        identity: identity(),
        scp,
        management_account: Some("111122223333".into()),
        ..PolicySet::default()
    };
    (plain, org)
}

fn per_decision(set: &PolicySet, req: &Request) -> f64 {
    const N: u32 = 200_000;
    let start = Instant::now();
    for _ in 0..N {
        black_box(evaluate(black_box(req), black_box(set)));
    }
    start.elapsed().as_nanos() as f64 / f64::from(N)
}

fn main() {
    let (plain, org) = sets();
    let req = request();
    assert_eq!(evaluate(&req, &plain).outcome, Outcome::Allow);
    assert_eq!(evaluate(&req, &org).outcome, Outcome::Allow);
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("organizations");
    g.bench_function("no_organization", |b| {
        b.iter(|| evaluate(black_box(&req), black_box(&plain)))
    });
    g.bench_function("5_ous_deep_5_scps_per_level", |b| {
        b.iter(|| evaluate(black_box(&req), black_box(&org)))
    });
    g.finish();
    c.final_summary();
    // Side by side in one run: the same request, with and without the organization.
    let (mut a, mut b) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        a = a.min(per_decision(&plain, &req));
        b = b.min(per_decision(&org, &req));
    }
    println!(
        "decision without organization: {a:.0} ns; with 7 SCP levels x 5 SCPs: {b:.0} ns; added: {:.0} ns",
        b - a
    );
}
