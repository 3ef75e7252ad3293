//! Helpers every Secrets Manager family uses: input members, timestamps and paging.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::error::{SmError, SmResult};

pub use rampart_kit::input::{opt_str, str_list};

/// A required string member (the wire layer has checked presence; this guards the rest).
pub fn req_str<'a>(input: &'a Value, name: &str) -> SmResult<&'a str> {
    rampart_kit::input::required(input, name, |name| {
        SmError::InvalidParameterException(format!("{name} is required."))
    })
}

/// Epoch seconds, as awsJson sends timestamps.
pub fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

fn invalid_token() -> SmError {
    SmError::InvalidNextTokenException("The NextToken value is invalid.".into())
}

/// The `MaxResults` of a list call, within `1..=max` (`default` when absent).
pub fn paging(input: &Value, default: usize, max: usize) -> SmResult<usize> {
    match input.get("MaxResults").and_then(Value::as_i64) {
        None => Ok(default),
        Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= max) => {
            Ok(usize::try_from(n).unwrap_or(default))
        }
        Some(n) => Err(SmError::InvalidParameterException(format!(
            "MaxResults {n} is not valid: enter a value between 1 and {max}."
        ))),
    }
}

/// The page of `items` the input's `NextToken` starts (the kit's offset tokens), and the
/// `NextToken` of the rest, if any.
pub fn page<T: Clone>(
    items: &[T],
    limit: usize,
    input: &Value,
) -> SmResult<(Vec<T>, Option<String>)> {
    let page = rampart_kit::page::at_offset(items.to_vec(), opt_str(input, "NextToken"), limit)
        .ok_or_else(invalid_token)?;
    Ok((page.items, page.next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_tokens() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(&items, 2, &json!({})).unwrap();
        assert_eq!(first, vec![0, 1]);
        let rest = page(&items, 10, &json!({"NextToken": next.unwrap()})).unwrap();
        assert_eq!(rest, (vec![2, 3, 4], None));
        assert!(page(&items, 10, &json!({"NextToken": "nope"})).is_err());
        let past_end = rampart_kit::page::offset_token(6);
        assert!(page(&items, 1, &json!({ "NextToken": past_end })).is_err());
        assert!(paging(&json!({"MaxResults": 0}), 10, 100).is_err());
    }
}
