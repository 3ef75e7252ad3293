//! The key operations of AWS's external key store proxy API (`GetKeyMetadata`, `Encrypt`,
//! `Decrypt` under `<uriPath>/keys/<externalKeyId>/`), the outer layer of a ciphertext made
//! with a KMS key in an external key store, and AWS's reading of a proxy's refusals.
//!
//! Such a ciphertext is encrypted twice (AWS's double encryption): first under the KMS key's
//! own material (an ordinary version 1 blob, see `docs/KMS.md`), then by the external key in
//! the proxy, AES-GCM with the additional authenticated data `header || SHA-256(context)`.
//! The outer blob is
//!
//! ```text
//! offset  len  field
//! 0       49   header: 0x03, the key's UUID, the KMS material id (as version 1)
//! 49      1    n = length of the proxy's initialization vector (12 or 16)
//! 50      n    initialization vector
//! 50+n    16   authentication tag
//! 66+n    1    m = length of the proxy's ciphertext metadata (0 to 20)
//! 67+n    m    ciphertext metadata
//! 67+n+m  ..   the proxy's ciphertext of the inner blob
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use rampart_kit::json_field::SetField;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::{
    crypto::{self, FORMAT_XKS},
    xks_proxy::{self, Failure, Probe},
};

/// AWS's largest ciphertext metadata.
const MAX_METADATA: usize = 20;
/// AES-GCM's tag length.
const TAG_LEN: usize = 16;

/// AWS's `requestMetadata` of a key operation.
pub struct RequestMetadata {
    /// The caller's ARN (`awsPrincipalArn`).
    pub principal_arn: String,
    /// The KMS key's ARN (`kmsKeyArn`; not sent with `GetKeyMetadata`).
    pub key_arn: Option<String>,
    /// The KMS operation (`kmsOperation`).
    pub operation: &'static str,
    /// The KMS request id (`kmsRequestId`).
    pub request_id: String,
    /// The service calling KMS for the caller (`kmsViaService`).
    pub via_service: Option<String>,
}

impl RequestMetadata {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("awsPrincipalArn".into(), json!(self.principal_arn));
        if let Some(arn) = &self.key_arn {
            m.insert("kmsKeyArn".into(), json!(arn));
        }
        m.insert("kmsOperation".into(), json!(self.operation));
        m.insert("kmsRequestId".into(), json!(self.request_id));
        if let Some(via) = &self.via_service {
            m.insert("kmsViaService".into(), json!(via));
        }
        Value::Object(m)
    }
}

/// What a proxy's `GetKeyMetadata` says of an external key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalKey {
    /// `keySpec` (`AES_256` for a usable key).
    pub spec: String,
    /// `keyUsage` (must hold `ENCRYPT` and `DECRYPT`).
    pub usage: Vec<String>,
    /// `keyStatus` (`ENABLED` or `DISABLED`).
    pub status: String,
}

impl ExternalKey {
    /// AWS's rule for backing a KMS key: an enabled AES-256 key that encrypts and decrypts.
    pub fn is_usable(&self) -> bool {
        self.spec == "AES_256"
            && self.status == "ENABLED"
            && ["ENCRYPT", "DECRYPT"]
                .iter()
                .all(|u| self.usage.iter().any(|x| x == u))
    }
}

/// The proxy's output of an encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The initialization vector (12 or 16 bytes).
    pub iv: Vec<u8>,
    /// The authentication tag (16 bytes).
    pub tag: Vec<u8>,
    /// The vendor's ciphertext metadata (at most 20 bytes).
    pub metadata: Vec<u8>,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn field(map: &Map<String, Value>, name: &str) -> Result<Vec<u8>, Failure> {
    map.get(name)
        .and_then(Value::as_str)
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .ok_or(Failure::Malformed)
}

/// `POST <uriPath>/keys/<id>/metadata`.
pub fn metadata(probe: &Probe, key: &str, meta: &RequestMetadata) -> Result<ExternalKey, Failure> {
    let answer = xks_proxy::post(
        probe,
        &format!("/keys/{key}/metadata"),
        &json!({ "requestMetadata": meta.to_json() }),
    )?;
    let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_string);
    let usage = answer.get("keyUsage").and_then(Value::as_array);
    match (text("keySpec"), usage, text("keyStatus")) {
        (Some(spec), Some(usage), Some(status)) => Ok(ExternalKey {
            spec,
            usage: usage
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            status,
        }),
        _ => Err(Failure::Malformed),
    }
}

