//! KMS cryptography: key generation and every primitive an operation uses, all from aws-lc-rs.
//!
//! # Symmetric ciphertext format
//!
//! A ciphertext blob made by `Encrypt`/`GenerateDataKey` under a `SYMMETRIC_DEFAULT` key is
//!
//! ```text
//! offset  len  field
//! 0       1    format version (0x01)
//! 1       16   KMS key id (the key's UUID, raw bytes)
//! 17      32   key material id (raw; its hex form is AWS's `KeyMaterialId`)
//! 49      12   AES-GCM nonce (random)
//! 61      n    AES-256-GCM ciphertext
//! 61+n    16   AES-GCM tag
//! ```
//!
//! The header (the first 49 bytes) names the key and the version of its material, so `Decrypt`
//! needs no `KeyId` and keeps working after rotation. The AAD is the header followed by the
//! encryption context in canonical form (pairs sorted by key, each key and value prefixed by
//! its length as a 4-byte big-endian integer), so a changed header or a different context
//! fails authentication (`InvalidCiphertextException`).
//!
//! Asymmetric ciphertexts are AWS's: the raw RSAES-OAEP output, which carries no key id
//! (`Decrypt` then requires `KeyId`, as in AWS).

use std::collections::BTreeMap;

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN},
    agreement, digest,
    encoding::AsDer,
    hmac, rand,
    rsa::{
        KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
        PublicEncryptingKey, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
    },
    signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey},
};
use zeroize::Zeroizing;

/// Version byte of the symmetric ciphertext format under a single-Region key (the key id
/// that follows is the key's UUID).
pub const FORMAT_V1: u8 = 1;
/// Version byte of the same format under a multi-Region key (the key id that follows is the
/// 16 bytes whose hex follows `mrk-`).
pub const FORMAT_V1_MULTI_REGION: u8 = 2;
/// The format byte of a ciphertext made with a key in an external key store (the outer
/// layer of its double encryption, see `kms/src/xks_api.rs`).
pub const FORMAT_XKS: u8 = 3;
/// The prefix of multi-Region key ids.
pub const MULTI_REGION_PREFIX: &str = "mrk-";
/// Length of the raw key id in a ciphertext header.
pub const KEY_ID_LEN: usize = 16;
/// Length of the raw key material id in a ciphertext header.
pub const MATERIAL_ID_LEN: usize = 32;
/// Length of the whole header (version, key id, material id).
pub const HEADER_LEN: usize = 1 + KEY_ID_LEN + MATERIAL_ID_LEN;
const TAG_LEN: usize = 16;

/// A cryptographic failure; callers map it to AWS's error for the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Authentication failed or the input is not a ciphertext of this key.
    #[error("invalid ciphertext")]
    InvalidCiphertext,
    /// The input does not fit the algorithm (too long, wrong digest length, ...).
    #[error("invalid input for the algorithm")]
    InvalidInput,
    /// The library or the random generator failed.
    #[error("cryptographic failure")]
    Internal,
}

type Result<T> = std::result::Result<T, CryptoError>;

fn internal<E>(_: E) -> CryptoError {
    CryptoError::Internal
}

/// The key specs KMS keys and data key pairs can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// AES-256-GCM.
    SymmetricDefault,
    /// RSA 2048.
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
    /// RSA 4096.
    Rsa4096,
    /// NIST P-256.
    EccNistP256,
    /// NIST P-384.
    EccNistP384,
    /// NIST P-521.
    EccNistP521,
    /// secp256k1.
    EccSecgP256k1,
    /// HMAC with SHA-224.
    Hmac224,
    /// HMAC with SHA-256.
    Hmac256,
    /// HMAC with SHA-384.
    Hmac384,
    /// HMAC with SHA-512.
    Hmac512,
}

