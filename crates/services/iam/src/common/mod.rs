//! Helpers shared by the IAM families: AWS's error codes, typed input access, `Marker`
//! pagination, tags, policy documents, entity documents and AWS-managed policies.

pub mod aws_managed;
pub mod document;
pub mod page;
pub mod tags;

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_store::{Entity, Store};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use super::model::{self, Tag};
use rampart_kit::{
    authz::AuthzRequest,
    context::{CallContext, ContextEntry},
    db::Db,
    error::{service_errors, ServiceError},
};

service_errors! {
    /// IAM's error codes (the model gives each its HTTP status).
    pub enum IamError for "iam" {
        /// 404: the named entity does not exist.
        NoSuchEntity,
        /// 409: the name is taken.
        EntityAlreadyExists,
        /// 409: the entity still has subordinate entities.
        DeleteConflict,
        /// 409: a quota would be exceeded.
        LimitExceeded,
        /// 400: the policy document does not parse or validate.
        MalformedPolicyDocument,
        /// 400: an input value is not acceptable.
        InvalidInput,
        /// 400: a value fails a documented constraint.
        ValidationError,
        /// 400: the entity cannot be changed (service-linked or AWS-owned).
        UnmodifiableEntity,
        /// 403: the operation is refused whatever the caller's permissions.
        AccessDenied,
        /// 403: an MFA authentication code is wrong, reused or throttled.
        InvalidAuthenticationCode,
        /// 409: the entity is being changed and cannot be changed again yet.
        EntityTemporarilyUnmodifiable,
        /// 400: a password does not satisfy the account password policy.
        PasswordPolicyViolation,
        /// 410: no credential report was generated.
        ReportNotPresent,
        /// 410: the credential report is older than AWS keeps it.
        ReportExpired,
        /// 400: the operation does not apply to this kind of caller.
        InvalidUserType,
    }
}

/// The result type of IAM helpers.
pub type Res<T> = Result<T, ServiceError>;

/// An optional string member.
pub fn opt_str<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

/// A required string member (the wire layer already checked presence; this guards direct
/// callers).
pub fn req_str<'a>(input: &'a Value, key: &str) -> Res<&'a str> {
    opt_str(input, key).ok_or_else(|| {
        ServiceError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(key)
        ))
    })
}

/// An optional boolean member.
pub fn opt_bool(input: &Value, key: &str) -> Option<bool> {
    input.get(key).and_then(Value::as_bool)
}

/// An optional integer member.
pub fn opt_int(input: &Value, key: &str) -> Option<i64> {
    input.get(key).and_then(Value::as_i64)
}

