//! Completes Organizations' `CreateAccount` requests, and writes a new account's root
//! credentials to `<data-dir>/accounts/<account-id>/root-credentials` (mode 0600), the way the
//! bootstrap hands over the management account's.

use std::{path::Path, time::Duration};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rampart_services::organizations::provision::{self, NewAccount};
use rampart_store::Lease;

use super::due::{DueJob, RoundFuture};
use crate::{app::App, bootstrap};

/// The job's name in leases, health and metrics.
pub const NAME: &str = "organizations-create-account";

/// Where a created account's root credentials are written.
pub fn credentials_path(data_dir: &Path, account_id: &str) -> std::path::PathBuf {
    data_dir
        .join("accounts")
        .join(account_id)
        .join(bootstrap::CREDENTIALS_FILE)
}

/// The `CreateAccount` provisioner, every 200 ms: requests wait at most this long; with none
/// pending a round is one indexed query.
pub const JOB: DueJob = DueJob::new(NAME, Duration::from_millis(200), "accounts created", round);

fn round<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let created = provision::run_pending(&app.store, app.config.partition(), now, lease)
            .await
            .map_err(|e| anyhow::anyhow!("create-account requests not completed: {e}"))?;
        for account in &created {
            // The account exists; its key's secret lives only here, so a failure to write it
            // is logged for the operator rather than retried.
            if let Err(err) = hand_over(&app.config.data_dir, account) {
                tracing::error!(account = %account.account_id, error = %err, "root credentials not written");
            }
        }
        Ok(vec![("created", created.len())])
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
