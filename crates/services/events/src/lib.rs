//! Amazon EventBridge (awsJson1.1, `AWSEvents.*`): the default event bus, rules with AWS's
//! event patterns, API destinations and connections, and delivery through the outbox.
//!
//! - [`pattern`]: event patterns (parse, validate, match), pure;
//! - [`rules`]: rules, `TestEventPattern`, the default bus; [`targets`]: targets of a rule;
//!   rule tags in [`tags`];
//! - [`connections`]: connections, their secrets sealed at rest; [`destinations`]: API
//!   destinations and the HTTP request of a delivery;
//! - [`put_events`]: `PutEvents`; [`publish`]: putting an event on the bus from any service,
//!   in its transaction; [`delivery`]: a delivery in the outbox and its retry policy;
//! - storage in [`model`].
//!
//! Deliveries are made by the server's outbox job (`crates/server/src/jobs/events.rs`).

use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, input::opt_str, routes};
use rampart_store::Store;
use serde_json::Value;

pub mod connections;
pub mod delivery;
pub mod destinations;
pub mod error;
pub mod model;
pub mod pattern;
pub mod publish;
pub mod put_events;
pub mod rules;
pub mod tags;
pub mod targets;

pub use error::EventsError;
pub use rampart_model::events::Op;

routes! {
    authz: authorize;
    built {
        PutRule => Write, |i, c, d| rules::put(i, c, d);
        DescribeRule => Read, |i, c, d| rules::describe(i, c, d);
        ListRules => Read, |i, c, d| rules::list(i, c, d);
        DeleteRule => Write, |i, c, d| rules::delete(i, c, d);
        EnableRule => Write, |i, c, d| rules::set_state(i, c, d, "ENABLED");
        DisableRule => Write, |i, c, d| rules::set_state(i, c, d, "DISABLED");
        TestEventPattern => Read, |i, _c, _d| std::future::ready(rules::test_pattern(i));
        DescribeEventBus => Read, |i, c, _d| std::future::ready(rules::describe_bus(i, c));
        ListEventBuses => Read, |i, c, _d| std::future::ready(rules::list_buses(i, c));
        PutTargets => Write, |i, c, d| targets::put(i, c, d);
        RemoveTargets => Write, |i, c, d| targets::remove(i, c, d);
        ListTargetsByRule => Read, |i, c, d| targets::list(i, c, d);
        ListRuleNamesByTarget => Read, |i, c, d| targets::rules_by_target(i, c, d);
        TagResource => Write, |i, c, d| tags::tag(i, c, d);
        UntagResource => Write, |i, c, d| tags::untag(i, c, d);
        ListTagsForResource => Read, |i, c, d| tags::list(i, c, d);
        PutEvents => Write, |i, c, d| put_events::put(i, c, d);
        CreateConnection => Write, |i, c, d| connections::create(i, c, d);
        DescribeConnection => Read, |i, c, d| connections::describe(i, c, d);
        ListConnections => Read, |i, c, d| connections::list(i, c, d);
        UpdateConnection => Write, |i, c, d| connections::update(i, c, d);
        DeleteConnection => Write, |i, c, d| connections::delete(i, c, d);
        DeauthorizeConnection => Write, |i, c, d| connections::deauthorize(i, c, d);
        CreateApiDestination => Write, |i, c, d| destinations::create(i, c, d);
        DescribeApiDestination => Read, |i, c, d| destinations::describe(i, c, d);
        ListApiDestinations => Read, |i, c, d| destinations::list(i, c, d);
        UpdateApiDestination => Write, |i, c, d| destinations::update(i, c, d);
        DeleteApiDestination => Write, |i, c, d| destinations::delete(i, c, d);
    }
    not_built {
        // Custom and partner buses, archives and replays, global endpoints, bus permissions.
        ActivateEventSource, CancelReplay, CreateArchive, CreateEndpoint, CreateEventBus,
        CreatePartnerEventSource, DeactivateEventSource, DeleteArchive, DeleteEndpoint,
        DeleteEventBus, DeletePartnerEventSource, DescribeArchive, DescribeEndpoint,
        DescribeEventSource, DescribePartnerEventSource, DescribeReplay, ListArchives,
        ListEndpoints, ListEventSources, ListPartnerEventSourceAccounts,
        ListPartnerEventSources, ListReplays, PutPartnerEvents, PutPermission,
        RemovePermission, StartReplay, UpdateArchive, UpdateEndpoint, UpdateEventBus,
    }
}

/// The ARN of the connection or API destination `name` of `kind`, as stored, or with `*`
/// for its id when it does not exist (yet).
async fn named_arn(
    store: &Store,
    ctx: &CallContext,
    kind: &str,
    family: &str,
    name: &str,
) -> Result<String, EventsError> {
    let account = &ctx.principal.account_id;
    let key = format!("{}/{name}", ctx.region);
    let found = Db::Read(store).entities().get(account, kind, &key).await?;
    Ok(match found {
        Some(e) => e.arn,
        None => ctx.partition().arn(
            "events",
            &ctx.region,
            account,
            &format!("{family}/{name}/*"),
        ),
    })
}

/// The authorization question of an EventBridge operation: `events:<Operation>` on the rule,
/// bus, connection or API destination it names, or on `*`.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, EventsError> {
    let action = format!("events:{}", op.name());
    let account = &ctx.principal.account_id;
    let region = &ctx.region;
    let on = |arn: String| Ok(Some(AuthzRequest::on(&action, arn, account)));
    let rule_member = match op {
        Op::PutRule | Op::DescribeRule | Op::DeleteRule | Op::EnableRule | Op::DisableRule => {
            Some("Name")
        }
        Op::PutTargets | Op::RemoveTargets | Op::ListTargetsByRule => Some("Rule"),
        _ => None,
    };
    if let Some(member) = rule_member {
        let bus = rules::bus_in(input, ctx).unwrap_or_else(|_| model::DEFAULT_BUS.into());
        let name = opt_str(input, member).unwrap_or_default();
        return on(model::rule_arn(region, account, &bus, name));
    }
    let name = opt_str(input, "Name").unwrap_or_default();
    match op {
        Op::PutEvents | Op::DescribeEventBus => {
            on(model::bus_arn(region, account, model::DEFAULT_BUS))
        }
        Op::TagResource | Op::UntagResource | Op::ListTagsForResource => {
            on(opt_str(input, "ResourceARN")
                .unwrap_or_default()
                .to_string())
        }
        Op::CreateConnection
        | Op::DescribeConnection
        | Op::UpdateConnection
        | Op::DeleteConnection
        | Op::DeauthorizeConnection => {
            on(named_arn(store, ctx, model::CONNECTION, "connection", name).await?)
        }
        Op::CreateApiDestination
        | Op::DescribeApiDestination
        | Op::UpdateApiDestination
        | Op::DeleteApiDestination => {
            on(named_arn(store, ctx, model::DESTINATION, "api-destination", name).await?)
        }
        Op::ListRules
        | Op::ListRuleNamesByTarget
        | Op::ListEventBuses
        | Op::TestEventPattern
        | Op::ListConnections
        | Op::ListApiDestinations => Ok(Some(AuthzRequest::on_any(&action, account))),
        _ => Ok(None),
    }
}
