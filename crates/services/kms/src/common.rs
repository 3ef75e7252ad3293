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
use rampart_kit::json_field::SetField;

/// A string member, if present.
pub fn opt_str<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// A required string member (the wire layer has checked presence; this guards the rest).
pub fn req_str<'a>(input: &'a Value, name: &str) -> KmsResult<&'a str> {
    opt_str(input, name)
        .ok_or_else(|| KmsError::ValidationException(format!("{name} is required.")))
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
    let mut out = BTreeMap::new();
    if let Some(map) = input.get(name).and_then(Value::as_object) {
        for (k, v) in map {
            let v = v.as_str().ok_or_else(|| {
                KmsError::ValidationException(format!("{name} values must be strings."))
            })?;
            out.insert(k.clone(), v.to_string());
        }
    }
    Ok(out)
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
        KeyState::PendingDeletion => Err(invalid_state(key, KeyState::PendingDeletion)),
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
        "MultiRegion": false,
    });
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

/// A page of an in-memory list: items after the marker (an index), at most `limit`. A marker
/// that is not an index of the list is AWS's `InvalidMarkerException`.
pub fn page<T: Clone>(
    items: &[T],
    limit: usize,
    marker: Option<&str>,
) -> KmsResult<(Vec<T>, Option<String>)> {
    let invalid = || {
        KmsError::InvalidMarkerException(
            "The request was rejected because the marker that specifies where pagination should next begin is not valid.".into(),
        )
    };
    let start = match marker {
        Some(m) => m.parse::<usize>().map_err(|_| invalid())?,
        None => 0,
    };
    if start > items.len() {
        return Err(invalid());
    }
    let end = start.saturating_add(limit).min(items.len());
    let slice = items.get(start..end).unwrap_or_default().to_vec();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((slice, next))
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
        let (first, next) = page(&items, 2, None).unwrap();
        assert_eq!((first, next.as_deref()), (vec![0, 1], Some("2")));
        let (last, next) = page(&items, 10, Some("4")).unwrap();
        assert_eq!((last, next), (vec![4], None));
        assert_eq!(page(&items, 2, Some("5")).unwrap(), (vec![], None));
    }

    #[test]
    fn markers_outside_the_list_are_invalid() {
        let items: Vec<u32> = (0..5).collect();
        for marker in ["6", "18446744073709551615", "-1", "x"] {
            match page(&items, 1000, Some(marker)) {
                Err(KmsError::InvalidMarkerException(_)) => {}
                other => panic!("marker {marker}: {other:?}"),
            }
        }
    }
}
