//! Authorization: every call goes through the policy engine; no entry, no access.

use std::sync::Arc;

use rampart_policy::{evaluate, ContextValue, Decision, Layer, Outcome, PolicySet, Request};
use rampart_services::{AuthzRequest, CallContext};
use rampart_wire::{ApiError, CommonError, Protocol};

use super::policies::{CallerSet, OrgLevels, PolicyCache};

/// Decides one call. The principal's policies are read fresh for every request, so a policy
/// change takes effect on the next request. `others` holds the organizations of resource
/// accounts other than the caller's (their RCPs and `aws:ResourceOrg*` keys).
pub fn authorize(
    protocol: Protocol,
    ctx: &CallContext,
    request: &AuthzRequest,
    caller: &Arc<CallerSet>,
    others: &[(String, Arc<OrgLevels>)],
    cache: &PolicyCache,
) -> Result<(), ApiError> {
    if request.always_allowed {
        return Ok(());
    }
    let denied = |resource: &str, decision: &Decision| {
        ApiError::common(
            protocol,
            CommonError::AccessDenied,
            denied_message(&ctx.principal.arn, &request.action, resource, decision),
        )
    };
    // A closed account's principals cannot act, whatever their policies say.
    if caller.org.closed {
        let closed = Decision {
            outcome: Outcome::ImplicitDeny,
            statements: Vec::new(),
            layer: None,
            missing_context_keys: Vec::new(),
            basis: None,
            resource_policy_present: false,
        };
        return Err(denied("*", &closed));
    }
    let (principal, mut context) = ctx.policy_subject(&request.context, &caller.principal_tags);
    if let (Some(id), Some(path)) = (&caller.org.org_id, &caller.org.path) {
        context.insert("aws:PrincipalOrgID", ContextValue::single(id.clone()));
        context.insert("aws:PrincipalOrgPaths", ContextValue::multi([path.clone()]));
    }
    for resource in &request.resources {
        let own = resource.account == ctx.principal.account_id;
        let org: &OrgLevels = if own {
            &caller.org
        } else {
            others
                .iter()
                .find(|(a, _)| *a == resource.account)
                .map_or(&NO_ORG, |(_, o)| o.as_ref())
        };
        let mut context = context.clone();
        if !resource.account.is_empty() {
            context.insert(
                "aws:ResourceAccount",
                ContextValue::single(resource.account.clone()),
            );
        }
        if let (Some(id), Some(path)) = (&org.org_id, &org.path) {
            context.insert("aws:ResourceOrgID", ContextValue::single(id.clone()));
            context.insert("aws:ResourceOrgPaths", ContextValue::multi([path.clone()]));
        }
        let req = Request::new(
            principal.clone(),
            &request.action,
            &resource.arn,
            Some(resource.account.clone()),
            context,
        );
        let adjusted;
        let policies: &PolicySet = match (&resource.policy, own) {
            (None, true) => &caller.policies,
            (policy, _) => {
                let mut set = match policy {
                    Some(rp) => cache.with_resource(&caller.policies, rp),
                    None => caller.policies.clone(),
                };
                if !own {
                    // RCPs follow the resource's account, not the caller's.
                    set.rcp = org.rcp.clone();
                }
                adjusted = set;
                &adjusted
            }
        };
        let decision = evaluate(&req, policies);
        if decision.outcome != Outcome::Allow {
            tracing::debug!(
                action = %request.action,
                resource = %resource.arn,
                explanation = %decision.explain(&req),
                "denied"
            );
            return Err(denied(&resource.arn, &decision));
        }
    }
    Ok(())
}

static NO_ORG: OrgLevels = OrgLevels {
    org_id: None,
    path: None,
    management: None,
    scp: Vec::new(),
    rcp: Vec::new(),
    closed: false,
};

/// AWS's access-denied message: who, what, on which resource, and which kind of policy said no.
pub fn denied_message(principal: &str, action: &str, resource: &str, d: &Decision) -> String {
    let head =
        format!("User: {principal} is not authorized to perform: {action} on resource: {resource}");
    match d.outcome {
        Outcome::ExplicitDeny => {
            let layer = d.statements.first().map(|s| &s.layer);
            format!("{head} with an explicit deny in {}", layer_phrase(layer))
        }
        _ => format!(
            "{head} because no {} allows the {action} action",
            layer_noun(d.layer.as_ref())
        ),
    }
}

fn layer_phrase(layer: Option<&Layer>) -> String {
    let noun = layer_noun(layer);
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

fn layer_noun(layer: Option<&Layer>) -> &'static str {
    match layer {
        Some(Layer::Resource) => "resource-based policy",
        Some(Layer::Boundary) => "permissions boundary",
        Some(Layer::Session) => "session policy",
        Some(Layer::Scp(_)) => "service control policy",
        Some(Layer::Rcp(_)) => "resource control policy",
        Some(Layer::Identity) | None => "identity-based policy",
    }
}
