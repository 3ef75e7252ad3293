//! The signing keys of OpenID Connect issuers: fetched over HTTPS from the issuer's discovery
//! document (`ISSUER/.well-known/openid-configuration` -> `jwks_uri`) and cached, or, in
//! offline mode, read from a JWKS file the operator puts in the data directory
//! (`<data-dir>/oidc/<provider name with '/' as '_'>.json`), which then takes the place of
//! the issuer's own set and no network is used.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::tls::{self, FetchError};

/// How long a fetched key set is used before it is fetched again.
const FRESH_FOR: Duration = Duration::from_secs(3600);
/// A token whose `kid` is not in the cached set fetches the set again (the issuer rotated
/// its keys), at most this often per issuer.
const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// Most issuers remembered.
const CAPACITY: usize = 1000;

/// Why no key set could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// The issuer's certificate is untrusted and matches no thumbprint of the provider.
    #[error("the issuer's certificate matches no configured thumbprint")]
    Thumbprint,
    /// The issuer could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The discovery document or key set is not what OpenID Connect specifies.
    #[error("{0}")]
    Invalid(String),
}

impl From<FetchError> for KeysError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Thumbprint => KeysError::Thumbprint,
            FetchError::Unreachable(m) => KeysError::Unreachable(m),
        }
    }
}

struct Cached {
    keys: Arc<Vec<Value>>,
    thumbprints: Vec<String>,
    fetched: Instant,
}

/// The key sets of the issuers tokens came from; one per server (see
/// [`rampart_kit::route::Extensions`]).
pub struct KeySets {
    offline_dir: Option<PathBuf>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl KeySets {
    /// Key sets that read operator-supplied files from `offline_dir` (when given) and fetch
    /// the others.
    pub fn new(offline_dir: Option<PathBuf>) -> KeySets {
        KeySets {
            offline_dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The file an operator puts a provider's JWKS in for offline mode.
    pub fn offline_file(&self, provider_name: &str) -> Option<PathBuf> {
        let file = format!("{}.json", provider_name.replace('/', "_"));
        self.offline_dir.as_ref().map(|d| d.join(file))
    }

    /// The keys of the issuer at `url` (provider `name`), for a token naming `kid`.
    pub async fn keys(
        &self,
        url: &str,
        name: &str,
        thumbprints: &[String],
        kid: Option<&str>,
    ) -> Result<Arc<Vec<Value>>, KeysError> {
        if let Some(path) = self.offline_file(name) {
            match tokio::fs::read(&path).await {
                Ok(bytes) => return parse_set(&bytes).map(Arc::new),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(KeysError::Invalid(format!("{}: {e}", path.display())));
                }
            }
        }
        if let Some(hit) = self.cached(name, thumbprints, kid) {
            return Ok(hit);
        }
        let keys = Arc::new(fetch(url, thumbprints).await?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CAPACITY {
                cache.clear();
            }
            cache.insert(
                name.to_string(),
                Cached {
                    keys: keys.clone(),
                    thumbprints: thumbprints.to_vec(),
                    fetched: Instant::now(),
                },
            );
        }
        Ok(keys)
    }

    /// The cached set, unless it is stale, was fetched under other thumbprints, or lacks
    /// `kid` and may be fetched again.
    fn cached(
        &self,
        name: &str,
        thumbprints: &[String],
        kid: Option<&str>,
    ) -> Option<Arc<Vec<Value>>> {
        let cache = self.cache.lock().ok()?;
        let hit = cache.get(name)?;
        let age = hit.fetched.elapsed();
        if hit.thumbprints != thumbprints || age > FRESH_FOR {
            return None;
        }
        let has_kid = kid.is_none_or(|kid| {
            hit.keys
                .iter()
                .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        });
        (has_kid || age < REFETCH_AFTER).then(|| hit.keys.clone())
    }
}

/// Discovery document, then key set.
async fn fetch(url: &str, thumbprints: &[String]) -> Result<Vec<Value>, KeysError> {
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        url.trim_end_matches('/')
    );
    let doc: Value = serde_json::from_slice(&tls::get(&discovery, thumbprints).await?)
        .map_err(|e| KeysError::Invalid(format!("{discovery}: {e}")))?;
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("https://"))
        .ok_or_else(|| KeysError::Invalid(format!("{discovery}: no https jwks_uri")))?;
    parse_set(&tls::get(jwks_uri, thumbprints).await?)
}

/// The `keys` of a JWKS document.
fn parse_set(bytes: &[u8]) -> Result<Vec<Value>, KeysError> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| KeysError::Invalid(format!("JWKS: {e}")))?;
    match doc.get("keys") {
        Some(Value::Array(keys)) => Ok(keys.clone()),
        _ => Err(KeysError::Invalid("JWKS: no keys array".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_offline_file_takes_the_place_of_the_issuer() {
        let dir = std::env::temp_dir().join(format!("rampart-jwks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let sets = KeySets::new(Some(dir.clone()));
        let file = sets.offline_file("issuer.example.com/realms/x").unwrap();
        assert_eq!(file, dir.join("issuer.example.com_realms_x.json"));
        std::fs::write(&file, r#"{"keys":[{"kty":"RSA","kid":"a"}]}"#).unwrap();
        // No network: the issuer's URL is never fetched.
        let keys = sets
            .keys(
                "https://127.0.0.1:1",
                "issuer.example.com/realms/x",
                &[],
                Some("a"),
            )
            .await
            .unwrap();
        assert_eq!(keys.len(), 1);
        std::fs::write(&file, "not json").unwrap();
        assert!(matches!(
            sets.keys(
                "https://127.0.0.1:1",
                "issuer.example.com/realms/x",
                &[],
                None
            )
            .await,
            Err(KeysError::Invalid(_))
        ));
        // Without a file the issuer is asked, and an unreachable one says so.
        assert!(matches!(
            sets.keys("https://127.0.0.1:1", "other.example.com", &[], None)
                .await,
            Err(KeysError::Unreachable(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
