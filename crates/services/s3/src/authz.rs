//! The authorization entries of S3: each operation's IAM action (`s3:GetObject` for
//! `HeadObject`, `s3:ListBucket` for `ListObjectsV2`, ...) on the bucket or object ARN, with the
//! bucket's policy as the resource policy and S3's condition keys (`s3:prefix`,
//! `s3:delimiter`, `s3:max-keys`, `s3:ExistingObjectTag/*`, `s3:RequestObjectTag/*`,
//! `s3:x-amz-content-sha256`-free keys of the request, ...).
//!
//! The bucket's account owns the resource: a caller of another account needs the bucket
//! policy and its own policies to allow. A bucket that does not exist answers `NoSuchBucket`
//! before any decision, as S3 does.

use rampart_kit::{
    authz::{AuthzQuestion, AuthzRequest, ResourcePolicy, ResourceRef},
    context::{CallContext, ContextEntry},
    db::Db,
};
use rampart_policy::PolicyKind;
use rampart_store::Store;
use serde_json::Value;

use crate::{
    error::{S3Error, S3Result},
    input::{bucket_name, opt_nonempty},
    names::{bucket_arn, object_arn},
    repo::{self, Bucket},
    Op,
};

fn one(key: &str, value: impl Into<String>) -> ContextEntry {
    (key.to_string(), vec![value.into()])
}

/// The bucket as a resource: its ARN, owner and policy (which grants only within the
/// owner's account under `RestrictPublicBuckets`).
fn bucket_resource(bucket: &Bucket, arn: String) -> ResourceRef {
    ResourceRef {
        arn,
        account: bucket.owner().to_string(),
        policy: bucket.doc.policy.as_ref().map(|document| ResourcePolicy {
            name: format!("bucket policy of {}", bucket.name()),
            document: document.clone(),
            required: false,
            kind: PolicyKind::Resource,
            account_only: crate::public_access::restricts_policy(bucket),
        }),
    }
}

/// A request on the bucket itself.
pub fn bucket_request(action: &str, bucket: &Bucket, context: Vec<ContextEntry>) -> AuthzRequest {
    AuthzRequest {
        action: action.to_string(),
        resources: vec![bucket_resource(bucket, bucket_arn(bucket.name()))],
        context,
        always_allowed: false,
    }
}

/// A request on one object of the bucket.
pub fn object_request(
    action: &str,
    bucket: &Bucket,
    key: &str,
    context: Vec<ContextEntry>,
) -> AuthzRequest {
    AuthzRequest {
        action: action.to_string(),
        resources: vec![bucket_resource(bucket, object_arn(bucket.name(), key))],
        context,
        always_allowed: false,
    }
}

/// The IAM action of an operation on a bucket or object (`None` for the operations with their
/// own question).
fn action(op: Op) -> Option<&'static str> {
    Some(match op {
        Op::DeleteBucket => "s3:DeleteBucket",
        Op::HeadBucket | Op::ListObjects | Op::ListObjectsV2 => "s3:ListBucket",
        Op::GetBucketLocation => "s3:GetBucketLocation",
        Op::PutBucketPolicy => "s3:PutBucketPolicy",
        Op::GetBucketPolicy => "s3:GetBucketPolicy",
        Op::DeleteBucketPolicy => "s3:DeleteBucketPolicy",
        Op::GetBucketPolicyStatus => "s3:GetBucketPolicyStatus",
        Op::PutPublicAccessBlock | Op::DeletePublicAccessBlock => "s3:PutBucketPublicAccessBlock",
        Op::GetPublicAccessBlock => "s3:GetBucketPublicAccessBlock",
        Op::PutBucketTagging | Op::DeleteBucketTagging => "s3:PutBucketTagging",
        Op::GetBucketTagging => "s3:GetBucketTagging",
        Op::PutBucketEncryption | Op::DeleteBucketEncryption => "s3:PutEncryptionConfiguration",
        Op::GetBucketEncryption => "s3:GetEncryptionConfiguration",
        Op::PutBucketVersioning => "s3:PutBucketVersioning",
        Op::GetBucketVersioning => "s3:GetBucketVersioning",
        Op::ListObjectVersions => "s3:ListBucketVersions",
        Op::ListMultipartUploads => "s3:ListBucketMultipartUploads",
        Op::PutBucketLifecycleConfiguration | Op::DeleteBucketLifecycle => {
            "s3:PutLifecycleConfiguration"
        }
        Op::GetBucketLifecycleConfiguration => "s3:GetLifecycleConfiguration",
        Op::PutObject
        | Op::CreateMultipartUpload
        | Op::UploadPart
        | Op::CompleteMultipartUpload
        | Op::CopyObject
        | Op::UploadPartCopy => "s3:PutObject",
        Op::GetObject | Op::HeadObject => "s3:GetObject",
        Op::DeleteObject => "s3:DeleteObject",
        Op::AbortMultipartUpload => "s3:AbortMultipartUpload",
        Op::ListParts => "s3:ListMultipartUploadParts",
        Op::PutObjectTagging => "s3:PutObjectTagging",
        Op::GetObjectTagging => "s3:GetObjectTagging",
        Op::DeleteObjectTagging => "s3:DeleteObjectTagging",
        _ => return None,
    })
}

