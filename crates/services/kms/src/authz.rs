//! KMS's authorization entries: every operation's action, resources and condition keys.
//!
//! A key's policy is a required resource policy: the default policy names the account root,
//! which delegates to IAM policies; a principal named directly needs no IAM policy; and a
//! caller with IAM permission that the key policy does not delegate to is denied. Grants are
//! added to the key policy as Allow statements for their grantee, limited to the operation
//! asked for and only when the request meets the grant's constraints, so the policy engine's
//! rules (explicit deny, cross-account, SCPs) apply to them as to any statement.

use std::collections::BTreeMap;

use rampart_policy::PolicyKind;
use rampart_store::Store;
use serde_json::{json, Value};

use super::{
    common::{blob, encryption_context, opt_str},
    crypto,
    error::{KmsError, KmsResult},
    model::Grant,
    repo::{self, alias_arn, Key, KeyName},
    Op,
};
use rampart_kit::json_field::SetField;
use rampart_kit::{
    authorizer::AuthzError,
    authz::{AuthzQuestion, AuthzRequest, ResourcePolicy, ResourceRef},
    context::{CallContext, ContextEntry},
    db::Db,
    error::ServiceError,
};

/// Operations a grant can allow.
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// Operations whose `KeyId` is a key id or key ARN only (AWS's reference: "Specify the key ID
/// or key ARN of the KMS key"): an alias there is not a key.
const KEY_ID_ONLY: [&str; 25] = [
    "GetKeyLastUsage",
    "CancelKeyDeletion",
    "ScheduleKeyDeletion",
    "DisableKey",
    "EnableKey",
    "DisableKeyRotation",
    "EnableKeyRotation",
    "GetKeyRotationStatus",
    "ListKeyRotations",
    "RotateKeyOnDemand",
    "GetKeyPolicy",
    "PutKeyPolicy",
    "ListKeyPolicies",
    "TagResource",
    "UntagResource",
    "ListResourceTags",
    "UpdateKeyDescription",
    "CreateGrant",
    "ListGrants",
    "RevokeGrant",
    "ImportKeyMaterial",
    "GetParametersForImport",
    "DeleteImportedKeyMaterial",
    "ReplicateKey",
    "UpdatePrimaryRegion",
];

/// Refuses an alias name or alias ARN where only a key id or key ARN is accepted.
fn refuse_alias(id: &str) -> KmsResult<()> {
    let alias = id.starts_with("alias/")
        || (id.starts_with("arn:")
            && id
                .split(':')
                .nth(5)
                .is_some_and(|r| r.starts_with("alias/")));
    if alias {
        return Err(KmsError::NotFoundException(format!("Invalid keyId {id}")));
    }
    Ok(())
}

fn one(k: &str, v: impl Into<String>) -> ContextEntry {
    (k.to_string(), vec![v.into()])
}

/// The key named by the request's `field`, for authorization.
async fn key_of(store: &Store, ctx: &CallContext, input: &Value, field: &str) -> KmsResult<Key> {
    let id = opt_str(input, field).unwrap_or_default();
    repo::resolve(&mut Db::Read(store), ctx, id).await
}

/// The key a symmetric ciphertext names (for `Decrypt` and `ReEncrypt` without a key id).
pub async fn key_of_ciphertext(
    store: &Store,
    ctx: &CallContext,
    input: &Value,
    blob_field: &str,
    key_field: &str,
) -> KmsResult<Key> {
    if opt_str(input, key_field).is_some() {
        return key_of(store, ctx, input, key_field).await;
    }
    let data = blob(input, blob_field)?.unwrap_or_default();
    let invalid = || KmsError::InvalidCiphertextException("The ciphertext is invalid.".into());
    let (id, _) = crypto::parse_header(&data).ok_or_else(invalid)?;
    let key = repo::load_in_region(&mut Db::Read(store), &ctx.region, &id)
        .await?
        .ok_or_else(invalid)?;
    if key.doc.region != ctx.region || repo::is_destroyed(&key.doc, ctx.now) {
        return Err(invalid());
    }
    Ok(key)
}

