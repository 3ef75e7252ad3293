//! The API port under an idle-connection flood: silent connections are closed within seconds,
//! connections are capped below the open-file limit, and a full table sheds the oldest
//! connection that never completed a request, so a real client still gets in.

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

mod support;

use std::{
    io::Read as _,
    net::TcpStream,
    time::{Duration, Instant},
};

use support::Server;

fn host(server: &Server) -> String {
    server
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

async fn metric(server: &Server, name: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.endpoint))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_within_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Through the environment, so the same test runs against a server without the setting.
    let server = Server::start_wrapped(
        dir.path(),
        &[],
        &["env", "RAMPART_FIRST_BYTE_TIMEOUT_SECS=1"],
    );
    let mut silent = TcpStream::connect(host(&server)).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let read = silent.read(&mut buf);
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the server closes the silent connection: {read:?} after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
    assert!(metric(&server, "rampart_connections_first_byte_timeouts_total").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_calls_get_through_an_idle_flood_under_a_small_open_file_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Timeouts longer than the test: only the cap and shedding let the client in.
    let server = Server::start_wrapped(
        dir.path(),
        &[],
        &[
            "env",
            "RAMPART_FIRST_BYTE_TIMEOUT_SECS=120",
            "RAMPART_REQUEST_TIMEOUT_SECS=120",
            "prlimit",
            "--nofile=256:256",
            "--",
        ],
    );
    let addr = host(&server);
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&addr).expect("idle connection"))
        .collect();
    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let mut worst = Duration::ZERO;
    for i in 0..10 {
        let started = Instant::now();
        let answered =
            tokio::time::timeout(Duration::from_secs(10), sts.get_caller_identity().send()).await;
        let Ok(result) = answered else {
            panic!("call {i} got no answer in 10 s");
        };
        if let Err(e) = result {
            panic!("call {i} failed: {e:?}");
        }
        let took = started.elapsed();
        worst = worst.max(took);
        assert!(took < Duration::from_secs(1), "call {i} took {took:?}");
    }
    eprintln!("10 signed calls beside 300 idle connections; worst {worst:?}");
    assert_eq!(metric(&server, "rampart_connections_cap").await, 192);
    assert!(metric(&server, "rampart_connections_shed_total").await >= 100);
    assert!(metric(&server, "rampart_connections_open").await <= 192);
    drop(idle);
}

/// Shield Standard's per-address cap: past it a new connection from that address is closed at
/// once, while another address still gets in and is answered.
#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_wrapped(
        dir.path(),
        &[],
        &["env", "RAMPART_SHIELD_MAX_CONNECTIONS_PER_ADDRESS=3"],
    );
    let addr: std::net::SocketAddr = host(&server).parse().expect("address");
    let from = |source: [u8; 4]| async move {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::from((source, 0)))
            .expect("bind");
        socket.connect(addr).await.expect("connect")
    };
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(from([127, 0, 0, 1]).await);
    }
    // Let the server accept the three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut fourth = from([127, 0, 0, 1]).await;
    let mut buf = [0u8; 256];
    let started = Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(3), fourth.read(&mut buf))
        .await
        .expect("the fourth connection is closed at once");
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "closed: {read:?} after {:?}",
        started.elapsed()
    );
    let mut other = from([127, 0, 0, 2]).await;
    other
        .write_all(b"GET /_rampart/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), other.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(held);
}
