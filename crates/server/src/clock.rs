//! The server's clock: system time plus an offset that only dev mode can advance
//! (`POST /_rampart/clock`), so tests can reach the end of a KMS deletion window, a rotation
//! date or a session's expiry without waiting. Request times (`aws:CurrentTime`, audit event
//! times, session expiry, the KMS scheduler) read this clock; SigV4's 15-minute window keeps
//! using the real time, since clients sign with theirs.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// System time plus a test offset (zero outside dev mode).
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// The current time on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `secs` (negative values are ignored: time never runs back).
    pub fn advance(&self, secs: i64) -> DateTime<Utc> {
        if secs > 0 {
            self.offset_secs.fetch_add(secs, Ordering::Relaxed);
        }
        self.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_only() {
        let c = Clock::default();
        let before = c.now();
        let after = c.advance(86_400);
        assert!(after - before >= Duration::seconds(86_400));
        let again = c.advance(-1_000_000);
        assert!(again >= after);
    }
}
