//! The server's own CPU per call, without sockets: the same router the binary serves, driven
//! in process by many concurrent callers, for the trivial route (`GET /_rampart/live`) and a
//! pre-signed STS `GetCallerIdentity` (SigV4 verified in full, authorization entry, handler,
//! XML, audit record through the journal). What the load benchmark (`bench/load.sh`) cannot
//! separate: the kernel's TCP work and the load generator sharing the two cores.
//!
//! CPU is the whole process's (every thread: workers, the journal's blocking writes), read
//! from `/proc/self/stat` around each run, after the audit trail is flushed. Wall-clock
//! throughput is printed too but is secondary.
//!
//! Run: `cargo bench -p rampart --bench request_path [-- calls]`

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

use std::{net::SocketAddr, sync::Arc, time::Instant};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Request, StatusCode},
    Router,
};
use chrono::Utc;
use http_body_util::BodyExt;
use rampart::{
    app::{router, App},
    config::ServeConfig,
};
use rampart_sigv4::{sign, RequestParts, SecretKey, SigningParams};
use tower::ServiceExt;

/// mimalloc, as the binary uses, counting allocations (one relaxed atomic add each).
struct Counting;

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Counting is on only for the dedicated counting runs (a shared counter bumped by both
/// cores would slow the timed runs).
static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn count() {
    if COUNTING.load(std::sync::atomic::Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to mimalloc; only a counter is added.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed on as is.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Concurrent callers, as the load benchmark's connections.
const CALLERS: usize = 64;

const FORM: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Headers of a request as a client sends them (name, value).
type Headers = Vec<(String, String)>;

fn signed_headers(key: &str, secret: &str) -> Headers {
    let base: [(&str, &[u8]); 2] = [
        ("host", b"127.0.0.1:4566"),
        ("content-type", CONTENT_TYPE.as_bytes()),
    ];
    let secret = SecretKey::from(secret);
    let signed = sign(
        &RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &base,
            body: FORM.as_bytes(),
        },
        &SigningParams {
            access_key_id: key,
            secret: &secret,
            region: "us-east-1",
            service: "sts",
            time: Utc::now(),
            security_token: None,
        },
    )
    .expect("sign");
    let mut headers: Headers = base
        .iter()
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    headers.push(("user-agent".into(), "aws-cli/2.15.0 bench".into()));
    headers.push(("content-length".into(), FORM.len().to_string()));
    for (n, v) in signed.headers() {
        headers.push((n.to_string(), v.to_string()));
    }
    headers
}

fn request(signed: Option<&Headers>) -> Request<Body> {
    let peer: SocketAddr = "127.0.0.1:9".parse().expect("peer");
    let mut req = match signed {
        None => Request::get("/_rampart/live")
            .header("host", "127.0.0.1:4566")
            .body(Body::empty()),
        Some(headers) => {
            let mut b = Request::post("/");
            for (n, v) in headers {
                b = b.header(n.as_str(), v.as_str());
            }
            b.body(Body::from(FORM))
        }
    }
    .expect("request");
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

/// User plus system CPU time of this process, in seconds.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    // CLK_TCK is 100 on Linux.
    ticks / 100.0
}

/// Allocations per call (request building included), counted over a short untimed run.
async fn allocations_per_call(router: &Router, app: &Arc<App>, signed: Option<&Headers>) -> f64 {
    let calls = CALLERS * 100;
    COUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
    let before = allocations();
    run(router, app, signed, calls).await;
    COUNTING.store(false, std::sync::atomic::Ordering::Relaxed);
    (allocations() - before) as f64 / calls as f64
}

/// One measured run: CPU microseconds per call and calls per second.
async fn run(
    router: &Router,
    app: &Arc<App>,
    signed: Option<&Headers>,
    calls: usize,
) -> (f64, f64) {
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    let per = calls / CALLERS;
    let mut tasks = Vec::new();
    for _ in 0..CALLERS {
        let router = router.clone();
        let signed = signed.cloned();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per {
                let resp = router
                    .clone()
                    .oneshot(request(signed.as_ref()))
                    .await
                    .expect("infallible");
                assert_eq!(resp.status(), StatusCode::OK);
                let body = resp.into_body().collect().await.expect("body");
                std::hint::black_box(body);
            }
        }));
    }
    for t in tasks {
        t.await.expect("caller");
    }
    app.audit.flush().await.expect("flush");
    let wall = t0.elapsed().as_secs_f64();
    let cpu = process_cpu() - cpu0;
    let n = (per * CALLERS) as f64;
    (cpu / n * 1e6, n / wall)
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ServeConfig {
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
            idle_timeout_secs: 30,
            ..ServeConfig::new(dir.path().to_path_buf())
        };
        let started = App::start(config).await.expect("start");
        let app = started.app.clone();
        let router = router(app.clone());
        let text = std::fs::read_to_string(&started.boot.credentials_file).expect("creds");
        let secret = text
            .lines()
            .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
            .expect("secret");
        let signed = signed_headers(&started.boot.root_access_key_id, secret);
        // Warm up caches (key, signing key, metrics families), then measure side by side.
        run(&router, &app, Some(&signed), 10_000).await;
        run(&router, &app, None, 10_000).await;
        println!("{calls} calls each, {CALLERS} concurrent callers, in process (no sockets)");
        println!(
            "allocations per call (request building included): GET /_rampart/live {:.1}, \
             sts:GetCallerIdentity {:.1}",
            allocations_per_call(&router, &app, None).await,
            allocations_per_call(&router, &app, Some(&signed)).await
        );
        // Other load on a shared machine only ever adds time: the least extra is the best
        // estimate of the path's own cost.
        let mut least = f64::MAX;
        for round in 1..=5 {
            let (live_cpu, live_rps) = run(&router, &app, None, calls).await;
            let (sts_cpu, sts_rps) = run(&router, &app, Some(&signed), calls).await;
            least = least.min(sts_cpu - live_cpu);
            println!(
                "round {round}: GET /_rampart/live {live_cpu:5.2} us CPU/call ({live_rps:8.0}/s)   \
                 sts:GetCallerIdentity {sts_cpu:5.2} us CPU/call ({sts_rps:8.0}/s)   \
                 extra {:5.2} us",
                sts_cpu - live_cpu
            );
        }
        println!("least extra CPU of the full path over the trivial route: {least:.2} us/call");
    });
}
