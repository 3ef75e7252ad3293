//! Helpers shared by the IAM families: AWS's error codes, IAM's paths, names and ARNs, `Marker`
//! pagination, tags, policy documents and AWS-managed policies. Input access, entity documents
//! and timestamps come from `rampart_kit`.

pub mod aws_managed;
pub mod document;
pub mod page;
pub mod tags;

use rampart_kit::Partition;
use rampart_store::{Entity, Store};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::{self, Tag};
use rampart_kit::{
    authz::AuthzRequest,
    context::{CallContext, ContextEntry},
    db::Db,
    entity,
    error::{service_errors, ServiceError},
    input::{lower_first, missing_member, required},
};
// The shared helpers IAM's families use, by the names they use them.
pub(crate) use rampart_kit::{
    entity::{bump, read_doc, save_doc, to_text, write_doc},
    input::{opt_bool, opt_int, opt_str, str_list},
    timestamp::ts,
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
        /// 400: the SSH public key is already associated with the user.
        DuplicateSSHPublicKey,
        /// 400: the public key is in neither ssh-rsa nor PEM encoding.
        UnrecognizedPublicKeyEncoding,
        /// 400: the public key is not an acceptable key.
        InvalidPublicKey,
        /// 400: the certificate does not parse.
        MalformedCertificate,
        /// 409: the certificate is already uploaded.
        DuplicateCertificate,
        /// 400: the certificate is not valid.
        InvalidCertificate,
        /// 400: the private key does not match the certificate.
        KeyPairMismatch,
        /// 404: the service does not support service-specific credentials.
        NotSupportedService,
        /// 404: the account feature is not enabled.
        FeatureDisabled,
        /// 409: the account feature is already enabled.
        FeatureEnabled,
    }
}

/// The result type of IAM helpers.
pub type Res<T> = Result<T, ServiceError>;

/// A required string member (the wire layer already checked presence; this guards direct
/// callers) with AWS's generic `ValidationError`.
pub fn req_str<'a>(input: &'a Value, key: &str) -> Res<&'a str> {
    required(input, key, missing_member)
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
    let printable = path.chars().all(|c| ('!'..='~').contains(&c));
    if !path.starts_with('/') || !path.ends_with('/') || path.contains("//") || !printable {
        return Err(IamError::ValidationError(format!(
            "The specified value for {} is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
            lower_first(member)
        ))
        .into());
    }
    Ok(path.to_string())
}

/// The entity of `kind` named `name` with its typed document, or the `missing` error.
pub async fn load_doc<T: DeserializeOwned + Default>(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    name: &str,
    missing: impl FnOnce(&str) -> ServiceError,
) -> Res<(Entity, T)> {
    entity::load_doc(db, account, kind, &model::name_key(name))
        .await?
        .ok_or_else(|| missing(name))
}

/// The stored ARN of the entity of `kind` named `name` (ARN type `resource_type`), or its ARN
/// at path `/` when it does not exist (the handler then answers `NoSuchEntity`).
pub async fn stored_arn(
    partition: Partition,
    store: &Store,
    account: &str,
    kind: &str,
    resource_type: &str,
    name: &str,
) -> Res<String> {
    Ok(
        match find(&mut Db::Read(store), account, kind, name).await? {
            Some(e) => e.arn,
            None => model::arn(partition, account, resource_type, "/", name),
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
        None => model::arn(ctx.partition(), account, resource_type, "/", name),
    };
    let mut req = AuthzRequest::on(action, arn, account);
    req.context = extra;
    Ok(req)
}

/// The entity of `kind` named `name` (case-insensitively) in `account`, if any.
pub async fn find(db: &mut Db<'_>, account: &str, kind: &str, name: &str) -> Res<Option<Entity>> {
    entity::find(db, account, kind, &model::name_key(name)).await
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

/// Parses `arn:PARTITION:iam::ACCOUNT:TYPE/PATH/NAME` (any partition) into (account, path,
/// name). Callers compare the stored entity's ARN with the one given, so an ARN of another
/// partition than the server's names nothing.
pub fn parse_iam_arn<'a>(arn: &'a str, resource_type: &str) -> Option<(&'a str, String, &'a str)> {
    let rest = Partition::of_arn(arn)?.strip_iam_arn(arn)?;
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
