//! The stored documents of KMS keys (generic store entities of kind `kms:key`).
//!
//! A key's document holds its metadata, key policy, tags, grants, rotation schedule and every
//! version of its key material, each sealed under the server's master key (AAD bound to the key
//! id and material id), so the database alone reveals no key material.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Entity kind of keys.
pub const KEY_KIND: &str = "kms:key";
/// Entity kind of aliases.
pub const ALIAS_KIND: &str = "kms:alias";
/// Entity kind of the scheduler's index (one entry per key with something due).
pub const DUE_KIND: &str = "kms:due";
/// The pseudo-account holding the scheduler's index.
pub const DUE_ACCOUNT: &str = "~kms";

/// AWS's key states that Rampart's keys can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Disabled by `DisableKey`.
    Disabled,
    /// Scheduled for deletion.
    PendingDeletion,
    /// An EXTERNAL key without key material.
    PendingImport,
    /// A multi-Region primary key scheduled for deletion while it still has replicas; its
    /// waiting period starts when the last replica is deleted.
    PendingReplicaDeletion,
}

impl KeyState {
    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
        }
    }
}

/// One version of a key's material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    /// The material id (64 hex characters).
    pub id: String,
    /// The material sealed under the master key, base64; `None` once deleted (imported
    /// material after `DeleteImportedKeyMaterial` or expiry).
    pub sealed: Option<String>,
    /// When this version became the key's material.
    pub created: DateTime<Utc>,
    /// `AUTOMATIC` or `ON_DEMAND` for versions made by rotation.
    #[serde(default)]
    pub rotation_type: Option<String>,
    /// For imported material that expires: when.
    #[serde(default)]
    pub valid_to: Option<DateTime<Utc>>,
}

/// A grant on a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The grant id (64 hex characters).
    pub id: String,
    /// The grant token (opaque to clients).
    pub token: String,
    /// The optional name.
    #[serde(default)]
    pub name: Option<String>,
    /// Who may use the grant.
    pub grantee: String,
    /// Who may retire it.
    #[serde(default)]
    pub retiring: Option<String>,
    /// The account that created it.
    pub issuing_account: String,
    /// The operations it allows.
    pub operations: Vec<String>,
    /// `EncryptionContextSubset`.
    #[serde(default)]
    pub context_subset: Option<std::collections::BTreeMap<String, String>>,
    /// `EncryptionContextEquals`.
    #[serde(default)]
    pub context_equals: Option<std::collections::BTreeMap<String, String>>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// Parameters of a pending import (`GetParametersForImport`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportParams {
    /// The token id the import token carries (hex).
    pub token_id: String,
    /// The wrapping private key (PKCS#8), sealed under the master key, base64.
    pub sealed_wrapping_key: String,
    /// `RSAES_OAEP_SHA_1` or `RSAES_OAEP_SHA_256`.
    pub wrapping_algorithm: String,
    /// When the token and wrapping key expire.
    pub valid_to: DateTime<Utc>,
}

/// The members of a multi-Region key, identical in every member's document (the primary and
/// each replica are separate keys, one per region, with the same key id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiRegion {
    /// The primary key's region.
    pub primary_region: String,
    /// The replicas' regions, in the order they were created.
    #[serde(default)]
    pub replica_regions: Vec<String>,
}

impl MultiRegion {
    /// Every member's region, the primary first.
    pub fn regions(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.primary_region).chain(&self.replica_regions)
    }
}

/// A KMS key's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDoc {
    /// The region the key lives in.
    pub region: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY` or `GENERATE_VERIFY_MAC`.
    pub key_usage: String,
    /// The key spec (`SYMMETRIC_DEFAULT`, `RSA_2048`, ...).
    pub key_spec: String,
    /// `AWS_KMS` or `EXTERNAL`.
    pub origin: String,
    /// `CUSTOMER` or `AWS`.
    pub key_manager: String,
    /// The key state.
    pub state: KeyState,
    /// For `PendingDeletion`: when the key is destroyed.
    #[serde(default)]
    pub deletion_date: Option<DateTime<Utc>>,
    /// For `PendingDeletion`: the window asked for.
    #[serde(default)]
    pub pending_window_days: Option<i64>,
    /// The key policy (`default`).
    pub policy: String,
    /// Tags in insertion order.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// Material versions, oldest first; the last is current.
    #[serde(default)]
    pub materials: Vec<Material>,
    /// Automatic rotation period, when enabled.
    #[serde(default)]
    pub rotation_period_days: Option<i64>,
    /// When automatic rotation next happens.
    #[serde(default)]
    pub next_rotation: Option<DateTime<Utc>>,
    /// When the last on-demand rotation started.
    #[serde(default)]
    pub on_demand_rotation_start: Option<DateTime<Utc>>,
    /// Grants.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// A pending import.
    #[serde(default)]
    pub import: Option<ImportParams>,
    /// For imported material: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    #[serde(default)]
    pub expiration_model: Option<String>,
    /// For a multi-Region key: the primary's and replicas' regions.
    #[serde(default)]
    pub multi_region: Option<MultiRegion>,
    /// For a key in an external key store (`EXTERNAL_KEY_STORE` origin): the store and the
    /// external key.
    #[serde(default)]
    pub external_key: Option<ExternalKeyRef>,
}

/// The custom key store and external key backing a key with `EXTERNAL_KEY_STORE` origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalKeyRef {
    /// The external key store's id (`cks-...`).
    pub store_id: String,
    /// The external key's id in its key manager (`XksKeyId`).
    pub key_id: String,
}

impl KeyDoc {
    /// True for a multi-Region primary key.
    pub fn is_primary(&self) -> bool {
        self.multi_region
            .as_ref()
            .is_some_and(|m| m.primary_region == self.region)
    }

    /// The parsed key spec.
    pub fn spec(&self) -> super::crypto::KeySpec {
        super::crypto::KeySpec::parse(&self.key_spec)
            .unwrap_or(super::crypto::KeySpec::SymmetricDefault)
    }

    /// True for a multi-Region replica key.
    pub fn is_replica(&self) -> bool {
        self.multi_region.is_some() && !self.is_primary()
    }

    /// The current material version, if any material is present.
    pub fn current(&self) -> Option<&Material> {
        self.materials.last().filter(|m| m.sealed.is_some())
    }

    /// True when something is due for the scheduler (deletion, rotation, material expiry).
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        let expiry = self
            .materials
            .iter()
            .filter_map(|m| m.valid_to.filter(|_| m.sealed.is_some()));
        // A replica rotates when its primary does (the primary copies the new material).
        let rotation = self.next_rotation.filter(|_| !self.is_replica());
        [self.deletion_date, rotation]
            .into_iter()
            .flatten()
            .chain(expiry)
            .min()
    }
}
