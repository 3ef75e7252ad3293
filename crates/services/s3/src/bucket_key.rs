//! S3 Bucket Keys: an SSE-KMS object whose encryption asks for `BucketKeyEnabled` gets its data
//! key derived (HKDF-SHA256 with a random salt per object) from a bucket-level key that KMS
//! generated for the bucket (encryption context `aws:s3:arn` = the bucket's ARN, as AWS
//! uses), instead of a `GenerateDataKey` per object; a read opens the bucket-level key with
//! `Decrypt` instead of one call per object.
//!
//! Plaintext bucket-level keys are kept in memory for [`TTL`], per caller, as AWS does ("S3
//! shares a bucket key only among requests of the same IAM principal"): a caller's first use
//! goes through KMS and the one authorizer, so a caller without rights on the KMS key is
//! refused, while a caller whose rights are revoked keeps using the cached key until it
//! expires. AWS documents the same trade (fewer KMS calls against a time-limited key).

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock, PoisonError},
    time::{Duration, Instant},
};

use rampart_kit::blob_cipher::BlobKey;

/// How long a bucket-level key is used after KMS gave it out.
pub const TTL: Duration = Duration::from_secs(300);

/// Entries kept at most; past that, expired ones go, and if none had, all of them.
const CAPACITY: usize = 4096;

/// What a cached bucket-level key is found by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Writing: the key KMS was asked for (as named), the bucket and the extra context.
    Write {
        /// `Store::instance`.
        store: u64,
        /// The caller's ARN.
        principal: String,
        /// The KMS key as the request (or the bucket's default) named it.
        kms_key: String,
        /// The bucket.
        bucket: String,
        /// The encryption context, as JSON text.
        context: String,
    },
    /// Reading: the bucket-level key's KMS ciphertext.
    Read {
        /// `Store::instance`.
        store: u64,
        /// The caller's ARN.
        principal: String,
        /// The ciphertext stored with the objects.
        ciphertext: String,
    },
}

/// A bucket-level key.
#[derive(Debug, Clone)]
pub struct BucketKey {
    /// The plaintext key.
    pub plain: BlobKey,
    /// KMS's ciphertext of it (stored with each object).
    pub ciphertext: String,
    /// The KMS key's ARN.
    pub kms_key_arn: Option<String>,
}

struct Entry {
    key: BucketKey,
    until: Instant,
}

fn cache() -> &'static Mutex<HashMap<Slot, Entry>> {
    static CACHE: OnceLock<Mutex<HashMap<Slot, Entry>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The cached key in `slot`, if it has not expired.
pub fn get(slot: &Slot) -> Option<BucketKey> {
    let map = cache().lock().unwrap_or_else(PoisonError::into_inner);
    map.get(slot)
        .filter(|e| e.until > Instant::now())
        .map(|e| e.key.clone())
}

/// Keeps `key` in `slot` for [`TTL`].
pub fn put(slot: Slot, key: BucketKey) {
    let now = Instant::now();
    let mut map = cache().lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= CAPACITY {
        map.retain(|_, e| e.until > now);
        if map.len() >= CAPACITY {
            map.clear();
        }
    }
    map.insert(
        slot,
        Entry {
            key,
            until: now + TTL,
        },
    );
}

/// The derivation label of an object's data key: bound to the object's name, so a key
/// derived for one object does not open another's blobs even with the same salt.
pub fn info(bucket: &str, key: &str) -> Vec<u8> {
    format!("rampart s3 object data key\0{bucket}/{key}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_slot(principal: &str) -> Slot {
        Slot::Read {
            store: 1,
            principal: principal.into(),
            ciphertext: "c".into(),
        }
    }

    #[test]
    fn keys_are_kept_per_principal() {
        let key = BucketKey {
            plain: BlobKey::generate().expect("key"),
            ciphertext: "c".into(),
            kms_key_arn: None,
        };
        put(read_slot("arn:aws:iam::1:user/a"), key.clone());
        assert_eq!(
            get(&read_slot("arn:aws:iam::1:user/a")).map(|k| k.plain),
            Some(key.plain)
        );
        assert!(get(&read_slot("arn:aws:iam::1:user/b")).is_none());
    }
}
