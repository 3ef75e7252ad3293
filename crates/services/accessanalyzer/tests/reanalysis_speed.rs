//! The re-analysis of one changed resource policy with 10,000 analysed resources in the
//! account (issue 23's figure: under 10 ms at p50). Ignored by default (it builds the 10,000
//! resources first); run with
//! `cargo test --release -p rampart-accessanalyzer --test reanalysis_speed -- --ignored --nocapture`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a measurement, not the request path"
)]

use std::time::Instant;

use chrono::Utc;
use rampart_accessanalyzer::{
    engine,
    model::{self, AnalyzerDoc},
    react,
};
use rampart_kit::db::Db;
use rampart_store::Entity;
use serde_json::json;

const ACCOUNT: &str = "111122223333";
const ROLES: usize = 10_000;

fn trust(account: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "sts:AssumeRole"}]})
    .to_string()
}

fn role(i: usize, account: &str) -> Entity {
    let name = format!("role-{i:05}");
    let now = Utc::now();
    Entity {
        account_id: ACCOUNT.into(),
        kind: rampart_iam::model::ROLE.into(),
        name: name.clone(),
        name_key: name.clone(),
        id: format!("AROA{i:017}"),
        path: "/".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        created_at: now,
        updated_at: now,
        doc: json!({"assume_role_policy": trust(account), "max_session_duration": 3600})
            .to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: builds 10,000 resources"]
async fn one_changed_policy_is_reanalysed_fast_among_ten_thousand() {
    let (store, dir) = rampart_kit::test_support::store().await;
    let mut tx = store.begin().await.unwrap();
    for i in 0..ROLES {
        // Every tenth role trusts another account: 1,000 findings to live among.
        let other = if i % 10 == 0 { "444455556666" } else { ACCOUNT };
        tx.entities().create(&role(i, other)).await.unwrap();
    }
    let doc = AnalyzerDoc {
        name: "a".into(),
        region: "us-east-1".into(),
        analyzer_type: "ACCOUNT".into(),
        status: "ACTIVE".into(),
        ..Default::default()
    };
    let started = Instant::now();
    {
        let mut db = Db::Write(&mut tx);
        let mut a = model::insert(&mut db, ACCOUNT, &doc, Utc::now())
            .await
            .unwrap();
        engine::scan(&mut db, &mut a, Utc::now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    println!("initial scan of {ROLES} roles: {:?}", started.elapsed());

    let mut times = Vec::new();
    for n in 0..101 {
        let i = 1 + n * 7;
        let other = if n % 2 == 0 { "999988887777" } else { ACCOUNT };
        let mut tx = store.begin().await.unwrap();
        let changed = role(i, other);
        tx.entities()
            .update(&changed.name_key.clone(), &changed)
            .await
            .unwrap();
        let event = json!({"eventSource": "iam.amazonaws.com", "eventName": "UpdateAssumeRolePolicy",
            "recipientAccountId": ACCOUNT, "awsRegion": "us-east-1",
            "requestParameters": {"roleName": changed.name}});
        let t = Instant::now();
        react::react(&mut Db::Write(&mut tx), &[event], Utc::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "re-analysis of one role among {ROLES} (with commit): p50 {:?}, p90 {:?}, max {:?}",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1]
    );
    let mut db = Db::Read(&store);
    let a = model::find(&mut db, ACCOUNT, "us-east-1", "a")
        .await
        .unwrap()
        .unwrap();
    let findings = model::all(&mut db, ACCOUNT, model::FINDING, &a.prefix())
        .await
        .unwrap();
    assert_eq!(findings.len(), 1_000 + 51);
    let _ = std::fs::remove_dir_all(dir);
}
