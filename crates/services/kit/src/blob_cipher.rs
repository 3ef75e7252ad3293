//! Object bytes encrypted at rest: each blob is a run of segments of up to 64 KiB of
//! plaintext, each sealed with AES-256-GCM under the object's data key (16-byte tag after
//! each segment). A segment's nonce is 8 bytes derived from the blob id and its index as a
//! 4-byte counter, and the blob id is its additional data, so segments can neither be reordered
//! nor moved to another blob; a range is read by opening only the segments it covers.

use std::sync::Arc;

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN},
    digest,
    rand::{SecureRandom, SystemRandom},
};
use zeroize::Zeroizing;

/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
/// The tag after each segment.
pub const TAG: usize = 16;

/// A segment does not open: the blob was changed or the key is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an object segment does not authenticate")]
pub struct Unauthentic;

/// An object's 256-bit data key (cheap to clone; zeroized when the last copy drops).
#[derive(Clone)]
pub struct BlobKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobKey(***)")
    }
}

impl PartialEq for BlobKey {
    fn eq(&self, other: &BlobKey) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_slice().ct_eq(other.0.as_slice()))
    }
}

impl Eq for BlobKey {}

impl BlobKey {
    /// A fresh random key; `None` if the system's generator fails.
    pub fn generate() -> Option<BlobKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new().fill(bytes.as_mut()).ok()?;
        Some(BlobKey(Arc::new(bytes)))
    }

    /// The key with these bytes (a data key KMS or the master key gave back); `None` unless
    /// 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<BlobKey> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(BlobKey(Arc::new(Zeroizing::new(array))))
    }

    /// The raw key, for sealing it under a key-encryption key.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key derived from this one with HKDF-SHA256 (`salt` random per derived key, `info`
    /// naming what it is for): S3 Bucket Keys derive each object's data key this way from the
    /// bucket-level key. `None` only if the derivation fails.
    pub fn derive(&self, salt: &[u8], info: &[u8]) -> Option<BlobKey> {
        use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
        struct Len32;
        impl aws_lc_rs::hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = Salt::new(HKDF_SHA256, salt).extract(self.0.as_slice());
        let info = [info];
        let okm = prk.expand(&info, Len32).ok()?;
        let mut out = Zeroizing::new([0u8; 32]);
        okm.fill(out.as_mut()).ok()?;
        Some(BlobKey(Arc::new(out)))
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always a valid AES-256 key.
        let unbound =
            UnboundKey::new(&AES_256_GCM, self.0.as_slice()).unwrap_or_else(|_| unreachable_key());
        LessSafeKey::new(unbound)
    }
}

#[expect(
    clippy::unreachable,
    reason = "UnboundKey::new fails only for a key of the wrong length; ours is 32 bytes by type"
)]
fn unreachable_key() -> UnboundKey {
    unreachable!("AES-256 key of 32 bytes rejected")
}

/// The length a blob of `plain` plaintext bytes takes on disk.
pub fn sealed_len(plain: u64) -> u64 {
    plain + plain.div_ceil(SEGMENT as u64) * TAG as u64
}

/// Seals or opens the segments of one blob.
pub struct BlobCipher {
    key: LessSafeKey,
    prefix: [u8; 8],
    aad: Vec<u8>,
}

impl BlobCipher {
    /// The cipher of blob `blob` under `key`.
    pub fn new(key: &BlobKey, blob: &str) -> BlobCipher {
        let hash = digest::digest(&digest::SHA256, blob.as_bytes());
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(hash.as_ref().get(..8).unwrap_or(&[0; 8]));
        BlobCipher {
            key: key.aead(),
            prefix,
            aad: blob.as_bytes().to_vec(),
        }
    }

    fn nonce(&self, index: u64) -> Result<Nonce, Unauthentic> {
        let counter = u32::try_from(index).map_err(|_| Unauthentic)?;
        let mut n = [0u8; NONCE_LEN];
        let counter = counter.to_be_bytes();
        let parts = self.prefix.iter().chain(counter.iter());
        for (slot, byte) in n.iter_mut().zip(parts) {
            *slot = *byte;
        }
        Ok(Nonce::assume_unique_for_key(n))
    }

