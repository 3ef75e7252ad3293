//! `rampart backup` and `rampart restore`: a consistent copy of a data directory taken while
//! the server runs, and putting one back.
//!
//! A backup holds the embedded database (with its WAL folded in), the audit journal up to its
//! checkpointed head (see `rampart_store::backup_embedded`), `root-credentials` and
//! `accounts/`, owner-only. The master key is not copied unless asked for: it is backed up
//! separately (whoever holds both can read every secret in the store). On PostgreSQL the
//! database is backed up with `pg_dump`, and this copies the rest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::Args;
use rampart_store::{MasterKey, StoreConfig, MASTER_KEY_ENV, MASTER_KEY_FILE, SQLITE_FILE};

use crate::bootstrap::CREDENTIALS_FILE;

/// Where a provisioned account's root credentials go, under the data dir.
const ACCOUNTS_DIR: &str = "accounts";

/// Options of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The server's data dir.
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL, when the server uses PostgreSQL (its database is backed up with pg_dump).
    #[arg(long, env = "RAMPART_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Also copy `master.key` (by default it is backed up separately).
    #[arg(long)]
    pub include_master_key: bool,
    /// Where to write the backup: a new or empty directory.
    pub dest: PathBuf,
}

/// Options of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A directory written by `rampart backup`.
    pub src: PathBuf,
    /// The data dir to restore into: new or empty unless --force.
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    pub data_dir: PathBuf,
    /// Replace the store, journal and credentials of a non-empty data dir.
    #[arg(long)]
    pub force: bool,
}

/// Runs `backup`: exit 0 when the copy is complete.
pub fn run_backup(args: BackupArgs) -> ExitCode {
    report(crate::offline::block_on(backup(&args)))
}

/// Runs `restore`: exit 0 when the data dir holds the backup.
pub fn run_restore(args: RestoreArgs) -> ExitCode {
    report(restore(&args))
}

fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn backup(args: &BackupArgs) -> anyhow::Result<()> {
    let src = &args.data_dir;
    if !src.is_dir() {
        bail!("{} is not a data directory", src.display());
    }
    ensure_empty(&args.dest, "the backup destination")?;
    create_private_dir(&args.dest)?;
    match &args.database_url {
        Some(_) => println!(
            "PostgreSQL: back up the database itself with pg_dump (e.g. `pg_dump --format=custom \
             --file=rampart.dump \"$RAMPART_DATABASE_URL\"`); copying the data dir's files."
        ),
        None => {
            let key = master_key(src)?;
            let r = rampart_store::backup_embedded(
                &src.join(SQLITE_FILE),
                &args.dest.join(SQLITE_FILE),
                &key,
            )
            .await
            .context("cannot copy the store")?;
            println!("  database:        {SQLITE_FILE} (consistent copy, WAL folded in)");
            println!(
                "  audit journal:   {} segment(s), up to checkpointed record {}",
                r.segments, r.journal_head_seq
            );
        }
    }
    copy_tree(
        &src.join(CREDENTIALS_FILE),
        &args.dest.join(CREDENTIALS_FILE),
    )?;
    copy_tree(&src.join(ACCOUNTS_DIR), &args.dest.join(ACCOUNTS_DIR))?;
    let key_file = src.join(MASTER_KEY_FILE);
    if args.include_master_key {
        if !key_file.exists() {
            bail!(
                "no {} to include (is the key in {MASTER_KEY_ENV}?)",
                key_file.display()
            );
        }
        copy_tree(&key_file, &args.dest.join(MASTER_KEY_FILE))?;
        println!("  master key:      included (keep this backup as secret as the key)");
    } else {
        println!(
            "  master key:      NOT included: back up {MASTER_KEY_FILE} (or {MASTER_KEY_ENV}) \
             separately; the backup cannot be read without it"
        );
    }
    println!("Backup written to {}.", args.dest.display());
    Ok(())
}

/// The master key, without creating one: a backup reads an existing store.
fn master_key(data_dir: &Path) -> anyhow::Result<MasterKey> {
    if std::env::var_os(MASTER_KEY_ENV).is_none() && !data_dir.join(MASTER_KEY_FILE).exists() {
        bail!(
            "no master key: {} is missing and {MASTER_KEY_ENV} is not set",
            data_dir.join(MASTER_KEY_FILE).display()
        );
    }
    MasterKey::from_env_or_data_dir(data_dir).context("cannot load the master key")
}

fn restore(args: &RestoreArgs) -> anyhow::Result<()> {
    let src = &args.src;
    let has_store = src.join(SQLITE_FILE).exists() || src.join(CREDENTIALS_FILE).exists();
    if !has_store {
        bail!("{} does not look like a Rampart backup", src.display());
    }
    let dest = &args.data_dir;
    if args.force {
        refuse_if_served(dest)?;
        let journal = StoreConfig::journal_dir(&dest.join(SQLITE_FILE));
        for name in ["-wal", "-shm", ""] {
            remove(&dest.join(format!("{SQLITE_FILE}{name}")))?;
        }
        for p in [
            journal,
            dest.join(CREDENTIALS_FILE),
            dest.join(ACCOUNTS_DIR),
        ] {
            remove(&p)?;
        }
        if src.join(MASTER_KEY_FILE).exists() {
            remove(&dest.join(MASTER_KEY_FILE))?;
        }
    } else {
        ensure_empty(dest, "the data directory")
            .context("use --force to replace its store, journal and credentials")?;
    }
    create_private_dir(dest)?;
    for entry in std::fs::read_dir(src).with_context(|| format!("cannot read {}", src.display()))? {
        let entry = entry?;
        copy_tree(&entry.path(), &dest.join(entry.file_name()))?;
    }
    println!("Restored {} into {}.", src.display(), dest.display());
    if !dest.join(MASTER_KEY_FILE).exists() {
        println!(
            "  Put the master key back ({MASTER_KEY_FILE} or {MASTER_KEY_ENV}) before starting."
        );
    }
    println!(
        "  Check it with: rampart audit verify --data-dir {}",
        dest.display()
    );
    Ok(())
}

/// A server holds the journal's lock while it runs: restoring under it would mix two states.
fn refuse_if_served(dest: &Path) -> anyhow::Result<()> {
    let lock = StoreConfig::journal_dir(&dest.join(SQLITE_FILE)).join("LOCK");
    let Ok(file) = std::fs::File::open(&lock) else {
        return Ok(());
    };
    if file.try_lock().is_err() {
        bail!(
            "a Rampart server is running on {}: stop it first",
            dest.display()
        );
    }
    Ok(())
}

fn ensure_empty(dir: &Path, what: &str) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!("{what} {} is not empty", dir.display());
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn remove(path: &Path) -> anyhow::Result<()> {
    let r = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Copies a file or a directory tree (if it exists), keeping each file's and directory's mode;
/// a file is synced before the next one is copied.
fn copy_tree(src: &Path, dest: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(src) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", src.display())),
    };
    if meta.is_dir() {
        std::fs::create_dir_all(dest)
            .with_context(|| format!("cannot create {}", dest.display()))?;
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            // The journal's lock belongs to the server that runs on a data dir.
            if entry.file_name() == "LOCK" {
                continue;
            }
            copy_tree(&entry.path(), &dest.join(entry.file_name()))?;
        }
    } else if meta.is_file() {
        std::fs::copy(src, dest).with_context(|| format!("cannot copy {}", src.display()))?;
        std::fs::File::open(dest)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot sync {}", dest.display()))?;
    }
    std::fs::set_permissions(dest, meta.permissions())
        .with_context(|| format!("cannot set the mode of {}", dest.display()))
}
