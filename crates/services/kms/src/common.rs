//! Helpers every KMS family uses: input members, blobs, encryption contexts, key-state rules
//! and the `KeyMetadata` shape.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{
    error::{KmsError, KmsResult},
    model::KeyState,
    repo::Key,
};
pub(crate) use rampart_kit::input::opt_str;
use rampart_kit::{input, json_field::SetField, page};

/// A required string member (the wire layer has checked presence; this guards the rest).
pub fn req_str<'a>(input: &'a Value, name: &str) -> KmsResult<&'a str> {
    input::required(input, name, |name| {
        KmsError::ValidationException(format!("{name} is required."))
    })
}

/// A blob member, decoded (zeroized when dropped).
pub fn blob(input: &Value, name: &str) -> KmsResult<Option<Zeroizing<Vec<u8>>>> {
    let Some(s) = opt_str(input, name) else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map(|v| Some(Zeroizing::new(v)))
        .map_err(|_| KmsError::ValidationException(format!("{name} is not valid base64.")))
}

/// Base64 of bytes, as blobs are sent.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An encryption context member (a string map), sorted.
pub fn encryption_context(input: &Value, name: &str) -> KmsResult<BTreeMap<String, String>> {
    input::str_map(input, name)
        .map_err(|_| KmsError::ValidationException(format!("{name} values must be strings.")))
}

/// Epoch seconds, as awsJson sends timestamps.
pub fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// The key state rule of cryptographic operations: only an enabled key is usable.
pub fn require_usable(key: &Key) -> KmsResult<()> {
    match key.doc.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::DisabledException(format!(
            "{} is disabled.",
            key.arn()
        ))),
        other => Err(invalid_state(key, other)),
    }
}

/// The rule of management operations that a key pending deletion refuses.
pub fn require_not_pending_deletion(key: &Key) -> KmsResult<()> {
    match key.doc.state {
        s @ (KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) => {
            Err(invalid_state(key, s))
        }
        _ => Ok(()),
    }
}

/// `KMSInvalidStateException` for a key in `state`.
pub fn invalid_state(key: &Key, state: KeyState) -> KmsError {
    let what = match state {
        KeyState::Enabled => "enabled",
        KeyState::Disabled => "disabled",
        KeyState::PendingDeletion => "pending deletion",
        KeyState::PendingImport => "pending import",
        KeyState::PendingReplicaDeletion => "pending replica deletion",
    };
    KmsError::KMSInvalidStateException(format!("{} is {what}.", key.arn()))
}

/// The key usage must be `usage`.
pub fn require_usage(key: &Key, usage: &str, operation: &str) -> KmsResult<()> {
    if key.doc.key_usage == usage {
        Ok(())
    } else {
        Err(KmsError::InvalidKeyUsageException(format!(
            "{} key usage is {} which is not valid for {operation}.",
            key.arn(),
            key.doc.key_usage
        )))
    }
}

