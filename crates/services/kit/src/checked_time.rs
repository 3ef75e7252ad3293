//! Checked date arithmetic for the request path: a date moved by a request-supplied or stored
//! period is `None` when it leaves chrono's range, instead of a panic.

use chrono::{DateTime, TimeDelta, Utc};

/// `t` plus `secs` seconds, if representable.
pub fn plus_secs(t: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
    t.checked_add_signed(TimeDelta::try_seconds(secs)?)
}

/// `t` plus `days` days, if representable.
pub fn plus_days(t: DateTime<Utc>, days: i64) -> Option<DateTime<Utc>> {
    t.checked_add_signed(TimeDelta::try_days(days)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_is_none_not_a_panic() {
        let now = Utc::now();
        assert_eq!(plus_secs(now, 60), Some(now + TimeDelta::seconds(60)));
        assert_eq!(plus_days(now, 7), Some(now + TimeDelta::days(7)));
        assert_eq!(plus_secs(now, i64::MAX), None);
        assert_eq!(plus_days(now, i64::MAX), None);
        assert_eq!(plus_days(DateTime::<Utc>::MAX_UTC, 1), None);
    }
}
