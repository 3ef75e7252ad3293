//! Throughput of the streaming body path: decoding a signed `aws-chunked` body (64 KiB chunks,
//! fed in 16 KiB frames as a socket would) and the S3 checksums over 1 MiB.

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

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rampart_sigv4::{
    sign_chunked, ChecksumAlgorithm, ChunkSigner, ChunkedDecoder, ChunkedMode, SigningKey,
};

const MIB: usize = 1 << 20;

fn mode(signed: bool) -> ChunkedMode {
    if !signed {
        return ChunkedMode::UnsignedTrailer;
    }
    ChunkedMode::Signed {
        signer: ChunkSigner::new(
            [3; 32],
            SigningKey::from_bytes([5; 32]),
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
        ),
        trailer: false,
    }
}

fn bench(c: &mut Criterion) {
    let data: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let mut g = c.benchmark_group("aws_chunked_1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    for signed in [true, false] {
        let body = sign_chunked(mode(signed), &data, 64 * 1024, &[]);
        let name = if signed { "signed" } else { "unsigned" };
        let mut out = Vec::with_capacity(MIB);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut d = ChunkedDecoder::new(mode(signed));
                for frame in body.chunks(16 * 1024) {
                    d.push(frame, &mut out).unwrap();
                }
                black_box(d.finish().unwrap());
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("checksum_1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    for alg in ChecksumAlgorithm::ALL {
        g.bench_function(alg.as_str(), |b| {
            b.iter(|| black_box(alg.checksum_base64(&data)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
