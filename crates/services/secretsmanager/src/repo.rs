//! Reading and writing secrets, resolving the `SecretId` forms AWS accepts (name, full ARN,
//! partial ARN without the random suffix), and the scheduler's index of deletions.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_store::Entity;

use super::{
    error::{SmError, SmResult},
    model::{
        SecretDoc, DUE_ACCOUNT, DUE_KIND, IN_PROGRESS, REPLICATION_KIND, ROTATION_KIND, SECRET_KIND,
    },
};
use rampart_kit::{context::CallContext, db::Db, parse_cache::ParseCache};
use std::sync::LazyLock;

/// A stored secret: its entity row and its parsed document.
#[derive(Debug, Clone)]
pub struct Secret {
    /// The entity (id and ARN are the secret's ARN).
    pub entity: Entity,
    /// The document.
    pub doc: SecretDoc,
}

impl Secret {
    /// The secret's ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.entity.name
    }

    /// The owning account.
    pub fn account(&self) -> &str {
        &self.entity.account_id
    }

    /// True while the secret waits for deletion.
    pub fn is_deleted(&self) -> bool {
        self.doc.deleted_date.is_some()
    }

    /// Refuses a secret scheduled for deletion.
    pub fn require_active(&self) -> SmResult<()> {
        if self.is_deleted() {
            Err(SmError::marked_for_deletion())
        } else {
            Ok(())
        }
    }
}

/// The ARN of a secret: its name and AWS's 6-character random suffix.
pub fn secret_arn(region: &str, account: &str, name: &str, suffix: &str) -> String {
    Partition::of_region(region).arn(
        "secretsmanager",
        region,
        account,
        &format!("secret:{name}-{suffix}"),
    )
}

/// AWS's random suffix: 6 letters and digits.
pub fn random_suffix() -> SmResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 6];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SmError::internal())?;
    // 62 does not divide 256: the slight bias of a suffix is harmless (it is no secret).
    Ok(bytes
        .iter()
        .filter_map(|b| ALPHABET.get(usize::from(*b) % ALPHABET.len()))
        .map(|c| char::from(*c))
        .collect())
}

/// Refuses a name with characters AWS does not allow (letters, digits and `/_+=.@-`).
pub fn check_name(name: &str) -> SmResult<()> {
    let valid = !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(SmError::ValidationException(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
                .into(),
        ))
    }
}

/// The uniqueness key of a name (names are unique per account and region).
pub fn name_key(region: &str, name: &str) -> String {
    format!("{region}/{name}")
}

/// The path the secrets of a region are listed under.
pub fn region_path(region: &str) -> String {
    format!("/{region}/")
}

/// What a `SecretId` names: the owning account and an ARN or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretName {
    /// The owning account (the caller's for a name).
    pub account: String,
    /// The full ARN, when the id is an ARN.
    pub arn: Option<String>,
    /// The name, or the part of an ARN after `secret:` (a name when the ARN is partial).
    pub name: String,
}

/// Parses a `SecretId` in the caller's region; `None` when it names nothing here (an ARN of
/// another service, region or partition).
pub fn parse_secret_id(input: &str, ctx: &CallContext) -> Option<SecretName> {
    let Some(rest) = input.strip_prefix("arn:") else {
        return Some(SecretName {
            account: ctx.principal.account_id.clone(),
            arn: None,
            name: input.to_string(),
        });
    };
    let parts: Vec<&str> = rest.splitn(6, ':').collect();
    let [partition, service, region, account, kind, name] = parts.as_slice() else {
        return None;
    };
    if *partition != ctx.partition().name()
        || *service != "secretsmanager"
        || *region != ctx.region
        || *kind != "secret"
        || account.len() != 12
        || name.is_empty()
    {
        return None;
    }
    Some(SecretName {
        account: account.to_string(),
        arn: Some(input.to_string()),
        name: name.to_string(),
    })
}

/// The name in a full ARN's last part (`app/db-AbCdEf` -> `app/db`), if it carries a suffix.
fn name_without_suffix(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(7)?;
    let (head, tail) = (name.get(..cut)?, name.get(cut..)?);
    (tail.starts_with('-') && tail.len() == 7 && !head.is_empty()).then_some(head)
}

