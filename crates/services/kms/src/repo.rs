//! Reading and writing keys and aliases, resolving the identifiers AWS accepts, and sealing
//! key material under the master key.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rampart_store::{aad_for, Entity};
use zeroize::Zeroizing;

use super::{
    error::{KmsError, KmsResult},
    model::{KeyDoc, KeyState, Material, ALIAS_KIND, DUE_ACCOUNT, DUE_KIND, KEY_KIND},
};
use rampart_kit::{context::CallContext, db::Db, parse_cache::ParseCache, Partition};
use std::sync::LazyLock;

/// A stored key: its entity row and its parsed document. The entity's name is the key id; its
/// id and name key are the storage id ([`storage_id`]), which tells apart the members of a
/// multi-Region key (one per region, all with the same key id).
#[derive(Debug, Clone)]
pub struct Key {
    /// The entity (name and id are the key id).
    pub entity: Entity,
    /// The document.
    pub doc: KeyDoc,
}

impl Key {
    /// The key id (a UUID, or `mrk-` and 32 hex digits for a multi-Region key).
    #[expect(
        clippy::misnamed_getters,
        reason = "the entity's name is the key id; its id is the storage id"
    )]
    pub fn id(&self) -> &str {
        &self.entity.name
    }

    /// The storage id (entity id and name key).
    pub fn storage_id(&self) -> &str {
        &self.entity.id
    }

    /// The key ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }

    /// The owning account.
    pub fn account(&self) -> &str {
        &self.entity.account_id
    }
}

/// The ARN of a key (in the region's partition).
pub fn key_arn(region: &str, account: &str, id: &str) -> String {
    Partition::of_region(region).arn("kms", region, account, &format!("key/{id}"))
}

/// The storage id of a key: its key id, or for a multi-Region key `<key id>/<region>`, since
/// each region holds its own member under the same key id (entity ids are unique store-wide).
pub fn storage_id(region: &str, id: &str) -> String {
    if id.starts_with(super::crypto::MULTI_REGION_PREFIX) {
        format!("{id}/{region}")
    } else {
        id.to_string()
    }
}

/// The ARN of an alias (`alias/name`).
pub fn alias_arn(region: &str, account: &str, alias: &str) -> String {
    Partition::of_region(region).arn("kms", region, account, alias)
}

/// The path keys and aliases of a region are listed under.
pub fn region_path(region: &str) -> String {
    format!("/{region}/")
}

/// The uniqueness key of an alias (aliases are per account and region).
pub fn alias_key(region: &str, alias: &str) -> String {
    format!("{region}/{alias}")
}

/// AWS's `NotFoundException` for a `KeyId` that names no key here.
pub fn not_found(what: &str) -> KmsError {
    KmsError::NotFoundException(format!("Invalid keyId {what}"))
}

/// What a `KeyId` parameter names: the account it lives in and the key id or alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyName {
    /// A key id in an account.
    Key { account: String, id: String },
    /// An alias (`alias/...`) in an account.
    Alias { account: String, alias: String },
}

/// Parses a key id, key ARN, alias name or alias ARN, in the caller's region.
pub fn parse_key_name(input: &str, ctx: &CallContext) -> KmsResult<KeyName> {
    let own = &ctx.principal.account_id;
    if let Some(rest) = input.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, region, account, resource] = parts.as_slice() else {
            return Err(not_found(input));
        };
        if *partition != ctx.partition().name() || *service != "kms" || account.len() != 12 {
            return Err(not_found(input));
        }
        if *region != ctx.region {
            return Err(not_found(input));
        }
        if let Some(id) = resource.strip_prefix("key/") {
            return Ok(KeyName::Key {
                account: account.to_string(),
                id: id.to_string(),
            });
        }
        if resource.starts_with("alias/") {
            return Ok(KeyName::Alias {
                account: account.to_string(),
                alias: resource.to_string(),
            });
        }
        return Err(not_found(input));
    }
    if input.starts_with("alias/") {
        return Ok(KeyName::Alias {
            account: own.clone(),
            alias: input.to_string(),
        });
    }
    Ok(KeyName::Key {
        account: own.clone(),
        id: input.to_string(),
    })
}

