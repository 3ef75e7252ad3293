//! Amazon GuardDuty's service table: detectors, findings in AWS's finding schema, trusted IP
//! lists and threat lists, and the detection rules the server runs over the audit stream.
//!
//! - [`detectors`]: detectors; [`tags`]: their tags and the lists' tags.
//! - [`findings`]: the findings API; [`criteria`]: `FindingCriteria` and `SortCriteria`;
//!   [`finding`]: findings in AWS's schema, the same-finding key, and [`finding::record`],
//!   where every finding is created or updated.
//! - [`detect`]: the detection rules over one audit record; [`stream`]: a batch of the audit
//!   stream through them, run by the server's GuardDuty consumer
//!   (`crates/server/src/jobs/guardduty.rs`); [`sigma`]: operators' own detections as Sigma
//!   rules, run in the same pass.
//! - [`filters`]: saved filters, and the suppression rules (`ARCHIVE` filters) every new or
//!   repeated finding passes; [`signins`]: console sign-in bursts over the audit stream.
//! - [`anomaly`]: the `*/AnomalousBehavior` findings, each call scored against its
//!   principal's stored baseline ([`profile`]: the baseline and the score; [`tactics`]: the
//!   tactic family of each API).
//! - [`threatlists`]: trusted IP lists and threat lists; [`lists`]: their entries;
//!   [`fetch`]: reading a list file from Rampart's S3 on the caller's behalf.
//! - [`org`]: the organization's delegated administrator and auto-enable; [`members`]: the
//!   administrator's members; [`invitations`]: members outside the organization;
//!   [`relation`]: how they are stored; [`orgstats`]: `GetOrganizationStatistics`. An administrator's
//!   `ListFindings`/`GetFindings`/`GetFindingsStatistics`/`ArchiveFindings` cover its
//!   enabled members' findings in its region ([`findings`]).
//! - [`destinations`]: publishing destinations; [`export`]: the findings exported to them,
//!   written by the server's `guardduty-export` job.
//! - [`model`]: how detectors, findings and lists are stored.

use rampart_kit::{
    authz::AuthzRequest, context::CallContext, error::ServiceError, input::opt_str, routes,
};
use rampart_store::Store;
use serde_json::Value;

pub mod anomaly;
pub mod criteria;
pub mod destinations;
pub mod detect;
pub mod detectors;
pub mod error;
pub mod export;
pub mod fetch;
pub mod filters;
pub mod finding;
pub mod findings;
pub mod invitations;
pub mod lists;
pub mod members;
pub mod model;
pub mod org;
pub mod orgstats;
pub mod profile;
pub mod relation;
pub mod sigma;
pub mod signins;
pub mod stream;
pub mod tactics;
pub mod tags;
pub mod threatlists;

pub use error::GuardDutyError;
pub use rampart_model::guardduty::Op;

