//! Helpers shared by the role, instance profile, simulator and STS handlers: input access,
//! AWS's errors for these families, tags, pagination, policy documents and role loading.

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rampart_policy::{Policy, PolicyKind};
use rampart_store::{Entity, StoreError};
use serde_json::{json, Value};

use crate::{
    context::ContextEntry,
    db::Db,
    error::ServiceError,
    iam::model::{self, RoleDoc, Tag},
};

/// The errors of roles, instance profiles and the simulator, named after AWS's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// A named entity does not exist.
    #[error("{0}")]
    NoSuchEntity(String),
    /// The name is taken.
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// The entity still has dependents.
    #[error("{0}")]
    DeleteConflict(String),
    /// A quota is reached.
    #[error("{0}")]
    LimitExceeded(String),
    /// A policy document is not valid.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// An input value is not valid.
    #[error("{0}")]
    InvalidInput(String),
    /// A value fails AWS's validation.
    #[error("{0}")]
    ValidationError(String),
    /// An entity cannot be changed (AWS-managed, service-linked).
    #[error("{0}")]
    UnmodifiableEntity(String),
    /// The simulator cannot evaluate the policies.
    #[error("{0}")]
    PolicyEvaluation(String),
}

impl RoleError {
    fn code(&self) -> &'static str {
        match self {
            RoleError::NoSuchEntity(_) => "NoSuchEntity",
            RoleError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            RoleError::DeleteConflict(_) => "DeleteConflict",
            RoleError::LimitExceeded(_) => "LimitExceeded",
            RoleError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            RoleError::InvalidInput(_) => "InvalidInput",
            RoleError::ValidationError(_) => "ValidationError",
            RoleError::UnmodifiableEntity(_) => "UnmodifiableEntity",
            RoleError::PolicyEvaluation(_) => "PolicyEvaluation",
        }
    }
}

impl From<RoleError> for ServiceError {
    fn from(err: RoleError) -> ServiceError {
        ServiceError::sender(err.code(), err.to_string())
    }
}

/// Most tags on one IAM resource.
pub const MAX_TAGS: usize = 50;
/// Role inline policy limit (characters, whitespace excluded).
pub const ROLE_INLINE_LIMIT: usize = 10_240;
/// Default `MaxItems`.
pub const DEFAULT_MAX_ITEMS: u32 = 100;

/// A string member, if present.
pub fn s<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// A required string member (the wire layer already checked presence; this guards anyway).
pub fn req<'a>(input: &'a Value, name: &str) -> Result<&'a str, ServiceError> {
    s(input, name).ok_or_else(|| {
        ServiceError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

/// An integer member, if present.
pub fn int(input: &Value, name: &str) -> Option<i64> {
    input.get(name).and_then(Value::as_i64)
}

/// A list of strings member (empty when absent).
pub fn strings(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// RFC 3339 with seconds, as the wire layer accepts for timestamps.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The tags of a request (`Tags` member), checked for AWS's limits.
pub fn tags_in(input: &Value) -> Result<Vec<Tag>, ServiceError> {
    let mut out: Vec<Tag> = Vec::new();
    if let Some(list) = input.get("Tags").and_then(Value::as_array) {
        for t in list {
            let key = s(t, "Key").unwrap_or_default().to_string();
            let value = s(t, "Value").unwrap_or_default().to_string();
            if out.iter().any(|o| o.key.eq_ignore_ascii_case(&key)) {
                return Err(RoleError::InvalidInput(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive."
                        .into(),
                )
                .into());
            }
            out.push(Tag { key, value });
        }
    }
    if out.len() > MAX_TAGS {
        return Err(RoleError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {MAX_TAGS}."
        ))
        .into());
    }
    Ok(out)
}

/// Merges `new` tags into `existing` (same key, case-insensitively, is replaced).
pub fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> Result<(), ServiceError> {
    for t in new {
        match existing
            .iter_mut()
            .find(|e| e.key.eq_ignore_ascii_case(&t.key))
        {
            Some(e) => *e = t,
            None => existing.push(t),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(RoleError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {MAX_TAGS}."
        ))
        .into());
    }
    Ok(())
}