/// Loads the key a `KeyId` parameter names (following an alias), in the caller's region.
/// A key whose deletion date has passed is gone, even before the scheduler destroys it.
pub async fn resolve(db: &mut Db<'_>, ctx: &CallContext, input: &str) -> KmsResult<Key> {
    let (account, id) = match parse_key_name(input, ctx)? {
        KeyName::Key { account, id } => (account, id),
        KeyName::Alias { account, alias } => {
            let target = alias_target(db, &account, &ctx.region, &alias)
                .await?
                .ok_or_else(|| {
                    KmsError::NotFoundException(format!(
                        "Alias {} is not found.",
                        alias_arn(&ctx.region, &account, &alias)
                    ))
                })?;
            (account, target)
        }
    };
    let key = load(db, &account, &ctx.region, &id)
        .await?
        .ok_or_else(|| not_found(input))?;
    if key.doc.region != ctx.region || is_destroyed(&key.doc, ctx.now) {
        return Err(not_found(input));
    }
    Ok(key)
}

/// True once a key's deletion window has ended.
pub fn is_destroyed(doc: &KeyDoc, now: DateTime<Utc>) -> bool {
    doc.state == KeyState::PendingDeletion && doc.deletion_date.is_some_and(|d| d <= now)
}

/// The key id an alias points to.
pub async fn alias_target(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    alias: &str,
) -> KmsResult<Option<String>> {
    let found = db
        .entities()
        .get(account, ALIAS_KIND, &alias_key(region, alias))
        .await?;
    Ok(found.and_then(|e| {
        serde_json::from_str::<serde_json::Value>(&e.doc)
            .ok()
            .and_then(|v| {
                v.get("target")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            })
    }))
}

/// Loads a key by account, region and key id.
pub async fn load(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    id: &str,
) -> KmsResult<Option<Key>> {
    let name_key = storage_id(region, id);
    let Some(entity) = db.entities().get(account, KEY_KIND, &name_key).await? else {
        return Ok(None);
    };
    parse(entity).map(Some)
}

/// Loads the key a ciphertext names in `region` (ciphertexts carry the key id, not the
/// account): for a multi-Region key, that region's member.
pub async fn load_in_region(db: &mut Db<'_>, region: &str, id: &str) -> KmsResult<Option<Key>> {
    load_by_id(db, &storage_id(region, id)).await
}

/// Loads a key by its storage id alone.
pub async fn load_by_id(db: &mut Db<'_>, id: &str) -> KmsResult<Option<Key>> {
    match db.entities().get_by_id(id).await? {
        Some(e) if e.kind == KEY_KIND => parse(e).map(Some),
        _ => Ok(None),
    }
}

/// Parses a stored key entity.
pub fn parse(entity: Entity) -> KmsResult<Key> {
    static PARSED: LazyLock<ParseCache<KeyDoc>> = LazyLock::new(|| ParseCache::new(1024));
    let doc: KeyDoc = PARSED.parse(&entity.id, &entity.doc).map_err(|err| {
        tracing::error!(error = %err, key = %entity.id, "stored key does not parse");
        KmsError::KMSInternalException("An internal error occurred.".into())
    })?;
    Ok(Key { entity, doc })
}

/// Writes a key's document back, and keeps the scheduler's index in step.
pub async fn save(db: &mut Db<'_>, key: &mut Key, now: DateTime<Utc>) -> KmsResult<()> {
    key.entity.doc = serde_json::to_string(&key.doc)
        .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    key.entity.updated_at = now;
    let name_key = key.entity.name_key.clone();
    db.entities().update(&name_key, &key.entity).await?;
    sync_due(db, key, now).await
}

/// Inserts a new key and its scheduler entry.
pub async fn insert(db: &mut Db<'_>, key: &mut Key, now: DateTime<Utc>) -> KmsResult<()> {
    key.entity.doc = serde_json::to_string(&key.doc)
        .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    db.entities().create(&key.entity).await?;
    sync_due(db, key, now).await
}

