//! Rotation: `EnableKeyRotation`, `DisableKeyRotation`, `GetKeyRotationStatus`,
//! `RotateKeyOnDemand`, `ListKeyRotations`. Rotation appends a material version; older
//! versions stay, so ciphertexts made under them keep decrypting. A multi-Region key rotates
//! on its primary, which copies the new material and schedule to its replicas.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    common::{epoch, invalid_state, opt_str, page, paging, req_str, with_marker},
    error::{KmsError, KmsResult},
    keys::new_material,
    model::KeyState,
    multi_region,
    repo::{self, Key},
};
use rampart_kit::json_field::SetField;
use rampart_kit::{context::CallContext, db::Db};

/// Default automatic rotation period.
pub const DEFAULT_PERIOD_DAYS: i64 = 365;
/// Most on-demand rotations per key.
pub const MAX_ON_DEMAND: usize = 10;

fn require_rotatable(key: &Key) -> KmsResult<()> {
    if key.doc.key_spec != "SYMMETRIC_DEFAULT" || key.doc.origin != "AWS_KMS" {
        return Err(KmsError::UnsupportedOperationException(format!(
            "{} key rotation is supported only for symmetric encryption keys with AWS_KMS origin.",
            key.arn()
        )));
    }
    Ok(())
}

/// Rotation of a multi-Region key is set and done on its primary (the replicas share it).
fn require_not_replica(key: &Key) -> KmsResult<()> {
    if key.doc.is_replica() {
        return Err(KmsError::UnsupportedOperationException(format!(
            "{} is a multi-Region replica key: manage rotation on its primary key.",
            key.arn()
        )));
    }
    Ok(())
}

fn require_enabled(key: &Key) -> KmsResult<()> {
    match key.doc.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::DisabledException(format!(
            "{} is disabled.",
            key.arn()
        ))),
        other => Err(invalid_state(key, other)),
    }
}

/// Appends a new material version (`AUTOMATIC` or `ON_DEMAND`).
pub fn rotate(db: &Db<'_>, key: &mut Key, now: DateTime<Utc>, kind: &str) -> KmsResult<()> {
    let m = new_material(db, key.id(), key.doc.spec(), now, Some(kind))?;
    key.doc.materials.push(m);
    Ok(())
}

/// `EnableKeyRotation`: the next rotation is one period after the last one (or creation).
pub async fn enable(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_rotatable(&key)?;
    require_not_replica(&key)?;
    require_enabled(&key)?;
    let days = input["RotationPeriodInDays"]
        .as_i64()
        .unwrap_or(DEFAULT_PERIOD_DAYS);
    if !(90..=2560).contains(&days) {
        return Err(KmsError::ValidationException(
            "RotationPeriodInDays must be between 90 and 2560.".into(),
        ));
    }
    let last = key
        .doc
        .materials
        .last()
        .map_or(key.entity.created_at, |m| m.created);
    let out_of_range =
        || KmsError::KMSInternalException("The resulting date is out of range.".into());
    let mut next = rampart_kit::checked_time::plus_days(last, days).ok_or_else(out_of_range)?;
    if next <= ctx.now {
        next = rampart_kit::checked_time::plus_days(ctx.now, days).ok_or_else(out_of_range)?;
    }
    key.doc.rotation_period_days = Some(days);
    key.doc.next_rotation = Some(next);
    repo::save(&mut db, &mut key, ctx.now).await?;
    multi_region::sync_shared(&mut db, &key, ctx.now).await?;
    Ok(json!({}))
}

/// `DisableKeyRotation`.
pub async fn disable(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_rotatable(&key)?;
    require_not_replica(&key)?;
    require_enabled(&key)?;
    key.doc.rotation_period_days = None;
    key.doc.next_rotation = None;
    repo::save(&mut db, &mut key, ctx.now).await?;
    multi_region::sync_shared(&mut db, &key, ctx.now).await?;
    Ok(json!({}))
}

/// `GetKeyRotationStatus`.
pub async fn status(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_rotatable(&key)?;
    if key.doc.state == KeyState::PendingDeletion {
        return Err(invalid_state(&key, KeyState::PendingDeletion));
    }
    let mut out = json!({
        "KeyId": key.arn(),
        "KeyRotationEnabled": key.doc.rotation_period_days.is_some(),
    });
    if let Some(d) = key.doc.rotation_period_days {
        out.set_field("RotationPeriodInDays", json!(d));
    }
    if let Some(n) = key.doc.next_rotation {
        out.set_field("NextRotationDate", epoch(n));
    }
    if let Some(s) = key.doc.on_demand_rotation_start {
        out.set_field("OnDemandRotationStartDate", epoch(s));
    }
    Ok(out)
}

/// `RotateKeyOnDemand`: rotates now (AWS does it within moments); at most ten times per key.
pub async fn rotate_on_demand(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_rotatable(&key)?;
    require_not_replica(&key)?;
    require_enabled(&key)?;
    let done = key
        .doc
        .materials
        .iter()
        .filter(|m| m.rotation_type.as_deref() == Some("ON_DEMAND"))
        .count();
    if done >= MAX_ON_DEMAND {
        return Err(KmsError::LimitExceededException(format!(
            "{} has reached the limit of {MAX_ON_DEMAND} on-demand rotations.",
            key.arn()
        )));
    }
    rotate(&db, &mut key, ctx.now, "ON_DEMAND")?;
    key.doc.on_demand_rotation_start = Some(ctx.now);
    repo::save(&mut db, &mut key, ctx.now).await?;
    multi_region::sync_shared(&mut db, &key, ctx.now).await?;
    Ok(json!({ "KeyId": key.id() }))
}

/// `ListKeyRotations`: the rotations, oldest first (`IncludeKeyMaterial=ALL_KEY_MATERIAL`
/// adds the original material).
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (limit, marker) = paging(input)?;
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_rotatable(&key)?;
    let all_material = opt_str(input, "IncludeKeyMaterial") == Some("ALL_KEY_MATERIAL");
    let current = key.doc.materials.last().map(|m| m.id.clone());
    let entries: Vec<Value> = key
        .doc
        .materials
        .iter()
        .filter(|m| all_material || m.rotation_type.is_some())
        .map(|m| {
            let mut v = json!({
                "KeyId": key.arn(),
                "KeyMaterialId": m.id,
                "KeyMaterialState": if Some(&m.id) == current.as_ref() { "CURRENT" } else { "NON_CURRENT" },
            });
            if let Some(t) = &m.rotation_type {
                v.set_field("RotationType", json!(t));
                v.set_field("RotationDate", epoch(m.created));
            }
            v
        })
        .collect();
    let (items, next) = page(entries, limit, marker.as_deref())?;
    Ok(with_marker(json!({ "Rotations": items }), next))
}
