//! One conformance suite, run against SQLite always and PostgreSQL when
//! `RAMPART_TEST_DATABASE_URL` is set.

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

#[macro_use]
mod common;

use std::collections::HashSet;

use common::{account, key, record, resource, t, Harness};
use rampart_store::{
    hash_session_token, AccountStatus, AuditWriter, AuditWriterConfig, Entity, KeyStatus, LastUsed,
    LookupAttribute, LookupQuery, Session, StoreError,
};

on_both_backends!(
    accounts_crud,
    resource_changes_commit_with_their_write,
    change_signal_follows_logged_commits,
    unique_and_reference_violations,
    credentials_crud,
    temporary_credentials_expire,
    secrets_are_sealed_and_bound_to_their_row,
    transaction_rollback_leaves_nothing,
    transaction_commit_is_visible_to_other_connections,
    settings_kv,
    state_dump_shows_every_change_and_nothing_else,
    chain_intact_after_appends,
    chain_detects_altered_record,
    chain_detects_removed_middle_record,
    chain_detects_removed_last_record,
    chain_detects_altered_resource,
    chain_detects_rewritten_head,
    chain_detects_an_emptied_table,
    genesis_is_required_and_upgrades_only_a_verified_trail,
    lookup_filters,
    lookup_pagination_newest_first,
    lookup_time_range_and_bad_token,
    concurrent_appends_keep_chain_valid,
    audit_writer_group_commits_and_flushes,
    audit_writer_reports_duplicate_and_keeps_others,
    reopen_keeps_data_and_migrations_are_idempotent,
    open_with_wrong_master_key_fails,
    wipe_all_resets_everything,
    entities_crud_and_listing,
    links_and_authz_epoch,
    key_reads_never_serve_a_replaced_value,
    concurrent_writers_keep_only_their_own_outcome,
    queued_writers_share_commits,
    entity_reads_never_serve_a_replaced_value,
);

