//! The stored documents of secrets (generic store entities of kind `secretsmanager:secret`).
//!
//! A secret's document holds its metadata, tags, resource policy, deletion schedule and every
//! version. A version's value is sealed with a KMS data key (envelope encryption, as AWS does):
//! the document keeps the KMS ciphertext of the data key and the AES-GCM ciphertext of the
//! value, plus a keyed digest for `ClientRequestToken` idempotency, so the database alone
//! reveals no value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Entity kind of secrets.
pub const SECRET_KIND: &str = "secretsmanager:secret";
/// Entity kind of the scheduler's index (one entry per secret scheduled for deletion).
pub const DUE_KIND: &str = "secretsmanager:due";
/// Entity kind of the rotation index (one entry per secret with rotation on or under way).
pub const ROTATION_KIND: &str = "secretsmanager:rotation";
/// Entity kind of the replication index (one entry per primary with a replica to bring in
/// sync).
pub const REPLICATION_KIND: &str = "secretsmanager:replication";
/// The pseudo-account holding the scheduler's index.
pub const DUE_ACCOUNT: &str = "~secretsmanager";

/// The label of the current version.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label of the version current before it.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// The label of a version being rotated in.
pub const AWSPENDING: &str = "AWSPENDING";

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// One version of a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// The version id (the `ClientRequestToken` that made it).
    pub id: String,
    /// Its staging labels.
    pub stages: Vec<String>,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// The ARN of the KMS key its data key is encrypted under.
    pub kms_key_arn: String,
    /// The KMS ciphertext of the data key, base64.
    pub data_key: String,
    /// The value sealed with the data key (AES-256-GCM, nonce first), base64.
    pub ciphertext: String,
    /// True for a `SecretBinary` value.
    pub binary: bool,
    /// The keyed digest of the value (hex), to recognise a retried request.
    pub digest: String,
    /// The day it was last read (AWS keeps the date only).
    #[serde(default)]
    pub last_accessed: Option<DateTime<Utc>>,
    /// True for the version a rotation made before its `createSecret` step gave it a value
    /// (AWS's "empty secret version" carrying `AWSPENDING`).
    #[serde(default)]
    pub empty: bool,
}

/// The rotation rules of a secret, as `RotationRules` gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationRules {
    /// `AutomaticallyAfterDays`.
    #[serde(default)]
    pub after_days: Option<i64>,
    /// `ScheduleExpression` (`rate(...)` or `cron(...)`).
    #[serde(default)]
    pub schedule: Option<String>,
    /// `Duration` (`Nh`), the rotation window's length.
    #[serde(default)]
    pub duration: Option<String>,
}

/// A rotation under way: the version it makes and the steps already done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationRun {
    /// The `ClientRequestToken` of the rotation (the new version's id).
    pub token: String,
    /// When it was asked for.
    pub requested: DateTime<Utc>,
}

/// A replica's `Status`: being brought in step with its primary.
pub const IN_PROGRESS: &str = "InProgress";
/// A replica's `Status`: in step with its primary.
pub const IN_SYNC: &str = "InSync";
/// A replica's `Status`: replication failed (`StatusMessage` says why).
pub const FAILED: &str = "Failed";

/// One replica of a primary secret, as the primary's document records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    /// The replica's region.
    pub region: String,
    /// The `KmsKeyId` given for it (`None`: that region's `aws/secretsmanager`).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// `InProgress`, `InSync` or `Failed`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub message: Option<String>,
    /// `ForceOverwriteReplicaSecret`: a secret of the same name in the region is replaced.
    #[serde(default)]
    pub force: bool,
}

/// A secret's rotation configuration and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// `RotationEnabled`.
    #[serde(default)]
    pub enabled: bool,
    /// `RotationLambdaARN`: a registered hook, or a built-in strategy's reserved ARN.
    #[serde(default)]
    pub lambda_arn: Option<String>,
    /// `RotationRules`.
    #[serde(default)]
    pub rules: Option<RotationRules>,
    /// `LastRotatedDate`.
    #[serde(default)]
    pub last_rotated: Option<DateTime<Utc>>,
    /// `NextRotationDate`.
    #[serde(default)]
    pub next: Option<DateTime<Utc>>,
    /// The rotation waiting to run (`RotateSecret`, or the schedule come due).
    #[serde(default)]
    pub run: Option<RotationRun>,
    /// Why the last rotation failed (shown in the trail's `RotationFailed` event).
    #[serde(default)]
    pub last_failure: Option<String>,
}

/// A secret's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretDoc {
    /// The region it lives in.
    pub region: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The `KmsKeyId` given (`None`: the AWS managed key `aws/secretsmanager`).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Its tags, in the order given.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Its versions, oldest first.
    #[serde(default)]
    pub versions: Vec<Version>,
    /// Its resource policy.
    #[serde(default)]
    pub policy: Option<String>,
    /// When `DeleteSecret` was called, while the secret waits for deletion.
    #[serde(default)]
    pub deleted_date: Option<DateTime<Utc>>,
    /// When the recovery window ends.
    #[serde(default)]
    pub deletion_date: Option<DateTime<Utc>>,
    /// When its value or metadata last changed.
    pub last_changed: DateTime<Utc>,
    /// The day a value was last read (AWS keeps the date only).
    #[serde(default)]
    pub last_accessed: Option<DateTime<Utc>>,
    /// The key of the version digests, sealed under the master key (base64).
    pub digest_key: String,
    /// The `Type` given at creation.
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
    /// Its rotation.
    #[serde(default)]
    pub rotation: Rotation,
    /// On a replica: its primary's region (a replica refuses writes).
    #[serde(default)]
    pub primary_region: Option<String>,
    /// On a primary: its replicas.
    #[serde(default)]
    pub replicas: Vec<Replica>,
    /// On a primary with replicas: counts its changes, so the replication job knows whether
    /// what it copied is still the latest.
    #[serde(default)]
    pub generation: u64,
}

impl SecretDoc {
    /// The version with this id.
    pub fn version(&self, id: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// The version carrying this label.
    pub fn labelled(&self, stage: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    /// `VersionIdsToStages`: every labelled version and its labels.
    pub fn versions_to_stages(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for v in self.versions.iter().filter(|v| !v.stages.is_empty()) {
            map.insert(v.id.clone(), serde_json::json!(v.stages));
        }
        serde_json::Value::Object(map)
    }
}
