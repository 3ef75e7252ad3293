//! Sealing secret values with KMS data keys, as AWS does: `GenerateDataKey` (AES_256) under
//! the secret's KMS key for each new version, the value encrypted outside KMS with the
//! plaintext data key (AES-256-GCM), and `Decrypt` of the stored data key to read it back.
//! Both KMS calls are made on the caller's behalf (`kms:ViaService`) with the encryption
//! context `SecretARN`/`SecretVersionId`, and decided by the one authorizer, so key policies,
//! grants, identity policies and SCPs all apply.

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN},
    hmac,
    rand::{SecureRandom, SystemRandom},
};
use base64::Engine as _;
use rampart_store::{aad_for, Store};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{
    common::opt_str,
    error::{SmError, SmResult},
    model::Version,
};
use rampart_kit::{context::CallContext, db::Db, OnBehalfError};
use rampart_kms as kms;

/// Largest secret value, in bytes.
pub const MAX_VALUE_BYTES: usize = 65_536;

/// The service name Secrets Manager calls KMS as.
const SERVICE: &str = "secretsmanager";

/// A value sealed before its write transaction: what the handler stores as a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The ARN of the secret it was sealed for (new for `CreateSecret`).
    pub arn: String,
    /// The version id it was sealed for.
    pub version_id: String,
    /// The KMS key's ARN.
    pub kms_key_arn: String,
    /// The KMS ciphertext of the data key, base64.
    pub data_key: String,
    /// The sealed value, base64.
    pub ciphertext: String,
}

/// A secret value: a string or bytes (zeroized when dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plain {
    /// `SecretString`.
    Text(Zeroizing<String>),
    /// `SecretBinary`.
    Binary(Zeroizing<Vec<u8>>),
}

impl Plain {
    /// The value's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Plain::Text(s) => s.as_bytes(),
            Plain::Binary(b) => b,
        }
    }

    /// True for `SecretBinary`.
    pub fn is_binary(&self) -> bool {
        matches!(self, Plain::Binary(_))
    }
}

/// The value of a request (`SecretString` xor `SecretBinary`), if it has one.
pub fn value_of(input: &Value) -> SmResult<Option<Plain>> {
    let text = input.get("SecretString").and_then(Value::as_str);
    let binary = input.get("SecretBinary").and_then(Value::as_str);
    let value = match (text, binary) {
        (Some(_), Some(_)) => Err(SmError::InvalidParameterException(
            "You can't specify both a binary secret value and a string secret value in the same secret."
                .into(),
        )),
        (Some(t), None) => Ok(Some(Plain::Text(Zeroizing::new(t.to_string())))),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map(|v| Some(Plain::Binary(Zeroizing::new(v))))
            .map_err(|_| {
                SmError::InvalidParameterException("SecretBinary is not valid base64.".into())
            }),
        (None, None) => Ok(None),
    }?;
    // The model counts characters; AWS's quota is 64 KiB of bytes.
    if let Some(v) = &value {
        if v.bytes().len() > MAX_VALUE_BYTES {
            let member = if v.is_binary() {
                "secretBinary"
            } else {
                "secretString"
            };
            return Err(SmError::ValidationException(format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {MAX_VALUE_BYTES}"
            )));
        }
    }
    Ok(value)
}

/// The encryption context of a version, as AWS sets it.
pub fn encryption_context(arn: &str, version_id: &str) -> Value {
    json!({ "SecretARN": arn, "SecretVersionId": version_id })
}

fn encryption_failure() -> SmError {
    SmError::EncryptionFailure(
        "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state."
            .into(),
    )
}

fn decryption_failure() -> SmError {
    SmError::DecryptionFailure(
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
            .into(),
    )
}

/// KMS's entry for an operation Secrets Manager calls (always built).
fn kms_route(op: kms::Op) -> SmResult<rampart_kit::Route> {
    kms::route(op).ok_or_else(|| {
        tracing::error!(?op, "secretsmanager: a KMS operation it needs is not built");
        SmError::internal()
    })
}

