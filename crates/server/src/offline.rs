//! What the offline tools (`rampart audit verify`, `rampart billing report`) share: a small
//! runtime to run them on, and the server's store opened from its data dir or PostgreSQL URL.

use std::{future::Future, path::Path, sync::Arc};

use anyhow::Context as _;
use rampart_store::{MasterKey, Store, StoreConfig};

/// Runs an offline tool's work to completion on a single-threaded runtime.
pub fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}

/// Opens the store a server with this data dir (and PostgreSQL URL, if any) uses.
pub async fn open_store(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Store> {
    let master =
        Arc::new(MasterKey::from_env_or_data_dir(data_dir).context("cannot load the master key")?);
    let config = match database_url {
        Some(url) => StoreConfig::postgres(url.to_string(), master),
        None => StoreConfig::sqlite_in(data_dir, master),
    };
    Store::open(config).await.context("cannot open the store")
}
