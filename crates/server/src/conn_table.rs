//! The API port's open connections: a cap, and whom to shed when it is reached.
//!
//! When the table is full, a new connection still gets in: the oldest connection that has not
//! completed a request (and has none in flight) is shed first, since an idle flood never
//! completes one; failing that, the oldest connection idle between requests. Only when every
//! connection has a request in flight is the new one refused.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use tokio::sync::Notify;

/// One connection's progress, shared by its task, its request handler and the table.
#[derive(Debug, Default)]
pub struct ConnState {
    /// The client has sent at least one byte.
    pub saw_byte: AtomicBool,
    /// Requests whose head has arrived.
    pub started: AtomicU64,
    /// Requests answered.
    pub completed: AtomicU64,
    /// Signalled when the table sheds this connection.
    pub shed: Notify,
    /// Signalled when the connection's socket is closed and its place freed.
    pub closed: Notify,
}

impl ConnState {
    fn in_flight(&self) -> bool {
        self.started.load(Ordering::Relaxed) > self.completed.load(Ordering::Relaxed)
    }

    fn has_completed(&self) -> bool {
        self.completed.load(Ordering::Relaxed) > 0
    }
}

/// Counters reported in `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Connections open now.
    pub open: u64,
    /// The cap.
    pub cap: u64,
    /// Connections closed to make room for new ones.
    pub shed: u64,
    /// New connections refused because every open one had a request in flight.
    pub refused: u64,
    /// Connections closed for sending no byte in time after accept.
    pub first_byte_timeouts: u64,
    /// Connections closed for not completing their first request's head in time after accept.
    pub header_timeouts: u64,
}

/// The open connections, oldest first.
#[derive(Debug)]
pub struct ConnTable {
    cap: u64,
    // Ids grow with accept order, so the map iterates oldest first.
    conns: Mutex<(u64, BTreeMap<u64, Arc<ConnState>>)>,
    shed: AtomicU64,
    refused: AtomicU64,
    first_byte_timeouts: AtomicU64,
    header_timeouts: AtomicU64,
}

/// A connection's place in the table; dropping it frees the place.
#[derive(Debug)]
pub struct Ticket {
    table: Arc<ConnTable>,
    id: u64,
    /// The connection's progress.
    pub state: Arc<ConnState>,
    /// The connection shed to make room for this one, if any.
    pub made_room_from: Option<Arc<ConnState>>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut guard = self
            .table
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.1.remove(&self.id);
        drop(guard);
        self.state.closed.notify_one();
    }
}

impl ConnTable {
    /// A table admitting at most `cap` connections at once.
    pub fn new(cap: u64) -> ConnTable {
        ConnTable {
            cap: cap.max(1),
            conns: Mutex::new((0, BTreeMap::new())),
            shed: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            first_byte_timeouts: AtomicU64::new(0),
            header_timeouts: AtomicU64::new(0),
        }
    }

    /// Admits a new connection, shedding one if the table is full; `None` refuses it.
    pub fn admit(self: &Arc<Self>) -> Option<Ticket> {
        // No code panics while holding the lock; should one, the table itself is still sound.
        let mut guard = self
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (next_id, conns) = &mut *guard;
        let mut made_room_from = None;
        if u64::try_from(conns.len()).unwrap_or(u64::MAX) >= self.cap {
            let victim = conns
                .iter()
                .find(|(_, c)| !c.has_completed() && !c.in_flight())
                .or_else(|| conns.iter().find(|(_, c)| !c.in_flight()))
                .map(|(id, _)| *id);
            let Some(victim) = victim else {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            if let Some(state) = conns.remove(&victim) {
                // A stored permit: the connection's task sees it even if not yet waiting.
                state.shed.notify_one();
                self.shed.fetch_add(1, Ordering::Relaxed);
                made_room_from = Some(state);
            }
        }
        let id = *next_id;
        *next_id = next_id.wrapping_add(1);
        let state = Arc::new(ConnState::default());
        conns.insert(id, state.clone());
        Some(Ticket {
            table: self.clone(),
            id,
            state,
            made_room_from,
        })
    }

    /// Counts a connection closed before its first byte.
    pub fn note_first_byte_timeout(&self) {
        self.first_byte_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed before its first request's head was complete.
    pub fn note_header_timeout(&self) {
        self.header_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn stats(&self) -> ConnStats {
        let open = self
            .conns
            .lock()
            .map_or(0, |g| u64::try_from(g.1.len()).unwrap_or(u64::MAX));
        ConnStats {
            open,
            cap: self.cap,
            shed: self.shed.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            first_byte_timeouts: self.first_byte_timeouts.load(Ordering::Relaxed),
            header_timeouts: self.header_timeouts.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_sheds_the_oldest_connection_without_a_completed_request() {
        let table = Arc::new(ConnTable::new(3));
        let served = table.admit().unwrap();
        served.state.started.store(1, Ordering::Relaxed);
        served.state.completed.store(1, Ordering::Relaxed);
        let idle_old = table.admit().unwrap();
        let idle_new = table.admit().unwrap();
        let _newcomer = table.admit().expect("a new client gets in");
        let stats = table.stats();
        assert_eq!((stats.open, stats.shed), (3, 1));
        assert!(_newcomer.made_room_from.is_some());
        // The notification is stored for the oldest idle connection only.
        let shed = |t: &Ticket| futures_now(t.state.shed.notified());
        assert!(shed(&idle_old));
        assert!(!shed(&idle_new));
        assert!(!shed(&served));
    }

    #[test]
    fn connections_with_requests_in_flight_are_never_shed() {
        let table = Arc::new(ConnTable::new(2));
        let a = table.admit().unwrap();
        let b = table.admit().unwrap();
        for t in [&a, &b] {
            t.state.started.store(1, Ordering::Relaxed);
        }
        assert!(table.admit().is_none());
        assert_eq!(table.stats().refused, 1);
        // Once one finishes, it is idle between requests and may make room.
        b.state.completed.store(1, Ordering::Relaxed);
        assert!(table.admit().is_some());
        assert_eq!(table.stats().shed, 1);
    }

    #[test]
    fn dropping_a_ticket_frees_its_place() {
        let table = Arc::new(ConnTable::new(1));
        let a = table.admit().unwrap();
        assert_eq!(table.stats().open, 1);
        drop(a);
        assert_eq!(table.stats().open, 0);
    }

    /// Whether `fut` is ready on its first poll.
    fn futures_now<F: std::future::Future>(fut: F) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut fut = std::pin::pin!(fut);
        fut.as_mut().poll(&mut cx).is_ready()
    }
}
