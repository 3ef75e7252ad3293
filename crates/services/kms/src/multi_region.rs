//! Multi-Region keys: `ReplicateKey`, `UpdatePrimaryRegion`, the `MultiRegionConfiguration`
//! of `KeyMetadata`, and keeping the members of a multi-Region key in step.
//!
//! Each member (the primary and every replica) is its own key, in its own region, with the
//! same key id and key material; its policy, description, tags, grants, aliases and enabled
//! state are its own. The shared properties (key spec, usage, origin, material versions,
//! automatic rotation) and the list of members are copied to every member in the same
//! transaction as the change that makes them, so the members never disagree. Imported
//! material is each member's own import, of the one material whose fingerprint they share.

use chrono::{DateTime, Utc};
use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{invalid_state, metadata, opt_str, req_str},
    crypto::{self, MULTI_REGION_PREFIX},
    error::{KmsError, KmsResult},
    keys::{default_policy, parse_tags, validate_policy},
    model::{KeyDoc, KeyState, MultiRegion, KEY_KIND},
    repo::{self, key_arn, region_path, storage_id, Key},
};
use rampart_kit::{context::CallContext, db::Db};

/// A fresh multi-Region key id: `mrk-` and 32 hex digits.
pub fn new_key_id() -> KmsResult<String> {
    let raw = crypto::random(crypto::KEY_ID_LEN)?;
    Ok(format!("{MULTI_REGION_PREFIX}{}", crypto::hex(&raw)))
}

