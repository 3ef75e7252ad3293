//! Per-address limits: how many connections one client address holds open, and how many
//! requests it sends per second.
//!
//! Connections are counted with a ticket that gives its place back when dropped. Requests are
//! counted in a sliding one-second window (the current second's count plus the previous
//! second's, weighted by how much of it still lies in the window), so a client cannot send
//! twice the rate across a second's boundary. Both maps are bounded: idle addresses are
//! forgotten, and past [`MAX_ADDRESSES`] tracked addresses a new one is refused.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

/// Addresses tracked at once in each map.
pub const MAX_ADDRESSES: usize = 100_000;

/// A request window: the second it counts and its count, and the previous second's count.
#[derive(Debug, Clone, Copy)]
struct Window {
    second: u64,
    count: u32,
    previous: u32,
}

/// The per-address limits of one port (or of all listeners together).
#[derive(Debug)]
pub struct AddressLimiter {
    max_connections: u32,
    max_per_second: u32,
    start: Instant,
    conns: Mutex<HashMap<IpAddr, u32>>,
    rates: Mutex<HashMap<IpAddr, Window>>,
}

/// One connection's place in its address's count.
#[derive(Debug)]
pub struct AddressTicket {
    limiter: Arc<AddressLimiter>,
    ip: IpAddr,
}

impl Drop for AddressTicket {
    fn drop(&mut self) {
        let mut conns = self
            .limiter
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = conns.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                conns.remove(&self.ip);
            }
        }
    }
}

impl AddressLimiter {
    /// Limits of `max_connections` open connections and `max_per_second` requests per
    /// address (0: no rate limit).
    pub fn new(max_connections: u32, max_per_second: u32) -> AddressLimiter {
        AddressLimiter {
            max_connections: max_connections.max(1),
            max_per_second,
            start: Instant::now(),
            conns: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
        }
    }

    /// A place for a new connection from `ip`, or `None` when the address is at its cap.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<AddressTicket> {
        let mut conns = self
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !conns.contains_key(&ip) && conns.len() >= MAX_ADDRESSES {
            return None;
        }
        let n = conns.entry(ip).or_insert(0);
        if *n >= self.max_connections {
            return None;
        }
        *n = n.saturating_add(1);
        Some(AddressTicket {
            limiter: self.clone(),
            ip,
        })
    }

    /// Connections `ip` holds open now.
    pub fn open(&self, ip: IpAddr) -> u32 {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&ip)
            .copied()
            .unwrap_or(0)
    }

    /// Counts a request from `ip`; false when it is over the address's rate.
    pub fn request(&self, ip: IpAddr) -> bool {
        self.request_at(ip, self.start.elapsed().as_millis())
    }

    /// [`Self::request`] at `millis` since the limiter's start (tests pass their own time).
    pub fn request_at(&self, ip: IpAddr, millis: u128) -> bool {
        if self.max_per_second == 0 {
            return true;
        }
        let second = u64::try_from(millis / 1000).unwrap_or(u64::MAX);
        let into = u64::try_from(millis % 1000).unwrap_or(0);
        let mut rates = self
            .rates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rates.len() >= MAX_ADDRESSES && !rates.contains_key(&ip) {
            // Forget the addresses silent for more than a second before refusing any.
            rates.retain(|_, w| w.second.saturating_add(1) >= second);
            if rates.len() >= MAX_ADDRESSES {
                return false;
            }
        }
        let w = rates.entry(ip).or_insert(Window {
            second,
            count: 0,
            previous: 0,
        });
        if w.second != second {
            w.previous = if w.second.saturating_add(1) == second {
                w.count
            } else {
                0
            };
            w.second = second;
            w.count = 0;
        }
        // The share of the previous second still inside the one-second window.
        let carried = u64::from(w.previous).saturating_mul(1000u64.saturating_sub(into)) / 1000;
        let in_window = carried.saturating_add(u64::from(w.count));
        if in_window >= u64::from(self.max_per_second) {
            return false;
        }
        w.count = w.count.saturating_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connections_are_capped_per_address_and_given_back() {
        let l = Arc::new(AddressLimiter::new(2, 0));
        let a = l.connect(ip("127.0.0.2")).unwrap();
        let _b = l.connect(ip("127.0.0.2")).unwrap();
        assert!(l.connect(ip("127.0.0.2")).is_none());
        // Another address is not affected.
        assert!(l.connect(ip("127.0.0.3")).is_some());
        drop(a);
        assert_eq!(l.open(ip("127.0.0.2")), 1);
        assert!(l.connect(ip("127.0.0.2")).is_some());
    }

    #[test]
    fn requests_are_capped_in_a_sliding_second() {
        let l = AddressLimiter::new(10, 5);
        let a = ip("127.0.0.2");
        for _ in 0..5 {
            assert!(l.request_at(a, 900));
        }
        assert!(!l.request_at(a, 950));
        // Another address has its own window.
        assert!(l.request_at(ip("127.0.0.3"), 950));
        // Just past the boundary 4 of the previous second's 5 still count: one more.
        assert!(l.request_at(a, 1100));
        assert!(!l.request_at(a, 1100));
        // Half way through, 2 carried and 1 counted: two more.
        assert!(l.request_at(a, 1500));
        assert!(l.request_at(a, 1500));
        assert!(!l.request_at(a, 1500));
        // After a silent second the window is empty.
        for _ in 0..5 {
            assert!(l.request_at(a, 3000));
        }
    }

    #[test]
    fn no_rate_limit_when_zero() {
        let l = AddressLimiter::new(1, 0);
        for _ in 0..10_000 {
            assert!(l.request_at(ip("127.0.0.2"), 0));
        }
    }
}
