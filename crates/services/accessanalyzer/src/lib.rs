//! IAM Access Analyzer's service table: external access analyzers over Rampart's own
//! resources, internal access analyzers over its S3 buckets, and unused access analyzers over
//! its IAM roles and users.
//!
//! - [`analysis`]: what a policy grants outside a zone of trust (pure, over the parsed policy);
//!   [`resources`]: the analysed resource types, read from their services' stores.
//! - [`engine`]: zones of trust, the reconciliation of one resource's findings, full scans;
//!   [`react`]: what the audit records of policy changes ask to analyse again (the server's
//!   stream consumer, `crates/server/src/jobs/accessanalyzer.rs`, calls it).
//! - [`analyzers`], [`rules`], [`findings`], [`analyzed`]: the operations; [`filter`]: the
//!   filter keys of archive rules and `ListFindings`; [`model`]: what is stored.
//! - [`internal`]: which IAM roles and users of the zone can act on a critical resource, by
//!   the authorizer's policy engine (pure); [`internal_scan`]: reads the principals, buckets
//!   and organizations from the store and reconciles an internal access analyzer's findings
//!   ([`sync`], shared with unused access analysis).
//! - [`unused`]: what an unused access analyzer finds in one IAM role's or user's facts (pure);
//!   [`unused_scan`]: reads those facts from the store and reconciles the findings (the
//!   server's `access-analyzer-unused` job runs it); [`recommendations`]: the recommended
//!   policies of `UnusedPermission` findings.
//! - [`validate`]: `ValidatePolicy`'s policy checks (also `rampart policy validate
//!   --access-analyzer`); [`checks`]: the custom policy checks (`CheckAccessNotGranted`,
//!   `CheckNoNewAccess`, `CheckNoPublicAccess`).
//! - [`previews`]: access previews, the analysis run on proposed configurations
//!   ([`preview_config`]) in place of the stored resources.
//! - [`policygen`]: the policy a principal's successful calls need (pure); [`generations`]:
//!   the policy generation operations; [`generation_run`]: the generation itself, reading the
//!   audit trail (the server's `access-analyzer-policy-generation` job runs it).

use rampart_kit::{
    authz::AuthzRequest, context::CallContext, error::ServiceError, input::opt_str, routes,
};
use rampart_store::Store;
use serde_json::Value;

pub mod action_scope;
pub mod analysis;
pub mod analyzed;
pub mod analyzers;
pub mod checks;
pub mod engine;
pub mod error;
pub mod filter;
pub mod findings;
pub mod generation_run;
pub mod generations;
pub mod internal;
pub mod internal_scan;
pub mod model;
pub mod policygen;
pub mod policygen_resources;
pub mod preview_config;
pub mod previews;
pub mod react;
pub mod recommendations;
pub mod resources;
pub mod rules;
pub mod sync;
pub mod unused;
pub mod unused_scan;
pub mod validate;

pub use error::AnalyzerError;
pub use rampart_model::accessanalyzer::Op;

