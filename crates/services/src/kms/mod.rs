//! AWS Key Management Service (awsJson1.1, `TrentService`).
//!
//! - [`keys`]: create, describe, list, enable/disable, descriptions, tags.
//! - [`aliases`]: aliases (`alias/aws/` reserved); [`aws_managed`]: AWS managed keys.
//! - [`crypto_ops`]: encrypt, decrypt, data keys, signatures, MACs, public keys, randomness.
//! - [`policies`]: key policies; [`grants`]: grants; [`authz`]: the authorization entries.
//! - [`rotation`]: automatic and on-demand rotation; [`deletion`]: scheduled deletion and the
//!   scheduler; [`import`]: imported key material.
//! - [`crypto`]: the primitives and the ciphertext format; [`repo`], [`model`]: storage.

pub mod aliases;
pub mod authz;
pub mod aws_managed;
pub mod common;
pub mod crypto;
pub mod crypto_ops;
pub mod deletion;
pub mod error;
pub mod grants;
pub mod import;
pub mod keys;
pub mod model;
pub mod policies;
pub mod repo;
pub mod rotation;

use rampart_store::Store;
use serde_json::Value;

use crate::{
    authz::AuthzQuestion,
    context::CallContext,
    db::Db,
    error::ServiceError,
    registry::{not_implemented, Access},
};

pub use error::KmsError;

/// Whether a KMS operation is built, and how it touches state. Cryptographic operations and
/// reads change nothing (CloudTrail records them as read-only).
pub fn access(operation: &str) -> Option<Access> {
    Some(match operation {
        "DescribeKey"
        | "ListKeys"
        | "ListAliases"
        | "GetKeyPolicy"
        | "ListKeyPolicies"
        | "ListGrants"
        | "ListRetirableGrants"
        | "ListResourceTags"
        | "GetKeyRotationStatus"
        | "ListKeyRotations"
        | "GetPublicKey"
        | "Encrypt"
        | "Decrypt"
        | "ReEncrypt"
        | "GenerateDataKey"
        | "GenerateDataKeyWithoutPlaintext"
        | "GenerateDataKeyPair"
        | "GenerateDataKeyPairWithoutPlaintext"
        | "GenerateRandom"
        | "Sign"
        | "Verify"
        | "GenerateMac"
        | "VerifyMac" => Access::Read,
        "CreateKey"
        | "UpdateKeyDescription"
        | "EnableKey"
        | "DisableKey"
        | "TagResource"
        | "UntagResource"
        | "CreateAlias"
        | "UpdateAlias"
        | "DeleteAlias"
        | "PutKeyPolicy"
        | "CreateGrant"
        | "RetireGrant"
        | "RevokeGrant"
        | "EnableKeyRotation"
        | "DisableKeyRotation"
        | "RotateKeyOnDemand"
        | "ScheduleKeyDeletion"
        | "CancelKeyDeletion"
        | "GetParametersForImport"
        | "ImportKeyMaterial"
        | "DeleteImportedKeyMaterial" => Access::Write,
        _ => return None,
    })
}