impl KeySpec {
    /// Parses AWS's name.
    pub fn parse(s: &str) -> Option<KeySpec> {
        Some(match s {
            "SYMMETRIC_DEFAULT" => KeySpec::SymmetricDefault,
            "RSA_2048" => KeySpec::Rsa2048,
            "RSA_3072" => KeySpec::Rsa3072,
            "RSA_4096" => KeySpec::Rsa4096,
            "ECC_NIST_P256" => KeySpec::EccNistP256,
            "ECC_NIST_P384" => KeySpec::EccNistP384,
            "ECC_NIST_P521" => KeySpec::EccNistP521,
            "ECC_SECG_P256K1" => KeySpec::EccSecgP256k1,
            "HMAC_224" => KeySpec::Hmac224,
            "HMAC_256" => KeySpec::Hmac256,
            "HMAC_384" => KeySpec::Hmac384,
            "HMAC_512" => KeySpec::Hmac512,
            _ => return None,
        })
    }

    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySpec::SymmetricDefault => "SYMMETRIC_DEFAULT",
            KeySpec::Rsa2048 => "RSA_2048",
            KeySpec::Rsa3072 => "RSA_3072",
            KeySpec::Rsa4096 => "RSA_4096",
            KeySpec::EccNistP256 => "ECC_NIST_P256",
            KeySpec::EccNistP384 => "ECC_NIST_P384",
            KeySpec::EccNistP521 => "ECC_NIST_P521",
            KeySpec::EccSecgP256k1 => "ECC_SECG_P256K1",
            KeySpec::Hmac224 => "HMAC_224",
            KeySpec::Hmac256 => "HMAC_256",
            KeySpec::Hmac384 => "HMAC_384",
            KeySpec::Hmac512 => "HMAC_512",
        }
    }

    /// True for RSA specs.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096)
    }

    /// True for elliptic-curve specs.
    pub fn is_ecc(self) -> bool {
        matches!(
            self,
            KeySpec::EccNistP256
                | KeySpec::EccNistP384
                | KeySpec::EccNistP521
                | KeySpec::EccSecgP256k1
        )
    }

    /// True for HMAC specs.
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512
        )
    }

    /// The key usages AWS allows for the spec; the first is the default.
    pub fn usages(self) -> &'static [&'static str] {
        if self == KeySpec::SymmetricDefault {
            &["ENCRYPT_DECRYPT"]
        } else if self.is_rsa() {
            &["ENCRYPT_DECRYPT", "SIGN_VERIFY"]
        } else if self == KeySpec::EccSecgP256k1 {
            &["SIGN_VERIFY"]
        } else if self.is_ecc() {
            &["SIGN_VERIFY", "KEY_AGREEMENT"]
        } else {
            &["GENERATE_VERIFY_MAC"]
        }
    }

    /// The encryption algorithms of a key of this spec and usage.
    pub fn encryption_algorithms(self, usage: &str) -> &'static [&'static str] {
        match (self, usage) {
            (KeySpec::SymmetricDefault, _) => &["SYMMETRIC_DEFAULT"],
            (s, "ENCRYPT_DECRYPT") if s.is_rsa() => &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
            _ => &[],
        }
    }

    /// The signing algorithms of a key of this spec and usage.
    pub fn signing_algorithms(self, usage: &str) -> &'static [&'static str] {
        match (self, usage) {
            (s, "SIGN_VERIFY") if s.is_rsa() => &[
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
            ],
            (KeySpec::EccNistP256 | KeySpec::EccSecgP256k1, "SIGN_VERIFY") => &["ECDSA_SHA_256"],
            (KeySpec::EccNistP384, "SIGN_VERIFY") => &["ECDSA_SHA_384"],
            (KeySpec::EccNistP521, "SIGN_VERIFY") => &["ECDSA_SHA_512"],
            _ => &[],
        }
    }

    /// The key agreement algorithms of a key of this spec and usage.
    pub fn key_agreement_algorithms(self, usage: &str) -> &'static [&'static str] {
        if usage == "KEY_AGREEMENT" && self.ecdh().is_some() {
            &["ECDH"]
        } else {
            &[]
        }
    }

    fn ecdh(self) -> Option<&'static agreement::Algorithm> {
        Some(match self {
            KeySpec::EccNistP256 => &agreement::ECDH_P256,
            KeySpec::EccNistP384 => &agreement::ECDH_P384,
            KeySpec::EccNistP521 => &agreement::ECDH_P521,
            _ => return None,
        })
    }

    /// The MAC algorithm of an HMAC spec.
    pub fn mac_algorithms(self) -> &'static [&'static str] {
        match self {
            KeySpec::Hmac224 => &["HMAC_SHA_224"],
            KeySpec::Hmac256 => &["HMAC_SHA_256"],
            KeySpec::Hmac384 => &["HMAC_SHA_384"],
            KeySpec::Hmac512 => &["HMAC_SHA_512"],
            _ => &[],
        }
    }

    fn ecdsa(
        self,
    ) -> Option<(
        &'static signature::EcdsaSigningAlgorithm,
        &'static signature::EcdsaVerificationAlgorithm,
        &'static digest::Algorithm,
    )> {
        Some(match self {
            KeySpec::EccNistP256 => (
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &signature::ECDSA_P256_SHA256_ASN1,
                &digest::SHA256,
            ),
            KeySpec::EccNistP384 => (
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                &signature::ECDSA_P384_SHA384_ASN1,
                &digest::SHA384,
            ),
            KeySpec::EccNistP521 => (
                &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                &signature::ECDSA_P521_SHA512_ASN1,
                &digest::SHA512,
            ),
            KeySpec::EccSecgP256k1 => (
                &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
                &signature::ECDSA_P256K1_SHA256_ASN1,
                &digest::SHA256,
            ),
            _ => return None,
        })
    }

    fn hmac(self) -> Option<(hmac::Algorithm, usize)> {
        Some(match self {
            KeySpec::Hmac224 => (hmac::HMAC_SHA224, 28),
            KeySpec::Hmac256 => (hmac::HMAC_SHA256, 32),
            KeySpec::Hmac384 => (hmac::HMAC_SHA384, 48),
            KeySpec::Hmac512 => (hmac::HMAC_SHA512, 64),
            _ => return None,
        })
    }
}

