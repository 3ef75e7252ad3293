//! Checks of the KMS, Secrets Manager, S3 and CloudTrail managed rules, over a key's, secret's,
//! bucket's or trail's snapshot. Bucket policies are parsed and judged public by Rampart's
//! policy engine (`rampart_policy::public`), as S3 itself judges them.

use chrono::{DateTime, Utc};
use rampart_policy::{Policy, PolicyKind};
use rampart_s3::acl::{Acl, Grantee, ALL_USERS, AUTHENTICATED_USERS};
use rampart_s3::public_access::PublicAccessBlock;
use serde_json::Value;

use crate::managed::{boolean, int, list, Params, Verdict};
use crate::model::Snapshot;

fn fact_bool(s: &Snapshot, name: &str) -> bool {
    s.facts.get(name).and_then(Value::as_bool) == Some(true)
}

fn fact_str<'a>(s: &'a Snapshot, name: &str) -> Option<&'a str> {
    s.facts.get(name).and_then(Value::as_str)
}

fn fact_time(s: &Snapshot, name: &str) -> Option<DateTime<Utc>> {
    fact_str(s, name)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `CMK_BACKING_KEY_ROTATION_ENABLED`: automatic rotation is on (symmetric keys only).
pub fn key_rotation(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    if !fact_bool(s, "symmetric") {
        return Verdict::not_applicable();
    }
    Verdict::check(
        fact_bool(s, "rotationEnabled"),
        "Automatic key rotation is not enabled.",
    )
}

/// `KMS_CMK_NOT_SCHEDULED_FOR_DELETION`: the key is not pending deletion.
pub fn key_not_deleting(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let ids = list(params, "kmsKeyIds");
    if !ids.is_empty() && !ids.contains(&s.resource_id) {
        return Verdict::not_applicable();
    }
    let state = s.configuration.get("keyState").and_then(Value::as_str);
    Verdict::check(
        state != Some("PendingDeletion"),
        "The key is scheduled for deletion.",
    )
}

/// `SECRETSMANAGER_ROTATION_ENABLED_CHECK`: rotation is on (within the allowed frequency).
pub fn secret_rotation(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if !fact_bool(s, "rotationEnabled") {
        return Verdict::fail("Rotation is not enabled for the secret.");
    }
    let days = s.facts.get("afterDays").and_then(Value::as_i64);
    let max_days = int(params, "maximumAllowedRotationFrequency");
    let max_hours = int(params, "maximumAllowedRotationFrequencyInHours");
    let too_long = match (days, max_days, max_hours) {
        (Some(d), Some(m), _) => d > m,
        (Some(d), None, Some(h)) => d.saturating_mul(24) > h,
        _ => false,
    };
    Verdict::check(!too_long, "The rotation frequency is longer than allowed.")
}

/// `SECRETSMANAGER_USING_CMK`: the secret is encrypted with a customer managed key (one of
/// `kmsKeyArns` when given), not `aws/secretsmanager`.
pub fn secret_cmk(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let key = fact_str(s, "kmsKeyId").filter(|k| !k.ends_with("alias/aws/secretsmanager"));
    let Some(key) = key else {
        return Verdict::fail("The secret is encrypted with the AWS managed key.");
    };
    let allowed = list(params, "kmsKeyArns");
    Verdict::check(
        allowed.is_empty() || allowed.iter().any(|a| a == key),
        "The secret's key is not one of kmsKeyArns.",
    )
}

/// `SECRETSMANAGER_SECRET_PERIODIC_ROTATION`: rotated within `maxDaysSinceRotation` days.
pub fn secret_periodic_rotation(s: &Snapshot, params: &Params, now: DateTime<Utc>) -> Verdict {
    let max = int(params, "maxDaysSinceRotation").unwrap_or(90);
    let last = fact_time(s, "lastRotated");
    Verdict::check(
        last.is_some_and(|t| (now - t).num_days() <= max),
        format!("The secret was not rotated in the last {max} days."),
    )
}

/// `SECRETSMANAGER_SECRET_UNUSED`: accessed (or created) within `unusedForDays` days.
pub fn secret_unused(s: &Snapshot, params: &Params, now: DateTime<Utc>) -> Verdict {
    let max = int(params, "unusedForDays").unwrap_or(90);
    let last = fact_time(s, "lastAccessed").or(s.created);
    Verdict::check(
        last.is_none_or(|t| (now - t).num_days() <= max),
        format!("The secret was not accessed in the last {max} days."),
    )
}

fn block(s: &Snapshot) -> PublicAccessBlock {
    let read = |name: &str| -> PublicAccessBlock {
        s.facts
            .get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or(PublicAccessBlock::NONE)
    };
    read("block").or(read("accountBlock"))
}

/// Whether the bucket's ACL or policy grants everyone one of `permissions`/`actions`.
fn bucket_public(s: &Snapshot, permissions: &[&str], actions: &[&str]) -> Option<String> {
    let pab = block(s);
    if !pab.ignore_public_acls {
        let acl: Option<Acl> = s
            .facts
            .get("acl")
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let public_grant = acl.iter().flat_map(|a| a.grants.iter()).find(|g| {
            matches!(&g.grantee, Grantee::Group { uri } if uri == ALL_USERS || uri == AUTHENTICATED_USERS)
                && permissions.contains(&g.permission.as_str())
        });
        if let Some(g) = public_grant {
            return Some(format!(
                "The bucket ACL grants {} to everyone.",
                g.permission
            ));
        }
    }
    if pab.restrict_public_buckets {
        return None;
    }
    let policy = fact_str(s, "policy").and_then(|t| Policy::parse(t, PolicyKind::Resource).ok())?;
    let public = rampart_policy::public::public_statements(&policy);
    let grants = public
        .iter()
        .filter_map(|i| policy.statements.get(*i))
        .any(|st| actions.iter().any(|a| st.action.matches("s3", a)));
    grants.then(|| "The bucket policy grants public access.".to_string())
}

/// `S3_BUCKET_PUBLIC_READ_PROHIBITED`: neither the ACL nor the policy lets everyone read.
pub fn bucket_public_read(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    match bucket_public(s, &["READ", "FULL_CONTROL"], &["getobject", "listbucket"]) {
        Some(why) => Verdict::fail(why),
        None => Verdict::ok(),
    }
}

/// `S3_BUCKET_PUBLIC_WRITE_PROHIBITED`: neither the ACL nor the policy lets everyone write.
pub fn bucket_public_write(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    match bucket_public(
        s,
        &["WRITE", "WRITE_ACP", "FULL_CONTROL"],
        &["putobject", "deleteobject", "putobjectacl"],
    ) {
        Some(why) => Verdict::fail(why),
        None => Verdict::ok(),
    }
}

fn sse_algorithm(s: &Snapshot) -> Option<String> {
    s.facts
        .get("encryption")
        .and_then(|e| e.get("Rules"))
        .and_then(|r| r.get(0))
        .and_then(|r| r.get("ApplyServerSideEncryptionByDefault"))
        .and_then(|d| d.get("SSEAlgorithm"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// `S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED`: default encryption applies (SSE-S3 for every
/// bucket without its own rule, as in AWS since 2023).
pub fn bucket_encryption(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    let alg = sse_algorithm(s).unwrap_or_else(|| "AES256".into());
    Verdict::check(
        matches!(alg.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse"),
        "The bucket has no default encryption.",
    )
}

/// `S3_DEFAULT_ENCRYPTION_KMS`: default encryption uses KMS (one of `kmsKeyArns` when given).
pub fn bucket_kms(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if sse_algorithm(s).as_deref() != Some("aws:kms") {
        return Verdict::fail("The bucket's default encryption does not use AWS KMS.");
    }
    let allowed = list(params, "kmsKeyArns");
    let key = s
        .facts
        .pointer("/encryption/Rules/0/ApplyServerSideEncryptionByDefault/KMSMasterKeyID")
        .and_then(Value::as_str);
    Verdict::check(
        allowed.is_empty() || key.is_some_and(|k| allowed.iter().any(|a| a == k)),
        "The bucket's KMS key is not one of kmsKeyArns.",
    )
}

/// `S3_BUCKET_VERSIONING_ENABLED`: versioning is on (and MFA delete, when asked).
pub fn bucket_versioning(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if !fact_bool(s, "versioning") {
        return Verdict::fail("Versioning is not enabled on the bucket.");
    }
    let mfa = s
        .supplementary
        .get("BucketVersioningConfiguration")
        .and_then(|v| v.get("isMfaDeleteEnabled"))
        .and_then(Value::as_bool)
        == Some(true);
    Verdict::check(
        boolean(params, "isMfaDeleteEnabled") != Some(true) || mfa,
        "MFA delete is not enabled on the bucket.",
    )
}

/// `S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED`: the bucket's own block has every setting on.
pub fn bucket_level_block(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if list(params, "excludedPublicBuckets").contains(&s.resource_id) {
        return Verdict::not_applicable();
    }
    let own: PublicAccessBlock = s
        .facts
        .get("block")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or(PublicAccessBlock::NONE);
    Verdict::check(
        own.block_public_acls
            && own.ignore_public_acls
            && own.block_public_policy
            && own.restrict_public_buckets,
        "The bucket's public access block does not have every setting on.",
    )
}

/// `S3_BUCKET_SSL_REQUESTS_ONLY`: the policy denies requests without TLS.
pub fn bucket_ssl_only(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    let doc: Value = fact_str(s, "policy")
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let denies = statements.iter().any(|st| {
        st.get("Effect").and_then(Value::as_str) == Some("Deny")
            && st
                .pointer("/Condition/Bool/aws:SecureTransport")
                .is_some_and(|v| v == "false" || v == &Value::Bool(false))
    });
    Verdict::check(
        denies,
        "The bucket policy does not deny requests without SSL (aws:SecureTransport).",
    )
}

/// `CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED`: the trail signs digest files.
pub fn trail_validation(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(
        fact_bool(s, "validation"),
        "Log file validation is not enabled on the trail.",
    )
}

/// `CLOUD_TRAIL_ENCRYPTION_ENABLED`: the trail's logs are encrypted with a KMS key.
pub fn trail_encryption(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(
        fact_str(s, "kmsKeyArn").is_some(),
        "The trail's log files are not encrypted with SSE-KMS.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bucket(facts: Value) -> Snapshot {
        Snapshot {
            resource_type: "AWS::S3::Bucket".into(),
            resource_id: "b".into(),
            facts,
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_public_policy_is_public_read_unless_restricted() {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let open = bucket(json!({"policy": policy}));
        let now = Utc::now();
        assert_eq!(
            bucket_public_read(&open, &Params::new(), now).compliance,
            "NON_COMPLIANT"
        );
        assert_eq!(
            bucket_public_write(&open, &Params::new(), now).compliance,
            "COMPLIANT"
        );
        let restricted = bucket(json!({"policy": policy, "accountBlock": {
            "block_public_acls": false, "ignore_public_acls": false,
            "block_public_policy": false, "restrict_public_buckets": true}}));
        assert_eq!(
            bucket_public_read(&restricted, &Params::new(), now).compliance,
            "COMPLIANT"
        );
    }

    #[test]
    fn versioning_is_read_from_the_facts() {
        let now = Utc::now();
        assert_eq!(
            bucket_versioning(&bucket(json!({"versioning": false})), &Params::new(), now)
                .compliance,
            "NON_COMPLIANT"
        );
        assert_eq!(
            bucket_versioning(&bucket(json!({"versioning": true})), &Params::new(), now).compliance,
            "COMPLIANT"
        );
    }
}
