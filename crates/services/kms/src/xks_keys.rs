//! KMS keys in external key stores (`Origin: EXTERNAL_KEY_STORE`): `CreateKey`'s checks
//! (the store connected, the external key known to its proxy, an enabled AES-256 key that
//! encrypts and decrypts, not backing another key of the store), and the outer layer of
//! AWS's double encryption that every cryptographic operation on such a key adds or removes
//! through the proxy ([`super::xks_api`]). A proxy that cannot be reached or refuses fails
//! the call; nothing falls back to the KMS material alone.
//!
//! `CreateKey` asks the proxy in the route's preparation (before the write transaction);
//! the cryptographic operations read only, so they call the proxy on a blocking thread in
//! the call itself.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    common::{opt_str, require_usable},
    crypto,
    custom_key_stores::{self, StoreDoc, Xks, STORE_KIND},
    error::{KmsError, KmsResult},
    model::{ExternalKeyRef, KEY_KIND},
    repo::{self, Key},
    xks_api::{self, ExternalKey, RequestMetadata},
    xks_proxy::{Failure, Probe},
    Op,
};
use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    error::ServiceError,
};
use rampart_store::Store;

/// The answer of the proxy's `GetKeyMetadata`, asked before `CreateKey`'s transaction.
struct MetadataCheck {
    store_id: String,
    key_id: String,
    xks: Xks,
    outcome: Result<ExternalKey, Failure>,
}

/// AWS's pattern of an external key id: 1 to 128 of `[a-zA-Z0-9-_.]`.
fn valid_key_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The store `id` of `account` in `region`, if it exists.
async fn find_store(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    id: &str,
) -> KmsResult<Option<StoreDoc>> {
    let found = db
        .entities()
        .get(account, STORE_KIND, id)
        .await?
        .filter(|e| e.path == repo::region_path(region));
    match found {
        Some(e) => serde_json::from_str(&e.doc)
            .map(Some)
            .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into())),
        None => Ok(None),
    }
}

/// How to reach a store's proxy for one operation.
fn probe(
    db: &Db<'_>,
    store_id: &str,
    xks: &Xks,
    region: &str,
    ctx: &CallContext,
) -> KmsResult<Probe> {
    Ok(Probe {
        uri_endpoint: xks.uri_endpoint.clone(),
        uri_path: xks.uri_path.clone(),
        region: region.to_string(),
        access_key_id: xks.access_key_id.clone(),
        secret: custom_key_stores::unseal(db, store_id, "xks-secret", &xks.secret)?,
        // Read by the health check only; key operations name theirs in `requestMetadata`.
        operation: "",
        time: ctx.now,
    })
}

fn request_metadata(
    ctx: &CallContext,
    key_arn: Option<&str>,
    operation: &'static str,
) -> RequestMetadata {
    RequestMetadata {
        principal_arn: ctx.principal.arn.clone(),
        key_arn: key_arn.map(str::to_string),
        operation,
        request_id: ctx.request_id.clone(),
        via_service: ctx.via_service.clone(),
    }
}

