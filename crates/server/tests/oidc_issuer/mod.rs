//! A small OpenID Connect issuer for tests: keys generated per run (RSA and P-256), its
//! discovery document and JWKS served over HTTPS on loopback with a self-signed certificate
//! made by rcgen, and tokens signed with those keys.
#![allow(dead_code)]

use std::sync::Arc;

use aws_lc_rs::{
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        self, EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents,
        ECDSA_P256_SHA256_FIXED_SIGNING,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::{
    self,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// A signing key of the issuer (or of an impostor).
pub enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Key {
    pub fn rsa() -> Key {
        Key::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }

    pub fn ec() -> Key {
        Key::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    pub fn alg(&self) -> &'static str {
        match self {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        }
    }

    /// The public key as a JWK named `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        let b = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        match self {
            Key::Rsa(k) => {
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b(&c.n), "e": b(&c.e)})
            }
            Key::Ec(k) => {
                let p = k.public_key().as_ref();
                json!({"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256", "x": b(&p[1..33]), "y": b(&p[33..65])})
            }
        }
    }

    /// A compact JWS of `claims` with header `{"alg", "kid", "typ"}`.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": self.alg(), "kid": kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let sig = match self {
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .unwrap();
                sig
            }
            Key::Ec(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// A running issuer.
pub struct Issuer {
    /// `https://localhost:PORT/realms/test`: the `iss` of its tokens.
    pub url: String,
    /// SHA-1 (hex) of its self-signed certificate: the thumbprint to register.
    pub thumbprint: String,
    pub rsa: Key,
    pub ec: Key,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Issuer {
    /// Starts an issuer serving its discovery document and JWKS (`rsa-1`, `ec-1`).
    pub async fn start() -> Issuer {
        let cert = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        let der: CertificateDer<'static> = cert.cert.der().clone();
        let thumbprint =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der)
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("https://localhost:{port}/realms/test");
        let (rsa, ec) = (Key::rsa(), Key::ec());
        let discovery = json!({
            "issuer": url,
            "jwks_uri": format!("{url}/certs"),
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        })
        .to_string();
        let jwks = json!({"keys": [rsa.jwk("rsa-1"), ec.jwk("ec-1")]}).to_string();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, discovery, jwks) =
                    (acceptor.clone(), discovery.clone(), jwks.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or_default();
                    let (status, body) = match path {
                        "/realms/test/.well-known/openid-configuration" => ("200 OK", discovery),
                        "/realms/test/certs" => ("200 OK", jwks),
                        _ => ("404 Not Found", String::new()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Issuer {
            url,
            thumbprint,
            rsa,
            ec,
            task,
        }
    }

    /// The provider name (URL without `https://`): the prefix of its condition keys.
    pub fn name(&self) -> &str {
        self.url.trim_start_matches("https://")
    }

    /// Claims of a token for `sub` and `aud`, valid for ten minutes.
    pub fn claims(&self, sub: &str, aud: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"iss": self.url, "sub": sub, "aud": aud, "iat": now, "nbf": now, "exp": now + 600})
    }
}
