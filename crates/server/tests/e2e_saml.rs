//! End-to-end SAML federation with aws-sdk-rust: a test identity provider (an RSA key and
//! certificate made per run, its metadata registered with `CreateSAMLProvider`) signs
//! responses with libxmlsec1, and `AssumeRoleWithSAML` accepts them and refuses tampered,
//! foreign-signed, expired, misaddressed and unpaired ones with AWS's errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

mod support;

use aws_sdk_iam::error::ProvideErrorMetadata;
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::json;
use support::Server;

const ENTITY_ID: &str = "https://idp.example.test/saml";
const SIGNIN: &str = "https://signin.aws.amazon.com/saml";

/// A test identity provider's key (PEM) and certificate (DER).
struct Idp {
    key_pem: String,
    cert_der: Vec<u8>,
}

impl Idp {
    fn new() -> Idp {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["idp.example.test".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        Idp {
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }

    fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{ENTITY_ID}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
            STANDARD.encode(&self.cert_der)
        )
    }

    /// A response for `subject` pairing `role` with `provider`, valid for `secs`, addressed
    /// to `audience`, signed (the assertion) with this identity provider's key; base64.
    fn response(
        &self,
        subject: &str,
        role: &str,
        provider: &str,
        secs: i64,
        audience: &str,
    ) -> String {
        let now = chrono::Utc::now();
        let t = |d: i64| {
            (now + chrono::Duration::seconds(d))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        let attr = |name: &str, value: &str| {
            format!(
                r#"<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/{name}"><saml:AttributeValue>{value}</saml:AttributeValue></saml:Attribute>"#
            )
        };
        let xml = format!(
            r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{now}" Destination="{SIGNIN}"><saml:Issuer>{ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a1" Version="2.0" IssueInstant="{now}"><saml:Issuer>{ENTITY_ID}</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_a1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{end}" Recipient="{SIGNIN}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{start}" NotOnOrAfter="{end}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement>{roles}{name}{tag}</saml:AttributeStatement></saml:Assertion></samlp:Response>"##,
            now = t(0),
            start = t(-60),
            end = t(secs),
            roles = attr("Role", &format!("{role},{provider}")),
            name = attr("RoleSessionName", subject),
            tag = attr("PrincipalTag:dept", "eng"),
        );
        let signed = rampart_xmldsig::sign(xml.as_bytes(), self.key_pem.as_bytes()).unwrap();
        STANDARD.encode(signed)
    }
}

#[tokio::test]
async fn saml_assertions_are_verified_against_the_providers_metadata() {
    let server = Server::start(&[]);
    let iam = server.iam(&server.root_key, &server.root_secret).await;
    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let idp = Idp::new();

    // Bad metadata is refused with IAM's error and creates nothing.
    let bad = iam
        .create_saml_provider()
        .name("Broken")
        .saml_metadata_document(format!("<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\">{}</md:EntityDescriptor>", " ".repeat(1000)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("InvalidInput"));

    let provider_arn = iam
        .create_saml_provider()
        .name("Corp")
        .saml_metadata_document(idp.metadata())
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("env")
                .value("test")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateSAMLProvider")
        .saml_provider_arn()
        .unwrap()
        .to_string();
    assert!(provider_arn.ends_with(":saml-provider/Corp"));
    let got = iam
        .get_saml_provider()
        .saml_provider_arn(&provider_arn)
        .send()
        .await
        .expect("GetSAMLProvider");
    assert_eq!(got.saml_metadata_document(), Some(idp.metadata().as_str()));
    assert_eq!(got.tags().len(), 1);
    let listed = iam
        .list_saml_providers()
        .send()
        .await
        .expect("ListSAMLProviders");
    assert_eq!(listed.saml_provider_list().len(), 1);
    let dup = iam
        .create_saml_provider()
        .name("Corp")
        .saml_metadata_document(idp.metadata())
        .send()
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Some("EntityAlreadyExists"));

    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {"StringEquals": {"SAML:aud": SIGNIN}, "StringLike": {"saml:sub": "emp-*"}},
        }],
    });
    let role_arn = iam
        .create_role()
        .role_name("Employees")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole")
        .role()
        .unwrap()
        .arn()
        .to_string();
    let assume = |assertion: String| {
        sts.assume_role_with_saml()
            .role_arn(&role_arn)
            .principal_arn(&provider_arn)
            .saml_assertion(assertion)
            .send()
    };
    let refused = |e: aws_sdk_sts::error::SdkError<_>| {
        let e: aws_sdk_sts::operation::assume_role_with_saml::AssumeRoleWithSAMLError =
            e.into_service_error();
        e.code().unwrap_or_default().to_string()
    };

    let out = assume(idp.response("emp-7", &role_arn, &provider_arn, 300, SIGNIN))
        .await
        .expect("AssumeRoleWithSAML");
    assert_eq!(out.subject(), Some("emp-7"));
    assert_eq!(out.subject_type(), Some("persistent"));
    assert_eq!(out.issuer(), Some(ENTITY_ID));
    assert_eq!(out.audience(), Some(SIGNIN));
    assert!(out.name_qualifier().is_some_and(|q| q.len() == 28));
    assert!(out
        .assumed_role_user()
        .unwrap()
        .arn()
        .ends_with(":assumed-role/Employees/emp-7"));
    assert!(out
        .credentials()
        .unwrap()
        .access_key_id()
        .starts_with("ASIA"));

    // Tampered after signing: another subject.
    let good = String::from_utf8(
        STANDARD
            .decode(idp.response("emp-7", &role_arn, &provider_arn, 300, SIGNIN))
            .unwrap(),
    )
    .unwrap();
    let tampered = STANDARD.encode(good.replace(">emp-7<", ">emp-admin<"));
    assert_eq!(
        refused(assume(tampered).await.unwrap_err()),
        "InvalidIdentityToken"
    );
    // Signed by a key that is not in the metadata.
    let other = Idp::new().response("emp-7", &role_arn, &provider_arn, 300, SIGNIN);
    assert_eq!(
        refused(assume(other).await.unwrap_err()),
        "InvalidIdentityToken"
    );
    // Expired.
    let expired = idp.response("emp-7", &role_arn, &provider_arn, -30, SIGNIN);
    assert_eq!(
        refused(assume(expired).await.unwrap_err()),
        "ExpiredTokenException"
    );
    // Addressed to another service provider.
    let elsewhere = idp.response(
        "emp-7",
        &role_arn,
        &provider_arn,
        300,
        "https://sp.example.test",
    );
    assert_eq!(
        refused(assume(elsewhere).await.unwrap_err()),
        "InvalidIdentityToken"
    );
    // The Role attribute names another role.
    let other_role = role_arn.replace("Employees", "Admins");
    let unpaired = idp.response("emp-7", &other_role, &provider_arn, 300, SIGNIN);
    assert_eq!(refused(assume(unpaired).await.unwrap_err()), "AccessDenied");
    // The trust policy's saml:sub condition does not match.
    let outsider = idp.response("contractor-1", &role_arn, &provider_arn, 300, SIGNIN);
    assert_eq!(refused(assume(outsider).await.unwrap_err()), "AccessDenied");
    // Not base64 / not signed.
    assert_eq!(
        refused(assume("%%%%".into()).await.unwrap_err()),
        "InvalidIdentityToken"
    );

    // The provider can be updated and deleted; then its assertions no longer work.
    iam.update_saml_provider()
        .saml_provider_arn(&provider_arn)
        .saml_metadata_document(idp.metadata())
        .send()
        .await
        .expect("UpdateSAMLProvider");
    iam.delete_saml_provider()
        .saml_provider_arn(&provider_arn)
        .send()
        .await
        .expect("DeleteSAMLProvider");
    let gone = iam
        .get_saml_provider()
        .saml_provider_arn(&provider_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("NoSuchEntity"));
    let after = idp.response("emp-7", &role_arn, &provider_arn, 300, SIGNIN);
    assert_eq!(
        refused(assume(after).await.unwrap_err()),
        "InvalidIdentityToken"
    );
}