/// The preparation of `CreateKey`: for a key in a connected external key store with a
/// public endpoint, the proxy's `GetKeyMetadata` of the external key. Every refusal is left
/// to [`check_create`], in the transaction.
pub async fn prepare_create(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<Preparation>, ServiceError> {
    if opt_str(input, "Origin") != Some("EXTERNAL_KEY_STORE") {
        return Ok(None);
    }
    let (Some(store_id), Some(key_id)) = (
        opt_str(input, "CustomKeyStoreId"),
        opt_str(input, "XksKeyId").filter(|k| valid_key_id(k)),
    ) else {
        return Ok(None);
    };
    let mut db = Db::Read(store);
    let account = &ctx.principal.account_id;
    let found = find_store(&mut db, account, &ctx.region, store_id).await?;
    let Some(xks) = found
        .filter(|s| s.state == "CONNECTED")
        .and_then(|s| s.xks)
        .filter(|x| x.connectivity == "PUBLIC_ENDPOINT")
    else {
        return Ok(None);
    };
    let probe = probe(&db, store_id, &xks, &ctx.region, ctx)?;
    let meta = request_metadata(ctx, None, "CreateKey");
    let (store_id, key_id) = (store_id.to_string(), key_id.to_string());
    Ok(Some(Preparation::new(move || {
        let outcome = xks_api::metadata(&probe, &key_id, &meta);
        Ok(MetadataCheck {
            store_id,
            key_id,
            xks,
            outcome,
        })
    })))
}

/// `CreateKey` with `Origin: EXTERNAL_KEY_STORE`: AWS's checks, in AWS's order; the
/// reference the new key keeps.
pub async fn check_create(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
    spec: &str,
    usage: &str,
) -> KmsResult<ExternalKeyRef> {
    let store_id = opt_str(input, "CustomKeyStoreId").ok_or_else(|| {
        KmsError::ValidationException(
            "CustomKeyStoreId is required when Origin is EXTERNAL_KEY_STORE.".into(),
        )
    })?;
    let key_id = opt_str(input, "XksKeyId").ok_or_else(|| {
        KmsError::ValidationException(
            "XksKeyId is required when Origin is EXTERNAL_KEY_STORE.".into(),
        )
    })?;
    if !valid_key_id(key_id) {
        return Err(KmsError::ValidationException(
            "XksKeyId must be 1 to 128 characters of a-z, A-Z, 0-9, '-', '_' and '.'.".into(),
        ));
    }
    if spec != "SYMMETRIC_DEFAULT" || usage != "ENCRYPT_DECRYPT" {
        return Err(KmsError::UnsupportedOperationException(
            "A KMS key in an external key store must be a SYMMETRIC_DEFAULT key with ENCRYPT_DECRYPT usage.".into(),
        ));
    }
    if input["MultiRegion"].as_bool() == Some(true) {
        return Err(KmsError::UnsupportedOperationException(
            "Multi-Region keys cannot be created in a custom key store.".into(),
        ));
    }
    let account = ctx.principal.account_id.clone();
    let store = find_store(db, &account, &ctx.region, store_id)
        .await?
        .ok_or_else(|| {
            KmsError::CustomKeyStoreNotFoundException(format!(
                "Custom key store {store_id} does not exist in this account and Region."
            ))
        })?;
    let Some(xks) = store.xks.as_ref() else {
        return Err(KmsError::UnsupportedOperationException(format!(
            "{store_id} is not an external key store: Origin EXTERNAL_KEY_STORE needs one."
        )));
    };
    if store.state != "CONNECTED" {
        return Err(KmsError::CustomKeyStoreInvalidStateException(format!(
            "The custom key store {store_id} is not connected (ConnectionState {}).",
            store.state
        )));
    }
    if keys_in_store(db, &account, &ctx.region, store_id)
        .await?
        .iter()
        .any(|k| k.key_id == key_id)
    {
        return Err(KmsError::XksKeyAlreadyInUseException(format!(
            "The external key {key_id} is already associated with a KMS key in {store_id}."
        )));
    }
    let check = ctx
        .prepared
        .as_deref()
        .and_then(|p| p.get::<MetadataCheck>())
        .filter(|c| c.store_id == store_id && c.key_id == key_id && &c.xks == xks);
    let Some(check) = check else {
        // The store changed since the proxy was asked.
        return Err(KmsError::CustomKeyStoreInvalidStateException(
            "The external key store changed during the request. Retry the request.".into(),
        ));
    };
    match &check.outcome {
        Ok(external) if external.is_usable() => Ok(ExternalKeyRef {
            store_id: store_id.to_string(),
            key_id: key_id.to_string(),
        }),
        Ok(_) => Err(KmsError::XksKeyInvalidConfigurationException(format!(
            "The external key {key_id} must be an enabled AES_256 key that performs encryption and decryption."
        ))),
        Err(failure) => Err(create_error(failure)),
    }
}

/// AWS's exception for `CreateKey` when the proxy's `GetKeyMetadata` fails.
fn create_error(failure: &Failure) -> KmsError {
    let message = xks_api::message(failure).to_string();
    match failure {
        Failure::Refused(_, Some(name)) => match name.as_str() {
            "KeyNotFoundException" => KmsError::XksKeyNotFoundException(message),
            "InvalidStateException" | "InvalidKeyUsageException" => {
                KmsError::XksKeyInvalidConfigurationException(message)
            }
            "AccessDeniedException" => KmsError::KMSInvalidStateException(message),
            _ => KmsError::CustomKeyStoreInvalidStateException(message),
        },
        _ => KmsError::CustomKeyStoreInvalidStateException(message),
    }
}

/// The external keys of every key (in any state) in the store `store_id`.
pub async fn keys_in_store(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    store_id: &str,
) -> KmsResult<Vec<ExternalKeyRef>> {
    let all = rampart_kit::entity::all(db, account, KEY_KIND, &repo::region_path(region))
        .await
        .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    let mut out = Vec::new();
    for entity in all {
        let key = repo::parse(entity)?;
        if let Some(r) = key.doc.external_key.filter(|r| r.store_id == store_id) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The proxy of a key's store, which must be connected (else AWS's
/// `KMSInvalidStateException`), and the external key id. The proxy is never called inside a
/// write transaction: a slow proxy (seconds, by AWS's timeouts) would hold the store's one
/// writer. A caller that seals through KMS (Secrets Manager, S3) does it in its route's
/// preparation, before its transaction.
async fn connected(db: &mut Db<'_>, ctx: &CallContext, key: &Key) -> KmsResult<(Probe, String)> {
    if db.is_write() {
        tracing::error!(key = %key.arn(), "kms: an external key store proxy call inside a write transaction");
        return Err(KmsError::KMSInternalException(
            "An internal error occurred.".into(),
        ));
    }
    let Some(r) = key.doc.external_key.as_ref() else {
        return Err(KmsError::KMSInternalException(
            "An internal error occurred.".into(),
        ));
    };
    let store = find_store(db, key.account(), &key.doc.region, &r.store_id).await?;
    match store.and_then(|s| s.xks.filter(|_| s.state == "CONNECTED")) {
        Some(xks) => Ok((probe(db, &r.store_id, &xks, &key.doc.region, ctx)?, r.key_id.clone())),
        None => Err(KmsError::KMSInvalidStateException(
            "This KMS key is in a custom key store that is not connected to its external key store proxy. Connect the external key store and try the request again.".into(),
        )),
    }
}

/// Runs a proxy call on a blocking thread; its failure is AWS's `KMSInvalidStateException`.
async fn off_thread<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> KmsResult<T> {
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(failure)) => Err(KmsError::KMSInvalidStateException(
            xks_api::message(&failure).into(),
        )),
        Err(_) => Err(KmsError::KMSInternalException(
            "An internal error occurred.".into(),
        )),
    }
}

/// The outer layer over `inner` (a version 1 blob under the key's own material) for a key in
/// an external key store: the proxy encrypts it with the external key. Other keys' blobs
/// are returned as they are.
pub async fn wrap(
    db: &mut Db<'_>,
    ctx: &CallContext,
    key: &Key,
    inner: Vec<u8>,
    context: &BTreeMap<String, String>,
    operation: &'static str,
) -> KmsResult<Vec<u8>> {
    if key.doc.external_key.is_none() {
        return Ok(inner);
    }
    let (probe, external) = connected(db, ctx, key).await?;
    let header = xks_api::outer_header(&inner)
        .ok_or_else(|| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    let aad = xks_api::aad(&header, context);
    let meta = request_metadata(ctx, Some(key.arn()), operation);
    let sealed =
        off_thread(move || xks_api::encrypt(&probe, &external, &meta, &inner, &aad)).await?;
    Ok(xks_api::encode(&header, &sealed))
}

/// The inner blob of a ciphertext for a key in an external key store, after the proxy
/// removes the outer layer (the key must be usable first: the proxy is not asked for a
/// disabled key). Other keys' ciphertexts are returned as they are.
pub async fn unwrap(
    db: &mut Db<'_>,
    ctx: &CallContext,
    key: &Key,
    data: &[u8],
    context: &BTreeMap<String, String>,
    operation: &'static str,
) -> KmsResult<Vec<u8>> {
    if key.doc.external_key.is_none() {
        return Ok(data.to_vec());
    }
    require_usable(key)?;
    let invalid = || {
        KmsError::InvalidCiphertextException(
            "The ciphertext is invalid, or was not made with this key and encryption context."
                .into(),
        )
    };
    let (header, sealed) = xks_api::decode(data).ok_or_else(invalid)?;
    if crypto::parse_header(data).map(|(id, _)| id).as_deref() != Some(key.id()) {
        return Err(KmsError::IncorrectKeyException(
            "The key ID in the request does not identify a KMS key that can perform this operation.".into(),
        ));
    }
    let (probe, external) = connected(db, ctx, key).await?;
    let aad = xks_api::aad(header, context);
    let header = header.to_vec();
    let meta = request_metadata(ctx, Some(key.arn()), operation);
    let inner =
        off_thread(move || xks_api::decrypt(&probe, &external, &meta, &sealed, &aad)).await?;
    // The inner blob must name the key and material the outer header names.
    if xks_api::outer_header(&inner).map(|h| h.to_vec()) != Some(header) {
        return Err(KmsError::KMSInvalidStateException(
            "The ciphertext that the external key store proxy submitted for decryption, or the encryption context, is corrupted, missing, or otherwise invalid.".into(),
        ));
    }
    Ok(inner.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(name: &str) -> Failure {
        Failure::Refused(400, Some(name.into()))
    }

    #[test]
    fn create_key_reports_proxy_refusals_as_aws_does() {
        assert!(matches!(
            create_error(&refused("KeyNotFoundException")),
            KmsError::XksKeyNotFoundException(m) if m.contains("was not found")
        ));
        for name in ["InvalidStateException", "InvalidKeyUsageException"] {
            assert!(matches!(
                create_error(&refused(name)),
                KmsError::XksKeyInvalidConfigurationException(_)
            ));
        }
        assert!(matches!(
            create_error(&refused("AccessDeniedException")),
            KmsError::KMSInvalidStateException(_)
        ));
        for f in [
            refused("AuthenticationFailedException"),
            Failure::Malformed,
            Failure::Connection("XKS_PROXY_NOT_REACHABLE"),
        ] {
            assert!(matches!(
                create_error(&f),
                KmsError::CustomKeyStoreInvalidStateException(_)
            ));
        }
    }

    #[tokio::test]
    async fn the_proxy_is_never_called_inside_a_write_transaction() {
        let (store, _dir) = rampart_kit::test_support::store().await;
        let ctx = rampart_kit::test_support::root_context();
        let made = crate::route(Op::CreateKey)
            .unwrap()
            .call_unaudited(serde_json::json!({}), &ctx, &store)
            .await
            .unwrap();
        let id = made["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        let mut key = repo::resolve(&mut Db::Read(&store), &ctx, &id)
            .await
            .unwrap();
        key.doc.external_key = Some(ExternalKeyRef {
            store_id: "cks-1234567890abcdef0".into(),
            key_id: "external".into(),
        });
        let mut tx = store.begin().await.unwrap();
        let sealed = wrap(
            &mut Db::Write(&mut tx),
            &ctx,
            &key,
            vec![1; 80],
            &BTreeMap::new(),
            "Encrypt",
        )
        .await;
        assert!(matches!(sealed, Err(KmsError::KMSInternalException(_))));
        // Outside a transaction the same call reaches the store lookup (no such store here).
        let read = wrap(
            &mut Db::Read(&store),
            &ctx,
            &key,
            vec![1; 80],
            &BTreeMap::new(),
            "Encrypt",
        )
        .await;
        assert!(matches!(read, Err(KmsError::KMSInvalidStateException(_))));
    }

    #[test]
    fn external_key_ids_follow_aws_pattern() {
        assert!(valid_key_id("key-1_v2.0"));
        assert!(!valid_key_id(""));
        assert!(!valid_key_id("a/b"));
        assert!(!valid_key_id(&"k".repeat(129)));
    }
}
