//! Authorization: every call goes through the policy engine; no entry, no access.

use std::sync::Arc;

use rampart_policy::{evaluate, Decision, Layer, Outcome, PolicySet, Request};
use rampart_services::{AuthzRequest, CallContext};
use rampart_wire::{ApiError, CommonError, Protocol};

use super::policies::{CallerSet, PolicyCache};

/// Decides one call. The principal's policies are read fresh for every request, so a policy
/// change takes effect on the next request.
pub fn authorize(
    protocol: Protocol,
    ctx: &CallContext,
    request: &AuthzRequest,
    caller: &Arc<CallerSet>,
    cache: &PolicyCache,
) -> Result<(), ApiError> {
    if request.always_allowed {
        return Ok(());
    }
    let (principal, context) = ctx.policy_subject(&request.context, &caller.principal_tags);
    for resource in &request.resources {
        let req = Request::new(
            principal.clone(),
            &request.action,
            &resource.arn,
            Some(resource.account.clone()),
            context.clone(),
        );
        let with_resource;
        let policies: &PolicySet = match &resource.policy {
            Some(rp) => {
                with_resource = cache.with_resource(&caller.policies, rp);
                &with_resource
            }
            None => &caller.policies,
        };
        let decision = evaluate(&req, policies);
        if decision.outcome != Outcome::Allow {
            tracing::debug!(
                action = %request.action,
                resource = %resource.arn,
                explanation = %decision.explain(&req),
                "denied"
            );
            return Err(ApiError::common(
                protocol,
                CommonError::AccessDenied,
                denied_message(
                    &ctx.principal.arn,
                    &request.action,
                    &resource.arn,
                    &decision,
                ),
            ));
        }
    }
    Ok(())
}

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
