//! Elastic Load Balancing v2 (awsQuery, `elasticloadbalancing`): application load
//! balancers, target groups, listeners and rules, stored and validated. The server's
//! listener runtime (`crates/server/src/listeners/`) serves them: each listener really
//! listens and proxies to healthy targets.
//!
//! - [`load_balancers`], [`target_groups`] (and targets, health), [`listeners`] (and their
//!   [`certificates`] and [`ssl_policies`]), [`rules`], [`tags`]: the operations;
//! - [`attributes`]: load balancer attributes (access logs, HTTP/2);
//! - [`access_log`]: access log entries and files in AWS's format;
//! - [`actions`]: actions and conditions, checked and matched;
//! - [`runtime`]: what the listener runtime reads; storage in [`model`].

use rampart_kit::{authz::AuthzRequest, context::CallContext, input::opt_str, routes};
use rampart_store::Store;
use serde_json::Value;

pub mod access_log;
pub mod actions;
pub mod attributes;
pub mod certificates;
pub mod error;
pub mod listeners;
pub mod load_balancers;
pub mod model;
pub mod rules;
pub mod runtime;
pub mod ssl_policies;
pub mod tags;
pub mod target_groups;

pub use error::ElbError;
pub use rampart_model::elbv2::Op;

routes! {
    authz: authorize;
    built {
        CreateLoadBalancer => Write, |i, c, d| load_balancers::create(i, c, d);
        DescribeLoadBalancers => Read, |i, c, d| load_balancers::describe(i, c, d);
        DeleteLoadBalancer => Write, |i, c, d| load_balancers::delete(i, c, d);
        ModifyLoadBalancerAttributes => Write, |i, c, d| attributes::modify(i, c, d);
        DescribeLoadBalancerAttributes => Read, |i, c, d| attributes::describe(i, c, d);
        CreateTargetGroup => Write, |i, c, d| target_groups::create(i, c, d);
        DescribeTargetGroups => Read, |i, c, d| target_groups::describe(i, c, d);
        DeleteTargetGroup => Write, |i, c, d| target_groups::delete(i, c, d);
        RegisterTargets => Write, |i, c, d| target_groups::register(i, c, d);
        DeregisterTargets => Write, |i, c, d| target_groups::deregister(i, c, d);
        DescribeTargetHealth => Read, |i, c, d| target_groups::describe_health(i, c, d);
        CreateListener => Write, |i, c, d| listeners::create(i, c, d);
        DescribeListeners => Read, |i, c, d| listeners::describe(i, c, d);
        ModifyListener => Write, |i, c, d| listeners::modify(i, c, d);
        DeleteListener => Write, |i, c, d| listeners::delete(i, c, d);
        AddListenerCertificates => Write, |i, c, d| certificates::add(i, c, d);
        RemoveListenerCertificates => Write, |i, c, d| certificates::remove(i, c, d);
        DescribeListenerCertificates => Read, |i, c, d| certificates::describe(i, c, d);
        DescribeSSLPolicies => Read, |i, c, d| ssl_policies::describe(i, c, d);
        CreateRule => Write, |i, c, d| rules::create(i, c, d);
        DescribeRules => Read, |i, c, d| rules::describe(i, c, d);
        DeleteRule => Write, |i, c, d| rules::delete(i, c, d);
        AddTags => Write, |i, c, d| tags::add(i, c, d);
        RemoveTags => Write, |i, c, d| tags::remove(i, c, d);
        DescribeTags => Read, |i, c, d| tags::describe(i, c, d);
    }
    not_built {
        // Trust stores (mutual TLS), listener and target group attributes, capacity, rule
        // and target group modification, subnets and security groups after creation.
        AddTrustStoreRevocations, CreateTrustStore,
        DeleteSharedTrustStoreAssociation, DeleteTrustStore, DescribeAccountLimits,
        DescribeCapacityReservation, DescribeListenerAttributes, DescribeTargetGroupAttributes,
        DescribeTrustStoreAssociations, DescribeTrustStoreRevocations, DescribeTrustStores,
        GetResourcePolicy, GetTrustStoreCaCertificatesBundle, GetTrustStoreRevocationContent,
        ModifyCapacityReservation, ModifyIpPools, ModifyListenerAttributes, ModifyRule,
        ModifyTargetGroup, ModifyTargetGroupAttributes, ModifyTrustStore,
        RemoveTrustStoreRevocations, SetIpAddressType, SetRulePriorities, SetSecurityGroups,
        SetSubnets,
    }
}

/// The authorization question of an ELB operation: `elasticloadbalancing:<Operation>` on
/// the resource ARN it names, or on `*` for creations and account-wide descriptions.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ElbError> {
    let action = format!("elasticloadbalancing:{}", op.name());
    let account = &ctx.principal.account_id;
    let member = match op {
        Op::DeleteLoadBalancer
        | Op::CreateListener
        | Op::ModifyLoadBalancerAttributes
        | Op::DescribeLoadBalancerAttributes => Some("LoadBalancerArn"),
        Op::DeleteTargetGroup
        | Op::RegisterTargets
        | Op::DeregisterTargets
        | Op::DescribeTargetHealth => Some("TargetGroupArn"),
        Op::ModifyListener
        | Op::DeleteListener
        | Op::CreateRule
        | Op::AddListenerCertificates
        | Op::RemoveListenerCertificates
        | Op::DescribeListenerCertificates => Some("ListenerArn"),
        Op::DeleteRule => Some("RuleArn"),
        _ => None,
    };
    let arn = member.and_then(|m| opt_str(input, m));
    match (op, arn) {
        (_, Some(arn)) => Ok(Some(AuthzRequest::on(&action, arn.to_string(), account))),
        (_, None) => Ok(Some(AuthzRequest::on_any(&action, account))),
    }
}
