//! The HTTP/1.1 accept loop: per-connection timeouts and graceful shutdown.
//!
//! `axum::serve` offers neither a header-read timeout nor an idle timeout, and a client that
//! sends slowly (Slowloris) must not hold a connection forever, so connections are driven with
//! hyper directly: hyper's header-read timeout bounds the time to send headers, and a read/write
//! timeout on the socket bounds idleness between requests.
//!
//! Each connection also has a place in the [`ConnTable`] (capped; when full the oldest
//! connection that has not completed a request is shed), and a deadline from accept: a client
//! must send its first byte within `first_byte_timeout` and its first request's head within
//! `header_timeout`, so a connection that sends nothing is closed within seconds.
//!
//! One client address holds at most Shield Standard's per-address connection cap
//! (`shield::limiter`); a connection past it is closed at once. The load balancer listeners
//! drive their connections with the same pieces ([`run_connection`], [`Watched`],
//! [`InFlight`]).

use std::{
    future::Future,
    pin::Pin,
    sync::{atomic::Ordering, Arc},
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::ConnectInfo, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

use crate::{
    conn_table::{ConnState, ConnTable},
    shield::limiter::AddressLimiter,
};

/// Connection limits applied to every client.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Time allowed to send a request's headers (the first request's: from accept).
    pub header_timeout: Duration,
    /// Time allowed from accept to the first byte.
    pub first_byte_timeout: Duration,
    /// Time a connection may sit with no bytes moving.
    pub idle_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// (up to `drain`) before returning.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    table: Arc<ConnTable>,
    per_address: Arc<AddressLimiter>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    // HTTP/1.1 only: hyper's header timeout, which guards against slow clients, is HTTP/1's.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
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
        let Some(address_ticket) = per_address.connect(peer.ip()) else {
            // This address holds its share of connections already: close this one.
            tracing::debug!(%peer, "API connection over the per-address cap");
            continue;
        };
        let Some(mut ticket) = table.admit() else {
            // Every open connection has a request in flight: this one waits for none.
            continue;
        };
        if let Some(shed) = ticket.made_room_from.take() {
            // Accept no more until the shed socket is closed (briefly), so a burst of new
            // connections cannot hold more descriptors than the cap leaves room for.
            let _ = tokio::time::timeout(Duration::from_millis(100), shed.closed.notified()).await;
        }
        let _ = stream.set_nodelay(true);
        let mut timed = TimeoutStream::new(stream);
        timed.set_read_timeout(Some(limits.idle_timeout));
        timed.set_write_timeout(Some(limits.idle_timeout));
        let state = ticket.state.clone();
        let io = TokioIo::new(Watched {
            inner: Box::pin(timed),
            state: state.clone(),
        });
        // Each request gets the peer address attached, as axum's own server does.
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let answer = router.clone().oneshot(req.map(axum::body::Body::new));
            let counted = InFlight::start(state.clone());
            async move {
                let response = answer.await;
                write_in_turn().await;
                drop(counted);
                response
            }
        });
        let conn = builder.serve_connection(io, service).into_owned();
        let conn = graceful.watch(conn);
        let table = table.clone();
        tokio::spawn(async move {
            let state = ticket.state.clone();
            let outcome = run_connection(conn, &state, limits).await;
            match outcome {
                Closed::Done(Err(err)) => {
                    tracing::debug!(error = %err, %peer, "connection closed with error");
                }
                Closed::Done(Ok(())) | Closed::Shed => {}
                Closed::NoFirstByte => table.note_first_byte_timeout(),
                Closed::NoHeader => table.note_header_timeout(),
            }
            drop(ticket);
            drop(address_ticket);
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

/// How a connection ended.
pub(crate) enum Closed<E> {
    /// hyper finished it (the client closed, a timeout, an error).
    Done(Result<(), E>),
    /// The table shed it to make room.
    Shed,
    /// No byte arrived within the first-byte timeout.
    NoFirstByte,
    /// The first request's head did not arrive within the header timeout.
    NoHeader,
}

/// Drives `conn` until it ends, the table sheds it, or its deadlines from accept pass first.
pub(crate) async fn run_connection<F, E>(
    conn: F,
    state: &ConnState,
    limits: ConnLimits,
) -> Closed<E>
where
    F: Future<Output = Result<(), E>>,
{
    tokio::pin!(conn);
    let first_byte = tokio::time::sleep(limits.first_byte_timeout.min(limits.header_timeout));
    let header = tokio::time::sleep(limits.header_timeout);
    tokio::pin!(first_byte, header);
    let mut first_byte_armed = true;
    let mut header_armed = true;
    loop {
        tokio::select! {
            done = &mut conn => return Closed::Done(done),
            () = state.shed.notified() => return Closed::Shed,
            () = &mut first_byte, if first_byte_armed => {
                if !state.saw_byte.load(Ordering::Relaxed) {
                    return Closed::NoFirstByte;
                }
                first_byte_armed = false;
            }
            () = &mut header, if header_armed => {
                if state.started.load(Ordering::Relaxed) == 0 {
                    return Closed::NoHeader;
                }
                header_armed = false;
            }
        }
    }
}

/// Counts a request as in flight from its head's arrival until its response is written (or the
/// request is dropped).
pub(crate) struct InFlight(Arc<ConnState>);

impl InFlight {
    pub(crate) fn start(state: Arc<ConnState>) -> InFlight {
        state.started.fetch_add(1, Ordering::Relaxed);
        InFlight(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.completed.fetch_add(1, Ordering::Relaxed);
    }
}

/// The socket, noting in the connection's state when the first byte arrives.
pub(crate) struct Watched {
    pub(crate) inner: Pin<Box<TimeoutStream<TcpStream>>>,
    pub(crate) state: Arc<ConnState>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = self.inner.as_mut().poll_read(cx, buf);
        if buf.filled().len() > before {
            self.state.saw_byte.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.inner.as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.inner.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_shutdown(cx)
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
