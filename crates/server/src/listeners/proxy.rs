//! One listener's request handling: each request (an HTTP/1.1 request or an HTTP/2 stream,
//! forwarded to targets over HTTP/1.1 as ALB does) goes through the web ACL (when its load
//! balancer has one), then the listener's rules pick an action: a fixed response, a
//! redirect, or forwarding to a healthy target of the chosen group (round-robin; all
//! registered targets when none is healthy, as ALB fails open), with `X-Forwarded-For`,
//! `X-Forwarded-Proto`, `X-Forwarded-Port` and `X-Amzn-Trace-Id` added as ALB adds them.
//! Shield Standard's request limits apply to each (`crate::shield`); the connections are
//! served by [`super::serve`]. Each request leaves an access log entry when its load
//! balancer's access logs are on ([`super::access_log`]).

use std::{
    net::SocketAddr,
    sync::OnceLock,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Incoming, header::HeaderValue, Request, Response, StatusCode};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::{TokioExecutor, TokioTimer},
};
use rampart_services::{
    elbv2::{actions::Action, model::Target},
    shield::detect::Vector,
    wafv2::engine::{self, fields::INSPECTION_LIMIT},
};

use super::{
    access_log::{self, Conn, Draft},
    interstitial,
    serve::Port,
    PortConfig, Shared,
};

/// Largest request body the proxy buffers (ALB has no limit; Rampart buffers to inspect).
const MAX_BODY: usize = 10 * 1024 * 1024;
/// How long a target has to answer (ALB's default idle timeout).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// Headers that belong to one hop and are not forwarded.
const HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// A response to a client.
pub type Reply = Response<Full<Bytes>>;

/// Where a forwarded request came in: the client, the listener's port and its scheme.
struct Origin {
    peer: SocketAddr,
    port: u16,
    scheme: &'static str,
}

/// One request, and its access log entry once answered.
pub async fn answer(req: Request<Incoming>, conn: &Conn, port: &Port) -> Reply {
    let Ok(cfg) = port.config.read().map(|c| c.clone()) else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Temporarily Unavailable",
        );
    };
    let now = port
        .shared
        .clock
        .get()
        .map_or_else(chrono::Utc::now, |c| c.now());
    let (parts, body) = req.into_parts();
    let mut draft = Draft::new(&parts, conn, cfg.listener.port, now);
    let reply = respond(parts, body, conn, port, &cfg, &mut draft).await;
    access_log::finish(draft, &reply, conn, &cfg, &port.shared);
    reply
}

/// The per-address rate first, then the body within the body timeout, then the listener's
/// handling.
async fn respond(
    parts: hyper::http::request::Parts,
    body: Incoming,
    conn: &Conn,
    port: &Port,
    cfg: &PortConfig,
    draft: &mut Draft,
) -> Reply {
    let peer = conn.peer;
    if !port.shield.listeners.request(peer.ip()) {
        port.observe(Vector::RequestFlood, Some(peer.ip()));
        return plain(StatusCode::TOO_MANY_REQUESTS, "429 Too Many Requests");
    }
    let collected = tokio::time::timeout(
        port.shield.settings.body_timeout,
        Limited::new(body, MAX_BODY).collect(),
    )
    .await;
    let body = match collected {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(_)) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 Request Entity Too Large",
            )
        }
        Err(_) => {
            port.observe(Vector::SlowPost, Some(peer.ip()));
            let mut r = plain(StatusCode::REQUEST_TIMEOUT, "408 Request Time-out");
            r.headers_mut()
                .insert("connection", HeaderValue::from_static("close"));
            return r;
        }
    };
    draft.body_received(body.len() as u64);
    handle(parts, body, conn, cfg, &port.shared, draft).await
}

fn plain(status: StatusCode, text: &str) -> Reply {
    let body = format!("<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n<center><h1>{text}</h1></center>\r\n</body>\r\n</html>\r\n");
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/html"));
    r.headers_mut()
        .insert("server", HeaderValue::from_static("awselb/2.0"));
    r
}

fn response(status: u16, headers: &[(String, String)], body: Option<(&str, &str)>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(
        body.map(|(_, b)| b.to_string()).unwrap_or_default(),
    )));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    let h = r.headers_mut();
    h.insert("server", HeaderValue::from_static("awselb/2.0"));
    if let Some((ct, _)) = body {
        if let Ok(v) = HeaderValue::from_str(ct) {
            h.insert("content-type", v);
        }
    }
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.append(k, v);
        }
    }
    r
}