/// Random bytes from the system generator.
pub fn random(n: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(vec![0u8; n]);
    rand::fill(out.as_mut_slice()).map_err(internal)?;
    Ok(out)
}

/// Fresh key material for a spec: 32 bytes for AES, PKCS#8 DER for RSA and ECC, the hash's
/// output length for HMAC.
pub fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>> {
    if spec == KeySpec::SymmetricDefault {
        return random(32);
    }
    if let Some((_, len)) = spec.hmac() {
        return random(len);
    }
    if let Some((alg, _, _)) = spec.ecdsa() {
        let pair = EcdsaKeyPair::generate(alg).map_err(internal)?;
        let doc = pair.to_pkcs8v1().map_err(internal)?;
        return Ok(Zeroizing::new(doc.as_ref().to_vec()));
    }
    let size = match spec {
        KeySpec::Rsa2048 => KeySize::Rsa2048,
        KeySpec::Rsa3072 => KeySize::Rsa3072,
        _ => KeySize::Rsa4096,
    };
    let pair = RsaKeyPair::generate(size).map_err(internal)?;
    let der = pair.as_der().map_err(internal)?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}

/// The DER SubjectPublicKeyInfo of an asymmetric key's material.
pub fn public_key_der(spec: KeySpec, material: &[u8]) -> Result<Vec<u8>> {
    if let Some((alg, _, _)) = spec.ecdsa() {
        let pair = EcdsaKeyPair::from_pkcs8(alg, material).map_err(internal)?;
        let der = pair.public_key().as_der().map_err(internal)?;
        return Ok(der.as_ref().to_vec());
    }
    if spec.is_rsa() {
        let pair = RsaKeyPair::from_pkcs8(material).map_err(internal)?;
        let der = pair.public_key().as_der().map_err(internal)?;
        return Ok(der.as_ref().to_vec());
    }
    Err(CryptoError::InvalidInput)
}

/// ECDH between the key pair's private key (`material`, PKCS#8) and a peer's public key
/// (DER `SubjectPublicKeyInfo` on the same curve): the raw shared secret (the x-coordinate),
/// as KMS returns it. A peer key that does not parse, or is on another curve, is
/// `InvalidInput`.
pub fn derive_shared_secret(
    spec: KeySpec,
    material: &[u8],
    peer_der: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let alg = spec.ecdh().ok_or(CryptoError::InvalidInput)?;
    let private = agreement::PrivateKey::from_private_key_der(alg, material).map_err(internal)?;
    let peer = agreement::UnparsedPublicKey::new(alg, peer_der);
    agreement::agree(&private, peer, CryptoError::InvalidInput, |secret| {
        Ok(Zeroizing::new(secret.to_vec()))
    })
}

