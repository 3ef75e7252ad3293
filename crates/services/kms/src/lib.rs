//! AWS Key Management Service (awsJson1.1, `TrentService`).
//!
//! - [`keys`]: create, describe, list, enable/disable, descriptions, tags.
//! - [`aliases`]: aliases (`alias/aws/` reserved); [`aws_managed`]: AWS managed keys.
//! - [`crypto_ops`]: encrypt, decrypt, data keys, signatures, MACs, public keys, randomness.
//! - [`policies`]: key policies; [`grants`]: grants; [`authz`]: the authorization entries.
//! - [`multi_region`]: multi-Region keys (replicas, the primary Region, shared properties).
//! - [`rotation`]: automatic and on-demand rotation; [`deletion`]: scheduled deletion and the
//!   scheduler; [`import`]: imported key material.
//! - [`custom_key_stores`]: CloudHSM and external key stores; [`xks_keys`]: keys in external
//!   key stores; [`xks_api`], [`xks_proxy`]: the XKS proxy API and its transport.
//! - [`last_usage`]: each key's last cryptographic use.
//! - [`crypto`]: the primitives and the ciphertext format; [`repo`], [`model`]: storage.

use rampart_kit::routes;

pub mod aliases;
pub mod authz;
pub mod aws_managed;
pub mod common;
pub mod crypto;
pub mod crypto_ops;
pub mod custom_key_stores;
pub mod deletion;
pub mod error;
pub mod grants;
pub mod import;
pub mod keys;
pub mod last_usage;
pub mod model;
pub mod multi_region;
pub mod policies;
pub mod repo;
pub mod rotation;
pub mod xks_api;
pub mod xks_keys;
pub mod xks_proxy;

use rampart_store::Store;
use serde_json::Value;

use rampart_kit::{authz::AuthzQuestion, context::CallContext, error::ServiceError};

pub use error::KmsError;
pub use rampart_model::kms::Op;

