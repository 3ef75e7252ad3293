//! The load balancers' listeners: each stored ELB listener really listens on the listener
//! address (`--listener-address`, default 127.0.0.1) at its port ([`serve`]) and proxies
//! requests to its targets over HTTP/1.1 ([`proxy`]), through its load balancer's web ACL when
//! one is associated, with the target groups' health checks running alongside ([`health`]);
//! HTTPS listeners terminate TLS with their certificates and security policy first ([`tls`])
//! and serve HTTP/2 to clients that offer it. Shield Standard's limits (`crate::shield`)
//! guard each port's connections and requests; access log entries wait for delivery
//! ([`access_log`]).
//!
//! A node job watches ELB's configuration generation every half second: on a change it reads
//! every listener, target group and associated web ACL, compiles each web ACL once, and swaps
//! the new configuration in; ports no longer wanted stop, new ones bind. Listeners therefore
//! come back after a restart (the first round binds them) and changes apply within a second.

pub mod access_log;
pub mod geo;
pub mod health;
pub mod interstitial;
pub mod proxy;
pub mod sample;
pub mod serve;
pub mod tls;
pub mod waflog;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    net::{IpAddr, SocketAddr},
    sync::{Arc, RwLock},
    time::Duration,
};

use rampart_services::{
    elbv2::{
        actions::Action,
        runtime::{self, ListenerSpec, Snapshot, TargetGroupSpec},
    },
    log_buffer::LogBuffer,
    wafv2::engine::{rate::RateCounters, samples::Samples, token::TokenKey, WebAcl},
};

use crate::{
    app::App,
    clock::Clock,
    conn_table::ConnTable,
    http_server::ConnLimits,
    jobs::{Job, Scope, StepFuture},
};

/// What one port serves, swapped whole on each reload.
pub struct PortConfig {
    /// The listener.
    pub listener: ListenerSpec,
    /// Its load balancer's web ACL, compiled.
    pub web_acl: Option<Arc<WebAcl>>,
    /// For an HTTPS listener, its TLS configuration and certificates.
    pub tls: Option<Arc<tls::ListenerTls>>,
    /// Every target group, by ARN.
    pub groups: Arc<BTreeMap<String, TargetGroupSpec>>,
}

/// WAF log records waiting for delivery, by web ACL ARN and bucket.
pub type WafLogs = LogBuffer<(String, String)>;
/// Access log entries waiting for delivery, by load balancer and destination.
pub type AccessLogs = LogBuffer<runtime::AccessLogSpec>;

/// What every port shares: health verdicts, round-robin positions, rate counters, samples.
#[derive(Default)]
pub struct Shared {
    /// Health per target group and target (`ID:PORT`), from the health checker.
    pub health: health::HealthTable,
    /// Round-robin positions per target group.
    pub turns: std::sync::Mutex<HashMap<String, usize>>,
    /// Rate-based rule counters, kept across reloads (and read by
    /// `GetRateBasedStatementManagedKeys`).
    pub rates: Arc<RateCounters>,
    /// Sampled requests per web ACL and metric (read by `GetSampledRequests`).
    pub samples: Arc<Samples>,
    /// WAF log records waiting for delivery (drained by `jobs::waf_logs`).
    pub waf_logs: Arc<WafLogs>,
    /// Access log entries waiting for delivery (drained by `jobs::access_logs`).
    pub access_logs: Arc<AccessLogs>,
    /// The request clock, for the rate counters' seconds (so dev mode's clock moves a
    /// rate-based rule's window as it moves every other window).
    pub clock: std::sync::OnceLock<Arc<Clock>>,
    /// The key of `aws-waf-token` cookies and interstitial seeds (CAPTCHA and Challenge),
    /// opened from the store by the first round that can.
    pub token_key: std::sync::OnceLock<Arc<TokenKey>>,
}

impl Shared {
    /// The request clock's epoch seconds (0 before the first round sets the clock).
    pub fn now_secs(&self) -> u64 {
        self.clock
            .get()
            .and_then(|c| u64::try_from(c.now().timestamp()).ok())
            .unwrap_or(0)
    }

    /// The request clock's epoch milliseconds (0 before the first round sets the clock).
    pub fn now_millis(&self) -> u64 {
        self.clock
            .get()
            .and_then(|c| u64::try_from(c.now().timestamp_millis()).ok())
            .unwrap_or(0)
    }
}

/// A bound port: its accept loop and its configuration slot.
struct Bound {
    task: tokio::task::JoinHandle<()>,
    config: Arc<RwLock<Arc<PortConfig>>>,
}

impl Drop for Bound {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the job keeps between rounds.
#[derive(Default)]
struct State {
    generation: Option<i64>,
    ports: HashMap<u16, Bound>,
    checkers: HashMap<String, (TargetGroupSpec, tokio::task::JoinHandle<()>)>,
    unbound: BTreeSet<u16>,
}

/// The listener runtime's job.
#[derive(Default)]
pub struct Listeners {
    state: tokio::sync::Mutex<State>,
    shared: Arc<Shared>,
}

/// The job's name.
pub const NAME: &str = "elb-listeners";

impl Listeners {
    /// The WAF log records the listeners leave for delivery.
    pub fn waf_logs(&self) -> Arc<WafLogs> {
        self.shared.waf_logs.clone()
    }

    /// The access log entries the listeners leave for delivery.
    pub fn access_logs(&self) -> Arc<AccessLogs> {
        self.shared.access_logs.clone()
    }
}

impl Job for Listeners {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Node
    }

    fn period(&self) -> Duration {
        Duration::from_millis(500)
    }

