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
use serde_json::{json, Value};

use crate::{
    acl,
    error::{S3Error, S3Result},
    input::{bucket_name, opt_nonempty},
    names::{bucket_arn, object_arn},
    repo::{self, Bucket, Object},
    Op,
};

fn one(key: &str, value: impl Into<String>) -> ContextEntry {
    (key.to_string(), vec![value.into()])
}

/// The bucket as a resource: its ARN, owner, and its policy together with the grants of its
/// ACLs (the bucket's, and `object`'s when the request reads or changes one), all in the
/// resource-based layer of the one authorizer. Under `RestrictPublicBuckets` a public policy
/// grants nothing outside the owner's account; under `IgnorePublicAcls` public grants are left
/// out; with ACLs disabled no grant takes part.
fn bucket_resource(
    bucket: &Bucket,
    arn: String,
    object: Option<(&str, &Object)>,
    caller: &str,
) -> ResourceRef {
    let grants = acl_statements(bucket, object);
    let restricted = crate::public_access::restricts_policy(bucket);
    let name = format!("bucket policy of {}", bucket.name());
    let policy = if grants.is_empty() {
        bucket.doc.policy.as_ref().map(|document| ResourcePolicy {
            name,
            document: document.clone(),
            required: false,
            kind: PolicyKind::Resource,
            account_only: restricted,
        })
    } else {
        // The policy and the grants are one layer; the policy's part is dropped here for a
        // caller outside the account when it is restricted, since the grants are not.
        let policy = bucket
            .doc
            .policy
            .as_deref()
            .filter(|_| !restricted || caller == bucket.owner());
        Some(ResourcePolicy {
            name: format!("{name} and its ACLs"),
            document: merged(policy, grants),
            required: false,
            kind: PolicyKind::Resource,
            account_only: false,
        })
    };
    ResourceRef {
        arn,
        account: bucket.owner().to_string(),
        policy,
    }
}

/// The policy statements the bucket's ACL and `object`'s stand for (none with ACLs disabled).
fn acl_statements(bucket: &Bucket, object: Option<(&str, &Object)>) -> Vec<Value> {
    if !bucket.doc.acls_enabled() {
        return Vec::new();
    }
    let ignore = crate::public_access::effective(bucket).ignore_public_acls;
    let mut out = Vec::new();
    if let Some(acl) = &bucket.doc.acl {
        out.extend(acl::statements(
            bucket.partition(),
            acl,
            bucket.name(),
            None,
            bucket.owner(),
            ignore,
        ));
    }
    if let Some((key, o)) = object {
        let owner = crate::ownership::object_owner(bucket, o);
        let own = acl::Acl::private(owner);
        let acl = o.doc.acl.as_ref().unwrap_or(&own);
        out.extend(acl::statements(
            bucket.partition(),
            acl,
            bucket.name(),
            Some(key),
            bucket.owner(),
            ignore,
        ));
    }
    out
}

/// One policy document of the bucket policy's statements (in its `Version`) and `grants`.
fn merged(policy: Option<&str>, grants: Vec<Value>) -> String {
    let parsed: Option<Value> = policy.and_then(|p| serde_json::from_str(p).ok());
    let version = parsed
        .as_ref()
        .and_then(|p| p.get("Version"))
        .cloned()
        .unwrap_or_else(|| json!("2012-10-17"));
    let mut statements = match parsed.as_ref().and_then(|p| p.get("Statement")) {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements.extend(grants);
    json!({ "Version": version, "Statement": statements }).to_string()
}

/// A request on the bucket itself by a caller of account `caller`.
pub fn bucket_request(
    action: &str,
    bucket: &Bucket,
    caller: &str,
    context: Vec<ContextEntry>,
) -> AuthzRequest {
    AuthzRequest {
        action: action.to_string(),
        resources: vec![bucket_resource(
            bucket,
            bucket_arn(bucket.partition(), bucket.name()),
            None,
            caller,
        )],
        context,
        always_allowed: false,
    }
}

/// A request on one object of the bucket (`object`: its current state, when the request reads
/// or changes it) by a caller of account `caller`.
pub fn object_request(
    action: &str,
    bucket: &Bucket,
    key: &str,
    object: Option<&Object>,
    caller: &str,
    context: Vec<ContextEntry>,
) -> AuthzRequest {
    AuthzRequest {
        action: action.to_string(),
        resources: vec![bucket_resource(
            bucket,
            object_arn(bucket.partition(), bucket.name(), key),
            object.map(|o| (key, o)),
            caller,
        )],
        context,
        always_allowed: false,
    }
}

/// AWS: the root user of the bucket owner's account can always get, put and delete the
/// bucket policy, even when the policy denies it (only SCPs, and a root session's task
/// policy, still bind it), so that an owner cannot lock itself out of its bucket.
fn owner_root_policy_call(op: Op, ctx: &CallContext, bucket: &Bucket) -> bool {
    matches!(
        op,
        Op::GetBucketPolicy | Op::PutBucketPolicy | Op::DeleteBucketPolicy
    ) && ctx.principal.kind == rampart_kit::principal::PrincipalKind::Root
        && ctx.principal.account_id == bucket.owner()
}

/// The IAM action of an operation on a bucket or object (`None` for the operations with their
/// own question).
pub fn action(op: Op) -> Option<&'static str> {
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
        Op::PutBucketOwnershipControls | Op::DeleteBucketOwnershipControls => {
            "s3:PutBucketOwnershipControls"
        }
        Op::GetBucketOwnershipControls => "s3:GetBucketOwnershipControls",
        Op::GetBucketAcl => "s3:GetBucketAcl",
        Op::PutBucketAcl => "s3:PutBucketAcl",
        Op::GetObjectAcl => "s3:GetObjectAcl",
        Op::PutObjectAcl => "s3:PutObjectAcl",
        Op::PutObjectLockConfiguration => "s3:PutBucketObjectLockConfiguration",
        Op::GetObjectLockConfiguration => "s3:GetBucketObjectLockConfiguration",
        Op::PutObjectRetention => "s3:PutObjectRetention",
        Op::GetObjectRetention => "s3:GetObjectRetention",
        Op::PutObjectLegalHold => "s3:PutObjectLegalHold",
        Op::GetObjectLegalHold => "s3:GetObjectLegalHold",
        _ => return None,
    })
}

