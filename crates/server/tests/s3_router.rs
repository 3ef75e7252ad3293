//! S3 uploads through the in-process router in every payload form the SDKs send: a signed
//! SHA-256, `UNSIGNED-PAYLOAD`, `aws-chunked` with every chunk signed (and a tampered chunk
//! refused), and unsigned chunks with a CRC32 trailer (and a wrong checksum refused); a
//! refused body leaves no object and no blob behind, and an object over the size limit is
//! refused as it streams.

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

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Request, StatusCode},
    Router,
};
use chrono::Utc;
use http_body_util::BodyExt;
use rampart::{
    app::{router, App, Started},
    config::ServeConfig,
};
use rampart_sigv4::{
    canonical::sha256_hex, sign_chunked, sign_with_payload_hash, ChecksumAlgorithm, ChunkSigner,
    ChunkedMode, CredentialScope, RequestParts, SecretKey, SigningKey, SigningParams,
};
use tower::ServiceExt;

const REGION: &str = "us-east-1";

struct Harness {
    _dir: tempfile::TempDir,
    started: Started,
    router: Router,
    key: String,
    secret: String,
}

async fn harness(max_object_bytes: u64) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ServeConfig {
        max_object_bytes,
        ..ServeConfig::new(dir.path().to_path_buf())
    };
    let started = App::start(config).await.expect("start");
    let router = router(started.app.clone());
    let text = std::fs::read_to_string(&started.boot.credentials_file).expect("creds");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .expect("field")
            .to_string()
    };
    let key = field("aws_access_key_id = ");
    let secret = field("aws_secret_access_key = ");
    Harness {
        _dir: dir,
        started,
        router,
        key,
        secret,
    }
}

/// A request to send: method, path, extra headers and body, signed with `payload` as the
/// payload line.
struct Call<'a> {
    method: &'a str,
    path: &'a str,
    headers: Vec<(&'a str, String)>,
    body: Vec<u8>,
}

impl Harness {
    fn params<'a>(
        &'a self,
        secret: &'a SecretKey,
        time: chrono::DateTime<Utc>,
    ) -> SigningParams<'a> {
        SigningParams {
            access_key_id: &self.key,
            secret,
            region: REGION,
            service: "s3",
            time,
            security_token: None,
        }
    }

    /// Signs `call` with `payload` as its payload line (also sent as `x-amz-content-sha256`);
    /// returns the request and its seed signature.
    fn signed(
        &self,
        call: &Call<'_>,
        payload: &str,
    ) -> (Request<Body>, String, chrono::DateTime<Utc>) {
        let now = Utc::now();
        let mut owned: Vec<(String, String)> = vec![
            ("host".into(), "localhost".into()),
            ("x-amz-content-sha256".into(), payload.into()),
        ];
        owned.extend(call.headers.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let headers: Vec<(&str, &[u8])> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        let parts = RequestParts {
            method: call.method,
            path: call.path,
            query: "",
            headers: &headers,
            body: &[],
        };
        let secret = SecretKey::from(self.secret.as_str());
        let signed =
            sign_with_payload_hash(&parts, &self.params(&secret, now), payload).expect("sign");
        let mut req = Request::builder().method(call.method).uri(call.path);
        for (k, v) in &owned {
            req = req.header(k.as_str(), v.as_str());
        }
        req = req
            .header("authorization", &signed.authorization)
            .header("x-amz-date", &signed.x_amz_date);
        let seed = signed
            .authorization
            .rsplit("Signature=")
            .next()
            .expect("signature")
            .to_string();
        (
            req.body(Body::from(call.body.clone())).expect("request"),
            seed,
            now,
        )
    }

    async fn send(&self, mut req: Request<Body>) -> (StatusCode, Vec<u8>) {
        let peer: SocketAddr = "127.0.0.1:9".parse().expect("peer");
        req.extensions_mut().insert(ConnectInfo(peer));
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, bytes.to_vec())
    }

    async fn call(&self, call: Call<'_>) -> (StatusCode, Vec<u8>) {
        let payload = sha256_hex(&call.body);
        let (req, _, _) = self.signed(&call, &payload);
        self.send(req).await
    }

    async fn create_bucket(&self, name: &str) {
        let path = format!("/{name}");
        let (status, body) = self
            .call(Call {
                method: "PUT",
                path: &path,
                headers: vec![],
                body: vec![],
            })
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }

    async fn get(&self, path: &str) -> (StatusCode, Vec<u8>) {
        self.call(Call {
            method: "GET",
            path,
            headers: vec![],
            body: vec![],
        })
        .await
    }

    fn blob_count(&self) -> usize {
        let root = self.started.app.blobs.root().to_path_buf();
        let Ok(shards) = std::fs::read_dir(root) else {
            return 0;
        };
        shards
            .flatten()
            .map(|s| std::fs::read_dir(s.path()).map(|d| d.count()).unwrap_or(0))
            .sum()
    }

    /// A chunked upload of `data` with every chunk signed; `tamper` flips a byte of the
    /// encoded body first.
    async fn put_chunked(
        &self,
        path: &str,
        data: &[u8],
        tamper: Option<usize>,
    ) -> (StatusCode, Vec<u8>) {
        let form = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
        let headers = vec![
            ("content-encoding", "aws-chunked".to_string()),
            ("x-amz-decoded-content-length", data.len().to_string()),
        ];
        let call = Call {
            method: "PUT",
            path,
            headers,
            body: vec![],
        };
        let (req, seed, time) = self.signed(&call, form);
        let secret = SecretKey::from(self.secret.as_str());
        let scope = CredentialScope {
            date: time.format("%Y%m%d").to_string(),
            region: REGION.into(),
            service: "s3".into(),
        };
        let key = SigningKey::for_scope(&secret, &scope);
        let mut seed_bytes = [0u8; 32];
        hex::decode_to_slice(&seed, &mut seed_bytes).expect("seed");
        let signer = ChunkSigner::new(
            seed_bytes,
            key,
            time.format("%Y%m%dT%H%M%SZ").to_string(),
            scope.to_scope_string(),
        );
        let mut body = sign_chunked(
            ChunkedMode::Signed {
                signer,
                trailer: false,
            },
            data,
            64 * 1024,
            &[],
        );
        if let Some(at) = tamper {
            let i = body.len() - at;
            body[i] ^= 1;
        }
        let (parts, _) = req.into_parts();
        self.send(Request::from_parts(parts, Body::from(body)))
            .await
    }
}

