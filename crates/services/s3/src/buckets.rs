//! Buckets: `CreateBucket`, `DeleteBucket`, `HeadBucket`, `ListBuckets`, `GetBucketLocation`,
//! and bucket tags.
//!
//! A bucket lives in the region of the endpoint it was created through (the region the request
//! was signed for); `LocationConstraint` must name that region, as on AWS's regional
//! endpoints, and us-east-1 takes none.

use std::collections::BTreeMap;

use rampart_kit::{context::CallContext, db::Db, json_field::SetField, page};
use serde_json::{json, Value};

use crate::{
    error::{S3Error, S3Result},
    input::{bucket_name, opt_nonempty},
    names::check_bucket_name,
    repo::{self, BucketDoc},
};

/// The most buckets an account may own (AWS's default quota, since 2024).
pub const MAX_BUCKETS: i64 = 10_000;

/// The default page of `ListBuckets` with `MaxBuckets` (and its upper limit).
const MAX_LIST: u32 = 10_000;

/// us-east-1, whose buckets have no `LocationConstraint`.
const US_EAST_1: &str = "us-east-1";

/// The owner element of listings: the account's canonical user id.
pub fn owner(account: &str) -> Value {
    crate::acl::owner(account)
}

/// `CreateBucket`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let name = bucket_name(input)?;
    check_bucket_name(name)?;
    let constraint = input
        .pointer("/CreateBucketConfiguration/LocationConstraint")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    check_location(constraint, &ctx.region)?;
    let account = &ctx.principal.account_id;
    if let Some(existing) = repo::find_bucket(&mut db, name).await? {
        if existing.owner() != account {
            return Err(S3Error::BucketAlreadyExists(
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.".into(),
            ));
        }
        // us-east-1 answers a repeated create by the owner with success (AWS's legacy rule).
        if existing.doc.region == US_EAST_1 && ctx.region == US_EAST_1 {
            return Ok(json!({ "Location": format!("/{name}") }));
        }
        return Err(S3Error::BucketAlreadyOwnedByYou(
            "Your previous request to create the named bucket succeeded and you already own it."
                .into(),
        ));
    }
    if db.entities().count(account, repo::BUCKET).await? >= MAX_BUCKETS {
        return Err(S3Error::TooManyBuckets(
            "You have attempted to create more buckets than allowed".into(),
        ));
    }
    // AWS turns every Block Public Access setting on for a new bucket and disables its ACLs
    // (since April 2023).
    let ownership = opt_nonempty(input, "ObjectOwnership")
        .map(crate::ownership::check_ownership)
        .transpose()?
        .unwrap_or(crate::ownership::BUCKET_OWNER_ENFORCED);
    let mut doc = BucketDoc {
        region: ctx.region.clone(),
        public_access_block: Some(crate::public_access::PublicAccessBlock::ALL),
        ownership: Some(ownership.to_string()),
        ..BucketDoc::default()
    };
    if input
        .get("ObjectLockEnabledForBucket")
        .and_then(Value::as_bool)
        == Some(true)
    {
        crate::object_lock::enable_at_create(&mut doc);
    }
    let Some(mut bucket) = repo::create_bucket(&mut db, account, name, &doc, ctx.now).await? else {
        return Err(S3Error::BucketAlreadyExists(
            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.".into(),
        ));
    };
    // The new bucket's ACL: only its account's BlockPublicAcls applies (the bucket's own
    // settings follow its creation).
    bucket.doc.public_access_block = None;
    if let Some(acl) = crate::ownership::bucket_acl_at_create(input, &bucket, &mut db).await? {
        bucket.doc.acl = Some(acl);
        bucket.doc.public_access_block = Some(crate::public_access::PublicAccessBlock::ALL);
        repo::save_bucket(&mut db, bucket, ctx.now).await?;
    }
    Ok(json!({ "Location": format!("/{name}") }))
}

