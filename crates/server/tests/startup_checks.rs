//! Start-up checks the data directory as a whole: a lost, emptied or damaged database beside
//! the master key, the audit journal and the root credentials stops start-up with a message
//! saying what to do; it never becomes a new installation, and nothing is overwritten.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

mod support;

use std::path::Path;

use support::{start_refused, Server};

/// Folds the WAL into the database file and removes it (with Python's sqlite3 module, which the
/// end-to-end suite needs anyway).
fn checkpoint(db: &Path) {
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()",
        ])
        .arg(db)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "checkpoint failed");
}

/// An installation with users, stopped, its database checkpointed (all in the file, no WAL);
/// with `crash_with_wal` then started again for one more write and killed, so its WAL holds
/// frames the file does not. Returns the root credentials file's bytes.
async fn installation(dir: &Path, crash_with_wal: bool) -> Vec<u8> {
    {
        let server = Server::start_in(dir, &[]);
        let iam = server.iam(&server.root_key, &server.root_secret).await;
        for i in 0..20 {
            iam.create_user()
                .user_name(format!("u{i}"))
                .send()
                .await
                .expect("create user");
        }
    }
    checkpoint(&dir.join("rampart.db"));
    assert!(!dir.join("rampart.db-wal").exists());
    if crash_with_wal {
        let mut server = Server::start_in(dir, &[]);
        let iam = server.iam(&server.root_key, &server.root_secret).await;
        iam.create_user()
            .user_name("after-restart")
            .send()
            .await
            .expect("create user");
        server.kill_hard();
        assert!(
            std::fs::metadata(dir.join("rampart.db-wal")).is_ok_and(|m| m.len() > 0),
            "a crash leaves the WAL behind"
        );
    }
    assert!(dir.join("master.key").exists());
    assert!(dir.join("rampart.db-audit").is_dir());
    std::fs::read(dir.join("root-credentials")).expect("root-credentials")
}

/// Start is refused, the message says what is wrong and what to do, and the data dir's keys are
/// as they were.
fn assert_refused(dir: &Path, creds: &[u8], args: &[&str], expect: &[&str]) {
    let key = std::fs::read(dir.join("master.key")).expect("master.key");
    let stderr = start_refused(dir, args);
    for text in expect {
        assert!(stderr.contains(text), "expected {text:?} in:\n{stderr}");
    }
    assert_eq!(
        std::fs::read(dir.join("root-credentials")).expect("root-credentials"),
        creds,
        "root-credentials must not change"
    );
    assert_eq!(std::fs::read(dir.join("master.key")).expect("key"), key);
}

#[tokio::test]
async fn a_removed_database_is_refused_not_reinitialized() {
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = installation(dir.path(), false).await;
    for f in ["rampart.db", "rampart.db-wal", "rampart.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    assert_refused(
        dir.path(),
        &creds,
        &[],
        &["rampart.db is missing", "master.key", "Restore", "--init"],
    );
    assert!(
        !dir.path().join("rampart.db").exists(),
        "no new database is created"
    );
}

#[tokio::test]
async fn a_zeroed_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = installation(dir.path(), true).await;
    std::fs::File::create(dir.path().join("rampart.db")).expect("zero the database");
    assert_refused(dir.path(), &creds, &[], &["is empty", "Restore", "--init"]);
    assert_eq!(
        std::fs::metadata(dir.path().join("rampart.db"))
            .expect("db")
            .len(),
        0
    );
}

fn truncate_to_half(path: &Path) {
    let len = std::fs::metadata(path).expect("db").len();
    assert!(len > 8192, "database too small to truncate: {len}");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open db");
    file.set_len(len / 2).expect("truncate");
}

#[tokio::test]
async fn a_truncated_database_without_wal_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = installation(dir.path(), false).await;
    assert!(!dir.path().join("rampart.db-wal").exists());
    truncate_to_half(&dir.path().join("rampart.db"));
    assert_refused(
        dir.path(),
        &creds,
        &[],
        &["integrity check", "damaged or truncated", "Restore"],
    );
}

#[tokio::test]
async fn a_truncated_database_with_its_wal_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = installation(dir.path(), true).await;
    truncate_to_half(&dir.path().join("rampart.db"));
    assert_refused(
        dir.path(),
        &creds,
        &[],
        &["integrity check", "damaged or truncated", "Restore"],
    );
}

#[tokio::test]
async fn init_never_overwrites_root_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = installation(dir.path(), false).await;
    std::fs::remove_file(dir.path().join("rampart.db")).expect("remove db");
    assert_refused(
        dir.path(),
        &creds,
        &["--init"],
        &["root-credentials", "never overwritten", "Move it away"],
    );
    assert!(!dir.path().join("rampart.db").exists());
}

#[tokio::test]
async fn init_starts_a_new_installation_once_the_old_key_file_is_moved_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = installation(dir.path(), true).await;
    std::fs::remove_file(dir.path().join("rampart.db")).expect("remove db");
    std::fs::rename(
        dir.path().join("root-credentials"),
        dir.path().join("old-root-credentials"),
    )
    .expect("move credentials away");
    let key = std::fs::read(dir.path().join("master.key")).expect("key");
    let server = Server::start_in(dir.path(), &["--init"]);
    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    sts.get_caller_identity()
        .send()
        .await
        .expect("the new installation answers");
    assert_ne!(
        std::fs::read(dir.path().join("root-credentials")).expect("new creds"),
        old
    );
    assert_eq!(
        std::fs::read(dir.path().join("master.key")).expect("key"),
        key
    );
    let kept: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".before-init-"))
        .collect();
    assert!(
        kept.iter().any(|n| n.starts_with("rampart.db-audit.")),
        "the old journal is kept aside: {kept:?}"
    );
    assert!(
        kept.iter().any(|n| n.starts_with("rampart.db-wal.")),
        "the old WAL is kept aside: {kept:?}"
    );
}