/// AWS's `RegionType`: `^([a-z]+-){2,3}\d+$`, 1-32 characters.
pub fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((last, words)) = parts.split_last() else {
        return false;
    };
    region.len() <= 32
        && (2..=3).contains(&words.len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

fn region_member(input: &Value, name: &str) -> KmsResult<String> {
    let region = req_str(input, name)?;
    if !valid_region(region) {
        return Err(KmsError::ValidationException(format!(
            "1 validation error detected: Value '{region}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-){{2,3}}\\d+$",
            lower_first(name)
        )));
    }
    Ok(region.to_string())
}

fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// `MultiRegionConfiguration` of a multi-Region key's `KeyMetadata`.
pub fn configuration(key: &Key) -> Option<Value> {
    let mr = key.doc.multi_region.as_ref()?;
    let member =
        |region: &str| json!({"Arn": key_arn(region, key.account(), key.id()), "Region": region});
    Some(json!({
        "MultiRegionKeyType": if key.doc.is_primary() { "PRIMARY" } else { "REPLICA" },
        "PrimaryKey": member(&mr.primary_region),
        "ReplicaKeys": mr.replica_regions.iter().map(|r| member(r)).collect::<Vec<_>>(),
    }))
}

/// The other members of `key`'s multi-Region key (none for a single-Region key).
pub async fn others(db: &mut Db<'_>, key: &Key) -> KmsResult<Vec<Key>> {
    let Some(mr) = &key.doc.multi_region else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for region in mr.regions().filter(|r| **r != key.doc.region) {
        if let Some(k) = repo::load(db, key.account(), region, key.id()).await? {
            out.push(k);
        }
    }
    Ok(out)
}

/// Copies the properties every member shares (material versions, automatic rotation) from
/// `key` to the other members.
pub async fn sync_shared(db: &mut Db<'_>, key: &Key, now: DateTime<Utc>) -> KmsResult<()> {
    for mut other in others(db, key).await? {
        copy_shared(&key.doc, &mut other.doc);
        repo::save(db, &mut other, now).await?;
    }
    Ok(())
}

fn copy_shared(from: &KeyDoc, to: &mut KeyDoc) {
    to.key_usage.clone_from(&from.key_usage);
    to.key_spec.clone_from(&from.key_spec);
    to.origin.clone_from(&from.origin);
    to.materials.clone_from(&from.materials);
    to.rotation_period_days = from.rotation_period_days;
    to.next_rotation = from.next_rotation;
    to.on_demand_rotation_start = from.on_demand_rotation_start;
}

/// After material is imported into a member: the members still without any learn its id
/// (a fingerprint), so each of them accepts only that material, as AWS requires.
pub async fn share_imported_id(db: &mut Db<'_>, key: &Key, now: DateTime<Utc>) -> KmsResult<()> {
    let Some(first) = key.doc.materials.first() else {
        return Ok(());
    };
    for mut other in others(db, key).await? {
        if other.doc.materials.is_empty() {
            other.doc.materials.push(super::model::Material {
                sealed: None,
                valid_to: None,
                ..first.clone()
            });
            repo::save(db, &mut other, now).await?;
        }
    }
    Ok(())
}

/// Writes `mr` as the member list of `key` and of every member `mr` names.
async fn set_members(
    db: &mut Db<'_>,
    key: &mut Key,
    mr: &MultiRegion,
    now: DateTime<Utc>,
) -> KmsResult<()> {
    for region in mr.regions().filter(|r| **r != key.doc.region) {
        if let Some(mut other) = repo::load(db, key.account(), region, key.id()).await? {
            other.doc.multi_region = Some(mr.clone());
            repo::save(db, &mut other, now).await?;
        }
    }
    key.doc.multi_region = Some(mr.clone());
    repo::save(db, key, now).await
}

/// After a member is destroyed: the others forget it, and a primary waiting for its last
/// replica (`PendingReplicaDeletion`) starts its own waiting period.
pub async fn on_destroyed(db: &mut Db<'_>, gone: &Key, now: DateTime<Utc>) -> KmsResult<()> {
    let Some(mr) = &gone.doc.multi_region else {
        return Ok(());
    };
    let mut mr = mr.clone();
    mr.replica_regions.retain(|r| *r != gone.doc.region);
    for mut other in others(db, gone).await? {
        other.doc.multi_region = Some(mr.clone());
        if other.doc.state == KeyState::PendingReplicaDeletion && mr.replica_regions.is_empty() {
            let days = other.doc.pending_window_days.unwrap_or(30);
            other.doc.state = KeyState::PendingDeletion;
            other.doc.deletion_date = rampart_kit::checked_time::plus_days(now, days);
        }
        repo::save(db, &mut other, now).await?;
    }
    Ok(())
}

fn not_multi_region(key: &Key) -> KmsError {
    KmsError::UnsupportedOperationException(format!("{} is not a multi-Region key.", key.arn()))
}

fn not_primary(key: &Key) -> KmsError {
    KmsError::UnsupportedOperationException(format!(
        "{} is not a multi-Region primary key.",
        key.arn()
    ))
}

/// The multi-Region primary key a request names.
async fn primary_of(db: &mut Db<'_>, ctx: &CallContext, input: &Value) -> KmsResult<Key> {
    let id = req_str(input, "KeyId")?;
    let key = repo::resolve(db, ctx, id).await?;
    // AWS: no cross-account use (a replica or primary change in another account).
    if key.account() != ctx.principal.account_id {
        return Err(KmsError::NotFoundException(format!("Invalid keyId {id}")));
    }
    if key.doc.multi_region.is_none() {
        return Err(not_multi_region(&key));
    }
    if !key.doc.is_primary() {
        return Err(not_primary(&key));
    }
    Ok(key)
}

/// `ReplicateKey`: a replica in `ReplicaRegion` with the primary's key id, key material and
/// shared properties, and its own policy, description and tags. The replica is usable at once
/// (`Enabled`): Rampart copies the material in the same transaction, so AWS's transient
/// `Creating` state never shows.
pub async fn replicate(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut primary = primary_of(&mut db, ctx, input).await?;
    let region = region_member(input, "ReplicaRegion")?;
    if let s @ (KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) = primary.doc.state {
        return Err(invalid_state(&primary, s));
    }
    if region == primary.doc.region {
        return Err(KmsError::UnsupportedOperationException(format!(
            "{} is already in {region}: a replica must be in another Region.",
            primary.arn()
        )));
    }
    let account = primary.account().to_string();
    let arn = key_arn(&region, &account, primary.id());
    let mut mr = primary
        .doc
        .multi_region
        .clone()
        .ok_or_else(|| not_multi_region(&primary))?;
    if mr.replica_regions.contains(&region)
        || repo::load(&mut db, &account, &region, primary.id())
            .await?
            .is_some()
    {
        return Err(KmsError::AlreadyExistsException(format!(
            "Replica key {arn} already exists."
        )));
    }
    let policy = match opt_str(input, "Policy") {
        Some(p) => {
            validate_policy(p, ctx.partition())?;
            p.to_string()
        }
        None => default_policy(ctx.partition(), &account),
    };
    let tags = parse_tags(input)?;
    if tags.len() > 50 {
        return Err(KmsError::TagException(
            "A key can have at most 50 tags.".into(),
        ));
    }
    mr.replica_regions.push(region.clone());
    let mut doc = KeyDoc {
        region: region.clone(),
        description: opt_str(input, "Description")
            .unwrap_or_default()
            .to_string(),
        state: if primary.doc.current().is_some() {
            KeyState::Enabled
        } else {
            KeyState::PendingImport
        },
        deletion_date: None,
        pending_window_days: None,
        policy: policy.clone(),
        tags: tags.clone(),
        grants: Vec::new(),
        import: None,
        multi_region: Some(mr.clone()),
        ..primary.doc.clone()
    };
    copy_shared(&primary.doc, &mut doc);
    if doc.origin == "EXTERNAL" {
        // AWS: the replica of a key with imported material starts without it; the ids
        // (fingerprints) stay, so only the primary's material can be imported into it.
        for m in &mut doc.materials {
            m.sealed = None;
            m.valid_to = None;
        }
        doc.expiration_model = None;
        doc.state = KeyState::PendingImport;
    }
    let id = primary.id().to_string();
    let sid = storage_id(&region, &id);
    let mut replica = Key {
        entity: Entity {
            account_id: account.clone(),
            kind: KEY_KIND.into(),
            name: id,
            name_key: sid.clone(),
            id: sid,
            path: region_path(&region),
            arn,
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: String::new(),
        },
        doc,
    };
    repo::insert(&mut db, &mut replica, ctx.now).await?;
    set_members(&mut db, &mut primary, &mr, ctx.now).await?;
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    Ok(json!({
        "ReplicaKeyMetadata": metadata(&replica),
        "ReplicaPolicy": policy,
        "ReplicaTags": tags,
    }))
}

/// `UpdatePrimaryRegion`: the replica in `PrimaryRegion` becomes the primary and the current
/// primary a replica, in one transaction (AWS's transient `Updating` state never shows).
pub async fn update_primary_region(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> KmsResult<Value> {
    let mut primary = primary_of(&mut db, ctx, input).await?;
    let region = region_member(input, "PrimaryRegion")?;
    require_swappable(&primary)?;
    if region == primary.doc.region {
        // Already the primary Region: nothing changes.
        return Ok(json!({}));
    }
    let account = primary.account().to_string();
    let mr = primary
        .doc
        .multi_region
        .clone()
        .ok_or_else(|| not_multi_region(&primary))?;
    let replica = match mr.replica_regions.contains(&region) {
        true => repo::load(&mut db, &account, &region, primary.id()).await?,
        false => None,
    };
    let Some(replica) = replica else {
        return Err(KmsError::NotFoundException(format!(
            "Invalid keyId {}: there is no replica key in {region}.",
            key_arn(&region, &account, primary.id())
        )));
    };
    require_swappable(&replica)?;
    let swapped = MultiRegion {
        primary_region: region.clone(),
        replica_regions: mr
            .replica_regions
            .iter()
            .map(|r| {
                if *r == region {
                    primary.doc.region.clone()
                } else {
                    r.clone()
                }
            })
            .collect(),
    };
    set_members(&mut db, &mut primary, &swapped, ctx.now).await?;
    Ok(json!({}))
}

/// The key states in which a member can change roles.
fn require_swappable(key: &Key) -> KmsResult<()> {
    match key.doc.state {
        KeyState::Enabled | KeyState::Disabled | KeyState::PendingImport => Ok(()),
        other => Err(invalid_state(key, other)),
    }
}

#[cfg(test)]
#[path = "multi_region_tests.rs"]
mod tests;
