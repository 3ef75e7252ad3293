//! `AssumeRoleWithSAML`: an unsigned call whose proof is a SAML response signed by an IAM
//! SAML provider of the role's account.
//!
//! [`authenticate`] decrypts an encrypted assertion with the provider's private keys (XML
//! Encryption, libxmlsec1), then verifies the XML signature with the provider's metadata certificates
//! (libxmlsec1, [`rampart_xmldsig`]) and reads the assertion only from the bytes the
//! signature covers: issuer (the metadata's entity id), audience (AWS's sign-in endpoint),
//! `NotBefore`/`NotOnOrAfter`, the `Role` attribute (which must pair the requested role with
//! the provider), `RoleSessionName`, `SessionDuration`, `PrincipalTag:*`,
//! `TransitiveTagKeys` and `SourceIdentity`. The trust policy then decides with the `saml:*`
//! condition keys ([`crate::federated`]). The assertion is never logged or stored: its model
//! shape is sensitive, so the audit record hides it.

use aws_lc_rs::digest;
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use rampart_store::{PrincipalKind, Store};
use serde_json::{json, Value};

use crate::{
    assume_role::check_session_name,
    federated::{Proven, Tag},
    saml_assertion::{self, Assertion},
    StsError,
};
use rampart_iam::{saml_private_keys, saml_providers};
use rampart_kit::{
    context::{CallContext, ContextEntry, Prepared},
    db::Db,
    error::ServiceError,
    input::{missing_member, required},
    principal::Principal,
    route::{Extensions, Proof},
};

const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";
const NAME_ID_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
/// How far in the future `NotBefore` may lie (clock skew).
const CLOCK_SKEW_SECS: i64 = 300;
/// Attributes AWS turns into `saml:*` condition keys: (attribute OID, friendly name, key).
const ATTRIBUTE_KEYS: &[(&str, &str, &str)] = &[
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
        "eduPersonAffiliation",
        "saml:edupersonaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "eduPersonPrincipalName",
        "saml:edupersonprincipalname",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.7",
        "eduPersonEntitlement",
        "saml:edupersonentitlement",
    ),
    ("urn:oid:0.9.2342.19200300.100.1.1", "uid", "saml:uid"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail", "saml:mail"),
    ("urn:oid:2.5.4.3", "cn", "saml:commonName"),
    ("urn:oid:2.5.4.42", "givenName", "saml:givenName"),
    ("urn:oid:2.5.4.4", "sn", "saml:surname"),
];

fn invalid(message: impl Into<String>) -> ServiceError {
    StsError::InvalidIdentityToken(message.into()).into()
}

fn not_authorized() -> ServiceError {
    StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithSAML".into()).into()
}

/// Whether a URL is AWS's sign-in endpoint, where SAML responses for AWS are addressed.
fn is_signin(url: &str) -> bool {
    url == "https://signin.aws.amazon.com/saml"
        || url == "urn:amazon:webservices"
        || url
            .strip_prefix("https://")
            .and_then(|r| r.strip_suffix(".signin.aws.amazon.com/saml"))
            .is_some_and(|region| !region.is_empty() && !region.contains('/'))
}