routes! {
    authz: authorize;
    built {
        CreateDetector => Write, |i, c, d| detectors::create(i, c, d);
        GetDetector => Read, |i, c, d| detectors::get(i, c, d);
        UpdateDetector => Write, |i, c, d| detectors::update(i, c, d);
        DeleteDetector => Write, |i, c, d| detectors::delete(i, c, d);
        ListDetectors => Read, |i, c, d| detectors::list(i, c, d);
        TagResource => Write, |i, c, d| tags::tag(i, c, d);
        UntagResource => Write, |i, c, d| tags::untag(i, c, d);
        ListTagsForResource => Read, |i, c, d| tags::list(i, c, d);
        ListFindings => Read, |i, c, d| findings::list(i, c, d);
        GetFindings => Read, |i, c, d| findings::get(i, c, d);
        GetFindingsStatistics => Read, |i, c, d| findings::statistics(i, c, d);
        ArchiveFindings => Write, |i, c, d| findings::archive(i, c, d);
        UnarchiveFindings => Write, |i, c, d| findings::unarchive(i, c, d);
        UpdateFindingsFeedback => Write, |i, c, d| findings::feedback(i, c, d);
        CreateSampleFindings => Write, |i, c, d| findings::create_samples(i, c, d);
        CreateIPSet => Write, |i, c, d| threatlists::create(Op::CreateIPSet, i, c, d),
            prepare: threatlists::prepare;
        GetIPSet => Read, |i, c, d| threatlists::get(Op::GetIPSet, i, c, d);
        UpdateIPSet => Write, |i, c, d| threatlists::update(Op::UpdateIPSet, i, c, d),
            prepare: threatlists::prepare;
        DeleteIPSet => Write, |i, c, d| threatlists::delete(Op::DeleteIPSet, i, c, d);
        ListIPSets => Read, |i, c, d| threatlists::list(Op::ListIPSets, i, c, d);
        CreateThreatIntelSet => Write,
            |i, c, d| threatlists::create(Op::CreateThreatIntelSet, i, c, d),
            prepare: threatlists::prepare;
        GetThreatIntelSet => Read, |i, c, d| threatlists::get(Op::GetThreatIntelSet, i, c, d);
        UpdateThreatIntelSet => Write,
            |i, c, d| threatlists::update(Op::UpdateThreatIntelSet, i, c, d),
            prepare: threatlists::prepare;
        DeleteThreatIntelSet => Write,
            |i, c, d| threatlists::delete(Op::DeleteThreatIntelSet, i, c, d);
        ListThreatIntelSets => Read, |i, c, d| threatlists::list(Op::ListThreatIntelSets, i, c, d);
        CreateFilter => Write, |i, c, d| filters::create(i, c, d);
        GetFilter => Read, |i, c, d| filters::get(i, c, d);
        UpdateFilter => Write, |i, c, d| filters::update(i, c, d);
        DeleteFilter => Write, |i, c, d| filters::delete(i, c, d);
        ListFilters => Read, |i, c, d| filters::list(i, c, d);
        EnableOrganizationAdminAccount => Write, |i, c, d| org::enable_admin(i, c, d);
        DisableOrganizationAdminAccount => Write, |i, c, d| org::disable_admin(i, c, d);
        ListOrganizationAdminAccounts => Read, |i, c, d| org::list_admins(i, c, d);
        UpdateOrganizationConfiguration => Write, |i, c, d| org::update_config(i, c, d);
        DescribeOrganizationConfiguration => Read, |i, c, d| org::describe_config(i, c, d);
        CreateMembers => Write, |i, c, d| members::create(i, c, d);
        GetMembers => Read, |i, c, d| members::get(i, c, d);
        GetMemberDetectors => Read, |i, c, d| members::detectors(i, c, d);
        UpdateMemberDetectors => Write, |i, c, d| members::update_detectors(i, c, d);
        GetOrganizationStatistics => Read, |i, c, d| orgstats::get(i, c, d);
        ListMembers => Read, |i, c, d| members::list(i, c, d);
        DeleteMembers => Write, |i, c, d| members::delete(i, c, d);
        DisassociateMembers => Write, |i, c, d| members::disassociate(i, c, d);
        StartMonitoringMembers => Write, |i, c, d| members::start_monitoring(i, c, d);
        StopMonitoringMembers => Write, |i, c, d| members::stop_monitoring(i, c, d);
        GetAdministratorAccount => Read,
            |i, c, d| members::administrator(i, c, d, "Administrator");
        GetMasterAccount => Read, |i, c, d| members::administrator(i, c, d, "Master");
        DisassociateFromAdministratorAccount => Write, |i, c, d| members::leave(i, c, d);
        DisassociateFromMasterAccount => Write, |i, c, d| members::leave(i, c, d);
        InviteMembers => Write, |i, c, d| invitations::invite(i, c, d);
        ListInvitations => Read, |i, c, d| invitations::list(i, c, d);
        GetInvitationsCount => Read, |i, c, d| invitations::count(i, c, d);
        AcceptAdministratorInvitation => Write,
            |i, c, d| invitations::accept(i, c, d, "AdministratorId");
        AcceptInvitation => Write, |i, c, d| invitations::accept(i, c, d, "MasterId");
        DeclineInvitations => Write, |i, c, d| invitations::decline(i, c, d);
        DeleteInvitations => Write, |i, c, d| invitations::decline(i, c, d);
        CreatePublishingDestination => Write, |i, c, d| destinations::create(i, c, d);
        DescribePublishingDestination => Read, |i, c, d| destinations::describe(i, c, d);
        UpdatePublishingDestination => Write, |i, c, d| destinations::update(i, c, d);
        DeletePublishingDestination => Write, |i, c, d| destinations::delete(i, c, d);
        ListPublishingDestinations => Read, |i, c, d| destinations::list(i, c, d);
    }
    not_built {
        // Entity sets.
        CreateThreatEntitySet, CreateTrustedEntitySet, DeleteThreatEntitySet,
        DeleteTrustedEntitySet, GetThreatEntitySet, GetTrustedEntitySet, ListThreatEntitySets,
        ListTrustedEntitySets, UpdateThreatEntitySet, UpdateTrustedEntitySet,
        // Malware protection, coverage, usage.
        CreateMalwareProtectionPlan, DeleteMalwareProtectionPlan, DescribeMalwareScans,
        GetMalwareProtectionPlan, GetMalwareScan, GetMalwareScanSettings,
        ListMalwareProtectionPlans, ListMalwareScans, SendObjectMalwareScan, StartMalwareScan,
        UpdateMalwareProtectionPlan, UpdateMalwareScanSettings, GetCoverageStatistics,
        ListCoverage, GetRemainingFreeTrialDays, GetUsageStatistics,
    }
}