    fn step<'a>(
        &'a self,
        app: &'a App,
        _lease: Option<&'a rampart_store::Lease>,
    ) -> StepFuture<'a> {
        Box::pin(async move {
            self.shared.clock.get_or_init(|| {
                rampart_services::wafv2::engine::rate::install(self.shared.rates.clone());
                rampart_services::wafv2::engine::samples::install(self.shared.samples.clone());
                app.clock.clone()
            });
            if self.shared.token_key.get().is_none() {
                match rampart_services::wafv2::token_key::load(&app.store).await {
                    Ok(key) => {
                        let _ = self.shared.token_key.set(Arc::new(key));
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "WAF token key not loaded: CAPTCHA and Challenge rules answer with interstitials only");
                    }
                }
            }
            let generation = runtime::generation(&app.store)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.code()))?;
            let mut state = self.state.lock().await;
            if state.generation == Some(generation) && state.unbound.is_empty() {
                return Ok(());
            }
            let snapshot = runtime::snapshot(&app.store)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.code()))?;
            let mut acls = HashMap::new();
            for l in &snapshot.listeners {
                if !acls.contains_key(&l.load_balancer_arn) {
                    let acl = rampart_services::wafv2::compiled::for_resource(
                        &app.store,
                        &l.load_balancer_arn,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.code()))?;
                    acls.insert(l.load_balancer_arn.clone(), acl.map(Arc::new));
                }
            }
            let mut tls = HashMap::new();
            for l in &snapshot.listeners {
                let Some(spec) = &l.tls else { continue };
                match tls::server_config(&app.store, &l.account, spec, l.http2).await {
                    Ok(config) => {
                        tls.insert(l.arn.clone(), config);
                    }
                    Err(err) => {
                        tracing::warn!(listener = %l.arn, error = %err, "HTTPS listener not served: its TLS configuration does not load");
                    }
                }
            }
            self.apply(app, &mut state, snapshot, &acls, &tls);
            state.generation = Some(generation);
            Ok(())
        })
    }
}

/// A listening socket on `addr` with a bounded accept backlog.
fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// The target groups some listener forwards to.
fn groups_in_use(snapshot: &Snapshot) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in &snapshot.listeners {
        let actions = std::iter::once(&l.default_action).chain(l.rules.iter().map(|r| &r.action));
        for a in actions {
            if let Action::Forward(groups) = a {
                out.extend(groups.iter().map(|(g, _)| g.clone()));
            }
        }
    }
    out
}

impl Listeners {
    /// Swaps a new configuration in: binds new ports, stops old ones, starts and stops
    /// health checkers.
    fn apply(
        &self,
        app: &App,
        state: &mut State,
        snapshot: Snapshot,
        acls: &HashMap<String, Option<Arc<WebAcl>>>,
        tls: &HashMap<String, Arc<tls::ListenerTls>>,
    ) {
        let groups = Arc::new(snapshot.target_groups.clone());
        let mut wanted: BTreeMap<u16, ListenerSpec> = BTreeMap::new();
        for l in snapshot.listeners.iter() {
            if l.tls.is_some() && !tls.contains_key(&l.arn) {
                continue;
            }
            if wanted.contains_key(&l.port) {
                tracing::warn!(port = l.port, listener = %l.arn, "two listeners on one port: the second is not served");
                continue;
            }
            wanted.insert(l.port, l.clone());
        }
        state.ports.retain(|port, _| wanted.contains_key(port));
        state.unbound.clear();
        let address: IpAddr = app.config.listener_address;
        for (port, listener) in wanted {
            let config = Arc::new(PortConfig {
                web_acl: acls.get(&listener.load_balancer_arn).cloned().flatten(),
                tls: tls.get(&listener.arn).cloned(),
                listener,
                groups: groups.clone(),
            });
            if let Some(bound) = state.ports.get(&port) {
                if let Ok(mut slot) = bound.config.write() {
                    *slot = config;
                }
                continue;
            }
            let addr = SocketAddr::new(address, port);
            match bind(addr, app.shield.settings.accept_backlog) {
                Ok(listener) => {
                    let slot = Arc::new(RwLock::new(config));
                    let settings = app.shield.settings;
                    let port_state = Arc::new(serve::Port {
                        config: slot.clone(),
                        shared: self.shared.clone(),
                        shield: app.shield.clone(),
                        table: Arc::new(ConnTable::new(settings.max_listener_connections)),
                        limits: ConnLimits {
                            header_timeout: settings.header_timeout,
                            first_byte_timeout: settings.header_timeout.min(Duration::from_secs(5)),
                            idle_timeout: app.config.idle_timeout(),
                        },
                    });
                    let task = tokio::spawn(serve::serve(listener, port_state));
                    tracing::info!(%addr, "load balancer listener bound");
                    state.ports.insert(port, Bound { task, config: slot });
                }
                Err(err) => {
                    tracing::warn!(%addr, error = %err, "load balancer listener cannot bind; retrying");
                    state.unbound.insert(port);
                }
            }
        }
        let in_use = groups_in_use(&snapshot);
        // A checker restarts only when its group's targets or settings change.
        state.checkers.retain(|arn, (spec, task)| {
            let keep = in_use.contains(arn) && snapshot.target_groups.get(arn) == Some(spec);
            if !keep {
                task.abort();
            }
            keep
        });
        self.shared.health.retain(&snapshot.target_groups, &in_use);
        for arn in in_use {
            let Some(group) = snapshot.target_groups.get(&arn) else {
                continue;
            };
            if state.checkers.contains_key(&arn) {
                continue;
            }
            let task = tokio::spawn(health::check_loop(
                group.clone(),
                app.store.clone(),
                self.shared.clone(),
            ));
            state.checkers.insert(arn, (group.clone(), task));
        }
    }
}
