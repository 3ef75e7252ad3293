//! End-to-end: the audit trail against someone with file access but not the master key, a
//! crash, and a backup taken while the server serves calls. The real binary throughout.

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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Server;

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

fn rampart(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RAMPART_MASTER_KEY")
        .env_remove("RAMPART_DATABASE_URL")
        .output()
        .expect("run rampart");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn verify(dir: &Path) -> (bool, String) {
    rampart(&["audit", "verify", "--data-dir", dir.to_str().unwrap()])
}

fn journal(dir: &Path) -> PathBuf {
    dir.join("rampart.db-audit")
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(journal(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

/// Offsets where each frame of a segment ends (frames start after the 48-byte header).
fn frame_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = 48;
    while pos + 4 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 4 + len + 32;
        ends.push(pos);
    }
    ends
}

/// Starts `rampart serve` on `dir` expecting it to refuse; returns what it printed.
fn start_refused(dir: &Path) -> String {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RAMPART_LOG", "warn")
        .env_remove("RAMPART_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rampart");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started on a tampered data dir");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A data dir whose journal holds at least `n` read-only call records, server stopped.
async fn served(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(dir.path(), &[]);
    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    for _ in 0..n {
        sts.get_caller_identity().send().await.expect("call");
    }
    let iam = server.iam(&server.root_key, &server.root_secret).await;
    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("user");
    drop(server);
    dir
}

fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dest.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

#[tokio::test]
async fn a_flipped_byte_in_record_7_of_13_stops_start_up_and_stays_broken() {
    let dir = served(13).await;
    let (ok, out) = verify(dir.path());
    assert!(ok, "{out}");
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let ends = frame_ends(&bytes);
    assert!(ends.len() >= 13, "{} records", ends.len());
    bytes[ends[5] + 20] ^= 1;
    std::fs::write(&seg, &bytes).unwrap();

    let refused = start_refused(dir.path());
    assert!(
        refused.contains("record 7") && refused.contains("rampart audit verify"),
        "{refused}"
    );
    // A second attempt finds the same: nothing was cut.
    start_refused(dir.path());
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);
    let (ok, out) = verify(dir.path());
    assert!(!ok && out.contains("BROKEN at record 7"), "{out}");
    assert!(!out.contains("Intact"), "{out}");
}

/// One way of removing records from a data dir.
type Tamper = fn(&Path);

#[tokio::test]
async fn an_emptied_trail_fails_verify_every_way() {
    let dir = served(5).await;
    let (ok, out) = verify(dir.path());
    assert!(ok, "{out}");
    let ways: [(&str, Tamper); 4] = [
        (
            "table rows deleted, head reset to 0 with an empty MAC",
            |d| {
                let sql = format!(
                    "DELETE FROM audit_resources; DELETE FROM audit_events; \
                 UPDATE audit_head SET seq = 0, hash = '{}', mac = '';",
                    "0".repeat(64)
                );
                let st = Command::new("sqlite3")
                    .arg(d.join("rampart.db"))
                    .arg(sql)
                    .status()
                    .expect("sqlite3");
                assert!(st.success());
            },
        ),
        ("journal HEAD deleted", |d| {
            std::fs::remove_file(journal(d).join("HEAD")).unwrap();
        }),
        ("segments cut to their header", |d| {
            for s in segments(d) {
                let b = std::fs::read(&s).unwrap();
                std::fs::write(&s, &b[..48]).unwrap();
            }
        }),
        ("the only segment removed", |d| {
            for s in segments(d) {
                std::fs::remove_file(s).unwrap();
            }
        }),
    ];
    for (why, tamper) in ways {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        tamper(copy.path());
        let (ok, out) = verify(copy.path());
        assert!(!ok, "{why}: {out}");
        assert!(
            out.contains("BROKEN") && !out.contains("Intact"),
            "{why}: {out}"
        );
    }
}

#[tokio::test]
async fn after_kill_9_no_acknowledged_write_is_lost_and_the_trail_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    for round in 0..3 {
        let server = Server::start_in(dir.path(), &[]);
        let sts = server
            .sts(&server.root_key, &server.root_secret, "us-east-1")
            .await;
        let iam = server.iam(&server.root_key, &server.root_secret).await;
        let acked = acknowledged.clone();
        let load = tokio::spawn(async move {
            for i in 0.. {
                let _ = sts.get_caller_identity().send().await;
                let name = format!("u{round}-{i}");
                if iam.create_user().user_name(&name).send().await.is_ok() {
                    acked.lock().unwrap().push(name);
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(400)).await;
        server.kill9();
        load.abort();
        let _ = load.await;
        let again = Server::start_in(dir.path(), &[]);
        let iam = again.iam(&again.root_key, &again.root_secret).await;
        let mut present = std::collections::HashSet::new();
        let mut pages = iam.list_users().into_paginator().send();
        while let Some(page) = pages.next().await {
            for user in page.unwrap().users() {
                present.insert(user.user_name().to_string());
            }
        }
        let acked = acknowledged.lock().unwrap().clone();
        assert!(
            !acked.is_empty(),
            "round {round}: no write was acknowledged"
        );
        let lost: Vec<&String> = acked.iter().filter(|n| !present.contains(*n)).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged users lost: {lost:?}"
        );
        drop(again);
        let (ok, out) = verify(dir.path());
        assert!(ok, "round {round}: {out}");
    }
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_and_verifies() {
    let server = Server::start(&[]);
    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let account = sts
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_string();
    let iam = server.iam(&server.root_key, &server.root_secret).await;
    for u in ["ann", "bob"] {
        iam.create_user().user_name(u).send().await.unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (sts, iam, stop) = (sts.clone(), iam.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                sts.get_caller_identity().send().await.unwrap();
                iam.create_user()
                    .user_name(format!("load{n}"))
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let backup = tempfile::tempdir().unwrap();
    let dest = backup.path().join("copy");
    let data = server.data_dir.to_str().unwrap().to_string();
    let dest_s = dest.to_str().unwrap().to_string();
    let (ok, out) =
        tokio::task::spawn_blocking(move || rampart(&["backup", "--data-dir", &data, &dest_s]))
            .await
            .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("NOT included"), "{out}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(load.await.unwrap() > 0, "the load made no calls");
    assert!(!dest.join("master.key").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dest.join("root-credentials"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Restore refuses a non-empty data dir, then replaces it with --force.
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("something"), "x").unwrap();
    let t = target.path().to_str().unwrap();
    let (ok, out) = rampart(&["restore", dest.to_str().unwrap(), "--data-dir", t]);
    assert!(!ok && out.contains("not empty"), "{out}");
    let (ok, out) = rampart(&[
        "restore",
        dest.to_str().unwrap(),
        "--data-dir",
        t,
        "--force",
    ]);
    assert!(ok, "{out}");
    // The master key comes from its own backup.
    std::fs::copy(
        server.data_dir.join("master.key"),
        target.path().join("master.key"),
    )
    .unwrap();
    let (ok, out) = verify(target.path());
    assert!(ok && out.contains("Intact"), "{out}");

    let restored = Server::start_in(target.path(), &[]);
    assert_eq!(restored.root_key, server.root_key);
    let sts2 = restored
        .sts(&restored.root_key, &restored.root_secret, "us-east-1")
        .await;
    let who = sts2.get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some(account.as_str()));
    let iam2 = restored
        .iam(&restored.root_key, &restored.root_secret)
        .await;
    let users = iam2.list_users().max_items(1000).send().await.unwrap();
    let names: Vec<&str> = users.users().iter().map(|u| u.user_name()).collect();
    assert!(
        names.contains(&"ann") && names.contains(&"bob"),
        "{names:?}"
    );
    drop(restored);
    let (ok, out) = verify(target.path());
    assert!(ok, "after a start on the restored copy: {out}");
}

#[test]
fn on_postgresql_backup_points_at_pg_dump_and_copies_the_files() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let acct = data.path().join("accounts").join("222222222222");
    std::fs::create_dir_all(&acct).unwrap();
    for f in [
        data.path().join("root-credentials"),
        acct.join("root-credentials"),
    ] {
        std::fs::write(&f, "[default]\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(data.path().join("master.key"), "not copied").unwrap();
    let dest = data.path().join("..").join(format!(
        "{}-backup",
        data.path().file_name().unwrap().to_string_lossy()
    ));
    let (ok, out) = rampart(&[
        "backup",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        dest.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("pg_dump"), "{out}");
    let copied = dest.join("accounts/222222222222/root-credentials");
    let mode = std::fs::metadata(&copied).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(dest.join("root-credentials").exists());
    assert!(!dest.join("master.key").exists());
    assert!(!dest.join("rampart.db").exists());
    // A second backup into the same, now non-empty, destination is refused.
    let (ok, out) = rampart(&[
        "backup",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        dest.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("not empty"), "{out}");
    std::fs::remove_dir_all(&dest).unwrap();
}