    /// Seals segment `index` (at most [`SEGMENT`] bytes) in place, appending its tag.
    pub fn seal(&self, index: u64, segment: &mut Vec<u8>) -> Result<(), Unauthentic> {
        let nonce = self.nonce(index)?;
        self.key
            .seal_in_place_append_tag(nonce, Aad::from(self.aad.as_slice()), segment)
            .map_err(|_| Unauthentic)
    }

    /// Seals segment `index`, the bytes of `buf` from `start` on (at most [`SEGMENT`]), in
    /// place, appending its tag: a run of segments is sealed into one buffer without a copy.
    pub fn seal_tail(
        &self,
        index: u64,
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), Unauthentic> {
        let nonce = self.nonce(index)?;
        let segment = buf.get_mut(start..).ok_or(Unauthentic)?;
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(self.aad.as_slice()), segment)
            .map_err(|_| Unauthentic)?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Opens segment `index` (its bytes and tag, the whole of `sealed`) in place; returns the
    /// plaintext's length (it is at the start of `sealed`).
    pub fn open_slice(&self, index: u64, sealed: &mut [u8]) -> Result<usize, Unauthentic> {
        let nonce = self.nonce(index)?;
        self.key
            .open_in_place(nonce, Aad::from(self.aad.as_slice()), sealed)
            .map(|plain| plain.len())
            .map_err(|_| Unauthentic)
    }

    /// Opens segment `index` (its bytes and tag) in place, leaving the plaintext.
    pub fn open(&self, index: u64, sealed: &mut Vec<u8>) -> Result<(), Unauthentic> {
        let nonce = self.nonce(index)?;
        let len = self
            .key
            .open_in_place(nonce, Aad::from(self.aad.as_slice()), sealed)
            .map_err(|_| Unauthentic)?
            .len();
        sealed.truncate(len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_a_tail_equals_sealing_the_segment() {
        let key = BlobKey::generate().expect("key");
        let cipher = BlobCipher::new(&key, "blob");
        let mut alone = b"segment bytes".to_vec();
        cipher.seal(3, &mut alone).expect("seal");
        let mut run = b"head".to_vec();
        run.extend_from_slice(b"segment bytes");
        cipher.seal_tail(3, &mut run, 4).expect("seal tail");
        assert_eq!(run.get(4..), Some(alone.as_slice()));
    }

    #[test]
    fn derived_keys_depend_on_salt_and_info() {
        let k = BlobKey::generate().expect("key");
        let a = k.derive(b"salt-1", b"a").expect("derive");
        assert_eq!(a, k.derive(b"salt-1", b"a").expect("derive"));
        assert_ne!(a, k.derive(b"salt-2", b"a").expect("derive"));
        assert_ne!(a, k.derive(b"salt-1", b"b").expect("derive"));
        assert_ne!(a, k);
    }

    #[test]
    fn segments_round_trip_and_are_bound_to_blob_and_index() {
        let key = BlobKey::generate().expect("key");
        let c = BlobCipher::new(&key, "blob-a");
        let mut s = b"hello".to_vec();
        c.seal(3, &mut s).expect("seal");
        assert_eq!(s.len(), 5 + TAG);
        let mut wrong_index = s.clone();
        assert!(c.open(4, &mut wrong_index).is_err());
        let mut wrong_blob = s.clone();
        assert!(BlobCipher::new(&key, "blob-b")
            .open(3, &mut wrong_blob)
            .is_err());
        let other = BlobKey::generate().expect("key");
        let mut wrong_key = s.clone();
        assert!(BlobCipher::new(&other, "blob-a")
            .open(3, &mut wrong_key)
            .is_err());
        let mut flipped = s.clone();
        flipped[0] ^= 1;
        assert!(c.open(3, &mut flipped).is_err());
        c.open(3, &mut s).expect("open");
        assert_eq!(s, b"hello");
    }

    #[test]
    fn sealed_lengths_count_one_tag_per_segment() {
        assert_eq!(sealed_len(0), 0);
        assert_eq!(sealed_len(1), 1 + 16);
        assert_eq!(sealed_len(SEGMENT as u64), SEGMENT as u64 + 16);
        assert_eq!(sealed_len(SEGMENT as u64 + 1), SEGMENT as u64 + 1 + 32);
    }
}
