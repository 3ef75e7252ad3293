//! Cryptographic operations: `Encrypt`, `Decrypt`, `ReEncrypt`, `GenerateDataKey*`,
//! `GenerateDataKeyPair*`, `GenerateRandom`, `Sign`, `Verify`, `GenerateMac`, `VerifyMac`,
//! `GetPublicKey`. Key material is opened only for the call and zeroized when dropped. A key
//! in an external key store adds (and removes) the outer layer of its double encryption
//! through its proxy ([`xks_keys`]).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{
    common::{b64, blob, encryption_context, opt_str, req_str, require_usable, require_usage},
    crypto::{self, KeySpec},
    error::{KmsError, KmsResult},
    repo::{self, Key},
    xks_keys,
};
use rampart_kit::json_field::SetField;
use rampart_kit::{context::CallContext, db::Db};

/// Largest plaintext `Encrypt` accepts.
const MAX_PLAINTEXT: usize = 4096;

/// Encrypts under a symmetric key's current material; returns the blob and material id.
pub fn encrypt_symmetric(
    db: &Db<'_>,
    key: &Key,
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> KmsResult<(Vec<u8>, String)> {
    let current = key.doc.current().ok_or_else(|| {
        KmsError::KMSInvalidStateException(format!("{} has no key material.", key.arn()))
    })?;
    let material = repo::unseal(db, key.id(), current)?;
    let mid: [u8; crypto::MATERIAL_ID_LEN] = crypto::unhex(&current.id)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    let header = crypto::header(key.id(), &mid)
        .ok_or_else(|| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    let blob = crypto::encrypt_symmetric(
        &material,
        &header,
        &crypto::canonical_context(context),
        plaintext,
    )?;
    Ok((blob, current.id.clone()))
}

fn invalid_ciphertext() -> KmsError {
    KmsError::InvalidCiphertextException(
        "The ciphertext is invalid, or was not made with this key and encryption context.".into(),
    )
}

/// Decrypts a symmetric blob with the key it names; returns the plaintext and material id.
fn decrypt_symmetric(
    db: &Db<'_>,
    key: &Key,
    data: &[u8],
    context: &BTreeMap<String, String>,
) -> KmsResult<(Zeroizing<Vec<u8>>, String)> {
    let (kid, mid) = crypto::parse_header(data).ok_or_else(invalid_ciphertext)?;
    if kid != key.id() {
        return Err(KmsError::IncorrectKeyException(
            "The key ID in the request does not identify a KMS key that can perform this operation.".into(),
        ));
    }
    let mid = crypto::hex(&mid);
    let material = key
        .doc
        .materials
        .iter()
        .find(|m| m.id == mid)
        .ok_or_else(invalid_ciphertext)?;
    let secret = repo::unseal(db, key.id(), material)?;
    let plain = crypto::decrypt_symmetric(&secret, data, &crypto::canonical_context(context))
        .map_err(|_| invalid_ciphertext())?;
    Ok((plain, mid))
}

/// The key a ciphertext is decrypted with: `key_field` when given, else the one the symmetric
/// header names.
async fn source_key(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
    key_field: &str,
    data: &[u8],
) -> KmsResult<Key> {
    if let Some(id) = opt_str(input, key_field) {
        return repo::resolve(db, ctx, id).await;
    }
    let (id, _) = crypto::parse_header(data).ok_or_else(invalid_ciphertext)?;
    let key = repo::load_in_region(db, &ctx.region, &id)
        .await?
        .ok_or_else(invalid_ciphertext)?;
    if key.doc.region != ctx.region || repo::is_destroyed(&key.doc, ctx.now) {
        return Err(invalid_ciphertext());
    }
    Ok(key)
}

fn check_algorithm(key: &Key, algorithm: &str) -> KmsResult<()> {
    if key
        .doc
        .spec()
        .encryption_algorithms(&key.doc.key_usage)
        .contains(&algorithm)
    {
        Ok(())
    } else {
        Err(KmsError::InvalidKeyUsageException(format!(
            "{} does not support the encryption algorithm {algorithm}.",
            key.arn()
        )))
    }
}

/// Encrypts `plaintext` with any encryption key and algorithm.
fn encrypt_any(
    db: &Db<'_>,
    key: &Key,
    algorithm: &str,
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> KmsResult<Vec<u8>> {
    require_usable(key)?;
    require_usage(key, "ENCRYPT_DECRYPT", "Encrypt")?;
    check_algorithm(key, algorithm)?;
    if key.doc.spec() == KeySpec::SymmetricDefault {
        return Ok(encrypt_symmetric(db, key, context, plaintext)?.0);
    }
    if !context.is_empty() {
        return Err(KmsError::ValidationException(
            "EncryptionContext is not supported with asymmetric KMS keys.".into(),
        ));
    }
    let current = key.doc.current().ok_or_else(invalid_ciphertext)?;
    let material = repo::unseal(db, key.id(), current)?;
    crypto::rsa_encrypt(&material, algorithm, plaintext).map_err(|_| {
        KmsError::ValidationException(format!(
            "The plaintext is too long for {algorithm} with this key."
        ))
    })
}

/// Decrypts with any encryption key: the plaintext and, for symmetric keys, the material id.
fn decrypt_any(
    db: &Db<'_>,
    key: &Key,
    algorithm: &str,
    context: &BTreeMap<String, String>,
    data: &[u8],
) -> KmsResult<(Zeroizing<Vec<u8>>, Option<String>)> {
    require_usable(key)?;
    require_usage(key, "ENCRYPT_DECRYPT", "Decrypt")?;
    check_algorithm(key, algorithm)?;
    if key.doc.spec() == KeySpec::SymmetricDefault {
        let (p, m) = decrypt_symmetric(db, key, data, context)?;
        return Ok((p, Some(m)));
    }
    let current = key.doc.current().ok_or_else(invalid_ciphertext)?;
    let material = repo::unseal(db, key.id(), current)?;
    let p = crypto::rsa_decrypt(&material, algorithm, data).map_err(|_| invalid_ciphertext())?;
    Ok((p, None))
}

/// `Encrypt`.
pub async fn encrypt(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    let plaintext = blob(input, "Plaintext")?.unwrap_or_default();
    if plaintext.is_empty() || plaintext.len() > MAX_PLAINTEXT {
        return Err(KmsError::ValidationException(
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096".into(),
        ));
    }
    let algorithm = opt_str(input, "EncryptionAlgorithm").unwrap_or("SYMMETRIC_DEFAULT");
    let context = encryption_context(input, "EncryptionContext")?;
    let blob = encrypt_any(&db, &key, algorithm, &context, &plaintext)?;
    let blob = xks_keys::wrap(&mut db, ctx, &key, blob, &context, "Encrypt").await?;
    Ok(json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": key.arn(),
        "EncryptionAlgorithm": algorithm,
    }))
}

/// `Decrypt`.
pub async fn decrypt(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let data = blob(input, "CiphertextBlob")?.unwrap_or_default();
    let key = source_key(&mut db, ctx, input, "KeyId", &data).await?;
    let algorithm = opt_str(input, "EncryptionAlgorithm").unwrap_or("SYMMETRIC_DEFAULT");
    let context = encryption_context(input, "EncryptionContext")?;
    let data = xks_keys::unwrap(&mut db, ctx, &key, &data, &context, "Decrypt").await?;
    let (plain, material) = decrypt_any(&db, &key, algorithm, &context, &data)?;
    let mut out = json!({
        "KeyId": key.arn(),
        "Plaintext": b64(&plain),
        "EncryptionAlgorithm": algorithm,
    });
    if let Some(m) = material {
        out.set_field("KeyMaterialId", json!(m));
    }
    Ok(out)
}

/// `ReEncrypt`: decrypt under the source key, encrypt under the destination, in the server.
pub async fn re_encrypt(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let data = blob(input, "CiphertextBlob")?.unwrap_or_default();
    let source = source_key(&mut db, ctx, input, "SourceKeyId", &data).await?;
    let dest = repo::resolve(&mut db, ctx, req_str(input, "DestinationKeyId")?).await?;
    let src_alg = opt_str(input, "SourceEncryptionAlgorithm").unwrap_or("SYMMETRIC_DEFAULT");
    let dst_alg = opt_str(input, "DestinationEncryptionAlgorithm").unwrap_or("SYMMETRIC_DEFAULT");
    let src_ctx = encryption_context(input, "SourceEncryptionContext")?;
    let dst_ctx = encryption_context(input, "DestinationEncryptionContext")?;
    let data = xks_keys::unwrap(&mut db, ctx, &source, &data, &src_ctx, "ReEncrypt").await?;
    let (plain, src_mid) = decrypt_any(&db, &source, src_alg, &src_ctx, &data)?;
    let blob = encrypt_any(&db, &dest, dst_alg, &dst_ctx, &plain)?;
    let blob = xks_keys::wrap(&mut db, ctx, &dest, blob, &dst_ctx, "ReEncrypt").await?;
    let mut out = json!({
        "CiphertextBlob": b64(&blob),
        "SourceKeyId": source.arn(),
        "KeyId": dest.arn(),
        "SourceEncryptionAlgorithm": src_alg,
        "DestinationEncryptionAlgorithm": dst_alg,
    });
    if let Some(m) = src_mid {
        out.set_field("SourceKeyMaterialId", json!(m));
    }
    if let Some(c) = dest
        .doc
        .current()
        .filter(|_| dest.doc.spec() == KeySpec::SymmetricDefault)
    {
        out.set_field("DestinationKeyMaterialId", json!(c.id));
    }
    Ok(out)
}

/// A symmetric encryption key usable for data keys.
fn data_key_parent(key: &Key, operation: &str) -> KmsResult<()> {
    require_usable(key)?;
    require_usage(key, "ENCRYPT_DECRYPT", operation)?;
    if key.doc.spec() != KeySpec::SymmetricDefault {
        return Err(KmsError::InvalidKeyUsageException(format!(
            "{operation} requires a symmetric encryption KMS key; {} is {}.",
            key.arn(),
            key.doc.key_spec
        )));
    }
    Ok(())
}

/// `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext`.
pub async fn generate_data_key(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    with_plaintext: bool,
) -> KmsResult<Value> {
    let operation = if with_plaintext {
        "GenerateDataKey"
    } else {
        "GenerateDataKeyWithoutPlaintext"
    };
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    let len = match (opt_str(input, "KeySpec"), input["NumberOfBytes"].as_i64()) {
        (Some(_), Some(_)) => {
            return Err(KmsError::ValidationException(
                "KeySpec and NumberOfBytes cannot both be specified.".into(),
            ))
        }
        (Some("AES_256"), None) => 32,
        (Some("AES_128"), None) => 16,
        (Some(other), None) => {
            return Err(KmsError::ValidationException(format!(
                "KeySpec {other} is not valid."
            )))
        }
        (None, Some(n)) if (1..=1024).contains(&n) => n as usize,
        (None, Some(_)) => {
            return Err(KmsError::ValidationException(
                "NumberOfBytes must be between 1 and 1024.".into(),
            ))
        }
        (None, None) => {
            return Err(KmsError::ValidationException(
                "Please specify either number of bytes or key spec.".into(),
            ))
        }
    };
    data_key_parent(&key, operation)?;
    let context = encryption_context(input, "EncryptionContext")?;
    let plain = crypto::random(len)?;
    let (blob, mid) = encrypt_symmetric(&db, &key, &context, &plain)?;
    let blob = xks_keys::wrap(&mut db, ctx, &key, blob, &context, operation).await?;
    let mut out = json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": key.arn(),
        "KeyMaterialId": mid,
    });
    if with_plaintext {
        out.set_field("Plaintext", json!(b64(&plain)));
    }
    Ok(out)
}

