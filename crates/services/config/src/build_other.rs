//! Snapshots of KMS keys, secrets, S3 buckets, the S3 account-level public access block and
//! CloudTrail trails, from the documents their services store (key material and secret values
//! never enter an item).

use std::collections::BTreeMap;

use rampart_kit::db::Db;
use rampart_kit::timestamp::ts;
use rampart_kms::model::KeyDoc;
use rampart_s3::public_access::{self, PublicAccessBlock};
use rampart_s3::repo::BucketDoc;
use rampart_secretsmanager::model::SecretDoc;
use rampart_store::Entity;
use rampart_trails::model::TrailDoc;
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::error::{ConfigError, ConfigResult};
use crate::model::Snapshot;

/// A KMS key's snapshot.
pub fn kms_key(e: &Entity) -> ConfigResult<Snapshot> {
    let doc: KeyDoc = doc_of(e)?;
    let rotation = doc.rotation_period_days.is_some();
    Ok(Snapshot {
        resource_type: "AWS::KMS::Key".into(),
        // The entity's id is unique store-wide (a multi-Region key's members, which share
        // the key id, are `<key id>/<region>`); Config keys its records by it. The
        // configuration's `keyId` is the key id itself (the entity's name).
        resource_id: e.id.clone(),
        resource_name: None,
        arn: e.arn.clone(),
        region: doc.region.clone(),
        created: Some(e.created_at),
        configuration: json!({
            "keyId": e.name,
            "arn": e.arn,
            "creationDate": ts(e.created_at),
            "enabled": doc.state.as_str() == "Enabled",
            "description": doc.description,
            "keyUsage": doc.key_usage,
            "keyState": doc.state.as_str(),
            "deletionDate": doc.deletion_date.map(ts),
            "origin": doc.origin,
            "keyManager": doc.key_manager,
            "customerMasterKeySpec": doc.key_spec,
            "keySpec": doc.key_spec,
        }),
        supplementary: BTreeMap::from([(
            "KeyRotationStatus".to_string(),
            json!({ "keyRotationEnabled": rotation }),
        )]),
        relationships: Vec::new(),
        tags: doc.tags.iter().cloned().collect(),
        facts: json!({ "rotationEnabled": rotation, "symmetric": doc.key_spec == "SYMMETRIC_DEFAULT" }),
    })
}

/// A secret's snapshot.
pub fn secret(e: &Entity) -> ConfigResult<Snapshot> {
    let doc: SecretDoc = doc_of(e)?;
    let rules = doc.rotation.rules.as_ref().map(|r| {
        json!({
            "AutomaticallyAfterDays": r.after_days,
            "ScheduleExpression": r.schedule,
            "Duration": r.duration,
        })
    });
    let tags: BTreeMap<String, String> = doc
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    Ok(Snapshot {
        resource_type: "AWS::SecretsManager::Secret".into(),
        resource_id: e.arn.clone(),
        resource_name: Some(e.name.clone()),
        arn: e.arn.clone(),
        region: doc.region.clone(),
        created: Some(e.created_at),
        configuration: json!({
            "Name": e.name,
            "ARN": e.arn,
            "Description": doc.description,
            "KmsKeyId": doc.kms_key_id,
            "RotationEnabled": doc.rotation.enabled,
            "RotationLambdaARN": doc.rotation.lambda_arn,
            "RotationRules": rules,
            "LastRotatedDate": doc.rotation.last_rotated.map(ts),
            "LastChangedDate": ts(doc.last_changed),
            "DeletedDate": doc.deleted_date.map(ts),
            "Tags": doc.tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect::<Vec<_>>(),
        }),
        supplementary: BTreeMap::new(),
        relationships: doc
            .kms_key_id
            .iter()
            .map(|k| json!({"resourceType": "AWS::KMS::Key", "resourceId": k, "relationshipName": "Is associated with KMS Key"}))
            .collect(),
        tags,
        facts: json!({
            "rotationEnabled": doc.rotation.enabled,
            "afterDays": doc.rotation.rules.as_ref().and_then(|r| r.after_days),
            "lastRotated": doc.rotation.last_rotated.map(ts),
            "lastAccessed": doc.last_accessed.map(ts),
            "kmsKeyId": doc.kms_key_id,
        }),
    })
}

fn block_json(b: &PublicAccessBlock) -> Value {
    json!({
        "blockPublicAcls": b.block_public_acls,
        "ignorePublicAcls": b.ignore_public_acls,
        "blockPublicPolicy": b.block_public_policy,
        "restrictPublicBuckets": b.restrict_public_buckets,
    })
}

