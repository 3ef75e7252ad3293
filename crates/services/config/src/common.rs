//! Input helpers shared by Config's operations: names, limits, tokens and timestamps.

use chrono::{DateTime, TimeZone, Utc};
use rampart_kit::page::{at_offset, Page};
use serde_json::Value;

use crate::error::{ConfigError, ConfigResult};

/// The strings of a list member.
pub fn strings(input: &Value, member: &str) -> Vec<String> {
    rampart_kit::input::str_list(input, member)
}

/// A limit member within `0..=max` (0 or absent: `default`), else `InvalidLimitException`.
pub fn limit(input: &Value, member: &str, default: usize, max: usize) -> ConfigResult<usize> {
    match input.get(member).and_then(Value::as_i64) {
        None | Some(0) => Ok(default),
        Some(n) if n > 0 && usize::try_from(n).is_ok_and(|n| n <= max) => {
            Ok(usize::try_from(n).unwrap_or(default))
        }
        Some(n) => Err(ConfigError::InvalidLimitException(format!(
            "Value '{n}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to {max}"
        ))),
    }
}

/// The page of `items` at the request's token, or `InvalidNextTokenException`.
fn page<T>(items: Vec<T>, input: &Value, member: &str, max: usize) -> ConfigResult<Page<T>> {
    let token = input
        .get(member)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    at_offset(items, token, max).ok_or_else(|| {
        ConfigError::InvalidNextTokenException("The nextToken provided is invalid".into())
    })
}

/// The page of `items` at the request's token as an output: the page under `list`, each item
/// shown by `show`, and the next token (when more remain) under `token`.
pub fn paged<T>(
    items: Vec<T>,
    input: &Value,
    token: &str,
    max: usize,
    list: &str,
    show: impl FnMut(&T) -> Value,
) -> ConfigResult<Value> {
    let p = page(items, input, token, max)?;
    let mut v = serde_json::json!({ list: p.items.iter().map(show).collect::<Vec<_>>() });
    if let Some(next) = p.next {
        set(&mut v, token, Value::String(next));
    }
    Ok(v)
}

/// A timestamp member (epoch seconds, as awsJson sends them).
pub fn time(input: &Value, member: &str) -> Option<DateTime<Utc>> {
    let secs = input.get(member).and_then(Value::as_f64)?;
    let ms = (secs * 1000.0).round();
    if !ms.is_finite() {
        return None;
    }
    Utc.timestamp_millis_opt(ms as i64).single()
}

/// Random lowercase letters and digits (rule ids).
pub fn random_suffix(n: usize) -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    raw.chars().take(n).collect()
}

/// Sets `member` of a JSON object (outputs are built as objects; anything else is left).
pub fn set(v: &mut Value, member: &str, value: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(member.to_string(), value);
    }
}

/// The `ComplianceType` of a compliance object.
pub fn compliance_type(v: &Value) -> &str {
    v.get("ComplianceType")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
