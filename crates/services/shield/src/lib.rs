//! AWS Shield (awsJson1.1, `AWSShield_20160616.*`): the Advanced subscription, protections of
//! application load balancers, protection groups, tags, the attacks Rampart's listeners
//! detect (Shield Standard's limits run in the server's listener runtime and report here),
//! and the application layer automatic response.
//!
//! - [`subscription`], [`protections`], [`groups`], [`tags`]: the API's resources;
//! - [`detect`]: observations of tripped limits folded into attacks; [`attacks`]: stored
//!   attacks and their operations;
//! - [`automatic`]: the automatic response's settings and its job step; storage in [`model`].

use rampart_kit::{authz::AuthzRequest, context::CallContext, input::opt_str, routes};
use rampart_store::Store;
use serde_json::Value;

pub mod attacks;
pub mod automatic;
pub mod detect;
pub mod error;
pub mod groups;
pub mod model;
pub mod protections;
pub mod subscription;
pub mod tags;

pub use error::ShieldError;
pub use rampart_model::shield::Op;

routes! {
    authz: authorize;
    built {
        CreateSubscription => Write, |i, c, d| subscription::create(i, c, d);
        DescribeSubscription => Read, |i, c, d| subscription::describe(i, c, d);
        GetSubscriptionState => Read, |i, c, d| subscription::state(i, c, d);
        UpdateSubscription => Write, |i, c, d| subscription::update(i, c, d);
        DeleteSubscription => Write, |i, c, d| subscription::delete(i, c, d);
        CreateProtection => Write, |i, c, d| protections::create(i, c, d);
        DescribeProtection => Read, |i, c, d| protections::describe(i, c, d);
        ListProtections => Read, |i, c, d| protections::list(i, c, d);
        DeleteProtection => Write, |i, c, d| protections::delete(i, c, d);
        CreateProtectionGroup => Write, |i, c, d| groups::create(i, c, d);
        DescribeProtectionGroup => Read, |i, c, d| groups::describe(i, c, d);
        ListProtectionGroups => Read, |i, c, d| groups::list(i, c, d);
        UpdateProtectionGroup => Write, |i, c, d| groups::update(i, c, d);
        DeleteProtectionGroup => Write, |i, c, d| groups::delete(i, c, d);
        ListResourcesInProtectionGroup => Read, |i, c, d| groups::resources(i, c, d);
        TagResource => Write, |i, c, d| tags::tag(i, c, d);
        UntagResource => Write, |i, c, d| tags::untag(i, c, d);
        ListTagsForResource => Read, |i, c, d| tags::list(i, c, d);
        ListAttacks => Read, |i, c, d| attacks::list(i, c, d);
        DescribeAttack => Read, |i, c, d| attacks::describe(i, c, d);
        DescribeAttackStatistics => Read, |i, c, d| attacks::statistics(i, c, d);
        EnableApplicationLayerAutomaticResponse => Write, |i, c, d| automatic::enable(i, c, d);
        UpdateApplicationLayerAutomaticResponse => Write, |i, c, d| automatic::update(i, c, d);
        DisableApplicationLayerAutomaticResponse => Write, |i, c, d| automatic::disable(i, c, d);
    }
    not_built {
        // The Shield Response Team, proactive engagement and Route 53 health checks: people
        // and services Rampart does not have.
        AssociateDRTLogBucket, AssociateDRTRole, AssociateHealthCheck,
        AssociateProactiveEngagementDetails, DescribeDRTAccess, DescribeEmergencyContactSettings,
        DisableProactiveEngagement, DisassociateDRTLogBucket, DisassociateDRTRole,
        DisassociateHealthCheck, EnableProactiveEngagement, UpdateEmergencyContactSettings,
    }
}

/// The authorization question of a Shield operation: `shield:<Operation>` on the protection,
/// group or attack it names, or on `*`.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ShieldError> {
    let action = format!("shield:{}", op.name());
    let account = &ctx.principal.account_id;
    let resource = match op {
        Op::TagResource | Op::UntagResource | Op::ListTagsForResource => {
            opt_str(input, "ResourceARN").map(str::to_string)
        }
        Op::DeleteProtection => opt_str(input, "ProtectionId")
            .map(|id| model::arn(ctx.partition(), account, "protection", id)),
        Op::DescribeProtection => opt_str(input, "ProtectionId")
            .map(|id| model::arn(ctx.partition(), account, "protection", id)),
        Op::DescribeProtectionGroup
        | Op::UpdateProtectionGroup
        | Op::DeleteProtectionGroup
        | Op::ListResourcesInProtectionGroup
        | Op::CreateProtectionGroup => opt_str(input, "ProtectionGroupId")
            .map(|id| model::arn(ctx.partition(), account, "protection-group", id)),
        Op::DescribeAttack => {
            opt_str(input, "AttackId").map(|id| model::arn(ctx.partition(), account, "attack", id))
        }
        _ => None,
    };
    Ok(Some(match resource {
        Some(arn) => AuthzRequest::on(&action, arn, account),
        None => AuthzRequest::on_any(&action, account),
    }))
}