/// The canonical bytes of an encryption context (sorted, length-prefixed).
pub fn canonical_context(context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// The format byte and raw bytes of a key id: a UUID, or `mrk-` and 32 hex digits.
pub fn key_id_bytes(id: &str) -> Option<(u8, [u8; KEY_ID_LEN])> {
    if let Some(hex) = id.strip_prefix(MULTI_REGION_PREFIX) {
        if hex.len() != 2 * KEY_ID_LEN || hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let raw: [u8; KEY_ID_LEN] = unhex(hex)?.try_into().ok()?;
        return Some((FORMAT_V1_MULTI_REGION, raw));
    }
    let uuid = uuid::Uuid::parse_str(id).ok()?;
    Some((FORMAT_V1, *uuid.as_bytes()))
}

/// The key id a format byte and raw key id stand for.
pub fn key_id_text(format: u8, raw: &[u8; KEY_ID_LEN]) -> Option<String> {
    match format {
        FORMAT_V1 | FORMAT_XKS => Some(uuid::Uuid::from_bytes(*raw).to_string()),
        FORMAT_V1_MULTI_REGION => Some(format!("{MULTI_REGION_PREFIX}{}", hex(raw))),
        _ => None,
    }
}

/// The header of a symmetric ciphertext under the key `key_id`; `None` if the id is neither
/// a UUID nor a multi-Region key id.
pub fn header(key_id: &str, material_id: &[u8; MATERIAL_ID_LEN]) -> Option<[u8; HEADER_LEN]> {
    let (format, raw) = key_id_bytes(key_id)?;
    let mut h = [0u8; HEADER_LEN];
    h[0] = format;
    h[1..1 + KEY_ID_LEN].copy_from_slice(&raw);
    h[1 + KEY_ID_LEN..].copy_from_slice(material_id);
    Some(h)
}

/// The key id and material id a symmetric ciphertext names, if it has the format.
pub fn parse_header(blob: &[u8]) -> Option<(String, [u8; MATERIAL_ID_LEN])> {
    if blob.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
        return None;
    }
    let (&format, rest) = blob.split_first()?;
    let (key, rest) = rest.split_first_chunk::<KEY_ID_LEN>()?;
    let (mat, _) = rest.split_first_chunk::<MATERIAL_ID_LEN>()?;
    Some((key_id_text(format, key)?, *mat))
}

fn aad(header: &[u8], context: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(header.len() + context.len());
    a.extend_from_slice(header);
    a.extend_from_slice(context);
    a
}

/// Encrypts under a symmetric key's material: `header || nonce || ciphertext || tag`.
pub fn encrypt_symmetric(
    material: &[u8],
    header: &[u8; HEADER_LEN],
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, material).map_err(internal)?);
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).map_err(internal)?;
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(header);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    #[expect(
        clippy::indexing_slicing,
        reason = "`out` starts with the HEADER_LEN header and NONCE_LEN nonce bytes written above"
    )]
    let in_out = &mut out[HEADER_LEN + NONCE_LEN..];
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(header, context)),
            in_out,
        )
        .map_err(internal)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypts a blob made by [`encrypt_symmetric`] with the same material and context.
pub fn decrypt_symmetric(
    material: &[u8],
    blob: &[u8],
    context: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if parse_header(blob).is_none() {
        return Err(CryptoError::InvalidCiphertext);
    }
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, material).map_err(internal)?);
    let (head, rest) = blob.split_at(HEADER_LEN);
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::InvalidCiphertext)?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad(head, context)), buf.as_mut_slice())
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn oaep(algorithm: &str) -> Result<&'static aws_lc_rs::rsa::OaepAlgorithm> {
    match algorithm {
        "RSAES_OAEP_SHA_1" => Ok(&OAEP_SHA1_MGF1SHA1),
        "RSAES_OAEP_SHA_256" => Ok(&OAEP_SHA256_MGF1SHA256),
        _ => Err(CryptoError::InvalidInput),
    }
}

