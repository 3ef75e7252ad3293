//! X.509 certificates as IAM accepts them: one PEM `CERTIFICATE` block that parses as a
//! certificate and is valid now (AWS refuses malformed or expired certificates with
//! `MalformedCertificate`).

use aws_lc_rs::{
    digest,
    rsa::KeyPair as RsaKeyPair,
    signature::{
        EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
    },
};
use chrono::{DateTime, Utc};
use x509_parser::{
    pem::parse_x509_pem,
    prelude::{ASN1Time, FromDer, X509Certificate},
};
use zeroize::Zeroizing;

/// A certificate that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    /// The DER encoding.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, hex (duplicate detection).
    pub digest: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// The subject public key's bits (PKCS#1 for RSA, the point for EC).
    pub key_bits: Vec<u8>,
}

/// Why a certificate body was refused: AWS's message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertError(pub String);

fn time(t: ASN1Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or_default()
}

/// Parses and checks a PEM certificate body at `now`.
pub fn parse(body: &str, now: DateTime<Utc>) -> Result<Cert, CertError> {
    let malformed = |what: &str| CertError(format!("Unable to parse certificate. {what}"));
    let (_, block) = parse_x509_pem(body.trim().as_bytes())
        .map_err(|_| malformed("Please ensure the certificate is in PEM format."))?;
    if block.label != "CERTIFICATE" {
        return Err(malformed("Please ensure the certificate is in PEM format."));
    }
    let (rest, cert) = X509Certificate::from_der(&block.contents)
        .map_err(|_| malformed("The certificate is not a valid X.509 certificate."))?;
    if !rest.is_empty() {
        return Err(malformed("The certificate has trailing data."));
    }
    let not_before = time(cert.validity().not_before);
    let not_after = time(cert.validity().not_after);
    if now > not_after {
        return Err(CertError(format!(
            "Certificate has expired: not valid after {not_after}"
        )));
    }
    if now < not_before {
        return Err(CertError(format!(
            "Certificate is not yet valid: not valid before {not_before}"
        )));
    }
    let key_bits = cert.public_key().subject_public_key.data.to_vec();
    let digest = digest::digest(&digest::SHA256, &block.contents)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Cert {
        der: block.contents.clone(),
        digest,
        not_before,
        not_after,
        key_bits,
    })
}

/// The public key bits of a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
fn private_key_bits(pem: &str) -> Option<Vec<u8>> {
    let (_, block) = parse_x509_pem(pem.trim().as_bytes()).ok()?;
    let der = Zeroizing::new(block.contents);
    let ecdsa = [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
    ];
    match block.label.as_str() {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der)
            .ok()
            .map(|k| k.public_key().as_ref().to_vec()),
        "EC PRIVATE KEY" => ecdsa.iter().find_map(|alg| {
            EcdsaKeyPair::from_private_key_der(alg, &der)
                .ok()
                .map(|k| k.public_key().as_ref().to_vec())
        }),
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der)
            .ok()
            .map(|k| k.public_key().as_ref().to_vec())
            .or_else(|| {
                ecdsa.iter().find_map(|alg| {
                    EcdsaKeyPair::from_pkcs8(alg, &der)
                        .ok()
                        .map(|k| k.public_key().as_ref().to_vec())
                })
            }),
        _ => None,
    }
}

/// Whether `pem` is an RSA private key (PKCS#8 or PKCS#1), the kind that unwraps the content
/// keys of encrypted SAML assertions.
pub fn is_rsa_private_key(pem: &str) -> bool {
    let Ok((_, block)) = parse_x509_pem(pem.trim().as_bytes()) else {
        return false;
    };
    let der = Zeroizing::new(block.contents);
    match block.label.as_str() {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der).is_ok(),
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der).is_ok(),
        _ => false,
    }
}

/// Why a private key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// It does not parse (`MalformedCertificate`).
    Malformed,
    /// It is not the certificate's key (`KeyPairMismatch`).
    Mismatch,
}

/// Checks that `private_key` (PEM) is the key of `cert`.
pub fn check_key(private_key: &str, cert: &Cert) -> Result<(), KeyRefusal> {
    match private_key_bits(private_key) {
        None => Err(KeyRefusal::Malformed),
        Some(bits) if bits == cert.key_bits => Ok(()),
        Some(_) => Err(KeyRefusal::Mismatch),
    }
}

/// Checks that every block of a PEM chain is a certificate.
pub fn check_chain(chain: &str) -> Result<(), CertError> {
    let mut rest = chain.trim().as_bytes();
    let mut n = 0;
    while !rest.is_empty() {
        let (r, block) = parse_x509_pem(rest)
            .map_err(|_| CertError("Unable to parse certificate chain.".into()))?;
        if block.label != "CERTIFICATE" || X509Certificate::from_der(&block.contents).is_err() {
            return Err(CertError("Unable to parse certificate chain.".into()));
        }
        rest = trim_start(r);
        n += 1;
    }
    if n == 0 {
        return Err(CertError("Unable to parse certificate chain.".into()));
    }
    Ok(())
}

fn trim_start(b: &[u8]) -> &[u8] {
    let first = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}