/// Verifies the assertion and names the caller (see the module's documentation).
pub async fn authenticate(
    input: &Value,
    ctx: &CallContext,
    store: &Store,
    _extensions: &Extensions,
) -> Result<Proof, ServiceError> {
    let role_arn = required(input, "RoleArn", missing_member)?;
    let provider_arn = required(input, "PrincipalArn", missing_member)?;
    let encoded = required(input, "SAMLAssertion", missing_member)?;
    let Some(account) = ctx
        .partition()
        .strip_iam_arn(provider_arn)
        .and_then(|r| r.split(':').next())
    else {
        return Err(invalid("The PrincipalArn is not a SAML provider ARN."));
    };
    let mut db = Db::Read(store);
    let Some((provider, doc, metadata)) =
        saml_providers::by_arn(&mut db, account, provider_arn).await?
    else {
        return Err(invalid(format!(
            "SAML provider {provider_arn} does not exist."
        )));
    };
    let compact: String = encoded.split_whitespace().collect();
    let xml = STANDARD
        .decode(compact)
        .map_err(|_| invalid("Invalid base64 SAMLResponse"))?;
    let xml = decrypted(&db, &doc, xml)?;
    let signed = rampart_xmldsig::verify(&xml, &metadata.certificates).map_err(|e| match e {
        rampart_xmldsig::XmlDsigError::NoSignature => invalid("Response is not signed"),
        rampart_xmldsig::XmlDsigError::Parse => {
            invalid("Invalid SAML response: not well-formed XML")
        }
        rampart_xmldsig::XmlDsigError::Unavailable => invalid(e.to_string()),
        _ => invalid("Response signature invalid"),
    })?;
    let assertion = saml_assertion::read(&signed)
        .map_err(|why| invalid(format!("Invalid SAML response: {why}")))?;
    check(&assertion, &metadata.entity_id, ctx.now)?;
    if !pairs_role(&assertion, role_arn, provider_arn) {
        return Err(not_authorized());
    }
    let session_name = assertion
        .attribute(&format!("{ATTR}RoleSessionName"))
        .and_then(|v| v.first())
        .ok_or_else(|| invalid("The SAML assertion has no RoleSessionName attribute."))?
        .clone();
    check_session_name(&session_name, "roleSessionName", 64)
        .map_err(|e| invalid(format!("RoleSessionName attribute: {}", e.message)))?;
    let session_duration = match assertion
        .attribute(&format!("{ATTR}SessionDuration"))
        .and_then(|v| v.first())
    {
        Some(d) => Some(
            d.parse::<i64>()
                .ok()
                .filter(|d| (900..=43200).contains(d))
                .ok_or_else(|| {
                    invalid("SessionDuration attribute must be 900 to 43200 seconds.")
                })?,
        ),
        None => None,
    };
    let (tags, transitive) = session_tags(&assertion)?;
    let provider_name = &provider.name;
    let qualifier = name_qualifier(&assertion.issuer, account, provider_name);
    let subject_type = assertion
        .name_id_format
        .as_deref()
        .map(|f| f.strip_prefix(NAME_ID_PREFIX).unwrap_or(f).to_string())
        .unwrap_or_else(|| "unspecified".into());
    let audience = assertion
        .recipient
        .clone()
        .unwrap_or_else(|| "https://signin.aws.amazon.com/saml".into());
    let keys = condition_keys(
        &assertion,
        &subject_type,
        &qualifier,
        &audience,
        account,
        provider_name,
    );
    let proven = Proven {
        action: "sts:AssumeRoleWithSAML",
        provider_arn: provider.arn.clone(),
        keys,
        tags,
        transitive,
        source_identity: assertion
            .attribute(&format!("{ATTR}SourceIdentity"))
            .and_then(|v| v.first())
            .cloned(),
        session_name: Some(session_name),
        session_duration,
        output: json!({
            "Subject": assertion.name_id,
            "SubjectType": subject_type,
            "Issuer": assertion.issuer,
            "Audience": audience,
            "NameQualifier": qualifier,
        }),
    };
    Ok(Proof {
        principal: Principal::federated(
            PrincipalKind::SamlUser,
            account,
            &provider.arn,
            format!("{qualifier}:{}", assertion.name_id),
            assertion.name_id.clone(),
        ),
        facts: Prepared::of(proven),
    })
}

/// The response with its encrypted assertion decrypted by one of the provider's private keys;
/// a plaintext assertion as it is, unless the provider requires encryption.
fn decrypted(
    db: &Db<'_>,
    provider: &saml_providers::SamlProviderDoc,
    xml: Vec<u8>,
) -> Result<Vec<u8>, ServiceError> {
    let keys = saml_private_keys::open(db, &provider.uuid, &provider.private_keys)?;
    let pems: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    match rampart_xmldsig::decrypt(&xml, &pems) {
        Ok(Some(plain)) => Ok(plain),
        Ok(None) if provider.encryption_mode.as_deref() == Some("Required") => Err(invalid(
            "The SAML provider requires encrypted assertions: the assertion is not encrypted.",
        )),
        Ok(None) => Ok(xml),
        Err(rampart_xmldsig::XmlDsigError::Parse) => {
            Err(invalid("Invalid SAML response: not well-formed XML"))
        }
        Err(e @ rampart_xmldsig::XmlDsigError::Unavailable) => Err(invalid(e.to_string())),
        Err(_) => Err(invalid(
            "Unable to decrypt the SAML assertion with the provider's private keys.",
        )),
    }
}

/// Issuer, status, audience, recipient and validity window.
fn check(a: &Assertion, entity_id: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
    if a.status
        .as_deref()
        .is_some_and(|s| s != "urn:oasis:names:tc:SAML:2.0:status:Success")
    {
        return Err(invalid("The SAML response does not report success."));
    }
    if a.issuer != entity_id {
        return Err(invalid(format!(
            "Issuer {} does not match the provider's entity id.",
            a.issuer
        )));
    }
    if a.name_id.is_empty() {
        return Err(invalid("The SAML assertion has no NameID."));
    }
    if !a.audiences.iter().any(|aud| is_signin(aud)) {
        return Err(invalid(
            "Audience restriction of the SAML assertion does not name https://signin.aws.amazon.com/saml",
        ));
    }
    if a.recipient.as_deref().is_some_and(|r| !is_signin(r)) {
        return Err(invalid(
            "The SAML assertion's Recipient is not AWS's sign-in endpoint.",
        ));
    }
    let Some(end) = a.not_on_or_after else {
        return Err(invalid("The SAML assertion has no NotOnOrAfter."));
    };
    if now >= end {
        return Err(StsError::ExpiredTokenException(format!(
            "The SAML assertion expired at {}",
            end.to_rfc3339()
        ))
        .into());
    }
    if a.not_before
        .is_some_and(|nb| nb.timestamp() > now.timestamp().saturating_add(CLOCK_SKEW_SECS))
    {
        return Err(invalid("The SAML assertion is not valid yet (NotBefore)."));
    }
    Ok(())
}

