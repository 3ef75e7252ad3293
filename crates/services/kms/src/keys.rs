//! Keys: `CreateKey`, `DescribeKey`, `ListKeys`, `UpdateKeyDescription`, `EnableKey`,
//! `DisableKey` and tags (`TagResource`, `UntagResource`, `ListResourceTags`).

use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_policy::{Policy, PolicyKind};
use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{
        invalid_state, key_after, metadata, opt_str, page, paging, require_not_pending_deletion,
        with_marker,
    },
    crypto::{self, KeySpec},
    error::{KmsError, KmsResult},
    model::{KeyDoc, KeyState, Material, MultiRegion, KEY_KIND},
    repo::{self, key_arn, region_path, Key},
};
use rampart_kit::{context::CallContext, db::Db};

/// Largest key policy, in characters.
pub const MAX_POLICY_LEN: usize = 32_768;

/// The key policy AWS gives a key created without one: the account root, delegating to IAM.
pub fn default_policy(partition: Partition, account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": partition.root_arn(account)},
            "Action": "kms:*",
            "Resource": "*",
        }],
    })
    .to_string()
}

/// Checks a key policy's syntax and grammar, and that its `AWS` principals are of the
/// key's partition: an ARN of another partition names no principal KMS can resolve, which
/// AWS refuses as it refuses a principal that does not exist.
pub fn validate_policy(policy: &str, partition: Partition) -> KmsResult<()> {
    if policy.len() > MAX_POLICY_LEN {
        return Err(KmsError::LimitExceededException(
            "The key policy exceeds the maximum size of 32 KB.".into(),
        ));
    }
    Policy::parse(policy, PolicyKind::Resource).map_err(|err| {
        KmsError::MalformedPolicyDocumentException(format!(
            "The new key policy is not valid: {err}"
        ))
    })?;
    let doc: Value = serde_json::from_str(policy).unwrap_or_default();
    if aws_principals(&doc)
        .any(|p| p.starts_with("arn:") && Partition::of_arn(p) != Some(partition))
    {
        return Err(KmsError::MalformedPolicyDocumentException(
            "Policy contains a statement with one or more invalid principals.".into(),
        ));
    }
    Ok(())
}