/// One request through the listener.
async fn handle(
    mut parts: hyper::http::request::Parts,
    body: Bytes,
    conn: &Conn,
    cfg: &PortConfig,
    shared: &Shared,
    draft: &mut Draft,
) -> Reply {
    let (peer, secure, scheme) = (conn.peer, conn.secure(), conn.scheme());
    http2_to_http1(&mut parts);
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let host_header = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let host = host_header
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut inserted: Vec<(String, String)> = Vec::new();
    let sent_trace = parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let trace = sent_trace.clone().unwrap_or_else(trace_id);
    draft.trace_id = Some(trace.clone());
    if let Some(acl) = &cfg.web_acl {
        draft.actions.push("waf");
        let mut waf_request = engine::fields::Request {
            method: parts.method.as_str().to_string(),
            uri_path: path.clone(),
            query: query.clone(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body
                .get(..INSPECTION_LIMIT.min(body.len()))
                .unwrap_or_default()
                .to_vec(),
            body_oversize: body.len() > INSPECTION_LIMIT,
            source_ip: Some(peer.ip()),
            token: engine::token::TokenState::Absent,
        };
        let now = shared.now_secs();
        let key = shared.token_key.get();
        if let Some(key) = key {
            waf_request.token = interstitial::token_of(&waf_request, key);
        }
        if path.starts_with(interstitial::PREFIX) {
            return match key {
                Some(key) => {
                    interstitial::verify(&path, &body, &waf_request, acl, key, now, secure)
                }
                None => plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "503 Service Temporarily Unavailable",
                ),
            };
        }
        let decision = acl.evaluate(&waf_request, &shared.rates, now);
        super::sample::take(acl, &decision, &waf_request, &parts, peer, shared);
        let at = (cfg, shared);
        super::waflog::take(acl, &decision, &waf_request, &parts, peer, at, &trace);
        match decision.action {
            engine::Action::Block(r) => {
                tracing::debug!(rule = ?decision.rule, %peer, "web ACL blocked a request");
                return response(
                    r.status,
                    &r.headers,
                    r.body.as_ref().map(|(ct, b)| (ct.as_str(), b.as_str())),
                );
            }
            engine::Action::Allow(headers) => inserted = headers,
            engine::Action::Captcha(_) | engine::Action::Challenge(_) => {
                let captcha = matches!(decision.action, engine::Action::Captcha(_));
                let accepts_html = waf_request
                    .header("accept")
                    .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"));
                let back = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                return match key {
                    Some(key) => interstitial::interstitial(captcha, accepts_html, &back, key, now),
                    None => plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "503 Service Temporarily Unavailable",
                    ),
                };
            }
            engine::Action::Count => {}
        }
    }
    if sent_trace.is_none() {
        if let Ok(v) = HeaderValue::from_str(&trace) {
            parts.headers.insert("x-amzn-trace-id", v);
        }
    }
    let (priority, action) = cfg.listener.matched(&host, &path);
    draft.matched_rule_priority = Some(priority);
    match action {
        Action::Fixed {
            status,
            content_type,
            body,
        } => {
            draft.actions.push("fixed-response");
            response(
                *status,
                &[],
                Some((
                    content_type.as_deref().unwrap_or("text/plain"),
                    body.as_deref().unwrap_or_default(),
                )),
            )
        }
        Action::Redirect {
            protocol,
            port,
            host: to_host,
            path: to_path,
            query: to_query,
            status,
        } => {
            let listener_port = cfg.listener.port.to_string();
            let fill = |s: &str| {
                s.replace("#{protocol}", scheme)
                    .replace("#{host}", &host)
                    .replace("#{port}", &listener_port)
                    .replace("#{path}", path.trim_start_matches('/'))
                    .replace("#{query}", &query)
            };
            let scheme = fill(protocol).to_ascii_lowercase();
            let port = fill(port);
            let default_port =
                (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
            let mut location = format!("{scheme}://{}", fill(to_host));
            if !default_port {
                location.push(':');
                location.push_str(&port);
            }
            location.push_str(&fill(to_path));
            let q = fill(to_query);
            if !q.is_empty() {
                location.push('?');
                location.push_str(&q);
            }
            draft.actions.push("redirect");
            draft.redirect_url = Some(location.clone());
            response(*status, &[("location".to_string(), location)], None)
        }
        Action::Forward(groups) => {
            draft.actions.push("forward");
            let Some((group, target)) = pick(cfg, shared, groups) else {
                return plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "503 Service Temporarily Unavailable",
                );
            };
            let from = Origin {
                peer,
                port: cfg.listener.port,
                scheme,
            };
            draft.target_group_arn = Some(group);
            forward(parts, body, &from, &target, &inserted, draft).await
        }
    }
}

/// An HTTP/2 request as a target receives it over HTTP/1.1, as ALB converts it: the
/// `:authority` as the `Host` header when the client sent none, and its `cookie` headers (one
/// per cookie in HTTP/2) joined into one.
fn http2_to_http1(parts: &mut hyper::http::request::Parts) {
    if parts.version != hyper::Version::HTTP_2 {
        return;
    }
    if !parts.headers.contains_key("host") {
        if let Some(v) = parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            parts.headers.insert("host", v);
        }
    }
    let cookies: Vec<&[u8]> = parts
        .headers
        .get_all("cookie")
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    if cookies.len() > 1 {
        if let Ok(v) = HeaderValue::from_bytes(&cookies.join(&b"; "[..])) {
            parts.headers.insert("cookie", v);
        }
    }
}