/// RSAES-OAEP encryption with the public half of an RSA key's material.
pub fn rsa_encrypt(material: &[u8], algorithm: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
    let private = PrivateDecryptingKey::from_pkcs8(material).map_err(internal)?;
    rsa_encrypt_public(private.public_key(), algorithm, plaintext)
}

/// RSAES-OAEP encryption with a DER SubjectPublicKeyInfo (import wrapping keys).
pub fn rsa_encrypt_spki(spki: &[u8], algorithm: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
    let public = PublicEncryptingKey::from_der(spki).map_err(|_| CryptoError::InvalidInput)?;
    rsa_encrypt_public(public, algorithm, plaintext)
}

fn rsa_encrypt_public(
    public: PublicEncryptingKey,
    algorithm: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let alg = oaep(algorithm)?;
    let key = OaepPublicEncryptingKey::new(public).map_err(internal)?;
    if plaintext.len() > key.max_plaintext_size(alg) {
        return Err(CryptoError::InvalidInput);
    }
    let mut out = vec![0u8; key.ciphertext_size()];
    let n = key
        .encrypt(alg, plaintext, &mut out, None)
        .map_err(|_| CryptoError::InvalidInput)?
        .len();
    out.truncate(n);
    Ok(out)
}

/// RSAES-OAEP decryption with an RSA key's material.
pub fn rsa_decrypt(
    material: &[u8],
    algorithm: &str,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let alg = oaep(algorithm)?;
    let private = PrivateDecryptingKey::from_pkcs8(material).map_err(internal)?;
    let key = OaepPrivateDecryptingKey::new(private).map_err(internal)?;
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let n = key
        .decrypt(alg, ciphertext, out.as_mut_slice(), None)
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    out.truncate(n);
    Ok(out)
}

/// How a signature is computed: RSA padding or ECDSA, and its hash.
struct SignScheme {
    rsa: Option<(
        &'static dyn signature::RsaEncoding,
        &'static signature::RsaParameters,
    )>,
    digest: &'static digest::Algorithm,
}

fn scheme(spec: KeySpec, algorithm: &str) -> Result<SignScheme> {
    if !spec.signing_algorithms("SIGN_VERIFY").contains(&algorithm) {
        return Err(CryptoError::InvalidInput);
    }
    if let Some((_, _, d)) = spec.ecdsa() {
        return Ok(SignScheme {
            rsa: None,
            digest: d,
        });
    }
    let (enc, params, d): (
        &'static dyn signature::RsaEncoding,
        &'static signature::RsaParameters,
        _,
    ) = match algorithm {
        "RSASSA_PSS_SHA_256" => (
            &signature::RSA_PSS_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
            &digest::SHA256,
        ),
        "RSASSA_PSS_SHA_384" => (
            &signature::RSA_PSS_SHA384,
            &signature::RSA_PSS_2048_8192_SHA384,
            &digest::SHA384,
        ),
        "RSASSA_PSS_SHA_512" => (
            &signature::RSA_PSS_SHA512,
            &signature::RSA_PSS_2048_8192_SHA512,
            &digest::SHA512,
        ),
        "RSASSA_PKCS1_V1_5_SHA_256" => (
            &signature::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
            &digest::SHA256,
        ),
        "RSASSA_PKCS1_V1_5_SHA_384" => (
            &signature::RSA_PKCS1_SHA384,
            &signature::RSA_PKCS1_2048_8192_SHA384,
            &digest::SHA384,
        ),
        "RSASSA_PKCS1_V1_5_SHA_512" => (
            &signature::RSA_PKCS1_SHA512,
            &signature::RSA_PKCS1_2048_8192_SHA512,
            &digest::SHA512,
        ),
        _ => return Err(CryptoError::InvalidInput),
    };
    Ok(SignScheme {
        rsa: Some((enc, params)),
        digest: d,
    })
}

/// The digest to sign: the message hashed (`RAW`) or the message itself (`DIGEST`, whose
/// length must be the hash's).
fn message_digest(s: &SignScheme, message: &[u8], is_digest: bool) -> Result<digest::Digest> {
    if is_digest {
        digest::Digest::import_less_safe(message, s.digest).map_err(|_| CryptoError::InvalidInput)
    } else {
        Ok(digest::digest(s.digest, message))
    }
}

