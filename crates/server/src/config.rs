//! `rampart serve` settings, from flags or environment variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use rampart_services::Partition;

/// A region some partition claims (`us-east-1`, `cn-north-1`, `us-gov-west-1`, ...).
fn parse_region(region: &str) -> Result<String, String> {
    match Partition::claiming(region) {
        Some(_) => Ok(region.to_string()),
        None => Err(format!(
            "{region:?} is not a region of any AWS partition (e.g. us-east-1, cn-north-1, us-gov-west-1)"
        )),
    }
}

/// Settings of `rampart serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address and port to listen on.
    #[arg(long, env = "RAMPART_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,

    /// Folder for the embedded database, the master key and the root credentials.
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL; when set, state lives there instead of the embedded store.
    #[arg(long, env = "RAMPART_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Development mode: unknown access keys act as the root user of the dev account, without
    /// a signature check (until `POST /moto-api/reset-auth` N switches to full enforcement
    /// after N more calls), and `POST /_rampart/reset` wipes all state.
    #[arg(long, env = "RAMPART_DEV")]
    pub dev: bool,

    /// Create a new installation even though the data dir holds pieces of an earlier one (a
    /// master key, an audit journal) whose database is missing or empty. Never overwrites
    /// `root-credentials`.
    #[arg(long, env = "RAMPART_INIT")]
    pub init: bool,

    /// The server's home region: its partition (`cn-north-1` is `aws-cn`, `us-gov-west-1`
    /// `aws-us-gov`) is the partition of every ARN it mints and accepts, and requests must be
    /// signed for a region of that partition. Unsigned calls and sign-ins are in this region.
    #[arg(long, env = "RAMPART_REGION", default_value = "us-east-1", value_parser = parse_region)]
    pub region: String,

    /// The account that unknown access keys belong to in development mode.
    #[arg(long, env = "RAMPART_DEV_ACCOUNT_ID", default_value = "000000000000")]
    pub dev_account_id: String,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "RAMPART_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds a client has to send a request's headers, and to send its body.
    #[arg(long, env = "RAMPART_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub request_timeout_secs: u64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "RAMPART_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// Seconds a new connection has to send its first byte (its first request's headers must
    /// arrive within the request timeout, also counted from accept).
    #[arg(long, env = "RAMPART_FIRST_BYTE_TIMEOUT_SECS", default_value_t = 5)]
    pub first_byte_timeout_secs: u64,

    /// Most API connections open at once; 0 derives it from the open-file limit (three
    /// quarters of it, at most 10000).
    #[arg(long, env = "RAMPART_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: u64,

    /// Base URL of the accounts' outbound web identity federation issuers (`iss` of the
    /// tokens STS `GetWebIdentityToken` signs: the base, then the issuer's id), as external
    /// services reach this server; it serves each issuer's discovery document and JWKS under
    /// `/_rampart/outbound-oidc/`. Default: `http://<listen address>/_rampart/outbound-oidc`.
    /// An account's issuer URL is fixed when it first enables the feature.
    #[arg(long, env = "RAMPART_OUTBOUND_ISSUER_BASE")]
    pub outbound_issuer_base: Option<String>,

    /// This node's id in job leases (default: the host name and a random suffix).
    #[arg(long, env = "RAMPART_NODE_ID")]
    pub node_id: Option<String>,

    /// Milliseconds a background job's lease lasts unless renewed: when its node dies, another
    /// node takes the job over within this time.
    #[arg(long, env = "RAMPART_JOB_LEASE_MS", default_value_t = 15_000)]
    pub job_lease_ms: u64,

    /// A Secrets Manager rotation hook, `LAMBDA_ARN=http://HOST:PORT/PATH` (repeatable; the
    /// variable takes a comma-separated list): the older name of `--lambda-hook`, kept; both
    /// register into one registry.
    #[arg(
        long = "rotation-hook",
        env = "RAMPART_ROTATION_HOOKS",
        value_delimiter = ','
    )]
    pub rotation_hooks: Vec<String>,

    /// A Lambda hook, `LAMBDA_ARN=http://HOST:PORT/PATH` (repeatable; the variable takes a
    /// comma-separated list): every invocation Rampart makes of that function (AWS Config's
    /// custom Lambda rules, Secrets Manager's rotations) POSTs the event to that URL.
    /// `--rotation-hook` registers into the same registry.
    #[arg(
        long = "lambda-hook",
        env = "RAMPART_LAMBDA_HOOKS",
        value_delimiter = ','
    )]
    pub lambda_hooks: Vec<String>,

    /// Largest S3 object a single `PutObject` (or one part of a multipart upload) may carry,
    /// in bytes (AWS: 5 GiB).
    #[arg(long, env = "RAMPART_MAX_OBJECT_BYTES", default_value_t = 5 * 1024 * 1024 * 1024)]
    pub max_object_bytes: u64,

    /// Folder for S3 object bytes (default: `s3` in the data dir). With several nodes on
    /// PostgreSQL it must be a folder every node shares.
    #[arg(long, env = "RAMPART_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,

    /// Seconds a recorded call waits at most before a trail delivers it in a log file (on the
    /// request clock, so the dev clock moves it; AWS: about 5 minutes).
    #[arg(long, env = "RAMPART_TRAIL_DELIVERY_SECS", default_value_t = 300)]
    pub trail_delivery_secs: u64,

    /// Answer calls once their audit records are queued instead of on disk: about 1.5x the
    /// throughput of the cheapest calls (BENCHMARKS.md), but a crash in the few milliseconds
    /// before a batch's sync loses the records of calls already answered (the chain still
    /// verifies; the calls leave no trace).
    #[arg(long, env = "RAMPART_AUDIT_QUEUED_ANSWERS")]
    pub audit_queued_answers: bool,

    /// The address load balancer listeners listen on (each at its own `Port`).
    #[arg(long, env = "RAMPART_LISTENER_ADDRESS", default_value = "127.0.0.1")]
    pub listener_address: std::net::IpAddr,

    /// Shield Standard: milliseconds a load balancer listener's client has to send a
    /// request's headers (Slowloris; the API port uses the request timeout).
    #[arg(
        long,
        env = "RAMPART_SHIELD_HEADER_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub shield_header_timeout_ms: u64,

    /// Shield Standard: milliseconds a listener's client has to send a request's whole body
    /// (slow POST).
    #[arg(long, env = "RAMPART_SHIELD_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub shield_body_timeout_ms: u64,

    /// Shield Standard: connections one client address may hold open at once, on each
    /// listener and on the API port.
    #[arg(
        long,
        env = "RAMPART_SHIELD_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 1024
    )]
    pub shield_max_connections_per_address: u32,

    /// Shield Standard: requests per second one client address may send a listener (0: no
    /// cap); over it the listener answers 429.
    #[arg(
        long,
        env = "RAMPART_SHIELD_MAX_REQUESTS_PER_SECOND",
        default_value_t = 1000
    )]
    pub shield_max_requests_per_second: u32,

    /// Shield Standard: connections one listener holds open at once; past it the oldest
    /// connection that never completed a request is shed.
    #[arg(
        long,
        env = "RAMPART_SHIELD_MAX_LISTENER_CONNECTIONS",
        default_value_t = 10_000
    )]
    pub shield_max_listener_connections: u64,

    /// Shield Standard: the listen backlog of each listener (connections the kernel queues
    /// before they are accepted).
    #[arg(long, env = "RAMPART_SHIELD_ACCEPT_BACKLOG", default_value_t = 1024)]
    pub shield_accept_backlog: u32,

    /// Seconds without a tripped limit after which an attack has ended.
    #[arg(long, env = "RAMPART_SHIELD_ATTACK_QUIET_SECS", default_value_t = 60)]
    pub shield_attack_quiet_secs: u64,

    /// Requests per minute and address that the Shield automatic response's rate-based rule
    /// lets through during a request flood.
    #[arg(long, env = "RAMPART_SHIELD_MITIGATION_LIMIT", default_value_t = 600)]
    pub shield_mitigation_limit: u64,

    /// A MaxMind City database (GeoLite2-City or GeoIP2-City format): Detective's
    /// investigations place source addresses with it (`NEW_GEOLOCATION`,
    /// `IMPOSSIBLE_TRAVEL`); without it those indicators are not produced. WAF's geo match
    /// statements place clients with it too (a GeoLite2-Country file serves them as well);
    /// without it they are refused.
    #[arg(long, env = "RAMPART_GEOIP_CITY_DB")]
    pub geoip_city_db: Option<PathBuf>,

    /// A MaxMind ASN database (GeoLite2-ASN format): Detective's `NEW_ASO` indicator names
    /// the autonomous system organization from it; without it that indicator is not produced.
    #[arg(long, env = "RAMPART_GEOIP_ASN_DB")]
    pub geoip_asn_db: Option<PathBuf>,

    /// A folder of Sigma rules (`*.yml`, `*.yaml`; `logsource` `product: aws`,
    /// `service: cloudtrail`) GuardDuty runs over the audit stream as findings of type
    /// `Rampart:Custom/<rule id>`. Read at start: a rule that does not load stops the server
    /// with its file and the reason; rules for other log sources are skipped with a warning.
    #[arg(long, env = "RAMPART_SIGMA_RULES")]
    pub sigma_rules: Option<PathBuf>,

    /// Detective's data volume limit of a behavior graph, in bytes a day (AWS's: 10 TB). A
    /// member whose audit records of the last day would take its graph over the limit is
    /// `ACCEPTED_BUT_DISABLED` (`VOLUME_TOO_HIGH`) until it fits.
    #[arg(long, env = "RAMPART_DETECTIVE_GRAPH_VOLUME_LIMIT")]
    pub detective_graph_volume_limit: Option<u64>,
}

