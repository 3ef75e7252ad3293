//! AWS Security Hub (restJson1): the hub, findings in the AWS Security Finding Format with
//! their filters, and standards whose controls run AWS Config's managed checks on what
//! Config records.
//!
//! - [`hub`]: `EnableSecurityHub`, `DescribeHub`, `DisableSecurityHub`;
//! - [`findings`]: import, query and update findings; [`asff`]: checking and completing an
//!   imported finding; [`filters`]: `AwsSecurityFindingFilters` and `SortCriteria`, with
//!   [`attributes`]: where each filter attribute lives in a finding;
//! - [`standards`]: standards, their controls and the security control definitions;
//!   [`catalog`]: the standards and controls Rampart runs; [`controls`]: running them into
//!   findings, driven by the server's `securityhub-controls` job
//!   (`crates/server/src/jobs/securityhub.rs`); [`control_finding`]: one control finding's
//!   document and workflow;
//! - [`products`]: the product integrations (GuardDuty, Config, IAM Access Analyzer) and
//!   their import switches; [`imports`]: delivering their findings, driven by the server's
//!   `securityhub-imports` job, as `sources` reads them; [`from_guardduty`], [`from_config`],
//!   [`from_access_analyzer`]: each source's findings in ASFF, as AWS maps them;
//! - [`insights`]: custom and managed insights and their grouped results;
//! - [`automation`]: automation rules; [`automation_apply`]: running them on findings as
//!   they are imported;
//! - [`org`]: the organization's administrator and configuration, auto-enable and whose
//!   findings an account sees; [`members`]: members and their administrator;
//!   [`invitations`]: invitations for accounts outside the organization;
//! - [`posture`]: the security score (`rampart posture`);
//! - [`model`]: how the hub and findings are stored.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_kit::{authz::AuthzRequest, context::CallContext, error::ServiceError, routes};
use rampart_store::Store;
use serde_json::Value;

pub mod aggregator;
pub mod asff;
pub mod attributes;
pub mod automation;
pub mod automation_apply;
pub mod catalog;
pub mod control_finding;
pub mod controls;
pub mod error;
pub mod filters;
pub mod findings;
pub mod from_access_analyzer;
pub mod from_config;
pub mod from_guardduty;
pub mod hub;
pub mod imports;
pub mod insights;
pub mod invitations;
pub mod members;
pub mod model;
pub mod org;
pub mod posture;
pub mod products;
mod sources;
pub mod standards;

pub use error::SecurityHubError;
pub use rampart_model::securityhub::Op;