/// The key-side facts every key operation carries as condition keys.
fn key_keys(key: &Key, keys: &mut Vec<ContextEntry>) {
    keys.push(one("kms:KeySpec", key.doc.key_spec.clone()));
    keys.push(one("kms:KeyUsage", key.doc.key_usage.clone()));
    keys.push(one("kms:KeyOrigin", key.doc.origin.clone()));
    keys.push(one("kms:KeyManager", key.doc.key_manager.clone()));
    keys.push(one(
        "kms:MultiRegion",
        key.doc.multi_region.is_some().to_string(),
    ));
    if key.doc.multi_region.is_some() {
        let kind = if key.doc.is_primary() {
            "PRIMARY"
        } else {
            "REPLICA"
        };
        keys.push(one("kms:MultiRegionKeyType", kind));
    }
    for (k, v) in &key.doc.tags {
        keys.push((format!("aws:ResourceTag/{k}"), vec![v.clone()]));
    }
}

/// `kms:EncryptionContext:*` and `kms:EncryptionContextKeys`.
fn context_keys(context: &BTreeMap<String, String>, keys: &mut Vec<ContextEntry>) {
    if context.is_empty() {
        return;
    }
    for (k, v) in context {
        keys.push((format!("kms:EncryptionContext:{k}"), vec![v.clone()]));
    }
    keys.push((
        "kms:EncryptionContextKeys".into(),
        context.keys().cloned().collect(),
    ));
}

/// Allow statements for the grants on `key` that give `operation` under `context`.
fn grant_statements(
    grants: &[Grant],
    operation: &str,
    context: &BTreeMap<String, String>,
) -> Vec<Value> {
    grants
        .iter()
        .filter(|g| g.operations.iter().any(|o| o == operation))
        .filter(|g| grant_constraints_met(g, context))
        .map(|g| {
            let action = format!("kms:{operation}");
            json!({
                "Sid": format!("grant{}", &g.id[..16.min(g.id.len())]),
                "Effect": "Allow",
                "Principal": {"AWS": g.grantee},
                "Action": action,
                "Resource": "*",
            })
        })
        .collect()
}

/// Whether a request's encryption context meets a grant's constraints.
pub fn grant_constraints_met(g: &Grant, context: &BTreeMap<String, String>) -> bool {
    if let Some(eq) = &g.context_equals {
        if eq != context {
            return false;
        }
    }
    if let Some(sub) = &g.context_subset {
        if !sub.iter().all(|(k, v)| context.get(k) == Some(v)) {
            return false;
        }
    }
    true
}

/// The key policy, with the grants for `grant_op` appended, as the resource policy.
fn key_policy(
    key: &Key,
    grant_op: Option<&str>,
    context: &BTreeMap<String, String>,
) -> ResourcePolicy {
    let mut document = key.doc.policy.clone();
    if let Some(op) = grant_op {
        let extra = grant_statements(&key.doc.grants, op, context);
        if !extra.is_empty() {
            if let Ok(mut v) = serde_json::from_str::<Value>(&document) {
                let mut statements = match v.get("Statement") {
                    Some(Value::Array(a)) => a.clone(),
                    Some(other) => vec![other.clone()],
                    None => Vec::new(),
                };
                statements.extend(extra);
                v.set_field("Statement", Value::Array(statements));
                document = v.to_string();
            }
        }
    }
    ResourcePolicy {
        name: format!("key policy of {}", key.arn()),
        document,
        required: true,
        kind: PolicyKind::Resource,
        account_only: false,
    }
}

/// A resource entry for a key, with its key policy.
fn key_resource(
    key: &Key,
    grant_op: Option<&str>,
    context: &BTreeMap<String, String>,
) -> ResourceRef {
    ResourceRef {
        arn: key.arn().to_string(),
        account: key.account().to_string(),
        policy: Some(key_policy(key, grant_op, context)),
    }
}

fn request(action: &str, resources: Vec<ResourceRef>, context: Vec<ContextEntry>) -> AuthzRequest {
    AuthzRequest {
        action: format!("kms:{action}"),
        resources,
        context,
        always_allowed: false,
    }
}