/// The target for a request: a group by weight (round-robin over the weights), then a
/// healthy target of it round-robin, or any registered one when none is healthy.
fn pick(cfg: &PortConfig, shared: &Shared, groups: &[(String, u32)]) -> Option<(String, Target)> {
    let mut turns = shared.turns.lock().ok()?;
    let total: u64 = groups.iter().map(|(_, w)| u64::from(*w)).sum();
    let group = if groups.len() == 1 || total == 0 {
        groups.first()?.0.clone()
    } else {
        let key = format!("{}#groups", cfg.listener.arn);
        let turn = turns.entry(key).or_insert(0);
        *turn = turn.wrapping_add(1);
        let mut at = (*turn as u64) % total;
        let mut chosen = groups.first()?.0.clone();
        for (g, w) in groups {
            if at < u64::from(*w) {
                chosen = g.clone();
                break;
            }
            at -= u64::from(*w);
        }
        chosen
    };
    let spec = cfg.groups.get(&group)?;
    let healthy: Vec<&Target> = spec
        .targets
        .iter()
        .filter(|t| shared.health.healthy(&group, t))
        .collect();
    let pool: Vec<&Target> = if healthy.is_empty() {
        spec.targets.iter().collect()
    } else {
        healthy
    };
    if pool.is_empty() {
        return None;
    }
    let target = {
        let turn = turns.entry(group.clone()).or_insert(0);
        *turn = turn.wrapping_add(1);
        pool.get(*turn % pool.len()).map(|t| (*t).clone())?
    };
    Some((group, target))
}

/// A trace id in ALB's format (`Root=1-<epoch hex>-<24 hex>`).
fn trace_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{secs:08x}-{}", id.get(..24).unwrap_or_default())
}

/// The client every listener forwards with: it keeps connections to targets open between
/// requests (ALB does too), where a connection per request cost a TCP and HTTP handshake each
/// time (`bench/waf_proxy.sh`).
fn upstream() -> &'static Client<HttpConnector, Full<Bytes>> {
    static CLIENT: OnceLock<Client<HttpConnector, Full<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.enforce_http(true);
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(connector)
    })
}

/// Sends the request to the target and relays its answer.
async fn forward(
    parts: hyper::http::request::Parts,
    body: Bytes,
    from: &Origin,
    target: &Target,
    inserted: &[(String, String)],
    draft: &mut Draft,
) -> Reply {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    // An IPv6 target's address goes in brackets.
    let host = if target.id.contains(':') {
        format!("[{}]", target.id)
    } else {
        target.id.clone()
    };
    draft.target = Some(format!("{host}:{}", target.port));
    let mut up = Request::builder()
        .method(parts.method.clone())
        .uri(format!("http://{host}:{}{path_and_query}", target.port))
        .version(hyper::Version::HTTP_11);
    let Some(headers) = up.headers_mut() else {
        return plain(StatusCode::BAD_GATEWAY, "502 Bad Gateway");
    };
    for (k, v) in parts.headers.iter() {
        if !HOP.contains(&k.as_str()) {
            headers.append(k.clone(), v.clone());
        }
    }
    let xff = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(prior) => format!("{prior}, {}", from.peer.ip()),
        None => from.peer.ip().to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert("x-forwarded-for", v);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static(from.scheme));
    if let Ok(v) = HeaderValue::from_str(&from.port.to_string()) {
        headers.insert("x-forwarded-port", v);
    }
    if !headers.contains_key("x-amzn-trace-id") {
        if let Ok(v) = HeaderValue::from_str(&trace_id()) {
            headers.insert("x-amzn-trace-id", v);
        }
    }
    for (k, v) in inserted {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    let Ok(request) = up.body(Full::new(body)) else {
        return plain(StatusCode::BAD_GATEWAY, "502 Bad Gateway");
    };
    draft.dispatched = Some(Instant::now());
    let answered = &mut draft.answered;
    let exchange = async {
        let answer = upstream()
            .request(request)
            .await
            .map_err(std::io::Error::other)?;
        *answered = Some((Instant::now(), answer.status().as_u16()));
        let (parts, body) = answer.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        Ok::<_, std::io::Error>((parts, bytes))
    };
    match tokio::time::timeout(UPSTREAM_TIMEOUT, exchange).await {
        Ok(Ok((parts, bytes))) => {
            let mut r = Response::new(Full::new(bytes));
            *r.status_mut() = parts.status;
            for (k, v) in parts.headers.iter() {
                if !HOP.contains(&k.as_str()) && k != "content-length" {
                    r.headers_mut().append(k.clone(), v.clone());
                }
            }
            r
        }
        Ok(Err(err)) => {
            tracing::debug!(error = %err, target = %target.id, "target did not answer");
            plain(StatusCode::BAD_GATEWAY, "502 Bad Gateway")
        }
        Err(_) => plain(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Time-out"),
    }
}