/// The `AWS` values of every statement's `Principal` and `NotPrincipal`.
fn aws_principals(doc: &Value) -> impl Iterator<Item = &str> {
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    statements
        .into_iter()
        .flat_map(|s| [s.pointer("/Principal/AWS"), s.pointer("/NotPrincipal/AWS")])
        .flat_map(|v| match v {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
}

/// Validates a `Tags` list (`TagResource`, `CreateKey`): no `aws:` keys, no duplicates.
pub fn parse_tags(input: &Value) -> KmsResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in input["Tags"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let k = t["TagKey"].as_str().unwrap_or_default().to_string();
        let v = t["TagValue"].as_str().unwrap_or_default().to_string();
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(KmsError::TagException(
                "Tags beginning with aws: are reserved.".into(),
            ));
        }
        if out.iter().any(|(x, _)| x == &k) {
            return Err(KmsError::TagException(format!("Duplicate tag key {k}.")));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// A fresh material version.
pub fn new_material(
    db: &Db<'_>,
    key_id: &str,
    spec: KeySpec,
    now: DateTime<Utc>,
    rotation: Option<&str>,
) -> KmsResult<Material> {
    let material = crypto::generate(spec)?;
    let id = crypto::hex(&crypto::random(crypto::MATERIAL_ID_LEN)?);
    Ok(Material {
        sealed: Some(repo::seal(db, key_id, &id, &material)?),
        id,
        created: now,
        rotation_type: rotation.map(str::to_string),
        valid_to: None,
    })
}

/// `CreateKey`.
pub async fn create_key(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let account = ctx.principal.account_id.clone();
    let spec_name = match (opt_str(input, "KeySpec"), opt_str(input, "CustomerMasterKeySpec")) {
        (Some(_), Some(_)) => {
            return Err(KmsError::ValidationException(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.".into(),
            ))
        }
        (Some(s), None) | (None, Some(s)) => s,
        (None, None) => "SYMMETRIC_DEFAULT",
    };
    let spec = KeySpec::parse(spec_name).ok_or_else(|| {
        KmsError::ValidationException(format!("KeySpec {spec_name} is not supported."))
    })?;
    // AWS: the default is ENCRYPT_DECRYPT, which must then suit the spec.
    let usage = opt_str(input, "KeyUsage").unwrap_or("ENCRYPT_DECRYPT");
    if !spec.usages().contains(&usage) {
        return Err(KmsError::ValidationException(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec_name}"
        )));
    }
    let origin = opt_str(input, "Origin").unwrap_or("AWS_KMS");
    let external_key = if origin == "EXTERNAL_KEY_STORE" {
        Some(super::xks_keys::check_create(&mut db, ctx, input, spec.as_str(), usage).await?)
    } else {
        if let Some(store) = opt_str(input, "CustomKeyStoreId") {
            super::custom_key_stores::refuse_key(&mut db, ctx, store).await?;
        }
        None
    };
    let usage = usage.to_string();
    match origin {
        "AWS_KMS" | "EXTERNAL_KEY_STORE" => {}
        "EXTERNAL" if spec == KeySpec::SymmetricDefault => {}
        "EXTERNAL" => {
            return Err(KmsError::UnsupportedOperationException(
                "Rampart imports key material for SYMMETRIC_DEFAULT keys only.".into(),
            ))
        }
        _ => {
            return Err(KmsError::UnsupportedOperationException(format!(
                "Origin {origin} needs a CloudHSM key store, which Rampart does not provide."
            )))
        }
    }
    let multi_region = input["MultiRegion"].as_bool() == Some(true);
    let policy = match opt_str(input, "Policy") {
        Some(p) => {
            validate_policy(p, ctx.partition())?;
            p.to_string()
        }
        None => default_policy(ctx.partition(), &account),
    };
    let tags = parse_tags(input)?;
    let id = if multi_region {
        super::multi_region::new_key_id()?
    } else {
        uuid::Uuid::new_v4().to_string()
    };
    let sid = repo::storage_id(&ctx.region, &id);
    let now = ctx.now;
    let (state, materials) = if origin == "EXTERNAL" {
        (KeyState::PendingImport, Vec::new())
    } else {
        (
            KeyState::Enabled,
            vec![new_material(&db, &id, spec, now, None)?],
        )
    };
    let doc = KeyDoc {
        region: ctx.region.clone(),
        description: opt_str(input, "Description")
            .unwrap_or_default()
            .to_string(),
        key_usage: usage,
        key_spec: spec.as_str().to_string(),
        origin: origin.to_string(),
        key_manager: "CUSTOMER".into(),
        state,
        deletion_date: None,
        pending_window_days: None,
        policy,
        tags,
        materials,
        rotation_period_days: None,
        next_rotation: None,
        on_demand_rotation_start: None,
        grants: Vec::new(),
        import: None,
        expiration_model: None,
        multi_region: multi_region.then(|| MultiRegion {
            primary_region: ctx.region.clone(),
            replica_regions: Vec::new(),
        }),
        external_key,
    };
    let mut key = Key {
        entity: Entity {
            account_id: account.clone(),
            kind: KEY_KIND.into(),
            name: id.clone(),
            name_key: sid.clone(),
            id: sid,
            path: region_path(&ctx.region),
            arn: key_arn(&ctx.region, &account, &id),
            created_at: now,
            updated_at: now,
            doc: String::new(),
        },
        doc,
    };
    repo::insert(&mut db, &mut key, now).await?;
    Ok(json!({ "KeyMetadata": metadata(&key) }))
}

/// `DescribeKey`.
pub async fn describe_key(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let id = opt_str(input, "KeyId").unwrap_or_default();
    // AWS: describing a predefined alias (`alias/aws/s3`) creates its AWS managed key.
    if let Some(service) = super::aws_managed::is_missing_predefined(&mut db, ctx, id).await? {
        if let Db::Read(store) = db {
            let key = super::aws_managed::create_for_describe(store, ctx, &service).await?;
            return Ok(json!({ "KeyMetadata": metadata(&key) }));
        }
    }
    let key = repo::resolve(&mut db, ctx, id).await?;
    Ok(json!({ "KeyMetadata": metadata(&key) }))
}

/// `ListKeys`: the caller's keys in the region, in key id order.
pub async fn list_keys(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (limit, marker) = paging(input)?;
    let after = key_after(marker.as_deref())?;
    let account = &ctx.principal.account_id;
    let page = db
        .entities()
        .list(
            account,
            KEY_KIND,
            &region_path(&ctx.region),
            after.as_deref(),
            limit as u32,
        )
        .await?;
    let keys: Vec<Value> = page
        .items
        .iter()
        .map(|e| json!({"KeyId": e.name, "KeyArn": e.arn}))
        .collect();
    let next = if page.truncated {
        page.items
            .last()
            .map(|e| rampart_kit::page::encode(&e.name_key))
    } else {
        None
    };
    Ok(with_marker(json!({ "Keys": keys }), next))
}

/// `UpdateKeyDescription`.
pub async fn update_description(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, opt_str(input, "KeyId").unwrap_or_default()).await?;
    require_not_pending_deletion(&key)?;
    key.doc.description = opt_str(input, "Description")
        .unwrap_or_default()
        .to_string();
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({}))
}