/// The authorization question of a KMS operation.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzQuestion>, ServiceError> {
    Ok(entry(op, input, ctx, store).await?)
}

async fn entry(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> KmsResult<Option<AuthzQuestion>> {
    let account = &ctx.principal.account_id;
    let mut keys: Vec<ContextEntry> = vec![one("kms:CallerAccount", account.clone())];
    // A call another service makes for the caller names that service's endpoint.
    if let Some(service) = &ctx.via_service {
        keys.push(one(
            "kms:ViaService",
            ctx.partition().host(service, &ctx.region),
        ));
    }
    let empty = BTreeMap::new();
    let on_any = |action: &str, keys: Vec<ContextEntry>| {
        let mut r = AuthzRequest::on_any(&format!("kms:{action}"), account);
        r.context = keys;
        r
    };
    let operation = op.name();
    if KEY_ID_ONLY.contains(&operation) {
        refuse_alias(opt_str(input, "KeyId").unwrap_or_default())?;
    }
    let req = match op {
        Op::CreateKey => {
            let spec = opt_str(input, "KeySpec")
                .or_else(|| opt_str(input, "CustomerMasterKeySpec"))
                .unwrap_or("SYMMETRIC_DEFAULT");
            keys.push(one("kms:KeySpec", spec));
            if let Some(u) = opt_str(input, "KeyUsage") {
                keys.push(one("kms:KeyUsage", u));
            }
            keys.push(one(
                "kms:KeyOrigin",
                opt_str(input, "Origin").unwrap_or("AWS_KMS"),
            ));
            keys.push(one(
                "kms:BypassPolicyLockoutSafetyCheck",
                input["BypassPolicyLockoutSafetyCheck"]
                    .as_bool()
                    .unwrap_or(false)
                    .to_string(),
            ));
            let multi_region = input["MultiRegion"].as_bool().unwrap_or(false);
            keys.push(one("kms:MultiRegion", multi_region.to_string()));
            if multi_region {
                keys.push(one("kms:MultiRegionKeyType", "PRIMARY"));
            }
            request_tags(input, "Tags", &mut keys);
            on_any("CreateKey", keys)
        }
        Op::ReplicateKey => {
            let primary = key_of(store, ctx, input, "KeyId").await?;
            return Ok(Some(replicate_question(input, ctx, &primary, keys)));
        }
        Op::UpdatePrimaryRegion => {
            let primary = key_of(store, ctx, input, "KeyId").await?;
            return Ok(Some(
                update_primary_question(input, store, &primary, keys).await?,
            ));
        }
        Op::ListKeys | Op::ListAliases if opt_str(input, "KeyId").is_none() => {
            on_any(operation, keys)
        }
        Op::ListRetirableGrants => on_any(operation, keys),
        Op::DescribeKey
            if super::aws_managed::is_missing_predefined(
                &mut Db::Read(store),
                ctx,
                opt_str(input, "KeyId").unwrap_or_default(),
            )
            .await?
            .is_some() =>
        {
            on_any(operation, keys)
        }
        Op::GenerateRandom => on_any(operation, keys),
        // The grant decides (retiring or grantee principal); checked by the handler.
        Op::RetireGrant => AuthzRequest {
            always_allowed: true,
            ..on_any("RetireGrant", keys)
        },
        Op::CreateAlias | Op::DeleteAlias | Op::UpdateAlias => {
            return alias_entry(op, input, ctx, store, keys)
                .await
                .map(|r| Some(r.into()));
        }
        Op::Decrypt => {
            let key = key_of_ciphertext(store, ctx, input, "CiphertextBlob", "KeyId").await?;
            let context = encryption_context(input, "EncryptionContext")?;
            context_keys(&context, &mut keys);
            keys.push(one(
                "kms:EncryptionAlgorithm",
                opt_str(input, "EncryptionAlgorithm").unwrap_or("SYMMETRIC_DEFAULT"),
            ));
            key_keys(&key, &mut keys);
            request(
                "Decrypt",
                vec![key_resource(&key, Some("Decrypt"), &context)],
                keys,
            )
        }
        Op::ReEncrypt => {
            let source =
                key_of_ciphertext(store, ctx, input, "CiphertextBlob", "SourceKeyId").await?;
            let dest = key_of(store, ctx, input, "DestinationKeyId").await?;
            let src_ctx = encryption_context(input, "SourceEncryptionContext")?;
            let dst_ctx = encryption_context(input, "DestinationEncryptionContext")?;
            // ReEncryptTo on the destination is a second request with its own keys.
            let mut to_keys = keys.clone();
            context_keys(&dst_ctx, &mut to_keys);
            key_keys(&dest, &mut to_keys);
            context_keys(&src_ctx, &mut keys);
            key_keys(&source, &mut keys);
            keys.push(one(
                "kms:ReEncryptOnSameKey",
                (source.id() == dest.id()).to_string(),
            ));
            let from = request(
                "ReEncryptFrom",
                vec![key_resource(&source, Some("ReEncryptFrom"), &src_ctx)],
                keys,
            );
            let to = request(
                "ReEncryptTo",
                vec![key_resource(&dest, Some("ReEncryptTo"), &dst_ctx)],
                to_keys,
            );
            return Ok(Some(AuthzQuestion {
                requests: vec![from, to],
            }));
        }
        _ => {
            let Some(field) = key_field(op) else {
                return Ok(None);
            };
            let key = key_of(store, ctx, input, field).await?;
            key_keys(&key, &mut keys);
            let context = encryption_context(input, "EncryptionContext")?;
            context_keys(&context, &mut keys);
            operation_keys(op, input, &mut keys);
            let grant_op = GRANT_OPERATIONS.contains(&operation).then_some(operation);
            let ctx_for_grants = if grant_op.is_some() { &context } else { &empty };
            request(
                operation,
                vec![key_resource(&key, grant_op, ctx_for_grants)],
                keys,
            )
        }
    };
    Ok(Some(req.into()))
}

/// The input member naming the key of a key operation; `None` for unknown operations.
fn key_field(op: Op) -> Option<&'static str> {
    Some(match op {
        Op::DescribeKey
        | Op::Encrypt
        | Op::GenerateDataKey
        | Op::GenerateDataKeyWithoutPlaintext
        | Op::GenerateDataKeyPair
        | Op::GenerateDataKeyPairWithoutPlaintext
        | Op::Sign
        | Op::Verify
        | Op::GetPublicKey
        | Op::GenerateMac
        | Op::VerifyMac
        | Op::DeriveSharedSecret
        | Op::EnableKey
        | Op::DisableKey
        | Op::UpdateKeyDescription
        | Op::ScheduleKeyDeletion
        | Op::CancelKeyDeletion
        | Op::EnableKeyRotation
        | Op::DisableKeyRotation
        | Op::GetKeyRotationStatus
        | Op::RotateKeyOnDemand
        | Op::ListKeyRotations
        | Op::GetKeyLastUsage
        | Op::GetKeyPolicy
        | Op::PutKeyPolicy
        | Op::ListKeyPolicies
        | Op::CreateGrant
        | Op::ListGrants
        | Op::RevokeGrant
        | Op::TagResource
        | Op::UntagResource
        | Op::ListResourceTags
        | Op::GetParametersForImport
        | Op::ImportKeyMaterial
        | Op::DeleteImportedKeyMaterial
        | Op::ListAliases => "KeyId",
        _ => return None,
    })
}

