//! A proxied request as an access log entry, when its load balancer's access logs are on:
//! the request path fills a [`Draft`] as it goes (WAF, the rule that matched, the action, the
//! target and its timings), and [`finish`] turns it and the response into ALB's entry
//! (`elbv2::access_log`), left in this node's access log buffer for the delivery job
//! (`jobs::access_logs`).
//!
//! Byte counts are of the request and response as HTTP/1.1 text (request line or status
//! line, headers, blank line, body), also for HTTP/2, whose compressed headers Rampart does
//! not count.

use std::{net::SocketAddr, time::Instant};

use chrono::{DateTime, Utc};
use hyper::{body::Body as _, http::request::Parts, HeaderMap};
use rampart_services::elbv2::access_log::{Entry, TlsFacts};

use super::{proxy::Reply, PortConfig, Shared};

/// What a connection knows for its requests' entries.
pub struct Conn {
    /// The client.
    pub peer: SocketAddr,
    /// The listener's own address, for requests without a host.
    pub local: SocketAddr,
    /// `http`, `https` or `h2`.
    pub kind: &'static str,
    /// The TLS session, for HTTPS listeners.
    pub tls: Option<TlsFacts>,
    /// The connection's id (`conn_trace_id`).
    pub trace: String,
}

impl Conn {
    /// Whether the connection is over TLS.
    pub fn secure(&self) -> bool {
        self.tls.is_some()
    }

    /// The scheme of its requests.
    pub fn scheme(&self) -> &'static str {
        if self.secure() {
            "https"
        } else {
            "http"
        }
    }
}

/// A request's entry in the making.
pub struct Draft {
    received: DateTime<Utc>,
    started: Instant,
    method: String,
    url: String,
    version: String,
    user_agent: Option<String>,
    received_bytes: u64,
    /// The `X-Amzn-Trace-Id` the request carries (or was given).
    pub trace_id: Option<String>,
    /// The actions taken, in order.
    pub actions: Vec<&'static str>,
    /// The priority of the rule that matched, 0 for the default action.
    pub matched_rule_priority: Option<u32>,
    /// The target group forwarded to.
    pub target_group_arn: Option<String>,
    /// The target dispatched to.
    pub target: Option<String>,
    /// When the request was sent to the target.
    pub dispatched: Option<Instant>,
    /// When the target's response headers arrived, and its status.
    pub answered: Option<(Instant, u16)>,
    /// The `Location` of a redirect.
    pub redirect_url: Option<String>,
}

/// The size of a header block as HTTP/1.1 text (`name: value\r\n` each, then `\r\n`).
fn head_bytes(headers: &HeaderMap) -> u64 {
    let lines: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    (lines + 2) as u64
}

impl Draft {
    /// A draft for a request whose head just arrived on the listener's `port` at `now` (the
    /// request clock).
    pub fn new(parts: &Parts, conn: &Conn, port: u16, now: DateTime<Utc>) -> Draft {
        let host = parts
            .uri
            .host()
            .map(str::to_string)
            .or_else(|| {
                let header = parts.headers.get("host")?.to_str().ok()?;
                // `name:port`, `[v6]:port`, or a host alone (`[v6]` has colons of its own).
                let host = match header.rsplit_once(':') {
                    Some((h, port)) if !port.ends_with(']') => h,
                    _ => header,
                };
                Some(host.to_string())
            })
            .unwrap_or_else(|| conn.local.ip().to_string());
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let version = format!("{:?}", parts.version);
        let line = parts.method.as_str().len() + target.len() + version.len() + 4;
        Draft {
            received: now,
            started: Instant::now(),
            method: parts.method.to_string(),
            url: format!("{}://{host}:{port}{target}", conn.scheme()),
            version,
            user_agent: parts
                .headers
                .get("user-agent")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            received_bytes: line as u64 + head_bytes(&parts.headers),
            trace_id: parts
                .headers
                .get("x-amzn-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            actions: Vec::new(),
            matched_rule_priority: None,
            target_group_arn: None,
            target: None,
            dispatched: None,
            answered: None,
            redirect_url: None,
        }
    }

    /// Counts the request's body, once read.
    pub fn body_received(&mut self, bytes: u64) {
        self.received_bytes += bytes;
    }
}

/// The size of a response as HTTP/1.1 text, with the `date` and `content-length` headers
/// hyper adds.
fn sent_bytes(reply: &Reply) -> u64 {
    const STATUS_LINE: u64 = "HTTP/1.1 200 OK\r\n".len() as u64;
    const DATE: u64 = "date: Mon, 07 Dec 2026 21:40:00 GMT\r\n".len() as u64;
    let body = reply.body().size_hint().exact().unwrap_or(0);
    let length = format!("content-length: {body}\r\n").len() as u64;
    STATUS_LINE + DATE + length + head_bytes(reply.headers()) + body
}

/// Leaves the request's entry for delivery when its load balancer's access logs are on.
pub fn finish(draft: Draft, reply: &Reply, conn: &Conn, cfg: &PortConfig, shared: &Shared) {
    let Some(destination) = &cfg.listener.access_log else {
        return;
    };
    let done = Instant::now();
    let since = |a: Instant, b: Instant| b.saturating_duration_since(a).as_secs_f64();
    // A request not dispatched, or whose target did not answer, has -1 for every time.
    let (request_processing, target_processing, response_processing, target_status) =
        match (draft.dispatched, draft.answered) {
            (Some(sent), Some((headers, status))) => (
                Some(since(draft.started, sent)),
                Some(since(sent, headers)),
                Some(since(headers, done)),
                Some(status),
            ),
            _ => (None, None, None, None),
        };
    let time = shared.clock.get().map_or(draft.received, |c| c.now());
    let entry = Entry {
        kind: conn.kind,
        time,
        load_balancer_arn: destination.load_balancer_arn.clone(),
        client: conn.peer,
        target: draft.target,
        request_processing,
        target_processing,
        response_processing,
        elb_status: reply.status().as_u16(),
        target_status,
        received_bytes: draft.received_bytes,
        sent_bytes: sent_bytes(reply),
        method: draft.method,
        url: draft.url,
        version: draft.version,
        user_agent: draft.user_agent,
        tls: conn.tls.clone(),
        target_group_arn: draft.target_group_arn,
        trace_id: draft.trace_id,
        matched_rule_priority: draft.matched_rule_priority,
        request_creation_time: draft.received,
        actions: draft.actions,
        redirect_url: draft.redirect_url,
        conn_trace_id: conn.trace.clone(),
    };
    let at = u64::try_from(time.timestamp()).unwrap_or(0);
    shared.access_logs.push(destination, at, entry.line());
}
