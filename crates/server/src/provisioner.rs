//! The background task that completes Organizations' `CreateAccount` requests, and where a
//! new account's root credentials go: `<data-dir>/accounts/<account-id>/root-credentials`
//! (mode 0600), the way the bootstrap hands over the management account's.

use std::{path::Path, sync::Arc, time::Duration};

use anyhow::Context as _;
use rampart_services::organizations::provision::{self, NewAccount};

use crate::{app::App, bootstrap};

/// How often pending requests are looked for (one indexed query when there are none).
const INTERVAL: Duration = Duration::from_millis(200);

/// Where a created account's root credentials are written.
pub fn credentials_path(data_dir: &Path, account_id: &str) -> std::path::PathBuf {
    data_dir
        .join("accounts")
        .join(account_id)
        .join(bootstrap::CREDENTIALS_FILE)
}

/// Runs until the application is dropped.
pub fn spawn(app: &Arc<App>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INTERVAL).await;
            let Some(app) = weak.upgrade() else {
                return;
            };
            match provision::run_pending(&app.store).await {
                Ok(created) => {
                    for account in created {
                        if let Err(err) = hand_over(&app.config.data_dir, &account) {
                            tracing::error!(account = %account.account_id, error = %err, "root credentials not written");
                        }
                    }
                }
                Err(err) => tracing::error!(error = %err, "create-account requests not completed"),
            }
        }
    })
}

fn hand_over(data_dir: &Path, account: &NewAccount) -> anyhow::Result<()> {
    let path = credentials_path(data_dir, &account.account_id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    bootstrap::write_credentials_file(
        &path,
        &format!("Rampart root user of account {}", account.account_id),
        &account.access_key_id,
        &account.secret_access_key,
    )?;
    tracing::info!(account = %account.account_id, file = %path.display(), "account created");
    Ok(())
}
