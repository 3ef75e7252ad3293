//! The server's clock: system time plus an offset that only dev mode can advance
//! (`POST /_rampart/clock`), so tests can reach the end of a KMS deletion window, a rotation
//! date or a session's expiry without waiting. Request times (`aws:CurrentTime`, audit event
//! times, session expiry, the KMS scheduler) read this clock; SigV4's 15-minute window keeps
//! using the real time, since clients sign with theirs.
//!
//! Advances are bounded: at most [`MAX_ADVANCE_SECS`] (100 years) per call, and never past
//! [`latest`] (9999-12-31T23:59:59Z, the end of AWS's four-digit-year timestamps). All
//! arithmetic is checked, so `now()` never panics whatever was asked of the clock.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};

/// Largest advance one call may make: 100 years of 365.25 days.
pub const MAX_ADVANCE_SECS: i64 = 3_155_760_000;

/// System time plus a test offset (zero outside dev mode).
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

/// Why an advance was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The clock only moves forward.
    #[error("advance_seconds must not be negative (the clock only moves forward)")]
    Negative,
    /// More than [`MAX_ADVANCE_SECS`] in one call.
    #[error("advance_seconds must be at most {MAX_ADVANCE_SECS} (100 years) per call")]
    TooLarge,
    /// The advance would move the clock past 9999-12-31T23:59:59Z.
    #[error("the advance would move the clock past 9999-12-31T23:59:59Z")]
    PastLatest,
}

/// The latest time the clock may show: 9999-12-31T23:59:59Z.
pub fn latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `base` moved by `offset_secs`, or `None` when that leaves chrono's range.
fn shifted(base: DateTime<Utc>, offset_secs: i64) -> Option<DateTime<Utc>> {
    base.checked_add_signed(TimeDelta::try_seconds(offset_secs)?)
}

impl Clock {
    /// The current time on this clock, never later than [`latest`].
    pub fn now(&self) -> DateTime<Utc> {
        let latest = latest();
        shifted(Utc::now(), self.offset_secs.load(Ordering::Relaxed))
            .map_or(latest, |t| t.min(latest))
    }

    /// Moves the clock forward by `secs`, within the bounds above; returns the new time.
    pub fn advance(&self, secs: i64) -> Result<DateTime<Utc>, ClockError> {
        if secs < 0 {
            return Err(ClockError::Negative);
        }
        if secs > MAX_ADVANCE_SECS {
            return Err(ClockError::TooLarge);
        }
        let latest = latest();
        self.offset_secs
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                let next = offset.checked_add(secs)?;
                shifted(Utc::now(), next)
                    .filter(|t| *t <= latest)
                    .map(|_| next)
            })
            .map_err(|_| ClockError::PastLatest)?;
        Ok(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_only() {
        let c = Clock::default();
        let before = c.now();
        let after = c.advance(86_400).unwrap();
        assert!(after - before >= TimeDelta::seconds(86_400));
        assert_eq!(c.advance(-1_000_000), Err(ClockError::Negative));
        assert!(c.now() >= after);
    }

    #[test]
    fn huge_advances_are_refused_and_now_keeps_working() {
        let c = Clock::default();
        assert_eq!(c.advance(i64::MAX), Err(ClockError::TooLarge));
        assert_eq!(c.advance(MAX_ADVANCE_SECS + 1), Err(ClockError::TooLarge));
        let before = c.now();
        assert!(before.timestamp() > 0);
        assert!(c.now() >= before);
    }

    #[test]
    fn the_clock_stops_short_of_year_10000() {
        let c = Clock::default();
        let mut refused = None;
        for _ in 0..200 {
            if let Err(e) = c.advance(MAX_ADVANCE_SECS) {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused, Some(ClockError::PastLatest));
        let now = c.now();
        assert!(now <= latest());
        assert!(now.format("%Y").to_string().starts_with("99"), "{now}");
        // One more second fits only if it stays within the range.
        match c.advance(1) {
            Ok(t) => assert!(t <= latest()),
            Err(e) => assert_eq!(e, ClockError::PastLatest),
        }
    }

    #[test]
    fn a_corrupt_offset_cannot_panic_now() {
        let c = Clock::default();
        c.offset_secs.store(i64::MAX, Ordering::Relaxed);
        assert_eq!(c.now(), latest());
        c.offset_secs.store(i64::MIN, Ordering::Relaxed);
        assert!(c.now() <= latest());
    }
}