/// Removes tags by key (case-insensitively).
pub fn remove_tags(existing: &mut Vec<Tag>, keys: &[String]) {
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

/// The JSON list of tags.
pub fn tags_json(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// `aws:RequestTag/K` for each tag and `aws:TagKeys`.
pub fn request_tag_keys(tags: &[Tag]) -> Vec<ContextEntry> {
    let mut out: Vec<ContextEntry> = tags
        .iter()
        .map(|t| (format!("aws:RequestTag/{}", t.key), vec![t.value.clone()]))
        .collect();
    if !tags.is_empty() {
        out.push((
            "aws:TagKeys".into(),
            tags.iter().map(|t| t.key.clone()).collect(),
        ));
    }
    out
}

/// `aws:ResourceTag/K` (and `iam:ResourceTag/K`) for a resource's tags.
pub fn resource_tag_keys(tags: &[Tag]) -> Vec<ContextEntry> {
    let mut out = Vec::new();
    for t in tags {
        out.push((format!("aws:ResourceTag/{}", t.key), vec![t.value.clone()]));
        out.push((format!("iam:ResourceTag/{}", t.key), vec![t.value.clone()]));
    }
    out
}

/// `Marker` and `MaxItems` of a list request.
pub fn page_args(input: &Value) -> (Option<String>, u32) {
    let marker = s(input, "Marker").map(str::to_string);
    let max = int(input, "MaxItems")
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=1000).contains(n))
        .unwrap_or(DEFAULT_MAX_ITEMS);
    (marker, max)
}

/// Adds `IsTruncated` and `Marker` to a list output.
pub fn paged(mut out: Value, truncated: bool, last_key: Option<&str>) -> Value {
    out["IsTruncated"] = Value::Bool(truncated);
    if truncated {
        if let Some(k) = last_key {
            out["Marker"] = Value::String(k.to_string());
        }
    }
    out
}

/// Pages an in-memory sorted list of names by `Marker`/`MaxItems`.
pub fn page_names(names: Vec<String>, input: &Value) -> (Vec<String>, bool) {
    let (marker, max) = page_args(input);
    let mut items: Vec<String> = names
        .into_iter()
        .filter(|n| marker.as_deref().is_none_or(|m| n.as_str() > m))
        .collect();
    let truncated = items.len() > max as usize;
    items.truncate(max as usize);
    (items, truncated)
}

/// AWS's encoding of policy documents in IAM responses (RFC 3986 percent-encoding).
const DOC_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A policy document as IAM returns it: URL-encoded.
pub fn url_encode(doc: &str) -> String {
    utf8_percent_encode(doc, DOC_ENCODE).to_string()
}

/// A document's size as AWS counts it against the limits: whitespace excluded.
pub fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// Parses and validates a document; `MalformedPolicyDocument` with the problems otherwise.
pub fn parse_policy(doc: &str, kind: PolicyKind) -> Result<Policy, ServiceError> {
    Policy::parse(doc, kind).map_err(|e| RoleError::MalformedPolicyDocument(e.to_string()).into())
}

/// Maps a store error to `NoSuchEntity`/`EntityAlreadyExists` with AWS's messages.
pub fn store_err(err: StoreError, what: &str) -> ServiceError {
    match err {
        StoreError::NotFound(_) => {
            RoleError::NoSuchEntity(format!("The {what} cannot be found.")).into()
        }
        StoreError::AlreadyExists(_) => {
            RoleError::EntityAlreadyExists(format!("{what} already exists.")).into()
        }
        other => other.into(),
    }
}

/// JSON text of a document.
pub fn to_doc<T: serde::Serialize>(doc: &T) -> Result<String, ServiceError> {
    serde_json::to_string(doc).map_err(|err| {
        tracing::error!(error = %err, "document does not serialize");
        ServiceError::internal()
    })
}

/// A stored document.
pub fn from_doc<T: serde::de::DeserializeOwned>(e: &Entity) -> Result<T, ServiceError> {
    serde_json::from_str(&e.doc).map_err(|err| {
        tracing::error!(error = %err, id = %e.id, "stored document is unreadable");
        ServiceError::internal()
    })
}

/// The path of a request (`/` when absent), checked as AWS does.
pub fn path_in(input: &Value, member: &str) -> Result<String, ServiceError> {
    let path = s(input, member).unwrap_or("/");
    if !path.starts_with('/') || !path.ends_with('/') || path.contains("//") {
        return Err(RoleError::ValidationError(format!(
            "The specified value for {} is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
            lower_first(member)
        ))
        .into());
    }
    Ok(path.to_string())
}

/// Loads a role by name.
pub async fn load_role(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
) -> Result<(Entity, RoleDoc), ServiceError> {
    match db
        .entities()
        .get(account, model::ROLE, &model::name_key(name))
        .await?
    {
        Some(e) => {
            let doc = from_doc(&e)?;
            Ok((e, doc))
        }
        None => Err(no_such_role(name)),
    }
}

/// AWS's error for a missing role.
pub fn no_such_role(name: &str) -> ServiceError {
    RoleError::NoSuchEntity(format!("The role with name {name} cannot be found.")).into()
}

