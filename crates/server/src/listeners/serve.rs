//! One listener port's connections, under Shield Standard's limits (`crate::shield`):
//! per-address connections, the port's connection cap (shedding), header, first-byte and
//! idle timeouts from accept. HTTPS listeners terminate TLS first and serve HTTP/2 to a
//! client that chose `h2` by ALPN (each stream one request, through the same request path as
//! an HTTP/1.1 request: Shield's request-rate cap, the web ACL, the rules); every other
//! connection is HTTP/1.1. Requests are answered by [`proxy::answer`].

use std::{
    convert::Infallible,
    net::IpAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
};
use rampart_services::{elbv2::access_log, shield::detect::Vector};
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;

use super::{access_log::Conn, proxy, PortConfig, Shared};
use crate::{
    conn_table::{ConnState, ConnTable},
    http_server::{run_connection, Closed, ConnLimits, InFlight, Watched},
    shield::Guard,
};

/// The most concurrent HTTP/2 streams a client connection may open (ALB's limit).
const MAX_STREAMS: u32 = 128;

/// What a port's connections share besides its configuration.
pub struct Port {
    /// The configuration slot, swapped on reload.
    pub config: Arc<RwLock<Arc<PortConfig>>>,
    /// What every port shares.
    pub shared: Arc<Shared>,
    /// Shield Standard's limits and attack tracker.
    pub shield: Arc<Guard>,
    /// This port's open connections (capped, shedding those that never completed a request).
    pub table: Arc<ConnTable>,
    /// Header, first-byte and idle timeouts.
    pub limits: ConnLimits,
}

impl Port {
    /// Records a tripped limit on this port's load balancer.
    pub fn observe(&self, vector: Vector, source: Option<IpAddr>) {
        let Ok(cfg) = self.config.read().map(|c| c.clone()) else {
            return;
        };
        let at = i64::try_from(self.shared.now_secs()).unwrap_or(0);
        self.shield.observe(
            &cfg.listener.account,
            &cfg.listener.load_balancer_arn,
            vector,
            source,
            at,
        );
    }
}

/// The connection builders: HTTP/1.1 with the header timeout, HTTP/2 with ALB's stream cap.
#[derive(Clone)]
struct Builders {
    http1: Arc<Builder<TokioExecutor>>,
    http2: Arc<Builder<TokioExecutor>>,
}

impl Builders {
    fn new(limits: ConnLimits) -> Builders {
        let mut http1 = Builder::new(TokioExecutor::new());
        http1
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let mut http2 = Builder::new(TokioExecutor::new());
        http2
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS);
        Builders {
            http1: Arc::new(http1.http1_only()),
            http2: Arc::new(http2.http2_only()),
        }
    }
}

/// Accepts connections until aborted.
pub async fn serve(listener: tokio::net::TcpListener, port: Arc<Port>) {
    let builders = Builders::new(port.limits);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(err) => {
                tracing::warn!(error = %err, "listener accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(address_ticket) = port.shield.listeners.connect(peer.ip()) else {
            port.observe(Vector::ConnectionFlood, Some(peer.ip()));
            continue;
        };
        let Some(mut ticket) = port.table.admit() else {
            port.observe(Vector::ConnectionFlood, Some(peer.ip()));
            continue;
        };
        if let Some(shed) = ticket.made_room_from.take() {
            port.observe(Vector::ConnectionFlood, None);
            let _ = tokio::time::timeout(Duration::from_millis(100), shed.closed.notified()).await;
        }
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(peer);
        let mut timed = TimeoutStream::new(stream);
        timed.set_read_timeout(Some(port.limits.idle_timeout));
        timed.set_write_timeout(Some(port.limits.idle_timeout));
        let watched = Watched {
            inner: Box::pin(timed),
            state: ticket.state.clone(),
        };
        let tls = port.config.read().ok().and_then(|c| c.tls.clone());
        let port = port.clone();
        let builders = builders.clone();
        tokio::spawn(async move {
            let state = ticket.state.clone();
            let mut conn = Conn {
                peer,
                local,
                kind: "http",
                tls: None,
                trace: access_log::conn_trace_id(),
            };
            match tls {
                None => {
                    serve_one(&builders.http1, TokioIo::new(watched), conn, &port, &state).await
                }
                Some(tls) => {
                    // The handshake counts against the header timeout, as the header does.
                    let handshake = TlsAcceptor::from(tls.config.clone()).accept(watched);
                    match tokio::time::timeout(port.limits.header_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            let session = stream.get_ref().1;
                            let h2 = session.alpn_protocol() == Some(b"h2".as_slice());
                            conn.kind = if h2 { "h2" } else { "https" };
                            conn.tls = Some(tls.facts(session));
                            let builder = if h2 { &builders.http2 } else { &builders.http1 };
                            serve_one(builder, TokioIo::new(stream), conn, &port, &state).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(error = %err, %peer, "listener TLS handshake failed");
                        }
                        Err(_) => port.observe(Vector::Slowloris, Some(peer.ip())),
                    }
                }
            }
            drop(ticket);
            drop(address_ticket);
        });
    }
}

/// Serves one connection's requests (HTTP/2 streams or HTTP/1.1 requests) until it closes,
/// noting the slow clients Shield watches for.
async fn serve_one<I>(
    builder: &Builder<TokioExecutor>,
    io: I,
    conn: Conn,
    port: &Arc<Port>,
    state: &Arc<ConnState>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let peer = conn.peer;
    let conn = Arc::new(conn);
    let service_port = port.clone();
    let service_state = state.clone();
    let service = hyper::service::service_fn(move |req| {
        let port = service_port.clone();
        let conn = conn.clone();
        let counted = InFlight::start(service_state.clone());
        async move {
            let reply = proxy::answer(req, &conn, &port).await;
            drop(counted);
            Ok::<_, Infallible>(reply)
        }
    });
    let served = builder.serve_connection(io, service);
    match run_connection(served, state, port.limits).await {
        Closed::Done(Err(err)) if is_timeout(err.as_ref()) => {
            port.observe(Vector::Slowloris, Some(peer.ip()));
        }
        Closed::Done(Err(err)) => {
            tracing::debug!(error = %err, %peer, "listener connection closed with error");
        }
        Closed::NoFirstByte | Closed::NoHeader => {
            port.observe(Vector::Slowloris, Some(peer.ip()));
        }
        Closed::Done(Ok(())) | Closed::Shed => {}
    }
}

/// Whether a connection ended on hyper's header read timeout.
fn is_timeout(err: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    err.downcast_ref::<hyper::Error>()
        .is_some_and(hyper::Error::is_timeout)
}