/// The authorization entry of a KMS operation, after the policy lockout safety check of
/// `CreateKey`/`PutKeyPolicy` (which needs the caller's policies, so it runs here).
pub async fn authz(
    operation: &str,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzQuestion>, ServiceError> {
    let entry = authz::authz(operation, input, ctx, store).await?;
    if matches!(operation, "CreateKey" | "PutKeyPolicy")
        && input["BypassPolicyLockoutSafetyCheck"].as_bool() != Some(true)
    {
        if let (Some(policy), Some(q)) = (common::opt_str(input, "Policy"), &entry) {
            keys::validate_policy(policy)?;
            let (arn, account) = match q.requests.first().and_then(|r| r.resources.first()) {
                Some(r) if r.arn != "*" => (r.arn.clone(), r.account.clone()),
                _ => (
                    repo::key_arn(
                        &ctx.region,
                        &ctx.principal.account_id,
                        "00000000-0000-0000-0000-000000000000",
                    ),
                    ctx.principal.account_id.clone(),
                ),
            };
            if !authz::caller_may_put_policy(ctx, &arn, &account, policy).await? {
                return Err(KmsError::MalformedPolicyDocumentException(
                    "The new key policy will not allow you to update the key policy in the future."
                        .into(),
                )
                .into());
            }
        }
    }
    Ok(entry)
}

/// Runs a KMS operation.
pub async fn handle(
    operation: &str,
    input: Value,
    ctx: &CallContext,
    db: Db<'_>,
) -> Result<Value, ServiceError> {
    let i = &input;
    let out = match operation {
        "CreateKey" => keys::create_key(i, ctx, db).await,
        "DescribeKey" => keys::describe_key(i, ctx, db).await,
        "ListKeys" => keys::list_keys(i, ctx, db).await,
        "UpdateKeyDescription" => keys::update_description(i, ctx, db).await,
        "EnableKey" => keys::set_enabled(i, ctx, db, true).await,
        "DisableKey" => keys::set_enabled(i, ctx, db, false).await,
        "TagResource" => keys::tag_resource(i, ctx, db).await,
        "UntagResource" => keys::untag_resource(i, ctx, db).await,
        "ListResourceTags" => keys::list_resource_tags(i, ctx, db).await,
        "CreateAlias" => aliases::create_alias(i, ctx, db).await,
        "UpdateAlias" => aliases::update_alias(i, ctx, db).await,
        "DeleteAlias" => aliases::delete_alias(i, ctx, db).await,
        "ListAliases" => aliases::list_aliases(i, ctx, db).await,
        "Encrypt" => crypto_ops::encrypt(i, ctx, db).await,
        "Decrypt" => crypto_ops::decrypt(i, ctx, db).await,
        "ReEncrypt" => crypto_ops::re_encrypt(i, ctx, db).await,
        "GenerateDataKey" => crypto_ops::generate_data_key(i, ctx, db, true).await,
        "GenerateDataKeyWithoutPlaintext" => crypto_ops::generate_data_key(i, ctx, db, false).await,
        "GenerateDataKeyPair" => crypto_ops::generate_data_key_pair(i, ctx, db, true).await,
        "GenerateDataKeyPairWithoutPlaintext" => {
            crypto_ops::generate_data_key_pair(i, ctx, db, false).await
        }
        "GenerateRandom" => crypto_ops::generate_random(i),
        "Sign" => crypto_ops::sign(i, ctx, db).await,
        "Verify" => crypto_ops::verify(i, ctx, db).await,
        "GenerateMac" => crypto_ops::generate_mac(i, ctx, db).await,
        "VerifyMac" => crypto_ops::verify_mac(i, ctx, db).await,
        "GetPublicKey" => crypto_ops::get_public_key(i, ctx, db).await,
        "GetKeyPolicy" => policies::get_key_policy(i, ctx, db).await,
        "PutKeyPolicy" => policies::put_key_policy(i, ctx, db).await,
        "ListKeyPolicies" => policies::list_key_policies(i, ctx, db).await,
        "CreateGrant" => grants::create_grant(i, ctx, db).await,
        "ListGrants" => grants::list_grants(i, ctx, db).await,
        "ListRetirableGrants" => grants::list_retirable_grants(i, ctx, db).await,
        "RetireGrant" => grants::retire_grant(i, ctx, db).await,
        "RevokeGrant" => grants::revoke_grant(i, ctx, db).await,
        "EnableKeyRotation" => rotation::enable(i, ctx, db).await,
        "DisableKeyRotation" => rotation::disable(i, ctx, db).await,
        "GetKeyRotationStatus" => rotation::status(i, ctx, db).await,
        "RotateKeyOnDemand" => rotation::rotate_on_demand(i, ctx, db).await,
        "ListKeyRotations" => rotation::list(i, ctx, db).await,
        "ScheduleKeyDeletion" => deletion::schedule(i, ctx, db).await,
        "CancelKeyDeletion" => deletion::cancel(i, ctx, db).await,
        "GetParametersForImport" => import::get_parameters(i, ctx, db).await,
        "ImportKeyMaterial" => import::import(i, ctx, db).await,
        "DeleteImportedKeyMaterial" => import::delete(i, ctx, db).await,
        _ => return Err(not_implemented("kms", operation)),
    };
    out.map_err(ServiceError::from)
}