routes! {
    authz: authorize;
    built {
        CreateKey => Write, |i, c, d| keys::create_key(i, c, d),
            prepare: xks_keys::prepare_create;
        DescribeKey => Read, |i, c, d| keys::describe_key(i, c, d);
        ListKeys => Read, |i, c, d| keys::list_keys(i, c, d);
        UpdateKeyDescription => Write, |i, c, d| keys::update_description(i, c, d);
        EnableKey => Write, |i, c, d| keys::set_enabled(i, c, d, true);
        DisableKey => Write, |i, c, d| keys::set_enabled(i, c, d, false);
        TagResource => Write, |i, c, d| keys::tag_resource(i, c, d);
        UntagResource => Write, |i, c, d| keys::untag_resource(i, c, d);
        ListResourceTags => Read, |i, c, d| keys::list_resource_tags(i, c, d);
        CreateAlias => Write, |i, c, d| aliases::create_alias(i, c, d);
        UpdateAlias => Write, |i, c, d| aliases::update_alias(i, c, d);
        DeleteAlias => Write, |i, c, d| aliases::delete_alias(i, c, d);
        ListAliases => Read, |i, c, d| aliases::list_aliases(i, c, d);
        // Cryptographic operations change nothing (CloudTrail records them as read-only).
        Encrypt => Read, |i, c, d| crypto_ops::encrypt(i, c, d);
        Decrypt => Read, |i, c, d| crypto_ops::decrypt(i, c, d);
        ReEncrypt => Read, |i, c, d| crypto_ops::re_encrypt(i, c, d);
        GenerateDataKey => Read, |i, c, d| crypto_ops::generate_data_key(i, c, d, true);
        GenerateDataKeyWithoutPlaintext => Read,
            |i, c, d| crypto_ops::generate_data_key(i, c, d, false);
        GenerateDataKeyPair => Read, |i, c, d| crypto_ops::generate_data_key_pair(i, c, d, true);
        GenerateDataKeyPairWithoutPlaintext => Read,
            |i, c, d| crypto_ops::generate_data_key_pair(i, c, d, false);
        GenerateRandom => Read, |i, c, d| std::future::ready(crypto_ops::generate_random(i));
        Sign => Read, |i, c, d| crypto_ops::sign(i, c, d);
        Verify => Read, |i, c, d| crypto_ops::verify(i, c, d);
        GenerateMac => Read, |i, c, d| crypto_ops::generate_mac(i, c, d);
        VerifyMac => Read, |i, c, d| crypto_ops::verify_mac(i, c, d);
        GetPublicKey => Read, |i, c, d| crypto_ops::get_public_key(i, c, d);
        DeriveSharedSecret => Read, |i, c, d| crypto_ops::derive_shared_secret(i, c, d);
        GetKeyPolicy => Read, |i, c, d| policies::get_key_policy(i, c, d);
        PutKeyPolicy => Write, |i, c, d| policies::put_key_policy(i, c, d);
        ListKeyPolicies => Read, |i, c, d| policies::list_key_policies(i, c, d);
        CreateGrant => Write, |i, c, d| grants::create_grant(i, c, d);
        ListGrants => Read, |i, c, d| grants::list_grants(i, c, d);
        ListRetirableGrants => Read, |i, c, d| grants::list_retirable_grants(i, c, d);
        RetireGrant => Write, |i, c, d| grants::retire_grant(i, c, d);
        RevokeGrant => Write, |i, c, d| grants::revoke_grant(i, c, d);
        EnableKeyRotation => Write, |i, c, d| rotation::enable(i, c, d);
        DisableKeyRotation => Write, |i, c, d| rotation::disable(i, c, d);
        GetKeyRotationStatus => Read, |i, c, d| rotation::status(i, c, d);
        RotateKeyOnDemand => Write, |i, c, d| rotation::rotate_on_demand(i, c, d);
        ListKeyRotations => Read, |i, c, d| rotation::list(i, c, d);
        GetKeyLastUsage => Read, |i, c, d| last_usage::get(i, c, d);
        ScheduleKeyDeletion => Write, |i, c, d| deletion::schedule(i, c, d);
        CancelKeyDeletion => Write, |i, c, d| deletion::cancel(i, c, d);
        GetParametersForImport => Write, |i, c, d| import::get_parameters(i, c, d);
        ImportKeyMaterial => Write, |i, c, d| import::import(i, c, d);
        DeleteImportedKeyMaterial => Write, |i, c, d| import::delete(i, c, d);
        ReplicateKey => Write, |i, c, d| multi_region::replicate(i, c, d);
        UpdatePrimaryRegion => Write, |i, c, d| multi_region::update_primary_region(i, c, d);
        CreateCustomKeyStore => Write, |i, c, d| custom_key_stores::create(i, c, d),
            authz: custom_key_stores::authorize;
        DescribeCustomKeyStores => Read, |i, c, d| custom_key_stores::describe(i, c, d),
            authz: custom_key_stores::authorize;
        UpdateCustomKeyStore => Write, |i, c, d| custom_key_stores::update(i, c, d),
            authz: custom_key_stores::authorize;
        DeleteCustomKeyStore => Write, |i, c, d| custom_key_stores::delete(i, c, d),
            authz: custom_key_stores::authorize;
        ConnectCustomKeyStore => Write, |i, c, d| custom_key_stores::connect(i, c, d),
            authz: custom_key_stores::authorize, prepare: custom_key_stores::prepare;
        DisconnectCustomKeyStore => Write, |i, c, d| custom_key_stores::disconnect(i, c, d),
            authz: custom_key_stores::authorize;
    }
    not_built {}
}

/// The authorization question of a KMS operation, after the policy lockout safety check of
/// `CreateKey`/`PutKeyPolicy`/`ReplicateKey` (which needs the caller's policies, so it runs
/// here).
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzQuestion>, ServiceError> {
    let entry = authz::authz(op, input, ctx, store).await?;
    if matches!(op, Op::CreateKey | Op::PutKeyPolicy | Op::ReplicateKey)
        && input["BypassPolicyLockoutSafetyCheck"].as_bool() != Some(true)
    {
        if let (Some(policy), Some(q)) = (common::opt_str(input, "Policy"), &entry) {
            keys::validate_policy(policy, ctx.partition())?;
            let (arn, account) = match q.requests.first().and_then(|r| r.resources.first()) {
                // The policy of a replica is for the key in the replica Region.
                Some(r) if op == Op::ReplicateKey => (
                    replica_arn(&r.arn, common::opt_str(input, "ReplicaRegion")),
                    r.account.clone(),
                ),
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

/// The ARN a primary key's replica in `region` has (the same ARN in another Region).
fn replica_arn(primary_arn: &str, region: Option<&str>) -> String {
    let mut parts: Vec<&str> = primary_arn.splitn(5, ':').collect();
    if let (Some(slot), Some(region)) = (parts.get_mut(3), region) {
        *slot = region;
    }
    parts.join(":")
}
