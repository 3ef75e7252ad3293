//! The transport of AWS's external key store proxy API: a SigV4-signed HTTPS `POST` of JSON
//! to `<uriEndpoint><uriPath><suffix>` (service `kms-xks-proxy`, the key store's Region,
//! signed with the proxy authentication credential), and the health check KMS sends to
//! connect an external key store ([`super::xks_api`] has the key operations). Calls are
//! blocking I/O with short timeouts; they run on a blocking thread, never inside a write
//! transaction.
//!
//! The outcome is AWS's `ConnectionErrorCode`: `XKS_PROXY_NOT_REACHABLE` (no address or the
//! connection is refused), `XKS_PROXY_TIMED_OUT`, `XKS_PROXY_INVALID_TLS_CONFIGURATION` (the
//! TLS handshake fails: the certificate must chain to a root of the system's store, which
//! `SSL_CERT_FILE` replaces), `INVALID_CREDENTIALS` (the proxy answers 401),
//! `XKS_PROXY_ACCESS_DENIED` (403) and `XKS_PROXY_INVALID_RESPONSE` (any other answer than
//! 200 with a JSON object).

use std::{
    io::{ErrorKind, Read, Write},
    net::{TcpStream, ToSocketAddrs},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use rampart_sigv4::{sign, RequestParts, SecretKey, SigningParams};
use rustls::{pki_types::ServerName, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use zeroize::Zeroizing;

/// Time allowed to open the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for each read and write.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read from a proxy.
const MAX_ANSWER: u64 = 64 * 1024;

/// Where and as whom to reach a proxy.
pub struct Probe {
    /// `https://host` (AWS's pattern allows no port: 443).
    pub uri_endpoint: String,
    /// The proxy's path prefix, ending in `/kms/xks/v<n>`.
    pub uri_path: String,
    /// The key store's Region (the signing Region).
    pub region: String,
    /// The credential's access key id.
    pub access_key_id: String,
    /// The credential's raw secret.
    pub secret: Zeroizing<Vec<u8>>,
    /// The KMS operation named in the request metadata.
    pub operation: &'static str,
    /// The signing time.
    pub time: DateTime<Utc>,
}

/// How a proxy call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer: AWS's connection error code (`XKS_PROXY_NOT_REACHABLE`, ...).
    Connection(&'static str),
    /// The proxy refused with an HTTP error and, when its body has one, its `errorName`.
    Refused(u16, Option<String>),
    /// The answer is not HTTP, or a 200 without a JSON object.
    Malformed,
}

/// Asks the proxy for its health; `Err` is AWS's connection error code.
pub fn health(probe: &Probe) -> Result<(), &'static str> {
    let body = serde_json::json!({"requestMetadata": {
        "kmsOperation": probe.operation,
        "kmsRequestId": uuid::Uuid::new_v4().to_string(),
    }});
    match post(probe, "/health", &body) {
        Ok(_) => Ok(()),
        Err(Failure::Connection(code)) => Err(code),
        Err(Failure::Refused(401, _)) => Err("INVALID_CREDENTIALS"),
        Err(Failure::Refused(403, _)) => Err("XKS_PROXY_ACCESS_DENIED"),
        Err(_) => Err("XKS_PROXY_INVALID_RESPONSE"),
    }
}

/// Sends `body` signed to `<uriPath><suffix>` and returns the JSON object of a 200 answer.
pub fn post(
    probe: &Probe,
    suffix: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    let host = probe
        .uri_endpoint
        .strip_prefix("https://")
        .filter(|h| !h.is_empty())
        .ok_or(Failure::Connection("XKS_PROXY_INVALID_CONFIGURATION"))?;
    let path = format!("{}{suffix}", probe.uri_path);
    let body = body.to_string();
    let headers: [(&str, &[u8]); 2] = [
        ("host", host.as_bytes()),
        ("content-type", b"application/json"),
    ];
    let secret = SecretKey::new(probe.secret.to_vec());
    let signed = sign(
        &RequestParts {
            method: "POST",
            path: &path,
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        },
        &SigningParams {
            access_key_id: &probe.access_key_id,
            secret: &secret,
            region: &probe.region,
            service: "kms-xks-proxy",
            time: probe.time,
            security_token: None,
        },
    )
    .map_err(|_| Failure::Connection("XKS_PROXY_INVALID_CONFIGURATION"))?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in signed.headers() {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let answer = exchange(host, request.as_bytes()).map_err(Failure::Connection)?;
    judge(&answer)
}

/// Sends `request` over TLS to `host`:443 and reads the answer to its end.
fn exchange(host: &str, request: &[u8]) -> Result<Vec<u8>, &'static str> {
    let addrs = (host, 443)
        .to_socket_addrs()
        .map_err(|_| "XKS_PROXY_NOT_REACHABLE")?;
    let mut tcp = Err("XKS_PROXY_NOT_REACHABLE");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                tcp = Ok(s);
                break;
            }
            Err(e) if e.kind() == ErrorKind::TimedOut => tcp = Err("XKS_PROXY_TIMED_OUT"),
            Err(_) => {}
        }
    }
    let tcp = tcp?;
    let timeouts = tcp
        .set_read_timeout(Some(IO_TIMEOUT))
        .and(tcp.set_write_timeout(Some(IO_TIMEOUT)));
    timeouts.map_err(|_| "XKS_PROXY_NOT_REACHABLE")?;
    let name =
        ServerName::try_from(host.to_string()).map_err(|_| "XKS_PROXY_INVALID_CONFIGURATION")?;
    let conn = ClientConnection::new(tls_config()?, name)
        .map_err(|_| "XKS_PROXY_INVALID_TLS_CONFIGURATION")?;
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(request).map_err(io_code)?;
    let mut answer = Vec::new();
    match Read::by_ref(&mut tls)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
    {
        Ok(_) => Ok(answer),
        // A proxy that closes without TLS's close_notify still gave its whole answer.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !answer.is_empty() => Ok(answer),
        Err(e) => Err(io_code(e)),
    }
}

