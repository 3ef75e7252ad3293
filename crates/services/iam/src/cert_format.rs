//! X.509 certificates as IAM accepts them: one PEM `CERTIFICATE` block that parses as a
//! certificate and is valid now (AWS refuses malformed or expired certificates with
//! `MalformedCertificate`).

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use x509_parser::{
    pem::parse_x509_pem,
    prelude::{ASN1Time, FromDer, X509Certificate},
};

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
    /// The subject public key (DER SubjectPublicKeyInfo).
    pub spki: Vec<u8>,
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
    let spki = cert.public_key().raw.to_vec();
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
        spki,
    })
}
