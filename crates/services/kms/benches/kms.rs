//! The in-process KMS encrypt/decrypt path for 1 MiB payloads: open the key's material sealed
//! under the master key, then AES-256-GCM with the ciphertext header and encryption context as
//! AAD (what `Encrypt`/`Decrypt` do once the key is loaded), reported as bytes per second.

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

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rampart_kms::crypto::{self, KeySpec};
use rampart_store::{aad_for, MasterKey};

fn bench(c: &mut Criterion) {
    let master = MasterKey::generate().expect("master key");
    let material = crypto::generate(KeySpec::SymmetricDefault).expect("material");
    let aad = aad_for("kms:key", "material", "bench");
    let sealed = master.seal(&aad, &material).expect("seal");
    let header = crypto::header("1234abcd-12ab-34cd-56ef-1234567890ab", &[9; 32]).expect("header");
    let context: BTreeMap<String, String> = [("purpose".to_string(), "bench".to_string())]
        .into_iter()
        .collect();
    let ctx = crypto::canonical_context(&context);
    let payload = vec![0x5au8; 1 << 20];
    let blob = crypto::encrypt_symmetric(&material, &header, &ctx, &payload).expect("encrypt");

    let mut g = c.benchmark_group("kms_1MiB");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("encrypt", |b| {
        b.iter(|| {
            let m = master.open(&aad, &sealed).expect("open");
            crypto::encrypt_symmetric(&m, &header, &ctx, &payload).expect("encrypt")
        })
    });
    g.bench_function("decrypt", |b| {
        b.iter(|| {
            let m = master.open(&aad, &sealed).expect("open");
            crypto::decrypt_symmetric(&m, &blob, &ctx).expect("decrypt")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
