//! # rampart-policy
//!
//! The AWS IAM policy language, as a pure library: parse and validate policy documents
//! ([`Policy::parse`]), evaluate a request against every applicable policy layer following
//! AWS's documented evaluation logic ([`evaluate`]), and explain the decision
//! ([`Decision::explain`]). No I/O except the CLI helpers that read files ([`cli_validate`],
//! [`cli_simulate`]), no async, no SQL.
//!
//! ```
//! use std::sync::Arc;
//! use rampart_policy::*;
//!
//! let doc = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow",
//!     "Action":"s3:Get*","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}]}"#;
//! let policy = Arc::new(Policy::parse(doc, PolicyKind::Identity).unwrap().with_name("Read"));
//! let set = PolicySet { identity: PolicyLayer::new(vec![policy]), ..Default::default() };
//! let principal = Principal::from_arn("arn:aws:iam::111122223333:user/bob");
//! let mut ctx = Context::new();
//! principal.fill_context(&mut ctx); // aws:username, aws:PrincipalArn, ...
//! let req = Request::new(principal, "s3:GetObject", "arn:aws:s3:::bucket/bob/a.txt",
//!     Some("111122223333".into()), ctx);
//! let d = evaluate(&req, &set);
//! assert_eq!(d.outcome, Outcome::Allow);
//! assert_eq!(d.statement_refs(), vec!["Read#Read"]);
//! ```
//!
//! ## Command-line entry points
//! The `rampart` binary's `policy` subcommands are thin wrappers:
//! - `rampart policy validate FILE...` -> [`cli_validate`]`(&paths, None)` returns
//!   `(output, ok)`: one line per problem (`FILE: Statement 0 (Sid "X"), Action: ...`) or
//!   `FILE: OK (...)`; exit non-zero when `ok` is false. The kind is inferred (Principal ->
//!   resource, Principal without Resource -> trust, else identity) unless given.
//! - `rampart policy simulate FILE [--json]` -> [`cli_simulate`]`(&path, json)` returns
//!   `(output, ok)`; the file format is `SIMULATE_FORMAT.md`; `ok` is false when the file is
//!   invalid or any case's `expect` does not hold.
//!
//! ## Context keys the caller supplies
//! The engine reads only what is in [`Context`]. [`Principal::fill_context`] adds the keys
//! derived from the caller (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType,
//! aws:username, aws:userid for root/federated users, aws:PrincipalIsAWSService,
//! aws:PrincipalServiceName); the server adds the rest (aws:SourceIp, aws:CurrentTime,
//! aws:EpochTime, aws:SecureTransport, aws:MultiFactorAuthPresent, aws:PrincipalTag/*, ...).

pub mod action;
pub mod arn;
pub mod aws_rules;
pub mod condition;
pub mod context;
pub mod document;
pub mod error;
pub mod evaluate;
mod explain;
mod fxhash;
mod iam_dates;
pub mod iam_grammar;
pub mod index;
mod parse;
pub mod partition;
pub mod principal;
mod print;
pub mod public;
pub mod request;
pub mod resource;
mod scratch;
pub mod simulate;
pub mod validate;
pub mod variables;
pub mod wildcard;

pub use context::{Context, ContextValue};
pub use document::{Effect, Policy, PolicyKind, Statement, Version};
pub use error::{Location, PolicyError, Problem, SimulateError};
pub use evaluate::{
    evaluate, AllowBasis, Decision, Layer, OrgLevel, Outcome, PolicySet, StatementRef,
};
pub use iam_grammar::IamDocument;
pub use index::PolicyLayer;
pub use partition::Partition;
pub use principal::Grant;
pub use request::{Principal, PrincipalType, Request};
pub use simulate::{
    cli_simulate, parse_cases, render_json, render_text, run_cases, Case, CaseResult,
};
pub use validate::{cli_validate, validate_files, FileReport};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Policy>();
        assert_send_sync::<PolicySet>();
        assert_send_sync::<Decision>();
    }
}
