//! Bucket policies: `PutBucketPolicy` (checked by the policy engine's grammar, S3's own
//! rules and the bucket's `BlockPublicPolicy`), `GetBucketPolicy`, `DeleteBucketPolicy`, `GetBucketPolicyStatus` (public as AWS
//! defines it). The policy takes part in every decision on the bucket and its objects (see
//! [`crate::authz`]).

use rampart_kit::Partition;
use rampart_kit::{context::CallContext, db::Db};
use rampart_policy::{wildcard::Pattern, Policy, PolicyKind};
use serde_json::{json, Value};

use crate::{
    error::{S3Error, S3Result},
    input::{bucket_name, req_str},
    repo,
};

/// The largest bucket policy, in bytes.
const MAX_POLICY_BYTES: usize = 20 * 1024;

fn malformed(message: impl Into<String>) -> S3Error {
    S3Error::MalformedPolicy(message.into())
}

/// Checks a bucket policy: JSON, the policy grammar of a resource policy (a `Principal` in
/// every statement), and resources that are the bucket or its objects.
pub fn validate(partition: Partition, bucket: &str, text: &str) -> S3Result<Policy> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(malformed("Policies must be less than 20 KB"));
    }
    if !text.trim_start().starts_with('{') {
        return Err(malformed(
            "Policies must be valid JSON and the first byte must be '{'",
        ));
    }
    let policy = Policy::parse(text, PolicyKind::Resource).map_err(|e| malformed(e.to_string()))?;
    for s in &policy.statements {
        let Some(resources) = &s.resource else {
            return Err(malformed("Missing required field Resource"));
        };
        for r in &resources.raw {
            if !names_bucket(partition, r, bucket) {
                return Err(malformed("Policy has invalid resource"));
            }
        }
    }
    Ok(policy)
}

/// Whether a Resource entry names this bucket or objects in it (its bucket part may use
/// wildcards).
fn names_bucket(partition: Partition, resource: &str, bucket: &str) -> bool {
    let Some(rest) = partition
        .strip_arn(resource, "s3")
        .and_then(|r| r.strip_prefix("::"))
    else {
        return resource == "*";
    };
    let bucket_part = rest.split_once('/').map_or(rest, |(b, _)| b);
    let pattern = Pattern::new(bucket_part, false);
    pattern.matches(bucket) || (bucket_part.contains('*') && rest.contains('/'))
}

/// `PutBucketPolicy`.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let text = req_str(input, "Policy")?;
    let policy = validate(bucket.partition(), bucket.name(), text)?;
    crate::public_access::check_policy(&bucket, &policy, ctx)?;
    bucket.doc.policy = Some(text.to_string());
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    rampart_kit::entity::bump(&mut db).await?;
    Ok(json!({}))
}

fn no_policy() -> S3Error {
    S3Error::NoSuchBucketPolicy("The bucket policy does not exist".into())
}

/// `GetBucketPolicy`: the text as stored.
pub async fn get(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let policy = bucket.doc.policy.ok_or_else(no_policy)?;
    Ok(json!({ "Policy": policy }))
}

/// `DeleteBucketPolicy` (succeeds when there is none, as S3 does).
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if bucket.doc.policy.take().is_some() {
        repo::save_bucket(&mut db, bucket, ctx.now).await?;
        rampart_kit::entity::bump(&mut db).await?;
    }
    Ok(json!({}))
}

/// `GetBucketPolicyStatus`: whether the policy grants public access.
pub async fn status(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let text = bucket.doc.policy.ok_or_else(no_policy)?;
    let public = Policy::parse(&text, PolicyKind::Resource)
        .map(|p| rampart_policy::public::is_public(&p))
        .unwrap_or(false);
    Ok(json!({ "PolicyStatus": { "IsPublic": public } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(resource: &str, principal: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"{resource}"}}]}}"#
        )
    }

    #[test]
    fn bucket_policies_name_their_bucket_and_a_principal() {
        let p = |r: &str| {
            validate(
                Partition::Aws,
                "docs",
                &policy(r, r#"{"AWS":"111122223333"}"#),
            )
        };
        assert!(p("arn:aws:s3:::docs/*").is_ok());
        assert!(p("arn:aws:s3:::docs").is_ok());
        assert!(p("arn:aws:s3:::do*/*").is_ok());
        assert!(matches!(
            p("arn:aws:s3:::other/*"),
            Err(S3Error::MalformedPolicy(_))
        ));
        let no_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}]}"#;
        assert!(matches!(
            validate(Partition::Aws, "docs", no_principal),
            Err(S3Error::MalformedPolicy(_))
        ));
        assert!(matches!(
            validate(Partition::Aws, "docs", "[]"),
            Err(S3Error::MalformedPolicy(_))
        ));
    }
}