/// `GenerateDataKeyPair` and `GenerateDataKeyPairWithoutPlaintext`.
pub async fn generate_data_key_pair(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    with_plaintext: bool,
) -> KmsResult<Value> {
    let operation = if with_plaintext {
        "GenerateDataKeyPair"
    } else {
        "GenerateDataKeyPairWithoutPlaintext"
    };
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    let pair_spec_name = req_str(input, "KeyPairSpec")?;
    let pair_spec = KeySpec::parse(pair_spec_name)
        .filter(|s| s.is_rsa() || s.is_ecc())
        .ok_or_else(|| {
            KmsError::ValidationException(format!("KeyPairSpec {pair_spec_name} is not supported."))
        })?;
    data_key_parent(&key, operation)?;
    if key.doc.external_key.is_some() {
        return Err(KmsError::UnsupportedOperationException(format!(
            "{operation} is not supported with a KMS key in a custom key store ({}).",
            key.arn()
        )));
    }
    let context = encryption_context(input, "EncryptionContext")?;
    let private = crypto::generate(pair_spec)?;
    let public = crypto::public_key_der(pair_spec, &private)?;
    let (blob, mid) = encrypt_symmetric(&db, &key, &context, &private)?;
    let mut out = json!({
        "PrivateKeyCiphertextBlob": b64(&blob),
        "PublicKey": b64(&public),
        "KeyId": key.arn(),
        "KeyPairSpec": pair_spec.as_str(),
        "KeyMaterialId": mid,
    });
    if with_plaintext {
        out.set_field("PrivateKeyPlaintext", json!(b64(&private)));
    }
    Ok(out)
}

