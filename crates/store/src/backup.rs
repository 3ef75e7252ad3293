//! Consistent online copies of an embedded store, taken while its server runs: the database
//! through `VACUUM INTO` (one read transaction, so the copy is one committed state with the
//! WAL folded in), and the audit journal up to its checkpointed head.
//!
//! The journal is copied head first: the head is read (and authenticated), then each segment
//! is copied up to the record the head names, so the copy ends exactly at its head and
//! verifies, while the server keeps appending after it. Records written after the head was
//! read are not in the copy.

use std::io::{Read, Write};
use std::path::Path;

use sqlx::{ConnectOptions, Connection};

use crate::config::StoreConfig;
use crate::crypto::MasterKey;
use crate::error::{Result, StoreError};
use crate::journal::frame::RecordView;
use crate::journal::segment_reader::SegmentReader;
use crate::journal::{
    create_private, io_err, list_segments, segment_path, Genesis, Head, GENESIS_FILE,
};

/// What a backup copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// The journal's checkpointed record the copy ends at (0 without one).
    pub journal_head_seq: i64,
    /// Journal segments copied.
    pub segments: usize,
}

/// Copies the embedded database at `db` to `dest_db` (which must not exist) and its audit
/// journal beside it.
pub async fn backup_embedded(db: &Path, dest_db: &Path, key: &MasterKey) -> Result<BackupReport> {
    let report = copy_journal(
        &StoreConfig::journal_dir(db),
        &StoreConfig::journal_dir(dest_db),
        key,
    )?;
    vacuum_into(db, dest_db).await?;
    Ok(report)
}

/// `VACUUM INTO` on a read-only connection: a consistent copy of the last committed state.
async fn vacuum_into(db: &Path, dest: &Path) -> Result<()> {
    if !db.exists() {
        return Err(StoreError::Database(format!(
            "{} does not exist",
            db.display()
        )));
    }
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await?;
    let target = dest
        .to_str()
        .ok_or_else(|| StoreError::InvalidInput("the backup path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    restrict(dest)
}

fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err(path, e))
}

/// Copies the journal in `src` to `dest`: genesis, then the head, then each segment up to the
/// head's record (and the summaries of segments copied whole).
fn copy_journal(src: &Path, dest: &Path, key: &MasterKey) -> Result<BackupReport> {
    let mut report = BackupReport::default();
    if !src.exists() {
        return Ok(report);
    }
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dest)
            .map_err(|e| io_err(dest, e))?;
    }
    let genesis = Genesis::load(src)?;
    if genesis.is_some() {
        copy_prefix(&src.join(GENESIS_FILE), &dest.join(GENESIS_FILE), None)?;
    }
    let account = genesis.as_ref().map(|g| g.account_id.as_str());
    let head = match Head::load_slots(src)? {
        Some(slots) => Some(Head::best(&slots, key, account).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the audit journal's HEAD in {} does not verify under the master key",
                src.display()
            ))
        })?),
        None => None,
    };
    // Without a head (a journal from before anchors), whatever whole frames there are.
    let upto = head.as_ref().map_or(i64::MAX, |h| h.seq);
    report.journal_head_seq = head.as_ref().map_or(0, |h| h.seq);
    for (first, path) in list_segments(src)? {
        if first > upto.saturating_add(1) {
            break;
        }
        let (len, whole) = prefix_upto(&path, upto)?;
        let target = segment_path(dest, first);
        copy_prefix(&path, &target, Some(len))?;
        let sum = path.with_extension("sum");
        if whole && sum.exists() {
            copy_prefix(&sum, &target.with_extension("sum"), None)?;
        }
        report.segments += 1;
    }
    if let Some(h) = head {
        h.store_file(dest)?;
    }
    Ok(report)
}

/// How many bytes of a segment hold its header and records up to `upto`, and whether that is
/// the whole file.
fn prefix_upto(path: &Path, upto: i64) -> Result<(u64, bool)> {
    let mut reader = SegmentReader::open(path, None)?;
    let mut end = reader.pos();
    while let Some((payload, _)) = reader.next_frame()? {
        match RecordView::parse(payload) {
            Ok(r) if r.seq <= upto => end = reader.pos(),
            _ => return Ok((end, false)),
        }
    }
    Ok((end, reader.at_end()))
}

/// Copies `src` (its first `len` bytes, if given) to a new owner-only file, durably.
fn copy_prefix(src: &Path, dest: &Path, len: Option<u64>) -> Result<()> {
    let file = std::fs::File::open(src).map_err(|e| io_err(src, e))?;
    let mut input: Box<dyn Read> = match len {
        Some(n) => Box::new(file.take(n)),
        None => Box::new(file),
    };
    let mut out = create_private(dest).map_err(|e| io_err(dest, e))?;
    std::io::copy(&mut input, &mut out)
        .and_then(|_| out.flush())
        .and_then(|()| out.sync_all())
        .map_err(|e| io_err(dest, e))?;
    Ok(())
}