/// Condition keys taken from an operation's own parameters.
fn operation_keys(op: Op, input: &Value, keys: &mut Vec<ContextEntry>) {
    let copy = |param: &str, key: &str, keys: &mut Vec<ContextEntry>| {
        if let Some(v) = opt_str(input, param) {
            keys.push(one(key, v));
        }
    };
    match op {
        Op::Encrypt => copy("EncryptionAlgorithm", "kms:EncryptionAlgorithm", keys),
        Op::Sign | Op::Verify => {
            copy("SigningAlgorithm", "kms:SigningAlgorithm", keys);
            keys.push(one(
                "kms:MessageType",
                opt_str(input, "MessageType").unwrap_or("RAW"),
            ));
        }
        Op::GenerateMac | Op::VerifyMac => copy("MacAlgorithm", "kms:MacAlgorithm", keys),
        Op::DeriveSharedSecret => copy("KeyAgreementAlgorithm", "kms:KeyAgreementAlgorithm", keys),
        Op::GenerateDataKeyPair | Op::GenerateDataKeyPairWithoutPlaintext => {
            copy("KeyPairSpec", "kms:DataKeyPairSpec", keys)
        }
        Op::GetParametersForImport => {
            copy("WrappingAlgorithm", "kms:WrappingAlgorithm", keys);
            copy("WrappingKeySpec", "kms:WrappingKeySpec", keys);
        }
        Op::ImportKeyMaterial => copy("ExpirationModel", "kms:ExpirationModel", keys),
        Op::ScheduleKeyDeletion => {
            let days = input["PendingWindowInDays"].as_i64().unwrap_or(30);
            keys.push(one(
                "kms:ScheduleKeyDeletionPendingWindowInDays",
                days.to_string(),
            ));
        }
        Op::EnableKeyRotation => {
            let days = input["RotationPeriodInDays"].as_i64().unwrap_or(365);
            keys.push(one("kms:RotationPeriodInDays", days.to_string()));
        }
        Op::PutKeyPolicy => keys.push(one(
            "kms:BypassPolicyLockoutSafetyCheck",
            input["BypassPolicyLockoutSafetyCheck"]
                .as_bool()
                .unwrap_or(false)
                .to_string(),
        )),
        Op::CreateGrant => {
            if let Some(ops) = input["Operations"].as_array() {
                keys.push((
                    "kms:GrantOperations".into(),
                    ops.iter()
                        .filter_map(|o| o.as_str().map(str::to_string))
                        .collect(),
                ));
            }
            copy("GranteePrincipal", "kms:GranteePrincipal", keys);
            copy("RetiringPrincipal", "kms:RetiringPrincipal", keys);
            keys.push(one("kms:GrantIsForAWSResource", "false"));
            if let Some(c) = input["Constraints"].as_object() {
                let types: Vec<String> = c.keys().cloned().collect();
                if !types.is_empty() {
                    keys.push(("kms:GrantConstraintType".into(), types));
                }
            }
        }
        Op::TagResource => request_tags(input, "Tags", keys),
        Op::UntagResource => {
            if let Some(t) = input["TagKeys"].as_array() {
                keys.push((
                    "aws:TagKeys".into(),
                    t.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect(),
                ));
            }
        }
        _ => {}
    }
}

