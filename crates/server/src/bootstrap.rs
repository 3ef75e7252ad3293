//! First start: the management account, its root user and the root user's access key.
//!
//! The root secret is shown exactly once: printed at first start and written to
//! `<data-dir>/root-credentials` (AWS shared-credentials format, mode 0600). Later starts only
//! name the key.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _};
use rampart_services::{ids, Partition};
use rampart_store::{
    now_ms, AccessKey, Account, AccountStatus, KeyStatus, Principal as KeyOwner, PrincipalKind,
    Store, Zeroizing,
};

use crate::config::ServeConfig;

/// Settings key holding the management account id once bootstrapped.
const ACCOUNT_SETTING: &str = "bootstrap.management_account_id";
/// Settings key holding the first root access key id.
/// The partition the installation's ARNs were minted in (`aws` when absent: installations
/// made before the setting existed).
const PARTITION_SETTING: &str = "bootstrap.partition";
const ROOT_KEY_SETTING: &str = "bootstrap.root_access_key_id";
/// File name of the root credentials inside the data dir.
pub const CREDENTIALS_FILE: &str = "root-credentials";

/// What start-up established.
#[derive(Debug)]
pub struct Bootstrap {
    /// The management account.
    pub account_id: String,
    /// The root user's access key id.
    pub root_access_key_id: String,
    /// The root secret, only when it was created by this start (shown once).
    pub new_root_secret: Option<Zeroizing<String>>,
    /// Where the root credentials were written.
    pub credentials_file: PathBuf,
}

/// A root identity to recreate exactly (after a dev-mode reset).
pub struct Fixed {
    /// The account id to keep.
    pub account_id: String,
    /// The root key to keep.
    pub access_key_id: String,
    /// Its secret.
    pub secret: Zeroizing<String>,
}

/// Refuses to serve an installation in another partition than the one its ARNs were minted
/// in: every stored ARN (users, roles, keys, policies) names that partition.
async fn check_partition(store: &Store, partition: Partition) -> anyhow::Result<()> {
    let installed = match store.settings().get(PARTITION_SETTING).await? {
        Some(name) => name,
        None if store.settings().get(ACCOUNT_SETTING).await?.is_some() => "aws".to_string(),
        None => return Ok(()),
    };
    if installed != partition.name() {
        bail!(
            "this installation's ARNs are in the partition {installed}, but --region names a \
             region of {partition}; start it with a region of {installed}, or start a new \
             installation in another data directory"
        );
    }
    Ok(())
}

/// Creates the management account and root key on first start; on later starts reads them.
pub async fn ensure(
    config: &ServeConfig,
    store: &Store,
    fixed: Option<Fixed>,
) -> anyhow::Result<Bootstrap> {
    let credentials_file = config.data_dir.join(CREDENTIALS_FILE);
    let partition = config.partition();
    check_partition(store, partition).await?;
    rampart_services::iam::common::aws_managed::seed_aws_managed_policies(store, partition).await?;
    if config.dev {
        ensure_dev_account(store, &config.dev_account_id).await?;
    }
    let existing = store.settings().get(ACCOUNT_SETTING).await?;
    if let Some(account_id) = existing {
        let root_access_key_id = store
            .settings()
            .get(ROOT_KEY_SETTING)
            .await?
            .unwrap_or_default();
        ensure_env_root_key(store, partition, &account_id).await?;
        ensure_root_password(store, partition, &account_id).await?;
        return Ok(Bootstrap {
            account_id,
            root_access_key_id,
            new_root_secret: None,
            credentials_file,
        });
    }

    // A new installation writes a new root key; one already on disk belongs to an earlier
    // installation (whose database is gone or is another one) and is never replaced. A dev-mode
    // reset recreates the same identity, so its file stays as it is.
    let keep_file = fixed.is_some() && credentials_file.exists();
    if fixed.is_none() && credentials_file.exists() {
        bail!(
            "{} exists but the database holds no installation: that file is the root key of an \
             earlier installation, and it is never overwritten. If the database was lost, \
             restore it from a backup; to start a new installation, move the file away first",
            credentials_file.display()
        );
    }
    let (account_id, access_key_id, secret, from_env) = match fixed {
        Some(f) => (f.account_id, f.access_key_id, f.secret, false),
        None => {
            let account_id = match env_account_id()? {
                Some(id) => id,
                None => ids::account_id()?,
            };
            match env_root_key()? {
                Some((id, secret)) => (account_id, id, secret, true),
                None => (
                    account_id,
                    ids::access_key_id(false)?,
                    Zeroizing::new(ids::secret_access_key()?),
                    false,
                ),
            }
        }
    };
    let now = now_ms();
    let mut tx = store.begin().await?;
    tx.accounts()
        .create(&Account {
            id: account_id.clone(),
            name: "management".into(),
            email: std::env::var("RAMPART_ROOT_EMAIL")
                .ok()
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| format!("root@{account_id}.rampart.local")),
            status: AccountStatus::Active,
            is_management: true,
            created_at: now,
        })
        .await?;
    tx.credentials()
        .create(
            &root_key(partition, &account_id, &access_key_id, now),
            &secret,
        )
        .await?;
    tx.settings().set(ACCOUNT_SETTING, &account_id).await?;
    tx.settings()
        .set(PARTITION_SETTING, partition.name())
        .await?;
    tx.settings().set(ROOT_KEY_SETTING, &access_key_id).await?;
    tx.commit().await?;

    if !keep_file {
        write_credentials_file(
            &credentials_file,
            "Rampart root user of the management account",
            &access_key_id,
            &secret,
        )?;
    }
    ensure_root_password(store, partition, &account_id).await?;
    Ok(Bootstrap {
        account_id,
        root_access_key_id: access_key_id,
        // A key the operator chose through the environment is not news to them.
        new_root_secret: (!from_env).then_some(secret),
        credentials_file,
    })
}