/// Writes a changed role back.
pub async fn save_role(
    db: &mut Db<'_>,
    mut e: Entity,
    doc: &RoleDoc,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    e.doc = to_doc(doc)?;
    e.updated_at = now;
    let key = e.name_key.clone();
    db.entities()
        .update(&key, &e)
        .await
        .map_err(|err| store_err(err, "role"))
}

/// The `Role` structure of IAM's responses; `full` adds what only `GetRole` returns.
pub fn role_json(e: &Entity, doc: &RoleDoc, full: bool) -> Value {
    let mut v = json!({
        "Path": e.path,
        "RoleName": e.name,
        "RoleId": e.id,
        "Arn": e.arn,
        "CreateDate": ts(e.created_at),
        "AssumeRolePolicyDocument": url_encode(&doc.assume_role_policy),
        "MaxSessionDuration": doc.max_session_duration,
    });
    if let Some(d) = &doc.description {
        v["Description"] = json!(d);
    }
    if full {
        if let Some(b) = &doc.permissions_boundary {
            v["PermissionsBoundary"] = json!({
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": b,
            });
        }
        if !doc.tags.is_empty() {
            v["Tags"] = tags_json(&doc.tags);
        }
        let mut last = json!({});
        if let Some(l) = &doc.last_used {
            last = json!({"LastUsedDate": ts(l.date), "Region": l.region});
        }
        v["RoleLastUsed"] = last;
    }
    v
}

/// The parts of a role ARN: account, path, name.
pub fn parse_role_arn(arn: &str) -> Option<(String, String, String)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, res) = rest.split_once(':')?;
    let res = res.strip_prefix("role/")?;
    let (path, name) = match res.rfind('/') {
        Some(i) => (format!("/{}", &res[..=i]), &res[i + 1..]),
        None => ("/".to_string(), res),
    };
    if account.is_empty() || name.is_empty() {
        return None;
    }
    Some((account.to_string(), path, name.to_string()))
}

/// The parts of a managed policy ARN: account (`aws` for AWS-managed), name.
pub fn parse_policy_arn(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, res) = rest.split_once(':')?;
    let res = res.strip_prefix("policy/")?;
    let name = res.rsplit('/').next()?;
    if account.is_empty() || name.is_empty() {
        return None;
    }
    Some((account.to_string(), name.to_string()))
}

/// The default document of a managed policy, by ARN.
pub async fn managed_policy_document(
    db: &mut Db<'_>,
    arn: &str,
) -> Result<Option<(Entity, model::PolicyDoc)>, ServiceError> {
    let Some((account, name)) = parse_policy_arn(arn) else {
        return Ok(None);
    };
    let Some(e) = db
        .entities()
        .get(&account, model::POLICY, &model::name_key(&name))
        .await?
    else {
        return Ok(None);
    };
    if e.arn != arn {
        return Ok(None);
    }
    let doc: model::PolicyDoc = from_doc(&e)?;
    Ok(Some((e, doc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_url_encoded_like_aws() {
        assert_eq!(
            url_encode(r#"{"Version": "2012-10-17"}"#),
            "%7B%22Version%22%3A%20%222012-10-17%22%7D"
        );
    }

    #[test]
    fn size_excludes_whitespace() {
        assert_eq!(policy_size("{ \"a\" :\n 1 }"), 7);
    }

    #[test]
    fn role_arns_split_into_parts() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/a/b/R"),
            Some(("123456789012".into(), "/a/b/".into(), "R".into()))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/R"),
            Some(("123456789012".into(), "/".into(), "R".into()))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/R"), None);
        assert_eq!(
            parse_policy_arn("arn:aws:iam::aws:policy/job/ReadOnly"),
            Some(("aws".into(), "ReadOnly".into()))
        );
    }

    #[test]
    fn tags_reject_duplicates_and_merge() {
        let dup = json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]});
        assert_eq!(tags_in(&dup).unwrap_err().code, "InvalidInput");
        let mut t = tags_in(&json!({"Tags": [{"Key": "a", "Value": "1"}]})).unwrap();
        merge_tags(
            &mut t,
            vec![Tag {
                key: "A".into(),
                value: "2".into(),
            }],
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].value, "2");
        remove_tags(&mut t, &["a".into()]);
        assert!(t.is_empty());
    }

    #[test]
    fn paths_must_be_slashed() {
        assert!(path_in(&json!({"Path": "/a/"}), "Path").is_ok());
        assert!(path_in(&json!({"Path": "a/"}), "Path").is_err());
        assert_eq!(path_in(&json!({}), "Path").unwrap(), "/");
    }
}