/// The authorization question of a GuardDuty operation: `guardduty:<Operation>` on the
/// detector (or list, or tagged resource) it names, or on `*`.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let action = format!("guardduty:{}", op.name());
    let account = &ctx.principal.account_id;
    let detector = |id: &str| model::detector_arn(&ctx.region, account, id);
    let detector_id = opt_str(input, "DetectorId").unwrap_or_default();
    let arn = match op {
        Op::CreateDetector
        | Op::ListDetectors
        | Op::EnableOrganizationAdminAccount
        | Op::DisableOrganizationAdminAccount
        | Op::ListOrganizationAdminAccounts
        | Op::GetOrganizationStatistics
        | Op::ListInvitations
        | Op::GetInvitationsCount
        | Op::DeclineInvitations
        | Op::DeleteInvitations => return Ok(Some(AuthzRequest::on_any(&action, account))),
        Op::TagResource | Op::UntagResource | Op::ListTagsForResource => {
            opt_str(input, "ResourceArn")
                .unwrap_or_default()
                .to_string()
        }
        Op::GetIPSet | Op::UpdateIPSet | Op::DeleteIPSet => format!(
            "{}/ipset/{}",
            detector(detector_id),
            opt_str(input, "IpSetId").unwrap_or_default()
        ),
        Op::GetThreatIntelSet | Op::UpdateThreatIntelSet | Op::DeleteThreatIntelSet => format!(
            "{}/threatintelset/{}",
            detector(detector_id),
            opt_str(input, "ThreatIntelSetId").unwrap_or_default()
        ),
        Op::CreateFilter => format!(
            "{}/filter/{}",
            detector(detector_id),
            opt_str(input, "Name").unwrap_or_default()
        ),
        Op::GetFilter | Op::UpdateFilter | Op::DeleteFilter => format!(
            "{}/filter/{}",
            detector(detector_id),
            opt_str(input, "FilterName").unwrap_or_default()
        ),
        _ if input.get("DetectorId").is_some() => detector(detector_id),
        _ => return Ok(None),
    };
    Ok(Some(AuthzRequest::on(&action, arn, account)))
}