#[tokio::test]
async fn uploads_in_every_payload_form_are_verified_as_they_stream() {
    let h = harness(1024 * 1024).await;
    h.create_bucket("forms").await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();

    // A signed SHA-256 payload.
    let (status, body) = h
        .call(Call {
            method: "PUT",
            path: "/forms/sha",
            headers: vec![],
            body: data.clone(),
        })
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(h.get("/forms/sha").await, (StatusCode::OK, data.clone()));

    // A hash that is not the body's.
    let call = Call {
        method: "PUT",
        path: "/forms/lie",
        headers: vec![],
        body: data.clone(),
    };
    let (req, _, _) = h.signed(&call, &sha256_hex(b"something else"));
    let (status, body) = h.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("XAmzContentSHA256Mismatch"));
    assert_eq!(h.get("/forms/lie").await.0, StatusCode::NOT_FOUND);

    // UNSIGNED-PAYLOAD.
    let call = Call {
        method: "PUT",
        path: "/forms/unsigned",
        headers: vec![],
        body: data.clone(),
    };
    let (req, _, _) = h.signed(&call, "UNSIGNED-PAYLOAD");
    assert_eq!(h.send(req).await.0, StatusCode::OK);
    assert_eq!(
        h.get("/forms/unsigned").await,
        (StatusCode::OK, data.clone())
    );

    // Every chunk signed.
    let (status, body) = h.put_chunked("/forms/chunked", &data, None).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        h.get("/forms/chunked").await,
        (StatusCode::OK, data.clone())
    );

    // A flipped byte in the middle of the data fails its chunk's signature; nothing stays.
    let blobs = h.blob_count();
    let (status, body) = h
        .put_chunked("/forms/tampered", &data, Some(data.len() / 2))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("SignatureDoesNotMatch"));
    assert_eq!(h.get("/forms/tampered").await.0, StatusCode::NOT_FOUND);
    assert_eq!(h.blob_count(), blobs, "a refused upload leaves no blob");

    // Unsigned chunks with a CRC32 trailer, right and wrong.
    let crc = ChecksumAlgorithm::Crc32.checksum_base64(&data);
    for (value, ok) in [(crc.as_str(), true), ("AAAAAA==", false)] {
        let headers = vec![
            ("content-encoding", "aws-chunked".to_string()),
            ("x-amz-decoded-content-length", data.len().to_string()),
            ("x-amz-trailer", "x-amz-checksum-crc32".to_string()),
            ("x-amz-sdk-checksum-algorithm", "CRC32".to_string()),
        ];
        let call = Call {
            method: "PUT",
            path: "/forms/trailer",
            headers,
            body: vec![],
        };
        let (req, _, _) = h.signed(&call, "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
        let body = sign_chunked(
            ChunkedMode::UnsignedTrailer,
            &data,
            64 * 1024,
            &[("x-amz-checksum-crc32", value)],
        );
        let (parts, _) = req.into_parts();
        let (status, text) = h.send(Request::from_parts(parts, Body::from(body))).await;
        if ok {
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&text));
            assert_eq!(
                h.get("/forms/trailer").await,
                (StatusCode::OK, data.clone())
            );
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(String::from_utf8_lossy(&text).contains("BadDigest"));
        }
    }
}

#[tokio::test]
async fn an_object_over_the_limit_is_refused_while_it_streams() {
    let h = harness(100_000).await;
    h.create_bucket("limits").await;
    let (status, body) = h
        .call(Call {
            method: "PUT",
            path: "/limits/big",
            headers: vec![],
            body: vec![7; 100_001],
        })
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("EntityTooLarge"));
    assert_eq!(h.get("/limits/big").await.0, StatusCode::NOT_FOUND);
    let (status, _) = h
        .call(Call {
            method: "PUT",
            path: "/limits/fits",
            headers: vec![],
            body: vec![7; 100_000],
        })
        .await;
    assert_eq!(status, StatusCode::OK);
}
