//! Aliases: `CreateAlias`, `UpdateAlias`, `DeleteAlias`, `ListAliases`. An alias is a store
//! entity per account and region pointing at a key id; `alias/aws/` is reserved for
//! AWS-managed keys.

use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{
        epoch, key_after, opt_str, paging, req_str, require_not_pending_deletion, with_marker,
    },
    error::{KmsError, KmsResult},
    model::ALIAS_KIND,
    repo::{self, alias_arn, alias_key, region_path, Key},
};
use rampart_kit::{context::CallContext, db::Db};

/// AWS's refusal of an alias name without the `alias/` prefix.
pub fn missing_prefix() -> KmsError {
    KmsError::ValidationException(
        "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".into(),
    )
}

/// Checks an alias name: `alias/` prefix, AWS's characters, and not the reserved prefix.
pub fn validate_name(name: &str) -> KmsResult<()> {
    let rest = name.strip_prefix("alias/").ok_or_else(missing_prefix)?;
    let ok_chars = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'));
    if rest.is_empty() || name.len() > 256 || !ok_chars {
        return Err(KmsError::ValidationException(format!(
            "Alias name {name} is not valid: use 1-256 characters of a-z, A-Z, 0-9, /, _ and -."
        )));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::InvalidAliasNameException(
            "Alias names that begin with alias/aws/ are reserved for AWS managed keys.".into(),
        ));
    }
    Ok(())
}

async fn target_key(db: &mut Db<'_>, ctx: &CallContext, input: &Value) -> KmsResult<Key> {
    let id = req_str(input, "TargetKeyId")?;
    if id.starts_with("alias/") || id.contains(":alias/") {
        return Err(KmsError::ValidationException(
            "TargetKeyId must be a key id or key ARN, not an alias.".into(),
        ));
    }
    let key = repo::resolve(db, ctx, id).await?;
    if key.account() != ctx.principal.account_id {
        return Err(KmsError::NotFoundException(format!("Invalid keyId {id}")));
    }
    require_not_pending_deletion(&key)?;
    if key.doc.key_manager == "AWS" {
        return Err(KmsError::UnsupportedOperationException(
            "An alias cannot point to an AWS managed key.".into(),
        ));
    }
    Ok(key)
}

/// `CreateAlias`.
pub async fn create_alias(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let name = req_str(input, "AliasName")?;
    validate_name(name)?;
    let key = target_key(&mut db, ctx, input).await?;
    let account = ctx.principal.account_id.clone();
    let arn = alias_arn(&ctx.region, &account, name);
    let entity = Entity {
        account_id: account.clone(),
        kind: ALIAS_KIND.into(),
        name: name.to_string(),
        name_key: alias_key(&ctx.region, name),
        id: arn.clone(),
        path: region_path(&ctx.region),
        arn: arn.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: json!({ "target": key.id() }).to_string(),
    };
    match db.entities().create(&entity).await {
        Ok(()) => Ok(json!({})),
        Err(rampart_store::StoreError::AlreadyExists(_)) => Err(KmsError::AlreadyExistsException(
            format!("An alias with the name {arn} already exists"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `UpdateAlias`: the new key must have the same type and usage as the current one.
pub async fn update_alias(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let name = req_str(input, "AliasName")?;
    let account = ctx.principal.account_id.clone();
    let store_key = alias_key(&ctx.region, name);
    let mut entity = db
        .entities()
        .get(&account, ALIAS_KIND, &store_key)
        .await?
        .ok_or_else(|| {
            KmsError::NotFoundException(format!(
                "Alias {} is not found.",
                alias_arn(&ctx.region, &account, name)
            ))
        })?;
    let key = target_key(&mut db, ctx, input).await?;
    let current = serde_json::from_str::<Value>(&entity.doc)
        .ok()
        .and_then(|v| v.get("target").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    if let Some(old) = repo::load(&mut db, &account, &ctx.region, &current).await? {
        if old.doc.key_usage != key.doc.key_usage
            || old.doc.spec().is_hmac() != key.doc.spec().is_hmac()
            || (old.doc.key_spec == "SYMMETRIC_DEFAULT")
                != (key.doc.key_spec == "SYMMETRIC_DEFAULT")
        {
            return Err(KmsError::ValidationException(
                "The new key must be the same type and key usage as the current key.".into(),
            ));
        }
    }
    entity.doc = json!({ "target": key.id() }).to_string();
    entity.updated_at = ctx.now;
    db.entities().update(&store_key, &entity).await?;
    Ok(json!({}))
}

/// `DeleteAlias`.
pub async fn delete_alias(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let name = req_str(input, "AliasName")?;
    let account = ctx.principal.account_id.clone();
    match db
        .entities()
        .delete(&account, ALIAS_KIND, &alias_key(&ctx.region, name))
        .await
    {
        Ok(()) => Ok(json!({})),
        Err(rampart_store::StoreError::NotFound(_)) => Err(KmsError::NotFoundException(format!(
            "Alias {} is not found.",
            alias_arn(&ctx.region, &account, name)
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `ListAliases`: the account's aliases in the region, optionally those of one key.
pub async fn list_aliases(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (limit, marker) = paging(input)?;
    let account = ctx.principal.account_id.clone();
    let filter = match opt_str(input, "KeyId") {
        Some(id) => Some(repo::resolve(&mut db, ctx, id).await?.id().to_string()),
        None => None,
    };
    let mut out = Vec::new();
    let mut after = key_after(marker.as_deref())?;
    let mut next = None;
    'pages: loop {
        let page = db
            .entities()
            .list(
                &account,
                ALIAS_KIND,
                &region_path(&ctx.region),
                after.as_deref(),
                100,
            )
            .await?;
        for e in &page.items {
            let target = serde_json::from_str::<Value>(&e.doc)
                .ok()
                .and_then(|v| v.get("target").and_then(Value::as_str).map(str::to_string));
            if filter.is_some() && target != filter {
                continue;
            }
            if out.len() == limit {
                next = out
                    .last()
                    .map(|(k, _): &(String, Value)| rampart_kit::page::encode(k));
                break 'pages;
            }
            out.push((
                e.name_key.clone(),
                json!({
                    "AliasName": e.name,
                    "AliasArn": e.arn,
                    "TargetKeyId": target,
                    "CreationDate": epoch(e.created_at),
                    "LastUpdatedDate": epoch(e.updated_at),
                }),
            ));
        }
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    let aliases: Vec<Value> = out.into_iter().map(|(_, v)| v).collect();
    Ok(with_marker(json!({ "Aliases": aliases }), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_follow_aws_rules() {
        assert!(validate_name("alias/app-1/prod_x").is_ok());
        assert!(matches!(
            validate_name("app"),
            Err(KmsError::ValidationException(_))
        ));
        assert!(matches!(
            validate_name("alias/"),
            Err(KmsError::ValidationException(_))
        ));
        assert!(matches!(
            validate_name("alias/a b"),
            Err(KmsError::ValidationException(_))
        ));
        assert!(matches!(
            validate_name("alias/aws/s3"),
            Err(KmsError::InvalidAliasNameException(_))
        ));
    }
}
