//! `rampart-loadgen`: drives a running Rampart with N keep-alive connections for a fixed time
//! and reports throughput and latency. Every API request is signed (SigV4 `Authorization`
//! header) as the AWS SDKs sign them, so the server does the full work of a real client's call;
//! Python clients such as boto3 cannot generate enough load on this machine to measure it.
//! Requests that never change are signed once per connection and resent (`--presign`, on by
//! default), so the client's signing CPU does not compete with the server on a small machine.
//!
//! Examples:
//!   rampart-loadgen --endpoint http://127.0.0.1:4566 --credentials rampart-data/root-credentials \
//!       --op sts-get-caller-identity --connections 64 --seconds 10
//!   rampart-loadgen ... --op iam-create-user --connections 32

mod ops;
mod report;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::ops::{Credentials, Op, Prepared, Target};
use crate::report::{Report, Worker};

#[derive(Debug, Parser)]
#[command(version, about = "Load generator for Rampart benchmarks")]
struct Args {
    /// The server, e.g. http://127.0.0.1:4566.
    #[arg(long)]
    endpoint: String,
    /// An AWS shared-credentials file (e.g. `<data-dir>/root-credentials`); its `default`
    /// profile signs the requests.
    #[arg(long)]
    credentials: Option<std::path::PathBuf>,
    /// What to send.
    #[arg(long, value_enum)]
    op: Op,
    /// Concurrent keep-alive connections (each has one request in flight).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Region to sign with.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// For ops whose request never changes (all but `iam-create-user`), sign it once per
    /// connection and resend it, re-signing every minute, as benchmarks with pre-signed
    /// requests do; the server still verifies every request in full. `--presign false` signs
    /// every request (costing the client ~20 us of CPU per request).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    presign: bool,
    /// Print one JSON line instead of the table.
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let target = Target::parse(&args.endpoint)?;
    let creds = match &args.credentials {
        Some(path) => Some(Credentials::from_file(path)?),
        None => None,
    };
    if args.op.needs_credentials() && creds.is_none() {
        bail!(
            "--op {:?} signs its requests: pass --credentials FILE",
            args.op
        );
    }
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    // Two runtime threads: enough to saturate a server on the same small machine without
    // taking more of its cores than needed.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(run(&args, target, creds))?;
    let label = match (
        args.op.needs_credentials(),
        args.presign && args.op.is_fixed(),
    ) {
        (false, _) => args.op.label().to_string(),
        (true, true) => format!("{} (pre-signed)", args.op.label()),
        (true, false) => format!("{} (signed per request)", args.op.label()),
    };
    if args.json {
        println!("{}", report.json(&label));
    } else {
        print!("{}", report.table(&label, args.connections));
    }
    if report.ok == 0 {
        bail!(
            "no request succeeded; first error: {}",
            report.first_error.as_deref().unwrap_or("none")
        );
    }
    Ok(())
}

async fn run(args: &Args, target: Target, creds: Option<Credentials>) -> Result<Report> {
    let stop = Arc::new(AtomicBool::new(false));
    let target = Arc::new(target);
    let creds = Arc::new(creds);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(args.connections);
    for id in 0..args.connections {
        let (stop, target, creds) = (stop.clone(), target.clone(), creds.clone());
        let (op, region) = (args.op, args.region.clone());
        let presign = args.presign && op.is_fixed();
        workers.push(tokio::spawn(async move {
            let how = How {
                op,
                creds: creds.as_ref().as_ref(),
                region: &region,
                presign,
            };
            connection(id, how, &target, &stop).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut report = Report::default();
    for w in workers {
        report.add(w.await.context("worker panicked")??);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// How a connection builds its requests.
struct How<'a> {
    op: Op,
    creds: Option<&'a Credentials>,
    region: &'a str,
    /// Reuse one signed request (re-signed after [`RESIGN_AFTER`]) instead of signing each.
    presign: bool,
}

/// How long a pre-signed request is reused; SigV4 accepts a signature for 15 minutes.
const RESIGN_AFTER: Duration = Duration::from_secs(60);

/// One keep-alive connection sending requests back to back until told to stop.
async fn connection(id: usize, how: How<'_>, target: &Target, stop: &AtomicBool) -> Result<Worker> {
    let stream = TcpStream::connect(&target.authority)
        .await
        .with_context(|| format!("connecting to {}", target.authority))?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut worker = Worker::default();
    let mut seq = 0u64;
    let mut presigned = None;
    while !stop.load(Ordering::Relaxed) {
        let request = if how.presign {
            let fresh = |p: &Prepared| p.signed_at.elapsed() < RESIGN_AFTER;
            let prepared = match presigned.take().filter(fresh) {
                Some(p) => p,
                None => how.op.prepare(target, how.creds, how.region, id, seq)?,
            };
            presigned.insert(prepared).request()
        } else {
            how.op
                .prepare(target, how.creds, how.region, id, seq)?
                .request()
        };
        seq += 1;
        let sent = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        worker.record(sent.elapsed(), status.is_success(), || {
            format!("HTTP {status}: {}", String::from_utf8_lossy(&body))
        });
    }
    Ok(worker)
}

/// The request body type every operation uses.
pub type Body = Full<Bytes>;
