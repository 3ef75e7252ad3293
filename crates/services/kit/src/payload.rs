//! Bodies that are not small documents: an S3 object's bytes.
//!
//! The pipeline stages an upload on disk (streamed, verified, fsynced) before the handler runs
//! and streams a download after it; the handler sees blob ids, lengths and digests, never HTTP.
//! A blob is an immutable file named by a fresh id under the [`BlobStore`]: a blob nothing
//! references is invisible, so an object becomes visible exactly when the transaction that
//! records its blob commits. The [`Payload`] cell carries, for one call, the staged upload,
//! the download to stream and the blobs to remove once the call's outcome is known.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use crate::blob_cipher::BlobKey;

/// Where blobs live: `<root>/<first two characters of the id>/<id>`, written as
/// `<id>.part` and renamed when complete and durable.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: Arc<PathBuf>,
}

impl BlobStore {
    /// Blobs under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore {
            root: Arc::new(root.into()),
        }
    }

    /// The directory holding every blob.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh blob id (a v7 UUID, simple form: time-ordered, so new blobs fill a directory
    /// in turn).
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().simple().to_string()
    }

    /// The directory of a blob.
    pub fn dir_of(&self, id: &str) -> PathBuf {
        let shard = id.get(..2).unwrap_or("00");
        self.root.join(shard)
    }

    /// The file of a complete blob.
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.dir_of(id).join(id)
    }

    /// The file a blob is written to before it is complete.
    pub fn partial_path_of(&self, id: &str) -> PathBuf {
        self.dir_of(id).join(format!("{id}.part"))
    }

    /// Removes blobs; one already gone is fine, any other failure is logged (the blob is then
    /// unreferenced garbage, never a visible object).
    pub fn remove(&self, ids: &[String]) {
        for id in ids {
            match std::fs::remove_file(self.path_of(id)) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => tracing::warn!(blob = %id, error = %err, "blob not removed"),
            }
        }
    }

    /// Removes complete blobs that `referenced` does not claim and that were last written
    /// before `written_before` (so a blob whose object has not committed yet is left alone);
    /// returns how many. A crash between a blob's rename and its object's commit, or before a
    /// replaced object's blobs were removed, leaves such blobs.
    pub fn sweep_unreferenced(
        &self,
        referenced: impl Fn(&str) -> bool,
        written_before: std::time::SystemTime,
    ) -> std::io::Result<u64> {
        let mut removed = 0;
        let Ok(shards) = std::fs::read_dir(self.root.as_path()) else {
            return Ok(0);
        };
        for shard in shards {
            let shard = shard?.path();
            if !shard.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&shard)? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(id) = name.to_str() else { continue };
                if id.ends_with(".part") || referenced(id) {
                    continue;
                }
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t < written_before);
                if old {
                    match std::fs::remove_file(entry.path()) {
                        Ok(()) => removed += 1,
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                        Err(err) => return Err(err),
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Removes partial blobs left by a crash mid-upload (at start-up, before serving).
    pub fn sweep_partials(&self) -> std::io::Result<u64> {
        let mut removed = 0;
        let Ok(shards) = std::fs::read_dir(self.root.as_path()) else {
            return Ok(0);
        };
        for shard in shards {
            let shard = shard?.path();
            if !shard.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&shard)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "part") {
                    std::fs::remove_file(&path)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// A checksum of an upload: the algorithm as S3 names it in `ChecksumAlgorithm` (`CRC32`,
/// `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`) and its base64 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: String,
    /// The base64 digest.
    pub value: String,
}

/// An upload the pipeline staged: complete, verified and durable, but referenced by nothing
/// yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedBody {
    /// The blob holding the bytes.
    pub blob: String,
    /// Its length in bytes.
    pub len: u64,
    /// Its MD5 digest (the ETag of a single-part object).
    pub md5: [u8; 16],
    /// The checksums the client asked for, verified.
    pub checksums: Vec<Checksum>,
}

/// A stretch of a blob to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The blob.
    pub blob: String,
    /// The first byte to send (of the plaintext).
    pub offset: u64,
    /// How many bytes to send.
    pub len: u64,
    /// The data key the blob is sealed with (see [`crate::blob_cipher`]); `None` for a blob
    /// stored in clear.
    pub key: Option<BlobKey>,
}

/// A response body to stream: the segments, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundBody {
    /// The stretches of blobs, in order (none for a `HEAD`).
    pub segments: Vec<Segment>,
    /// True for a part of the resource (`206 Partial Content`).
    pub partial: bool,
}

