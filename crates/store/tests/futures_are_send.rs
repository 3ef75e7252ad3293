//! Compile-time check: every public async method returns a `Send` future, as axum handlers
//! and `tokio::spawn` require. (sqlx's `RawSql::execute` once broke this: rustc's
//! higher-ranked lifetime limitation; call `Executor::execute(conn, raw_sql(..))` instead.)

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

use rampart_store::*;

fn send<T: Send>(_: T) {}

#[allow(dead_code, unused_must_use, clippy::too_many_arguments)]
fn all_futures_are_send(s: Store, rec: AuditRecord, k: AccessKey, a: Account, w: AuditWriter) {
    let q = LookupQuery::default();
    send(s.accounts().create(&a));
    send(s.accounts().get("x"));
    send(s.accounts().get_by_email("x"));
    send(s.accounts().management());
    send(s.accounts().list(None, 1));
    send(s.accounts().set_status("x", AccountStatus::Active));
    send(s.accounts().delete("x"));
    send(s.credentials().create(&k, "s"));
    send(s.credentials().get("x"));
    send(s.credentials().get_with_secret("x"));
    send(s.credentials().list_for_principal("a", "b"));
    send(s.credentials().count_long_term_for_principal("a", "b"));
    send(s.credentials().set_status("x", KeyStatus::Active));
    send(s.credentials().record_last_used(
        "x",
        &LastUsed {
            at: now_ms(),
            region: String::new(),
            service: String::new(),
        },
    ));
    send(s.credentials().delete("x"));
    send(s.credentials().delete_expired(now_ms()));
    send(s.settings().get("x"));
    send(s.settings().set("x", "y"));
    send(s.settings().insert_if_absent("x", "y"));
    send(s.settings().delete("x"));
    send(s.begin());
    send(s.append_audit(&rec));
    send(s.lookup_events(&q));
    send(s.verify_chain());
    send(s.ping());
    send(s.close());
    send(Store::open(StoreConfig::sqlite(
        "x",
        std::sync::Arc::new(MasterKey::generate().unwrap()),
    )));
    send(w.submit(rec.clone()));
    send(w.append(rec.clone()));
    send(w.flush());
    send(async {
        let mut tx = s.begin().await.unwrap();
        tx.accounts().get("x").await
    });
    send(async {
        let mut tx = s.begin().await.unwrap();
        tx.append_audit(&rec).await
    });
    send(async {
        let mut tx = s.begin().await.unwrap();
        tx.append_audit_batch(std::slice::from_ref(&rec)).await
    });
    send(async {
        let tx = s.begin().await.unwrap();
        tx.commit().await
    });
}

#[test]
fn compiles() {}
