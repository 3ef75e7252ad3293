//! JSON Web Tokens as OpenID Connect issuers sign them: the compact form split and decoded,
//! and the signature checked against a key of the issuer's JWKS (RS256/384/512 and
//! ES256/384 with aws-lc-rs). `alg: none` and every other algorithm are refused.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{Map, Value};

/// Why a token is refused before its claims are looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts with JSON header and claims.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// `alg` is `none` or an algorithm Rampart does not verify.
    #[error("the token's signing algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// No key of the issuer's set fits the token (`kid`, `kty`, `alg`, `use`).
    #[error("no key of the issuer verifies this token")]
    NoKey,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    Signature,
}

/// A token split into its parts; nothing in it is trusted until [`Jwt::verify`] succeeds.
#[derive(Debug, Clone)]
pub struct Jwt {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

fn json_part(part: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed),
    }
}

impl Jwt {
    /// Splits and decodes a compact JWS (`header.claims.signature`).
    pub fn parse(token: &str) -> Result<Jwt, JwtError> {
        let mut parts = token.trim().split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header = json_part(h)?;
        let claims = json_part(c)?;
        let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
        Ok(Jwt {
            header,
            claims,
            signing_input: format!("{h}.{c}"),
            signature,
        })
    }

    /// The header's `alg`.
    pub fn alg(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim (seconds since the epoch; a fraction is dropped).
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f.floor() as i64))
    }

    /// Checks the signature with the first key of `keys` (a JWKS's `keys` array) that fits
    /// the token: the same `kid` when the token names one, the algorithm's key type, no `use`
    /// other than `sig`, no `alg` other than the token's.
    pub fn verify(&self, keys: &[Value]) -> Result<(), JwtError> {
        let alg = self.alg();
        let (kty, algorithm) = algorithm(alg)?;
        let kid = self.header.get("kid").and_then(Value::as_str);
        let fits = |k: &&Value| {
            let field = |n: &str| k.get(n).and_then(Value::as_str);
            field("kty") == Some(kty)
                && kid.is_none_or(|kid| field("kid") == Some(kid))
                && field("use").is_none_or(|u| u == "sig")
                && field("alg").is_none_or(|a| a == alg)
        };
        let mut candidates = keys.iter().filter(fits).peekable();
        if candidates.peek().is_none() {
            return Err(JwtError::NoKey);
        }
        for key in candidates {
            if self.verify_with(key, alg, algorithm).is_ok() {
                return Ok(());
            }
        }
        Err(JwtError::Signature)
    }

    fn verify_with(
        &self,
        jwk: &Value,
        alg: &str,
        algorithm: &'static dyn VerificationAlgorithm,
    ) -> Result<(), JwtError> {
        let b64 = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                .ok_or(JwtError::NoKey)
        };
        let message = self.signing_input.as_bytes();
        if alg.starts_with("RS") {
            let key = signature::RsaPublicKeyComponents {
                n: b64("n")?,
                e: b64("e")?,
            };
            return key
                .verify(rsa_params(alg)?, message, &self.signature)
                .map_err(|_| JwtError::Signature);
        }
        let (crv, len) = match alg {
            "ES256" => ("P-256", 32),
            _ => ("P-384", 48),
        };
        if jwk.get("crv").and_then(Value::as_str) != Some(crv) {
            return Err(JwtError::NoKey);
        }
        let (x, y) = (b64("x")?, b64("y")?);
        if x.len() != len || y.len() != len {
            return Err(JwtError::NoKey);
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(4);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        UnparsedPublicKey::new(algorithm, point)
            .verify(message, &self.signature)
            .map_err(|_| JwtError::Signature)
    }
}