routes! {
    authz: authorize;
    built {
        EnableSecurityHub => Write, |i, c, d| hub::enable(i, c, d);
        DescribeHub => Read, |i, c, d| hub::describe(i, c, d);
        DisableSecurityHub => Write, |i, c, d| hub::disable(i, c, d);
        BatchImportFindings => Write, |i, c, d| findings::import(i, c, d);
        GetFindings => Read, |i, c, d| findings::get(i, c, d);
        BatchUpdateFindings => Write, |i, c, d| findings::update(i, c, d);
        DescribeStandards => Read, |i, c, d| standards::describe(i, c, d);
        BatchEnableStandards => Write, |i, c, d| standards::enable(i, c, d);
        BatchDisableStandards => Write, |i, c, d| standards::disable(i, c, d);
        GetEnabledStandards => Read, |i, c, d| standards::enabled(i, c, d);
        DescribeStandardsControls => Read, |i, c, d| standards::controls(i, c, d);
        UpdateStandardsControl => Write, |i, c, d| standards::update_control(i, c, d);
        ListSecurityControlDefinitions => Read, |i, c, d| standards::list_definitions(i, c, d);
        GetSecurityControlDefinition => Read, |i, c, d| standards::get_definition(i, c, d);
        DescribeProducts => Read, |i, c, d| products::describe(i, c, d);
        EnableImportFindingsForProduct => Write, |i, c, d| products::enable(i, c, d);
        DisableImportFindingsForProduct => Write, |i, c, d| products::disable(i, c, d);
        ListEnabledProductsForImport => Read, |i, c, d| products::list_enabled(i, c, d);
        CreateInsight => Write, |i, c, d| insights::create(i, c, d);
        GetInsights => Read, |i, c, d| insights::get(i, c, d);
        UpdateInsight => Write, |i, c, d| insights::update(i, c, d);
        DeleteInsight => Write, |i, c, d| insights::delete(i, c, d);
        GetInsightResults => Read, |i, c, d| insights::results(i, c, d);
        CreateAutomationRule => Write, |i, c, d| automation::create(i, c, d);
        BatchGetAutomationRules => Read, |i, c, d| automation::batch_get(i, c, d);
        ListAutomationRules => Read, |i, c, d| automation::list(i, c, d);
        BatchUpdateAutomationRules => Write, |i, c, d| automation::batch_update(i, c, d);
        BatchDeleteAutomationRules => Write, |i, c, d| automation::batch_delete(i, c, d);
        EnableOrganizationAdminAccount => Write, |i, c, d| org::enable_admin(i, c, d);
        DisableOrganizationAdminAccount => Write, |i, c, d| org::disable_admin(i, c, d);
        ListOrganizationAdminAccounts => Read, |i, c, d| org::list_admins(i, c, d);
        DescribeOrganizationConfiguration => Read, |i, c, d| org::describe_config(i, c, d);
        UpdateOrganizationConfiguration => Write, |i, c, d| org::update_config(i, c, d);
        CreateMembers => Write, |i, c, d| members::create(i, c, d);
        GetMembers => Read, |i, c, d| members::get(i, c, d);
        ListMembers => Read, |i, c, d| members::list(i, c, d);
        DeleteMembers => Write, |i, c, d| members::delete(i, c, d);
        DisassociateMembers => Write, |i, c, d| members::disassociate(i, c, d);
        GetAdministratorAccount => Read, |_i, c, d| members::administrator(c, d, "Administrator");
        GetMasterAccount => Read, |_i, c, d| members::administrator(c, d, "Master");
        DisassociateFromAdministratorAccount => Write, |i, c, d| members::leave(i, c, d);
        DisassociateFromMasterAccount => Write, |i, c, d| members::leave(i, c, d);
        InviteMembers => Write, |i, c, d| invitations::invite(i, c, d);
        ListInvitations => Read, |i, c, d| invitations::list(i, c, d);
        GetInvitationsCount => Read, |i, c, d| invitations::count(i, c, d);
        AcceptAdministratorInvitation => Write, |i, c, d| invitations::accept(i, c, d, "AdministratorId");
        AcceptInvitation => Write, |i, c, d| invitations::accept(i, c, d, "MasterId");
        DeclineInvitations => Write, |i, c, d| invitations::decline(i, c, d);
        DeleteInvitations => Write, |i, c, d| invitations::decline(i, c, d);
        CreateFindingAggregator => Write, |i, c, d| aggregator::create(i, c, d);
        GetFindingAggregator => Read, |i, c, d| aggregator::get(i, c, d);
        UpdateFindingAggregator => Write, |i, c, d| aggregator::update(i, c, d);
        DeleteFindingAggregator => Write, |i, c, d| aggregator::delete(i, c, d);
        ListFindingAggregators => Read, |i, c, d| aggregator::list(i, c, d);
    }
    not_built {
        // Action targets, configuration policies, tags, the V2 API.
        BatchGetConfigurationPolicyAssociations, BatchGetSecurityControls,
        BatchGetStandardsControlAssociations, BatchUpdateFindingsV2,
        BatchUpdateStandardsControlAssociations, CreateActionTarget, CreateAggregatorV2,
        CreateAutomationRuleV2, CreateConfigurationPolicy, CreateConnectorV2,
        CreateTicketV2, DeleteActionTarget, DeleteAggregatorV2,
        DeleteAutomationRuleV2, DeleteConfigurationPolicy, DeleteConnectorV2,
        DescribeActionTargets, DescribeProductsV2,
        DescribeSecurityHubV2, DisableSecurityHubV2, EnableSecurityHubV2,
        GenerateRecommendedPolicyV2, GetAggregatorV2, GetAutomationRuleV2,
        GetConfigurationPolicy, GetConfigurationPolicyAssociation, GetConnectorV2,
        GetFindingHistory, GetFindingStatisticsV2, GetFindingsTrendsV2,
        GetFindingsV2, GetRecommendedPolicyV2, GetResourcesStatisticsV2, GetResourcesTrendsV2,
        GetResourcesV2, ListAggregatorsV2, ListAutomationRulesV2, ListConfigurationPolicies,
        ListConfigurationPolicyAssociations, ListConnectorsV2, ListStandardsControlAssociations,
        ListTagsForResource, RegisterConnectorV2,
        StartConfigurationPolicyAssociation, StartConfigurationPolicyDisassociation,
        TagResource, UntagResource, UpdateActionTarget, UpdateAggregatorV2,
        UpdateAutomationRuleV2, UpdateConfigurationPolicy, UpdateConnectorV2,
        UpdateFindings, UpdateSecurityControl,
        UpdateSecurityHubConfiguration,
    }
}

/// An ASFF timestamp: RFC 3339 in UTC with milliseconds (`2026-12-07T05:00:00.000Z`).
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Sets a member of a JSON object (a value that is not an object is left as it is).
pub fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), value);
    }
}

/// The authorization question of a Security Hub operation: `securityhub:<Operation>` on the
/// caller's hub in the caller's region (`arn:aws:securityhub:REGION:ACCOUNT:hub/default`).
async fn authorize(
    op: Op,
    _input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let action = format!("securityhub:{}", op.name());
    let account = &ctx.principal.account_id;
    let arn = model::hub_arn(&ctx.region, account);
    Ok(Some(AuthzRequest::on(&action, arn, account)))
}
