//! The `aws-waf-token` a client earns by answering a Challenge (a proof of work) or a CAPTCHA
//! (a puzzle), and the signed seeds those interstitials hand out. Everything is signed with
//! HMAC-SHA256 under one [`TokenKey`], kept sealed in the store (`crate::token_key`) and held
//! in memory only; the key never appears in a `Debug` output or a log.
//!
//! A token is `ID:CHALLENGE_AT:CAPTCHA_AT:DOMAIN:MAC` (epoch seconds of the last solved
//! challenge and CAPTCHA, 0 for never; `MAC` base64url of the HMAC of the rest). A seed is
//! `KIND:ISSUED:NONCE:MAC`, valid for [`SEED_LIFETIME`] seconds.

use aws_lc_rs::{digest, hmac, rand::SecureRandom};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rampart_store::Zeroizing;

/// The leading zero bits a proof of work needs: about 65,000 hashes on average.
pub const POW_BITS: u32 = 16;
/// How long a seed (a challenge's or a puzzle's) may be answered, in seconds.
pub const SEED_LIFETIME: u64 = 600;
/// The digits of a CAPTCHA puzzle.
pub const PUZZLE_DIGITS: usize = 5;

/// The key that signs tokens and seeds.
pub struct TokenKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The client session's identifier.
    pub id: String,
    /// When a challenge was last solved (epoch seconds; 0: never).
    pub challenge_at: u64,
    /// When a CAPTCHA was last solved (epoch seconds; 0: never).
    pub captcha_at: u64,
    /// The domain the token is for (a host or one of the web ACL's token domains).
    pub domain: String,
}

/// The `aws-waf-token` of a request, as its signature reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TokenState {
    /// No `aws-waf-token` cookie.
    #[default]
    Absent,
    /// A cookie whose signature or shape is wrong.
    Invalid,
    /// A genuine token (its timestamps and domain are checked by the rule).
    Valid(Token),
}

/// What a seed is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedKind {
    /// A Challenge's proof of work.
    Challenge,
    /// A CAPTCHA puzzle.
    Captcha,
}

impl SeedKind {
    fn tag(self) -> &'static str {
        match self {
            SeedKind::Challenge => "ch",
            SeedKind::Captcha => "ca",
        }
    }
}

impl TokenKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> TokenKey {
        TokenKey(bytes)
    }

    fn mac(&self, purpose: &str, text: &str) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(purpose.as_bytes());
        ctx.update(b"\0");
        ctx.update(text.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    fn verify(&self, purpose: &str, text: &str, mac_b64: &str) -> bool {
        let Ok(mac) = URL_SAFE_NO_PAD.decode(mac_b64) else {
            return false;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut data = purpose.as_bytes().to_vec();
        data.push(0);
        data.extend_from_slice(text.as_bytes());
        hmac::verify(&key, &data, &mac).is_ok()
    }

    /// The cookie value of a token.
    pub fn mint(&self, t: &Token) -> String {
        let text = format!("{}:{}:{}:{}", t.id, t.challenge_at, t.captcha_at, t.domain);
        let mac = URL_SAFE_NO_PAD.encode(self.mac("token", &text));
        format!("{text}:{mac}")
    }

    /// Reads a cookie value.
    pub fn read(&self, value: &str) -> TokenState {
        let Some((text, mac)) = value.rsplit_once(':') else {
            return TokenState::Invalid;
        };
        if !self.verify("token", text, mac) {
            return TokenState::Invalid;
        }
        let parts: Vec<&str> = text.split(':').collect();
        let [id, challenge_at, captcha_at, domain] = parts.as_slice() else {
            return TokenState::Invalid;
        };
        match (challenge_at.parse(), captcha_at.parse()) {
            (Ok(challenge_at), Ok(captcha_at)) => TokenState::Valid(Token {
                id: (*id).to_string(),
                challenge_at,
                captcha_at,
                domain: (*domain).to_string(),
            }),
            _ => TokenState::Invalid,
        }
    }

    /// A new seed of `kind`, issued at `now`.
    pub fn seed(&self, kind: SeedKind, now: u64) -> String {
        let text = format!("{}:{now}:{}", kind.tag(), random_hex(12));
        let mac = URL_SAFE_NO_PAD.encode(self.mac("seed", &text));
        format!("{text}:{mac}")
    }

    /// True when `seed` is one of ours, of `kind`, and still answerable at `now`.
    pub fn seed_valid(&self, seed: &str, kind: SeedKind, now: u64) -> bool {
        let Some((text, mac)) = seed.rsplit_once(':') else {
            return false;
        };
        let mut parts = text.split(':');
        let (Some(tag), Some(issued)) = (parts.next(), parts.next()) else {
            return false;
        };
        let Ok(issued) = issued.parse::<u64>() else {
            return false;
        };
        tag == kind.tag()
            && issued <= now
            && now - issued <= SEED_LIFETIME
            && self.verify("seed", text, mac)
    }

    /// The answer of a CAPTCHA puzzle: [`PUZZLE_DIGITS`] digits only the key can derive.
    pub fn puzzle_answer(&self, seed: &str) -> String {
        self.mac("puzzle", seed)
            .iter()
            .take(PUZZLE_DIGITS)
            .map(|b| char::from(b'0' + b % 10))
            .collect()
    }
}

/// True when SHA-256(`seed` `nonce`) starts with [`POW_BITS`] zero bits.
pub fn pow_solved(seed: &str, nonce: &str) -> bool {
    let mut data = seed.as_bytes().to_vec();
    data.extend_from_slice(nonce.as_bytes());
    let hash = digest::digest(&digest::SHA256, &data);
    leading_zero_bits(hash.as_ref()) >= POW_BITS
}

fn leading_zero_bits(bytes: &[u8]) -> u32 {
    let mut bits = 0;
    for b in bytes {
        if *b == 0 {
            bits += 8;
        } else {
            return bits + b.leading_zeros();
        }
    }
    bits
}

/// `n` random bytes as hex (a token's id, a seed's nonce).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The system generator does not fail on the platforms Rampart runs on; a zero nonce is
    // still signed, so a failure weakens uniqueness, never authenticity.
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes);
    hex::encode(bytes)
}

