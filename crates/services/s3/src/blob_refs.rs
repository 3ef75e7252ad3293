//! The blobs S3 still references: every piece of every object and version, and every part of
//! an upload in progress, across all accounts. The blob sweep (server job `s3-blob-sweep`)
//! removes the others.
//!
//! The set holds 64-bit hashes of the ids rather than the ids (8 bytes an entry instead of
//! about 60): a collision only keeps a blob that could have gone.

use std::{
    collections::HashSet,
    hash::{DefaultHasher, Hash, Hasher},
};

use rampart_store::Store;
use serde_json::Value;

use crate::{
    error::S3Result,
    repo::{OBJECT, PART, VERSION},
};

/// Rows read per page.
const PAGE: u32 = 1000;

/// Hashes of the referenced blob ids.
#[derive(Debug, Default)]
pub struct BlobRefs(HashSet<u64>);

fn hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl BlobRefs {
    /// Whether `id` may be referenced.
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(&hash(id))
    }

    fn add_doc(&mut self, doc: &str) {
        let Ok(v) = serde_json::from_str::<Value>(doc) else {
            return;
        };
        if let Some(blob) = v.get("blob").and_then(Value::as_str) {
            self.0.insert(hash(blob));
        }
        for piece in v
            .get("pieces")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(blob) = piece.get("blob").and_then(Value::as_str) {
                self.0.insert(hash(blob));
            }
        }
    }
}

/// Reads every reference from the store.
pub async fn collect(store: &Store) -> S3Result<BlobRefs> {
    let mut refs = BlobRefs::default();
    let mut after_account: Option<String> = None;
    loop {
        let accounts = store
            .accounts()
            .list(after_account.as_deref(), PAGE)
            .await?;
        for account in &accounts {
            for kind in [OBJECT, VERSION, PART] {
                let mut after: Option<String> = None;
                loop {
                    let page = store
                        .entities()
                        .list(&account.id, kind, "", after.as_deref(), PAGE)
                        .await?;
                    for e in &page.items {
                        refs.add_doc(&e.doc);
                    }
                    if !page.truncated {
                        break;
                    }
                    after = page.items.last().map(|e| e.name_key.clone());
                }
            }
        }
        if accounts.len() < PAGE as usize {
            return Ok(refs);
        }
        after_account = accounts.last().map(|a| a.id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_pieces_and_parts_are_referenced() {
        let mut refs = BlobRefs::default();
        refs.add_doc(r#"{"pieces":[{"blob":"a","len":1},{"blob":"b","len":2}]}"#);
        refs.add_doc(r#"{"blob":"c","len":3,"etag":"x"}"#);
        assert!(refs.contains("a") && refs.contains("b") && refs.contains("c"));
        assert!(!refs.contains("d"));
    }
}