/// `POST <uriPath>/keys/<id>/encrypt` (AES_GCM with `aad`).
pub fn encrypt(
    probe: &Probe,
    key: &str,
    meta: &RequestMetadata,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Sealed, Failure> {
    let answer = xks_proxy::post(
        probe,
        &format!("/keys/{key}/encrypt"),
        &json!({
            "requestMetadata": meta.to_json(),
            "plaintext": b64(plaintext),
            "encryptionAlgorithm": "AES_GCM",
            "additionalAuthenticatedData": b64(aad),
        }),
    )?;
    let metadata = match answer.get("ciphertextMetadata") {
        None | Some(Value::Null) => Vec::new(),
        Some(_) => field(&answer, "ciphertextMetadata")?,
    };
    let sealed = Sealed {
        iv: field(&answer, "initializationVector")?,
        tag: field(&answer, "authenticationTag")?,
        metadata,
        ciphertext: field(&answer, "ciphertext")?,
    };
    // AWS rejects answers outside the specification's sizes.
    let sizes_ok = matches!(sealed.iv.len(), 12 | 16)
        && sealed.tag.len() == TAG_LEN
        && sealed.metadata.len() <= MAX_METADATA
        && sealed.ciphertext.len() == plaintext.len();
    if sizes_ok {
        Ok(sealed)
    } else {
        Err(Failure::Malformed)
    }
}

/// `POST <uriPath>/keys/<id>/decrypt`.
pub fn decrypt(
    probe: &Probe,
    key: &str,
    meta: &RequestMetadata,
    sealed: &Sealed,
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut body = json!({
        "requestMetadata": meta.to_json(),
        "ciphertext": b64(&sealed.ciphertext),
        "encryptionAlgorithm": "AES_GCM",
        "additionalAuthenticatedData": b64(aad),
        "initializationVector": b64(&sealed.iv),
        "authenticationTag": b64(&sealed.tag),
    });
    if !sealed.metadata.is_empty() {
        body.set_field("ciphertextMetadata", json!(b64(&sealed.metadata)));
    }
    let answer = xks_proxy::post(probe, &format!("/keys/{key}/decrypt"), &body)?;
    let plain = Zeroizing::new(field(&answer, "plaintext")?);
    if plain.len() == sealed.ciphertext.len() {
        Ok(plain)
    } else {
        Err(Failure::Malformed)
    }
}

/// The header of an outer blob: the version 1 header with the format byte `0x03`.
pub fn outer_header(inner: &[u8]) -> Option<[u8; crypto::HEADER_LEN]> {
    let mut h: [u8; crypto::HEADER_LEN] = inner.get(..crypto::HEADER_LEN)?.try_into().ok()?;
    if h[0] != crypto::FORMAT_V1 {
        return None;
    }
    h[0] = FORMAT_XKS;
    Some(h)
}

/// The additional authenticated data the proxy binds: the outer header and the context's hash.
pub fn aad(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut a = header.to_vec();
    a.extend_from_slice(&crypto::sha256(&crypto::canonical_context(context)));
    a
}

/// Lays out an outer blob.
pub fn encode(header: &[u8; crypto::HEADER_LEN], sealed: &Sealed) -> Vec<u8> {
    // `encrypt` and `decode` hold the IV to 16 bytes and the metadata to 20.
    let mut out = header.to_vec();
    out.push(u8::try_from(sealed.iv.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(&sealed.iv);
    out.extend_from_slice(&sealed.tag);
    out.push(u8::try_from(sealed.metadata.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(&sealed.metadata);
    out.extend_from_slice(&sealed.ciphertext);
    out
}

/// Reads an outer blob: its header and the proxy's parts; `None` if it is not one.
pub fn decode(blob: &[u8]) -> Option<(&[u8], Sealed)> {
    let (header, rest) = blob.split_at_checked(crypto::HEADER_LEN)?;
    if header.first() != Some(&FORMAT_XKS) {
        return None;
    }
    let (&iv_len, rest) = rest.split_first()?;
    let (iv, rest) = rest.split_at_checked(usize::from(iv_len))?;
    let (tag, rest) = rest.split_at_checked(TAG_LEN)?;
    let (&meta_len, rest) = rest.split_first()?;
    let (metadata, ciphertext) = rest.split_at_checked(usize::from(meta_len))?;
    if !matches!(iv.len(), 12 | 16) || metadata.len() > MAX_METADATA || ciphertext.is_empty() {
        return None;
    }
    let sealed = Sealed {
        iv: iv.to_vec(),
        tag: tag.to_vec(),
        metadata: metadata.to_vec(),
        ciphertext: ciphertext.to_vec(),
    };
    Some((header, sealed))
}

/// AWS's exception message for a failed proxy call (the specification's table; the proxy's
/// own `errorMessage` is never passed on).
pub fn message(failure: &Failure) -> &'static str {
    match failure {
        Failure::Refused(_, Some(name)) => match name.as_str() {
            "InvalidStateException" => "The external key associated with this KMS key in an external key store is not enabled in the external key manager. Enable the external key in the external key manager and retry the request.",
            "InvalidCiphertextException" => "The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid.",
            "InvalidKeyUsageException" => "The external key associated with this KMS key in an external key store does not support the requested operation. Enable the operation on the key in your external key manager, and try the request again.",
            "AuthenticationFailedException" => "The external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XKS proxy authentication credentials for your external key store and update if necessary.",
            "AccessDeniedException" => "The external key store proxy denied access to the operation. Verify that the user and the external key are both authorized for this operation, and try the request again.",
            "KeyNotFoundException" => "The external key associated with this KMS key in an external key store was not found in its external key manager. If the external key ID associated with this KMS key is incorrect, create a new KMS key with the correct external key ID.",
            "InvalidUriPathException" => "The external key store proxy rejected the request because of an invalid URI path. Verify the URI path for your external key store and update if necessary.",
            "UnsupportedOperationException" => "The external key store proxy rejected the request because it does not support the requested operation. If you see this error repeatedly, report it to your external key store proxy administrator.",
            "DependencyTimeoutException" => "The external key store proxy did not respond to the request in the time allotted. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator.",
            "ThrottlingException" => "The external key store proxy rejected the request due to a very high request rate. Reduce the frequency of your calls using KMS keys in this external key store.",
            "InternalException" => "The external key store proxy rejected the request because it cannot communicate with the external key manager. Verify that the external key store proxy configuration is correct and that the external key manager is available.",
            _ => UNINTERPRETABLE,
        },
        Failure::Refused(_, None) | Failure::Malformed => UNINTERPRETABLE,
        Failure::Connection("XKS_PROXY_TIMED_OUT") => "AWS KMS rejected the request because the external key store proxy did not respond in time. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator.",
        Failure::Connection("XKS_PROXY_INVALID_TLS_CONFIGURATION") => "AWS KMS cannot establish a TLS connection to the external key store proxy. Verify the TLS configuration, including its certificate.",
        Failure::Connection(_) => "AWS KMS cannot communicate with the external key store proxy. This might be a transient network issue. If you see this error repeatedly, verify that your external key store proxy is active and is connected to the network, and that its endpoint URI is correct in your external keystore.",
    }
}

const UNINTERPRETABLE: &str = "AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_blobs_round_trip_and_reject_other_formats() {
        let sealed = Sealed {
            iv: vec![1; 12],
            tag: vec![2; 16],
            metadata: b"v=1".to_vec(),
            ciphertext: vec![3; 90],
        };
        let header = [FORMAT_XKS; crypto::HEADER_LEN];
        let blob = encode(&header, &sealed);
        let (h, back) = decode(&blob).expect("decodes");
        assert_eq!((h, &back), (&header[..], &sealed));
        assert!(decode(&blob[..60]).is_none());
        let mut v1 = blob.clone();
        v1[0] = crypto::FORMAT_V1;
        assert!(decode(&v1).is_none());
    }

    #[test]
    fn only_enabled_aes_keys_that_encrypt_and_decrypt_are_usable() {
        let key = |spec: &str, usage: &[&str], status: &str| ExternalKey {
            spec: spec.into(),
            usage: usage.iter().map(|u| u.to_string()).collect(),
            status: status.into(),
        };
        assert!(key("AES_256", &["ENCRYPT", "DECRYPT", "WRAP"], "ENABLED").is_usable());
        assert!(!key("AES_128", &["ENCRYPT", "DECRYPT"], "ENABLED").is_usable());
        assert!(!key("AES_256", &["ENCRYPT"], "ENABLED").is_usable());
        assert!(!key("AES_256", &["ENCRYPT", "DECRYPT"], "DISABLED").is_usable());
    }

    #[test]
    fn the_aad_binds_header_and_context() {
        let mut ctx = BTreeMap::new();
        let a = aad(&[3; 49], &ctx);
        ctx.insert("k".into(), "v".into());
        assert_ne!(a, aad(&[3; 49], &ctx));
        assert_eq!(a.len(), 49 + 32);
    }
}
