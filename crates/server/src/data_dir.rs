//! The embedded store's data directory, checked as a whole before anything in it is created.
//!
//! The pieces of an installation (the master key, the audit journal, the root credentials,
//! SQLite's write-ahead log) beside a missing or zero-byte `rampart.db` mean the database was
//! lost, not that this is a first start: starting would create a new account and root key and
//! hide what was lost. That is refused unless the operator asks for a new installation with
//! `--init`. An empty or missing data directory initializes without the flag.

use std::path::{Path, PathBuf};

use anyhow::bail;
use rampart_store::{StoreConfig, MASTER_KEY_FILE, SQLITE_FILE};

use crate::bootstrap::CREDENTIALS_FILE;

/// What start-up may do with the data directory.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The database exists: open it (its integrity is checked when the store opens).
    Existing,
    /// Nothing of an installation is here: create one.
    New,
    /// `--init` in a directory with remnants of a lost database: these were renamed aside
    /// (kept, never deleted) and a new installation is created.
    NewAfterMovingAside(Vec<PathBuf>),
}

/// Checks `data_dir` for the embedded store; `init` is `--init`, `key_from_env` says the
/// master key comes from `RAMPART_MASTER_KEY` rather than `master.key`.
pub fn check(data_dir: &Path, init: bool, key_from_env: bool) -> anyhow::Result<Verdict> {
    let db = data_dir.join(SQLITE_FILE);
    let db_len = std::fs::metadata(&db).ok().map(|m| m.len());
    let key_file = data_dir.join(MASTER_KEY_FILE);
    if db_len.is_some_and(|len| len > 0) {
        if !key_from_env && !key_file.exists() {
            bail!(
                "{} exists but {} is missing: the database's secrets are sealed under that key. \
                 Restore master.key from where you backed it up (it is backed up separately \
                 from the database), or set RAMPART_MASTER_KEY; a new key cannot open this \
                 database",
                db.display(),
                key_file.display()
            );
        }
        return Ok(Verdict::Existing);
    }
    let credentials = data_dir.join(CREDENTIALS_FILE);
    let remnants: Vec<PathBuf> = [
        key_file,
        StoreConfig::journal_dir(&db),
        credentials.clone(),
        sibling(&db, "-wal"),
        sibling(&db, "-shm"),
    ]
    .into_iter()
    .filter(|p| p.exists())
    .collect();
    if remnants.is_empty() {
        return Ok(Verdict::New);
    }
    let what = if db_len.is_some() {
        "is empty (zero bytes)"
    } else {
        "is missing"
    };
    if !init {
        bail!(
            "{} {what}, but the data dir still holds {}: this is an installation whose database \
             was lost, not a first start, and starting would create a new account and root \
             key. Restore rampart.db (with its -wal file, if backed up) from a backup; or, to \
             deliberately start a new installation here, start with --init (RAMPART_INIT=true)",
            db.display(),
            list(&remnants)
        );
    }
    if credentials.exists() {
        bail!(
            "--init: {} exists and holds the root key of the installation that was here; it is \
             never overwritten. Move it away first (keep it if that installation may be \
             restored), then start with --init again",
            credentials.display()
        );
    }
    // The key stays (a new installation may use it); everything tied to the lost database is
    // renamed so neither its journal nor its write-ahead log is taken for the new database's.
    let suffix = format!(
        ".before-init-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    let mut moved = Vec::new();
    let stale = [
        db.clone(),
        StoreConfig::journal_dir(&db),
        sibling(&db, "-wal"),
        sibling(&db, "-shm"),
    ];
    for path in stale.into_iter().filter(|p| p.exists()) {
        let to = sibling(&path, &suffix);
        if to.exists() {
            bail!(
                "--init: cannot move {} aside, {} already exists; move it away and try again",
                path.display(),
                to.display()
            );
        }
        std::fs::rename(&path, &to).map_err(|e| {
            anyhow::anyhow!(
                "--init: cannot move {} to {}: {e}",
                path.display(),
                to.display()
            )
        })?;
        moved.push(to);
    }
    Ok(Verdict::NewAfterMovingAside(moved))
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            if f.ends_with("-audit") {
                std::fs::create_dir(dir.path().join(f)).unwrap();
            } else if *f == SQLITE_FILE {
                std::fs::write(dir.path().join(f), b"").unwrap();
            } else {
                std::fs::write(dir.path().join(f), b"x").unwrap();
            }
        }
        dir
    }

    #[test]
    fn an_empty_or_missing_dir_is_a_new_installation() {
        let dir = dir_with(&[]);
        assert_eq!(check(dir.path(), false, false).unwrap(), Verdict::New);
        let missing = dir.path().join("not-yet");
        assert_eq!(check(&missing, false, false).unwrap(), Verdict::New);
        let zero = dir_with(&["rampart.db"]);
        assert_eq!(check(zero.path(), false, false).unwrap(), Verdict::New);
    }

    #[test]
    fn each_remnant_without_a_database_is_refused() {
        for remnant in [
            "master.key",
            "rampart.db-audit",
            "root-credentials",
            "rampart.db-wal",
        ] {
            for db in [&[][..], &["rampart.db"][..]] {
                let files: Vec<&str> = db.iter().copied().chain([remnant]).collect();
                let dir = dir_with(&files);
                let err = check(dir.path(), false, false).unwrap_err().to_string();
                assert!(err.contains(remnant), "{err}");
                assert!(err.contains("--init"), "{err}");
                assert!(err.contains("Restore"), "{err}");
            }
        }
    }

    #[test]
    fn init_refuses_to_replace_root_credentials() {
        let dir = dir_with(&["master.key", "root-credentials"]);
        let err = check(dir.path(), true, false).unwrap_err().to_string();
        assert!(err.contains("Move it away"), "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("root-credentials")).unwrap(),
            b"x"
        );
    }

    #[test]
    fn init_moves_the_lost_database_remnants_aside_and_keeps_the_key() {
        let dir = dir_with(&[
            "master.key",
            "rampart.db",
            "rampart.db-audit",
            "rampart.db-wal",
        ]);
        let Verdict::NewAfterMovingAside(moved) = check(dir.path(), true, false).unwrap() else {
            panic!("expected a new installation");
        };
        assert_eq!(moved.len(), 3, "{moved:?}");
        assert!(dir.path().join("master.key").exists());
        assert!(!dir.path().join("rampart.db-audit").exists());
        assert!(!dir.path().join("rampart.db-wal").exists());
        assert!(moved.iter().all(|p| p.exists()));
    }

    #[test]
    fn a_database_without_its_key_is_refused_unless_the_key_is_in_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rampart.db"), b"SQLite format 3\0").unwrap();
        let err = check(dir.path(), false, false).unwrap_err().to_string();
        assert!(
            err.contains("master.key is missing") || err.contains("is missing"),
            "{err}"
        );
        assert_eq!(check(dir.path(), false, true).unwrap(), Verdict::Existing);
    }
}