/// A bucket's snapshot (its owner's account-level public access block included in the facts).
pub async fn bucket(db: &mut Db<'_>, e: &Entity) -> ConfigResult<Snapshot> {
    let doc: BucketDoc = doc_of(e)?;
    let account_block = public_access::account_block(db, &e.account_id)
        .await
        .map_err(|_| ConfigError::internal())?;
    let mut supplementary = BTreeMap::new();
    supplementary.insert(
        "BucketVersioningConfiguration".to_string(),
        json!({
            "status": doc.versioning.clone().unwrap_or_else(|| "Off".into()),
            "isMfaDeleteEnabled": doc.mfa_delete_enabled(),
        }),
    );
    if let Some(policy) = &doc.policy {
        supplementary.insert("BucketPolicy".into(), json!({ "policyText": policy }));
    }
    if let Some(enc) = &doc.encryption {
        supplementary.insert("ServerSideEncryptionConfiguration".into(), enc.clone());
    }
    if let Some(b) = &doc.public_access_block {
        supplementary.insert("PublicAccessBlockConfiguration".into(), block_json(b));
    }
    if let Some(acl) = &doc.acl {
        let grants: Vec<Value> = acl
            .grants
            .iter()
            .map(|g| json!({ "grantee": serde_json::to_value(&g.grantee).unwrap_or(Value::Null), "permission": g.permission }))
            .collect();
        supplementary.insert("AccessControlList".into(), json!({ "grantList": grants }));
    }
    Ok(Snapshot {
        resource_type: "AWS::S3::Bucket".into(),
        resource_id: e.name.clone(),
        resource_name: Some(e.name.clone()),
        arn: e.arn.clone(),
        region: doc.region.clone(),
        created: Some(e.created_at),
        configuration: json!({
            "name": e.name,
            "owner": { "id": rampart_s3::acl::canonical_id(&e.account_id) },
            "creationDate": ts(e.created_at),
        }),
        supplementary,
        relationships: Vec::new(),
        tags: doc.tags.clone(),
        facts: json!({
            "versioning": doc.versioning_enabled(),
            "encryption": doc.encryption,
            "policy": doc.policy,
            "acl": doc.acl,
            "block": doc.public_access_block,
            "accountBlock": account_block,
            "account": e.account_id,
            "ownership": doc.ownership,
            "lifecycle": doc.lifecycle,
            "objectLock": doc.object_lock,
        }),
    })
}

/// The account-level Block Public Access settings' snapshot (S3 Control's
/// `PutPublicAccessBlock` for the account); `None` once they are deleted. AWS keys the item by
/// the account id and records the four settings as its configuration; it has no ARN. The
/// settings apply in every region; the item is in the region of the account's recorder.
pub async fn account_public_access_block(
    db: &mut Db<'_>,
    e: &Entity,
) -> ConfigResult<Option<Snapshot>> {
    let Some(block) = doc_of::<Option<PublicAccessBlock>>(e)? else {
        return Ok(None);
    };
    let region = crate::record::recorder_region(db, &e.account_id)
        .await?
        .unwrap_or_else(|| "us-east-1".into());
    Ok(Some(Snapshot {
        resource_type: "AWS::S3::AccountPublicAccessBlock".into(),
        resource_id: e.account_id.clone(),
        resource_name: None,
        arn: String::new(),
        region,
        created: Some(e.created_at),
        configuration: block_json(&block),
        supplementary: BTreeMap::new(),
        relationships: Vec::new(),
        tags: BTreeMap::new(),
        facts: Value::Null,
    }))
}

/// A trail's snapshot.
pub fn trail(e: &Entity) -> ConfigResult<Snapshot> {
    let doc: TrailDoc = doc_of(e)?;
    Ok(Snapshot {
        resource_type: "AWS::CloudTrail::Trail".into(),
        resource_id: e.name.clone(),
        resource_name: Some(e.name.clone()),
        arn: e.arn.clone(),
        region: doc.home_region.clone(),
        created: Some(e.created_at),
        configuration: json!({
            "name": doc.name,
            "s3BucketName": doc.bucket,
            "s3KeyPrefix": doc.prefix,
            "snsTopicARN": doc.sns_topic,
            "includeGlobalServiceEvents": doc.include_global,
            "isMultiRegionTrail": doc.multi_region,
            "homeRegion": doc.home_region,
            "trailARN": e.arn,
            "logFileValidationEnabled": doc.validation,
            "kmsKeyId": doc.kms_key_arn,
            "isOrganizationTrail": doc.organization_id.is_some(),
        }),
        supplementary: BTreeMap::from([(
            "TrailStatus".to_string(),
            json!({ "isLogging": doc.logging }),
        )]),
        relationships: Vec::new(),
        tags: doc.tags.clone(),
        facts: json!({
            "logging": doc.logging,
            "multiRegion": doc.multi_region,
            "validation": doc.validation,
            "kmsKeyArn": doc.kms_key_arn,
        }),
    })
}