/// The key type and verification algorithm of a JWS `alg`.
fn algorithm(alg: &str) -> Result<(&'static str, &'static dyn VerificationAlgorithm), JwtError> {
    Ok(match alg {
        "RS256" => ("RSA", &signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => ("RSA", &signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => ("RSA", &signature::RSA_PKCS1_2048_8192_SHA512),
        "ES256" => ("EC", &signature::ECDSA_P256_SHA256_FIXED),
        "ES384" => ("EC", &signature::ECDSA_P384_SHA384_FIXED),
        other => return Err(JwtError::Algorithm(other.to_string())),
    })
}

fn rsa_params(alg: &str) -> Result<&'static signature::RsaParameters, JwtError> {
    Ok(match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        other => return Err(JwtError::Algorithm(other.to_string())),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_lc_rs::{
        rand::SystemRandom,
        rsa::KeySize,
        signature::{EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
    };
    use serde_json::json;

    /// A test issuer's key: signs tokens and shows itself as a JWK.
    pub(crate) enum TestKey {
        Rsa(RsaKeyPair),
        Ec(EcdsaKeyPair),
    }

    impl TestKey {
        pub(crate) fn rsa() -> TestKey {
            TestKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
        }
        pub(crate) fn ec() -> TestKey {
            TestKey::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
        }
        pub(crate) fn jwk(&self, kid: &str) -> Value {
            let b = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
            match self {
                TestKey::Rsa(k) => {
                    let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b(&c.n), "e": b(&c.e)})
                }
                TestKey::Ec(k) => {
                    let p = k.public_key().as_ref();
                    json!({"kty": "EC", "kid": kid, "crv": "P-256", "x": b(&p[1..33]), "y": b(&p[33..65])})
                }
            }
        }
        pub(crate) fn sign(&self, kid: &str, claims: &Value) -> String {
            let alg = match self {
                TestKey::Rsa(_) => "RS256",
                TestKey::Ec(_) => "ES256",
            };
            let h =
                URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string());
            let c = URL_SAFE_NO_PAD.encode(claims.to_string());
            let input = format!("{h}.{c}");
            let rng = SystemRandom::new();
            let sig = match self {
                TestKey::Rsa(k) => {
                    let mut sig = vec![0; k.public_modulus_len()];
                    k.sign(
                        &signature::RSA_PKCS1_SHA256,
                        &rng,
                        input.as_bytes(),
                        &mut sig,
                    )
                    .unwrap();
                    sig
                }
                TestKey::Ec(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            };
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://issuer.example.com", "sub": "alice", "aud": "app", "exp": 2_000_000_000})
    }

    #[test]
    fn rs256_and_es256_tokens_verify_against_their_keys_only() {
        for key in [TestKey::rsa(), TestKey::ec()] {
            let other = TestKey::rsa();
            let token = key.sign("k1", &claims());
            let jwt = Jwt::parse(&token).unwrap();
            assert_eq!(jwt.claim_str("sub"), Some("alice"));
            assert_eq!(jwt.claim_time("exp"), Some(2_000_000_000));
            assert_eq!(jwt.verify(&[key.jwk("k1")]), Ok(()));
            assert_eq!(jwt.verify(&[other.jwk("k2")]), Err(JwtError::NoKey));
            let wrong = match key {
                TestKey::Rsa(_) => other.jwk("k1"),
                TestKey::Ec(_) => TestKey::ec().jwk("k1"),
            };
            assert_eq!(jwt.verify(&[wrong]), Err(JwtError::Signature));
        }
    }

    #[test]
    fn a_changed_claim_breaks_the_signature() {
        let key = TestKey::rsa();
        let token = key.sign("k1", &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims();
        forged["sub"] = json!("mallory");
        let c = URL_SAFE_NO_PAD.encode(forged.to_string());
        parts[1] = &c;
        let jwt = Jwt::parse(&parts.join(".")).unwrap();
        assert_eq!(jwt.verify(&[key.jwk("k1")]), Err(JwtError::Signature));
    }

    #[test]
    fn alg_none_and_malformed_tokens_are_refused() {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let c = URL_SAFE_NO_PAD.encode(claims().to_string());
        let jwt = Jwt::parse(&format!("{h}.{c}.")).unwrap();
        assert_eq!(
            jwt.verify(&[TestKey::rsa().jwk("k")]),
            Err(JwtError::Algorithm("none".into()))
        );
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        let jwt = Jwt::parse(&format!("{h}.{c}.AAAA")).unwrap();
        assert!(matches!(jwt.verify(&[]), Err(JwtError::Algorithm(_))));
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            &format!("{h}.bm90IGpzb24."),
        ] {
            assert_eq!(Jwt::parse(bad).unwrap_err(), JwtError::Malformed, "{bad}");
        }
    }
}