/// `GenerateRandom`.
pub fn generate_random(input: &Value) -> KmsResult<Value> {
    if opt_str(input, "CustomKeyStoreId").is_some() {
        return Err(KmsError::UnsupportedOperationException(
            "Rampart does not provide custom key stores.".into(),
        ));
    }
    let n = input["NumberOfBytes"].as_i64().unwrap_or(0);
    if !(1..=1024).contains(&n) {
        return Err(KmsError::ValidationException(
            "NumberOfBytes must be between 1 and 1024.".into(),
        ));
    }
    let bytes = crypto::random(n as usize)?;
    Ok(json!({ "Plaintext": b64(&bytes) }))
}

/// The signing key, algorithm and message of `Sign`/`Verify`.
async fn signing_input(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    operation: &str,
) -> KmsResult<(Key, Zeroizing<Vec<u8>>, bool, String, Zeroizing<Vec<u8>>)> {
    let key = repo::resolve(db, ctx, req_str(input, "KeyId")?).await?;
    require_usable(&key)?;
    require_usage(&key, "SIGN_VERIFY", operation)?;
    let algorithm = req_str(input, "SigningAlgorithm")?.to_string();
    if !key
        .doc
        .spec()
        .signing_algorithms("SIGN_VERIFY")
        .contains(&algorithm.as_str())
    {
        return Err(KmsError::InvalidKeyUsageException(format!(
            "{} does not support the signing algorithm {algorithm}.",
            key.arn()
        )));
    }
    let is_digest = match opt_str(input, "MessageType").unwrap_or("RAW") {
        "RAW" => false,
        "DIGEST" => true,
        other => {
            return Err(KmsError::ValidationException(format!(
                "MessageType {other} is not supported."
            )))
        }
    };
    let message = blob(input, "Message")?.unwrap_or_default();
    if message.is_empty() || message.len() > MAX_PLAINTEXT {
        return Err(KmsError::ValidationException(
            "Message must be between 1 and 4096 bytes.".into(),
        ));
    }
    let current = key.doc.current().ok_or_else(invalid_ciphertext)?;
    let material = repo::unseal(db, key.id(), current)?;
    Ok((key, material, is_digest, algorithm, message))
}

