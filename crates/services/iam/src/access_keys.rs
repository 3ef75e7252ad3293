//! Access keys of IAM users and of the root user: create (at most 2), list, activate or
//! deactivate, delete, last use. Secrets are sealed by the store; this module never keeps them.

use super::Op;
use rampart_store::{AccessKey, KeyStatus, Principal as KeyOwner, Store, Zeroizing};
use serde_json::{json, Map, Value};

use super::{
    common::{opt_str, page, req_str, ts, IamError, Res},
    users,
};
use rampart_kit::{
    authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError, ids,
    principal::PrincipalKind,
};

/// Long-term access keys per user (and per root user).
pub const KEYS_PER_USER: u64 = 2;

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = ctx.principal.account_id.as_str();
    let action = format!("iam:{operation}");
    let req = match op {
        Op::CreateAccessKey | Op::ListAccessKeys | Op::UpdateAccessKey | Op::DeleteAccessKey => {
            match opt_str(input, "UserName") {
                Some(name) => users::authz_on_user(&action, name, ctx, store, Vec::new()).await?,
                None => AuthzRequest::on(&action, ctx.principal.arn.clone(), account),
            }
        }
        Op::GetAccessKeyLastUsed => {
            let id = req_str(input, "AccessKeyId")?;
            let arn = match store.credentials().get(id).await? {
                Some(k) if k.principal.account_id == account => k.principal.arn,
                _ => super::users::user_arn(ctx.partition(), account, "/", "*"),
            };
            AuthzRequest::on(&action, arn, account)
        }
        _ => return Ok(None),
    };
    Ok(Some(req))
}

/// Whose keys an operation addresses: the named user, or the caller (an IAM user or root).
/// Returns the owner and the user name outputs carry (none for root).
async fn owner(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Res<(KeyOwner, Option<String>)> {
    let p = &ctx.principal;
    let name = match opt_str(input, "UserName") {
        Some(n) => n.to_string(),
        None => match p.kind {
            PrincipalKind::Root => {
                return Ok((
                    KeyOwner {
                        account_id: p.account_id.clone(),
                        kind: PrincipalKind::Root,
                        id: p.account_id.clone(),
                        arn: ctx.partition().root_arn(&p.account_id),
                    },
                    None,
                ))
            }
            PrincipalKind::User => p.name.clone(),
            _ => {
                return Err(ServiceError::validation(
                    "Must specify userName when calling with non-User credentials",
                ))
            }
        },
    };
    let u = users::load(db, &p.account_id, &name).await?;
    Ok((
        KeyOwner {
            account_id: u.account_id.clone(),
            kind: PrincipalKind::User,
            id: u.id.clone(),
            arn: u.arn.clone(),
        },
        Some(u.name),
    ))
}

fn key_json(k: &AccessKey, user: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(u) = user {
        m.insert("UserName".into(), json!(u));
    }
    m.insert("AccessKeyId".into(), json!(k.access_key_id));
    m.insert("Status".into(), json!(k.status.as_str()));
    m.insert("CreateDate".into(), json!(ts(k.created_at)));
    m
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (owner, user) = owner(input, ctx, db).await?;
    let count = db
        .credentials()
        .count_long_term_for_principal(&owner.account_id, &owner.id)
        .await?;
    if count >= KEYS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"
        ))
        .into());
    }
    let id = ids::access_key_id(false).map_err(|_| ServiceError::internal())?;
    let secret = Zeroizing::new(ids::secret_access_key().map_err(|_| ServiceError::internal())?);
    let key = AccessKey {
        access_key_id: id,
        principal: owner,
        status: KeyStatus::Active,
        created_at: ctx.now,
        last_used: None,
        session: None,
    };
    db.credentials().create(&key, &secret).await?;
    let mut m = key_json(&key, user.as_deref());
    m.insert("SecretAccessKey".into(), json!(secret.as_str()));
    Ok(json!({ "AccessKey": m }))
}

