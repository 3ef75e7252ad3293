//! AWS Config (awsJson1.1, `StarlingDoveService.*`): configuration items captured from the
//! store's change log, history and inventory, and AWS managed rules evaluated on the
//! resources Rampart really holds.
//!
//! - [`recorder`]: configuration recorders and delivery channels; [`delivery`] and
//!   [`delivery_file`]: history and snapshot files delivered to the channel's bucket;
//! - [`sync`]: the change log turned into items and evaluations; [`record`]: writing items;
//!   [`build`], [`build_iam`], [`build_other`]: snapshots of each resource type from what
//!   IAM, KMS, Secrets Manager, S3 and CloudTrail store;
//! - [`inventory`]: history, discovered resources, batch reads, counts;
//! - [`rules`]: rules; [`custom`]: custom policy rules run by AWS's Guard engine;
//!   [`managed`] and [`managed_more`]: the catalog of managed rules; [`checks_iam`],
//!   [`checks_other`], [`checks_account`] and the `_more` modules: their checks; [`evaluate`]: running them;
//!   [`compliance`]: compliance by rule and resource, details and summaries;
//! - [`query`] and [`select`]: `SelectResourceConfig`'s SQL subset over the current items;
//! - [`packs`] and [`pack_template`]: conformance packs from CloudFormation templates;
//! - storage in [`model`], input helpers in [`common`].
//!
//! The server's `config` job (`crates/server/src/jobs/config.rs`) runs [`sync::run`] every
//! second: a change re-evaluates the rules in scope within about a second, and periodic rules
//! follow their frequency on the request clock.

use rampart_kit::{authz::AuthzRequest, context::CallContext, routes};
use rampart_store::Store;
use serde_json::Value;

pub mod build;
pub mod build_iam;
pub mod build_other;
pub mod checks_account;
pub mod checks_account_more;
pub mod checks_iam;
pub mod checks_iam_more;
pub mod checks_other;
pub mod checks_s3_more;
pub mod common;
pub mod compliance;
pub mod custom;
pub mod delivery;
pub mod delivery_file;
pub mod error;
pub mod evaluate;
pub mod inventory;
pub mod managed;
pub mod managed_more;
pub mod model;
pub mod pack_template;
pub mod packs;
pub mod query;
pub mod record;
pub mod recorder;
pub mod rules;
pub mod select;
pub mod sync;

pub use error::ConfigError;
pub use rampart_model::config::Op;

