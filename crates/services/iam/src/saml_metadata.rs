//! SAML 2.0 identity-provider metadata as IAM reads it: one `EntityDescriptor` (its
//! `entityID` and optional `validUntil`) with an `IDPSSODescriptor` whose signing
//! certificates (`KeyDescriptor` without `use` or with `use="signing"`) verify assertions.

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use quick_xml::{events::Event, Reader};

/// What IAM keeps from a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The identity provider's entity id (the `Issuer` of its assertions).
    pub entity_id: String,
    /// The signing certificates (DER).
    pub certificates: Vec<Vec<u8>>,
    /// `validUntil`, if given.
    pub valid_until: Option<DateTime<Utc>>,
}

/// Parses and checks a metadata document; the error is the reason it is refused.
pub fn parse(xml: &str) -> Result<Metadata, String> {
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err("a DTD is not allowed".into());
    }
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut entity_id = None;
    let mut valid_until = None;
    let mut idp = false;
    let mut signing_key = false;
    let mut in_cert = false;
    let mut cert_text = String::new();
    let mut certificates = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                let attr = |key: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == key)
                        .and_then(|a| a.unescape_value().ok().map(|v| v.to_string()))
                };
                match name.as_str() {
                    "EntityDescriptor" if path.is_empty() => {
                        entity_id = attr(b"entityID");
                        if let Some(v) = attr(b"validUntil") {
                            valid_until = Some(
                                DateTime::parse_from_rfc3339(&v)
                                    .map_err(|_| format!("validUntil {v} is not a date"))?
                                    .with_timezone(&Utc),
                            );
                        }
                    }
                    "EntityDescriptor" | "EntitiesDescriptor" => {
                        return Err("exactly one EntityDescriptor is expected".into());
                    }
                    "IDPSSODescriptor" => idp = true,
                    "KeyDescriptor" if idp => {
                        signing_key = attr(b"use").is_none_or(|u| u == "signing");
                    }
                    "X509Certificate" if signing_key => {
                        in_cert = true;
                        cert_text.clear();
                    }
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                }
            }
            Event::Text(t) if in_cert => {
                cert_text.push_str(&t.unescape().map_err(|e| e.to_string())?);
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                match name.as_str() {
                    "X509Certificate" if in_cert => {
                        in_cert = false;
                        let b64: String = cert_text.split_whitespace().collect();
                        let der = STANDARD
                            .decode(b64)
                            .map_err(|_| "a certificate is not base64".to_string())?;
                        rampart_xmldsig::check_certificate(&der).map_err(|e| match e {
                            rampart_xmldsig::XmlDsigError::Unavailable => e.to_string(),
                            _ => {
                                "a signing certificate is not a valid X.509 certificate".to_string()
                            }
                        })?;
                        certificates.push(der);
                    }
                    "KeyDescriptor" => signing_key = false,
                    "IDPSSODescriptor" => idp = false,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let entity_id = entity_id
        .filter(|e| !e.is_empty())
        .ok_or_else(|| "the EntityDescriptor has no entityID".to_string())?;
    if certificates.is_empty() {
        return Err("the IDPSSODescriptor has no signing certificate".into());
    }
    Ok(Metadata {
        entity_id,
        certificates,
        valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real identity provider's signing certificate (see crates/xmldsig/tests/README.md).
    const CERT: &[u8] =
        include_bytes!("../../../xmldsig/tests/fixtures/signed_assertion_response.cert.der");

    fn metadata(key_descriptor_use: &str, cert: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com" validUntil="2030-01-01T00:00:00Z"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor{key_descriptor_use}><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>
{cert}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    }

    #[test]
    fn signing_certificates_entity_id_and_validity_are_read() {
        let b64 = STANDARD.encode(CERT);
        for use_ in ["", r#" use="signing""#] {
            let m = parse(&metadata(use_, &b64)).unwrap();
            assert_eq!(m.entity_id, "https://idp.example.com");
            assert_eq!(m.certificates, [CERT.to_vec()]);
            assert_eq!(
                m.valid_until.unwrap().to_rfc3339(),
                "2030-01-01T00:00:00+00:00"
            );
        }
    }

    #[test]
    fn metadata_iam_cannot_use_is_refused() {
        let b64 = STANDARD.encode(CERT);
        // Only an encryption key: nothing verifies assertions.
        assert!(parse(&metadata(r#" use="encryption""#, &b64)).is_err());
        // Not a certificate.
        assert!(parse(&metadata("", &STANDARD.encode(b"not a certificate"))).is_err());
        assert!(parse(&metadata("", "%%%")).is_err());
        // No entity id, a DTD, two entities, not XML.
        let good = metadata("", &b64);
        assert!(parse(&good.replace(r#"entityID="https://idp.example.com""#, "")).is_err());
        assert!(parse(&format!("<!DOCTYPE x>{good}")).is_err());
        let two = format!(
            r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{good}{good}</md:EntitiesDescriptor>"#
        );
        assert!(parse(&two).is_err());
        assert!(parse("<md:EntityDescriptor").is_err());
    }
}