fn digest_error(_: crypto::CryptoError) -> KmsError {
    KmsError::ValidationException(
        "The digest length does not match the signing algorithm's hash.".into(),
    )
}

/// `Sign`.
pub async fn sign(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (key, material, is_digest, algorithm, message) =
        signing_input(input, ctx, &mut db, "Sign").await?;
    let sig = crypto::sign(key.doc.spec(), &material, &algorithm, &message, is_digest)
        .map_err(digest_error)?;
    Ok(json!({ "KeyId": key.arn(), "Signature": b64(&sig), "SigningAlgorithm": algorithm }))
}

/// `Verify`: a signature that does not verify is `KMSInvalidSignatureException`, as in AWS.
pub async fn verify(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (key, material, is_digest, algorithm, message) =
        signing_input(input, ctx, &mut db, "Verify").await?;
    let sig = blob(input, "Signature")?.unwrap_or_default();
    let ok = crypto::verify(
        key.doc.spec(),
        &material,
        &algorithm,
        &message,
        is_digest,
        &sig,
    )
    .map_err(digest_error)?;
    if !ok {
        return Err(KmsError::KMSInvalidSignatureException(
            "The signature is not valid.".into(),
        ));
    }
    Ok(json!({ "KeyId": key.arn(), "SignatureValid": true, "SigningAlgorithm": algorithm }))
}

async fn mac_input(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    operation: &str,
) -> KmsResult<(Key, Zeroizing<Vec<u8>>, String, Zeroizing<Vec<u8>>)> {
    let key = repo::resolve(db, ctx, req_str(input, "KeyId")?).await?;
    require_usable(&key)?;
    require_usage(&key, "GENERATE_VERIFY_MAC", operation)?;
    let algorithm = req_str(input, "MacAlgorithm")?.to_string();
    if !key
        .doc
        .spec()
        .mac_algorithms()
        .contains(&algorithm.as_str())
    {
        return Err(KmsError::InvalidKeyUsageException(format!(
            "{} does not support the MAC algorithm {algorithm}.",
            key.arn()
        )));
    }
    let message = blob(input, "Message")?.unwrap_or_default();
    let current = key.doc.current().ok_or_else(invalid_ciphertext)?;
    let material = repo::unseal(db, key.id(), current)?;
    Ok((key, material, algorithm, message))
}