/// A `LocationConstraint` must name the endpoint's region; us-east-1 takes none.
fn check_location(constraint: Option<&str>, region: &str) -> S3Result<()> {
    match constraint {
        None if region == US_EAST_1 => Ok(()),
        None => Err(S3Error::IllegalLocationConstraintException(
            "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.".into(),
        )),
        Some(US_EAST_1) if region == US_EAST_1 => Err(S3Error::InvalidLocationConstraint(
            "The specified location-constraint is not valid".into(),
        )),
        Some(c) if c == region => Ok(()),
        Some(c) => Err(S3Error::IllegalLocationConstraintException(format!(
            "The {c} location constraint is incompatible for the region specific endpoint this request was sent to."
        ))),
    }
}

/// `DeleteBucket`: only an empty bucket.
pub async fn delete(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if repo::has_objects(&mut db, &bucket).await? {
        return Err(S3Error::BucketNotEmpty(
            "The bucket you tried to delete is not empty".into(),
        ));
    }
    crate::lifecycle::unindex(&mut db, bucket.name()).await?;
    repo::delete_bucket(&mut db, &bucket).await?;
    Ok(json!({}))
}

/// `HeadBucket`.
pub async fn head(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    Ok(json!({ "BucketRegion": bucket.doc.region }))
}

/// `GetBucketLocation`: no constraint for us-east-1.
pub async fn location(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if bucket.doc.region == US_EAST_1 {
        return Ok(json!({}));
    }
    Ok(json!({ "LocationConstraint": bucket.doc.region }))
}

/// `ListBuckets`: the caller's account's buckets in name order, filtered by `Prefix` and
/// `BucketRegion`, paged with `MaxBuckets`/`ContinuationToken` when asked.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let max = match input.get("MaxBuckets").and_then(Value::as_i64) {
        None => None,
        Some(n) if (1..=i64::from(MAX_LIST)).contains(&n) => Some(n as u32),
        Some(_) => {
            return Err(S3Error::argument(
                "The maxBuckets value must be between 1 and 10000",
            ))
        }
    };
    let prefix = opt_nonempty(input, "Prefix").unwrap_or("");
    let region = opt_nonempty(input, "BucketRegion");
    let mut after = match opt_nonempty(input, "ContinuationToken") {
        Some(token) => Some(
            page::decode(token)
                .ok_or_else(|| S3Error::argument("The continuation token provided is incorrect"))?,
        ),
        None => None,
    };
    let account = &ctx.principal.account_id;
    let limit = max.unwrap_or(MAX_LIST);
    let mut buckets = Vec::new();
    let mut next = None;
    'pages: loop {
        let (page, truncated) =
            repo::list_buckets(&mut db, account, after.as_deref(), limit).await?;
        for b in &page {
            after = Some(b.name().to_string());
            if !b.name().starts_with(prefix) || region.is_some_and(|r| r != b.doc.region) {
                continue;
            }
            if buckets.len() as u32 == limit {
                next = max.map(|_| page::encode(&buckets_last(&buckets)));
                break 'pages;
            }
            buckets.push(json!({
                "Name": b.name(),
                "CreationDate": b.entity.created_at.timestamp(),
                "BucketRegion": b.doc.region,
            }));
        }
        if !truncated {
            break;
        }
    }
    let mut out = json!({ "Buckets": buckets, "Owner": owner(account) });
    if let Some(token) = next {
        out.set_field("ContinuationToken", json!(token));
    }
    if !prefix.is_empty() {
        out.set_field("Prefix", json!(prefix));
    }
    Ok(out)
}