/// Whether an operation acts on an object (its ARN names the key).
fn on_object(op: Op) -> bool {
    matches!(
        op,
        Op::PutObject
            | Op::CreateMultipartUpload
            | Op::UploadPart
            | Op::CompleteMultipartUpload
            | Op::CopyObject
            | Op::UploadPartCopy
            | Op::GetObject
            | Op::HeadObject
            | Op::DeleteObject
            | Op::AbortMultipartUpload
            | Op::ListParts
            | Op::PutObjectTagging
            | Op::GetObjectTagging
            | Op::DeleteObjectTagging
    )
}

/// The condition keys of a listing.
fn list_keys(input: &Value) -> Vec<ContextEntry> {
    let mut keys = Vec::new();
    for (member, key) in [("Prefix", "s3:prefix"), ("Delimiter", "s3:delimiter")] {
        if let Some(v) = opt_nonempty(input, member) {
            keys.push(one(key, v));
        }
    }
    if let Some(n) = input.get("MaxKeys").and_then(Value::as_i64) {
        keys.push(one("s3:max-keys", n.to_string()));
    }
    keys
}

/// The condition keys of a write: the requested tags and the encryption asked for.
fn write_keys(input: &Value) -> Vec<ContextEntry> {
    let mut keys = Vec::new();
    if let Ok(tags) = crate::objects::tags_of_header(input) {
        if !tags.is_empty() {
            keys.push((
                "s3:RequestObjectTagKeys".to_string(),
                tags.keys().cloned().collect(),
            ));
        }
        for (k, v) in tags {
            keys.push(one(&format!("s3:RequestObjectTag/{k}"), v));
        }
    }
    for (member, key) in [
        ("ServerSideEncryption", "s3:x-amz-server-side-encryption"),
        (
            "SSEKMSKeyId",
            "s3:x-amz-server-side-encryption-aws-kms-key-id",
        ),
        ("MetadataDirective", "s3:x-amz-metadata-directive"),
        ("CopySource", "s3:x-amz-copy-source"),
        ("ContentType", "s3:content-type"),
    ] {
        if let Some(v) = opt_nonempty(input, member) {
            keys.push(one(key, v));
        }
    }
    keys
}

/// `s3:ExistingObjectTag/*` of the object a call reads or changes, when it exists.
async fn existing_tag_keys(
    bucket: &Bucket,
    key: &str,
    store: &Store,
) -> S3Result<Vec<ContextEntry>> {
    let found = repo::find_object(&mut Db::Read(store), bucket, key).await?;
    Ok(found
        .map(|o| {
            o.doc
                .tags
                .iter()
                .map(|(k, v)| one(&format!("s3:ExistingObjectTag/{k}"), v.clone()))
                .collect()
        })
        .unwrap_or_default())
}

/// The source of a `CopyObject`/`UploadPartCopy` (`bucket/key`, URL-encoded, an optional
/// leading slash and `?versionId=`), decoded.
pub fn copy_source(input: &Value) -> Option<(String, String)> {
    let raw = opt_nonempty(input, "CopySource")?;
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let raw = raw.split_once("?versionId=").map_or(raw, |(s, _)| s);
    let decoded = percent_decode(raw)?;
    let (bucket, key) = decoded.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_string(), key.to_string()))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The authorization question of an S3 call.
