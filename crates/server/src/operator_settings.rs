//! Settings the operator gives on the command line that services read from the store
//! (services never see the server's configuration): written at start-up and again after a
//! dev-mode reset, which wipes the store.

use rampart_store::Store;

use crate::config::ServeConfig;

/// Writes the services' settings of `config` to `store`; an absent flag removes the setting,
/// so the service's default (AWS's) applies.
pub async fn apply(config: &ServeConfig, store: &Store) -> anyhow::Result<()> {
    let key = rampart_services::detective::volume::LIMIT_SETTING;
    match config.detective_graph_volume_limit {
        Some(limit) => store.settings().set(key, &limit.to_string()).await?,
        None => {
            if store.settings().get(key).await?.is_some() {
                store.settings().delete(key).await?;
            }
        }
    }
    Ok(())
}
