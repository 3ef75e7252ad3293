//! HTTPS GETs to an OpenID Connect issuer, with AWS's certificate rule: a certificate that
//! chains to a trusted root (the system's store) is accepted; otherwise the SHA-1 thumbprint
//! of a certificate the issuer presents (the top of its chain, as AWS documents; for a
//! self-signed issuer, its own certificate) must be one of the provider's thumbprints, and
//! the chain, names and dates are then checked with that certificate as the root.

use std::{
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use aws_lc_rs::digest;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    client::WebPkiServerVerifier,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, ServerName, UnixTime},
    DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::net::TcpStream;

/// Largest document read from an issuer.
const MAX_BODY: usize = 1 << 20;
/// Time allowed for one GET, connection included.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The certificate is not trusted and matches none of the provider's thumbprints.
    #[error("the issuer's certificate matches no configured thumbprint")]
    Thumbprint,
    /// The issuer could not be reached or did not answer 200 with a body.
    #[error("the issuer could not be reached: {0}")]
    Unreachable(String),
}

/// A URL as the GET needs it: host, port and path.
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn target(url: &str) -> Result<Target, FetchError> {
    let bad = || FetchError::Unreachable(format!("not an https URL: {url}"));
    let rest = url.strip_prefix("https://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse::<u16>().map_err(|_| bad())?)
        }
        _ => (authority, 443),
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Target {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
        path: path.to_string(),
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The verifier of the system's trusted roots, loaded once; `None` when the system has none.
fn system_roots() -> Option<Arc<WebPkiServerVerifier>> {
    static ROOTS: OnceLock<Option<Arc<WebPkiServerVerifier>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
                .build()
                .ok()
        })
        .clone()
}

/// The lower-case hex SHA-1 of a certificate, as IAM shows thumbprints.
pub fn thumbprint(cert: &[u8]) -> String {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Trusted roots first, then the provider's thumbprints.
#[derive(Debug)]
struct PinningVerifier {
    thumbprints: Vec<String>,
    provider: Arc<CryptoProvider>,
    /// Set when a certificate was refused for matching no thumbprint.
    unpinned: Arc<Mutex<bool>>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = system_roots() {
            if let Ok(ok) =
                roots.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            {
                return Ok(ok);
            }
        }
        // The top of the chain first, as AWS takes the thumbprint of the top certificate.
        let chain = std::iter::once(end_entity).chain(intermediates).rev();
        for cert in chain {
            if !self.thumbprints.iter().any(|t| *t == thumbprint(cert)) {
                continue;
            }
            let mut store = RootCertStore::empty();
            store
                .add(cert.clone().into_owned())
                .map_err(|e| rustls::Error::General(format!("pinned certificate: {e}")))?;
            let pinned =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), self.provider.clone())
                    .build()
                    .map_err(|e| rustls::Error::General(e.to_string()))?;
            return pinned.verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        }
        if let Ok(mut flag) = self.unpinned.lock() {
            *flag = true;
        }
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// GETs `url` over HTTPS under the certificate rule above; the body of a 200 answer.
pub async fn get(url: &str, thumbprints: &[String]) -> Result<Bytes, FetchError> {
    tokio::time::timeout(TIMEOUT, get_now(url, thumbprints))
        .await
        .map_err(|_| FetchError::Unreachable(format!("{url}: timed out")))?
}

async fn get_now(url: &str, thumbprints: &[String]) -> Result<Bytes, FetchError> {
    let t = target(url)?;
    let unreachable = |e: &dyn std::fmt::Display| FetchError::Unreachable(format!("{url}: {e}"));
    let unpinned = Arc::new(Mutex::new(false));
    let verifier = PinningVerifier {
        thumbprints: thumbprints.iter().map(|t| t.to_ascii_lowercase()).collect(),
        provider: provider(),
        unpinned: unpinned.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| unreachable(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let name = ServerName::try_from(t.host.clone()).map_err(|e| unreachable(&e))?;
    let tcp = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| unreachable(&e))?;
    let tls = match tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
    {
        Ok(tls) => tls,
        Err(e) => {
            if unpinned.lock().map(|f| *f).unwrap_or(false) {
                return Err(FetchError::Thumbprint);
            }
            return Err(unreachable(&e));
        }
    };
    let io = hyper_util::rt::TokioIo::new(tls);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| unreachable(&e))?;
    let driver = tokio::spawn(conn);
    let host_header = if t.port == 443 {
        t.host.clone()
    } else {
        format!("{}:{}", t.host, t.port)
    };
    let request = hyper::Request::get(t.path.as_str())
        .header(hyper::header::HOST, host_header)
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, "rampart-sts")
        .body(Empty::<Bytes>::new())
        .map_err(|e| unreachable(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(&e))?;
    if response.status() != hyper::StatusCode::OK {
        driver.abort();
        return Err(unreachable(&format!("HTTP {}", response.status())));
    }
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| unreachable(&e))?
        .to_bytes();
    driver.abort();
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let t =
            target("https://issuer.example.com/realms/x/.well-known/openid-configuration").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            (
                "issuer.example.com",
                443,
                "/realms/x/.well-known/openid-configuration"
            )
        );
        let t = target("https://localhost:8443").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("localhost", 8443, "/")
        );
        assert!(target("http://issuer.example.com/").is_err());
        assert!(target("https://:443/").is_err());
    }

    #[test]
    fn thumbprints_are_lower_case_sha1_hex() {
        assert_eq!(
            thumbprint(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