pub async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> S3Result<Option<AuthzQuestion>> {
    let account = &ctx.principal.account_id;
    match op {
        Op::ListBuckets => {
            return Ok(Some(
                AuthzRequest::on_any("s3:ListAllMyBuckets", account).into(),
            ))
        }
        Op::CreateBucket => {
            let name = bucket_name(input)?;
            return Ok(Some(
                AuthzRequest::on("s3:CreateBucket", bucket_arn(name), account).into(),
            ));
        }
        _ => {}
    }
    let bucket = repo::bucket(&mut Db::Read(store), bucket_name(input)?).await?;
    // A bucket lives in one region: a request signed for another is refused before any
    // decision, naming the bucket's region (SDKs then sign again for it), except the call
    // that asks where the bucket is. Unsigned requests name no region.
    let signed = !ctx.principal.is_anonymous();
    if signed && bucket.doc.region != ctx.region && op != Op::GetBucketLocation {
        return Err(S3Error::wrong_region(&ctx.region, &bucket.doc.region));
    }
    if op == Op::DeleteObjects {
        // Each key is authorized by the handler, on its own: the call needs only the bucket.
        let mut request = bucket_request("s3:DeleteObject", &bucket, Vec::new());
        request.always_allowed = true;
        return Ok(Some(request.into()));
    }
    let Some(action) = action(op) else {
        return Ok(None);
    };
    if !on_object(op) {
        let keys = if matches!(
            op,
            Op::ListObjects | Op::ListObjectsV2 | Op::ListObjectVersions
        ) {
            list_keys(input)
        } else {
            Vec::new()
        };
        return Ok(Some(bucket_request(action, &bucket, keys).into()));
    }
    let key = crate::input::key(input)?;
    let mut keys = match op {
        Op::PutObject | Op::CreateMultipartUpload | Op::CopyObject => write_keys(input),
        _ => Vec::new(),
    };
    if matches!(
        op,
        Op::GetObject
            | Op::HeadObject
            | Op::PutObjectTagging
            | Op::GetObjectTagging
            | Op::DeleteObjectTagging
    ) {
        keys.extend(existing_tag_keys(&bucket, key, store).await?);
    }
    let version = opt_nonempty(input, "VersionId");
    let action = match (op, version) {
        (Op::GetObject | Op::HeadObject, Some(_)) => "s3:GetObjectVersion",
        (Op::DeleteObject, Some(_)) => "s3:DeleteObjectVersion",
        (Op::GetObjectTagging, Some(_)) => "s3:GetObjectVersionTagging",
        _ => action,
    };
    if let Some(v) = version {
        keys.push(one("s3:VersionId", v));
    }
    let mut requests = vec![object_request(action, &bucket, key, keys)];
    if matches!(op, Op::CopyObject | Op::UploadPartCopy) {
        if let Some((src_bucket, src_key)) = copy_source(input) {
            if let Some(source) = repo::find_bucket(&mut Db::Read(store), &src_bucket).await? {
                let tags = existing_tag_keys(&source, &src_key, store).await?;
                requests.push(object_request("s3:GetObject", &source, &src_key, tags));
            }
        }
    }
    Ok(Some(AuthzQuestion { requests }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn copy_sources_in_every_form() {
        let s = |v: &str| copy_source(&json!({ "CopySource": v }));
        assert_eq!(s("b/k"), Some(("b".into(), "k".into())));
        assert_eq!(s("/b/dir/k%20x"), Some(("b".into(), "dir/k x".into())));
        assert_eq!(s("b/k?versionId=3"), Some(("b".into(), "k".into())));
        assert_eq!(s("b"), None);
        assert_eq!(s("/b/"), None);
    }

    #[test]
    fn every_object_operation_has_an_action() {
        use rampart_model::ServiceOp;
        for op in Op::all() {
            if on_object(*op) {
                assert!(action(*op).is_some(), "{op:?}");
            }
        }
    }
}