/// `aws:RequestTag/*` and `aws:TagKeys` from a `Tags` list.
fn request_tags(input: &Value, field: &str, keys: &mut Vec<ContextEntry>) {
    let Some(tags) = input[field].as_array() else {
        return;
    };
    let mut names = Vec::new();
    for t in tags {
        if let (Some(k), Some(v)) = (t["TagKey"].as_str(), t["TagValue"].as_str()) {
            keys.push((format!("aws:RequestTag/{k}"), vec![v.to_string()]));
            names.push(k.to_string());
        }
    }
    if !names.is_empty() {
        keys.push(("aws:TagKeys".into(), names));
    }
}

/// `ReplicateKey` asks `kms:ReplicateKey` on the primary key (its key policy), and, as AWS
/// requires, `kms:CreateKey` (and `kms:TagResource` with `Tags`) in an IAM policy in the
/// replica Region: those requests carry the replica Region as `aws:RequestedRegion`.
fn replicate_question(
    input: &Value,
    ctx: &CallContext,
    primary: &Key,
    base: Vec<ContextEntry>,
) -> AuthzQuestion {
    let empty = BTreeMap::new();
    let replica_region = opt_str(input, "ReplicaRegion").unwrap_or_default();
    let mut keys = base.clone();
    key_keys(primary, &mut keys);
    keys.push(one("kms:ReplicaRegion", replica_region));
    let replicate = request(
        "ReplicateKey",
        vec![key_resource(primary, None, &empty)],
        keys,
    );
    let mut create_keys = base.clone();
    create_keys.push(one("aws:RequestedRegion", replica_region));
    create_keys.push(one("kms:KeySpec", primary.doc.key_spec.clone()));
    create_keys.push(one("kms:KeyUsage", primary.doc.key_usage.clone()));
    create_keys.push(one("kms:KeyOrigin", primary.doc.origin.clone()));
    create_keys.push(one("kms:MultiRegion", "true"));
    create_keys.push(one("kms:MultiRegionKeyType", "REPLICA"));
    create_keys.push(one(
        "kms:BypassPolicyLockoutSafetyCheck",
        input["BypassPolicyLockoutSafetyCheck"]
            .as_bool()
            .unwrap_or(false)
            .to_string(),
    ));
    request_tags(input, "Tags", &mut create_keys);
    let mut create = AuthzRequest::on_any("kms:CreateKey", &ctx.principal.account_id);
    create.context = create_keys.clone();
    let mut requests = vec![replicate, create];
    if input["Tags"].as_array().is_some_and(|t| !t.is_empty()) {
        let replica_arn = repo::key_arn(replica_region, primary.account(), primary.id());
        let mut tag = AuthzRequest::on("kms:TagResource", replica_arn, primary.account());
        tag.context = create_keys;
        requests.push(tag);
    }
    AuthzQuestion { requests }
}

