//! Credential types: the secret access key (zeroized, never printed), the access key id, and the
//! derived SigV4 signing key.

use std::fmt;

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::canonical::hmac_sha256;
use crate::parse::{CredentialScope, TERMINATOR};

/// An AWS secret access key. Zeroized on drop; `Debug` prints `***`; there is no `Display`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Wraps a secret access key (the 40-character string AWS issues, or any bytes).
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }

    /// The raw secret bytes; handle with care (never log them).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time equality with another secret.
    pub fn ct_eq(&self, other: &SecretKey) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl From<String> for SecretKey {
    fn from(s: String) -> Self {
        Self(s.into_bytes())
    }
}

impl From<&str> for SecretKey {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An AWS access key id (`AKIA...` long-term, `ASIA...` temporary), as given by the client.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    /// Wraps an access key id; no format is enforced (the server looks it up).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `true` for temporary (`ASIA`) credentials, which need a session token.
    pub fn is_temporary(&self) -> bool {
        self.0.starts_with("ASIA")
    }
}

// Hashes and compares as its string (derived `Hash` of a one-field tuple struct hashes the
// field), so maps keyed by it can be searched with a `&str`.
impl std::borrow::Borrow<str> for AccessKeyId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKeyId({})", self.0)
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AccessKeyId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for AccessKeyId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// A derived SigV4 signing key: HMAC chain of the secret over (date, region, service,
/// `aws4_request`). Valid for one credential scope; zeroized on drop; `Debug` prints `***`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SigningKey {
    bytes: [u8; 32],
    /// HMAC state keyed with `bytes` (its padded key blocks already hashed), so that a cached
    /// key signs by hashing the string to sign only. aws-lc cleanses it when dropped.
    #[zeroize(skip)]
    mac: hmac::Key,
}

impl SigningKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mac = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        Self { bytes, mac }
    }

    /// Derives the key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    pub fn derive(secret: &SecretKey, date: &str, region: &str, service: &str) -> Self {
        let mut k_secret = Vec::with_capacity(4 + secret.0.len());
        k_secret.extend_from_slice(b"AWS4");
        k_secret.extend_from_slice(&secret.0);
        let mut k = hmac_sha256(&k_secret, date.as_bytes());
        k_secret.zeroize();
        for part in [region.as_bytes(), service.as_bytes(), TERMINATOR.as_bytes()] {
            let next = hmac_sha256(&k, part);
            k.zeroize();
            k = next;
        }
        let key = Self::from_bytes(k);
        k.zeroize();
        key
    }

    /// Derives the key for a credential scope.
    pub fn for_scope(secret: &SecretKey, scope: &CredentialScope) -> Self {
        Self::derive(secret, &scope.date, &scope.region, &scope.service)
    }

    /// Signs a string to sign, giving the raw signature.
    pub fn sign(&self, string_to_sign: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(hmac::sign(&self.mac, string_to_sign).as_ref());
        out
    }

    /// The raw 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secret() {
        let s = SecretKey::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", SigningKey::from_bytes([7; 32])), "***");
    }

    #[test]
    fn derives_documented_key() {
        // The example from AWS's "derive a signing key" documentation.
        let k = SigningKey::derive(
            &SecretKey::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(k.as_bytes()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn ct_eq_works() {
        assert!(SecretKey::from("a").ct_eq(&SecretKey::from("a")));
        assert!(!SecretKey::from("a").ct_eq(&SecretKey::from("b")));
        assert!(!SecretKey::from("a").ct_eq(&SecretKey::from("ab")));
    }

    #[test]
    fn access_key_kinds() {
        assert!(AccessKeyId::from("ASIAXXXX").is_temporary());
        assert!(!AccessKeyId::from("AKIAXXXX").is_temporary());
        assert_eq!(AccessKeyId::from("AKIA1").to_string(), "AKIA1");
    }
}
