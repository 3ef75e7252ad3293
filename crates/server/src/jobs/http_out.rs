//! Outgoing HTTP/1.1 requests of background jobs (EventBridge API destinations): one request
//! per connection (`Connection: close`), over TCP for `http://` and TLS (the system's root
//! certificates) for `https://`, with a time limit for the whole exchange.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::rustls;

/// Most bytes of an answer read.
const MAX_ANSWER: u64 = 64 * 1024;

/// A parsed `http(s)://host[:port]/path?query` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Whether it is `https`.
    pub tls: bool,
    /// The host.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The path and query (`/` at least).
    pub target: String,
}

/// Parses a URL; `None` when it is not `http(s)://HOST[:PORT][/...]`.
pub fn parse_url(url: &str) -> Option<Url> {
    let (tls, rest) = match url.strip_prefix("https://") {
        Some(r) => (true, r),
        None => (false, url.strip_prefix("http://")?),
    };
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let target = if target.starts_with('?') {
        format!("/{target}")
    } else {
        target.to_string()
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h.to_string(), p.parse().ok()?)
        }
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    if host.is_empty() || host.contains(char::is_whitespace) || target.contains(char::is_whitespace)
    {
        return None;
    }
    Some(Url {
        tls,
        host,
        port,
        target,
    })
}

/// An answer: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body (at most 64 KiB, lossily decoded).
    pub body: String,
}

/// Sends one request and reads the answer, within `limit`.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &str,
    limit: Duration,
) -> Result<Answer, String> {
    let url = parse_url(url).ok_or_else(|| format!("{url} is not an http(s) URL"))?;
    let mut request = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: Amazon/EventBridge/ApiDestinations\r\n",
        url.target,
        url.host,
        body.len()
    );
    let has_type = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if !has_type {
        request.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    for (k, v) in headers {
        if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
            return Err(format!("header {k:?} is not valid"));
        }
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let exchange = async {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("connection to {}:{} failed: {e}", url.host, url.port))?;
        if url.tls {
            let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| format!("{}: {e}", url.host))?;
            let stream = connector()?
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {} failed: {e}", url.host))?;
            exchange(stream, &request).await
        } else {
            exchange(tcp, &request).await
        }
    };
    let raw = tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| format!("no answer within {} seconds", limit.as_secs()))??;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| "the answer is not HTTP".to_string())?;
    Ok(Answer {
        status,
        body: body.to_string(),
    })
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<String, String> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending failed: {e}"))?;
    let mut answer = Vec::new();
    // A TLS peer that closes without close_notify still gave its answer.
    let _ = (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await;
    if answer.is_empty() {
        return Err("the connection closed without an answer".into());
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// A TLS connector trusting the system's root certificates.
fn connector() -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = parse_url("http://127.0.0.1:9000/hook?a=1").unwrap_or_else(|| Url {
            tls: true,
            host: String::new(),
            port: 0,
            target: String::new(),
        });
        assert_eq!(
            u,
            Url {
                tls: false,
                host: "127.0.0.1".into(),
                port: 9000,
                target: "/hook?a=1".into()
            }
        );
        let s = parse_url("https://example.com").map(|u| (u.tls, u.port, u.target));
        assert_eq!(s, Some((true, 443, "/".to_string())));
        assert_eq!(parse_url("ftp://x"), None);
        assert_eq!(parse_url("http://:80/"), None);
        assert_eq!(
            parse_url("http://h?q=1").map(|u| u.target),
            Some("/?q=1".to_string())
        );
    }
}