/// AWS's `KeyMetadata` of a key.
pub fn metadata(key: &Key) -> Value {
    let d = &key.doc;
    let spec = d.spec();
    let mut m = json!({
        "AWSAccountId": key.account(),
        "KeyId": key.id(),
        "Arn": key.arn(),
        "CreationDate": epoch(key.entity.created_at),
        "Enabled": d.state == KeyState::Enabled,
        "Description": d.description,
        "KeyUsage": d.key_usage,
        "KeyState": d.state.as_str(),
        "Origin": d.origin,
        "KeyManager": d.key_manager,
        "CustomerMasterKeySpec": d.key_spec,
        "KeySpec": d.key_spec,
        "MultiRegion": d.multi_region.is_some(),
    });
    if let Some(config) = super::multi_region::configuration(key) {
        m.set_field("MultiRegionConfiguration", config);
    }
    let enc = spec.encryption_algorithms(&d.key_usage);
    if !enc.is_empty() {
        m.set_field("EncryptionAlgorithms", json!(enc));
    }
    let sig = spec.signing_algorithms(&d.key_usage);
    if !sig.is_empty() {
        m.set_field("SigningAlgorithms", json!(sig));
    }
    let mac = spec.mac_algorithms();
    if !mac.is_empty() {
        m.set_field("MacAlgorithms", json!(mac));
    }
    let agreement = spec.key_agreement_algorithms(&d.key_usage);
    if !agreement.is_empty() {
        m.set_field("KeyAgreementAlgorithms", json!(agreement));
    }
    if let Some(date) = d.deletion_date {
        m.set_field("DeletionDate", epoch(date));
    }
    if let Some(days) = d.pending_window_days {
        m.set_field("PendingDeletionWindowInDays", json!(days));
    }
    if d.origin == "EXTERNAL" {
        m.set_field(
            "ExpirationModel",
            json!(d
                .expiration_model
                .clone()
                .unwrap_or_else(|| "KEY_MATERIAL_DOES_NOT_EXPIRE".into())),
        );
        if let Some(t) = d.current().and_then(|c| c.valid_to) {
            m.set_field("ValidTo", epoch(t));
        }
    }
    if let Some(r) = &d.external_key {
        m.set_field("CustomKeyStoreId", json!(r.store_id));
        m.set_field("XksKeyConfiguration", json!({ "Id": r.key_id }));
    }
    if let Some(c) = d.current() {
        if d.key_spec == "SYMMETRIC_DEFAULT" {
            m.set_field("CurrentKeyMaterialId", json!(c.id));
        }
    }
    m
}

/// Validates and returns `Limit` (1-1000, default 100) and the `Marker`.
pub fn paging(input: &Value) -> KmsResult<(usize, Option<String>)> {
    let limit = input["Limit"].as_i64().unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(KmsError::ValidationException(
            "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000".into(),
        ));
    }
    let limit = usize::try_from(limit).unwrap_or(100);
    Ok((limit, opt_str(input, "Marker").map(str::to_string)))
}

/// AWS's `InvalidMarkerException`: a marker this server did not issue for the list.
pub fn invalid_marker() -> KmsError {
    KmsError::InvalidMarkerException(
        "The request was rejected because the marker that specifies where pagination should next begin is not valid.".into(),
    )
}

/// The sort key a marker of a stored list (keys, aliases) names.
pub fn key_after(marker: Option<&str>) -> KmsResult<Option<String>> {
    marker
        .map(|m| page::decode(m).ok_or_else(invalid_marker))
        .transpose()
}

/// A page of an in-memory list: at most `limit` items from the offset the marker names. A
/// marker that is not an offset into the list is `InvalidMarkerException`.
pub fn page<T>(
    items: Vec<T>,
    limit: usize,
    marker: Option<&str>,
) -> KmsResult<(Vec<T>, Option<String>)> {
    let got = page::at_offset(items, marker, limit).ok_or_else(invalid_marker)?;
    Ok((got.items, got.next))
}

/// Adds `NextMarker`/`Truncated` to a list response.
pub fn with_marker(mut out: Value, next: Option<String>) -> Value {
    out.set_field("Truncated", json!(next.is_some()));
    if let Some(n) = next {
        out.set_field("NextMarker", json!(n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_markers() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(items.clone(), 2, None).unwrap();
        assert_eq!(first, vec![0, 1]);
        let (second, next) = page(items.clone(), 2, next.as_deref()).unwrap();
        assert_eq!(second, vec![2, 3]);
        let (last, next) = page(items.clone(), 10, next.as_deref()).unwrap();
        assert_eq!((last, next), (vec![4], None));
        let end = page::offset_token(5);
        assert_eq!(page(items.clone(), 2, Some(&end)).unwrap(), (vec![], None));
    }

    #[test]
    fn markers_outside_the_list_are_invalid() {
        let items: Vec<u32> = (0..5).collect();
        let huge = page::offset_token(usize::MAX);
        let past = page::offset_token(6);
        for marker in ["6", "18446744073709551615", "-1", "x", &huge, &past] {
            match page(items.clone(), 1000, Some(marker)) {
                Err(KmsError::InvalidMarkerException(_)) => {}
                other => panic!("marker {marker}: {other:?}"),
            }
        }
    }
}
