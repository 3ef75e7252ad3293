//! Helpers for the service crates' own tests (feature `test-support`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure to set up is the test's failure"
)]

use std::{path::PathBuf, sync::Arc};

use rampart_store::{MasterKey, Store, StoreConfig};

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