impl ServeConfig {
    /// The settings `rampart serve` uses when no flag or variable is given, with `data_dir`
    /// and any free loopback port: for in-process servers (tests, benchmarks), which then
    /// change what they need with struct update syntax.
    pub fn new(data_dir: PathBuf) -> ServeConfig {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            outbound_issuer_base: None,
            dev: false,
            init: false,
            dev_account_id: "000000000000".into(),
            region: "us-east-1".into(),
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 10,
            idle_timeout_secs: 60,
            first_byte_timeout_secs: 5,
            max_connections: 0,
            node_id: None,
            job_lease_ms: 15_000,
            rotation_hooks: Vec::new(),
            lambda_hooks: Vec::new(),
            max_object_bytes: 5 * 1024 * 1024 * 1024,
            blob_dir: None,
            trail_delivery_secs: 300,
            audit_queued_answers: false,
            listener_address: std::net::IpAddr::from([127, 0, 0, 1]),
            shield_header_timeout_ms: 10_000,
            shield_body_timeout_ms: 30_000,
            shield_max_connections_per_address: 1024,
            shield_max_requests_per_second: 1000,
            shield_max_listener_connections: 10_000,
            shield_accept_backlog: 1024,
            shield_attack_quiet_secs: 60,
            shield_mitigation_limit: 600,
            geoip_city_db: None,
            geoip_asn_db: None,
            sigma_rules: None,
            detective_graph_volume_limit: None,
        }
    }

    /// The partition of the server's region.
    pub fn partition(&self) -> Partition {
        Partition::of_region(&self.region)
    }

    /// How long a client may take to send headers or body.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    /// How long a new connection may stay silent.
    pub fn first_byte_timeout(&self) -> Duration {
        Duration::from_secs(self.first_byte_timeout_secs.max(1))
    }

    /// How long a background job's lease lasts (0.1 s to 1 h).
    pub fn job_lease(&self) -> Duration {
        Duration::from_millis(self.job_lease_ms.clamp(100, 3_600_000))
    }

    /// Where S3 object bytes live.
    pub fn blob_dir(&self) -> PathBuf {
        self.blob_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("s3"))
    }

    /// How long an idle connection is kept.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }
}
