//! SSH public keys as IAM accepts them: RSA keys of at least 2048 bits in OpenSSH `ssh-rsa`
//! form or PEM (`BEGIN PUBLIC KEY`, X.509 SubjectPublicKeyInfo). A key is kept as its SSH wire
//! blob, fingerprinted as `ssh-keygen -E md5` does, and rendered in either encoding.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use md5::{Digest, Md5};
use x509_parser::{prelude::FromDer, public_key::PublicKey, x509::SubjectPublicKeyInfo};

/// The smallest modulus IAM accepts.
pub const MIN_BITS: usize = 2048;

/// Why a key body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Neither `ssh-rsa` nor PEM (`UnrecognizedPublicKeyEncoding`).
    Unrecognized,
    /// Recognized but not an acceptable RSA key (`InvalidPublicKey`).
    Invalid,
}

/// An RSA public key: big-endian modulus and exponent without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

fn strip(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default().to_vec()
}

impl RsaKey {
    fn new(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let key = RsaKey {
            n: strip(n),
            e: strip(e),
        };
        if key.bits() < MIN_BITS || key.e.is_empty() {
            return Err(KeyError::Invalid);
        }
        Ok(key)
    }

    /// The modulus' length in bits.
    pub fn bits(&self) -> usize {
        match self.n.first() {
            Some(top) => self.n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        }
    }

    /// The SSH wire blob: `string "ssh-rsa", mpint e, mpint n`.
    pub fn blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, b"ssh-rsa");
        put_string(&mut out, &mpint(&self.e));
        put_string(&mut out, &mpint(&self.n));
        out
    }

    /// `ssh-rsa BASE64`.
    pub fn to_ssh(&self) -> String {
        format!("ssh-rsa {}", B64.encode(self.blob()))
    }

    /// PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn to_pem(&self) -> String {
        let rsa = der(0x30, &[der_int(&self.n), der_int(&self.e)].concat());
        let mut bits = vec![0u8];
        bits.extend(rsa);
        // AlgorithmIdentifier { rsaEncryption, NULL }
        let alg = der(
            0x30,
            &[
                der(
                    0x06,
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                ),
                vec![0x05, 0x00],
            ]
            .concat(),
        );
        let spki = der(0x30, &[alg, der(0x03, &bits)].concat());
        pem("PUBLIC KEY", &spki)
    }

    /// MD5 of the wire blob as colon-separated hex.
    pub fn fingerprint(&self) -> String {
        let digest = Md5::digest(self.blob());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// A PEM block with 64-character lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn put_string(out: &mut Vec<u8>, b: &[u8]) {
    out.extend((b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn mpint(b: &[u8]) -> Vec<u8> {
    match b.first() {
        Some(top) if top & 0x80 != 0 => [&[0u8][..], b].concat(),
        _ => b.to_vec(),
    }
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes = strip(&(n as u64).to_be_bytes());
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_int(b: &[u8]) -> Vec<u8> {
    der(0x02, &mpint(b))
}

/// Reads one SSH `string` from the front of `b`.
fn take_string<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let s = b.get(4..4 + len)?;
    *b = b.get(4 + len..)?;
    Some(s)
}

fn parse_ssh(body: &str) -> Result<RsaKey, KeyError> {
    let mut parts = body.split_whitespace();
    let (Some("ssh-rsa"), Some(b64)) = (parts.next(), parts.next()) else {
        return Err(KeyError::Unrecognized);
    };
    let blob = B64.decode(b64).map_err(|_| KeyError::Invalid)?;
    let mut rest = blob.as_slice();
    let kind = take_string(&mut rest).ok_or(KeyError::Invalid)?;
    let e = take_string(&mut rest).ok_or(KeyError::Invalid)?;
    let n = take_string(&mut rest).ok_or(KeyError::Invalid)?;
    if kind != b"ssh-rsa" || !rest.is_empty() {
        return Err(KeyError::Invalid);
    }
    RsaKey::new(n, e)
}

fn parse_pem(body: &str) -> Result<RsaKey, KeyError> {
    let (_, block) =
        x509_parser::pem::parse_x509_pem(body.as_bytes()).map_err(|_| KeyError::Invalid)?;
    if block.label != "PUBLIC KEY" {
        return Err(KeyError::Unrecognized);
    }
    let (rest, spki) =
        SubjectPublicKeyInfo::from_der(&block.contents).map_err(|_| KeyError::Invalid)?;
    if !rest.is_empty() {
        return Err(KeyError::Invalid);
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => RsaKey::new(rsa.modulus, rsa.exponent),
        _ => Err(KeyError::Invalid),
    }
}

/// Parses a key body in either encoding.
pub fn parse(body: &str) -> Result<RsaKey, KeyError> {
    let body = body.trim();
    if body.starts_with("-----BEGIN ") {
        parse_pem(body)
    } else if body.starts_with("ssh-") {
        parse_ssh(body)
    } else {
        Err(KeyError::Unrecognized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RsaKey {
        let mut n = vec![0xC5u8; 256];
        n[255] = 0x01;
        RsaKey::new(&n, &[1, 0, 1]).unwrap()
    }

    #[test]
    fn round_trips_both_encodings() {
        let k = key();
        assert_eq!(k.bits(), 2048);
        assert_eq!(parse(&k.to_ssh()), Ok(k.clone()));
        assert_eq!(parse(&format!("{} me@host", k.to_ssh())), Ok(k.clone()));
        assert_eq!(parse(&k.to_pem()), Ok(k.clone()));
        assert_eq!(k.fingerprint().len(), 47);
    }

    #[test]
    fn refuses_bad_bodies() {
        assert_eq!(parse("hello"), Err(KeyError::Unrecognized));
        assert_eq!(parse("ssh-ed25519 AAAA"), Err(KeyError::Unrecognized));
        assert_eq!(parse("ssh-rsa !!!"), Err(KeyError::Invalid));
        let small = RsaKey {
            n: vec![0xC5; 128],
            e: vec![1, 0, 1],
        };
        assert_eq!(parse(&small.to_ssh()), Err(KeyError::Invalid));
    }
}