/// The scheduler's index entry of a key exists exactly when something is due for it.
async fn sync_due(db: &mut Db<'_>, key: &Key, now: DateTime<Utc>) -> KmsResult<()> {
    let existing = db
        .entities()
        .get(DUE_ACCOUNT, DUE_KIND, key.storage_id())
        .await?;
    match (key.doc.next_due(), existing) {
        (Some(_), None) => {
            let e = Entity {
                account_id: DUE_ACCOUNT.into(),
                kind: DUE_KIND.into(),
                name: key.storage_id().into(),
                name_key: key.storage_id().into(),
                id: format!("kms-due/{}", key.storage_id()),
                path: "/".into(),
                arn: key.arn().into(),
                created_at: now,
                updated_at: now,
                doc: serde_json::json!({ "account": key.account() }).to_string(),
            };
            db.entities().create(&e).await?;
        }
        (None, Some(_)) => {
            db.entities()
                .delete(DUE_ACCOUNT, DUE_KIND, key.storage_id())
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Removes a destroyed key, its aliases and its scheduler entry.
pub async fn destroy(db: &mut Db<'_>, key: &Key) -> KmsResult<()> {
    let path = region_path(&key.doc.region);
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(key.account(), ALIAS_KIND, &path, after.as_deref(), 100)
            .await?;
        for a in &page.items {
            let target = serde_json::from_str::<serde_json::Value>(&a.doc)
                .ok()
                .and_then(|v| {
                    v.get("target")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string)
                });
            if target.as_deref() == Some(key.id()) {
                db.entities()
                    .delete(key.account(), ALIAS_KIND, &a.name_key)
                    .await?;
            }
        }
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    db.entities()
        .delete(key.account(), KEY_KIND, &key.entity.name_key)
        .await?;
    if db
        .entities()
        .get(DUE_ACCOUNT, DUE_KIND, key.storage_id())
        .await?
        .is_some()
    {
        db.entities()
            .delete(DUE_ACCOUNT, DUE_KIND, key.storage_id())
            .await?;
    }
    Ok(())
}

fn material_aad(key_id: &str, material_id: &str) -> Vec<u8> {
    aad_for("kms:key", "material", &format!("{key_id}/{material_id}"))
}

/// Seals key material under the master key, bound to the key and material ids.
pub fn seal(db: &Db<'_>, key_id: &str, material_id: &str, material: &[u8]) -> KmsResult<String> {
    let sealed = db
        .master_key()
        .seal(&material_aad(key_id, material_id), material)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// Opens a material version (zeroized when dropped).
pub fn unseal(db: &Db<'_>, key_id: &str, m: &Material) -> KmsResult<Zeroizing<Vec<u8>>> {
    let Some(sealed) = &m.sealed else {
        return Err(KmsError::KMSInvalidStateException(format!(
            "The key material {} of key {key_id} was deleted.",
            m.id
        )));
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    Ok(db.master_key().open(&material_aad(key_id, &m.id), &raw)?)
}

/// Seals a value that is not key material (import wrapping keys).
pub fn seal_other(db: &Db<'_>, key_id: &str, column: &str, value: &[u8]) -> KmsResult<String> {
    let sealed = db
        .master_key()
        .seal(&aad_for("kms:key", column, key_id), value)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// Opens a value sealed by [`seal_other`].
pub fn unseal_other(
    db: &Db<'_>,
    key_id: &str,
    column: &str,
    sealed: &str,
) -> KmsResult<Zeroizing<Vec<u8>>> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    Ok(db
        .master_key()
        .open(&aad_for("kms:key", column, key_id), &raw)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::principal::Principal;

    fn ctx() -> CallContext {
        CallContext {
            region: "eu-west-1".into(),
            ..rampart_kit::test_support::context(Principal::root(
                rampart_kit::Partition::Aws,
                "111122223333",
                "AKIA",
            ))
        }
    }

    #[test]
    fn key_names_in_every_form_aws_accepts() {
        let c = ctx();
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            parse_key_name(id, &c).unwrap(),
            KeyName::Key {
                account: "111122223333".into(),
                id: id.into()
            }
        );
        assert_eq!(
            parse_key_name(&format!("arn:aws:kms:eu-west-1:444455556666:key/{id}"), &c).unwrap(),
            KeyName::Key {
                account: "444455556666".into(),
                id: id.into()
            }
        );
        assert_eq!(
            parse_key_name("alias/app", &c).unwrap(),
            KeyName::Alias {
                account: "111122223333".into(),
                alias: "alias/app".into()
            }
        );
        assert_eq!(
            parse_key_name("arn:aws:kms:eu-west-1:444455556666:alias/app", &c).unwrap(),
            KeyName::Alias {
                account: "444455556666".into(),
                alias: "alias/app".into()
            }
        );
        // Another region's ARN names nothing here.
        assert!(
            parse_key_name(&format!("arn:aws:kms:us-east-1:444455556666:key/{id}"), &c).is_err()
        );
        assert!(parse_key_name("arn:aws:s3:::bucket", &c).is_err());
    }
}