routes! {
    authz: authorize;
    built {
        PutConfigurationRecorder => Write, |i, c, d| recorder::put(i, c, d);
        DescribeConfigurationRecorders => Read, |i, c, d| recorder::describe(i, c, d);
        DescribeConfigurationRecorderStatus => Read, |i, c, d| recorder::status(i, c, d);
        StartConfigurationRecorder => Write, |i, c, d| recorder::start(i, c, d);
        StopConfigurationRecorder => Write, |i, c, d| recorder::stop(i, c, d);
        DeleteConfigurationRecorder => Write, |i, c, d| recorder::delete(i, c, d);
        PutDeliveryChannel => Write, |i, c, d| recorder::put_channel(i, c, d);
        DescribeDeliveryChannels => Read, |i, c, d| recorder::describe_channels(i, c, d);
        DeleteDeliveryChannel => Write, |i, c, d| recorder::delete_channel(i, c, d);
        DeliverConfigSnapshot => Write, |i, c, d| delivery::deliver_snapshot(i, c, d);
        DescribeDeliveryChannelStatus => Read, |i, c, d| delivery::status(i, c, d);
        GetResourceConfigHistory => Read, |i, c, d| inventory::history(i, c, d);
        ListDiscoveredResources => Read, |i, c, d| inventory::list(i, c, d);
        BatchGetResourceConfig => Read, |i, c, d| inventory::batch_get(i, c, d);
        GetDiscoveredResourceCounts => Read, |i, c, d| inventory::counts(i, c, d);
        PutConfigRule => Write, |i, c, d| rules::put(i, c, d);
        DescribeConfigRules => Read, |i, c, d| rules::describe(i, c, d);
        DeleteConfigRule => Write, |i, c, d| rules::delete(i, c, d);
        StartConfigRulesEvaluation => Write, |i, c, d| rules::start_evaluation(i, c, d);
        DescribeConfigRuleEvaluationStatus => Read, |i, c, d| rules::evaluation_status(i, c, d);
        GetCustomRulePolicy => Read, |i, c, d| rules::custom_policy(i, c, d);
        SelectResourceConfig => Read, |i, c, d| select::select(i, c, d);
        PutConformancePack => Write, |i, c, d| packs::put(i, c, d);
        DescribeConformancePacks => Read, |i, c, d| packs::describe(i, c, d);
        DescribeConformancePackStatus => Read, |i, c, d| packs::status(i, c, d);
        DeleteConformancePack => Write, |i, c, d| packs::delete(i, c, d);
        DescribeConformancePackCompliance => Read, |i, c, d| packs::compliance(i, c, d);
        GetConformancePackComplianceDetails => Read, |i, c, d| packs::details(i, c, d);
        GetConformancePackComplianceSummary => Read, |i, c, d| packs::summary(i, c, d);
        DescribeComplianceByConfigRule => Read, |i, c, d| compliance::by_rule(i, c, d);
        DescribeComplianceByResource => Read, |i, c, d| compliance::by_resource(i, c, d);
        GetComplianceDetailsByConfigRule => Read, |i, c, d| compliance::details_by_rule(i, c, d);
        GetComplianceDetailsByResource => Read, |i, c, d| compliance::details_by_resource(i, c, d);
        GetComplianceSummaryByConfigRule => Read, |i, c, d| compliance::summary_by_rule(i, c, d);
        GetComplianceSummaryByResourceType => Read, |i, c, d| compliance::summary_by_type(i, c, d);
    }
    not_built {
        // Aggregators, organization rules, remediation, Lambda rules and evaluations, stored
        // queries, retention, tags.
        AssociateResourceTypes, BatchGetAggregateResourceConfig, DeleteAggregationAuthorization,
        DeleteConfigurationAggregator, DeleteEvaluationResults, DeleteOrganizationConfigRule,
        DeleteOrganizationConformancePack, DeletePendingAggregationRequest,
        DeleteRemediationConfiguration, DeleteRemediationExceptions, DeleteResourceConfig,
        DeleteRetentionConfiguration, DeleteServiceLinkedConfigurationRecorder, DeleteStoredQuery,
        DescribeAggregateComplianceByConfigRules,
        DescribeAggregateComplianceByConformancePacks, DescribeAggregationAuthorizations,
        DescribeConfigurationAggregatorSourcesStatus, DescribeConfigurationAggregators,
        DescribeOrganizationConfigRuleStatuses,
        DescribeOrganizationConfigRules, DescribeOrganizationConformancePackStatuses,
        DescribeOrganizationConformancePacks, DescribePendingAggregationRequests,
        DescribeRemediationConfigurations, DescribeRemediationExceptions,
        DescribeRemediationExecutionStatus, DescribeRetentionConfigurations,
        DisassociateResourceTypes, GetAggregateComplianceDetailsByConfigRule,
        GetAggregateConfigRuleComplianceSummary, GetAggregateConformancePackComplianceSummary,
        GetAggregateDiscoveredResourceCounts, GetAggregateResourceConfig,
        GetOrganizationConfigRuleDetailedStatus, GetOrganizationConformancePackDetailedStatus,
        GetOrganizationCustomRulePolicy, GetResourceEvaluationSummary, GetStoredQuery,
        ListAggregateDiscoveredResources, ListConfigurationRecorders,
        ListConformancePackComplianceScores, ListResourceEvaluations, ListStoredQueries,
        ListTagsForResource, PutAggregationAuthorization, PutConfigurationAggregator,
        PutEvaluations, PutExternalEvaluation, PutOrganizationConfigRule,
        PutOrganizationConformancePack, PutRemediationConfigurations, PutRemediationExceptions,
        PutResourceConfig, PutRetentionConfiguration, PutServiceLinkedConfigurationRecorder,
        PutStoredQuery, SelectAggregateResourceConfig, StartRemediationExecution,
        StartResourceEvaluation, TagResource, UntagResource,
    }
}

/// The authorization question of a Config operation: `config:<Operation>` on the rule it
/// names (by its ARN, once the rule exists), else on `*` (recorders, delivery channels and the
/// inventory have no resource-level permissions in AWS).
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ConfigError> {
    let action = format!("config:{}", op.name());
    let account = &ctx.principal.account_id;
    let rule_name = match op {
        Op::PutConfigRule => input
            .get("ConfigRule")
            .and_then(|r| r.get("ConfigRuleName"))
            .and_then(Value::as_str),
        Op::DeleteConfigRule | Op::GetComplianceDetailsByConfigRule | Op::GetCustomRulePolicy => {
            input.get("ConfigRuleName").and_then(Value::as_str)
        }
        _ => None,
    };
    if let Some(name) = rule_name {
        let found = rampart_kit::db::Db::Read(store)
            .entities()
            .get(account, model::RULE, name)
            .await?;
        if let Some(e) = found {
            return Ok(Some(AuthzRequest::on(&action, e.arn, account)));
        }
    }
    Ok(Some(AuthzRequest::on_any(&action, account)))
}