/// `EnableKey` and `DisableKey`.
pub async fn set_enabled(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    enable: bool,
) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, opt_str(input, "KeyId").unwrap_or_default()).await?;
    match key.doc.state {
        KeyState::Enabled | KeyState::Disabled => {}
        other => return Err(invalid_state(&key, other)),
    }
    key.doc.state = if enable {
        KeyState::Enabled
    } else {
        KeyState::Disabled
    };
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({}))
}

/// `TagResource`.
pub async fn tag_resource(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, opt_str(input, "KeyId").unwrap_or_default()).await?;
    require_not_pending_deletion(&key)?;
    for (k, v) in parse_tags(input)? {
        match key.doc.tags.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = v,
            None => key.doc.tags.push((k, v)),
        }
    }
    if key.doc.tags.len() > 50 {
        return Err(KmsError::TagException(
            "A key can have at most 50 tags.".into(),
        ));
    }
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag_resource(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, opt_str(input, "KeyId").unwrap_or_default()).await?;
    require_not_pending_deletion(&key)?;
    let remove: Vec<&str> = input["TagKeys"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    key.doc.tags.retain(|(k, _)| !remove.contains(&k.as_str()));
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({}))
}

/// `ListResourceTags`.
pub async fn list_resource_tags(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> KmsResult<Value> {
    let (limit, marker) = paging(input)?;
    let key = repo::resolve(&mut db, ctx, opt_str(input, "KeyId").unwrap_or_default()).await?;
    let tags: Vec<Value> = key
        .doc
        .tags
        .iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    let (items, next) = page(tags, limit, marker.as_deref())?;
    Ok(with_marker(json!({ "Tags": items }), next))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    fn policy(principal: Value) -> String {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": "kms:*", "Resource": "*"}]})
        .to_string()
    }

    #[test]
    fn key_policies_name_principals_of_the_keys_partition() {
        let cn_root = json!({"AWS": "arn:aws-cn:iam::111122223333:root"});
        assert!(validate_policy(&policy(cn_root.clone()), Partition::AwsCn).is_ok());
        assert!(validate_policy(&policy(json!({"AWS": "111122223333"})), Partition::AwsCn).is_ok());
        assert!(validate_policy(&policy(json!("*")), Partition::AwsCn).is_ok());
        for other in [
            cn_root,
            json!({"AWS": ["arn:aws-cn:iam::111122223333:root", "arn:aws:iam::111122223333:root"]}),
        ] {
            let err = validate_policy(&policy(other.clone()), Partition::Aws).unwrap_err();
            assert!(
                matches!(&err, KmsError::MalformedPolicyDocumentException(m)
                    if m == "Policy contains a statement with one or more invalid principals."),
                "{other}: {err:?}"
            );
        }
    }
}