/// `RAMPART_ROOT_PASSWORD`, when set, becomes the root user's console password unless the
/// root user already has one (then the root user changes it with `ChangePassword`). It must
/// satisfy AWS's default password policy.
async fn ensure_root_password(
    store: &Store,
    partition: Partition,
    account_id: &str,
) -> anyhow::Result<()> {
    let Ok(password) = std::env::var("RAMPART_ROOT_PASSWORD") else {
        return Ok(());
    };
    let password = Zeroizing::new(password);
    let email = store
        .accounts()
        .get(account_id)
        .await?
        .map(|a| a.email)
        .unwrap_or_default();
    let mut tx = store.begin().await?;
    rampart_services::iam::login_profiles::ensure_root_password(
        partition,
        &mut rampart_services::Db::Write(&mut tx),
        account_id,
        &email,
        &password,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("RAMPART_ROOT_PASSWORD: {}", e.message))?;
    tx.commit().await?;
    Ok(())
}

/// The root identity to keep across a dev-mode reset.
pub async fn current(store: &Store) -> anyhow::Result<Option<Fixed>> {
    let Some(account_id) = store.settings().get(ACCOUNT_SETTING).await? else {
        return Ok(None);
    };
    let Some(access_key_id) = store.settings().get(ROOT_KEY_SETTING).await? else {
        return Ok(None);
    };
    let Some((_, secret)) = store.credentials().get_with_secret(&access_key_id).await? else {
        return Ok(None);
    };
    Ok(Some(Fixed {
        account_id,
        access_key_id,
        secret,
    }))
}

