//! `rampart serve`: start-up, shared state, routes and shutdown.

use std::{io::Write, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{
    routing::{get, post},
    Router,
};
use rampart_services::Registry;
use rampart_store::{AuditWriter, AuditWriterConfig, MasterKey, Store, StoreConfig};
use tokio::net::TcpListener;

use crate::{
    admin, bootstrap,
    config::ServeConfig,
    http_server::{self, ConnLimits},
    metrics::Metrics,
    pipeline, signin,
};

/// State shared by every request.
pub struct App {
    /// Settings the server started with.
    pub config: ServeConfig,
    /// The store.
    pub store: Store,
    /// Group-committing writer for audit records of read-only calls.
    pub audit: AuditWriter,
    /// The built operations.
    pub registry: Registry,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Derived signing keys.
    pub authn: pipeline::authn::AuthnCache,
    /// Compiled policies and callers' policy sets.
    pub policies: pipeline::policies::PolicyCache,
    /// The request clock (system time, advanced only by tests in dev mode).
    pub clock: Arc<crate::clock::Clock>,
    /// API requests per account and service, for billing.
    pub meter: crate::billing::meter::Meter,
    /// Service last-accessed recording (debounced).
    pub last_access: crate::last_access::LastAccess,
    /// KMS keys' last cryptographic use, waiting to be written.
    pub key_usage: crate::key_usage::KeyUsage,
    /// The base of outbound issuer URLs, once the API port is bound.
    pub outbound_issuer_base: std::sync::OnceLock<String>,
    /// The API port's open connections (capped; see `conn_table`).
    pub conns: Arc<crate::conn_table::ConnTable>,
    /// Shield Standard's limits and the attacks they detect.
    pub shield: Arc<crate::shield::Guard>,
    /// Bounds how many password hashes and checks (argon2: 19 MiB and tens of milliseconds
    /// each, by design) run at once, one per core: unbounded, a burst of sign-ins would start
    /// a blocking thread and its memory for each.
    pub password_work: tokio::sync::Semaphore,
    /// The Lambda hooks registered with `--lambda-hook` or `--rotation-hook` (Lambda ARN to
    /// URL): Secrets Manager's rotations and Config's custom Lambda rules invoke them.
    pub lambda_hooks: crate::jobs::lambda_hooks::Hooks,
    /// The operator's Sigma rules GuardDuty runs (`--sigma-rules`).
    pub sigma: rampart_services::guardduty::sigma::Rules,
    /// Background jobs (leases, flushes, the outbox).
    pub jobs: crate::jobs::Runtime,
    /// Sign-in attempts per client address (cleared by a reset).
    pub signin_limiter: signin::Limiter,
    /// Where S3 object bytes live.
    pub blobs: rampart_services::BlobStore,
    /// Dev mode's leniency countdown (`POST /moto-api/reset-auth`).
    pub dev_auth: crate::dev_auth::DevAuth,
    /// What services keep for checking the proofs of unsigned calls (the key sets of
    /// OpenID Connect issuers, `<data-dir>/oidc/` for offline ones).
    pub extensions: rampart_services::Extensions,
    /// This application, for background work that goes through the request path (the
    /// authorizer handle, in-process API calls): jobs are handed `&App`.
    pub me: std::sync::Weak<App>,
}

impl App {
    /// Wipes all state and recreates the bootstrap account, keeping its root credentials so
    /// that a test suite's configured keys keep working (dev mode only).
    pub async fn reset(&self) -> anyhow::Result<()> {
        let keep = bootstrap::current(&self.store).await?;
        self.audit.flush().await?;
        self.store.wipe_all().await?;
        self.signin_limiter.clear();
        self.shield.tracker.clear();
        let boot = bootstrap::ensure(&self.config, &self.store, keep).await?;
        crate::operator_settings::apply(&self.config, &self.store).await?;
        self.store.ensure_audit_genesis(&boot.account_id).await?;
        crate::outbound_oidc::write_base(self).await?;
        Ok(())
    }
}

/// Runs the server until Ctrl-C or SIGTERM; the exit code says whether it started.
pub fn run(config: ServeConfig) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// A started application: shared state plus what start-up established.
pub struct Started {
    /// The shared state.
    pub app: Arc<App>,
    /// The management account and root key.
    pub boot: bootstrap::Bootstrap,
    /// The audit writer task; it ends once every [`App`] is dropped and its queue is drained.
    pub audit_task: tokio::task::JoinHandle<()>,
}

impl App {
    /// Opens the store, bootstraps the management account and starts the audit writer.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Started> {
        let fd_limit = crate::fd_limit::raise_to_hard();
        let conn_cap = crate::fd_limit::connection_cap(fd_limit, config.max_connections);
        tracing::info!(open_file_limit = ?fd_limit, connection_cap = conn_cap, "connection limits");
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data dir {}; choose another with --data-dir",
                config.data_dir.display()
            )
        })?;
        if config.database_url.is_none() {
            let key_from_env = std::env::var_os(rampart_store::MASTER_KEY_ENV).is_some();
            let verdict = crate::data_dir::check(&config.data_dir, config.init, key_from_env)?;
            if let crate::data_dir::Verdict::NewAfterMovingAside(moved) = verdict {
                for path in moved {
                    tracing::warn!(kept = %path.display(), "--init: moved aside");
                }
            }
        }
        let master_key =
            Arc::new(MasterKey::from_env_or_data_dir(&config.data_dir).context(
                "cannot load the master key (RAMPART_MASTER_KEY or <data-dir>/master.key)",
            )?);
        // Parsed once, at start-up: a bad `--lambda-hook` or `--rotation-hook` stops the
        // server here.
        let hook_entries: Vec<String> = config
            .rotation_hooks
            .iter()
            .chain(&config.lambda_hooks)
            .cloned()
            .collect();
        let lambda_hooks = crate::jobs::lambda_hooks::Hooks::parse(&hook_entries)?;
        // Likewise the Sigma rules: a rule that does not load stops the server, so a typo
        // never silently disables a detection.
        let sigma = load_sigma(config.sigma_rules.as_deref())?;
        let store_config = match &config.database_url {
            Some(url) => StoreConfig::postgres(url.clone(), master_key),
            None => StoreConfig::sqlite_in(&config.data_dir, master_key),
        };
        let store = Store::open(store_config)
            .await
            .context("cannot open the store")?;
        // First, so a second server on the same data directory stops before writing anything.
        let (audit, audit_task) = AuditWriter::spawn(
            store.clone(),
            AuditWriterConfig {
                durable_answers: !config.audit_queued_answers,
                ..AuditWriterConfig::default()
            },
        )
        .context("cannot open the audit journal")?;
        let boot = bootstrap::ensure(&config, &store, None).await?;
        crate::operator_settings::apply(&config, &store).await?;
        let blobs = rampart_services::BlobStore::new(config.blob_dir());
        // Uploads a crash cut short are never referenced: remove them before serving.
        let swept = blobs
            .sweep_partials()
            .with_context(|| format!("cannot read {}", config.blob_dir().display()))?;
        if swept > 0 {
            tracing::info!(swept, "removed partial S3 uploads left by an earlier run");
        }
        store
            .ensure_audit_genesis(&boot.account_id)
            .await
            .context("the audit trail does not check out")?;
        // Read once, at start-up: an unreadable database stops the server here.
        let geo = rampart_services::detective::geo::Geo::open(
            config.geoip_city_db.as_deref(),
            config.geoip_asn_db.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("{e} (--geoip-city-db, --geoip-asn-db)"))?;
        let geo = Arc::new(geo);
        // WAF's geo match statements read the city (or country) database too.
        rampart_services::wafv2::engine::geo::install(geo.has_city().then(|| {
            Arc::new(crate::listeners::geo::WafGeo(geo.clone()))
                as Arc<dyn rampart_services::wafv2::engine::geo::Countries>
        }));
        let mut extensions = rampart_services::Extensions::default();
        if !geo.is_empty() {
            extensions.insert(geo);
        }
        extensions.insert(rampart_services::sts::oidc::jwks::KeySets::new(Some(
            config.data_dir.join("oidc"),
        )));
        let app = Arc::new_cyclic(|me| App {
            me: me.clone(),
            extensions,
            authn: pipeline::authn::AuthnCache::default(),
            policies: pipeline::policies::PolicyCache::default(),
            clock: Arc::default(),
            conns: Arc::new(crate::conn_table::ConnTable::new(conn_cap)),
            shield: Arc::new(crate::shield::Guard::new(
                crate::shield::Settings::from_config(&config),
            )),
            meter: crate::billing::meter::Meter::default(),
            last_access: crate::last_access::LastAccess::default(),
            key_usage: crate::key_usage::KeyUsage::default(),
            outbound_issuer_base: std::sync::OnceLock::new(),
            lambda_hooks,
            sigma,
            blobs,
            password_work: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            jobs: crate::jobs::Runtime::standard(
                config
                    .node_id
                    .clone()
                    .unwrap_or_else(crate::jobs::default_node_id),
                config.job_lease(),
            ),
            signin_limiter: signin::Limiter::default(),
            dev_auth: crate::dev_auth::DevAuth::default(),
            registry: Registry,
            metrics: Metrics::new(),
            audit,
            store,
            config,
        });
        Ok(Started {
            app,
            boot,
            audit_task,
        })
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let listen = config.listen;
    let limits = ConnLimits {
        header_timeout: config.request_timeout(),
        first_byte_timeout: config.first_byte_timeout(),
        idle_timeout: config.idle_timeout(),
    };
    let Started {
        app,
        boot,
        audit_task,
    } = App::start(config).await?;
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!(
            "cannot listen on {listen}; is another server using it? choose another with --listen"
        )
    })?;
    let local = listener.local_addr()?;
    crate::outbound_oidc::publish_base(&app, local).await?;
    print_banner(&app.config, &local.to_string(), &boot);
    crate::jobs::Runtime::spawn(&app);

    http_server::serve(
        listener,
        router(app.clone()),
        limits,
        app.conns.clone(),
        app.shield.api.clone(),
        shutdown_signal(),
        Duration::from_secs(30),
    )
    .await;
    tracing::info!("shutting down: flushing the audit trail and the node's counts");
    app.jobs.shutdown(&app).await;
    app.audit.flush().await?;
    drop(app);
    let _ = audit_task.await;
    // The terminal may be gone by now (a closed pipe); that is no reason to fail.
    let _ = writeln!(std::io::stdout(), "Stopped.");
    Ok(())
}

