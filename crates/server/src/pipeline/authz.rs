//! Authorization: every call goes through the policy engine; no entry, no access.

use std::sync::Arc;

use rampart_policy::{
    evaluate, Context, ContextValue, Decision, Layer, Outcome, PolicySet,
    Principal as PolicyPrincipal, Request,
};
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
    let mut principal = PolicyPrincipal::from_arn(&ctx.principal.arn);
    // A session ARN has no role path; STS recorded the role ARN with it (`aws:PrincipalArn`,
    // and resource policies that name the role).
    if let Some(role_arn) = ctx
        .principal
        .session
        .as_ref()
        .and_then(|s| s.context.role_arn.clone())
    {
        principal.parent_arn = Some(role_arn);
    }
    let mut context = Context::new();
    for (key, values) in ctx.global_keys().into_iter().chain(request.context.clone()) {
        let value = if values.len() == 1 {
            ContextValue::single(values.into_iter().next().unwrap_or_default())
        } else {
            ContextValue::multi(values)
        };
        context.insert(&key, value);
    }
    for (key, value) in &caller.principal_tags {
        context.insert(
            &format!("aws:PrincipalTag/{key}"),
            ContextValue::single(value.clone()),
        );
    }
    principal.fill_context(&mut context);
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