fn root_key(
    partition: Partition,
    account_id: &str,
    access_key_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> AccessKey {
    AccessKey {
        access_key_id: access_key_id.to_string(),
        principal: KeyOwner {
            account_id: account_id.to_string(),
            kind: PrincipalKind::Root,
            id: account_id.to_string(),
            arn: partition.root_arn(account_id),
        },
        status: KeyStatus::Active,
        created_at: now,
        last_used: None,
        session: None,
    }
}

/// `RAMPART_ACCOUNT_ID`, validated, if set: the id a new installation gives its first account
/// (read at first start only), e.g. the `GovCloudAccountId` an `aws` installation's
/// `CreateGovCloudAccount` paired with a commercial account, for the `aws-us-gov`
/// installation that serves it.
fn env_account_id() -> anyhow::Result<Option<String>> {
    match std::env::var("RAMPART_ACCOUNT_ID") {
        Ok(id) if id.trim().is_empty() => Ok(None),
        Ok(id) if rampart_store::is_valid_account_id(&id) => Ok(Some(id)),
        Ok(_) => bail!("RAMPART_ACCOUNT_ID must be 12 digits"),
        Err(_) => Ok(None),
    }
}

/// `RAMPART_ROOT_ACCESS_KEY_ID`/`RAMPART_ROOT_SECRET_ACCESS_KEY`, validated, if set.
fn env_root_key() -> anyhow::Result<Option<(String, Zeroizing<String>)>> {
    let id = std::env::var("RAMPART_ROOT_ACCESS_KEY_ID").ok();
    let secret = std::env::var("RAMPART_ROOT_SECRET_ACCESS_KEY").ok();
    match (id, secret) {
        (None, None) => Ok(None),
        (Some(id), Some(secret)) => {
            if !rampart_store::is_valid_access_key_id(&id) || !id.starts_with("AKIA") {
                bail!("RAMPART_ROOT_ACCESS_KEY_ID must be AKIA followed by 16 upper-case letters or digits");
            }
            if secret.len() != 40 {
                bail!("RAMPART_ROOT_SECRET_ACCESS_KEY must be 40 characters long");
            }
            Ok(Some((id, Zeroizing::new(secret))))
        }
        _ => bail!(
            "set both RAMPART_ROOT_ACCESS_KEY_ID and RAMPART_ROOT_SECRET_ACCESS_KEY, or neither"
        ),
    }
}

/// On a later start, a root key given by environment is added if it is new, and must match
/// if it exists.
async fn ensure_env_root_key(
    store: &Store,
    partition: Partition,
    account_id: &str,
) -> anyhow::Result<()> {
    let Some((id, secret)) = env_root_key()? else {
        return Ok(());
    };
    match store.credentials().get_with_secret(&id).await? {
        Some((key, stored)) => {
            if key.principal.account_id != account_id
                || key.principal.kind != PrincipalKind::Root
                || stored.as_str() != secret.as_str()
            {
                bail!(
                    "RAMPART_ROOT_ACCESS_KEY_ID {id} already exists with another owner or secret"
                );
            }
        }
        None => {
            store
                .credentials()
                .create(&root_key(partition, account_id, &id, now_ms()), &secret)
                .await?;
        }
    }
    Ok(())
}

/// Writes the AWS shared-credentials file, readable by the owner only.
pub(crate) fn write_credentials_file(
    path: &Path,
    whose: &str,
    key: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    write!(
        file,
        "# {whose}. Keep this file secret.\n[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    )?;
    file.sync_all()?;
    Ok(())
}

/// In dev mode, unknown credentials act as the root of the dev account; the account must exist
/// like any other for what its callers create (users, keys, KMS keys) to be stored.
async fn ensure_dev_account(store: &Store, account_id: &str) -> anyhow::Result<()> {
    if store.accounts().get(account_id).await?.is_some() {
        return Ok(());
    }
    let created = store
        .accounts()
        .create(&Account {
            id: account_id.to_string(),
            name: "dev".into(),
            email: format!("root@{account_id}.dev.rampart.local"),
            status: AccountStatus::Active,
            is_management: false,
            created_at: now_ms(),
        })
        .await;
    match created {
        Ok(()) | Err(rampart_store::StoreError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clap::Parser;
    use rampart_store::{MasterKey, StoreConfig};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeConfig,
    }

    async fn fresh(dir: &Path) -> (ServeConfig, Store) {
        let config = Cli::parse_from(["rampart", "--data-dir", &dir.display().to_string()]).serve;
        let key = Arc::new(MasterKey::generate().unwrap());
        let store = Store::open(StoreConfig::sqlite(dir.join("other.db"), key))
            .await
            .unwrap();
        (config, store)
    }

    /// A database without an installation (another one, or an emptied one, as a PostgreSQL
    /// database can be) beside an existing root-credentials file: refused, file untouched.
    #[tokio::test]
    async fn a_new_installation_never_replaces_root_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let (config, store) = fresh(dir.path()).await;
        let file = dir.path().join(CREDENTIALS_FILE);
        std::fs::write(&file, "earlier installation").unwrap();
        let err = ensure(&config, &store, None).await.unwrap_err().to_string();
        assert!(err.contains("never overwritten"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "earlier installation"
        );
        assert!(store
            .settings()
            .get(ACCOUNT_SETTING)
            .await
            .unwrap()
            .is_none());
    }

    /// A dev-mode reset recreates the same identity and leaves the file as it is.
    #[tokio::test]
    async fn a_reset_keeps_the_identity_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (config, store) = fresh(dir.path()).await;
        let first = ensure(&config, &store, None).await.unwrap();
        let file = dir.path().join(CREDENTIALS_FILE);
        let written = std::fs::read(&file).unwrap();
        let keep = current(&store).await.unwrap().unwrap();
        store.wipe_all().await.unwrap();
        let again = ensure(&config, &store, Some(keep)).await.unwrap();
        assert_eq!(again.account_id, first.account_id);
        assert_eq!(again.root_access_key_id, first.root_access_key_id);
        assert_eq!(std::fs::read(&file).unwrap(), written);
    }
}
