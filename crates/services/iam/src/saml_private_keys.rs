//! The private keys of a SAML provider, which decrypt the assertions its identity provider
//! encrypts (`AddPrivateKey`/`RemovePrivateKey` of `CreateSAMLProvider`/`UpdateSAMLProvider`,
//! `AssertionEncryptionMode`). Each key is sealed under the master key, bound to the provider
//! and key id; only its id and upload time are ever returned (`PrivateKeyList`).

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::{DateTime, Utc};
use rampart_store::aad_for;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::{
    cert_format,
    common::{opt_str, ts, IamError, Res},
};
use rampart_kit::{db::Db, error::ServiceError};

/// AWS's limit of private keys per provider.
const KEYS_PER_PROVIDER: usize = 2;

/// One stored private key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlKey {
    /// `KeyId`: 32 upper-case hex digits.
    pub key_id: String,
    /// When it was uploaded.
    pub timestamp: DateTime<Utc>,
    /// The PEM key sealed under the master key (base64).
    pub sealed: String,
}

fn aad(provider_uuid: &str, key_id: &str) -> Vec<u8> {
    aad_for(
        "entities",
        "saml-provider-private-key",
        &format!("{provider_uuid}/{key_id}"),
    )
}

fn new_key_id() -> Res<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ServiceError::internal())?;
    Ok(bytes.iter().map(|b| format!("{b:02X}")).collect())
}

/// Applies `AddPrivateKey`, `RemovePrivateKey` and `AssertionEncryptionMode` of a request:
/// the key must be an RSA private key in PEM, at most two keys, and `Required` needs one.
pub fn apply(
    input: &Value,
    db: &Db<'_>,
    provider_uuid: &str,
    mode: &mut Option<String>,
    keys: &mut Vec<SamlKey>,
    now: DateTime<Utc>,
) -> Res<()> {
    if let Some(id) = opt_str(input, "RemovePrivateKey") {
        let before = keys.len();
        keys.retain(|k| k.key_id != id);
        if keys.len() == before {
            return Err(IamError::NoSuchEntity(format!(
                "The private key {id} does not exist for this SAML provider."
            ))
            .into());
        }
    }
    if let Some(pem) = opt_str(input, "AddPrivateKey") {
        if !cert_format::is_rsa_private_key(pem) {
            return Err(IamError::InvalidInput(
                "The private key is not a valid RSA private key in PEM format.".into(),
            )
            .into());
        }
        if keys.len() >= KEYS_PER_PROVIDER {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for PrivateKeysPerSamlProvider: {KEYS_PER_PROVIDER}"
            ))
            .into());
        }
        let key_id = new_key_id()?;
        let sealed = db
            .master_key()
            .seal(&aad(provider_uuid, &key_id), pem.trim().as_bytes())
            .map_err(ServiceError::from)?;
        keys.push(SamlKey {
            key_id,
            timestamp: now,
            sealed: B64.encode(sealed),
        });
    }
    if let Some(asked) = opt_str(input, "AssertionEncryptionMode") {
        *mode = Some(asked.to_string());
    }
    if mode.as_deref() == Some("Required") && keys.is_empty() {
        return Err(IamError::InvalidInput(
            "AssertionEncryptionMode Required needs a private key to decrypt assertions: add one with AddPrivateKey.".into(),
        )
        .into());
    }
    Ok(())
}

/// `PrivateKeyList`: each key's id and upload time.
pub fn list_json(keys: &[SamlKey]) -> Value {
    Value::Array(
        keys.iter()
            .map(|k| json!({"KeyId": k.key_id, "Timestamp": ts(k.timestamp)}))
            .collect(),
    )
}

/// The PEM private keys of a provider, opened (for `AssumeRoleWithSAML`).
pub fn open(db: &Db<'_>, provider_uuid: &str, keys: &[SamlKey]) -> Res<Vec<Zeroizing<Vec<u8>>>> {
    keys.iter()
        .map(|k| {
            let sealed = B64
                .decode(&k.sealed)
                .map_err(|_| ServiceError::internal())?;
            db.master_key()
                .open(&aad(provider_uuid, &k.key_id), &sealed)
                .map_err(ServiceError::from)
        })
        .collect()
}
