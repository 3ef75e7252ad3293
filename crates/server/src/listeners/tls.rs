//! TLS for HTTPS listeners: one rustls server configuration per listener, built from its
//! security policy and its IAM server certificates (opened from IAM's seal when the runtime
//! loads the configuration, never written anywhere else).
//!
//! - Protocols and ciphers: the policy's, as far as rustls offers them (TLS 1.2 and 1.3, AEAD
//!   ciphers with ephemeral key exchange); a policy's TLS 1.0/1.1 and CBC or RSA-key-exchange
//!   ciphers are not served (docs/WAF.md, "HTTPS listeners").
//! - Certificates: the one whose names (DNS subject alternative names, else the common name)
//!   match the client's SNI, exactly first and then by wildcard, as ALB chooses; the default
//!   certificate otherwise.
//! - ALPN: `h2` and `http/1.1` when the load balancer offers HTTP/2 (`routing.http2.enabled`,
//!   its default), `http/1.1` alone otherwise.

use std::sync::Arc;

use anyhow::{anyhow, Context};
use rampart_services::elbv2::{access_log::TlsFacts, runtime::TlsSpec, ssl_policies};
use rampart_store::Store;
use tokio_rustls::rustls::{
    self,
    crypto::{aws_lc_rs, CryptoProvider},
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
    CipherSuite, ProtocolVersion, ServerConfig, ServerConnection, SupportedProtocolVersion,
};

/// OpenSSL's name of each cipher suite rustls offers (AWS's policies use these names).
const SUITE_NAMES: [(CipherSuite, &str); 9] = [
    (
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        "TLS_AES_128_GCM_SHA256",
    ),
    (
        CipherSuite::TLS13_AES_256_GCM_SHA384,
        "TLS_AES_256_GCM_SHA384",
    ),
    (
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        "TLS_CHACHA20_POLY1305_SHA256",
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
];

fn openssl_name(suite: CipherSuite) -> Option<&'static str> {
    SUITE_NAMES
        .iter()
        .find(|(s, _)| *s == suite)
        .map(|(_, name)| *name)
}

/// The crypto provider and protocol versions a policy allows, as rustls offers them.
fn policy_provider(
    policy: &ssl_policies::SslPolicy,
) -> anyhow::Result<(CryptoProvider, Vec<&'static SupportedProtocolVersion>)> {
    let mut provider = aws_lc_rs::default_provider();
    provider.cipher_suites.retain(|s| {
        openssl_name(s.suite()).is_some_and(|name| policy.ciphers().any(|c| c == name))
    });
    let mut versions = Vec::new();
    if policy.protocols.contains(&"TLSv1.3") {
        versions.push(&rustls::version::TLS13);
    }
    if policy.protocols.contains(&"TLSv1.2") {
        versions.push(&rustls::version::TLS12);
    }
    if versions.is_empty() || provider.cipher_suites.is_empty() {
        return Err(anyhow!(
            "policy {} offers nothing rustls serves",
            policy.name
        ));
    }
    Ok((provider, versions))
}

/// A certificate with the names it answers for.
#[derive(Debug)]
struct Named {
    arn: String,
    names: Vec<String>,
    key: Arc<CertifiedKey>,
}

/// Chooses the certificate by SNI.
#[derive(Debug)]
struct BySni {
    /// The default certificate first.
    certs: Vec<Named>,
}

/// Whether `pattern` (a certificate name, maybe `*.example.com`) covers `host`.
fn covers(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

impl BySni {
    /// The certificate whose names match `host`, exactly first and then by wildcard.
    fn matching(&self, host: Option<&str>) -> Option<&Named> {
        let host = host?;
        let exact = self.certs.iter().find(|c| {
            c.names
                .iter()
                .any(|n| !n.starts_with("*.") && covers(n, host))
        });
        exact.or_else(|| {
            self.certs
                .iter()
                .find(|c| c.names.iter().any(|n| covers(n, host)))
        })
    }

    fn choose(&self, host: Option<&str>) -> Option<Arc<CertifiedKey>> {
        self.matching(host)
            .or_else(|| self.certs.first())
            .map(|c| c.key.clone())
    }
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.choose(hello.server_name())
    }
}

/// The DNS names of a leaf certificate: its DNS subject alternative names, else its common
/// name.
fn names_of(leaf: &CertificateDer<'_>) -> Vec<String> {
    use x509_parser::{extensions::GeneralName, prelude::FromDer};
    let Ok((_, cert)) = x509_parser::certificate::X509Certificate::from_der(leaf.as_ref()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string)),
        );
    }
    names
}

