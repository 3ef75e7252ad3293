//! Reading S3 inputs: the members every operation names (`Bucket`, `Key`) and S3's own forms
//! of numbers and dates.

use rampart_kit::input::opt_str;
use serde_json::Value;

use crate::error::{S3Error, S3Result};

/// A required string member; S3 answers a missing one with `InvalidRequest`.
pub fn req_str<'a>(input: &'a Value, key: &str) -> S3Result<&'a str> {
    opt_str(input, key)
        .ok_or_else(|| S3Error::InvalidRequest(format!("Missing required parameter {key}")))
}

/// The `Bucket` member.
pub fn bucket_name(input: &Value) -> S3Result<&str> {
    req_str(input, "Bucket")
}

/// The `Key` member.
pub fn key(input: &Value) -> S3Result<&str> {
    req_str(input, "Key")
}

/// An optional string member that is not empty.
pub fn opt_nonempty<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    opt_str(input, key).filter(|s| !s.is_empty())
}

/// A timestamp member as the wire layer decodes it (epoch seconds, or an RFC 3339 string),
/// in whole seconds.
pub fn opt_time(input: &Value, key: &str) -> Option<i64> {
    match input.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp()),
        _ => None,
    }
}