impl OutboundBody {
    /// The body's length.
    pub fn len(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// True when nothing is sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Default)]
struct State {
    blobs: Option<BlobStore>,
    sealing: Option<BlobKey>,
    inbound: Option<StagedBody>,
    adopted: bool,
    outbound: Option<OutboundBody>,
    obsolete: Vec<String>,
}

/// The bodies of one call (cheap to clone: shared between the pipeline and the handler's
/// context).
#[derive(Debug, Clone, Default)]
pub struct Payload(Arc<Mutex<State>>);

impl Payload {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A cell for a call served with blobs under `blobs`.
    pub fn with_blobs(blobs: BlobStore) -> Payload {
        let p = Payload::default();
        p.state().blobs = Some(blobs);
        p
    }

    /// The blob store, when the server has one.
    pub fn blobs(&self) -> Option<BlobStore> {
        self.state().blobs.clone()
    }

    /// The data key the upload is to be sealed with, chosen before the body is read.
    pub fn set_sealing_key(&self, key: BlobKey) {
        self.state().sealing = Some(key);
    }

    /// The data key to seal the upload with.
    pub fn sealing_key(&self) -> Option<BlobKey> {
        self.state().sealing.clone()
    }

    /// Hands the staged upload to the handler.
    pub fn set_inbound(&self, body: StagedBody) {
        self.state().inbound = Some(body);
    }

    /// The staged upload, if the call carried one.
    pub fn inbound(&self) -> Option<StagedBody> {
        self.state().inbound.clone()
    }

    /// The handler recorded the staged upload's blob: keep it if the call succeeds.
    pub fn adopt_inbound(&self) {
        self.state().adopted = true;
    }

    /// The handler's response body.
    pub fn set_outbound(&self, body: OutboundBody) {
        self.state().outbound = Some(body);
    }

    /// Blobs the call makes unreferenced: removed once it succeeds (kept if it fails).
    pub fn release_after_commit(&self, blob: String) {
        self.state().obsolete.push(blob);
    }

    /// Ends the call: the response body to stream, after removing what the outcome leaves
    /// unreferenced (the obsolete blobs of a success; the staged upload unless a success
    /// adopted it).
    pub fn settle(&self, succeeded: bool) -> Option<OutboundBody> {
        let mut s = self.state();
        let mut garbage = Vec::new();
        if let Some(inbound) = s.inbound.take() {
            if !(succeeded && s.adopted) {
                garbage.push(inbound.blob);
            }
        }
        let obsolete = std::mem::take(&mut s.obsolete);
        if succeeded {
            garbage.extend(obsolete);
        }
        let outbound = if succeeded { s.outbound.take() } else { None };
        if let Some(blobs) = &s.blobs {
            blobs.remove(&garbage);
        }
        outbound
    }

    /// Forgets what a failed attempt noted, before the handler runs again (a write transaction
    /// retried after a serialization conflict).
    pub fn reset_attempt(&self) {
        let mut s = self.state();
        s.adopted = false;
        s.outbound = None;
        s.obsolete.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(store: &BlobStore, bytes: &[u8]) -> StagedBody {
        let id = BlobStore::new_id();
        std::fs::create_dir_all(store.dir_of(&id)).expect("dir");
        std::fs::write(store.path_of(&id), bytes).expect("write");
        StagedBody {
            blob: id,
            len: bytes.len() as u64,
            md5: [0; 16],
            checksums: vec![],
        }
    }

    fn temp_store() -> BlobStore {
        let dir = std::env::temp_dir().join(format!("rampart-blobs-{}", BlobStore::new_id()));
        BlobStore::new(dir)
    }

    #[test]
    fn a_success_keeps_the_adopted_upload_and_removes_the_obsolete_blob() {
        let store = temp_store();
        let old = staged(&store, b"old");
        let new = staged(&store, b"new");
        let p = Payload::with_blobs(store.clone());
        p.set_inbound(new.clone());
        p.adopt_inbound();
        p.release_after_commit(old.blob.clone());
        assert!(p.settle(true).is_none());
        assert!(store.path_of(&new.blob).exists());
        assert!(!store.path_of(&old.blob).exists());
    }

    #[test]
    fn a_failure_removes_the_upload_and_keeps_what_it_would_have_replaced() {
        let store = temp_store();
        let old = staged(&store, b"old");
        let new = staged(&store, b"new");
        let p = Payload::with_blobs(store.clone());
        p.set_inbound(new.clone());
        p.adopt_inbound();
        p.release_after_commit(old.blob.clone());
        p.set_outbound(OutboundBody::default());
        assert!(p.settle(false).is_none());
        assert!(!store.path_of(&new.blob).exists());
        assert!(store.path_of(&old.blob).exists());
    }

    #[test]
    fn an_upload_nothing_adopted_is_removed_and_partials_are_swept() {
        let store = temp_store();
        let new = staged(&store, b"new");
        let p = Payload::with_blobs(store.clone());
        p.set_inbound(new.clone());
        p.settle(true);
        assert!(!store.path_of(&new.blob).exists());
        let partial = BlobStore::new_id();
        std::fs::create_dir_all(store.dir_of(&partial)).expect("dir");
        std::fs::write(store.partial_path_of(&partial), b"half").expect("write");
        assert_eq!(store.sweep_partials().expect("sweep"), 1);
        assert!(!store.partial_path_of(&partial).exists());
    }
}