/// Opens one certificate for serving.
async fn load(
    store: &Store,
    provider: &CryptoProvider,
    account: &str,
    arn: &str,
) -> anyhow::Result<Named> {
    let opened = rampart_services::iam::server_certs::for_serving(store, account, arn)
        .await
        .map_err(|e| anyhow!("{}", e.code))?
        .ok_or_else(|| anyhow!("certificate {arn} no longer exists"))?;
    let mut chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(opened.body.as_bytes())
            .collect::<Result<_, _>>()
            .with_context(|| format!("certificate {arn} is not PEM"))?;
    if let Some(more) = &opened.chain {
        for c in CertificateDer::pem_slice_iter(more.as_bytes()) {
            chain.push(c.with_context(|| format!("the chain of {arn} is not PEM"))?);
        }
    }
    let names = chain.first().map(names_of).unwrap_or_default();
    let key = PrivateKeyDer::from_pem_slice(&opened.private_key)
        .map_err(|_| anyhow!("the private key of {arn} does not parse"))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| anyhow!("the private key of {arn} is not usable: {e}"))?;
    Ok(Named {
        arn: arn.to_string(),
        names,
        key: Arc::new(CertifiedKey::new(chain, signing)),
    })
}

/// An HTTPS listener's TLS: its server configuration and its certificates.
#[derive(Debug)]
pub struct ListenerTls {
    /// The rustls configuration.
    pub config: Arc<ServerConfig>,
    certs: Arc<BySni>,
}

impl ListenerTls {
    /// What an access log entry says of an established session: cipher and protocol, the
    /// SNI name when a certificate matched it, and the certificate presented.
    pub fn facts(&self, conn: &ServerConnection) -> TlsFacts {
        let sni = conn.server_name();
        let matched = self.certs.matching(sni);
        let presented = matched.or_else(|| self.certs.certs.first());
        TlsFacts {
            cipher: conn
                .negotiated_cipher_suite()
                .and_then(|s| openssl_name(s.suite()))
                .unwrap_or("-")
                .to_string(),
            protocol: match conn.protocol_version() {
                Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
                Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
                _ => "-",
            }
            .to_string(),
            domain: matched.and(sni).map(str::to_string),
            certificate_arn: presented.map_or_else(|| "-".to_string(), |c| c.arn.clone()),
        }
    }
}

/// The TLS of one HTTPS listener; `http2` offers `h2` by ALPN before `http/1.1`.
pub async fn server_config(
    store: &Store,
    account: &str,
    spec: &TlsSpec,
    http2: bool,
) -> anyhow::Result<Arc<ListenerTls>> {
    let policy = ssl_policies::find(&spec.policy)
        .or_else(|| ssl_policies::find(ssl_policies::DEFAULT))
        .ok_or_else(|| anyhow!("no security policy {}", spec.policy))?;
    let (provider, versions) = policy_provider(policy)?;
    let mut certs = Vec::new();
    for arn in &spec.certificates {
        certs.push(load(store, &provider, account, arn).await?);
    }
    if certs.is_empty() {
        return Err(anyhow!("an HTTPS listener without a certificate"));
    }
    let certs = Arc::new(BySni { certs });
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions)?
        .with_no_client_auth()
        .with_cert_resolver(certs.clone());
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(ListenerTls {
        config: Arc::new(config),
        certs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.example.com", "api.example.com"));
        assert!(covers("*.example.com", "API.Example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(covers("example.com", "EXAMPLE.com"));
        assert!(!covers("example.com", "www.example.com"));
    }

    #[test]
    fn policies_map_to_what_rustls_serves() {
        let Some(tls13) = ssl_policies::find("ELBSecurityPolicy-TLS13-1-3-2021-06") else {
            panic!("a TLS 1.3 policy");
        };
        let (provider, versions) = policy_provider(tls13).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(versions.len(), 1);
        assert!(provider
            .cipher_suites
            .iter()
            .all(|s| s.version() == &rustls::version::TLS13));
        let Some(legacy) = ssl_policies::find(ssl_policies::DEFAULT) else {
            panic!("the default policy");
        };
        let (provider, versions) = policy_provider(legacy).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            versions.len(),
            1,
            "TLS 1.2 only; 1.0 and 1.1 are not served"
        );
        assert_eq!(provider.cipher_suites.len(), 4, "the ECDHE GCM ciphers");
        for p in ssl_policies::POLICIES {
            assert!(policy_provider(p).is_ok(), "{}", p.name);
        }
    }
}