/// The routes: operator endpoints, then every AWS API on `/`.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.config.max_body_bytes;
    Router::new()
        .route("/_rampart/health", get(admin::health))
        .route("/_rampart/live", get(admin::live))
        .route("/metrics", get(admin::metrics))
        .route("/_rampart/reset", post(admin::reset))
        .route("/moto-api/reset", post(admin::reset))
        .route("/moto-api/reset-auth", post(admin::reset_auth))
        .route("/_rampart/clock", post(admin::advance_clock))
        .route("/_rampart/signin", post(signin::signin))
        .route(
            "/_rampart/outbound-oidc/{id}/.well-known/openid-configuration",
            get(crate::outbound_oidc::discovery),
        )
        .route(
            "/_rampart/outbound-oidc/{id}/.well-known/jwks.json",
            get(crate::outbound_oidc::jwks),
        )
        .route_layer(axum::middleware::from_fn(pipeline::panic::guard_route))
        .fallback(pipeline::api)
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(app)
}

fn print_banner(config: &ServeConfig, addr: &str, boot: &bootstrap::Bootstrap) {
    let store = match &config.database_url {
        Some(_) => "PostgreSQL".to_string(),
        None => format!("SQLite in {}", config.data_dir.display()),
    };
    println!(
        "Rampart {} — AWS security control plane",
        env!("CARGO_PKG_VERSION")
    );
    println!("  endpoint:   http://{addr}");
    println!("  store:      {store}");
    println!(
        "  region:     {} (partition {}; AWS's endpoints there: {})",
        config.region,
        config.partition(),
        config.partition().endpoint("SERVICE", &config.region)
    );
    println!("  account:    {} (management account)", boot.account_id);
    println!(
        "  mode:       {}",
        if config.dev {
            format!(
                "dev (unknown keys act as root of {}; /_rampart/reset enabled)",
                config.dev_account_id
            )
        } else {
            "enforcing".into()
        }
    );
    match &boot.new_root_secret {
        Some(secret) => {
            println!(
                "Root user credentials (shown once; saved to {} with mode 0600):",
                boot.credentials_file.display()
            );
            println!("  aws_access_key_id     = {}", boot.root_access_key_id);
            println!("  aws_secret_access_key = {}", secret.as_str());
        }
        None => println!(
            "  root key:   {} (its secret was shown at first start; see {})",
            boot.root_access_key_id,
            boot.credentials_file.display()
        ),
    }
    if !rampart_services::saml_signatures_available() {
        println!(
            "  SAML:       unavailable: built without libxmlsec1 (install libxmlsec1-dev and pkg-config, then rebuild)"
        );
    }
    println!(
        "Try: AWS_SHARED_CREDENTIALS_FILE={} aws --endpoint-url http://{addr} sts get-caller-identity",
        boot.credentials_file.display()
    );
    println!("Ready.");
}

fn init_logging() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_env("RAMPART_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("RAMPART_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// The Sigma rules of `dir` (none without one); warns of each rule skipped.
fn load_sigma(
    dir: Option<&std::path::Path>,
) -> anyhow::Result<rampart_services::guardduty::sigma::Rules> {
    use rampart_services::guardduty::sigma::Rules;
    let Some(dir) = dir else {
        return Ok(Rules::default());
    };
    let (rules, warnings) = Rules::load(dir).context("--sigma-rules: cannot load the rules")?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(rules = rules.len(), dir = %dir.display(), "Sigma rules loaded");
    Ok(rules)
}
