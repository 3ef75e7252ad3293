//! Where a trail delivers: the bucket must exist and its policy must let CloudTrail write, and
//! a KMS key must exist, be enabled and let CloudTrail make data keys, as AWS checks when a
//! trail is created or updated. Both checks ask the one authorizer the questions the delivery
//! will ask, for the service principal `cloudtrail.amazonaws.com`.

use std::sync::Arc;

use rampart_cloudtrail::CloudTrailError;
use rampart_kit::{
    authz::AuthzQuestion,
    context::{CallContext, SideCalls},
    db::Db,
    error::ServiceError,
    payload::Payload,
    principal::Principal,
};
use rampart_kms as kms;
use rampart_s3 as s3;
use rampart_store::Store;
use serde_json::json;

use crate::model::SERVICE_PRINCIPAL;

/// The context of a call CloudTrail makes itself for the trail `trail_arn` of `account`
/// (delivering its files, or asking whether it may).
pub fn service_context(ctx: &CallContext, account: &str, trail_arn: &str) -> CallContext {
    CallContext {
        principal: Arc::new(Principal::service_for(
            SERVICE_PRINCIPAL,
            account,
            trail_arn,
        )),
        source_ip: std::net::IpAddr::from([0, 0, 0, 0]),
        user_agent: SERVICE_PRINCIPAL.to_string(),
        prepared: None,
        via_service: None,
        side_calls: SideCalls::default(),
        payload: Payload::default(),
        ..ctx.clone()
    }
}

/// The condition keys CloudTrail's writes carry beyond its principal's (`aws:SourceArn`,
/// `aws:SourceAccount`): the canned ACL it asks for (`s3:x-amz-acl`).
pub fn write_keys() -> Vec<(String, Vec<String>)> {
    vec![(
        "s3:x-amz-acl".into(),
        vec!["bucket-owner-full-control".to_string()],
    )]
}

/// The key prefix every file of the trail goes under: `[prefix/]AWSLogs/[o-ORG/]ACCOUNT/`.
pub fn logs_root(prefix: Option<&str>, org: Option<&str>, account: &str) -> String {
    let mut out = String::new();
    if let Some(p) = prefix.filter(|p| !p.is_empty()) {
        out.push_str(p);
        out.push('/');
    }
    out.push_str("AWSLogs/");
    if let Some(org) = org {
        out.push_str(org);
        out.push('/');
    }
    out.push_str(account);
    out.push('/');
    out
}

/// Checks that `bucket` exists and that its policy lets CloudTrail check its ACL and write
/// under the trail's root.
pub async fn check_bucket(
    store: &Store,
    ctx: &CallContext,
    bucket: &str,
    root: &str,
    trail_arn: &str,
) -> Result<(), ServiceError> {
    let found = s3::repo::find_bucket(&mut Db::Read(store), bucket)
        .await
        .map_err(|_| ServiceError::internal())?;
    let Some(found) = found else {
        return Err(CloudTrailError::S3BucketDoesNotExistException(format!(
            "S3 bucket {bucket} does not exist."
        ))
        .into());
    };
    let account = &ctx.principal.account_id;
    let keys = write_keys();
    let svc = service_context(ctx, account, trail_arn);
    let caller = svc.principal.account_id.as_str();
    let prefix = format!("{root}CloudTrail/");
    let question = AuthzQuestion {
        requests: vec![
            s3::authz::bucket_request("s3:GetBucketAcl", &found, caller, keys.clone()),
            s3::authz::object_request("s3:PutObject", &found, &prefix, None, caller, keys),
        ],
    };
    svc.authorizer
        .authorize(&svc, &question)
        .await
        .map_err(|_| {
            CloudTrailError::InsufficientS3BucketPolicyException(format!(
                "Incorrect S3 bucket policy is detected for bucket: {bucket}"
            ))
            .into()
        })
}

/// Resolves `key_id` (id, ARN, alias or alias ARN) to the key's ARN, checking it is enabled
/// and that its policy lets CloudTrail make data keys for the trail.
pub async fn check_kms_key(
    store: &Store,
    ctx: &CallContext,
    key_id: &str,
    trail_arn: &str,
) -> Result<String, ServiceError> {
    if key_id.trim().is_empty() {
        return Err(CloudTrailError::InvalidKmsKeyIdException("Invalid KmsKeyId.".into()).into());
    }
    let key = kms::repo::resolve(&mut Db::Read(store), ctx, key_id)
        .await
        .map_err(|_| {
            CloudTrailError::KmsKeyNotFoundException(format!("KMS key {key_id} not found."))
        })?;
    if key.doc.state != kms::model::KeyState::Enabled {
        return Err(CloudTrailError::KmsKeyDisabledException(format!(
            "KMS key {key_id} is not enabled."
        ))
        .into());
    }
    let svc = service_context(ctx, &ctx.principal.account_id, trail_arn).on_behalf_of("s3");
    let input = json!({
        "KeyId": key.arn(),
        "KeySpec": "AES_256",
        "EncryptionContext": { "aws:cloudtrail:arn": trail_arn },
    });
    let route = kms::route(kms::Op::GenerateDataKey).ok_or_else(ServiceError::internal)?;
    match route.authorize(&input, &svc, store).await? {
        Ok(()) => Ok(key.arn().to_string()),
        Err(_) => Err(CloudTrailError::InsufficientEncryptionPolicyException(
            "Insufficient permissions to access S3 bucket or KMS key.".into(),
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_follows_prefix_and_organization() {
        assert_eq!(
            logs_root(None, None, "111122223333"),
            "AWSLogs/111122223333/"
        );
        assert_eq!(
            logs_root(Some("p/q"), Some("o-abc"), "111122223333"),
            "p/q/AWSLogs/o-abc/111122223333/"
        );
        assert_eq!(logs_root(Some(""), None, "1"), "AWSLogs/1/");
    }
}
