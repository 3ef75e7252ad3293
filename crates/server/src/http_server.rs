//! The HTTP/1.1 accept loop: per-connection timeouts and graceful shutdown.
//!
//! `axum::serve` offers neither a header-read timeout nor an idle timeout, and a client that
//! sends slowly (Slowloris) must not hold a connection forever, so connections are driven with
//! hyper directly: hyper's header-read timeout bounds the time to send headers, and a read/write
//! timeout on the socket bounds idleness between requests.

use std::{future::Future, time::Duration};

use axum::{extract::ConnectInfo, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

/// Connection limits applied to every client.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Time allowed to send a request's headers.
    pub header_timeout: Duration,
    /// Time a connection may sit with no bytes moving.
    pub idle_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// (up to `drain`) before returning.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let mut timed = TimeoutStream::new(stream);
        timed.set_read_timeout(Some(limits.idle_timeout));
        timed.set_write_timeout(Some(limits.idle_timeout));
        let io = TokioIo::new(Box::pin(timed));
        // Each request gets the peer address attached, as axum's own server does.
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let answer = router.clone().oneshot(req.map(axum::body::Body::new));
            async move {
                let response = answer.await;
                write_in_turn().await;
                response
            }
        });
        let conn = builder.serve_connection(io, service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, %peer, "connection closed with error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!("in-flight requests did not finish in {drain:?}; closing");
        }
    }
}

/// Lets the worker run its other ready requests before this response is written.
///
/// Under load a worker then writes its responses in a burst instead of one between each two
/// calls, so a client waiting on many connections wakes once for several responses, and the
/// worker is not preempted by that client after every write. Both cost more CPU than the
/// calls themselves on a shared or virtualized host: on the 2-core benchmark machine this cut
/// the server's CPU per signed call by about a quarter (median of five runs, BENCHMARKS.md,
/// session 6). An idle worker takes the task straight back, at the cost of one more
/// non-blocking poll of the I/O driver.
async fn write_in_turn() {
    tokio::task::yield_now().await;
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    /// Two requests ready on one worker (of the multi-threaded runtime the server runs on):
    /// both handlers run before either response is written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn responses_wait_for_the_other_ready_requests() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let note = |log: &Arc<Mutex<Vec<&'static str>>>, what: &'static str| {
            if let Ok(mut l) = log.lock() {
                l.push(what);
            }
        };
        let worker_log = log.clone();
        // Spawned from a task on the worker, so both are ready there before either runs.
        tokio::spawn(async move {
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let log = worker_log.clone();
                    tokio::spawn(async move {
                        note(&log, "handled");
                        super::write_in_turn().await;
                        note(&log, "wrote");
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("request task");
            }
        })
        .await
        .expect("worker task");
        let log = log.lock().expect("log").clone();
        assert_eq!(log, ["handled", "handled", "wrote", "wrote"]);
    }
}
