//! Amazon Detective's service table: behavior graphs and their members, and investigations
//! of IAM users and roles computed from Rampart's own audit trail.
//!
//! - [`graphs`]: `CreateGraph`, `ListGraphs`, `DeleteGraph`; [`tags`]: their tags.
//! - [`members`]: the administrator's members; [`invitations`]: the member's side;
//!   [`volume`]: the graph's data volume, which decides whether a member contributes;
//!   [`monitoring`]: `StartMonitoringMember`;
//!   [`org`]: the organization's Detective administrator and its organization members.
//! - [`datasources`]: the data source packages of graphs and of their members.
//! - [`investigations`]: the investigations API; [`run`]: the server's investigation job
//!   (`crates/server/src/jobs/detective.rs`) computes each one from [`activity`] (the
//!   principal's audit records), GuardDuty's threat lists and findings, and [`geo`] (the
//!   operator's MaxMind databases), with [`indicators`], [`ttp`] and [`groups`].
//! - [`timeline`]: a principal's calls as `rampart investigate` prints them.
//! - [`model`]: how it is all stored.

use rampart_kit::{
    authz::AuthzRequest, context::CallContext, error::ServiceError, input::opt_str, routes,
};
use rampart_store::Store;
use serde_json::Value;

pub mod activity;
pub mod datasources;
pub mod error;
pub mod geo;
pub mod graphs;
pub mod groups;
pub mod indicators;
pub mod investigations;
pub mod invitations;
pub mod members;
pub mod model;
pub mod monitoring;
pub mod org;
pub mod run;
pub mod securityhub;
pub mod tags;
pub mod timeline;
pub mod ttp;
pub mod volume;

pub use error::DetectiveError;
pub use rampart_model::detective::Op;

routes! {
    authz: authorize;
    built {
        CreateGraph => Write, |i, c, d| graphs::create(i, c, d);
        ListGraphs => Read, |i, c, d| graphs::list(i, c, d);
        DeleteGraph => Write, |i, c, d| graphs::delete(i, c, d);
        TagResource => Write, |i, c, d| tags::tag(i, c, d);
        UntagResource => Write, |i, c, d| tags::untag(i, c, d);
        ListTagsForResource => Read, |i, c, d| tags::list(i, c, d);
        CreateMembers => Write, |i, c, d| members::create(i, c, d),
            prepare: members::prepare_create;
        GetMembers => Read, |i, c, d| members::get(i, c, d);
        ListMembers => Read, |i, c, d| members::list(i, c, d);
        DeleteMembers => Write, |i, c, d| members::delete(i, c, d);
        ListInvitations => Read, |i, c, d| invitations::list(i, c, d);
        AcceptInvitation => Write, |i, c, d| invitations::accept(i, c, d),
            prepare: invitations::prepare_accept;
        RejectInvitation => Write, |i, c, d| invitations::reject(i, c, d);
        DisassociateMembership => Write, |i, c, d| invitations::disassociate(i, c, d);
        StartInvestigation => Write, |i, c, d| investigations::start(i, c, d);
        GetInvestigation => Read, |i, c, d| investigations::get(i, c, d);
        ListInvestigations => Read, |i, c, d| investigations::list(i, c, d);
        ListIndicators => Read, |i, c, d| investigations::indicators(i, c, d);
        UpdateInvestigationState => Write, |i, c, d| investigations::update_state(i, c, d);
        EnableOrganizationAdminAccount => Write, |i, c, d| org::enable_admin(i, c, d);
        DisableOrganizationAdminAccount => Write, |i, c, d| org::disable_admin(i, c, d);
        ListOrganizationAdminAccounts => Read, |i, c, d| org::list_admins(i, c, d);
        DescribeOrganizationConfiguration => Read, |i, c, d| org::describe_config(i, c, d);
        UpdateOrganizationConfiguration => Write, |i, c, d| org::update_config(i, c, d);
        ListDatasourcePackages => Read, |i, c, d| datasources::list(i, c, d);
        UpdateDatasourcePackages => Write, |i, c, d| datasources::update(i, c, d);
        BatchGetGraphMemberDatasources => Read, |i, c, d| datasources::graph_members(i, c, d);
        BatchGetMembershipDatasources => Read, |i, c, d| datasources::memberships(i, c, d);
        StartMonitoringMember => Write, |i, c, d| monitoring::start(i, c, d),
            prepare: monitoring::prepare;
    }
    not_built {}
}

/// The authorization question of a Detective operation: `detective:<Operation>` on the graph
/// it names (or the tagged graph), or on `*` for the calls that name none and for the
/// member's side of an invitation (the graph is the administrator's), the management
/// account's organization calls and a member's view of its graphs' data sources.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let action = format!("detective:{}", op.name());
    let account = &ctx.principal.account_id;
    let arn = match op {
        Op::CreateGraph
        | Op::ListGraphs
        | Op::ListInvitations
        | Op::AcceptInvitation
        | Op::RejectInvitation
        | Op::DisassociateMembership
        | Op::EnableOrganizationAdminAccount
        | Op::DisableOrganizationAdminAccount
        | Op::ListOrganizationAdminAccounts
        | Op::BatchGetMembershipDatasources => {
            return Ok(Some(AuthzRequest::on_any(&action, account)))
        }
        Op::TagResource | Op::UntagResource | Op::ListTagsForResource => {
            opt_str(input, "ResourceArn").unwrap_or_default()
        }
        _ => match opt_str(input, "GraphArn") {
            Some(arn) => arn,
            None => return Ok(None),
        },
    };
    Ok(Some(AuthzRequest::on(&action, arn.to_string(), account)))
}

#[cfg(test)]
mod test_util {
    use rampart_kit::{context::CallContext, error::ServiceError, test_support, Principal};
    use rampart_store::Store;
    use serde_json::Value;

    use crate::{route, Op};

    /// Runs `op` on the store as `ctx`'s caller, after its preparation (as the pipeline
    /// does).
    pub async fn call(
        op: Op,
        input: Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Value, ServiceError> {
        let Some(r) = route(op) else {
            panic!("{op:?} is not built")
        };
        let prepared = match r.prepare(&input, ctx, store).await? {
            Some(p) => Some(std::sync::Arc::new(p.run()?)),
            None => None,
        };
        let ctx = CallContext {
            prepared,
            ..ctx.clone()
        };
        r.call_unaudited(input, &ctx, store).await
    }

    /// The root user of `account`.
    pub fn root(account: &str) -> CallContext {
        test_support::context(Principal::root(
            rampart_kit::Partition::Aws,
            account,
            "AKIAROOT",
        ))
    }
}
