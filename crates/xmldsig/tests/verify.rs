//! libxmlsec1 through the bridge: real identity-provider output verifies, and any change,
//! other key, wrapped copy or disallowed reference is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

use base64::{engine::general_purpose::STANDARD, Engine};
use rampart_xmldsig::{sign, verify, XmlDsigError};

fn fixture() -> (Vec<u8>, Vec<u8>) {
    let b64 = include_str!("fixtures/signed_assertion_response.xml.base64");
    let xml = STANDARD.decode(b64.trim()).unwrap();
    let cert = include_bytes!("fixtures/signed_assertion_response.cert.der").to_vec();
    (xml, cert)
}

#[test]
fn a_real_identity_providers_signed_assertion_verifies() {
    let (xml, cert) = fixture();
    let signed = verify(&xml, &[cert]).expect("SimpleSAMLphp's signature verifies");
    let text = String::from_utf8(signed).unwrap();
    // The signed bytes are the assertion alone, canonical, without its signature.
    assert!(text.starts_with("<saml:Assertion"), "{text}");
    assert!(text.contains("test@example.com"));
    assert!(!text.contains("SignatureValue"));
    assert!(!text.contains("samlp:Status"));
}

#[test]
fn a_changed_value_or_another_certificate_is_refused() {
    let (xml, cert) = fixture();
    let text = String::from_utf8(xml.clone()).unwrap();
    let changed = text.replace("test@example.com", "root@example.com");
    assert_eq!(
        verify(changed.as_bytes(), std::slice::from_ref(&cert)),
        Err(XmlDsigError::Invalid)
    );
    let other = rcgen::generate_simple_self_signed(vec!["idp".to_string()]).unwrap();
    assert_eq!(
        verify(&xml, &[other.cert.der().to_vec()]),
        Err(XmlDsigError::Invalid)
    );
    // The first certificate that verifies is enough.
    assert!(verify(&xml, &[other.cert.der().to_vec(), cert.clone()]).is_ok());
    assert_eq!(
        verify(&xml, &[b"not a certificate".to_vec()]),
        Err(XmlDsigError::Key)
    );
    assert_eq!(
        verify(b"<a><b></a>", std::slice::from_ref(&cert)),
        Err(XmlDsigError::Parse)
    );
    let dtd = format!("<!DOCTYPE x [<!ENTITY e \"x\">]>{text}");
    assert_eq!(verify(dtd.as_bytes(), &[cert]), Err(XmlDsigError::Parse));
}

#[test]
fn a_wrapped_copy_outside_the_signature_is_never_what_is_returned() {
    // The attacker keeps the signed assertion (moved into an extension) and puts a forged one
    // first: the signature still verifies, and the returned bytes are the signed original.
    let (xml, cert) = fixture();
    let text = String::from_utf8(xml).unwrap();
    let start = text.find("<saml:Assertion").unwrap();
    let end = text.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let original = &text[start..end];
    let sig_start = original.find("<ds:Signature").unwrap();
    let sig_end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let forged = format!("{}{}", &original[..sig_start], &original[sig_end..])
        .replace("test@example.com", "admin@example.com")
        .replace("pfxd3dd23b1", "evil");
    let wrapped = format!(
        "{}{}<samlp:Extensions>{}</samlp:Extensions>{}",
        &text[..start],
        forged,
        original,
        &text[end..]
    );
    match verify(wrapped.as_bytes(), &[cert]) {
        Ok(signed) => {
            let signed = String::from_utf8(signed).unwrap();
            assert!(!signed.contains("admin@example.com"), "{signed}");
        }
        Err(e) => assert!(
            matches!(e, XmlDsigError::NoSignature | XmlDsigError::Invalid),
            "{e:?}"
        ),
    }
}

const TEMPLATE: &str = r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://idp.example.com</saml:Issuer><saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://idp.example.com</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="REF"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature><saml:Subject><saml:NameID>alice</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"##;

fn rsa_identity() -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["idp.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (key.serialize_pem(), cert.der().to_vec())
}

#[test]
fn a_template_signed_here_verifies_and_only_same_document_references_are_allowed() {
    let (key, cert) = rsa_identity();
    let signed = sign(TEMPLATE.replace("REF", "#_a1").as_bytes(), key.as_bytes()).unwrap();
    let covered = String::from_utf8(verify(&signed, std::slice::from_ref(&cert)).unwrap()).unwrap();
    assert!(
        covered.contains("<saml:NameID>alice</saml:NameID>"),
        "{covered}"
    );
    let text = String::from_utf8(signed).unwrap();
    let changed = text.replace(">alice<", ">mallory<");
    assert_eq!(
        verify(changed.as_bytes(), std::slice::from_ref(&cert)),
        Err(XmlDsigError::Invalid)
    );
    // A reference to a remote document is not followed.
    let remote = TEMPLATE.replace("REF", "http://127.0.0.1:1/doc.xml");
    assert!(sign(remote.as_bytes(), key.as_bytes()).is_err());
    // Unsigned documents are refused.
    let unsigned = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>";
    assert_eq!(
        verify(unsigned.as_bytes(), &[cert]),
        Err(XmlDsigError::NoSignature)
    );
}