routes! {
    authz: authorize;
    built {
        CreateAnalyzer => Write, |i, c, d| analyzers::create(i, c, d);
        GetAnalyzer => Read, |i, c, d| analyzers::get(i, c, d);
        UpdateAnalyzer => Write, |i, c, d| analyzers::update(i, c, d);
        ListAnalyzers => Read, |i, c, d| analyzers::list(i, c, d);
        DeleteAnalyzer => Write, |i, c, d| analyzers::delete(i, c, d);
        TagResource => Write, |i, c, d| analyzers::tag(i, c, d);
        UntagResource => Write, |i, c, d| analyzers::untag(i, c, d);
        ListTagsForResource => Read, |i, c, d| analyzers::list_tags(i, c, d);
        CreateArchiveRule => Write, |i, c, d| rules::create(i, c, d);
        GetArchiveRule => Read, |i, c, d| rules::get(i, c, d);
        ListArchiveRules => Read, |i, c, d| rules::list(i, c, d);
        UpdateArchiveRule => Write, |i, c, d| rules::update(i, c, d);
        DeleteArchiveRule => Write, |i, c, d| rules::delete(i, c, d);
        ApplyArchiveRule => Write, |i, c, d| rules::apply_rule(i, c, d);
        ListFindings => Read, |i, c, d| findings::list(i, c, d);
        ListFindingsV2 => Read, |i, c, d| findings::list_v2(i, c, d);
        GetFinding => Read, |i, c, d| findings::get(i, c, d);
        GetFindingV2 => Read, |i, c, d| findings::get_v2(i, c, d);
        UpdateFindings => Write, |i, c, d| findings::update(i, c, d);
        GetFindingsStatistics => Read, |i, c, d| findings::statistics(i, c, d);
        GenerateFindingRecommendation => Write, |i, c, d| recommendations::generate(i, c, d);
        GetFindingRecommendation => Read, |i, c, d| recommendations::get(i, c, d);
        StartResourceScan => Write, |i, c, d| analyzed::start_scan(i, c, d);
        GetAnalyzedResource => Read, |i, c, d| analyzed::get(i, c, d);
        ListAnalyzedResources => Read, |i, c, d| analyzed::list(i, c, d);
        ValidatePolicy => Read, |i, c, d| validate::validate_policy(i, c, d);
        CheckAccessNotGranted => Read, |i, c, d| checks::check_access_not_granted(i, c, d);
        CheckNoNewAccess => Read, |i, c, d| checks::check_no_new_access(i, c, d);
        CheckNoPublicAccess => Read, |i, c, d| checks::check_no_public_access(i, c, d);
        StartPolicyGeneration => Write, |i, c, d| generations::start(i, c, d);
        GetGeneratedPolicy => Read, |i, c, d| generations::get(i, c, d);
        ListPolicyGenerations => Read, |i, c, d| generations::list(i, c, d);
        CancelPolicyGeneration => Write, |i, c, d| generations::cancel(i, c, d);
        CreateAccessPreview => Write, |i, c, d| previews::create(i, c, d);
        GetAccessPreview => Read, |i, c, d| previews::get(i, c, d);
        ListAccessPreviews => Read, |i, c, d| previews::list(i, c, d);
        ListAccessPreviewFindings => Read, |i, c, d| previews::list_findings(i, c, d);
    }
    not_built {
        // Service-linked analyzers.
        CreateServiceLinkedAnalyzer, DeleteServiceLinkedAnalyzer,
    }
}

/// The authorization question of an operation: `access-analyzer:<Operation>` on the analyzer
/// it names (by name or ARN; an archive rule's operations on the rule's ARN), or on `*`.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let action = format!("access-analyzer:{}", op.name());
    let account = &ctx.principal.account_id;
    let by_name = |name: &str| model::analyzer_arn(&ctx.region, account, name);
    let arn = match op {
        Op::GetAnalyzer
        | Op::DeleteAnalyzer
        | Op::CreateAnalyzer
        | Op::UpdateAnalyzer
        | Op::ListArchiveRules => opt_str(input, "analyzerName").map(by_name),
        Op::CreateArchiveRule
        | Op::GetArchiveRule
        | Op::UpdateArchiveRule
        | Op::DeleteArchiveRule => {
            match (opt_str(input, "analyzerName"), opt_str(input, "ruleName")) {
                (Some(a), Some(r)) => Some(format!("{}/archive-rule/{r}", by_name(a))),
                _ => None,
            }
        }
        Op::ApplyArchiveRule => match (opt_str(input, "analyzerArn"), opt_str(input, "ruleName")) {
            (Some(a), Some(r)) => Some(format!("{a}/archive-rule/{r}")),
            _ => None,
        },
        Op::TagResource | Op::UntagResource | Op::ListTagsForResource => {
            opt_str(input, "resourceArn").map(str::to_string)
        }
        Op::ListFindings
        | Op::ListFindingsV2
        | Op::GetFinding
        | Op::GetFindingV2
        | Op::UpdateFindings
        | Op::GetFindingsStatistics
        | Op::GenerateFindingRecommendation
        | Op::GetFindingRecommendation
        | Op::StartResourceScan
        | Op::GetAnalyzedResource
        | Op::ListAnalyzedResources
        | Op::CreateAccessPreview
        | Op::GetAccessPreview
        | Op::ListAccessPreviews
        | Op::ListAccessPreviewFindings => opt_str(input, "analyzerArn").map(str::to_string),
        Op::ListAnalyzers
        | Op::ValidatePolicy
        | Op::CheckAccessNotGranted
        | Op::CheckNoNewAccess
        | Op::CheckNoPublicAccess
        | Op::StartPolicyGeneration
        | Op::GetGeneratedPolicy
        | Op::ListPolicyGenerations
        | Op::CancelPolicyGeneration => return Ok(Some(AuthzRequest::on_any(&action, account))),
        _ => return Ok(None),
    };
    Ok(Some(match arn {
        Some(arn) => AuthzRequest::on(&action, arn, account),
        None => AuthzRequest::on_any(&action, account),
    }))
}