/// Loads the secret a `SecretId` names, in the caller's region, if it exists. A secret whose
/// recovery window has ended is gone, even before the scheduler destroys it.
pub async fn find(db: &mut Db<'_>, ctx: &CallContext, input: &str) -> SmResult<Option<Secret>> {
    if !input.starts_with("arn:") {
        check_name(input)?;
    }
    let Some(id) = parse_secret_id(input, ctx) else {
        return Ok(None);
    };
    let mut found = None;
    if let Some(arn) = &id.arn {
        // A full ARN ends in the name and AWS's `-XXXXXX` suffix: look the name up first,
        // through the store's entity cache, and keep it only if it is this very secret. Reads
        // by id are not cached; this halves `GetSecretValue`'s store reads (BENCHMARKS.md).
        if let Some(name) = name_without_suffix(&id.name) {
            found = db
                .entities()
                .get(&id.account, SECRET_KIND, &name_key(&ctx.region, name))
                .await?
                .filter(|e| e.arn == *arn);
        }
        if found.is_none() {
            if let Some(e) = db.entities().get_by_id(arn).await? {
                if e.kind == SECRET_KIND && e.account_id == id.account {
                    found = Some(e);
                }
            }
        }
    }
    if found.is_none() {
        // A name, or a partial ARN (the name without the suffix).
        found = db
            .entities()
            .get(&id.account, SECRET_KIND, &name_key(&ctx.region, &id.name))
            .await?;
    }
    let Some(entity) = found else {
        return Ok(None);
    };
    let secret = parse(entity)?;
    if secret.doc.region != ctx.region || is_destroyed(&secret.doc, ctx.now) {
        return Ok(None);
    }
    Ok(Some(secret))
}

/// Loads the secret a `SecretId` names, or AWS's `ResourceNotFoundException`.
pub async fn resolve(db: &mut Db<'_>, ctx: &CallContext, input: &str) -> SmResult<Secret> {
    find(db, ctx, input).await?.ok_or_else(SmError::no_secret)
}

/// Like [`resolve`], refusing a secret scheduled for deletion.
pub async fn resolve_active(db: &mut Db<'_>, ctx: &CallContext, input: &str) -> SmResult<Secret> {
    let secret = resolve(db, ctx, input).await?;
    secret.require_active()?;
    Ok(secret)
}

/// Like [`resolve`], refusing a replica (whose writes are made through its primary).
pub async fn resolve_primary(db: &mut Db<'_>, ctx: &CallContext, input: &str) -> SmResult<Secret> {
    let secret = resolve(db, ctx, input).await?;
    if secret.doc.primary_region.is_some() {
        return Err(super::replication::replica_refusal());
    }
    Ok(secret)
}

/// Like [`resolve_active`], refusing a replica: the secret a write may change.
pub async fn resolve_writable(db: &mut Db<'_>, ctx: &CallContext, input: &str) -> SmResult<Secret> {
    let secret = resolve_primary(db, ctx, input).await?;
    secret.require_active()?;
    Ok(secret)
}

/// True once a secret's recovery window has ended.
pub fn is_destroyed(doc: &SecretDoc, now: DateTime<Utc>) -> bool {
    doc.deletion_date.is_some_and(|d| d <= now)
}

/// Parses a stored secret entity.
pub fn parse(entity: Entity) -> SmResult<Secret> {
    static PARSED: LazyLock<ParseCache<SecretDoc>> = LazyLock::new(|| ParseCache::new(1024));
    let doc: SecretDoc = PARSED.parse(&entity.arn, &entity.doc).map_err(|err| {
        tracing::error!(error = %err, secret = %entity.arn, "stored secret does not parse");
        SmError::internal()
    })?;
    Ok(Secret { entity, doc })
}

fn encode(secret: &mut Secret) -> SmResult<()> {
    secret.entity.doc = serde_json::to_string(&secret.doc).map_err(|_| SmError::internal())?;
    Ok(())
}

/// Inserts a new secret.
pub async fn insert(db: &mut Db<'_>, secret: &mut Secret) -> SmResult<()> {
    encode(secret)?;
    db.entities().create(&secret.entity).await?;
    Ok(())
}

/// Writes a secret's document back, and keeps the scheduler's index in step. A primary with
/// replicas counts the change and its replicas go back to `InProgress` (the replication job
/// copies it to them).
pub async fn save(db: &mut Db<'_>, secret: &mut Secret, now: DateTime<Utc>) -> SmResult<()> {
    if !secret.doc.replicas.is_empty() {
        secret.doc.generation = secret.doc.generation.wrapping_add(1);
        for r in &mut secret.doc.replicas {
            r.status = IN_PROGRESS.into();
            r.message = None;
        }
    }
    save_quiet(db, secret, now).await
}

/// Writes a secret's document back as it is (the replication job's own bookkeeping), and keeps
/// the scheduler's indexes in step.
pub async fn save_quiet(db: &mut Db<'_>, secret: &mut Secret, now: DateTime<Utc>) -> SmResult<()> {
    encode(secret)?;
    secret.entity.updated_at = now;
    let key = secret.entity.name_key.clone();
    db.entities().update(&key, &secret.entity).await?;
    let waiting = secret.doc.deletion_date.is_some();
    sync_index(db, secret, DUE_KIND, waiting, now).await?;
    let rotating = secret.doc.rotation.enabled || secret.doc.rotation.run.is_some();
    sync_index(db, secret, ROTATION_KIND, rotating, now).await?;
    let replicating = secret.doc.replicas.iter().any(|r| r.status == IN_PROGRESS);
    sync_index(db, secret, REPLICATION_KIND, replicating, now).await
}

