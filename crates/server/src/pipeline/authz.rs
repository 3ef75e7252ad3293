//! Authorization: every call goes through the policy engine; no entry, no access.

use std::sync::Arc;

use rampart_policy::{evaluate, ContextValue, Decision, Layer, Outcome, PolicySet, Request};
use rampart_services::{
    authorizer::{Decide, Decision as Pending},
    AuthzError, AuthzQuestion, AuthzRequest, CallContext, ServiceError,
};

use super::policies::{CallerSet, OrgLevels, PolicyCache};
use crate::app::App;

/// The one decision function: API calls (through the pipeline) and questions services ask
/// during a call (through [`rampart_services::Authorizer`]) are decided here.
impl Decide for App {
    fn decide<'a>(&'a self, ctx: &'a CallContext, question: &'a AuthzQuestion) -> Pending<'a> {
        Box::pin(authorize(self, ctx, question))
    }
}

/// Decides every request of a question with every layer: the caller's identity, boundary and
/// session policies, the resource's policy, the SCPs of the caller's account, the RCPs of the
/// resource's account, and a closed account. A question without requests is refused. The
/// anonymous caller (an unsigned S3 request) has none of the caller's layers: only a resource
/// policy that allows everyone lets it act, within the RCPs of the resource's account.
pub async fn authorize(
    app: &App,
    ctx: &CallContext,
    question: &AuthzQuestion,
) -> Result<(), AuthzError> {
    if question.always_allowed() {
        return Ok(());
    }
    if question.requests.is_empty() {
        return Err(AuthzError::AccessDenied(format!(
            "User: {} is not authorized to perform this operation",
            ctx.principal.arn
        )));
    }
    // The anonymous caller, AWS service principals and callers proven by an identity provider
    // have no IAM identity: no policies, no organization.
    let caller = if ctx.principal.has_no_identity() {
        Arc::new(CallerSet::default())
    } else {
        caller_policies(app, ctx)
            .await
            .map_err(AuthzError::InternalFailure)?
    };
    for request in question.requests.iter().filter(|r| !r.always_allowed) {
        let others = resource_orgs(app, ctx, request)
            .await
            .map_err(AuthzError::InternalFailure)?;
        decide(ctx, request, &caller, &others, &app.policies)?;
    }
    Ok(())
}

/// The caller's compiled policies, from the cache when the authorization epoch is unchanged.
async fn caller_policies(app: &App, ctx: &CallContext) -> Result<Arc<CallerSet>, ServiceError> {
    let epoch = app.store.authz_epoch().get().await?;
    let akid = &ctx.principal.access_key_id;
    if let Some(hit) = app.policies.caller_set(akid, epoch) {
        return Ok(hit);
    }
    let loaded = app.registry.caller_policies(ctx, &app.store).await?;
    let org = org_levels(app, &ctx.principal.account_id, epoch).await?;
    Ok(app.policies.store_caller_set(akid, epoch, &loaded, org))
}

/// An account's organization levels, from the cache when the authorization epoch is
/// unchanged (every organization change bumps it).
async fn org_levels(app: &App, account: &str, epoch: i64) -> Result<Arc<OrgLevels>, ServiceError> {
    if let Some(hit) = app.policies.org_levels(account, epoch) {
        return Ok(hit);
    }
    use rampart_services::organizations::enforcement;
    let view = enforcement::view(&app.store, account).await?;
    let closed = enforcement::is_closed(&app.store, account).await?;
    Ok(app.policies.store_org_levels(account, epoch, view, closed))
}

/// The organization levels of every resource account of a request other than the caller's.
async fn resource_orgs(
    app: &App,
    ctx: &CallContext,
    request: &AuthzRequest,
) -> Result<Vec<(String, Arc<OrgLevels>)>, ServiceError> {
    let mut out: Vec<(String, Arc<OrgLevels>)> = Vec::new();
    let own = &ctx.principal.account_id;
    // Read once for every resource account of the request, and only when there is one.
    let mut epoch = None;
    for r in &request.resources {
        if r.account.is_empty() || &r.account == own || out.iter().any(|(a, _)| *a == r.account) {
            continue;
        }
        let e = match epoch {
            Some(e) => e,
            None => *epoch.insert(app.store.authz_epoch().get().await?),
        };
        out.push((r.account.clone(), org_levels(app, &r.account, e).await?));
    }
    Ok(out)
}

