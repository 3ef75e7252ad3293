//! Identifiers in AWS's formats, from the system's secure random generator.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The system random generator failed; nothing sensible can be issued without it.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Fills `n` characters from `alphabet` (whose length divides 256, so there is no bias).
fn random_chars(alphabet: &[u8], n: usize) -> Result<String, RandomError> {
    debug_assert!(256 % alphabet.len() == 0);
    let mut bytes = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomError)?;
    Ok(bytes
        .iter()
        .filter_map(|b| alphabet.get(usize::from(*b) % alphabet.len()))
        .map(|c| char::from(*c))
        .collect())
}

/// A fresh 12-digit account id (never starting with 0, so it never reads as a shorter number).
pub fn account_id() -> Result<String, RandomError> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomError)?;
    let n = u64::from_le_bytes(bytes) % 900_000_000_000 + 100_000_000_000;
    Ok(n.to_string())
}

/// A long-term (`AKIA`) or temporary (`ASIA`) access key id: the prefix and 16 characters.
pub fn access_key_id(temporary: bool) -> Result<String, RandomError> {
    let prefix = if temporary { "ASIA" } else { "AKIA" };
    Ok(format!("{prefix}{}", random_chars(BASE32, 16)?))
}

/// A 40-character secret access key.
pub fn secret_access_key() -> Result<String, RandomError> {
    random_chars(SECRET_ALPHABET, 40)
}

/// A unique id with AWS's prefix for the entity (`AIDA` user, `AROA` role, `AGPA` group,
/// `ANPA` managed policy, `AIPA` instance profile): the prefix and 17 characters.
pub fn unique_id(prefix: &str) -> Result<String, RandomError> {
    Ok(format!("{prefix}{}", random_chars(BASE32, 17)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_aws() {
        let account = account_id().unwrap();
        assert_eq!(account.len(), 12);
        assert!(account.bytes().all(|b| b.is_ascii_digit()));
        let akid = access_key_id(false).unwrap();
        assert_eq!(akid.len(), 20);
        assert!(akid.starts_with("AKIA"));
        assert!(access_key_id(true).unwrap().starts_with("ASIA"));
        let secret = secret_access_key().unwrap();
        assert_eq!(secret.len(), 40);
        assert_ne!(secret, secret_access_key().unwrap());
        assert_eq!(unique_id("AIDA").unwrap().len(), 21);
    }
}
