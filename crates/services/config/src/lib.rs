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
//!   [`lambda`], [`lambda_run`], [`result_token`] and [`evaluations`]: custom Lambda rules,
//!   their invocations through the server's Lambda hooks and the `PutEvaluations` answers;
//!   [`managed`] and [`managed_more`]: the catalog of managed rules; [`checks_iam`],
//!   [`checks_other`], [`checks_account`] and the `_more` modules: their checks; [`evaluate`]: running them;
//!   [`compliance`]: compliance by rule and resource, details and summaries;
//!   [`compliance_item`]: the `AWS::Config::ResourceCompliance` items of evaluated resources;
//! - [`query`] and [`select`]: `SelectResourceConfig`'s SQL subset over the current items;
//! - [`packs`] and [`pack_template`]: conformance packs from CloudFormation templates;
//! - storage in [`model`], input helpers in [`common`].
//!
//! The server's `config` job (`crates/server/src/jobs/config.rs`) runs [`sync::run`] every
//! second and as soon as a logged change commits (the store's change signal): a change
//! re-evaluates the rules in scope within its processing time, and periodic rules follow
//! their frequency on the request clock.

use rampart_kit::{authz::AuthzRequest, context::CallContext, routes};
use rampart_store::Store;
use serde_json::Value;

pub mod aggregate_compliance;
pub mod aggregate_inventory;
pub mod aggregate_sources;
pub mod aggregation_auth;
pub mod aggregators;
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
pub mod compliance_item;
pub mod custom;
pub mod delivery;
pub mod delivery_file;
pub mod error;
pub mod evaluate;
pub mod evaluations;
pub mod inventory;
pub mod lambda;
pub mod lambda_run;
pub mod managed;
pub mod managed_more;
pub mod model;
pub mod pack_template;
pub mod packs;
pub mod query;
pub mod record;
pub mod recorder;
pub mod remediation;
pub mod remediation_docs;
pub mod remediation_run;
pub mod result_token;
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
        PutEvaluations => Write, |i, c, d| evaluations::put(i, c, d);
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
        // Aggregators (aggregators.rs and the aggregate_* files), authorized on their ARNs.
        PutConfigurationAggregator => Write, |i, c, d| aggregators::put(i, c, d), authz: aggregators::authorize;
        DescribeConfigurationAggregators => Read, |i, c, d| aggregators::describe(i, c, d), authz: aggregators::authorize;
        DeleteConfigurationAggregator => Write, |i, c, d| aggregators::delete(i, c, d), authz: aggregators::authorize;
        DescribeConfigurationAggregatorSourcesStatus => Read, |i, c, d| aggregate_sources::sources_status(i, c, d), authz: aggregators::authorize;
        PutAggregationAuthorization => Write, |i, c, d| aggregation_auth::put(i, c, d), authz: aggregators::authorize;
        DescribeAggregationAuthorizations => Read, |i, c, d| aggregation_auth::describe(i, c, d), authz: aggregators::authorize;
        DeleteAggregationAuthorization => Write, |i, c, d| aggregation_auth::delete(i, c, d), authz: aggregators::authorize;
        DescribeAggregateComplianceByConfigRules => Read, |i, c, d| aggregate_compliance::by_rule(i, c, d), authz: aggregators::authorize;
        GetAggregateComplianceDetailsByConfigRule => Read, |i, c, d| aggregate_compliance::details(i, c, d), authz: aggregators::authorize;
        GetAggregateConfigRuleComplianceSummary => Read, |i, c, d| aggregate_compliance::summary(i, c, d), authz: aggregators::authorize;
        ListAggregateDiscoveredResources => Read, |i, c, d| aggregate_inventory::list(i, c, d), authz: aggregators::authorize;
        GetAggregateDiscoveredResourceCounts => Read, |i, c, d| aggregate_inventory::counts(i, c, d), authz: aggregators::authorize;
        BatchGetAggregateResourceConfig => Read, |i, c, d| aggregate_inventory::batch_get(i, c, d), authz: aggregators::authorize;
        GetAggregateResourceConfig => Read, |i, c, d| aggregate_inventory::get(i, c, d), authz: aggregators::authorize;
        SelectAggregateResourceConfig => Read, |i, c, d| aggregate_inventory::select(i, c, d), authz: aggregators::authorize;
        // Remediation (remediation.rs; run by the server's config-remediation job).
        PutRemediationConfigurations => Write, |i, c, d| remediation::put(i, c, d);
        DescribeRemediationConfigurations => Read, |i, c, d| remediation::describe(i, c, d);
        DeleteRemediationConfiguration => Write, |i, c, d| remediation::delete(i, c, d);
        StartRemediationExecution => Write, |i, c, d| remediation::start(i, c, d);
        DescribeRemediationExecutionStatus => Read, |i, c, d| remediation::status(i, c, d);
    }
    not_built {
        // Organization rules and packs, pending aggregation requests, remediation exceptions,
        // Lambda rules and evaluations, stored queries, retention, tags.
        AssociateResourceTypes, DeleteEvaluationResults, DeleteOrganizationConfigRule,
        DeleteOrganizationConformancePack, DeletePendingAggregationRequest,
        DeleteRemediationExceptions, DeleteResourceConfig,
        DeleteRetentionConfiguration, DeleteServiceLinkedConfigurationRecorder, DeleteStoredQuery,
        DescribeAggregateComplianceByConformancePacks, DescribeOrganizationConfigRuleStatuses,
        DescribeOrganizationConfigRules, DescribeOrganizationConformancePackStatuses,
        DescribeOrganizationConformancePacks, DescribePendingAggregationRequests,
        DescribeRemediationExceptions,
        DescribeRetentionConfigurations,
        DisassociateResourceTypes, GetAggregateConformancePackComplianceSummary,
        GetOrganizationConfigRuleDetailedStatus, GetOrganizationConformancePackDetailedStatus,
        GetOrganizationCustomRulePolicy, GetResourceEvaluationSummary, GetStoredQuery,
        ListConfigurationRecorders, ListConformancePackComplianceScores, ListResourceEvaluations,
        ListStoredQueries, ListTagsForResource, PutExternalEvaluation,
        PutOrganizationConfigRule, PutOrganizationConformancePack,
        PutRemediationExceptions, PutResourceConfig, PutRetentionConfiguration,
        PutServiceLinkedConfigurationRecorder, PutStoredQuery,
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
