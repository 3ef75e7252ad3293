//! Completes Organizations' `CreateAccount` and `CreateGovCloudAccount` requests, and writes a
//! new account's root credentials to `<data-dir>/accounts/<account-id>/root-credentials` (mode
//! 0600), the way the bootstrap hands over the management account's. For a GovCloud request it
//! also writes `<data-dir>/accounts/<account-id>/govcloud-account.json`: the paired
//! `aws-us-gov` account, for the installation that will serve it (docs/ORGANIZATIONS.md).

use std::{path::Path, time::Duration};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rampart_services::organizations::provision::{self, GovCloudAccount, NewAccount};
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

/// Where the paired `aws-us-gov` account of a `CreateGovCloudAccount` request is described.
pub fn govcloud_path(data_dir: &Path, account_id: &str) -> std::path::PathBuf {
    data_dir
        .join("accounts")
        .join(account_id)
        .join(GOVCLOUD_FILE)
}

/// The file name of [`govcloud_path`].
pub const GOVCLOUD_FILE: &str = "govcloud-account.json";

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
    if let Some(gov) = &account.govcloud {
        write_govcloud(data_dir, gov)?;
    }
    Ok(())
}

/// Describes the paired `aws-us-gov` account beside the commercial account's root key, with
/// the environment that starts the installation serving it.
fn write_govcloud(data_dir: &Path, gov: &GovCloudAccount) -> anyhow::Result<()> {
    let path = govcloud_path(data_dir, &gov.paired_account_id);
    let body = serde_json::json!({
        "GovCloudAccountId": gov.account_id,
        "Partition": "aws-us-gov",
        "PairedAccountId": gov.paired_account_id,
        "ManagementAccountId": gov.management_account_id,
        "Email": gov.email,
        "AccountName": gov.name,
        "RoleName": gov.role_name,
        "Start": format!(
            "RAMPART_ACCOUNT_ID={} RAMPART_ROOT_EMAIL={} rampart serve --region us-gov-west-1 --data-dir DIR",
            gov.account_id, gov.email
        ),
    });
    let text = serde_json::to_string_pretty(&body)?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(account = %gov.paired_account_id, govcloud = %gov.account_id, file = %path.display(), "govcloud account paired");
    Ok(())
}