/// `GenerateMac`.
pub async fn generate_mac(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (key, material, algorithm, message) = mac_input(input, ctx, &mut db, "GenerateMac").await?;
    let tag = crypto::mac(key.doc.spec(), &material, &algorithm, &message)?;
    Ok(json!({ "Mac": b64(&tag), "MacAlgorithm": algorithm, "KeyId": key.arn() }))
}

/// `VerifyMac`: a MAC that does not match is `KMSInvalidMacException`.
pub async fn verify_mac(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (key, material, algorithm, message) = mac_input(input, ctx, &mut db, "VerifyMac").await?;
    let tag = blob(input, "Mac")?.unwrap_or_default();
    if !crypto::verify_mac(key.doc.spec(), &material, &algorithm, &message, &tag)? {
        return Err(KmsError::KMSInvalidMacException(
            "The MAC is not valid.".into(),
        ));
    }
    Ok(json!({ "KeyId": key.arn(), "MacValid": true, "MacAlgorithm": algorithm }))
}

/// `GetPublicKey`: the DER SubjectPublicKeyInfo of an asymmetric key.
pub async fn get_public_key(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    let spec = key.doc.spec();
    if !(spec.is_rsa() || spec.is_ecc()) {
        return Err(KmsError::UnsupportedOperationException(format!(
            "{} is not an asymmetric KMS key.",
            key.arn()
        )));
    }
    require_usable(&key)?;
    let current = key.doc.current().ok_or_else(invalid_ciphertext)?;
    let material = repo::unseal(&db, key.id(), current)?;
    let der = crypto::public_key_der(spec, &material)?;
    let mut out = json!({
        "KeyId": key.arn(),
        "PublicKey": b64(&der),
        "CustomerMasterKeySpec": key.doc.key_spec,
        "KeySpec": key.doc.key_spec,
        "KeyUsage": key.doc.key_usage,
    });
    let enc = spec.encryption_algorithms(&key.doc.key_usage);
    if !enc.is_empty() {
        out.set_field("EncryptionAlgorithms", json!(enc));
    }
    let sig = spec.signing_algorithms(&key.doc.key_usage);
    if !sig.is_empty() {
        out.set_field("SigningAlgorithms", json!(sig));
    }
    let agreement = spec.key_agreement_algorithms(&key.doc.key_usage);
    if !agreement.is_empty() {
        out.set_field("KeyAgreementAlgorithms", json!(agreement));
    }
    Ok(out)
}

/// `DeriveSharedSecret`: ECDH between the key pair's private key and the caller's public key
/// on the same curve; the raw shared secret in the clear (the model marks it sensitive, so
/// the trail never holds it). `Recipient` (a Nitro Enclave attestation) is refused: Rampart
/// has no enclaves to attest.
pub async fn derive_shared_secret(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> KmsResult<Value> {
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_usable(&key)?;
    require_usage(&key, "KEY_AGREEMENT", "DeriveSharedSecret")?;
    let algorithm = req_str(input, "KeyAgreementAlgorithm")?;
    if !key
        .doc
        .spec()
        .key_agreement_algorithms(&key.doc.key_usage)
        .contains(&algorithm)
    {
        return Err(KmsError::InvalidKeyUsageException(format!(
            "{} does not support the key agreement algorithm {algorithm}.",
            key.arn()
        )));
    }
    if input.get("Recipient").is_some_and(|r| !r.is_null()) {
        return Err(KmsError::UnsupportedOperationException(
            "Rampart has no Nitro Enclaves: Recipient attestation documents are not supported."
                .into(),
        ));
    }
    let peer = blob(input, "PublicKey")?.unwrap_or_default();
    let current = key.doc.current().ok_or_else(invalid_ciphertext)?;
    let material = repo::unseal(&db, key.id(), current)?;
    let secret = crypto::derive_shared_secret(key.doc.spec(), &material, &peer).map_err(|_| {
        KmsError::ValidationException(format!(
            "The public key is not a valid DER-encoded X.509 SubjectPublicKeyInfo on the curve of {} ({}).",
            key.arn(),
            key.doc.key_spec
        ))
    })?;
    if input["DryRun"].as_bool() == Some(true) {
        return Err(KmsError::DryRunOperationException(
            "The request would have succeeded, but the DryRun option is set.".into(),
        ));
    }
    Ok(json!({
        "KeyId": key.arn(),
        "SharedSecret": b64(&secret),
        "KeyAgreementAlgorithm": algorithm,
        "KeyOrigin": key.doc.origin,
    }))
}