/// A list of strings member (absent: empty).
pub fn str_list(input: &Value, key: &str) -> Vec<String> {
    input
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Deserializes a typed input from the decoded value.
pub fn typed<T: DeserializeOwned>(input: &Value) -> Res<T> {
    serde_json::from_value(input.clone())
        .map_err(|e| ServiceError::validation(format!("Invalid input: {e}")))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A timestamp as outputs carry it (RFC 3339, UTC, seconds).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The path member (`/` when absent).
pub fn path_of(input: &Value) -> String {
    opt_str(input, "Path").unwrap_or("/").to_string()
}

/// The path prefix member (`/` when absent).
pub fn path_prefix_of(input: &Value) -> String {
    opt_str(input, "PathPrefix").unwrap_or("/").to_string()
}

/// The path member `member` (`/` when absent), checked as AWS does (`ValidationError`).
pub fn checked_path(input: &Value, member: &str) -> Res<String> {
    let path = opt_str(input, member).unwrap_or("/");
    if !path.starts_with('/') || !path.ends_with('/') || path.contains("//") {
        return Err(IamError::ValidationError(format!(
            "The specified value for {} is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
            lower_first(member)
        ))
        .into());
    }
    Ok(path.to_string())
}

/// An entity's typed document (an empty document reads as the default).
pub fn read_doc<T: DeserializeOwned + Default>(e: &Entity) -> Res<T> {
    if e.doc.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(&e.doc).map_err(|err| {
        tracing::error!(kind = %e.kind, id = %e.id, error = %err, "unreadable entity document");
        ServiceError::internal()
    })
}

/// The JSON text of a document.
pub fn to_text<T: Serialize>(doc: &T) -> Res<String> {
    serde_json::to_string(doc).map_err(|err| {
        tracing::error!(error = %err, "document does not serialize");
        ServiceError::internal()
    })
}

/// Serializes a typed document into the entity and stamps its update time.
pub fn write_doc<T: Serialize>(e: &mut Entity, doc: &T, now: DateTime<Utc>) -> Res<()> {
    e.doc = to_text(doc)?;
    e.updated_at = now;
    Ok(())
}

/// Writes a changed document back to its entity.
pub async fn save_doc<T: Serialize>(
    db: &mut Db<'_>,
    mut e: Entity,
    doc: &T,
    now: DateTime<Utc>,
) -> Res<()> {
    write_doc(&mut e, doc, now)?;
    let key = e.name_key.clone();
    db.entities().update(&key, &e).await?;
    Ok(())
}

/// The entity of `kind` named `name` with its typed document, or the `missing` error.
pub async fn load_doc<T: DeserializeOwned + Default>(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    name: &str,
    missing: impl FnOnce(&str) -> ServiceError,
) -> Res<(Entity, T)> {
    let e = find(db, account, kind, name)
        .await?
        .ok_or_else(|| missing(name))?;
    let doc = read_doc(&e)?;
    Ok((e, doc))
}

/// The stored ARN of the entity of `kind` named `name` (ARN type `resource_type`), or its ARN
/// at path `/` when it does not exist (the handler then answers `NoSuchEntity`).
pub async fn stored_arn(
    store: &Store,
    account: &str,
    kind: &str,
    resource_type: &str,
    name: &str,
) -> Res<String> {
    Ok(
        match find(&mut Db::Read(store), account, kind, name).await? {
            Some(e) => e.arn,
            None => model::arn(account, resource_type, "/", name),
        },
    )
}

/// An authorization request on the entity of `kind` named `name`, with its tags (read by
/// `tags_of` from its document) as `aws:ResourceTag/*` and `extra` context; a missing entity
/// is authorized at path `/` without tags (the handler then answers `NoSuchEntity`).
#[allow(clippy::too_many_arguments)]
pub async fn authz_on_entity<T: DeserializeOwned + Default>(
    action: &str,
    ctx: &CallContext,
    store: &Store,
    kind: &str,
    resource_type: &str,
    name: &str,
    tags_of: impl FnOnce(T) -> Vec<Tag>,
    mut extra: Vec<ContextEntry>,
) -> Res<AuthzRequest> {
    let account = &ctx.principal.account_id;
    let arn = match find(&mut Db::Read(store), account, kind, name).await? {
        Some(e) => {
            extra.extend(tags::resource_context(&tags_of(read_doc(&e)?)));
            e.arn
        }
        None => model::arn(account, resource_type, "/", name),
    };
    let mut req = AuthzRequest::on(action, arn, account);
    req.context = extra;
    Ok(req)
}

/// The entity of `kind` named `name` (case-insensitively) in `account`, if any.
pub async fn find(db: &mut Db<'_>, account: &str, kind: &str, name: &str) -> Res<Option<Entity>> {
    Ok(db
        .entities()
        .get(account, kind, &model::name_key(name))
        .await?)
}

/// Bumps the authorization epoch (inside the write transaction of a permission change).
pub async fn bump(db: &mut Db<'_>) -> Res<()> {
    db.authz_epoch().bump().await?;
    Ok(())
}

/// A fresh unique id with AWS's prefix.
pub fn new_id(prefix: &str) -> Res<String> {
    rampart_kit::ids::unique_id(prefix).map_err(|_| ServiceError::internal())
}

/// Maps a store `AlreadyExists` to IAM's `EntityAlreadyExists` with `message`.
pub fn exists_or(err: rampart_store::StoreError, message: String) -> ServiceError {
    match err {
        rampart_store::StoreError::AlreadyExists(_) => {
            IamError::EntityAlreadyExists(message).into()
        }
        other => other.into(),
    }
}

/// Parses `arn:aws:iam::ACCOUNT:TYPE/PATH/NAME` into (account, path, name).
pub fn parse_iam_arn<'a>(arn: &'a str, resource_type: &str) -> Option<(&'a str, String, &'a str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let after = resource.strip_prefix(resource_type)?.strip_prefix('/')?;
    let (path, name) = match after.rfind('/') {
        Some(i) => (format!("/{}/", &after[..i]), &after[i + 1..]),
        None => ("/".to_string(), after),
    };
    if name.is_empty() || account.is_empty() {
        return None;
    }
    Some((account, path, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arns_with_paths() {
        assert_eq!(
            parse_iam_arn("arn:aws:iam::123456789012:policy/a/b/P", "policy"),
            Some(("123456789012", "/a/b/".to_string(), "P"))
        );
        assert_eq!(
            parse_iam_arn("arn:aws:iam::aws:policy/AdministratorAccess", "policy"),
            Some(("aws", "/".to_string(), "AdministratorAccess"))
        );
        assert_eq!(parse_iam_arn("arn:aws:iam::1:user/x", "policy"), None);
        assert_eq!(parse_iam_arn("arn:aws:s3:::b", "policy"), None);
    }

    #[test]
    fn paths_must_be_slashed() {
        assert!(checked_path(&serde_json::json!({"Path": "/a/"}), "Path").is_ok());
        let e = checked_path(&serde_json::json!({"Path": "a/"}), "Path").unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(checked_path(&serde_json::json!({}), "Path").unwrap(), "/");
    }

    #[test]
    fn role_arns_split_into_parts() {
        assert_eq!(
            parse_iam_arn("arn:aws:iam::123456789012:role/a/b/R", "role"),
            Some(("123456789012", "/a/b/".to_string(), "R"))
        );
        assert_eq!(parse_iam_arn("arn:aws:iam::1:user/R", "role"), None);
    }

    #[test]
    fn errors_carry_codes() {
        let e: ServiceError = IamError::NoSuchEntity("x".into()).into();
        assert_eq!(e.code, "NoSuchEntity");
        assert!(e.sender_fault);
        assert!(req_str(&serde_json::json!({}), "UserName").is_err());
    }
}
