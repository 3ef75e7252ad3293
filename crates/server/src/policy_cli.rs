//! `rampart policy ...`: offline policy validation, IAM Access Analyzer's custom policy checks
//! and simulation (the policy engine's CLI).

use std::{path::PathBuf, process::ExitCode};

use clap::{Subcommand, ValueEnum};
use rampart_policy::PolicyKind;
use rampart_services::accessanalyzer::{
    checks::cli::{self as checks_cli, Check},
    validate::{self, Target},
};

/// The `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policy documents; prints every problem with its statement and element, and exits
    /// non-zero when any file has one. With `--access-analyzer`, runs IAM Access Analyzer's
    /// policy checks (`ValidatePolicy`) instead: one line per finding
    /// (`FILE:LINE:COLUMN: TYPE ISSUE_CODE: details`), exit non-zero on an ERROR or a
    /// SECURITY_WARNING.
    Validate {
        /// The kind of policy (inferred from each document when omitted).
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Run IAM Access Analyzer's policy checks (findings with issue codes).
        #[arg(long)]
        access_analyzer: bool,
        /// With `--access-analyzer`: the resource type of a resource policy
        /// (`AWS::S3::Bucket`, `AWS::IAM::AssumeRolePolicyDocument`, ...).
        #[arg(long, requires = "access_analyzer")]
        resource_type: Option<String>,
        /// Policy documents (JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run one of IAM Access Analyzer's custom policy checks on a policy document and print the
    /// API's answer (`PASS`/`FAIL: message`, one line per reason); exits non-zero on FAIL.
    /// `--existing FILE`: CheckNoNewAccess against that reference policy; `--public-for TYPE`:
    /// CheckNoPublicAccess; `--action`/`--resource`: CheckAccessNotGranted.
    Check {
        /// The policy document (JSON); the new policy for `--existing`.
        file: PathBuf,
        /// The policy type: `IDENTITY_POLICY` or `RESOURCE_POLICY`.
        #[arg(long, default_value = "IDENTITY_POLICY")]
        policy_type: String,
        /// CheckNoNewAccess: the existing (reference) policy.
        #[arg(long, conflicts_with_all = ["public_for", "action", "resource"])]
        existing: Option<PathBuf>,
        /// CheckNoPublicAccess: the resource type (`AWS::S3::Bucket`, ...).
        #[arg(long, conflicts_with_all = ["action", "resource"])]
        public_for: Option<String>,
        /// CheckAccessNotGranted: an action that must not be granted (repeatable).
        #[arg(long)]
        action: Vec<String>,
        /// CheckAccessNotGranted: a resource that must not be accessible (repeatable).
        #[arg(long)]
        resource: Vec<String>,
    },
    /// IAM Access Analyzer's CheckNoNewAccess for CI pipelines: `PASS` when the new policy
    /// grants nothing the existing one does not, else `FAIL` with the statements that do;
    /// exits non-zero on FAIL (the same as `check NEW --existing OLD`).
    CheckNoNewAccess {
        /// The existing (reference) policy document (JSON).
        existing: PathBuf,
        /// The new policy document (JSON).
        new: PathBuf,
        /// The policy type: `IDENTITY_POLICY` or `RESOURCE_POLICY`.
        #[arg(long, default_value = "IDENTITY_POLICY")]
        policy_type: String,
    },
    /// Evaluate the requests described in a JSON file (format: crates/policy/SIMULATE_FORMAT.md)
    /// and print each decision with its explanation; exits non-zero when an `expect` fails.
    Simulate {
        /// The cases file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Policy kinds as spelled on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Identity-based (user, group, role) policy.
    Identity,
    /// Resource-based policy.
    Resource,
    /// Role trust policy.
    Trust,
    /// Service control policy.
    Scp,
    /// Resource control policy.
    Rcp,
    /// Session policy.
    Session,
    /// Permissions boundary.
    Boundary,
}

impl From<KindArg> for PolicyKind {
    fn from(k: KindArg) -> PolicyKind {
        match k {
            KindArg::Identity => PolicyKind::Identity,
            KindArg::Resource => PolicyKind::Resource,
            KindArg::Trust => PolicyKind::Trust,
            KindArg::Scp => PolicyKind::Scp,
            KindArg::Rcp => PolicyKind::Rcp,
            KindArg::Session => PolicyKind::Session,
            KindArg::Boundary => PolicyKind::Boundary,
        }
    }
}

/// The Access Analyzer policy type of a kind (a resource policy of type
/// `AWS::IAM::AssumeRolePolicyDocument` is a trust policy).
fn target(kind: KindArg, resource_type: Option<&str>) -> Target {
    match kind {
        KindArg::Identity | KindArg::Session | KindArg::Boundary => Target::Identity,
        KindArg::Trust => Target::Trust,
        KindArg::Scp => Target::Scp,
        KindArg::Rcp => Target::Rcp,
        KindArg::Resource if resource_type == Some("AWS::IAM::AssumeRolePolicyDocument") => {
            Target::Trust
        }
        KindArg::Resource => Target::Resource,
    }
}

/// Runs a `policy` subcommand.
pub fn run(cmd: PolicyCommand) -> ExitCode {
    let (output, ok) = match cmd {
        PolicyCommand::Validate {
            kind,
            access_analyzer: true,
            resource_type,
            files,
        } => {
            let rt = resource_type.as_deref();
            let target = match (kind, rt) {
                (Some(k), _) => Some(target(k, rt)),
                (None, Some(_)) => Some(target(KindArg::Resource, rt)),
                (None, None) => None,
            };
            validate::cli(&files, target.map(|t| (t, rt)))
        }
        PolicyCommand::Validate { kind, files, .. } => {
            rampart_policy::cli_validate(&files, kind.map(PolicyKind::from))
        }
        PolicyCommand::Check {
            file,
            policy_type,
            existing,
            public_for,
            action,
            resource,
        } => {
            let check = match (existing, public_for) {
                (Some(e), _) => Check::NoNewAccess(e),
                (None, Some(t)) => Check::NoPublicAccess(t),
                (None, None) => Check::AccessNotGranted {
                    actions: action,
                    resources: resource,
                },
            };
            checks_cli::run(&file, &policy_type, &check)
        }
        PolicyCommand::CheckNoNewAccess {
            existing,
            new,
            policy_type,
        } => checks_cli::run(&new, &policy_type, &Check::NoNewAccess(existing)),
        PolicyCommand::Simulate { file, json } => rampart_policy::cli_simulate(&file, json),
    };
    print!("{output}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