/// Runs a test body on its own task so that the database is cleaned up even when it panics.
async fn accounts_crud(h: &Harness) {
    let s = &h.store;
    let mut a = account("111111111111", "a@example.com");
    a.is_management = true;
    s.accounts().create(&a).await.unwrap();
    s.accounts()
        .create(&account("222222222222", "b@example.com"))
        .await
        .unwrap();
    s.accounts()
        .create(&account("333333333333", "c@example.com"))
        .await
        .unwrap();

    assert_eq!(
        s.accounts().get("111111111111").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(s.accounts().get("999999999999").await.unwrap(), None);
    // A batch lookup returns the accounts that exist and skips the others.
    assert_eq!(
        s.accounts()
            .get_many(&["999999999999", "111111111111"])
            .await
            .unwrap(),
        vec![a.clone()]
    );
    assert!(s.accounts().get_many(&[]).await.unwrap().is_empty());
    assert_eq!(
        s.accounts()
            .get_by_email("b@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        "222222222222"
    );
    assert_eq!(s.accounts().management().await.unwrap(), Some(a));

    let page1 = s.accounts().list(None, 2).await.unwrap();
    assert_eq!(page1.len(), 2);
    let page2 = s.accounts().list(Some(&page1[1].id), 2).await.unwrap();
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0].id, "333333333333");

    s.accounts()
        .set_status("222222222222", AccountStatus::Suspended)
        .await
        .unwrap();
    assert_eq!(
        s.accounts()
            .get("222222222222")
            .await
            .unwrap()
            .unwrap()
            .status,
        AccountStatus::Suspended
    );
    assert!(matches!(
        s.accounts()
            .set_status("999999999999", AccountStatus::Active)
            .await,
        Err(StoreError::NotFound(_))
    ));
    s.accounts().delete("333333333333").await.unwrap();
    assert!(matches!(
        s.accounts().delete("333333333333").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn unique_and_reference_violations(h: &Harness) {
    let s = &h.store;
    s.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    assert!(matches!(
        s.accounts()
            .create(&account("111111111111", "x@example.com"))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        s.accounts()
            .create(&account("222222222222", "a@example.com"))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        s.accounts()
            .create(&account("12345", "z@example.com"))
            .await,
        Err(StoreError::InvalidInput(_))
    ));
    let k = key("AKIAAAAAAAAAAAAAAAA1", "111111111111", "alice");
    s.credentials().create(&k, "secret").await.unwrap();
    assert!(matches!(
        s.credentials().create(&k, "secret").await,
        Err(StoreError::AlreadyExists(_))
    ));
    // A key for an account that does not exist violates the foreign key.
    assert!(matches!(
        s.credentials()
            .create(&key("AKIAAAAAAAAAAAAAAAA2", "999999999999", "bob"), "s")
            .await,
        Err(StoreError::Conflict(_))
    ));
    // An account with keys cannot be deleted.
    assert!(matches!(
        s.accounts().delete("111111111111").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.credentials()
            .create(&key("akia-lower", "111111111111", "c"), "s")
            .await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn credentials_crud(h: &Harness) {
    let s = &h.store;
    s.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    let k1 = key("AKIAAAAAAAAAAAAAAAA1", "111111111111", "alice");
    let mut k2 = key("AKIAAAAAAAAAAAAAAAA2", "111111111111", "alice");
    k2.created_at = t(5);
    let k3 = key("AKIAAAAAAAAAAAAAAAA3", "111111111111", "bob");
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    for k in [&k1, &k2, &k3] {
        s.credentials().create(k, secret).await.unwrap();
    }
    assert_eq!(
        s.credentials().get(&k1.access_key_id).await.unwrap(),
        Some(k1.clone())
    );
    let (got, sec) = s
        .credentials()
        .get_with_secret(&k1.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, k1);
    assert_eq!(sec.as_str(), secret);
    assert!(s
        .credentials()
        .get_with_secret("AKIANOTTHEREAAAAAAAA")
        .await
        .unwrap()
        .is_none());

    let alice = s
        .credentials()
        .list_for_principal("111111111111", "AIDAalice")
        .await
        .unwrap();
    assert_eq!(
        alice
            .iter()
            .map(|k| k.access_key_id.as_str())
            .collect::<Vec<_>>(),
        vec!["AKIAAAAAAAAAAAAAAAA1", "AKIAAAAAAAAAAAAAAAA2"]
    );
    assert_eq!(
        s.credentials()
            .count_long_term_for_principal("111111111111", "AIDAalice")
            .await
            .unwrap(),
        2
    );

    s.credentials()
        .set_status(&k1.access_key_id, KeyStatus::Inactive)
        .await
        .unwrap();
    let used = LastUsed {
        at: t(100),
        region: "us-east-1".into(),
        service: "iam".into(),
    };
    s.credentials()
        .record_last_used(&k1.access_key_id, &used)
        .await
        .unwrap();
    let got = s
        .credentials()
        .get(&k1.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.status, KeyStatus::Inactive);
    assert_eq!(got.last_used, Some(used));

    s.credentials().delete(&k1.access_key_id).await.unwrap();
    assert!(matches!(
        s.credentials().delete(&k1.access_key_id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.credentials()
            .set_status(&k1.access_key_id, KeyStatus::Active)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn temporary_credentials_expire(h: &Harness) {
    let s = &h.store;
    s.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    let mut tmp = key("ASIAAAAAAAAAAAAAAAA1", "111111111111", "x");
    tmp.principal.kind = rampart_store::PrincipalKind::AssumedRole;
    tmp.session = Some(Session {
        token_hash: hash_session_token("token-1"),
        expires_at: t(3600),
        context: Some(r#"{"roleArn":"arn:aws:iam::111111111111:role/r"}"#.into()),
    });
    let mut tmp2 = tmp.clone();
    tmp2.access_key_id = "ASIAAAAAAAAAAAAAAAA2".into();
    tmp2.session.as_mut().unwrap().expires_at = t(7200);
    s.credentials().create(&tmp, "s1").await.unwrap();
    s.credentials().create(&tmp2, "s2").await.unwrap();
    s.credentials()
        .create(&key("AKIAAAAAAAAAAAAAAAA1", "111111111111", "x"), "s3")
        .await
        .unwrap();

    let got = s
        .credentials()
        .get(&tmp.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, tmp);
    assert!(got.is_expired(t(3600)));
    assert!(!got.is_expired(t(3599)));
    assert_eq!(
        s.credentials()
            .count_long_term_for_principal("111111111111", "AIDAx")
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.credentials().delete_expired(t(4000)).await.unwrap(), 1);
    assert!(s
        .credentials()
        .get(&tmp.access_key_id)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .credentials()
        .get(&tmp2.access_key_id)
        .await
        .unwrap()
        .is_some());
    assert!(s
        .credentials()
        .get("AKIAAAAAAAAAAAAAAAA1")
        .await
        .unwrap()
        .is_some());
}

async fn secrets_are_sealed_and_bound_to_their_row(h: &Harness) {
    let s = &h.store;
    s.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    let secret_a = "SECRETaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let secret_b = "SECRETbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    s.credentials()
        .create(&key("AKIAAAAAAAAAAAAAAAAA", "111111111111", "a"), secret_a)
        .await
        .unwrap();
    s.credentials()
        .create(&key("AKIABBBBBBBBBBBBBBBB", "111111111111", "b"), secret_b)
        .await
        .unwrap();

    for sealed in h.raw_sealed_secrets().await {
        assert!(!contains(&sealed, secret_a.as_bytes()));
        assert!(!contains(&sealed, secret_b.as_bytes()));
        assert_eq!(sealed[0], 1, "versioned format byte");
    }
    if let common::Target::Sqlite { dir, .. } = &h.target {
        // The database file and its WAL, as they are on disk, never hold the plaintext.
        let mut scanned = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            // The audit journal's directory (the trail's genesis opens it) holds no secrets.
            if path.is_dir() {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            assert!(!contains(&bytes, secret_a.as_bytes()), "{}", path.display());
            assert!(!contains(&bytes, secret_b.as_bytes()), "{}", path.display());
            if contains(&bytes, b"AKIAAAAAAAAAAAAAAAAA") {
                scanned += 1;
            }
        }
        assert!(scanned >= 1, "the key id itself should be on disk");
    }

    // Moving B's sealed secret onto A's row must not yield B's secret for A.
    h.raw_exec(
        "UPDATE access_keys SET secret_sealed = (SELECT secret_sealed FROM access_keys WHERE access_key_id = 'AKIABBBBBBBBBBBBBBBB') WHERE access_key_id = 'AKIAAAAAAAAAAAAAAAAA'",
    )
    .await;
    assert!(matches!(
        s.credentials()
            .get_with_secret("AKIAAAAAAAAAAAAAAAAA")
            .await,
        Err(StoreError::Crypto(_))
    ));
    let (_, b) = s
        .credentials()
        .get_with_secret("AKIABBBBBBBBBBBBBBBB")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.as_str(), secret_b);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn transaction_rollback_leaves_nothing(h: &Harness) {
    let s = &h.store;
    {
        let mut tx = s.begin().await.unwrap();
        tx.accounts()
            .create(&account("111111111111", "a@example.com"))
            .await
            .unwrap();
        tx.credentials()
            .create(&key("AKIAAAAAAAAAAAAAAAA1", "111111111111", "a"), "s")
            .await
            .unwrap();
        tx.settings().set("bootstrapped", "yes").await.unwrap();
        // Visible inside the transaction...
        assert!(tx.accounts().get("111111111111").await.unwrap().is_some());
        tx.append_audit(&record(1, t(1))).await.unwrap();
        tx.rollback().await.unwrap();
    }
    {
        // ...and dropping without commit rolls back too.
        let mut tx = s.begin().await.unwrap();
        tx.accounts()
            .create(&account("222222222222", "b@example.com"))
            .await
            .unwrap();
        tx.append_audit(&record(2, t(2))).await.unwrap();
        drop(tx);
    }
    assert!(s.accounts().get("111111111111").await.unwrap().is_none());
    assert!(s.accounts().get("222222222222").await.unwrap().is_none());
    assert!(s
        .credentials()
        .get("AKIAAAAAAAAAAAAAAAA1")
        .await
        .unwrap()
        .is_none());
    assert!(s.settings().get("bootstrapped").await.unwrap().is_none());
    let report = s.verify_chain().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.head_seq, 0);
    assert!(s
        .lookup_events(&LookupQuery::default())
        .await
        .unwrap()
        .events
        .is_empty());

    // A failed statement inside a transaction: the caller rolls back, nothing half-written.
    let mut tx = s.begin().await.unwrap();
    tx.accounts()
        .create(&account("333333333333", "c@example.com"))
        .await
        .unwrap();
    let dup = tx
        .accounts()
        .create(&account("444444444444", "c@example.com"))
        .await;
    assert!(matches!(dup, Err(StoreError::AlreadyExists(_))));
    tx.rollback().await.unwrap();
    assert!(s.accounts().get("333333333333").await.unwrap().is_none());

    // After the rollbacks the chain continues from genesis.
    let a = s.append_audit(&record(3, t(3))).await.unwrap();
    assert_eq!(a.seq, 1);
}

async fn transaction_commit_is_visible_to_other_connections(h: &Harness) {
    let s = &h.store;
    let mut tx = s.begin().await.unwrap();
    tx.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    let rec = record(1, t(1));
    let appended = tx.append_audit(&rec).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(appended.seq, 1);
    let other = h.reopen().await;
    assert!(other
        .accounts()
        .get("111111111111")
        .await
        .unwrap()
        .is_some());
    let page = other.lookup_events(&LookupQuery::default()).await.unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].record, rec);
    other.close().await;
}

async fn settings_kv(h: &Harness) {
    let s = &h.store;
    assert_eq!(s.settings().get("k").await.unwrap(), None);
    assert!(s.settings().insert_if_absent("k", "v1").await.unwrap());
    assert!(!s.settings().insert_if_absent("k", "v2").await.unwrap());
    assert_eq!(s.settings().get("k").await.unwrap().as_deref(), Some("v1"));
    s.settings().set("k", "v3").await.unwrap();
    assert_eq!(s.settings().get("k").await.unwrap().as_deref(), Some("v3"));
    s.settings().delete("k").await.unwrap();
    assert!(matches!(
        s.settings().delete("k").await,
        Err(StoreError::NotFound(_))
    ));
}

/// Two dumps of an unchanged store are equal; a new account, an entity and a last-use note
/// show as exactly the rows they add or change, and the note not at all.
async fn state_dump_shows_every_change_and_nothing_else(h: &Harness) {
    let s = &h.store;
    let before = s.dump_state().await.unwrap();
    assert_eq!(s.dump_state().await.unwrap(), before);
    s.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    s.credentials()
        .create(
            &key("AKIADUMP000000000001", "111111111111", "dumped"),
            "secret",
        )
        .await
        .unwrap();
    let after = s.dump_state().await.unwrap();
    let added: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(
        added
            .iter()
            .any(|l| l.starts_with("accounts|111111111111|")),
        "{added:?}"
    );
    assert!(
        added
            .iter()
            .any(|l| l.starts_with("access_keys|AKIADUMP000000000001|111111111111|")),
        "{added:?}"
    );
    s.credentials()
        .record_last_used(
            "AKIADUMP000000000001",
            &LastUsed {
                at: t(9),
                region: "eu-west-1".into(),
                service: "iam".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(s.dump_state().await.unwrap(), after);
}

async fn append_five(h: &Harness) {
    for i in 1..=5u32 {
        let mut r = record(i, t(i64::from(i)));
        r.resources = vec![resource("AWS::IAM::User", &format!("user{i}"))];
        h.store.append_audit(&r).await.unwrap();
    }
    assert!(h.store.verify_chain().await.unwrap().is_intact());
}

async fn chain_intact_after_appends(h: &Harness) {
    let empty = h.store.verify_chain().await.unwrap();
    assert!(empty.is_intact());
    assert_eq!(empty.records_checked, 0);
    assert_eq!(empty.head_hash, rampart_store::GENESIS_HASH);
    append_five(h).await;
    let r = h.store.verify_chain().await.unwrap();
    assert_eq!(r.records_checked, 5);
    assert_eq!(r.head_seq, 5);
}

async fn chain_detects_altered_record(h: &Harness) {
    append_five(h).await;
    h.raw_exec("UPDATE audit_events SET event_name = 'Innocent' WHERE seq = 3")
        .await;
    let r = h.store.verify_chain().await.unwrap();
    let b = r.first_break.expect("tampering must be detected");
    assert_eq!(b.seq, 3, "{b:?}");
    assert_eq!(r.records_checked, 2);
}

async fn chain_detects_removed_middle_record(h: &Harness) {
    append_five(h).await;
    h.raw_exec("DELETE FROM audit_resources WHERE seq = 2; DELETE FROM audit_events WHERE seq = 2")
        .await;
    let b = h.store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 2, "{b:?}");
    // Renumbering to hide the gap breaks the link instead.
    h.raw_exec(
        "DELETE FROM audit_resources WHERE seq = 3; UPDATE audit_events SET seq = 2 WHERE seq = 3",
    )
    .await;
    let b = h.store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 2, "{b:?}");
}

async fn chain_detects_removed_last_record(h: &Harness) {
    append_five(h).await;
    h.raw_exec("DELETE FROM audit_resources WHERE seq = 5; DELETE FROM audit_events WHERE seq = 5")
        .await;
    let b = h.store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 5, "{b:?}");
}

async fn chain_detects_altered_resource(h: &Harness) {
    append_five(h).await;
    h.raw_exec("UPDATE audit_resources SET resource_name = 'someone-else' WHERE seq = 4")
        .await;
    let b = h.store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 4, "{b:?}");
}

async fn chain_detects_rewritten_head(h: &Harness) {
    append_five(h).await;
    // Truncate the log and point the head at the new last record: the hashes all link, but
    // the head's MAC (keyed by the master key) no longer matches.
    h.raw_exec(
        "DELETE FROM audit_resources WHERE seq = 5; DELETE FROM audit_events WHERE seq = 5;
         UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4)",
    )
    .await;
    let b = h.store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 4, "{b:?}");
    assert!(b.reason.contains("MAC"), "{b:?}");
}

async fn chain_detects_an_emptied_table(h: &Harness) {
    append_five(h).await;
    let genesis = h
        .store
        .settings()
        .get("store.audit_genesis")
        .await
        .unwrap()
        .unwrap();
    let genesis_mac = genesis.split_once(' ').unwrap().1.to_string();
    // Every row deleted and the head reset to the genesis with an empty MAC...
    h.raw_exec(&format!(
        "DELETE FROM audit_resources; DELETE FROM audit_events;
         UPDATE audit_head SET seq = 0, hash = '{}', mac = ''",
        rampart_store::GENESIS_HASH
    ))
    .await;
    let b = h.store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 0, "{b:?}");
    assert!(b.reason.contains("removed"), "{b:?}");
    // ...or with the genesis record's MAC copied into it: still not the head's genesis MAC.
    h.raw_exec(&format!("UPDATE audit_head SET mac = '{genesis_mac}'"))
        .await;
    assert!(!h.store.verify_chain().await.unwrap().is_intact());
    // ...and the genesis record deleted too: a missing genesis is a break, and start refused.
    h.raw_exec("DELETE FROM settings WHERE key = 'store.audit_genesis'")
        .await;
    let b = h.store.verify_chain().await.unwrap().first_break.unwrap();
    assert!(b.reason.contains("genesis record is missing"), "{b:?}");
    let err = h
        .store
        .ensure_audit_genesis(common::ACCOUNT)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rampart audit verify"), "{err}");
}

async fn genesis_is_required_and_upgrades_only_a_verified_trail(h: &Harness) {
    append_five(h).await;
    // Another account id than the trail was created for: refused.
    let err = h
        .store
        .ensure_audit_genesis("999999999999")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("created for account"), "{err}");
    // A store from before genesis records (pending marker, no genesis) with an intact chain
    // gets its genesis at start.
    h.raw_exec(
        "DELETE FROM settings WHERE key = 'store.audit_genesis';
         INSERT INTO settings (key, value, updated_at_ms) VALUES ('store.audit_genesis_pending', '1', 0)",
    )
    .await;
    assert!(!h.store.verify_chain().await.unwrap().is_intact());
    h.store.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    assert!(h.store.verify_chain().await.unwrap().is_intact());
    assert!(h
        .store
        .settings()
        .get("store.audit_genesis_pending")
        .await
        .unwrap()
        .is_none());
    // One whose chain does not verify is refused, and nothing is recorded.
    h.raw_exec(
        "DELETE FROM settings WHERE key = 'store.audit_genesis';
         INSERT INTO settings (key, value, updated_at_ms) VALUES ('store.audit_genesis_pending', '1', 0);
         UPDATE audit_events SET event_name = 'Innocent' WHERE seq = 3",
    )
    .await;
    let err = h
        .store
        .ensure_audit_genesis(common::ACCOUNT)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("record 3"), "{err}");
    assert!(h
        .store
        .settings()
        .get("store.audit_genesis")
        .await
        .unwrap()
        .is_none());
}

async fn seed_lookup(h: &Harness) {
    let mut recs = Vec::new();
    for i in 1..=12u32 {
        let mut r = record(i, t(i64::from(i) * 10));
        r.event_name = if i % 3 == 0 {
            "CreateUser".into()
        } else {
            "GetUser".into()
        };
        r.event_source = if i % 3 == 0 {
            "iam.amazonaws.com".into()
        } else {
            "sts.amazonaws.com".into()
        };
        r.read_only = i % 3 != 0;
        r.username = Some(if i % 2 == 0 {
            "alice".into()
        } else {
            "bob".into()
        });
        r.access_key_id = Some(format!("AKIAKEY{:013}", i % 4));
        r.account_id = Some(if i <= 10 {
            "111111111111".into()
        } else {
            "222222222222".into()
        });
        if i % 3 == 0 {
            r.error_code = Some("AccessDenied".into());
            r.resources = vec![
                resource("AWS::IAM::User", &format!("user{i}")),
                resource("AWS::IAM::Policy", "shared-policy"),
            ];
        }
        recs.push(r);
    }
    // Half through a transaction batch, half one by one: both paths share the chain.
    let mut tx = h.store.begin().await.unwrap();
    tx.append_audit_batch(&recs[..6]).await.unwrap();
    tx.commit().await.unwrap();
    for r in &recs[6..] {
        h.store.append_audit(r).await.unwrap();
    }
}

fn ids(page: &rampart_store::EventPage) -> Vec<String> {
    page.events
        .iter()
        .map(|e| {
            e.record
                .event_id
                .rsplit('-')
                .next()
                .unwrap()
                .trim_start_matches('0')
                .to_string()
        })
        .collect()
}

async fn lookup_filters(h: &Harness) {
    seed_lookup(h).await;
    let s = &h.store;
    let q = |attr: LookupAttribute, v: &str| LookupQuery {
        attribute: Some((attr, v.to_string())),
        ..Default::default()
    };
    let page = s
        .lookup_events(&q(LookupAttribute::EventName, "CreateUser"))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["12", "9", "6", "3"]);
    let page = s
        .lookup_events(&q(LookupAttribute::EventSource, "iam.amazonaws.com"))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["12", "9", "6", "3"]);
    let page = s
        .lookup_events(&q(LookupAttribute::ReadOnly, "false"))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["12", "9", "6", "3"]);
    let page = s
        .lookup_events(&q(LookupAttribute::ReadOnly, "true"))
        .await
        .unwrap();
    assert_eq!(page.events.len(), 8);
    let page = s
        .lookup_events(&q(LookupAttribute::Username, "alice"))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["12", "10", "8", "6", "4", "2"]);
    let page = s
        .lookup_events(&q(LookupAttribute::AccessKeyId, "AKIAKEY0000000000001"))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["9", "5", "1"]);
    let page = s
        .lookup_events(&q(
            LookupAttribute::EventId,
            "00000000-0000-4000-8000-000000000007",
        ))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["7"]);
    let page = s
        .lookup_events(&q(LookupAttribute::ResourceName, "user6"))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["6"]);
    assert_eq!(page.events[0].record.resources.len(), 2);
    assert_eq!(
        page.events[0].record.resources[1].resource_name.as_deref(),
        Some("shared-policy")
    );
    let page = s
        .lookup_events(&q(LookupAttribute::ResourceType, "AWS::IAM::Policy"))
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["12", "9", "6", "3"]);
    let page = s
        .lookup_events(&q(LookupAttribute::EventName, "Nothing"))
        .await
        .unwrap();
    assert!(page.events.is_empty() && page.next_token.is_none());
    assert!(matches!(
        s.lookup_events(&q(LookupAttribute::ReadOnly, "maybe"))
            .await,
        Err(StoreError::InvalidInput(_))
    ));
    // Scoped to one account's view.
    let page = s
        .lookup_events(&LookupQuery {
            account_id: Some("222222222222".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["12", "11"]);
    let page = s
        .lookup_events(&LookupQuery {
            account_id: Some("111111111111".into()),
            attribute: Some((LookupAttribute::EventName, "CreateUser".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["9", "6", "3"]);
    // Records read back are exactly the records written (JSON included).
    let got = &s
        .lookup_events(&q(
            LookupAttribute::EventId,
            "00000000-0000-4000-8000-000000000003",
        ))
        .await
        .unwrap()
        .events[0];
    assert_eq!(got.record.event_json, r#"{"eventVersion":"1.08","n":3}"#);
    assert_eq!(got.record.event_time, t(30));
    assert_eq!(got.record.error_code.as_deref(), Some("AccessDenied"));
}

async fn lookup_pagination_newest_first(h: &Harness) {
    seed_lookup(h).await;
    // Two events at the same instant: the tie is broken by chain position.
    let mut same = record(13, t(120));
    same.event_name = "Tie".into();
    h.store.append_audit(&same).await.unwrap();
    let mut all = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = h
            .store
            .lookup_events(&LookupQuery {
                max_results: 5,
                next_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.events.len() <= 5);
        all.extend(ids(&page));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        all,
        vec!["13", "12", "11", "10", "9", "8", "7", "6", "5", "4", "3", "2", "1"]
    );
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 13);
}

async fn lookup_time_range_and_bad_token(h: &Harness) {
    seed_lookup(h).await;
    let page = h
        .store
        .lookup_events(&LookupQuery {
            start_time: Some(t(30)),
            end_time: Some(t(60)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page), vec!["6", "5", "4", "3"]);
    let page = h
        .store
        .lookup_events(&LookupQuery {
            start_time: Some(t(30)),
            end_time: Some(t(60)),
            max_results: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let next = h
        .store
        .lookup_events(&LookupQuery {
            start_time: Some(t(30)),
            end_time: Some(t(60)),
            max_results: 3,
            next_token: page.next_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&next), vec!["3"]);
    assert!(next.next_token.is_none());
    assert!(matches!(
        h.store
            .lookup_events(&LookupQuery {
                next_token: Some("garbage!".into()),
                ..Default::default()
            })
            .await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn concurrent_appends_keep_chain_valid(h: &Harness) {
    h.store
        .accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..8u32 {
        let s = h.store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20u32 {
                let n = w * 1000 + i;
                if i % 4 == 0 {
                    // A mutating call: its change and its record in one transaction.
                    s.retry(|| async {
                        let mut tx = s.begin().await?;
                        tx.settings().set(&format!("w{w}"), &i.to_string()).await?;
                        tx.append_audit(&record(n, t(i64::from(n)))).await?;
                        tx.commit().await
                    })
                    .await
                    .unwrap();
                } else {
                    s.append_audit(&record(n, t(i64::from(n)))).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = h.store.verify_chain().await.unwrap();
    assert!(r.is_intact(), "{r:?}");
    assert_eq!(r.records_checked, 160);
    assert_eq!(r.head_seq, 160);
}

async fn audit_writer_group_commits_and_flushes(h: &Harness) {
    let (writer, task) = AuditWriter::spawn(
        h.store.clone(),
        AuditWriterConfig {
            max_batch: 64,
            queue: 128,
            linger: std::time::Duration::from_millis(2),
            ..AuditWriterConfig::default()
        },
    )
    .unwrap();
    let mut tasks = Vec::new();
    for w in 0..4u32 {
        let wr = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..75u32 {
                let n = w * 1000 + i;
                wr.submit(record(n, t(i64::from(n)))).await.unwrap();
            }
        }));
    }
    let a = writer.append(record(99_999, t(1))).await.unwrap();
    assert!(a.seq >= 1);
    for t in tasks {
        t.await.unwrap();
    }
    writer.flush().await.unwrap();
    let r = h.store.verify_chain().await.unwrap();
    assert!(r.is_intact(), "{r:?}");
    assert_eq!(r.records_checked, 301);
    drop(writer);
    task.await.unwrap();
}

async fn audit_writer_reports_duplicate_and_keeps_others(h: &Harness) {
    h.store.append_audit(&record(1, t(1))).await.unwrap();
    let (writer, task) = AuditWriter::spawn(h.store.clone(), AuditWriterConfig::default()).unwrap();
    // Queue several at once so the duplicate lands in a batch with good records.
    let w2 = writer.clone();
    let good = tokio::spawn(async move {
        for i in 2..=10u32 {
            w2.submit(record(i, t(i64::from(i)))).await.unwrap();
        }
    });
    let dup = writer.append(record(1, t(1))).await;
    good.await.unwrap();
    writer.flush().await.unwrap();
    let r = h.store.verify_chain().await.unwrap();
    assert!(r.is_intact(), "{r:?}");
    if h.store.backend() == rampart_store::BackendKind::Postgres {
        // The audit table's unique index refuses the duplicate and only it.
        assert!(matches!(dup, Err(StoreError::AlreadyExists(_))), "{dup:?}");
        assert_eq!(r.records_checked, 10);
    } else {
        // The embedded store's journal keeps no index, so it does not look for duplicate
        // event ids (the server mints time-ordered random UUIDs); it keeps every record.
        assert!(dup.is_ok(), "{dup:?}");
        assert_eq!(r.records_checked, 11);
    }
    drop(writer);
    task.await.unwrap();
}

async fn reopen_keeps_data_and_migrations_are_idempotent(h: &Harness) {
    h.store
        .accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    h.store.append_audit(&record(1, t(1))).await.unwrap();
    // Two more opens racing on the same database, as two nodes starting together would.
    let (a, b) = tokio::join!(h.reopen(), h.reopen());
    assert!(a.accounts().get("111111111111").await.unwrap().is_some());
    assert!(b.verify_chain().await.unwrap().is_intact());
    a.ping().await.unwrap();
    a.close().await;
    b.close().await;
}

async fn open_with_wrong_master_key_fails(h: &Harness) {
    let other = std::sync::Arc::new(rampart_store::MasterKey::generate().unwrap());
    let cfg = match &h.target {
        common::Target::Sqlite { path, .. } => {
            rampart_store::StoreConfig::sqlite(path.clone(), other)
        }
        common::Target::Postgres { url, schema } => {
            rampart_store::StoreConfig::postgres(url, other).with_schema(schema)
        }
    };
    let r = rampart_store::Store::open(cfg).await;
    assert!(matches!(r, Err(StoreError::MasterKey(_))), "{r:?}");
}

async fn wipe_all_resets_everything(h: &Harness) {
    let s = &h.store;
    s.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    s.credentials()
        .create(&key("AKIAAAAAAAAAAAAAAAA1", "111111111111", "a"), "s")
        .await
        .unwrap();
    s.settings().set("bootstrap", "done").await.unwrap();
    append_five(h).await;
    s.wipe_all().await.unwrap();
    assert!(s.accounts().get("111111111111").await.unwrap().is_none());
    assert!(s
        .credentials()
        .get("AKIAAAAAAAAAAAAAAAA1")
        .await
        .unwrap()
        .is_none());
    assert!(s.settings().get("bootstrap").await.unwrap().is_none());
    // The trail starts over and gets its genesis again at the next bootstrap.
    assert!(!s.verify_chain().await.unwrap().is_intact());
    s.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    let r = s.verify_chain().await.unwrap();
    assert!(r.is_intact() && r.head_seq == 0, "{r:?}");
    assert_eq!(s.append_audit(&record(1, t(1))).await.unwrap().seq, 1);
    assert!(s.verify_chain().await.unwrap().is_intact());
    // The master key check survives, so a reopen with the same key still works.
    h.reopen().await.close().await;
}

fn entity(account: &str, kind: &str, name: &str, path: &str) -> Entity {
    Entity {
        account_id: account.into(),
        kind: kind.into(),
        name: name.into(),
        name_key: name.to_lowercase(),
        id: format!("ID-{account}-{kind}-{name}"),
        path: path.into(),
        arn: format!("arn:aws:iam::{account}:{kind}{path}{name}"),
        created_at: t(1),
        updated_at: t(1),
        doc: format!("{{\"name\":\"{name}\"}}"),
    }
}

async fn entities_crud_and_listing(h: &Harness) {
    let s = &h.store;
    let a = "111111111111";
    s.entities()
        .create(&entity(a, "iam:user", "Alice", "/"))
        .await
        .unwrap();
    // Names are unique as the service compares them (name_key), ids across the store.
    let dup = s
        .entities()
        .create(&entity(a, "iam:user", "ALICE", "/"))
        .await;
    assert!(matches!(dup, Err(StoreError::AlreadyExists(_))), "{dup:?}");
    // The same name in another kind or account is fine.
    s.entities()
        .create(&entity(a, "iam:group", "Alice", "/"))
        .await
        .unwrap();
    s.entities()
        .create(&entity("222222222222", "iam:user", "Alice", "/"))
        .await
        .unwrap();
    for (name, path) in [
        ("bob", "/eng/"),
        ("carol", "/eng/ops/"),
        ("dave", "/sales/"),
        ("e_f", "/e%g/"),
    ] {
        s.entities()
            .create(&entity(a, "iam:user", name, path))
            .await
            .unwrap();
    }
    let got = s
        .entities()
        .get(a, "iam:user", "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name, "Alice");
    assert_eq!(s.entities().get_by_id(&got.id).await.unwrap().unwrap(), got);
    assert_eq!(s.entities().count(a, "iam:user").await.unwrap(), 5);

    // PathPrefix and pagination in name order.
    let eng = s
        .entities()
        .list(a, "iam:user", "/eng/", None, 10)
        .await
        .unwrap();
    assert_eq!(
        eng.items
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["bob", "carol"]
    );
    assert!(!eng.truncated);
    let p1 = s
        .entities()
        .list(a, "iam:user", "/", None, 2)
        .await
        .unwrap();
    assert!(p1.truncated);
    assert_eq!(p1.items.len(), 2);
    let after = p1.items.last().unwrap().name_key.clone();
    let p2 = s
        .entities()
        .list(a, "iam:user", "/", Some(&after), 10)
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 3);
    assert!(!p2.truncated);
    // LIKE metacharacters in a prefix are literal.
    let odd = s
        .entities()
        .list(a, "iam:user", "/e%", None, 10)
        .await
        .unwrap();
    assert_eq!(odd.items.len(), 1);
    assert_eq!(odd.items[0].name, "e_f");
    // A prefix is case-sensitive on every backend, and pages in name order.
    let upper = s.entities().list(a, "iam:user", "/ENG/", None, 10).await;
    assert!(upper.unwrap().items.is_empty());
    let first = s
        .entities()
        .list(a, "iam:user", "/eng/", None, 1)
        .await
        .unwrap();
    assert!(first.truncated);
    assert_eq!(first.items[0].name, "bob");
    let rest = s
        .entities()
        .list(a, "iam:user", "/eng/", Some("bob"), 1)
        .await
        .unwrap();
    assert!(!rest.truncated);
    assert_eq!(rest.items[0].name, "carol");

    // Rename through update; the old name is gone, the new one taken.
    let mut renamed = got.clone();
    renamed.name = "Alicia".into();
    renamed.name_key = "alicia".into();
    renamed.doc = "{}".into();
    s.entities().update("alice", &renamed).await.unwrap();
    assert!(s
        .entities()
        .get(a, "iam:user", "alice")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.entities()
            .get(a, "iam:user", "alicia")
            .await
            .unwrap()
            .unwrap()
            .doc,
        "{}"
    );
    let missing = s.entities().update("nobody", &renamed).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    // A rolled-back create leaves nothing.
    let mut tx = s.begin().await.unwrap();
    tx.entities()
        .create(&entity(a, "iam:user", "ghost", "/"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(s
        .entities()
        .get(a, "iam:user", "ghost")
        .await
        .unwrap()
        .is_none());

    s.entities().delete(a, "iam:user", "alicia").await.unwrap();
    let again = s.entities().delete(a, "iam:user", "alicia").await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
}

async fn links_and_authz_epoch(h: &Harness) {
    let s = &h.store;
    let a = "111111111111";
    assert!(s.links().add(a, "member", "u1", "g1").await.unwrap());
    assert!(
        !s.links().add(a, "member", "u1", "g1").await.unwrap(),
        "adding twice is a no-op"
    );
    s.links().add(a, "member", "u1", "g2").await.unwrap();
    s.links().add(a, "member", "u2", "g1").await.unwrap();
    s.links()
        .add(
            "222222222222",
            "attached",
            "r1",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        )
        .await
        .unwrap();
    s.links()
        .add(
            a,
            "attached",
            "u1",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        )
        .await
        .unwrap();
    assert_eq!(
        s.links().targets(a, "member", "u1").await.unwrap(),
        ["g1", "g2"]
    );
    assert_eq!(
        s.links().sources("member", "g1").await.unwrap(),
        [
            (a.to_string(), "u1".to_string()),
            (a.to_string(), "u2".to_string())
        ]
    );
    assert_eq!(
        s.links()
            .sources("attached", "arn:aws:iam::aws:policy/ReadOnlyAccess")
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(s.links().remove(a, "member", "u1", "g2").await.unwrap());
    assert!(!s.links().remove(a, "member", "u1", "g2").await.unwrap());
    assert_eq!(s.links().remove_all(a, "member", "g1").await.unwrap(), 2);
    assert!(s
        .links()
        .targets(a, "member", "u1")
        .await
        .unwrap()
        .is_empty());

    let e0 = s.authz_epoch().get().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    assert_eq!(tx.authz_epoch().bump().await.unwrap(), e0 + 1);
    tx.rollback().await.unwrap();
    assert_eq!(
        s.authz_epoch().get().await.unwrap(),
        e0,
        "a rolled-back bump is not seen"
    );
    assert_eq!(s.authz_epoch().bump().await.unwrap(), e0 + 1);
}

/// The embedded store caches key lookups and the epoch in process; every committed change
/// (on the pool or in a transaction) must be visible to the very next read, and a rolled-back
/// one never.
async fn key_reads_never_serve_a_replaced_value(h: &Harness) {
    let s = &h.store;
    s.accounts()
        .create(&account("111111111111", "c@example.com"))
        .await
        .unwrap();
    let k = key("AKIAAAAAAAAAAAAAAAC1", "111111111111", "carol");
    s.credentials().create(&k, "secret-one").await.unwrap();
    let status = |r: Option<(rampart_store::AccessKey, rampart_store::Zeroizing<String>)>| {
        r.map(|(k, _)| k.status)
    };
    for _ in 0..2 {
        // The second read is served from the cache on SQLite.
        let got = s
            .credentials()
            .get_with_secret(&k.access_key_id)
            .await
            .unwrap();
        assert_eq!(status(got), Some(KeyStatus::Active));
    }
    s.credentials()
        .set_status(&k.access_key_id, KeyStatus::Inactive)
        .await
        .unwrap();
    let got = s
        .credentials()
        .get_with_secret(&k.access_key_id)
        .await
        .unwrap();
    assert_eq!(
        status(got),
        Some(KeyStatus::Inactive),
        "autocommit change visible at once"
    );

    // In a transaction: invisible until commit, visible right after.
    let mut tx = s.begin().await.unwrap();
    tx.credentials()
        .set_status(&k.access_key_id, KeyStatus::Active)
        .await
        .unwrap();
    let got = s
        .credentials()
        .get_with_secret(&k.access_key_id)
        .await
        .unwrap();
    assert_eq!(
        status(got),
        Some(KeyStatus::Inactive),
        "uncommitted change not visible"
    );
    tx.commit().await.unwrap();
    let got = s
        .credentials()
        .get_with_secret(&k.access_key_id)
        .await
        .unwrap();
    assert_eq!(
        status(got),
        Some(KeyStatus::Active),
        "committed change visible at once"
    );

    // A rolled-back change is never seen.
    let mut tx = s.begin().await.unwrap();
    tx.credentials().delete(&k.access_key_id).await.unwrap();
    tx.rollback().await.unwrap();
    let got = s
        .credentials()
        .get_with_secret(&k.access_key_id)
        .await
        .unwrap();
    assert_eq!(status(got), Some(KeyStatus::Active));

    s.credentials().delete(&k.access_key_id).await.unwrap();
    assert!(s
        .credentials()
        .get_with_secret(&k.access_key_id)
        .await
        .unwrap()
        .is_none());

    // The epoch likewise.
    let e = s.authz_epoch().get().await.unwrap();
    assert_eq!(s.authz_epoch().get().await.unwrap(), e);
    let mut tx = s.begin().await.unwrap();
    tx.authz_epoch().bump().await.unwrap();
    assert_eq!(s.authz_epoch().get().await.unwrap(), e);
    tx.commit().await.unwrap();
    assert_eq!(s.authz_epoch().get().await.unwrap(), e + 1);
}

/// Writers that run at the same time (on SQLite: savepoints of one shared transaction) keep
/// exactly their own outcome: committed changes stay, rolled-back and abandoned ones vanish,
/// and the audit chain holds exactly the committed records.
async fn concurrent_writers_keep_only_their_own_outcome(h: &Harness) {
    let mut tasks = Vec::new();
    for w in 0..24u32 {
        let s = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = s.begin().await?;
            tx.settings().set(&format!("w{w}"), "x").await?;
            tx.append_audit(&record(w, t(i64::from(w)))).await?;
            match w % 3 {
                0 => tx.commit().await,
                1 => tx.rollback().await,
                _ => {
                    drop(tx);
                    Ok(())
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for w in 0..24u32 {
        let got = h.store.settings().get(&format!("w{w}")).await.unwrap();
        assert_eq!(got.is_some(), w % 3 == 0, "writer {w}");
    }
    let r = h.store.verify_chain().await.unwrap();
    assert!(r.is_intact(), "{r:?}");
    assert_eq!(r.head_seq, 8);
    // The store still takes writes, from the pool and in transactions.
    h.store.settings().set("after", "1").await.unwrap();
    let mut tx = h.store.begin().await.unwrap();
    tx.settings().set("after2", "1").await.unwrap();
    tx.commit().await.unwrap();
    assert!(h.store.settings().get("after2").await.unwrap().is_some());
}

/// Writers that queue up while one holds the write turn are made durable together: 32
/// transactions take at most a few commits on SQLite, and every one is visible once its
/// `commit` returns.
async fn queued_writers_share_commits(h: &Harness) {
    let before = h.store.group_commit_stats().await;
    let mut first = h.store.begin().await.unwrap();
    first.settings().set("q0", "x").await.unwrap();
    let mut tasks = Vec::new();
    for w in 1..32u32 {
        let s = h.store.clone();
        tasks.push(tokio::spawn(async move {
            s.retry(|| async {
                let mut tx = s.begin().await?;
                tx.settings().set(&format!("q{w}"), "x").await?;
                tx.commit().await
            })
            .await?;
            // Durable and visible to a fresh reader as soon as commit returned.
            s.settings().get(&format!("q{w}")).await
        }));
    }
    // Let the others queue behind the open turn.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    first.commit().await.unwrap();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_some());
    }
    if let (Some(b), Some(a)) = (before, h.store.group_commit_stats().await) {
        assert_eq!(a.writes - b.writes, 32);
        assert!(a.commits - b.commits <= 4, "{b:?} -> {a:?}");
    }
}

/// Entities read outside a transaction may be served from memory (embedded store); no read may
/// return a value that a committed update or delete has replaced, and a rolled-back change
/// never shows.
async fn entity_reads_never_serve_a_replaced_value(h: &Harness) {
    let s = &h.store;
    s.accounts()
        .create(&account("111111111111", "a@example.com"))
        .await
        .unwrap();
    let get = || async {
        s.entities()
            .get("111111111111", "user", "alice")
            .await
            .unwrap()
    };
    let mut e = entity("111111111111", "user", "alice", "/");
    s.entities().create(&e).await.unwrap();
    assert_eq!(get().await.unwrap().doc, e.doc);
    assert_eq!(get().await.unwrap().doc, e.doc);

    // Updated in a committed transaction.
    e.doc = "{\"v\":2}".into();
    let mut tx = s.begin().await.unwrap();
    tx.entities().update("alice", &e).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(get().await.unwrap().doc, "{\"v\":2}");

    // Updated in a transaction that rolls back: the committed value stays.
    let mut changed = e.clone();
    changed.doc = "{\"v\":3}".into();
    let mut tx = s.begin().await.unwrap();
    tx.entities().update("alice", &changed).await.unwrap();
    assert_eq!(
        tx.entities()
            .get("111111111111", "user", "alice")
            .await
            .unwrap()
            .unwrap()
            .doc,
        "{\"v\":3}",
        "a transaction sees its own write"
    );
    tx.rollback().await.unwrap();
    assert_eq!(get().await.unwrap().doc, "{\"v\":2}");

    // Updated and deleted outside a transaction.
    e.doc = "{\"v\":4}".into();
    s.entities().update("alice", &e).await.unwrap();
    assert_eq!(get().await.unwrap().doc, "{\"v\":4}");
    s.entities()
        .delete("111111111111", "user", "alice")
        .await
        .unwrap();
    assert!(get().await.is_none());
}

/// The change signal fires once a write that logged a change is committed, not while it is
/// open, and not for writes Config does not record.
async fn change_signal_follows_logged_commits(h: &Harness) {
    use std::time::Duration;
    let s = &h.store;
    let a = "111111111111";
    let signal = s.change_signal();
    let fired = || async {
        tokio::time::timeout(Duration::from_millis(200), signal.notified())
            .await
            .is_ok()
    };
    // Whatever set-up wrote is taken first.
    fired().await;
    s.entities()
        .create(&entity(a, "s3:object", "k", "/"))
        .await
        .unwrap();
    assert!(!fired().await, "an unrecorded write does not signal");
    let mut tx = s.begin().await.unwrap();
    tx.entities()
        .create(&entity(a, "iam:user", "Signalled", "/"))
        .await
        .unwrap();
    assert!(!fired().await, "nothing is signalled before the commit");
    tx.commit().await.unwrap();
    assert!(fired().await, "the commit signals");
    assert!(!fired().await, "once");
    s.links()
        .add(a, "iam:attached", "AIDAX", "arn:aws:iam::aws:policy/X")
        .await
        .unwrap();
    assert!(fired().await, "an autocommitted link signals");
}

async fn resource_changes_commit_with_their_write(h: &Harness) {
    let s = &h.store;
    let a = "111111111111";
    // Rolled back: the change goes with the write.
    let mut tx = s.begin().await.unwrap();
    tx.entities()
        .create(&entity(a, "iam:user", "Gone", "/"))
        .await
        .unwrap();
    assert_eq!(tx.changes().after(0, 10).await.unwrap().len(), 1);
    tx.rollback().await.unwrap();
    assert!(s.changes().after(0, 10).await.unwrap().is_empty());
    // Committed: one row per recorded write, none for families Config does not record.
    let mut tx = s.begin().await.unwrap();
    let user = entity(a, "iam:user", "Kept", "/");
    tx.entities().create(&user).await.unwrap();
    tx.entities()
        .create(&entity(a, "s3:object", "k", "/"))
        .await
        .unwrap();
    tx.links()
        .add(a, "iam:attached", &user.id, "arn:aws:iam::aws:policy/X")
        .await
        .unwrap();
    tx.entities()
        .delete(a, "iam:user", &user.name_key)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let rows = s.changes().after(0, 10).await.unwrap();
    let seen: Vec<(&str, &str, bool)> = rows
        .iter()
        .map(|c| (c.kind.as_str(), c.key.as_str(), c.deleted))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("iam:user", user.name_key.as_str(), false),
            ("iam:attached", user.id.as_str(), false),
            ("iam:user", user.name_key.as_str(), true),
        ]
    );
    assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
    let last = rows.last().unwrap().seq;
    assert_eq!(s.changes().trim(last).await.unwrap(), 3);
    assert!(s.changes().after(0, 10).await.unwrap().is_empty());
}