/// Signs with an asymmetric key's material (DER-encoded ECDSA signatures, as AWS returns).
pub fn sign(
    spec: KeySpec,
    material: &[u8],
    algorithm: &str,
    message: &[u8],
    is_digest: bool,
) -> Result<Vec<u8>> {
    let s = scheme(spec, algorithm)?;
    let d = message_digest(&s, message, is_digest)?;
    match s.rsa {
        Some((enc, _)) => {
            let pair = RsaKeyPair::from_pkcs8(material).map_err(internal)?;
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign_digest(enc, &d, &mut sig).map_err(internal)?;
            Ok(sig)
        }
        None => {
            let (alg, _, _) = spec.ecdsa().ok_or(CryptoError::InvalidInput)?;
            let pair = EcdsaKeyPair::from_pkcs8(alg, material).map_err(internal)?;
            Ok(pair.sign_digest(&d).map_err(internal)?.as_ref().to_vec())
        }
    }
}

/// Verifies a signature with an asymmetric key's material; `Ok(false)` when it does not match.
pub fn verify(
    spec: KeySpec,
    material: &[u8],
    algorithm: &str,
    message: &[u8],
    is_digest: bool,
    sig: &[u8],
) -> Result<bool> {
    let s = scheme(spec, algorithm)?;
    let d = message_digest(&s, message, is_digest)?;
    let ok = match s.rsa {
        Some((_, params)) => {
            let pair = RsaKeyPair::from_pkcs8(material).map_err(internal)?;
            UnparsedPublicKey::new(params, pair.public_key().as_ref())
                .verify_digest(&d, sig)
                .is_ok()
        }
        None => {
            let (alg, valg, _) = spec.ecdsa().ok_or(CryptoError::InvalidInput)?;
            let pair = EcdsaKeyPair::from_pkcs8(alg, material).map_err(internal)?;
            UnparsedPublicKey::new(valg, pair.public_key().as_ref())
                .verify_digest(&d, sig)
                .is_ok()
        }
    };
    Ok(ok)
}

/// The HMAC of a message under an HMAC key's material.
pub fn mac(spec: KeySpec, material: &[u8], algorithm: &str, message: &[u8]) -> Result<Vec<u8>> {
    let (alg, _) = spec.hmac().ok_or(CryptoError::InvalidInput)?;
    if !spec.mac_algorithms().contains(&algorithm) {
        return Err(CryptoError::InvalidInput);
    }
    let key = hmac::Key::new(alg, material);
    Ok(hmac::sign(&key, message).as_ref().to_vec())
}

/// Checks an HMAC in constant time.
pub fn verify_mac(
    spec: KeySpec,
    material: &[u8],
    algorithm: &str,
    message: &[u8],
    tag: &[u8],
) -> Result<bool> {
    let (alg, _) = spec.hmac().ok_or(CryptoError::InvalidInput)?;
    if !spec.mac_algorithms().contains(&algorithm) {
        return Err(CryptoError::InvalidInput);
    }
    let key = hmac::Key::new(alg, material);
    Ok(hmac::verify(&key, message, tag).is_ok())
}

