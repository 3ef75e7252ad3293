//! `rampart audit verify`: recomputes the audit trail's hash chains (the audit table and, on
//! the embedded store, the audit journal) and checks their MAC'd heads, so an operator can
//! show the trail is complete and unaltered. Safe while the server runs: it only reads.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Args, Subcommand};

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
    match crate::offline::block_on(verify(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn verify(args: &VerifyArgs) -> anyhow::Result<bool> {
    let store = crate::offline::open_store(&args.data_dir, args.database_url.as_deref()).await?;
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
