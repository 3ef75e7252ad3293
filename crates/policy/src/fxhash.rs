//! A fast non-cryptographic hasher for the evaluation hot path.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// FxHash (as in rustc): a multiply-rotate hash, several times cheaper than SipHash for the
/// short keys looked up on every evaluation.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(FX_K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let r = chunks.remainder();
        if !r.is_empty() {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(r) {
                *d = *s;
            }
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// FxHash started from a per-process random seed: used for request context keys, which come
/// from callers (tag keys), so bucket placement is not predictable from outside the process.
#[derive(Debug, Clone, Copy)]
pub struct SeededFx(u64);

impl Default for SeededFx {
    fn default() -> SeededFx {
        static SEED: OnceLock<u64> = OnceLock::new();
        SeededFx(*SEED.get_or_init(|| {
            std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1
        }))
    }
}

impl BuildHasher for SeededFx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(self.0)
    }
}