/// Whether an operation acts on an object (its ARN names the key).
pub fn on_object(op: Op) -> bool {
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
            | Op::GetObjectAcl
            | Op::PutObjectAcl
            | Op::PutObjectRetention
            | Op::GetObjectRetention
            | Op::PutObjectLegalHold
            | Op::GetObjectLegalHold
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
fn existing_tag_keys(found: Option<&Object>) -> Vec<ContextEntry> {
    found
        .map(|o| {
            o.doc
                .tags
                .iter()
                .map(|(k, v)| one(&format!("s3:ExistingObjectTag/{k}"), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The object (or version) a call reads or changes, when it exists.
async fn existing(
    bucket: &Bucket,
    key: &str,
    version: Option<&str>,
    store: &Store,
) -> S3Result<Option<Object>> {
    let mut db = Db::Read(store);
    match version {
        None => repo::find_object(&mut db, bucket, key).await,
        // A malformed version id is the handler's to answer.
        Some(v) => Ok(crate::versioning::find(&mut db, bucket, key, v)
            .await
            .ok()
            .flatten()
            .map(|(o, _)| o)),
    }
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
                AuthzRequest::on(
                    "s3:CreateBucket",
                    bucket_arn(ctx.partition(), name),
                    account,
                )
                .into(),
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
        let mut request = bucket_request("s3:DeleteObject", &bucket, account, Vec::new());
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
        let mut request = bucket_request(action, &bucket, account, keys);
        if owner_root_policy_call(op, ctx, &bucket) {
            for r in &mut request.resources {
                r.policy = None;
            }
        }
        return Ok(Some(request.into()));
    }
    let key = crate::input::key(input)?;
    let mut keys = match op {
        Op::PutObject | Op::CreateMultipartUpload | Op::CopyObject => write_keys(input),
        _ => Vec::new(),
    };
    let version = opt_nonempty(input, "VersionId");
    // The object a call reads or changes: its tags are condition keys, its ACL grants.
    let found = if matches!(
        op,
        Op::GetObject
            | Op::HeadObject
            | Op::PutObjectTagging
            | Op::GetObjectTagging
            | Op::DeleteObjectTagging
            | Op::GetObjectAcl
            | Op::PutObjectAcl
    ) {
        existing(&bucket, key, version, store).await?
    } else {
        None
    };
    if !matches!(op, Op::GetObjectAcl | Op::PutObjectAcl) {
        keys.extend(existing_tag_keys(found.as_ref()));
    }
    let action = match (op, version) {
        (Op::GetObject | Op::HeadObject, Some(_)) => "s3:GetObjectVersion",
        (Op::DeleteObject, Some(_)) => "s3:DeleteObjectVersion",
        (Op::GetObjectTagging, Some(_)) => "s3:GetObjectVersionTagging",
        (Op::GetObjectAcl, Some(_)) => "s3:GetObjectVersionAcl",
        (Op::PutObjectAcl, Some(_)) => "s3:PutObjectVersionAcl",
        _ => action,
    };
    if let Some(v) = version {
        keys.push(one("s3:VersionId", v));
    }
    let mut requests = vec![object_request(
        action,
        &bucket,
        key,
        found.as_ref(),
        account,
        keys,
    )];
    // A write that locks its new version needs the permissions to lock it.
    if matches!(
        op,
        Op::PutObject | Op::CopyObject | Op::CreateMultipartUpload
    ) {
        for (member, lock_action) in [
            ("ObjectLockMode", "s3:PutObjectRetention"),
            ("ObjectLockLegalHoldStatus", "s3:PutObjectLegalHold"),
        ] {
            if opt_nonempty(input, member).is_some() {
                requests.push(object_request(
                    lock_action,
                    &bucket,
                    key,
                    None,
                    account,
                    Vec::new(),
                ));
            }
        }
    }
    if matches!(op, Op::CopyObject | Op::UploadPartCopy) {
        if let Some((src_bucket, src_key)) = copy_source(input) {
            if let Some(source) = repo::find_bucket(&mut Db::Read(store), &src_bucket).await? {
                let src = existing(&source, &src_key, None, store).await?;
                let tags = existing_tag_keys(src.as_ref());
                requests.push(object_request(
                    "s3:GetObject",
                    &source,
                    &src_key,
                    src.as_ref(),
                    account,
                    tags,
                ));
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