async fn long_term_keys(db: &mut Db<'_>, owner: &KeyOwner) -> Res<Vec<AccessKey>> {
    Ok(db
        .credentials()
        .list_for_principal(&owner.account_id, &owner.id)
        .await?
        .into_iter()
        .filter(|k| k.session.is_none())
        .collect())
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (owner, user) = owner(input, ctx, db).await?;
    let keys = long_term_keys(db, &owner).await?;
    let req = page::page_req(input)?;
    let (items, truncated, last) = page::slice(keys, |k| k.access_key_id.clone(), &req);
    let mut out = Map::new();
    out.insert(
        "AccessKeyMetadata".into(),
        Value::Array(
            items
                .iter()
                .map(|k| Value::Object(key_json(k, user.as_deref())))
                .collect(),
        ),
    );
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

fn no_such_key(id: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found.")).into()
}

/// The owner's long-term key with this id, or `NoSuchEntity`.
async fn owned_key(db: &mut Db<'_>, owner: &KeyOwner, id: &str) -> Res<AccessKey> {
    match db.credentials().get(id).await? {
        Some(k)
            if k.session.is_none()
                && k.principal.account_id == owner.account_id
                && k.principal.id == owner.id =>
        {
            Ok(k)
        }
        _ => Err(no_such_key(id)),
    }
}

pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (owner, _) = owner(input, ctx, db).await?;
    let id = req_str(input, "AccessKeyId")?;
    let status = match req_str(input, "Status")? {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => {
            return Err(IamError::ValidationError(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
            ))
            .into())
        }
    };
    owned_key(db, &owner, id).await?;
    db.credentials().set_status(id, status).await?;
    Ok(json!({}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (owner, _) = owner(input, ctx, db).await?;
    let id = req_str(input, "AccessKeyId")?;
    owned_key(db, &owner, id).await?;
    db.credentials().delete(id).await?;
    Ok(json!({}))
}

pub async fn last_used(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let id = req_str(input, "AccessKeyId")?;
    let key = match db.credentials().get(id).await? {
        Some(k) if k.principal.account_id == ctx.principal.account_id => k,
        _ => return Err(no_such_key(id)),
    };
    let mut used = Map::new();
    match &key.last_used {
        Some(l) => {
            used.insert("LastUsedDate".into(), json!(ts(l.at)));
            used.insert("ServiceName".into(), json!(l.service));
            used.insert("Region".into(), json!(l.region));
        }
        None => {
            used.insert("ServiceName".into(), json!("N/A"));
            used.insert("Region".into(), json!("N/A"));
        }
    }
    let mut out = Map::new();
    if key.principal.kind == PrincipalKind::User {
        if let Some(name) = key.principal.arn.rsplit('/').next() {
            out.insert("UserName".into(), json!(name));
        }
    }
    out.insert("AccessKeyLastUsed".into(), Value::Object(used));
    Ok(Value::Object(out))
}

/// Re-points a principal's long-term keys at its new ARN after a rename or path change,
/// keeping each key's id, secret, status and history.
pub async fn rehome_keys(
    db: &mut Db<'_>,
    account: &str,
    principal_id: &str,
    new_arn: &str,
) -> Res<()> {
    let keys = db
        .credentials()
        .list_for_principal(account, principal_id)
        .await?;
    for k in keys {
        if k.session.is_some() || k.principal.arn == new_arn {
            continue;
        }
        let Some((mut key, secret)) = db.credentials().get_with_secret(&k.access_key_id).await?
        else {
            continue;
        };
        db.credentials().delete(&key.access_key_id).await?;
        key.principal.arn = new_arn.to_string();
        db.credentials().create(&key, &secret).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_json_names_the_user_when_there_is_one() {
        let k = AccessKey {
            access_key_id: "AKIAEXAMPLEEXAMPLE12".into(),
            principal: KeyOwner {
                account_id: "111122223333".into(),
                kind: PrincipalKind::User,
                id: "AIDAX".into(),
                arn: "arn:aws:iam::111122223333:user/bob".into(),
            },
            status: KeyStatus::Inactive,
            created_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            last_used: None,
            session: None,
        };
        let j = key_json(&k, Some("bob"));
        assert_eq!(j["Status"], "Inactive");
        assert_eq!(j["UserName"], "bob");
        assert!(key_json(&k, None).get("UserName").is_none());
    }
}