/// The scheduler's index entry of kind `kind` (deletion: [`DUE_KIND`], rotation:
/// [`ROTATION_KIND`], replication: [`REPLICATION_KIND`]) exists exactly while `wanted`.
async fn sync_index(
    db: &mut Db<'_>,
    secret: &Secret,
    kind: &str,
    wanted: bool,
    now: DateTime<Utc>,
) -> SmResult<()> {
    let existing = db.entities().get(DUE_ACCOUNT, kind, secret.arn()).await?;
    match (wanted, existing) {
        (true, None) => {
            let e = Entity {
                account_id: DUE_ACCOUNT.into(),
                kind: kind.into(),
                name: secret.arn().into(),
                name_key: secret.arn().into(),
                id: format!("{kind}/{}", secret.arn()),
                path: "/".into(),
                arn: secret.arn().into(),
                created_at: now,
                updated_at: now,
                doc: "{}".into(),
            };
            db.entities().create(&e).await?;
        }
        (false, Some(_)) => {
            db.entities()
                .delete(DUE_ACCOUNT, kind, secret.arn())
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Removes a secret, every version with it, and its scheduler entries.
pub async fn destroy(db: &mut Db<'_>, secret: &Secret) -> SmResult<()> {
    db.entities()
        .delete(secret.account(), SECRET_KIND, &secret.entity.name_key)
        .await?;
    for kind in [DUE_KIND, ROTATION_KIND, REPLICATION_KIND] {
        if db
            .entities()
            .get(DUE_ACCOUNT, kind, secret.arn())
            .await?
            .is_some()
        {
            db.entities()
                .delete(DUE_ACCOUNT, kind, secret.arn())
                .await?;
        }
    }
    Ok(())
}

/// Every secret of the account in the caller's region, in name order.
pub async fn all(db: &mut Db<'_>, account: &str, region: &str) -> SmResult<Vec<Secret>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(
                account,
                SECRET_KIND,
                &region_path(region),
                after.as_deref(),
                500,
            )
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        for e in page.items {
            out.push(parse(e)?);
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::principal::Principal;

    fn ctx() -> CallContext {
        CallContext {
            request_id: "r".into(),
            principal: std::sync::Arc::new(Principal::root(
                rampart_kit::Partition::Aws,
                "111122223333",
                "AKIA",
            )),
            region: "eu-west-1".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "t".into(),
            now: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            secure_transport: false,
            prepared: None,
            authorizer: rampart_kit::Authorizer::refusing(),
            via_service: None,
            side_calls: Default::default(),
            payload: Default::default(),
        }
    }

    #[test]
    fn secret_ids_in_every_form_aws_accepts() {
        let c = ctx();
        let by_name = parse_secret_id("prod/db", &c).unwrap();
        assert_eq!(
            (by_name.account.as_str(), by_name.name.as_str()),
            ("111122223333", "prod/db")
        );
        assert_eq!(by_name.arn, None);
        let full = "arn:aws:secretsmanager:eu-west-1:444455556666:secret:prod/db-AbC123";
        let by_arn = parse_secret_id(full, &c).unwrap();
        assert_eq!(by_arn.account, "444455556666");
        assert_eq!(by_arn.arn.as_deref(), Some(full));
        assert_eq!(by_arn.name, "prod/db-AbC123");
        let partial = parse_secret_id(
            "arn:aws:secretsmanager:eu-west-1:444455556666:secret:prod/db",
            &c,
        );
        assert_eq!(partial.unwrap().name, "prod/db");
        assert!(
            parse_secret_id("arn:aws:secretsmanager:us-east-1:444455556666:secret:x", &c).is_none()
        );
        assert!(parse_secret_id("arn:aws:kms:eu-west-1:444455556666:key/x", &c).is_none());
    }

    #[test]
    fn full_arns_name_their_secret_without_the_suffix() {
        assert_eq!(name_without_suffix("app/db-AbCdEf"), Some("app/db"));
        assert_eq!(name_without_suffix("x-AbCdEf"), Some("x"));
        assert_eq!(name_without_suffix("-AbCdEf"), None);
        assert_eq!(name_without_suffix("AbCdEf"), None);
        assert_eq!(name_without_suffix("app/dbAbCdEfg"), None);
        assert_eq!(name_without_suffix("é-AbCdEf"), Some("é"));
    }

    #[test]
    fn names_follow_aws_characters() {
        assert!(check_name("prod/db-credentials_1+=.@").is_ok());
        assert!(check_name("white space").is_err());
        assert!(check_name("").is_err());
    }

    #[test]
    fn suffixes_are_six_alphanumerics() {
        let s = random_suffix().unwrap();
        assert_eq!(s.len(), 6);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
