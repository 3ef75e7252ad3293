//! `rampart audit verify`: recomputes the audit trail's hash chains (the audit table and, on
//! the embedded store, the audit journal) and checks their MAC'd heads, so an operator can
//! show the trail is complete and unaltered. Safe while the server runs: it only reads.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_store::{MasterKey, Store, StoreConfig};

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no audit record was altered, removed or inserted.
    Verify(VerifyArgs),
}

/// Options of `audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The server's data dir (its store and master key).
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL, when the server uses PostgreSQL.
    #[arg(long, env = "RAMPART_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// Runs an `audit` subcommand: exit 0 when intact, 1 when broken or unreadable.
pub fn run(cmd: AuditCommand) -> ExitCode {
    let AuditCommand::Verify(args) = cmd;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(verify(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn verify(args: &VerifyArgs) -> anyhow::Result<bool> {
    let master = Arc::new(
        MasterKey::from_env_or_data_dir(&args.data_dir).context("cannot load the master key")?,
    );
    let config = match &args.database_url {
        Some(url) => StoreConfig::postgres(url.clone(), master),
        None => StoreConfig::sqlite_in(&args.data_dir, master),
    };
    let store = Store::open(config).await.context("cannot open the store")?;
    println!("Verifying the audit trail's hash chains...");
    let report = store
        .verify_chain()
        .await
        .context("cannot read the audit trail")?;
    store.close().await;
    println!("  records checked:   {}", report.records_checked);
    println!("  audit table head:  record {}", report.head_seq);
    if store.backend() == rampart_store::BackendKind::Sqlite {
        println!("  audit journal:     record {}", report.journal_head_seq);
    }
    match &report.first_break {
        None => {
            println!("Intact: every record links to the one before it and the heads match.");
            Ok(true)
        }
        Some(b) => {
            println!("BROKEN at record {}: {}", b.seq, b.reason);
            Ok(false)
        }
    }
}
