//! Timestamp conversions: ISO 8601 text (awsQuery) and epoch seconds (awsJson and in memory).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

/// Parses an input timestamp as clients send it: RFC 3339 / ISO 8601 (with or without a zone,
/// fractional seconds optional; no zone means UTC), a bare date, or epoch seconds. Returns epoch
/// seconds.
pub(crate) fn parse_timestamp(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(to_epoch(dt.with_timezone(&Utc)));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(to_epoch(n.and_utc()));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|n| to_epoch(n.and_utc()));
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn to_epoch(dt: DateTime<Utc>) -> f64 {
    dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_millis()) / 1000.0
}

/// Epoch seconds as a JSON number: an integer when whole, else milliseconds precision.
pub(crate) fn epoch_to_json(secs: f64) -> Value {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        Value::from(secs as i64)
    } else {
        let ms = (secs * 1000.0).round() / 1000.0;
        serde_json::Number::from_f64(ms)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Reads an in-memory timestamp: a number (epoch seconds) or an RFC 3339 string.
pub(crate) fn value_to_epoch(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_timestamp(s),
        _ => None,
    }
}

/// Formats epoch seconds as AWS's ISO 8601 (`2024-01-02T03:04:05Z`, milliseconds only when
/// present).
pub(crate) fn format_iso8601(secs: f64) -> Option<String> {
    let whole = secs.floor();
    let millis = ((secs - whole) * 1000.0).round() as u32;
    let (whole, millis) = if millis >= 1000 {
        (whole + 1.0, 0)
    } else {
        (whole, millis)
    };
    if !(-1.0e13..=1.0e13).contains(&whole) {
        return None;
    }
    let dt = DateTime::<Utc>::from_timestamp(whole as i64, millis * 1_000_000)?;
    let fmt = if millis == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Millis
    };
    Some(dt.to_rfc3339_opts(fmt, true))
}

/// Formats epoch seconds as ISO 8601 with milliseconds always written
/// (`2024-01-02T03:04:05.000Z`), as S3 writes timestamps in its XML bodies.
pub(crate) fn format_iso8601_millis(secs: f64) -> Option<String> {
    if !(-1.0e13..=1.0e13).contains(&secs) {
        return None;
    }
    let millis = (secs * 1000.0).round() as i64;
    let dt = DateTime::<Utc>::from_timestamp_millis(millis)?;
    Some(dt.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Formats epoch seconds as an RFC 7231 HTTP date (`Tue, 02 Jan 2024 03:04:05 GMT`).
pub(crate) fn format_http_date(secs: f64) -> Option<String> {
    if !(-1.0e13..=1.0e13).contains(&secs) {
        return None;
    }
    let dt = DateTime::<Utc>::from_timestamp(secs.floor() as i64, 0)?;
    Some(dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

/// Parses an RFC 7231 HTTP date (restJson1's header timestamps), else what
/// [`parse_timestamp`] reads. Returns epoch seconds.
pub(crate) fn parse_http_date(s: &str) -> Option<f64> {
    match DateTime::parse_from_rfc2822(s.trim()) {
        Ok(dt) => Some(to_epoch(dt.with_timezone(&Utc))),
        Err(_) => parse_timestamp(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_timestamp("2024-01-02T03:04:05Z"), Some(1704164645.0));
        assert_eq!(
            parse_timestamp("2024-01-02T03:04:05.250Z"),
            Some(1704164645.25)
        );
        assert_eq!(
            parse_timestamp("2024-01-02T04:04:05+01:00"),
            Some(1704164645.0)
        );
        assert_eq!(parse_timestamp("2024-01-02T03:04:05"), Some(1704164645.0));
        assert_eq!(parse_timestamp("2024-01-02"), Some(1704153600.0));
        assert_eq!(parse_timestamp("1704164645"), Some(1704164645.0));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(
            format_iso8601(1704164645.0).unwrap(),
            "2024-01-02T03:04:05Z"
        );
        assert_eq!(
            format_iso8601(1704164645.25).unwrap(),
            "2024-01-02T03:04:05.250Z"
        );
        assert_eq!(epoch_to_json(1704164645.0), serde_json::json!(1704164645));
        assert_eq!(
            epoch_to_json(1704164645.25),
            serde_json::json!(1704164645.25)
        );
        assert_eq!(format_iso8601(f64::MAX), None);
        assert_eq!(
            format_iso8601_millis(1704164645.0).unwrap(),
            "2024-01-02T03:04:05.000Z"
        );
        assert_eq!(
            format_iso8601_millis(1704164645.25).unwrap(),
            "2024-01-02T03:04:05.250Z"
        );
        assert_eq!(format_iso8601_millis(f64::MAX), None);
        assert_eq!(
            format_http_date(1704164645.0).unwrap(),
            "Tue, 02 Jan 2024 03:04:05 GMT"
        );
        assert_eq!(
            parse_http_date("Tue, 02 Jan 2024 03:04:05 GMT"),
            Some(1704164645.0)
        );
        assert_eq!(parse_http_date("2024-01-02T03:04:05Z"), Some(1704164645.0));
    }
}