/// The code of a failed exchange: TLS errors are the proxy's TLS configuration.
fn io_code(e: std::io::Error) -> &'static str {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => "XKS_PROXY_TIMED_OUT",
        ErrorKind::InvalidData => "XKS_PROXY_INVALID_TLS_CONFIGURATION",
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset => "XKS_PROXY_NOT_REACHABLE",
        _ if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            "XKS_PROXY_INVALID_TLS_CONFIGURATION"
        }
        _ => "XKS_PROXY_NOT_REACHABLE",
    }
}

/// A TLS client trusting the system's roots (or `SSL_CERT_FILE`'s).
fn tls_config() -> Result<Arc<ClientConfig>, &'static str> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| "XKS_PROXY_INVALID_TLS_CONFIGURATION")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The JSON object of a 200 answer; else the status and the proxy's `errorName`.
fn judge(answer: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or(Failure::Malformed)?;
    let status: u16 = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(Failure::Malformed)?;
    let json = serde_json::from_str::<serde_json::Value>(body).ok();
    match (status, json) {
        (200, Some(serde_json::Value::Object(map))) => Ok(map),
        (200, _) => Err(Failure::Malformed),
        (_, json) => Err(Failure::Refused(
            status,
            json.as_ref()
                .and_then(|j| j["errorName"].as_str())
                .map(str::to_string),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_as_aws_does() {
        let ok = judge(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{\"xksProxyFleetSize\":1}");
        assert_eq!(ok.map(|m| m.len()), Ok(1));
        assert_eq!(
            judge(b"HTTP/1.1 200 OK\r\n\r\nnot json"),
            Err(Failure::Malformed)
        );
        assert_eq!(
            judge(b"HTTP/1.1 404 Not Found\r\n\r\n{\"errorName\":\"KeyNotFoundException\"}"),
            Err(Failure::Refused(404, Some("KeyNotFoundException".into())))
        );
        assert_eq!(
            judge(b"HTTP/1.1 403 Forbidden\r\n\r\n<html>"),
            Err(Failure::Refused(403, None))
        );
        assert_eq!(judge(b"garbage"), Err(Failure::Malformed));
    }

    #[test]
    fn an_unresolvable_proxy_is_not_reachable() {
        let probe = Probe {
            uri_endpoint: "https://xks.invalid".into(),
            uri_path: "/kms/xks/v1".into(),
            region: "us-east-1".into(),
            access_key_id: "ABCDEFGHIJKLMNOPQRST".into(),
            secret: Zeroizing::new(vec![b'a'; 43]),
            operation: "ConnectCustomKeyStore",
            time: Utc::now(),
        };
        assert_eq!(health(&probe), Err("XKS_PROXY_NOT_REACHABLE"));
    }
}