/// Decides one request (not an always-allowed one) with the caller's compiled policies. `others` holds the organizations
/// of resource accounts other than the caller's (their RCPs and `aws:ResourceOrg*` keys).
fn decide(
    ctx: &CallContext,
    request: &AuthzRequest,
    caller: &Arc<CallerSet>,
    others: &[(String, Arc<OrgLevels>)],
    cache: &PolicyCache,
) -> Result<(), AuthzError> {
    let denied = |resource: &str, decision: &Decision| {
        AuthzError::AccessDenied(denied_message(
            &ctx.principal.arn,
            &request.action,
            resource,
            decision,
        ))
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
            refusal: None,
        };
        return Err(denied("*", &closed));
    }
    let (principal, mut context) = ctx.policy_subject(&request.context, &caller.principal_tags);
    if let (Some(id), Some(path)) = (&caller.org.org_id, &caller.org.path) {
        context.insert("aws:PrincipalOrgID", ContextValue::single(id.clone()));
        context.insert("aws:PrincipalOrgPaths", ContextValue::multi([path.clone()]));
    }
    // The last (usually the only) resource takes the principal and context themselves; the
    // others take copies (copying them showed in profiles: two decisions per `GetSecretValue`).
    let mut shared = Some((principal, context));
    let last = request.resources.len().saturating_sub(1);
    for (i, resource) in request.resources.iter().enumerate() {
        let Some((principal, mut context)) = (if i == last {
            shared.take()
        } else {
            shared.clone()
        }) else {
            break;
        };
        let own = resource.account == ctx.principal.account_id;
        let org: &OrgLevels = if own {
            &caller.org
        } else {
            others
                .iter()
                .find(|(a, _)| *a == resource.account)
                .map_or(&NO_ORG, |(_, o)| o.as_ref())
        };
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
            principal,
            &request.action,
            &resource.arn,
            Some(resource.account.clone()),
            context,
        );
        // A policy that grants only within its resource's account (S3's
        // RestrictPublicBuckets) takes no part for a caller from outside it.
        let resource_policy = resource
            .policy
            .as_ref()
            .filter(|rp| own || !rp.account_only);
        let adjusted;
        let policies: &PolicySet = match (resource_policy, own) {
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
        if let Some(r) = decision.refusal {
            return Err(AuthzError::Refused(ServiceError::sender(r.code, r.message)));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_policy::PolicyKind;
    use rampart_services::{
        Authorizer, Payload, Principal, PrincipalKind, ResourcePolicy, ResourceRef, SideCalls,
    };

    const OWNER: &str = "111122223333";
    const OTHER: &str = "444455556666";

    fn ctx(principal: Principal) -> CallContext {
        CallContext {
            request_id: "req".into(),
            principal: Arc::new(principal),
            region: "us-east-1".into(),
            source_ip: std::net::IpAddr::from([127, 0, 0, 1]),
            user_agent: "test".into(),
            now: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            secure_transport: false,
            prepared: None,
            authorizer: Authorizer::refusing(),
            via_service: None,
            side_calls: SideCalls::default(),
            payload: Payload::default(),
        }
    }

    fn user(account: &str) -> Principal {
        Principal {
            account_id: account.into(),
            kind: PrincipalKind::User,
            arn: format!("arn:aws:iam::{account}:user/reader"),
            user_id: "AIDAREADER".into(),
            name: "reader".into(),
            access_key_id: "AKIAREADER".into(),
            session: None,
            source_arn: None,
        }
    }

    /// `s3:GetObject` on an object of `OWNER`'s bucket whose policy lets `principal` read.
    fn read(principal: &str, account_only: bool) -> AuthzRequest {
        let document = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}}]}}"#
        );
        AuthzRequest {
            action: "s3:GetObject".into(),
            resources: vec![ResourceRef {
                arn: "arn:aws:s3:::docs/k".into(),
                account: OWNER.into(),
                policy: Some(ResourcePolicy {
                    name: "bucket policy of docs".into(),
                    document,
                    required: false,
                    kind: PolicyKind::Resource,
                    account_only,
                }),
            }],
            context: Vec::new(),
            always_allowed: false,
        }
    }

    fn allowed(principal: Principal, request: &AuthzRequest) -> bool {
        // No identity policies: what is allowed, the resource policy allows.
        let caller = Arc::new(CallerSet::default());
        decide(
            &ctx(principal),
            request,
            &caller,
            &[],
            &PolicyCache::default(),
        )
        .is_ok()
    }

    #[test]
    fn the_anonymous_caller_acts_only_through_a_policy_that_allows_everyone() {
        assert!(allowed(Principal::anonymous(), &read(r#""*""#, false)));
        assert!(allowed(
            Principal::anonymous(),
            &read(r#"{"AWS":"*"}"#, false)
        ));
        let named = format!(r#"{{"AWS":"{OWNER}"}}"#);
        assert!(!allowed(Principal::anonymous(), &read(&named, false)));
        let mut no_policy = read(r#""*""#, false);
        no_policy.resources[0].policy = None;
        assert!(!allowed(Principal::anonymous(), &no_policy));
    }

    #[test]
    fn an_account_only_policy_grants_nothing_outside_its_account() {
        let public = read(r#""*""#, true);
        assert!(!allowed(Principal::anonymous(), &public));
        assert!(!allowed(
            Principal::root(rampart_services::Partition::Aws, OTHER, "AKIAOTHER"),
            &public
        ));
        assert!(!allowed(user(OTHER), &public));
        assert!(allowed(user(OWNER), &public));
        let delegated = read(&format!(r#"{{"AWS":"{OTHER}"}}"#), true);
        assert!(!allowed(
            Principal::root(rampart_services::Partition::Aws, OTHER, "AKIAOTHER"),
            &delegated
        ));
        let delegated = read(&format!(r#"{{"AWS":"{OTHER}"}}"#), false);
        assert!(allowed(
            Principal::root(rampart_services::Partition::Aws, OTHER, "AKIAOTHER"),
            &delegated
        ));
    }
}
