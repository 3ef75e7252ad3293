//! `rampart`: the server and its offline tools.

use std::process::ExitCode;

use rampart::{
    app, audit_cli, backup_cli, billing, config, investigate_cli, policy_cli, posture_cli,
    trail_cli,
};

use clap::{Parser, Subcommand};

// Every request allocates dozens of small strings and JSON values across tokio's worker
// threads; mimalloc's per-thread free lists cost less per allocation than glibc's arenas
// (BENCHMARKS.md, "What the current design is worth").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rampart: AWS's security services (IAM, STS, Organizations, KMS, ...), self-hosted.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (embedded store by default; no other process needed).
    Serve(Box<config::ServeConfig>),
    /// Work with IAM policy documents offline.
    #[command(subcommand)]
    Policy(policy_cli::PolicyCommand),
    /// Consolidated billing: what each account used, priced.
    #[command(subcommand)]
    Billing(billing::report::BillingCommand),
    /// The audit trail: check its hash chains.
    #[command(subcommand)]
    Audit(audit_cli::AuditCommand),
    /// CloudTrail trails: validate their log and digest files offline.
    #[command(subcommand)]
    Trail(trail_cli::TrailCommand),
    /// Security Hub: the security score and the failed controls, by severity.
    Posture(posture_cli::PostureArgs),
    /// Detective: a timeline of what an IAM user or role did, with the findings on it.
    Investigate(investigate_cli::InvestigateArgs),
    /// Copy a data directory consistently while its server runs (the master key aside).
    Backup(backup_cli::BackupArgs),
    /// Put a backup back into a data directory.
    Restore(backup_cli::RestoreArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => app::run(*config),
        Command::Policy(cmd) => policy_cli::run(cmd),
        Command::Billing(cmd) => billing::report::run(cmd),
        Command::Audit(cmd) => audit_cli::run(cmd),
        Command::Trail(cmd) => trail_cli::run(cmd),
        Command::Posture(args) => posture_cli::run(args),
        Command::Investigate(args) => investigate_cli::run(args),
        Command::Backup(args) => backup_cli::run_backup(args),
        Command::Restore(args) => backup_cli::run_restore(args),
    }
}
