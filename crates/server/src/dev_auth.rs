//! moto's `INITIAL_NO_AUTH_ACTION_COUNT` for dev mode: the first N API calls after
//! `POST /moto-api/reset-auth` (body: N) keep dev mode's leniency (an unknown access key acts
//! as the dev account's root), and every later call gets full enforcement (an unknown key is
//! `InvalidClientTokenId`). The limit starts infinite, so dev mode is lenient until a suite
//! asks otherwise; production mode is always strict.

use std::sync::Mutex;

/// The limit and the calls counted since it was set.
#[derive(Debug)]
pub struct DevAuth {
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
struct State {
    limit: f64,
    count: u64,
}

impl Default for DevAuth {
    fn default() -> Self {
        DevAuth {
            state: Mutex::new(State {
                limit: f64::INFINITY,
                count: 0,
            }),
        }
    }
}

impl DevAuth {
    /// Counts one API call; true when dev mode's leniency still applies to it.
    pub fn lenient(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // The count is below 2^53, so the comparison with a float limit is exact.
        #[expect(clippy::cast_precision_loss, reason = "count stays far below 2^53")]
        let lenient = (s.count as f64) < s.limit;
        s.count = s.count.saturating_add(1);
        lenient
    }

    /// Sets a new limit and restarts the count; returns the previous limit.
    pub fn reset(&self, limit: f64) -> f64 {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let previous = s.limit;
        *s = State { limit, count: 0 };
        previous
    }
}

/// Reads a `reset-auth` body: a number as moto's clients send it (`4`, `4.0`, `inf`).
pub fn parse_limit(body: &[u8]) -> Result<f64, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body must be a number".to_string())?;
    let n: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("the body must be a number, not {text:?}"))?;
    if n.is_nan() || n < 0.0 {
        return Err(format!("the body must be a number of calls, not {text:?}"));
    }
    Ok(n)
}

/// A limit as moto prints it (Python's `str(float)`): `inf`, `4.0`, `2.5`.
pub fn render_limit(limit: f64) -> String {
    format!("{limit:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leniency_ends_after_the_limit() {
        let d = DevAuth::default();
        assert!((0..100).all(|_| d.lenient()));
        assert_eq!(d.reset(2.0), f64::INFINITY);
        assert!(d.lenient());
        assert!(d.lenient());
        assert!(!d.lenient());
        assert_eq!(d.reset(f64::INFINITY), 2.0);
        assert!(d.lenient());
    }

    #[test]
    fn bodies_and_rendering() {
        assert_eq!(parse_limit(b"4"), Ok(4.0));
        assert_eq!(parse_limit(b"inf"), Ok(f64::INFINITY));
        assert!(parse_limit(b"x").is_err());
        assert!(parse_limit(b"-1").is_err());
        assert_eq!(render_limit(f64::INFINITY), "inf");
        assert_eq!(render_limit(4.0), "4.0");
    }
}
