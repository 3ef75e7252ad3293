//! The master key and the sealing of secrets at rest (AES-256-GCM with AAD bound to the row).

use std::fmt;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::{hmac, rand};
use base64::Engine;
use zeroize::Zeroizing;

use crate::error::{Result, StoreError};

/// Environment variable holding the master key as base64 (standard alphabet, 32 bytes).
pub const MASTER_KEY_ENV: &str = "RAMPART_MASTER_KEY";
/// File name of the master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Format byte of sealed values; a new algorithm or layout gets a new byte.
const SEAL_V1: u8 = 1;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// The 32-byte key that seals every secret at rest; zeroized on drop, never printed.
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    aead: LessSafeKey,
    /// A subkey (not the master key itself) so the audit MAC and AES never share key material.
    audit_mac: hmac::Key,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl MasterKey {
    /// Builds a key from 32 raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<MasterKey> {
        let bytes = Zeroizing::new(bytes);
        let unbound = UnboundKey::new(&AES_256_GCM, bytes.as_ref())
            .map_err(|_| StoreError::MasterKey("invalid AES-256 key".into()))?;
        let root = hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref());
        let sub = hmac::sign(&root, b"rampart audit head mac v1");
        let audit_mac = hmac::Key::new(hmac::HMAC_SHA256, sub.as_ref());
        Ok(MasterKey {
            bytes,
            aead: LessSafeKey::new(unbound),
            audit_mac,
        })
    }

    /// Generates a fresh random key.
    pub fn generate() -> Result<MasterKey> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::fill(bytes.as_mut()).map_err(|_| StoreError::MasterKey("no randomness".into()))?;
        MasterKey::from_bytes(*bytes)
    }

    /// Parses a base64 (standard alphabet) encoding of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<MasterKey> {
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| StoreError::MasterKey("master key is not valid base64".into()))?,
        );
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            StoreError::MasterKey(format!(
                "master key must be {KEY_LEN} bytes, got {}",
                decoded.len()
            ))
        })?;
        MasterKey::from_bytes(bytes)
    }

    /// The key's base64 text, for writing the key file (the caller must keep it secret).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.bytes.as_ref()))
    }

    /// Loads the key from `RAMPART_MASTER_KEY` if set, else from `<data_dir>/master.key`,
    /// creating that file (mode 0600, 32 random bytes) on first start.
    pub fn from_env_or_data_dir(data_dir: &Path) -> Result<MasterKey> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(v) => MasterKey::from_base64(&Zeroizing::new(v)),
            Err(std::env::VarError::NotPresent) => {
                MasterKey::load_or_create_file(&data_dir.join(MASTER_KEY_FILE))
            }
            Err(std::env::VarError::NotUnicode(_)) => Err(StoreError::MasterKey(format!(
                "{MASTER_KEY_ENV} is not valid UTF-8"
            ))),
        }
    }

    /// Reads the key file, or creates it atomically with a new random key if it is missing.
    pub fn load_or_create_file(path: &Path) -> Result<MasterKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                MasterKey::from_base64(&Zeroizing::new(text))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path),
            Err(e) => Err(StoreError::MasterKey(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// Encrypts `plaintext` bound to `aad`: `[version][nonce 12][ciphertext][tag 16]`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce).map_err(|_| StoreError::Crypto("no randomness".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEAL_V1);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        let sealed = self.aead.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut body,
        );
        if sealed.is_err() {
            zeroize::Zeroize::zeroize(&mut body);
            return Err(StoreError::Crypto("seal failed".into()));
        }
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a value made by [`MasterKey::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let (version, rest) = sealed
            .split_first()
            .ok_or_else(|| StoreError::Crypto("empty sealed value".into()))?;
        if *version != SEAL_V1 {
            return Err(StoreError::Crypto(format!(
                "unknown sealed format {version}"
            )));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(StoreError::Crypto("sealed value too short".into()));
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| StoreError::Crypto("bad nonce".into()))?;
        let mut buf = Zeroizing::new(body.to_vec());
        let len = self
            .aead
            .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| StoreError::Crypto("cannot open sealed value (wrong key or AAD)".into()))?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// HMAC-SHA256 under the audit subkey, hex encoded.
    pub(crate) fn audit_mac(&self, data: &[u8]) -> String {
        hex::encode(hmac::sign(&self.audit_mac, data).as_ref())
    }
}

/// The AAD that binds a sealed value to one cell: table, column and row id, length-prefixed so
/// that no two different triples give the same bytes.
pub fn aad_for(table: &str, column: &str, row_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + table.len() + column.len() + row_id.len());
    out.extend_from_slice(b"rampart.v1");
    for part in [table, column, row_id] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn create_key_file(path: &Path) -> Result<MasterKey> {
    let key = MasterKey::generate()?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::MasterKey(format!("cannot create {}: {e}", dir.display())))?;
    // Write a temporary file, then hard-link it into place: the link fails if another process
    // created the key first, so two first starts never end up with two different keys, and a
    // reader never sees a half-written file.
    let tmp = dir.join(format!(".master.key.{}", uuid::Uuid::new_v4().simple()));
    let result = write_private(&tmp, key.to_base64().as_bytes())
        .and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            tracing::info!(path = %path.display(), "created a new master key");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            MasterKey::load_or_create_file(path)
        }
        Err(e) => Err(StoreError::MasterKey(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.write_all(b"\n")?;
    f.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "master key file is readable by group or others; chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let k = MasterKey::generate().unwrap();
        let aad = aad_for("access_keys", "secret", "AKIA1");
        let sealed = k.seal(&aad, b"s3cr3t").unwrap();
        assert_eq!(sealed[0], SEAL_V1);
        assert_eq!(&k.open(&aad, &sealed).unwrap()[..], b"s3cr3t");
        let other = aad_for("access_keys", "secret", "AKIA2");
        assert!(matches!(
            k.open(&other, &sealed),
            Err(StoreError::Crypto(_))
        ));
        let k2 = MasterKey::generate().unwrap();
        assert!(k2.open(&aad, &sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(k.open(&aad, &tampered).is_err());
        assert!(k.open(&aad, &[]).is_err());
        assert!(k.open(&aad, &[2u8; 40]).is_err());
        // Random nonces: sealing twice gives different bytes.
        assert_ne!(sealed, k.seal(&aad, b"s3cr3t").unwrap());
    }

    #[test]
    fn aad_is_unambiguous() {
        assert_ne!(aad_for("ab", "c", "d"), aad_for("a", "bc", "d"));
    }

    #[test]
    fn debug_hides_key_and_base64_round_trips() {
        let k = MasterKey::generate().unwrap();
        assert_eq!(format!("{k:?}"), "***");
        let k2 = MasterKey::from_base64(&k.to_base64()).unwrap();
        let sealed = k.seal(b"a", b"x").unwrap();
        assert_eq!(&k2.open(b"a", &sealed).unwrap()[..], b"x");
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("!!").is_err());
    }

    #[test]
    fn key_file_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("rampart-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join(MASTER_KEY_FILE);
        let k1 = MasterKey::load_or_create_file(&path).unwrap();
        let k2 = MasterKey::load_or_create_file(&path).unwrap();
        assert_eq!(k1.to_base64(), k2.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