/// Whether a `Role` value pairs the requested role with the provider (in either order).
fn pairs_role(a: &Assertion, role_arn: &str, provider_arn: &str) -> bool {
    a.attribute(&format!("{ATTR}Role")).is_some_and(|values| {
        values.iter().any(|v| {
            let mut parts = v.split(',').map(str::trim);
            match (parts.next(), parts.next(), parts.next()) {
                (Some(x), Some(y), None) => {
                    (x == role_arn && y == provider_arn) || (y == role_arn && x == provider_arn)
                }
                _ => false,
            }
        })
    })
}

/// `PrincipalTag:KEY` attributes and `TransitiveTagKeys`.
fn session_tags(a: &Assertion) -> Result<(Vec<Tag>, Vec<String>), ServiceError> {
    let prefix = format!("{ATTR}PrincipalTag:");
    let mut tags: Vec<Tag> = Vec::new();
    for (name, values) in &a.attributes {
        let Some(key) = name.strip_prefix(&prefix) else {
            continue;
        };
        let [value] = values.as_slice() else {
            return Err(StsError::IDPRejectedClaim(format!(
                "Session tag {key} must have exactly one value."
            ))
            .into());
        };
        if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(StsError::IDPRejectedClaim(
                "Duplicate session tag keys (tag keys are case insensitive).".into(),
            )
            .into());
        }
        tags.push((key.to_string(), value.clone()));
    }
    let transitive = a
        .attribute(&format!("{ATTR}TransitiveTagKeys"))
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    if let Some(k) = transitive
        .iter()
        .find(|k| !tags.iter().any(|(t, _)| t.eq_ignore_ascii_case(k)))
    {
        return Err(StsError::IDPRejectedClaim(format!(
            "The transitive tag key {k} must also be a session tag key."
        ))
        .into());
    }
    Ok((tags, transitive))
}

/// AWS's `NameQualifier`: base64(SHA-1(issuer + account id + "/" + provider name)).
fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    let input = format!("{issuer}{account}/{provider_name}");
    STANDARD.encode(digest::digest(
        &digest::SHA1_FOR_LEGACY_USE_ONLY,
        input.as_bytes(),
    ))
}

/// The `saml:*` condition keys of the assertion.
fn condition_keys(
    a: &Assertion,
    subject_type: &str,
    qualifier: &str,
    audience: &str,
    account: &str,
    provider_name: &str,
) -> Vec<ContextEntry> {
    let one = |k: &str, v: &str| (k.to_string(), vec![v.to_string()]);
    let mut keys = vec![
        one("saml:aud", audience),
        one("saml:iss", &a.issuer),
        one("saml:sub", &a.name_id),
        one("saml:sub_type", subject_type),
        one("saml:namequalifier", qualifier),
        one("saml:doc", &format!("{account}/{provider_name}")),
    ];
    for (name, values) in &a.attributes {
        let found = ATTRIBUTE_KEYS
            .iter()
            .find(|(oid, friendly, _)| name == oid || name.eq_ignore_ascii_case(friendly));
        if let Some((_, _, key)) = found {
            keys.push((key.to_string(), values.clone()));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assertion() -> Assertion {
        Assertion {
            issuer: "https://idp.example.com".into(),
            name_id: "alice".into(),
            audiences: vec!["https://signin.aws.amazon.com/saml".into()],
            not_on_or_after: DateTime::from_timestamp(2_000, 0),
            attributes: vec![(
                format!("{ATTR}Role"),
                vec!["arn:aws:iam::1:saml-provider/P, arn:aws:iam::1:role/R".into()],
            )],
            ..Assertion::default()
        }
    }

    #[test]
    fn issuer_audience_and_times_are_checked() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        assert!(check(&assertion(), "https://idp.example.com", now).is_ok());
        assert!(check(&assertion(), "https://other", now).is_err());
        let later = DateTime::from_timestamp(2_000, 0).unwrap();
        assert_eq!(
            check(&assertion(), "https://idp.example.com", later)
                .unwrap_err()
                .code,
            "ExpiredTokenException"
        );
        let mut a = assertion();
        a.audiences = vec!["https://sp.example.com".into()];
        assert_eq!(
            check(&a, "https://idp.example.com", now).unwrap_err().code,
            "InvalidIdentityToken"
        );
        assert!(is_signin("https://eu-west-1.signin.aws.amazon.com/saml"));
        assert!(!is_signin("https://evil.com/.signin.aws.amazon.com/saml"));
    }

    #[test]
    fn the_role_attribute_pairs_role_and_provider_in_either_order() {
        let a = assertion();
        assert!(pairs_role(
            &a,
            "arn:aws:iam::1:role/R",
            "arn:aws:iam::1:saml-provider/P"
        ));
        assert!(!pairs_role(
            &a,
            "arn:aws:iam::1:role/Other",
            "arn:aws:iam::1:saml-provider/P"
        ));
    }

    #[test]
    fn name_qualifier_follows_aws() {
        let q = name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP");
        let expected = STANDARD.encode(digest::digest(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            b"https://example.com/saml123456789012/MySAMLIdP",
        ));
        assert_eq!(q, expected);
    }
}