/// Secrets Manager's answer to a KMS call that did not succeed: a refusal is AWS's
/// `AccessDeniedException`, a KMS failure (key disabled, pending deletion, not found) the
/// operation's `failure`, an internal one `InternalFailure`.
fn kms_error(err: OnBehalfError, failure: fn() -> SmError) -> SmError {
    let denied = || SmError::AccessDeniedException("Access to KMS is not allowed".into());
    match err {
        OnBehalfError::Refused(message) => {
            tracing::debug!(%message, "kms refused a call made through secrets manager");
            denied()
        }
        OnBehalfError::Failed(e) => match e.code {
            "KMSInternalException" | "InternalFailure" => SmError::internal(),
            "AccessDeniedException" => denied(),
            _ => failure(),
        },
    }
}

/// The KMS key a secret's new versions are sealed with: the `KmsKeyId` given, or the owning
/// account's AWS managed key `aws/secretsmanager` (created on first use, as AWS does; only the
/// owner's own calls can create it, since an AWS managed key never serves another account).
async fn key_id_for(
    store: &Store,
    ctx: &CallContext,
    owner: &str,
    kms_key_id: Option<&str>,
) -> SmResult<String> {
    if let Some(id) = kms_key_id {
        return Ok(id.to_string());
    }
    if owner != ctx.principal.account_id {
        return Err(SmError::AccessDeniedException(
            "Access to KMS is not allowed".into(),
        ));
    }
    let found = kms::repo::alias_target(
        &mut Db::Read(store),
        owner,
        &ctx.region,
        "alias/aws/secretsmanager",
    )
    .await
    .map_err(|e| kms_error(OnBehalfError::Failed(e.into()), encryption_failure))?;
    let id = match found {
        Some(id) => id,
        None => match kms::aws_managed::create_for_describe(store, ctx, SERVICE).await {
            Ok(key) => key.id().to_string(),
            // Another call created it first.
            Err(_) => kms::repo::alias_target(
                &mut Db::Read(store),
                owner,
                &ctx.region,
                "alias/aws/secretsmanager",
            )
            .await
            .map_err(|e| kms_error(OnBehalfError::Failed(e.into()), encryption_failure))?
            .ok_or_else(SmError::internal)?,
        },
    };
    Ok(kms::repo::key_arn(&ctx.region, owner, &id))
}

/// Seals `value` for version `version_id` of the secret `arn` (owned by `owner`): a data key
/// from KMS on the caller's behalf, then AES-256-GCM outside KMS.
pub async fn seal(
    store: &Store,
    ctx: &CallContext,
    owner: &str,
    arn: &str,
    version_id: &str,
    kms_key_id: Option<&str>,
    value: &Plain,
) -> SmResult<Sealed> {
    let key_id = key_id_for(store, ctx, owner, kms_key_id).await?;
    let via = ctx.on_behalf_of(SERVICE);
    let request = json!({
        "KeyId": key_id,
        "KeySpec": "AES_256",
        "EncryptionContext": encryption_context(arn, version_id),
    });
    let out = kms_route(kms::Op::GenerateDataKey)?
        .call_on_behalf(request, &via, store, Db::Read(store))
        .await
        .map_err(|e| kms_error(e, encryption_failure))?;
    let plain_key = b64_member(&out, "Plaintext")?;
    let data_key = opt_str(&out, "CiphertextBlob")
        .ok_or_else(SmError::internal)?
        .to_string();
    let kms_key_arn = opt_str(&out, "KeyId")
        .ok_or_else(SmError::internal)?
        .to_string();
    let ciphertext = aead_seal(&plain_key, &aead_aad(arn, version_id), value.bytes())?;
    Ok(Sealed {
        arn: arn.to_string(),
        version_id: version_id.to_string(),
        kms_key_arn,
        data_key,
        ciphertext: b64(&ciphertext),
    })
}

/// Opens a version of the secret `arn`: `Decrypt` of its data key on the caller's behalf.
pub async fn unseal(
    store: &Store,
    ctx: &CallContext,
    arn: &str,
    version: &Version,
) -> SmResult<Plain> {
    let via = ctx.on_behalf_of(SERVICE);
    let request = json!({
        "KeyId": version.kms_key_arn,
        "CiphertextBlob": version.data_key,
        "EncryptionContext": encryption_context(arn, &version.id),
    });
    let out = kms_route(kms::Op::Decrypt)?
        .call_on_behalf(request, &via, store, Db::Read(store))
        .await
        .map_err(|e| kms_error(e, decryption_failure))?;
    let plain_key = b64_member(&out, "Plaintext")?;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&version.ciphertext)
        .map_err(|_| decryption_failure())?;
    let bytes = aead_open(&plain_key, &aead_aad(arn, &version.id), &sealed)?;
    if version.binary {
        Ok(Plain::Binary(bytes))
    } else {
        String::from_utf8(bytes.to_vec())
            .map(|s| Plain::Text(Zeroizing::new(s)))
            .map_err(|_| decryption_failure())
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64_member(out: &Value, name: &str) -> SmResult<Zeroizing<Vec<u8>>> {
    let text = opt_str(out, name).ok_or_else(SmError::internal)?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|_| SmError::internal())
}