/// Whether a token's domain covers a request's host: the host itself, or a token domain the
/// host is (or is under).
pub fn domain_covers(token_domain: &str, host: &str, token_domains: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    let td = token_domain.to_ascii_lowercase();
    if td == host {
        return true;
    }
    token_domains.iter().any(|d| d.eq_ignore_ascii_case(&td))
        && (host == td || host.ends_with(&format!(".{td}")))
}

/// The domain a new token for `host` is minted for: the longest token domain covering the
/// host, else the host.
pub fn domain_for(host: &str, token_domains: &[String]) -> String {
    let host = host.to_ascii_lowercase();
    token_domains
        .iter()
        .map(|d| d.to_ascii_lowercase())
        .filter(|d| host == *d || host.ends_with(&format!(".{d}")))
        .max_by_key(String::len)
        .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> TokenKey {
        TokenKey::from_bytes(Zeroizing::new(vec![b; 32]))
    }

    fn token() -> Token {
        Token {
            id: "abc".into(),
            challenge_at: 1_000,
            captcha_at: 0,
            domain: "app.example.com".into(),
        }
    }

    #[test]
    fn a_minted_token_reads_back() {
        let k = key(1);
        assert_eq!(k.read(&k.mint(&token())), TokenState::Valid(token()));
    }

    #[test]
    fn a_forged_or_tampered_token_is_invalid() {
        let k = key(1);
        let minted = k.mint(&token());
        assert_eq!(key(2).read(&minted), TokenState::Invalid);
        let later = minted.replacen(":1000:", ":9999:", 1);
        assert_ne!(later, minted);
        assert_eq!(k.read(&later), TokenState::Invalid);
        let other_domain = minted.replacen("app.example.com", "evil.example.com", 1);
        assert_eq!(k.read(&other_domain), TokenState::Invalid);
        assert_eq!(k.read("garbage"), TokenState::Invalid);
        assert_eq!(k.read(""), TokenState::Invalid);
    }

    #[test]
    fn seeds_expire_and_are_bound_to_their_kind() {
        let k = key(1);
        let s = k.seed(SeedKind::Challenge, 100);
        assert!(k.seed_valid(&s, SeedKind::Challenge, 100));
        assert!(k.seed_valid(&s, SeedKind::Challenge, 100 + SEED_LIFETIME));
        assert!(!k.seed_valid(&s, SeedKind::Challenge, 101 + SEED_LIFETIME));
        assert!(!k.seed_valid(&s, SeedKind::Challenge, 99));
        assert!(!k.seed_valid(&s, SeedKind::Captcha, 100));
        assert!(!key(2).seed_valid(&s, SeedKind::Challenge, 100));
        assert!(!k.seed_valid(&s.replacen(":100:", ":200:", 1), SeedKind::Challenge, 200));
    }

    #[test]
    fn a_proof_of_work_is_checked() {
        let seed = "ch:1:00:x";
        let nonce = (0u64..)
            .map(|n| n.to_string())
            .find(|n| pow_solved(seed, n))
            .unwrap_or_default();
        let mut data = seed.as_bytes().to_vec();
        data.extend_from_slice(nonce.as_bytes());
        let hash = digest::digest(&digest::SHA256, &data);
        assert!(leading_zero_bits(hash.as_ref()) >= POW_BITS);
        assert_eq!(&hash.as_ref()[..2], &[0, 0]);
        let wrong = (0u64..)
            .map(|n| n.to_string())
            .find(|n| !pow_solved(seed, n))
            .unwrap_or_default();
        assert!(!pow_solved(seed, &wrong));
    }

    #[test]
    fn leading_zero_bits_count() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x80]), 16);
        assert_eq!(leading_zero_bits(&[0, 1]), 15);
        assert_eq!(leading_zero_bits(&[0xff]), 0);
    }

    #[test]
    fn puzzle_answers_are_digits_only_the_key_derives() {
        let k = key(1);
        let s = k.seed(SeedKind::Captcha, 5);
        let a = k.puzzle_answer(&s);
        assert_eq!(a.len(), PUZZLE_DIGITS);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(a, k.puzzle_answer(&s));
        let others: Vec<String> = (2..6).map(|b| key(b).puzzle_answer(&s)).collect();
        assert!(others.iter().any(|o| *o != a));
    }

    #[test]
    fn token_domains_cover_their_subdomains() {
        let domains = vec!["example.com".to_string()];
        assert!(domain_covers("a.example.com", "a.example.com", &[]));
        assert!(!domain_covers("a.example.com", "b.example.com", &[]));
        assert!(domain_covers("example.com", "b.example.com", &domains));
        assert!(!domain_covers("example.com", "b.example.com", &[]));
        assert!(!domain_covers("example.com", "badexample.com", &domains));
        assert_eq!(domain_for("A.Example.com", &domains), "example.com");
        assert_eq!(domain_for("other.org", &domains), "other.org");
    }
}
