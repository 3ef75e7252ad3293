//! Helpers for the service crates' own tests (feature `test-support`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure to set up is the test's failure"
)]

use std::{path::PathBuf, sync::Arc};

use rampart_store::{MasterKey, Store, StoreConfig};

use crate::{authorizer::Authorizer, context::CallContext, principal::Principal};

/// A fresh embedded store in a temporary directory (removed by the caller when it likes).
pub async fn store() -> (Store, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rampart-services-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = Store::open(StoreConfig::sqlite_in(&dir, key))
        .await
        .unwrap();
    (store, dir)
}

/// A call by `principal` from 127.0.0.1 in `us-east-1` at the request time
/// 2023-11-14T22:13:20Z, with an authorizer that refuses everything (no server behind it);
/// change what a test needs with struct update syntax.
pub fn context(principal: Principal) -> CallContext {
    CallContext {
        request_id: "r".into(),
        principal: Arc::new(principal),
        region: "us-east-1".into(),
        source_ip: "127.0.0.1".parse().unwrap(),
        user_agent: "test".into(),
        now: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        secure_transport: false,
        prepared: None,
        authorizer: Authorizer::refusing(),
        via_service: None,
        side_calls: Default::default(),
        payload: Default::default(),
    }
}

/// [`context`] for the root user of account 111122223333.
pub fn root_context() -> CallContext {
    context(Principal::root(
        crate::Partition::Aws,
        "111122223333",
        "AKIAROOT",
    ))
}
