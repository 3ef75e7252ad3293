//! The key that signs `aws-waf-token` cookies and interstitial seeds: 32 random bytes made
//! once per deployment, kept sealed under the master key in the settings table, opened by
//! each node's listener runtime and held in memory only (never logged).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use rampart_store::{aad_for, Store, Zeroizing};

use crate::engine::token::TokenKey;

/// The settings key of the sealed token key.
const SETTING: &str = "wafv2/token-key";

/// Why the token key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] rampart_store::StoreError),
    /// The stored key does not open under the master key.
    #[error("the sealed WAF token key does not open")]
    Unseal,
}

fn aad() -> Vec<u8> {
    aad_for("settings", "value", SETTING)
}

/// The deployment's token key, made on first use (one node wins a race to make it).
pub async fn load(store: &Store) -> Result<TokenKey, TokenKeyError> {
    if store.settings().get(SETTING).await?.is_none() {
        let mut fresh = Zeroizing::new(vec![0u8; 32]);
        aws_lc_rs::rand::fill(&mut fresh).map_err(|_| TokenKeyError::Unseal)?;
        let sealed = store
            .master_key()
            .seal(&aad(), &fresh)
            .map_err(|_| TokenKeyError::Unseal)?;
        store
            .settings()
            .insert_if_absent(SETTING, &STANDARD.encode(sealed))
            .await?;
    }
    let stored = store
        .settings()
        .get(SETTING)
        .await?
        .ok_or(TokenKeyError::Unseal)?;
    let sealed = STANDARD.decode(stored).map_err(|_| TokenKeyError::Unseal)?;
    let opened = store
        .master_key()
        .open(&aad(), &sealed)
        .map_err(|_| TokenKeyError::Unseal)?;
    Ok(TokenKey::from_bytes(opened))
}
