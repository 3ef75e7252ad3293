//! Timestamps as outputs carry them.

use chrono::{DateTime, SecondsFormat, Utc};

/// A timestamp as query-protocol and Organizations outputs carry it (RFC 3339, UTC, whole
/// seconds: `2026-12-06T15:05:24Z`).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn whole_seconds_in_utc() {
        let t = Utc
            .with_ymd_and_hms(2026, 12, 6, 15, 5, 24)
            .single()
            .unwrap_or_default();
        assert_eq!(
            ts(t + chrono::TimeDelta::milliseconds(789)),
            "2026-12-06T15:05:24Z"
        );
    }
}
