//! Imported key material: `GetParametersForImport`, `ImportKeyMaterial`,
//! `DeleteImportedKeyMaterial` for keys with origin `EXTERNAL` (symmetric keys).
//!
//! The import token is `0x01 || key id (16) || token id (16)`; the wrapping key's private half
//! is sealed in the key's document until the token is used or expires (24 hours).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    common::{b64, blob, epoch, invalid_state, opt_str, req_str},
    crypto::{self, KeySpec},
    error::{KmsError, KmsResult},
    model::{ImportParams, KeyState, Material},
    repo::{self, Key},
};
use rampart_kit::json_field::SetField;
use rampart_kit::{context::CallContext, db::Db};

const TOKEN_V1: u8 = 1;
/// How long import parameters stay valid.
const PARAMETERS_HOURS: i64 = 24;

fn require_external(key: &Key) -> KmsResult<()> {
    if key.doc.origin != "EXTERNAL" {
        return Err(KmsError::UnsupportedOperationException(format!(
            "{} origin is {}, not EXTERNAL.",
            key.arn(),
            key.doc.origin
        )));
    }
    Ok(())
}

/// The raw key id an import token is bound to.
fn key_uuid(key: &Key) -> KmsResult<[u8; 16]> {
    crypto::key_id_bytes(key.id())
        .map(|(_, raw)| raw)
        .ok_or_else(|| KmsError::KMSInternalException("An internal error occurred.".into()))
}

/// `GetParametersForImport`: a fresh RSA wrapping key and an import token.
pub async fn get_parameters(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_external(&key)?;
    if key.doc.state == KeyState::PendingDeletion {
        return Err(invalid_state(&key, KeyState::PendingDeletion));
    }
    let algorithm = req_str(input, "WrappingAlgorithm")?;
    if !matches!(algorithm, "RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256") {
        return Err(KmsError::UnsupportedOperationException(format!(
            "Rampart supports the wrapping algorithms RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256, not {algorithm}."
        )));
    }
    let spec = match req_str(input, "WrappingKeySpec")? {
        "RSA_2048" => KeySpec::Rsa2048,
        "RSA_3072" => KeySpec::Rsa3072,
        "RSA_4096" => KeySpec::Rsa4096,
        other => {
            return Err(KmsError::ValidationException(format!(
                "WrappingKeySpec {other} is not supported."
            )))
        }
    };
    let private = crypto::generate(spec)?;
    let public = crypto::public_key_der(spec, &private)?;
    let token_id = crypto::random(16)?;
    let valid_to =
        rampart_kit::checked_time::plus_secs(ctx.now, PARAMETERS_HOURS.saturating_mul(3600))
            .ok_or_else(|| {
                KmsError::KMSInternalException("The resulting date is out of range.".into())
            })?;
    key.doc.import = Some(ImportParams {
        token_id: crypto::hex(&token_id),
        sealed_wrapping_key: repo::seal_other(&db, key.id(), "wrapping-key", &private)?,
        wrapping_algorithm: algorithm.to_string(),
        valid_to,
    });
    let mut token = vec![TOKEN_V1];
    token.extend_from_slice(&key_uuid(&key)?);
    token.extend_from_slice(&token_id);
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({
        "KeyId": key.arn(),
        "ImportToken": b64(&token),
        "PublicKey": b64(&public),
        "ParametersValidTo": epoch(valid_to),
    }))
}

fn expiry(input: &Value, now: DateTime<Utc>) -> KmsResult<(String, Option<DateTime<Utc>>)> {
    let model = opt_str(input, "ExpirationModel").unwrap_or("KEY_MATERIAL_EXPIRES");
    let valid_to = input["ValidTo"]
        .as_f64()
        .and_then(|s| DateTime::from_timestamp(s as i64, 0));
    match (model, valid_to) {
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", None) => Ok((model.into(), None)),
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", Some(_)) => Err(KmsError::ValidationException(
            "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.".into(),
        )),
        ("KEY_MATERIAL_EXPIRES", Some(t))
            if t > now
                && rampart_kit::checked_time::plus_days(now, 365).is_some_and(|max| t <= max) =>
        {
            Ok((model.into(), Some(t)))
        }
        ("KEY_MATERIAL_EXPIRES", Some(_)) => Err(KmsError::ValidationException(
            "ValidTo must be in the future and at most 365 days away.".into(),
        )),
        ("KEY_MATERIAL_EXPIRES", None) => Err(KmsError::ValidationException(
            "A ValidTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES.".into(),
        )),
        (other, _) => Err(KmsError::ValidationException(format!(
            "ExpirationModel {other} is not valid."
        ))),
    }
}

