//! Shield Standard: the limits every load balancer listener and the API port apply to every
//! client, and the attacks they detect.
//!
//! - header and body read timeouts (Slowloris, slow POST), from accept for the first request;
//! - a cap on the connections one address holds open ([`limiter`]), on each port;
//! - a cap on the requests one address sends per second (listeners);
//! - a cap on a listener's open connections: past it the oldest connection that never
//!   completed a request is shed first (`conn_table`), so clients that keep completing
//!   requests keep their connections; and a bounded accept backlog.
//!
//! Each tripped limit on a listener is an observation on its load balancer, folded into
//! attacks by [`rampart_services::shield::detect::Tracker`] and stored by the [`job`]s, which
//! also run the automatic response.

pub mod job;
pub mod limiter;

use std::{net::IpAddr, sync::Arc, time::Duration};

use rampart_services::shield::detect::{Observation, Tracker, Vector};

use crate::config::ServeConfig;

/// The Shield Standard settings, from `rampart serve`'s flags.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Time a listener's client has to send a request's headers.
    pub header_timeout: Duration,
    /// Time a listener's client has to send a request's body.
    pub body_timeout: Duration,
    /// Connections one address may hold open on a port.
    pub max_connections_per_address: u32,
    /// Requests one address may send a listener per second (0: no cap).
    pub max_requests_per_second: u32,
    /// Connections a listener holds open at once.
    pub max_listener_connections: u64,
    /// The listen backlog of each listener.
    pub accept_backlog: u32,
    /// Seconds without a tripped limit after which an attack has ended.
    pub attack_quiet_secs: i64,
    /// Requests per minute and address the automatic response's rule allows.
    pub mitigation_limit: u64,
}

impl Settings {
    /// The settings `config` gives.
    pub fn from_config(c: &ServeConfig) -> Settings {
        Settings {
            header_timeout: Duration::from_millis(c.shield_header_timeout_ms.max(100)),
            body_timeout: Duration::from_millis(c.shield_body_timeout_ms.max(100)),
            max_connections_per_address: c.shield_max_connections_per_address.max(1),
            max_requests_per_second: c.shield_max_requests_per_second,
            max_listener_connections: c.shield_max_listener_connections.max(1),
            accept_backlog: c.shield_accept_backlog.clamp(16, 65_535),
            attack_quiet_secs: i64::try_from(c.shield_attack_quiet_secs.max(1)).unwrap_or(60),
            // AWS's smallest rate-based limit is 10.
            mitigation_limit: c.shield_mitigation_limit.max(10),
        }
    }
}

/// What the listeners and the API port share: the settings, the listeners' per-address
/// limits, the API port's, and the attack tracker.
pub struct Guard {
    /// The settings.
    pub settings: Settings,
    /// Per-address limits across all listeners.
    pub listeners: Arc<limiter::AddressLimiter>,
    /// Per-address connection limit of the API port (no request rate: AWS throttles its
    /// APIs per account, not per address).
    pub api: Arc<limiter::AddressLimiter>,
    /// Open attacks.
    pub tracker: Tracker,
}

impl Guard {
    /// A guard with `settings`.
    pub fn new(settings: Settings) -> Guard {
        Guard {
            settings,
            listeners: Arc::new(limiter::AddressLimiter::new(
                settings.max_connections_per_address,
                settings.max_requests_per_second,
            )),
            api: Arc::new(limiter::AddressLimiter::new(
                settings.max_connections_per_address,
                0,
            )),
            tracker: Tracker::default(),
        }
    }

    /// Records a tripped limit on a load balancer (owned by `account`) at `at` (request
    /// clock, epoch seconds).
    pub fn observe(
        &self,
        account: &str,
        resource: &str,
        vector: Vector,
        source: Option<IpAddr>,
        at: i64,
    ) {
        tracing::debug!(
            resource,
            vector = vector.as_str(),
            ?source,
            "shield: a limit tripped"
        );
        self.tracker.observe(Observation {
            account: account.to_string(),
            resource: resource.to_string(),
            vector,
            source,
            at,
        });
    }
}
