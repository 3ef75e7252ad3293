//! Helpers every Secrets Manager family uses: input members, timestamps and paging.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::error::{SmError, SmResult};

/// A string member, if present.
pub fn opt_str<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// A required string member (the wire layer has checked presence; this guards the rest).
pub fn req_str<'a>(input: &'a Value, name: &str) -> SmResult<&'a str> {
    opt_str(input, name)
        .ok_or_else(|| SmError::InvalidParameterException(format!("{name} is required.")))
}

/// A list of strings member (absent: empty).
pub fn str_list(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Epoch seconds, as awsJson sends timestamps.
pub fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

fn invalid_token() -> SmError {
    SmError::InvalidNextTokenException("The NextToken value is invalid.".into())
}

/// The `MaxResults` (within `1..=max`, default `default`) and the start index of `NextToken`.
pub fn paging(input: &Value, default: usize, max: usize) -> SmResult<(usize, usize)> {
    let limit = match input.get("MaxResults").and_then(Value::as_i64) {
        None => default,
        Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= max) => {
            usize::try_from(n).unwrap_or(default)
        }
        Some(n) => {
            return Err(SmError::InvalidParameterException(format!(
                "MaxResults {n} is not valid: enter a value between 1 and {max}."
            )))
        }
    };
    let start = match opt_str(input, "NextToken") {
        None => 0,
        Some(t) => base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("sm:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(invalid_token)?,
    };
    Ok((limit, start))
}

/// A page of an in-memory list and the `NextToken` of the rest, if any.
pub fn page<T: Clone>(
    items: &[T],
    limit: usize,
    start: usize,
) -> SmResult<(Vec<T>, Option<String>)> {
    if start > items.len() {
        return Err(invalid_token());
    }
    let end = start.saturating_add(limit).min(items.len());
    let slice = items.get(start..end).unwrap_or_default().to_vec();
    let next = (end < items.len())
        .then(|| base64::engine::general_purpose::STANDARD.encode(format!("sm:{end}")));
    Ok((slice, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_tokens() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(&items, 2, 0).unwrap();
        assert_eq!(first, vec![0, 1]);
        let (_, start) = paging(&json!({"NextToken": next.unwrap()}), 10, 100).unwrap();
        assert_eq!(page(&items, 10, start).unwrap(), (vec![2, 3, 4], None));
        assert!(paging(&json!({"NextToken": "nope"}), 10, 100).is_err());
        assert!(paging(&json!({"MaxResults": 0}), 10, 100).is_err());
        assert!(page(&items, 1, 6).is_err());
    }
}
