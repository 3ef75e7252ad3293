//! How graphs, members, invitations and investigations are stored.
//!
//! - A graph is an entity of kind [`GRAPH`] in its administrator's account, keyed by region
//!   (one graph per account and region, as in AWS); its name is the 32-hex-digit graph id.
//! - A member is an entity of kind [`MEMBER`] in the administrator's account, keyed
//!   `<graph id>/<account>`, under the path `/<graph id>/`. The invited account has an entry
//!   of kind [`INVITATION`] keyed by the graph ARN, so it finds its invitations in its own
//!   account.
//! - An investigation is an entity of kind [`INVESTIGATION`] in the administrator's account,
//!   keyed `<graph id>/<investigation id>`, under `/<graph id>/`. While it runs it also has an
//!   entry of kind [`PENDING`] in the pseudo-account [`SYSTEM_ACCOUNT`], which the server's
//!   investigation job works through.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};

use crate::{error::DetectiveError, indicators::Indicator};

/// A behavior graph.
pub const GRAPH: &str = "detective:graph";
/// A member account of a graph.
pub const MEMBER: &str = "detective:member";
/// An invitation, in the invited account.
pub const INVITATION: &str = "detective:invitation";
/// An investigation.
pub const INVESTIGATION: &str = "detective:investigation";
/// An investigation waiting for the job.
pub const PENDING: &str = "detective:pending";
/// The pseudo-account of the pending investigations.
pub const SYSTEM_ACCOUNT: &str = "~detective";

/// A graph's document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GraphDoc {
    /// The region.
    pub region: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The optional data source packages started, with when (`DETECTIVE_CORE` is always
    /// started, at the graph's creation).
    #[serde(default)]
    pub packages: BTreeMap<String, DateTime<Utc>>,
}

/// A graph as loaded.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The entity (name: the graph id; ARN: the graph ARN).
    pub entity: Entity,
    /// The document.
    pub doc: GraphDoc,
}

impl Graph {
    /// The graph id (the entity's name; its store id is prefixed with the kind).
    pub fn graph_id(&self) -> &str {
        &self.entity.name
    }

    /// The graph ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }

    /// The administrator account.
    pub fn account(&self) -> &str {
        &self.entity.account_id
    }
}

/// What a graph ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphName {
    /// The region.
    pub region: String,
    /// The administrator account.
    pub account: String,
    /// The graph id.
    pub id: String,
}

/// The parts of a graph ARN (`arn:PARTITION:detective:REGION:ACCOUNT:graph:ID`, the
/// partition its region's).
pub fn parse_graph_arn(arn: &str) -> Option<GraphName> {
    let partition = rampart_kit::Partition::of_arn(arn)?;
    let rest = partition.strip_arn(arn, "detective")?;
    let mut parts = rest.splitn(3, ':');
    let region = parts.next()?.to_string();
    if rampart_kit::Partition::of_region(&region) != partition {
        return None;
    }
    let account = parts.next()?.to_string();
    let id = parts.next()?.strip_prefix("graph:")?.to_string();
    if region.is_empty() || account.len() != 12 || id.len() != 32 {
        return None;
    }
    Some(GraphName {
        region,
        account,
        id,
    })
}

