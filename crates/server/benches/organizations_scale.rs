//! An organization of 1,000 accounts against one of 10: `ListAccounts` (first page of 20, as
//! the handler runs it on the store) and the authorization of a member account's call on a
//! cold cache (the organization view read from the store, its SCPs compiled, the decision
//! evaluated: what every request pays after an organization change bumps the epoch), and on a
//! warm one (the cached levels, what every other request pays). The target is 1,000
//! accounts within 1.5x of 10 (BENCHMARKS.md, Organizations).
//!
//! Accounts are created through the real handlers and provisioner on an embedded store, with
//! the member placed two OUs deep under SCPs.
//!
//! Run: `cargo bench -p rampart --bench organizations_scale`

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

use std::{hint::black_box, sync::Arc, time::Instant};

use chrono::Utc;
use criterion::Criterion;
use rampart::pipeline::policies::PolicyCache;
use rampart_policy::{evaluate, Context, Outcome, PolicySet, Principal, Request};
use rampart_services::{
    organizations::{self, enforcement, provision},
    CallContext, Db, Principal as Caller,
};
use rampart_store::{now_ms, Account, AccountStatus, MasterKey, Store, StoreConfig};
use serde_json::{json, Value};

const MGMT: &str = "111122223333";

fn ctx(account: &str) -> CallContext {
    CallContext {
        request_id: "bench".into(),
        principal: std::sync::Arc::new(Caller::root(
            rampart_services::Partition::Aws,
            account,
            "AKIABENCH",
        )),
        region: "us-east-1".into(),
        source_ip: "127.0.0.1".parse().expect("ip"),
        user_agent: "bench".into(),
        now: Utc::now(),
        secure_transport: false,
        prepared: None,
        authorizer: rampart_services::Authorizer::refusing(),
        via_service: None,
        side_calls: Default::default(),
        payload: Default::default(),
    }
}

/// Runs an Organizations operation by name through its table entry.
async fn handle(
    op: &str,
    input: Value,
    ctx: &rampart_services::CallContext,
    db: Db<'_>,
) -> Result<Value, rampart_services::ServiceError> {
    let route = organizations::Op::from_name(op)
        .and_then(organizations::route)
        .unwrap_or_else(|| panic!("{op} is not built"));
    route.handle(input, ctx, db).await
}

async fn write(store: &Store, op: &str, input: Value) -> Value {
    let mut tx = store.begin().await.expect("begin");
    let out = handle(op, input, &ctx(MGMT), Db::Write(&mut tx))
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    tx.commit().await.expect("commit");
    out
}

