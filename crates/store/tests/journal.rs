//! The embedded store's audit journal: segments, lookups across it and the audit table,
//! crash recovery, tamper detection and the one-writer lock.

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

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{record, resource, t};
use rampart_store::{
    AuditWriter, AuditWriterConfig, LookupAttribute, LookupQuery, MasterKey, Store, StoreConfig,
};

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> Dir {
    Dir(std::env::temp_dir().join(format!("rampart-journal-{}", uuid::Uuid::new_v4())))
}

/// A store whose journal seals a segment every ~4 KiB, so a few dozen records span several,
/// with its audit trail's genesis checked (recorded on the first open), as a server's start.
async fn open(dir: &Path, key: &Arc<MasterKey>) -> Store {
    let store = open_unchecked(dir, key).await;
    store.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    store
}

/// The store without the start-up genesis check (as `rampart audit verify` opens it).
async fn open_unchecked(dir: &Path, key: &Arc<MasterKey>) -> Store {
    Store::open(StoreConfig::sqlite_in(dir, key.clone()).with_journal_segment_bytes(4096))
        .await
        .unwrap()
}

fn journal_dir(dir: &Path) -> PathBuf {
    StoreConfig::journal_dir(&dir.join(rampart_store::SQLITE_FILE))
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(journal_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

fn quick() -> AuditWriterConfig {
    AuditWriterConfig {
        max_batch: 16,
        queue: 64,
        linger: std::time::Duration::from_millis(1),
        ..AuditWriterConfig::default()
    }
}

/// Writes `n` journal records (event times 1..=n seconds, alternating names) through the
/// writer, and returns the store.
async fn filled(dir: &Path, key: &Arc<MasterKey>, n: u32) -> Store {
    let store = open(dir, key).await;
    let (writer, task) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    for i in 1..=n {
        let mut r = record(i, t(i64::from(i)));
        if i % 3 == 0 {
            r.event_name = "ListUsers".into();
            r.resources = vec![resource("AWS::IAM::User", &format!("user-{i}"))];
        }
        writer.submit(r).await.unwrap();
    }
    writer.flush().await.unwrap();
    drop(writer);
    task.await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_segments_and_pages_newest_first_with_the_table() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = filled(&dir.0, &key, 60).await;
    assert!(segments(&dir.0).len() >= 3, "{:?}", segments(&dir.0));
    // Mutating calls' records stay in the audit table; give two of them times that
    // interleave with the journal's.
    let mut a = record(1000, t(30));
    a.read_only = false;
    store.append_audit(&a).await.unwrap();
    let mut b = record(1001, t(61));
    b.read_only = false;
    store.append_audit(&b).await.unwrap();

    let mut times = Vec::new();
    let mut token = None;
    loop {
        let page = store
            .lookup_events(&LookupQuery {
                account_id: Some("111111111111".into()),
                max_results: 7,
                next_token: token.take(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.events.len() <= 7);
        times.extend(page.events.iter().map(|e| e.record.event_time.timestamp()));
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(times.len(), 62);
    let mut expected: Vec<i64> = (1..=60).chain([30, 61]).map(|s| t(s).timestamp()).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, expected);

    let report = store.verify_chain().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records_checked, 62);
    assert_eq!(report.journal_head_seq, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_use_every_segment_that_can_match() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = filled(&dir.0, &key, 60).await;
    let q = |attr: LookupAttribute, v: &str| LookupQuery {
        attribute: Some((attr, v.to_string())),
        max_results: 50,
        ..Default::default()
    };
    let names = store
        .lookup_events(&q(LookupAttribute::EventName, "ListUsers"))
        .await
        .unwrap();
    assert_eq!(names.events.len(), 20);
    assert!(names
        .events
        .iter()
        .all(|e| e.record.event_name == "ListUsers"));
    let one = store
        .lookup_events(&q(LookupAttribute::ResourceName, "user-9"))
        .await
        .unwrap();
    assert_eq!(one.events.len(), 1);
    assert_eq!(
        one.events[0].record.resources,
        vec![resource("AWS::IAM::User", "user-9")]
    );
    let id = store
        .lookup_events(&q(
            LookupAttribute::EventId,
            "00000000-0000-4000-8000-000000000002",
        ))
        .await
        .unwrap();
    assert_eq!(id.events.len(), 1);
    assert!(store
        .lookup_events(&q(LookupAttribute::EventName, "DeleteUser"))
        .await
        .unwrap()
        .events
        .is_empty());
    let ranged = store
        .lookup_events(&LookupQuery {
            start_time: Some(t(10)),
            end_time: Some(t(19)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ranged.events.len(), 10);
    let other = store
        .lookup_events(&LookupQuery {
            account_id: Some("222222222222".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(other.events.is_empty());
    // The summaries were written when segments were sealed.
    let sums = std::fs::read_dir(journal_dir(&dir.0))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sum")
        })
        .count();
    assert_eq!(sums, segments(&dir.0).len() - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_is_cut_and_the_chain_continues() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    drop(filled(&dir.0, &key, 10).await);
    let last = segments(&dir.0).pop().unwrap();
    let clean_len = std::fs::metadata(&last).unwrap().len();
    // A crash in the middle of a write: half a frame at the end.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap();
    std::io::Write::write_all(&mut f, &[0, 0, 1, 0, 7, 7, 7]).unwrap();
    drop(f);

    let store = open(&dir.0, &key).await;
    let (writer, task) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    assert_eq!(std::fs::metadata(&last).unwrap().len(), clean_len);
    let a = writer.append(record(11, t(11))).await.unwrap();
    assert_eq!(a.seq, 11);
    writer.flush().await.unwrap();
    let report = store.verify_chain().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.journal_head_seq, 11);
    drop(writer);
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_detected() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = filled(&dir.0, &key, 40).await;
    assert!(store.verify_chain().await.unwrap().is_intact());
    let segs = segments(&dir.0);

    // One byte of a sealed segment's record changed.
    let mut bytes = std::fs::read(&segs[0]).unwrap();
    let pos = bytes.len() - 40;
    bytes[pos] ^= 1;
    std::fs::write(&segs[0], &bytes).unwrap();
    let b = store.verify_chain().await.unwrap().first_break.unwrap();
    assert!(b.reason.contains("altered"), "{b:?}");
    bytes[pos] ^= 1;
    std::fs::write(&segs[0], &bytes).unwrap();
    assert!(store.verify_chain().await.unwrap().is_intact());

    // A sealed segment's summary edited to hide its ListUsers records from LookupEvents.
    let sum = segs[0].with_extension("sum");
    let original = std::fs::read_to_string(&sum).unwrap();
    std::fs::write(&sum, original.replace("ListUsers", "Innocent")).unwrap();
    let b = store.verify_chain().await.unwrap().first_break.unwrap();
    assert!(b.reason.contains("summary"), "{b:?}");
    std::fs::write(&sum, &original).unwrap();
    assert!(store.verify_chain().await.unwrap().is_intact());

    // The newest segment removed: the checkpointed head still counts its records.
    drop(store);
    std::fs::remove_file(segs.last().unwrap()).unwrap();
    let store = open_unchecked(&dir.0, &key).await;
    let b = store.verify_chain().await.unwrap().first_break.unwrap();
    assert!(b.reason.contains("removed"), "{b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_per_data_directory() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let first = open(&dir.0, &key).await;
    let (writer, task) = AuditWriter::spawn(first.clone(), quick()).unwrap();
    writer.append(record(1, t(1))).await.unwrap();

    // A second server on the same directory is refused, with a message saying why...
    let second = open(&dir.0, &key).await;
    let err = AuditWriter::spawn(second.clone(), quick()).unwrap_err();
    assert!(
        err.to_string()
            .contains("one data directory serves one server"),
        "{err}"
    );
    // ...while readers (a report, a CLI) still see the records.
    let page = second.lookup_events(&LookupQuery::default()).await.unwrap();
    assert_eq!(page.events.len(), 1);

    drop(writer);
    task.await.unwrap();
    first.close().await;
    drop(first);
    // Once the first store is gone, the lock is free.
    let (w2, t2) = AuditWriter::spawn(second.clone(), quick()).unwrap();
    assert_eq!(w2.append(record(2, t(2))).await.unwrap().seq, 2);
    drop(w2);
    t2.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wipe_empties_the_journal() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = filled(&dir.0, &key, 30).await;
    store.wipe_all().await.unwrap();
    assert!(store
        .lookup_events(&LookupQuery::default())
        .await
        .unwrap()
        .events
        .is_empty());
    // Until the reset's bootstrap records the genesis again, the trail is not intact.
    assert!(!store.verify_chain().await.unwrap().is_intact());
    store.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    let r = store.verify_chain().await.unwrap();
    assert!(r.is_intact() && r.journal_head_seq == 0, "{r:?}");
    let (writer, task) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    assert_eq!(writer.append(record(1, t(1))).await.unwrap().seq, 1);
    drop(writer);
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_can_read_the_journal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    // Enough records to seal segments (with their summaries) and checkpoint the head.
    let _store = filled(&dir.0, &key, 60).await;
    let jdir = journal_dir(&dir.0);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&jdir), 0o700);
    let files: Vec<PathBuf> = std::fs::read_dir(&jdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for kind in ["log", "sum"] {
        assert!(
            files
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == kind)),
            "no .{kind} file in {files:?}"
        );
    }
    assert!(files.iter().any(|p| p.ends_with("HEAD")), "{files:?}");
    assert!(files.iter().any(|p| p.ends_with("GENESIS")), "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
}

/// Offsets where each frame of a segment ends (the first frame starts after the header).
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

/// A store with one big segment holding `n` records, closed.
async fn one_segment(dir: &Path, key: &Arc<MasterKey>, n: u32) -> PathBuf {
    let store = Store::open(StoreConfig::sqlite_in(dir, key.clone()))
        .await
        .unwrap();
    store.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    let (writer, task) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    for i in 1..=n {
        writer.append(record(i, t(i64::from(i)))).await.unwrap();
    }
    drop(writer);
    task.await.unwrap();
    store.close().await;
    segments(dir).pop().unwrap()
}

async fn spawn_err(dir: &Path, key: &Arc<MasterKey>) -> String {
    let store = Store::open(StoreConfig::sqlite_in(dir, key.clone()))
        .await
        .unwrap();
    AuditWriter::spawn(store, quick()).unwrap_err().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_before_the_checkpoint_stops_start_up_and_stays_reported() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let seg = one_segment(&dir.0, &key, 13).await;
    let mut bytes = std::fs::read(&seg).unwrap();
    let ends = frame_ends(&bytes);
    assert_eq!(ends.len(), 13);
    // One byte inside record 7's payload.
    bytes[ends[5] + 20] ^= 1;
    std::fs::write(&seg, &bytes).unwrap();

    let err = spawn_err(&dir.0, &key).await;
    assert!(
        err.contains("record 7") && err.contains("rampart audit verify"),
        "{err}"
    );
    // Nothing was cut, and verify still reports it.
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);
    let store = open_unchecked(&dir.0, &key).await;
    let b = store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 7, "{b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_record_is_checkpointed_so_recovery_never_cuts_it() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = Store::open(StoreConfig::sqlite_in(&dir.0, key.clone()))
        .await
        .unwrap();
    store.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    let (writer, task) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    for i in 1..=5 {
        writer.append(record(i, t(i64::from(i)))).await.unwrap();
    }
    // Acknowledged: a crash now (the files as they are, no shutdown) keeps all five. The copy
    // is what a kill -9 leaves behind.
    let crashed = temp_dir();
    std::fs::create_dir_all(journal_dir(&crashed.0)).unwrap();
    for f in ["rampart.db", "rampart.db-wal", "rampart.db-shm"] {
        let _ = std::fs::copy(dir.0.join(f), crashed.0.join(f));
    }
    for e in std::fs::read_dir(journal_dir(&dir.0)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, journal_dir(&crashed.0).join(p.file_name().unwrap())).unwrap();
    }
    drop(writer);
    task.await.unwrap();

    // The last acknowledged record damaged: not a torn tail to cut, a refusal.
    let seg = segments(&crashed.0).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    std::fs::write(&seg, &bytes).unwrap();
    let err = spawn_err(&crashed.0, &key).await;
    assert!(err.contains("record 5"), "{err}");
    bytes[last] ^= 1;
    // A torn write after it (never acknowledged) is cut, and the five are kept.
    bytes.extend_from_slice(&[0, 0, 0, 9, 1, 2]);
    std::fs::write(&seg, &bytes).unwrap();
    let store = Store::open(StoreConfig::sqlite_in(&crashed.0, key.clone()))
        .await
        .unwrap();
    store.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    let (w, t2) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    assert_eq!(w.append(record(6, t(6))).await.unwrap().seq, 6);
    drop(w);
    t2.await.unwrap();
    let r = store.verify_chain().await.unwrap();
    assert!(r.is_intact() && r.journal_head_seq == 6, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_cut_below_the_checkpoint_stops_start_up() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let seg = one_segment(&dir.0, &key, 13).await;
    let bytes = std::fs::read(&seg).unwrap();
    let ends = frame_ends(&bytes);
    // Cut cleanly after record 6, below the head at 13.
    std::fs::write(&seg, &bytes[..ends[5]]).unwrap();
    let err = spawn_err(&dir.0, &key).await;
    assert!(err.contains("record 7") && err.contains("13"), "{err}");
    assert_eq!(std::fs::metadata(&seg).unwrap().len() as usize, ends[5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_journal_fails_verify() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    drop(filled(&dir.0, &key, 40).await);
    let jdir = journal_dir(&dir.0);
    let head = std::fs::read(jdir.join("HEAD")).unwrap();
    let check = |why: &'static str| {
        let dir = dir.0.clone();
        let key = key.clone();
        async move {
            let store = open_unchecked(&dir, &key).await;
            let r = store.verify_chain().await.unwrap();
            assert!(!r.is_intact(), "{why}: {r:?}");
            store.close().await;
            r.first_break.unwrap().reason
        }
    };
    // The HEAD deleted.
    std::fs::remove_file(jdir.join("HEAD")).unwrap();
    let reason = check("HEAD deleted").await;
    assert!(reason.contains("HEAD is missing"), "{reason}");
    // ...and start-up refuses it.
    let err = spawn_err(&dir.0, &key).await;
    assert!(err.contains("HEAD is missing"), "{err}");
    // Every segment cut back to its header, the HEAD still deleted.
    let saved: Vec<(PathBuf, Vec<u8>)> = segments(&dir.0)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    for (p, b) in &saved {
        std::fs::write(p, &b[..48]).unwrap();
    }
    check("segments cut to their header, HEAD deleted").await;
    // And the GENESIS file deleted too.
    std::fs::rename(jdir.join("GENESIS"), dir.0.join("GENESIS.saved")).unwrap();
    let reason = check("GENESIS deleted").await;
    assert!(reason.contains("GENESIS"), "{reason}");
    std::fs::rename(dir.0.join("GENESIS.saved"), jdir.join("GENESIS")).unwrap();
    // The segments back, with an older HEAD: one checkpointed after record 3.
    for (p, b) in &saved {
        std::fs::write(p, b).unwrap();
    }
    std::fs::write(jdir.join("HEAD"), &head).unwrap();
    assert!(open_unchecked(&dir.0, &key)
        .await
        .verify_chain()
        .await
        .unwrap()
        .is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_head_fails_verify() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    one_segment(&dir.0, &key, 3).await;
    let jdir = journal_dir(&dir.0);
    let older = std::fs::read(jdir.join("HEAD")).unwrap();
    one_segment(&dir.0, &key, 5).await;
    // The HEAD of an earlier moment put back: records 4..=8 are past it with no writer.
    std::fs::write(jdir.join("HEAD"), &older).unwrap();
    let store = open_unchecked(&dir.0, &key).await;
    let b = store.verify_chain().await.unwrap().first_break.unwrap();
    assert_eq!(b.seq, 4, "{b:?}");
    assert!(b.reason.contains("after its checkpoint"), "{b:?}");
    // Start-up keeps the records past the head (they chain onto it) and checkpoints them:
    // nothing was removed.
    let (w, task) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    drop(w);
    task.await.unwrap();
    let r = store.verify_chain().await.unwrap();
    assert!(r.is_intact() && r.journal_head_seq == 8, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_first_or_middle_segment_fails_verify() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    drop(filled(&dir.0, &key, 60).await);
    let segs = segments(&dir.0);
    assert!(segs.len() >= 4, "{segs:?}");
    for victim in [&segs[0], &segs[segs.len() / 2]] {
        let saved = std::fs::read(victim).unwrap();
        std::fs::remove_file(victim).unwrap();
        let store = open_unchecked(&dir.0, &key).await;
        let r = store.verify_chain().await.unwrap();
        let b = r.first_break.expect("a removed segment must be reported");
        assert!(b.reason.contains("does not continue"), "{b:?}");
        store.close().await;
        std::fs::write(victim, saved).unwrap();
    }
}

/// A record written with `record_durably` is on disk when the call returns, even with a
/// linger far longer than the test: a reopened store (as after `kill -9`) finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durably_recorded_record_is_on_disk_when_the_call_returns() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = open(&dir.0, &key).await;
    let slow = AuditWriterConfig {
        linger: std::time::Duration::from_secs(600),
        ..quick()
    };
    let (writer, _task) = AuditWriter::spawn(store.clone(), slow).unwrap();
    let records = (1..=3)
        .map(|i| rampart_store::EncodedAudit::from(&record(i, t(i64::from(i)))))
        .collect();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        writer.record_durably(records),
    )
    .await
    .expect("not held back by the linger")
    .unwrap();
    // What another process reading the directory sees: whole frames up to the durable end.
    let reader = open_unchecked(&dir.0, &key).await;
    let page = reader
        .lookup_events(&LookupQuery {
            account_id: Some("111111111111".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.events.len(), 3);
}

/// With `durable_answers` off, `record_durably` returns once the records are queued: with a
/// long linger they are not on disk yet (the trade `--audit-queued-answers` makes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_answers_return_before_the_records_are_on_disk() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = open(&dir.0, &key).await;
    let queued = AuditWriterConfig {
        linger: std::time::Duration::from_secs(600),
        durable_answers: false,
        ..quick()
    };
    let (writer, _task) = AuditWriter::spawn(store.clone(), queued).unwrap();
    let records = vec![rampart_store::EncodedAudit::from(&record(1, t(1)))];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        writer.record_durably(records),
    )
    .await
    .expect("queued at once")
    .unwrap();
    let reader = open_unchecked(&dir.0, &key).await;
    let page = reader
        .lookup_events(&LookupQuery {
            account_id: Some("111111111111".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.events.is_empty());
}

/// The journal's sequence numbers `read_stream` returns after `after`, `limit` at most.
async fn stream_seqs(store: &Store, after: i64, limit: usize) -> Vec<i64> {
    let at = rampart_store::StreamPosition {
        table_seq: i64::MAX,
        journal_seq: after,
    };
    let records = store.read_stream(at, limit).await.unwrap();
    records.iter().map(|r| r.event.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_reads_every_record_once_from_any_cursor_across_segments() {
    let dir = temp_dir();
    let key = Arc::new(MasterKey::generate().unwrap());
    let store = filled(&dir.0, &key, 150).await;
    assert!(segments(&dir.0).len() >= 5, "{:?}", segments(&dir.0));
    let all: Vec<i64> = (1..=150).collect();
    // Batches of several sizes: each read starts where a mark, the last read's end or
    // nothing known leaves it.
    for limit in [7usize, 1, 33, 64, 150, 1000] {
        let mut got = Vec::new();
        let mut after = 0;
        loop {
            let batch = stream_seqs(&store, after, limit).await;
            assert!(batch.len() <= limit);
            let Some(last) = batch.last().copied() else {
                break;
            };
            got.extend(batch);
            after = last;
        }
        assert_eq!(got, all, "batches of {limit}");
    }
    // Cursors a consumer may hold that no read ended at.
    for after in [0i64, 5, 31, 32, 33, 95, 96, 149, 150] {
        let expected: Vec<i64> = ((after + 1)..=150.min(after + 10)).collect();
        assert_eq!(
            stream_seqs(&store, after, 10).await,
            expected,
            "after {after}"
        );
    }
    // The lag of a cursor is what remains to read, capped (counted, not read, while this
    // process writes the journal).
    for (after, cap, lag) in [
        (0i64, 1000usize, 150usize),
        (100, 1000, 50),
        (150, 1000, 0),
        (0, 20, 20),
    ] {
        let at = rampart_store::StreamPosition {
            table_seq: i64::MAX,
            journal_seq: after,
        };
        assert_eq!(
            store.stream_lag(at, cap).await.unwrap(),
            lag,
            "after {after}, cap {cap}"
        );
    }
    // After a wipe, the old marks lead nowhere: the new records are read from the start.
    store.wipe_all().await.unwrap();
    store.ensure_audit_genesis(common::ACCOUNT).await.unwrap();
    let (writer, task) = AuditWriter::spawn(store.clone(), quick()).unwrap();
    for i in 1..=40 {
        writer.submit(record(i, t(i64::from(i)))).await.unwrap();
    }
    writer.flush().await.unwrap();
    drop(writer);
    task.await.unwrap();
    assert_eq!(
        stream_seqs(&store, 32, 100).await,
        (33..=40).collect::<Vec<_>>()
    );
    assert_eq!(
        stream_seqs(&store, 0, 100).await,
        (1..=40).collect::<Vec<_>>()
    );
}