/// A graph's ARN.
pub fn graph_arn(region: &str, account: &str, id: &str) -> String {
    format!(
        "arn:{partition}:detective:{region}:{account}:graph:{id}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The path of the members and investigations of a graph.
pub fn under(graph_id: &str) -> String {
    format!("/{graph_id}/")
}

/// The graph of `account` in `region`, if any.
pub async fn graph_in(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Option<Graph>, ServiceError> {
    Ok(entity::load_doc::<GraphDoc>(db, account, GRAPH, region)
        .await?
        .map(|(entity, doc)| Graph { entity, doc }))
}

/// The graph a `GraphArn` names, if it is the caller's graph in the caller's region;
/// otherwise `ResourceNotFoundException`.
pub async fn own_graph(
    db: &mut Db<'_>,
    ctx: &CallContext,
    arn: &str,
) -> Result<Graph, ServiceError> {
    graph_of_arn(db, arn)
        .await?
        .filter(|g| g.account() == ctx.principal.account_id && g.doc.region == ctx.region)
        .ok_or_else(|| DetectiveError::not_found().into())
}

/// The graph a graph ARN names, in any account.
pub async fn graph_of_arn(db: &mut Db<'_>, arn: &str) -> Result<Option<Graph>, ServiceError> {
    let Some(name) = parse_graph_arn(arn) else {
        return Ok(None);
    };
    Ok(graph_in(db, &name.account, &name.region)
        .await?
        .filter(|g| g.graph_id() == name.id))
}

/// A member's status (`MemberStatus`).
pub const INVITED: &str = "INVITED";
/// A member that contributes to the graph.
pub const ENABLED: &str = "ENABLED";
/// A member that accepted (or was enabled by the organization's administrator) but does not
/// contribute: its data volume would take the graph over its limit ([`crate::volume`]).
pub const ACCEPTED_BUT_DISABLED: &str = "ACCEPTED_BUT_DISABLED";

/// A member's document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberDoc {
    /// The member account.
    pub account_id: String,
    /// `EmailAddress`.
    pub email: String,
    /// The graph ARN.
    pub graph_arn: String,
    /// The administrator account.
    pub administrator: String,
    /// `INVITED`, `ENABLED` or `ACCEPTED_BUT_DISABLED`.
    pub status: String,
    /// `DisabledReason` of an `ACCEPTED_BUT_DISABLED` member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// When the invitation was sent.
    pub invited_time: DateTime<Utc>,
    /// When the status last changed.
    pub updated_time: DateTime<Utc>,
    /// `INVITATION` (invited by the administrator) or `ORGANIZATION` (an account of the
    /// organization the administrator is Detective's administrator of, enabled without an
    /// invitation).
    #[serde(default = "invitation_type")]
    pub invitation_type: String,
}

/// `InvitationType` of an invited member.
pub const BY_INVITATION: &str = "INVITATION";
/// `InvitationType` of an organization member.
pub const BY_ORGANIZATION: &str = "ORGANIZATION";

fn invitation_type() -> String {
    BY_INVITATION.into()
}

/// A member's name key.
pub fn member_key(graph_id: &str, account: &str) -> String {
    format!("{graph_id}/{account}")
}

/// An invitation's document (in the invited account): where its member record is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InvitationDoc {
    /// The administrator account.
    pub administrator: String,
    /// The graph id.
    pub graph_id: String,
}

pub use rampart_kit::entity::all;

/// An investigation's document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InvestigationDoc {
    /// The investigation id (21 digits).
    pub id: String,
    /// The graph ARN.
    pub graph_arn: String,
    /// The IAM user or role investigated.
    pub entity_arn: String,
    /// `IAM_USER` or `IAM_ROLE`.
    pub entity_type: String,
    /// The window.
    pub scope_start: DateTime<Utc>,
    /// The window's end.
    pub scope_end: DateTime<Utc>,
    /// `RUNNING`, `SUCCESSFUL` or `FAILED`.
    pub status: String,
    /// `ACTIVE` or `ARCHIVED`.
    pub state: String,
    /// The severity, once computed.
    #[serde(default)]
    pub severity: Option<String>,
    /// The indicators, once computed.
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// Whether every audit record of the window and of the history was read.
    #[serde(default)]
    pub complete: bool,
}

/// An investigation's name key.
pub fn investigation_key(graph_id: &str, id: &str) -> String {
    format!("{graph_id}/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_arns_carry_their_regions_partition() {
        let id = "0123456789abcdef0123456789abcdef";
        let cn = parse_graph_arn(&format!(
            "arn:aws-cn:detective:cn-north-1:111122223333:graph:{id}"
        ));
        assert_eq!(
            cn.map(|g| (g.region, g.account, g.id)),
            Some(("cn-north-1".into(), "111122223333".into(), id.into()))
        );
        assert!(parse_graph_arn(&format!(
            "arn:aws:detective:us-east-1:111122223333:graph:{id}"
        ))
        .is_some());
        assert!(parse_graph_arn(&format!(
            "arn:aws:detective:cn-north-1:111122223333:graph:{id}"
        ))
        .is_none());
        assert!(
            parse_graph_arn(&format!("arn:aws-cn:s3:cn-north-1:111122223333:graph:{id}")).is_none()
        );
    }
}