/// A store with an organization of `n` accounts (the management account included); returns
/// the store and one member two OUs deep.
async fn organization(dir: &std::path::Path, n: usize) -> (Store, String) {
    let key = Arc::new(MasterKey::generate().expect("key"));
    let store = Store::open(StoreConfig::sqlite_in(dir, key))
        .await
        .expect("store");
    store
        .accounts()
        .create(&Account {
            id: MGMT.into(),
            name: "management".into(),
            email: "root@mgmt.example".into(),
            status: AccountStatus::Active,
            is_management: true,
            created_at: now_ms(),
        })
        .await
        .expect("account");
    write(&store, "CreateOrganization", json!({})).await;
    let roots = handle("ListRoots", json!({}), &ctx(MGMT), Db::Read(&store))
        .await
        .expect("roots");
    let root = roots["Roots"][0]["Id"].as_str().expect("root").to_string();
    let ou1 = write(
        &store,
        "CreateOrganizationalUnit",
        json!({"ParentId": root, "Name": "a"}),
    )
    .await;
    let ou1 = ou1["OrganizationalUnit"]["Id"]
        .as_str()
        .expect("ou")
        .to_string();
    let ou2 = write(
        &store,
        "CreateOrganizationalUnit",
        json!({"ParentId": ou1, "Name": "b"}),
    )
    .await;
    let ou2 = ou2["OrganizationalUnit"]["Id"]
        .as_str()
        .expect("ou")
        .to_string();
    let deny = write(
        &store,
        "CreatePolicy",
        json!({"Name": "NoLeave", "Description": "", "Type": "SERVICE_CONTROL_POLICY",
               "Content": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#}),
    )
    .await;
    let deny = deny["Policy"]["PolicySummary"]["Id"]
        .as_str()
        .expect("id")
        .to_string();
    write(
        &store,
        "AttachPolicy",
        json!({"PolicyId": deny, "TargetId": ou1}),
    )
    .await;
    for i in 1..n {
        write(
            &store,
            "CreateAccount",
            json!({"AccountName": format!("acct{i}"), "Email": format!("acct{i}@example.com")}),
        )
        .await;
        if i % 100 == 0 || i == n - 1 {
            provision::run_pending(
                &store,
                rampart_services::Partition::Aws,
                chrono::Utc::now(),
                None,
            )
            .await
            .expect("provision");
        }
    }
    let listed = handle(
        "ListAccounts",
        json!({"MaxResults": 20}),
        &ctx(MGMT),
        Db::Read(&store),
    )
    .await
    .expect("list");
    let member = listed["Accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["Id"].as_str())
        .find(|id| *id != MGMT)
        .expect("a member")
        .to_string();
    write(
        &store,
        "MoveAccount",
        json!({"AccountId": member, "SourceParentId": root, "DestinationParentId": ou2}),
    )
    .await;
    (store, member)
}

fn request(member: &str) -> Request {
    let mut c = Context::new();
    let p = Principal::from_arn(&format!("arn:aws:iam::{member}:root"));
    p.fill_context(&mut c);
    Request::new(p, "iam:ListUsers", "*", Some(member.to_string()), c)
}

/// Cold: read the view, compile it, evaluate. Warm: evaluate with the cached levels.
async fn authorize_cold(store: &Store, cache: &PolicyCache, member: &str, epoch: i64) -> Outcome {
    let view = enforcement::view(store, member).await.expect("view");
    let levels = cache.store_org_levels(member, epoch, view, false);
    let set = PolicySet {
        scp: levels.scp.clone(),
        management_account: levels.management.clone(),
        ..PolicySet::default()
    };
    evaluate(&request(member), &set).outcome
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut c = Criterion::default().configure_from_args().sample_size(30);
    let mut results = Vec::new();
    for n in [10usize, 1000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        let (store, member) = rt.block_on(organization(dir.path(), n));
        eprintln!(
            "organization of {n} accounts built in {:?}",
            started.elapsed()
        );
        let cache = PolicyCache::default();
        assert_eq!(
            rt.block_on(authorize_cold(&store, &cache, &member, 1)),
            Outcome::Allow
        );
        let mut g = c.benchmark_group(format!("organization_{n}_accounts"));
        g.bench_function("ListAccounts", |b| {
            b.iter(|| {
                rt.block_on(handle(
                    "ListAccounts",
                    json!({"MaxResults": 20}),
                    &ctx(MGMT),
                    Db::Read(&store),
                ))
                .expect("list")
            })
        });
        // The same page size in both organizations (10 accounts: the whole organization).
        g.bench_function("ListAccounts_page_of_10", |b| {
            b.iter(|| {
                rt.block_on(handle(
                    "ListAccounts",
                    json!({"MaxResults": 10}),
                    &ctx(MGMT),
                    Db::Read(&store),
                ))
                .expect("list")
            })
        });
        let mut epoch = 1;
        g.bench_function("member_authorization_cold", |b| {
            b.iter(|| {
                epoch += 1;
                rt.block_on(authorize_cold(&store, &cache, &member, epoch))
            })
        });
        let levels = cache.org_levels(&member, epoch).expect("cached");
        let set = PolicySet {
            scp: levels.scp.clone(),
            management_account: levels.management.clone(),
            ..PolicySet::default()
        };
        let req = request(&member);
        g.bench_function("member_authorization_warm", |b| {
            b.iter(|| evaluate(black_box(&req), black_box(&set)))
        });
        g.finish();
        // Side by side: mean of 200 calls each.
        let t = Instant::now();
        for _ in 0..200 {
            rt.block_on(handle(
                "ListAccounts",
                json!({"MaxResults": 20}),
                &ctx(MGMT),
                Db::Read(&store),
            ))
            .expect("list");
        }
        let list = t.elapsed().as_micros() as f64 / 200.0;
        let t = Instant::now();
        for _ in 0..200 {
            rt.block_on(handle(
                "ListAccounts",
                json!({"MaxResults": 10}),
                &ctx(MGMT),
                Db::Read(&store),
            ))
            .expect("list");
        }
        let list10 = t.elapsed().as_micros() as f64 / 200.0;
        let t = Instant::now();
        for i in 0..200 {
            rt.block_on(authorize_cold(&store, &cache, &member, 10_000 + i));
        }
        let cold = t.elapsed().as_micros() as f64 / 200.0;
        results.push((n, list, list10, cold));
    }
    c.final_summary();
    for (n, list, list10, cold) in &results {
        println!(
            "{n} accounts: ListAccounts (page of 20) {list:.0} us, (page of 10) {list10:.0} us, cold member authorization {cold:.0} us"
        );
    }
    if let [(_, l10, p10, a10), (_, l1k, p1k, a1k)] = results.as_slice() {
        println!(
            "ratio 1000/10: ListAccounts (default page) {:.2}, ListAccounts (page of 10) {:.2}, cold member authorization {:.2}",
            l1k / l10,
            p1k / p10,
            a1k / a10
        );
    }
}
