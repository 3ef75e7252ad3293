//! The process's open-file limit and the API connection cap derived from it.
//!
//! Every connection is a file descriptor, and so are the store's database, WAL and journal
//! files. Start-up raises the soft `RLIMIT_NOFILE` to the hard limit, then caps connections at
//! three quarters of it (and at least [`RESERVED_FDS`] below it), so that a flood of
//! connections can never take the descriptors the store needs.

/// Descriptors always left for the store (pooled connections' database, WAL and shared-memory
/// files, journal segments), the listener, the runtime and standard streams.
pub const RESERVED_FDS: u64 = 64;

/// The largest cap derived automatically; more takes an explicit `--max-connections`.
pub const AUTO_CAP_CEILING: u64 = 10_000;

/// The smallest cap, whatever the limit.
const MIN_CAP: u64 = 16;

/// Raises the soft open-file limit to the hard limit; returns the soft limit in force after.
/// `None` where the limit cannot be read (non-Unix).
pub fn raise_to_hard() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: `raised` is a valid rlimit; a refusal leaves the old limit in force.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                lim.rlim_cur = lim.rlim_max;
            } else {
                tracing::warn!(
                    soft = lim.rlim_cur,
                    hard = lim.rlim_max,
                    "cannot raise the open-file limit"
                );
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap for an open-file limit of `limit` (`None`: unknown) and a configured
/// `--max-connections` of `configured` (0: derive it). A configured cap above what the limit
/// allows is lowered to it.
pub fn connection_cap(limit: Option<u64>, configured: u64) -> u64 {
    let allowed = limit.map(|l| (l / 4 * 3).min(l.saturating_sub(RESERVED_FDS)));
    let cap = match (configured, allowed) {
        (0, Some(allowed)) => allowed.min(AUTO_CAP_CEILING),
        (0, None) => AUTO_CAP_CEILING,
        (n, Some(allowed)) => n.min(allowed),
        (n, None) => n,
    };
    cap.max(MIN_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_store() {
        assert_eq!(connection_cap(Some(256), 0), 192);
        assert_eq!(connection_cap(Some(1024), 0), 768);
        assert_eq!(connection_cap(Some(100), 0), 36);
        assert_eq!(connection_cap(Some(1 << 20), 0), AUTO_CAP_CEILING);
        assert_eq!(connection_cap(None, 0), AUTO_CAP_CEILING);
        assert_eq!(connection_cap(Some(10), 0), MIN_CAP);
    }

    #[test]
    fn a_configured_cap_is_bounded_by_the_limit() {
        assert_eq!(connection_cap(Some(256), 100), 100);
        assert_eq!(connection_cap(Some(256), 5000), 192);
        assert_eq!(connection_cap(Some(1 << 20), 50_000), 50_000);
    }

    #[test]
    fn raising_reports_a_limit_on_unix() {
        if cfg!(unix) {
            assert!(raise_to_hard().is_some_and(|l| l > 0));
        }
    }
}