fn aead_aad(arn: &str, version_id: &str) -> Vec<u8> {
    format!("{arn}\n{version_id}").into_bytes()
}

fn aead_key(key: &[u8]) -> SmResult<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| SmError::internal())
}

/// AES-256-GCM with a random nonce, returned first.
fn aead_seal(key: &[u8], aad: &[u8], plain: &[u8]) -> SmResult<Vec<u8>> {
    let key = aead_key(key)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SmError::internal())?;
    let mut buf = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    )
    .map_err(|_| SmError::internal())?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens [`aead_seal`]'s output.
fn aead_open(key: &[u8], aad: &[u8], sealed: &[u8]) -> SmResult<Zeroizing<Vec<u8>>> {
    let key = aead_key(key)?;
    let (nonce, body) = sealed
        .split_at_checked(NONCE_LEN)
        .ok_or_else(decryption_failure)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| decryption_failure())?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| decryption_failure())?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn digest_aad(arn: &str) -> Vec<u8> {
    aad_for("secretsmanager:secret", "digest_key", arn)
}

/// A fresh digest key for a new secret, sealed under the master key (base64).
pub fn new_digest_key(db: &Db<'_>, arn: &str) -> SmResult<String> {
    let mut key = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(key.as_mut())
        .map_err(|_| SmError::internal())?;
    let sealed = db
        .master_key()
        .seal(&digest_aad(arn), key.as_ref())
        .map_err(|_| SmError::internal())?;
    Ok(b64(&sealed))
}

/// A secret's digest key sealed again for another ARN (its replica's), so both compute the
/// same digests.
pub fn reseal_digest_key(db: &Db<'_>, from: &str, to: &str, sealed_key: &str) -> SmResult<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed_key)
        .map_err(|_| SmError::internal())?;
    let key = db
        .master_key()
        .open(&digest_aad(from), &raw)
        .map_err(|_| SmError::internal())?;
    let sealed = db
        .master_key()
        .seal(&digest_aad(to), key.as_ref())
        .map_err(|_| SmError::internal())?;
    Ok(b64(&sealed))
}

/// The keyed digest of a value (hex): equal digests mean equal values, and the digest alone
/// reveals nothing without the sealed key.
pub fn digest(db: &Db<'_>, arn: &str, sealed_key: &str, value: &Plain) -> SmResult<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed_key)
        .map_err(|_| SmError::internal())?;
    let key = db
        .master_key()
        .open(&digest_aad(arn), &raw)
        .map_err(|_| SmError::internal())?;
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, &key));
    ctx.update(if value.is_binary() { b"b" } else { b"s" });
    ctx.update(value.bytes());
    Ok(hex::encode(ctx.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bind_their_version() {
        let key = [7u8; 32];
        let sealed = aead_seal(&key, b"arn\nv1", b"hunter2").unwrap();
        assert_eq!(
            aead_open(&key, b"arn\nv1", &sealed).unwrap().as_slice(),
            b"hunter2"
        );
        assert!(aead_open(&key, b"arn\nv2", &sealed).is_err());
        assert!(aead_open(&[8u8; 32], b"arn\nv1", &sealed).is_err());
        assert!(aead_open(&key, b"arn\nv1", &sealed[..4]).is_err());
    }

    #[test]
    fn a_request_has_one_value_at_most() {
        assert!(value_of(&json!({"SecretString": "a", "SecretBinary": "YQ=="})).is_err());
        assert_eq!(value_of(&json!({})).unwrap(), None);
        assert!(value_of(&json!({"SecretBinary": "YQ=="}))
            .unwrap()
            .unwrap()
            .is_binary());
        // 64 KiB of bytes, however many characters.
        assert!(value_of(&json!({"SecretString": "é".repeat(32_768)})).is_ok());
        assert!(value_of(&json!({"SecretString": "é".repeat(32_769)})).is_err());
    }
}