/// SHA-256 of a value (fingerprints of imported material).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// Parses lower- or upper-case hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    ::hex::decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> Vec<u8> {
        canonical_context(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn symmetric_round_trip_binds_context_and_header() {
        let material = generate(KeySpec::SymmetricDefault).unwrap();
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let h = header(id, &[9; 32]).unwrap();
        let c = ctx(&[("a", "1")]);
        let blob = encrypt_symmetric(&material, &h, &c, b"hello").unwrap();
        assert_eq!(parse_header(&blob), Some((id.to_string(), [9; 32])));
        assert_eq!(
            decrypt_symmetric(&material, &blob, &c).unwrap().as_slice(),
            b"hello"
        );
        assert_eq!(
            decrypt_symmetric(&material, &blob, &ctx(&[("a", "2")])),
            Err(CryptoError::InvalidCiphertext)
        );
        let mut tampered = blob.clone();
        tampered[3] ^= 1;
        assert!(decrypt_symmetric(&material, &tampered, &c).is_err());
        let other = generate(KeySpec::SymmetricDefault).unwrap();
        assert!(decrypt_symmetric(&other, &blob, &c).is_err());
    }

    #[test]
    fn multi_region_key_ids_have_their_own_format_byte() {
        let id = "mrk-1234abcd12ab34cd56ef1234567890ab";
        let h = header(id, &[1; 32]).unwrap();
        assert_eq!(h[0], FORMAT_V1_MULTI_REGION);
        let material = generate(KeySpec::SymmetricDefault).unwrap();
        let blob = encrypt_symmetric(&material, &h, &[], b"x").unwrap();
        assert_eq!(parse_header(&blob), Some((id.to_string(), [1; 32])));
        for bad in [
            "mrk-1234",
            "mrk-1234ABCD12ab34cd56ef1234567890ab",
            "not-a-key",
        ] {
            assert!(header(bad, &[1; 32]).is_none(), "{bad}");
        }
        let mut other = blob.clone();
        other[0] = 9;
        assert!(parse_header(&other).is_none());
    }

    #[test]
    fn context_encoding_is_unambiguous() {
        assert_ne!(ctx(&[("ab", "c")]), ctx(&[("a", "bc")]));
        assert_eq!(ctx(&[]), Vec::<u8>::new());
    }

    #[test]
    fn every_signing_spec_signs_and_verifies() {
        for spec in [
            KeySpec::Rsa2048,
            KeySpec::EccNistP256,
            KeySpec::EccNistP384,
            KeySpec::EccNistP521,
            KeySpec::EccSecgP256k1,
        ] {
            let m = generate(spec).unwrap();
            assert!(!public_key_der(spec, &m).unwrap().is_empty());
            for alg in spec.signing_algorithms("SIGN_VERIFY") {
                let sig = sign(spec, &m, alg, b"msg", false).unwrap();
                assert!(verify(spec, &m, alg, b"msg", false, &sig).unwrap(), "{alg}");
                assert!(
                    !verify(spec, &m, alg, b"msh", false, &sig).unwrap(),
                    "{alg}"
                );
            }
        }
    }

    #[test]
    fn digest_mode_matches_raw_mode() {
        let spec = KeySpec::EccNistP256;
        let m = generate(spec).unwrap();
        let d = sha256(b"message");
        let sig = sign(spec, &m, "ECDSA_SHA_256", &d, true).unwrap();
        assert!(verify(spec, &m, "ECDSA_SHA_256", b"message", false, &sig).unwrap());
        assert_eq!(
            sign(spec, &m, "ECDSA_SHA_256", b"short", true),
            Err(CryptoError::InvalidInput)
        );
    }

    #[test]
    fn rsa_oaep_round_trip() {
        let m = generate(KeySpec::Rsa2048).unwrap();
        for alg in ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] {
            let c = rsa_encrypt(&m, alg, b"secret").unwrap();
            assert_eq!(rsa_decrypt(&m, alg, &c).unwrap().as_slice(), b"secret");
        }
        let spki = public_key_der(KeySpec::Rsa2048, &m).unwrap();
        let c = rsa_encrypt_spki(&spki, "RSAES_OAEP_SHA_256", b"x").unwrap();
        assert_eq!(
            rsa_decrypt(&m, "RSAES_OAEP_SHA_256", &c)
                .unwrap()
                .as_slice(),
            b"x"
        );
        assert!(rsa_encrypt(&m, "RSAES_OAEP_SHA_256", &[0u8; 191]).is_err());
    }

    #[test]
    fn hmac_round_trip() {
        let m = generate(KeySpec::Hmac384).unwrap();
        assert_eq!(m.len(), 48);
        let tag = mac(KeySpec::Hmac384, &m, "HMAC_SHA_384", b"m").unwrap();
        assert!(verify_mac(KeySpec::Hmac384, &m, "HMAC_SHA_384", b"m", &tag).unwrap());
        assert!(!verify_mac(KeySpec::Hmac384, &m, "HMAC_SHA_384", b"n", &tag).unwrap());
        assert!(mac(KeySpec::Hmac384, &m, "HMAC_SHA_256", b"m").is_err());
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
        assert_eq!(unhex("00ff10").unwrap(), vec![0, 255, 16]);
        assert!(unhex("0").is_none());
        assert_eq!(unhex("00FF10").unwrap(), vec![0, 255, 16]);
        assert!(unhex("0g").is_none());
    }
}