/// `UpdatePrimaryRegion` asks `kms:UpdatePrimaryRegion` on the current primary key and on the
/// replica in `PrimaryRegion`, each under its own key policy. A missing replica is left to the
/// handler (`NotFoundException`) once the primary's question is answered.
async fn update_primary_question(
    input: &Value,
    store: &Store,
    primary: &Key,
    base: Vec<ContextEntry>,
) -> KmsResult<AuthzQuestion> {
    let empty = BTreeMap::new();
    let region = opt_str(input, "PrimaryRegion").unwrap_or_default();
    let on = |key: &Key| {
        let mut keys = base.clone();
        key_keys(key, &mut keys);
        keys.push(one("kms:PrimaryRegion", region));
        request(
            "UpdatePrimaryRegion",
            vec![key_resource(key, None, &empty)],
            keys,
        )
    };
    let mut requests = vec![on(primary)];
    let is_replica_region = primary
        .doc
        .multi_region
        .as_ref()
        .is_some_and(|m| m.replica_regions.iter().any(|r| r == region));
    if is_replica_region {
        let replica = repo::load(
            &mut Db::Read(store),
            primary.account(),
            region,
            primary.id(),
        )
        .await?;
        if let Some(replica) = replica {
            requests.push(on(&replica));
        }
    }
    Ok(AuthzQuestion { requests })
}

/// Alias operations need permission on the alias (IAM policy) and on each key involved (key
/// policy), all with the same action.
async fn alias_entry(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
    keys: Vec<ContextEntry>,
) -> KmsResult<AuthzRequest> {
    let account = &ctx.principal.account_id;
    let name = opt_str(input, "AliasName").unwrap_or_default();
    if !name.starts_with("alias/") {
        return Err(super::aliases::missing_prefix());
    }
    let alias = ResourceRef {
        arn: alias_arn(&ctx.region, account, name),
        account: account.clone(),
        policy: None,
    };
    let mut resources = vec![alias];
    let empty = BTreeMap::new();
    let mut db = Db::Read(store);
    if op != Op::CreateAlias {
        if let Some(target) = repo::alias_target(&mut db, account, &ctx.region, name).await? {
            if let Some(key) = repo::load(&mut db, account, &ctx.region, &target).await? {
                resources.push(key_resource(&key, None, &empty));
            }
        } else if name.starts_with("alias/") {
            return Err(KmsError::NotFoundException(format!(
                "Alias {} is not found.",
                alias_arn(&ctx.region, account, name)
            )));
        }
    }
    if op != Op::DeleteAlias {
        let key = key_of(store, ctx, input, "TargetKeyId").await?;
        if key.account() != account {
            return Err(KmsError::NotFoundException(format!(
                "Invalid keyId {}",
                opt_str(input, "TargetKeyId").unwrap_or_default()
            )));
        }
        resources.push(key_resource(&key, None, &empty));
    }
    Ok(request(op.name(), resources, keys))
}