fn buckets_last(buckets: &[Value]) -> String {
    buckets
        .last()
        .and_then(|b| b["Name"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The `TagSet` of a `Tagging` input as a map; S3 refuses duplicate keys and more than 50 tags.
pub fn tag_set(input: &Value) -> S3Result<BTreeMap<String, String>> {
    let tags = input
        .pointer("/Tagging/TagSet")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if tags.len() > 50 {
        return Err(S3Error::InvalidTag(
            "Object tags cannot be greater than 50".into(),
        ));
    }
    let mut out = BTreeMap::new();
    for t in tags {
        let k = t
            .get("Key")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let v = t
            .get("Value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(S3Error::InvalidTag(
                "The TagKey you have provided is invalid".into(),
            ));
        }
        if out.insert(k, v).is_some() {
            return Err(S3Error::InvalidTag(
                "Cannot provide multiple Tags with the same key".into(),
            ));
        }
    }
    Ok(out)
}

/// A tag map as a `TagSet`.
pub fn tag_list(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    )
}

/// `PutBucketTagging`.
pub async fn put_tagging(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    bucket.doc.tags = tag_set(input)?;
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    Ok(json!({}))
}

/// `GetBucketTagging`: `NoSuchTagSet` when the bucket has none.
pub async fn get_tagging(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if bucket.doc.tags.is_empty() {
        return Err(S3Error::NoSuchTagSet("The TagSet does not exist".into()));
    }
    Ok(json!({ "TagSet": tag_list(&bucket.doc.tags) }))
}

/// `DeleteBucketTagging`.
pub async fn delete_tagging(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    bucket.doc.tags.clear();
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    Ok(json!({}))
}

/// The default encryption every bucket has unless set otherwise: SSE-S3.
fn default_encryption() -> Value {
    json!({ "Rules": [{
        "ApplyServerSideEncryptionByDefault": { "SSEAlgorithm": crate::sse::AES256 },
        "BucketKeyEnabled": false,
    }] })
}

/// `PutBucketEncryption`: one rule, `AES256` or `aws:kms` (with an optional key).
pub async fn put_encryption(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let config = input
        .get("ServerSideEncryptionConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let rules = config.get("Rules").and_then(Value::as_array);
    let rule = match rules.map(Vec::as_slice) {
        Some([rule]) => rule,
        _ => {
            return Err(S3Error::MalformedXML(
                "The XML you provided was not well-formed or did not validate against our published schema".into(),
            ))
        }
    };
    let default = rule.get("ApplyServerSideEncryptionByDefault");
    match default.and_then(|d| d.get("SSEAlgorithm")).and_then(Value::as_str) {
        Some(crate::sse::AES256) => {
            if default.and_then(|d| d.get("KMSMasterKeyID")).is_some() {
                return Err(S3Error::argument(
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
                ));
            }
        }
        Some(crate::sse::AWS_KMS) => {}
        _ => return Err(S3Error::MalformedXML(
            "The XML you provided was not well-formed or did not validate against our published schema".into(),
        )),
    }
    bucket.doc.encryption = Some(config);
    repo::save_bucket(&mut db, bucket, ctx.now).await?;
    Ok(json!({}))
}

/// `GetBucketEncryption`: the bucket's rule, SSE-S3 when none was set (as AWS answers for
/// every bucket since 2023).
pub async fn get_encryption(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let config = bucket.doc.encryption.unwrap_or_else(default_encryption);
    Ok(json!({ "ServerSideEncryptionConfiguration": config }))
}

/// `DeleteBucketEncryption`: back to SSE-S3.
pub async fn delete_encryption(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> S3Result<Value> {
    let mut bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    if bucket.doc.encryption.take().is_some() {
        repo::save_bucket(&mut db, bucket, ctx.now).await?;
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_constraints_follow_the_endpoint_region() {
        assert!(check_location(None, "us-east-1").is_ok());
        assert!(check_location(Some("eu-west-1"), "eu-west-1").is_ok());
        assert!(matches!(
            check_location(None, "eu-west-1"),
            Err(S3Error::IllegalLocationConstraintException(_))
        ));
        assert!(matches!(
            check_location(Some("us-east-1"), "us-east-1"),
            Err(S3Error::InvalidLocationConstraint(_))
        ));
        assert!(matches!(
            check_location(Some("eu-west-1"), "us-west-2"),
            Err(S3Error::IllegalLocationConstraintException(_))
        ));
    }
}