/// `ImportKeyMaterial`: unwraps 256-bit material; a re-import must bring the same material.
pub async fn import(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_external(&key)?;
    if key.doc.state == KeyState::PendingDeletion {
        return Err(invalid_state(&key, KeyState::PendingDeletion));
    }
    let token = blob(input, "ImportToken")?.unwrap_or_default();
    let invalid = || {
        KmsError::InvalidImportTokenException("The import token is not valid for this key.".into())
    };
    // The token: version byte, the key's UUID (16 bytes), the token id (16 bytes).
    let Some((uuid, token_id)) = token
        .split_first()
        .filter(|(v, rest)| **v == TOKEN_V1 && rest.len() == 32)
        .and_then(|(_, rest)| rest.split_at_checked(16))
    else {
        return Err(invalid());
    };
    if uuid != key_uuid(&key)? {
        return Err(invalid());
    }
    let params = key.doc.import.clone().ok_or_else(invalid)?;
    if crypto::hex(token_id) != params.token_id {
        return Err(invalid());
    }
    if params.valid_to <= ctx.now {
        return Err(KmsError::ExpiredImportTokenException(
            "The import token has expired.".into(),
        ));
    }
    let (model, valid_to) = expiry(input, ctx.now)?;
    let wrapped = blob(input, "EncryptedKeyMaterial")?.unwrap_or_default();
    let wrapping = repo::unseal_other(&db, key.id(), "wrapping-key", &params.sealed_wrapping_key)?;
    let material =
        crypto::rsa_decrypt(&wrapping, &params.wrapping_algorithm, &wrapped).map_err(|_| {
            KmsError::InvalidCiphertextException(
                "The EncryptedKeyMaterial cannot be decrypted with the import parameters.".into(),
            )
        })?;
    if material.len() != 32 {
        return Err(KmsError::IncorrectKeyMaterialException(
            "Symmetric key material must be 256 bits.".into(),
        ));
    }
    // The material id is a fingerprint, so a re-import is recognized as the same material.
    let id = crypto::hex(&crypto::sha256(&material));
    let sealed = repo::seal(&db, key.id(), &id, &material)?;
    match key.doc.materials.first_mut() {
        Some(existing) if existing.id != id => {
            return Err(KmsError::IncorrectKeyMaterialException(
                "The key material is not the key material previously imported into this key."
                    .into(),
            ))
        }
        Some(existing) => {
            existing.sealed = Some(sealed);
            existing.valid_to = valid_to;
        }
        None => key.doc.materials.push(Material {
            id: id.clone(),
            sealed: Some(sealed),
            created: ctx.now,
            rotation_type: None,
            valid_to,
        }),
    }
    key.doc.expiration_model = Some(model);
    key.doc.import = None;
    if key.doc.state == KeyState::PendingImport {
        key.doc.state = KeyState::Enabled;
    }
    repo::save(&mut db, &mut key, ctx.now).await?;
    super::multi_region::share_imported_id(&mut db, &key, ctx.now).await?;
    Ok(json!({ "KeyId": key.arn(), "KeyMaterialId": id }))
}

/// `DeleteImportedKeyMaterial`: the key becomes unusable until the same material is imported.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_external(&key)?;
    if key.doc.state == KeyState::PendingImport {
        return Err(invalid_state(&key, KeyState::PendingImport));
    }
    let mut id = None;
    for m in &mut key.doc.materials {
        m.sealed = None;
        id = Some(m.id.clone());
    }
    if key.doc.state != KeyState::PendingDeletion {
        key.doc.state = KeyState::PendingImport;
    }
    repo::save(&mut db, &mut key, ctx.now).await?;
    let mut out = json!({ "KeyId": key.arn() });
    if let Some(id) = id {
        out.set_field("KeyMaterialId", json!(id));
    }
    Ok(out)
}