/// Whether the caller may still put a key policy once `policy` is the key's policy (the
/// policy lockout safety check): a hypothetical `kms:PutKeyPolicy` request with the new
/// policy as the key policy, decided by the one authorizer.
pub async fn caller_may_put_policy(
    ctx: &CallContext,
    key_arn: &str,
    key_account: &str,
    policy: &str,
) -> Result<bool, ServiceError> {
    let request = AuthzRequest {
        action: "kms:PutKeyPolicy".into(),
        resources: vec![ResourceRef {
            arn: key_arn.to_string(),
            account: key_account.to_string(),
            policy: Some(ResourcePolicy {
                name: "new key policy".into(),
                document: policy.to_string(),
                required: true,
                kind: PolicyKind::Resource,
                account_only: false,
            }),
        }],
        context: vec![one("kms:CallerAccount", ctx.principal.account_id.clone())],
        always_allowed: false,
    };
    match ctx.authorizer.authorize(ctx, &request.into()).await {
        Ok(()) => Ok(true),
        Err(AuthzError::AccessDenied(_) | AuthzError::Refused(_)) => Ok(false),
        Err(AuthzError::InternalFailure(err)) => Err(err),
    }
}

/// The name a key identifier names, for handlers that need the account before loading.
pub fn name_of(input: &str, ctx: &CallContext) -> KmsResult<KeyName> {
    repo::parse_key_name(input, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(ops: &[&str], subset: &[(&str, &str)], equals: Option<&[(&str, &str)]>) -> Grant {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Grant {
            id: "a".repeat(64),
            token: "t".into(),
            name: None,
            grantee: "arn:aws:iam::111122223333:user/alice".into(),
            retiring: None,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            operations: ops.iter().map(|s| s.to_string()).collect(),
            context_subset: (!subset.is_empty()).then(|| map(subset)),
            context_equals: equals.map(map),
            created: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn grant_constraints_subset_and_equals() {
        let g = grant(&["Decrypt"], &[("app", "x")], None);
        assert!(grant_constraints_met(
            &g,
            &ctx(&[("app", "x"), ("more", "y")])
        ));
        assert!(!grant_constraints_met(&g, &ctx(&[("app", "y")])));
        assert!(!grant_constraints_met(&g, &ctx(&[])));
        let g = grant(&["Decrypt"], &[], Some(&[("app", "x")]));
        assert!(grant_constraints_met(&g, &ctx(&[("app", "x")])));
        assert!(!grant_constraints_met(
            &g,
            &ctx(&[("app", "x"), ("more", "y")])
        ));
    }

    #[test]
    fn grants_become_statements_only_for_their_operations() {
        let grants = vec![grant(&["Encrypt"], &[("app", "x")], None)];
        assert_eq!(
            grant_statements(&grants, "Encrypt", &ctx(&[("app", "x")])).len(),
            1
        );
        assert!(grant_statements(&grants, "Decrypt", &ctx(&[("app", "x")])).is_empty());
        assert!(grant_statements(&grants, "Encrypt", &ctx(&[])).is_empty());
        let s = &grant_statements(&grants, "Encrypt", &ctx(&[("app", "x")]))[0];
        assert_eq!(
            s["Principal"]["AWS"],
            "arn:aws:iam::111122223333:user/alice"
        );
        assert_eq!(s["Action"], "kms:Encrypt");
    }

    #[test]
    fn context_keys_are_set_per_pair() {
        let mut keys = Vec::new();
        context_keys(&ctx(&[("b", "2"), ("a", "1")]), &mut keys);
        assert!(keys.contains(&("kms:EncryptionContext:a".to_string(), vec!["1".to_string()])));
        assert!(keys.contains(&(
            "kms:EncryptionContextKeys".to_string(),
            vec!["a".to_string(), "b".to_string()]
        )));
        let mut none = Vec::new();
        context_keys(&ctx(&[]), &mut none);
        assert!(none.is_empty());
    }
}
