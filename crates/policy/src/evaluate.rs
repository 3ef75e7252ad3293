//! AWS's policy evaluation logic: explicit deny, RCPs, SCPs, resource-based policies,
//! identity-based policies, permissions boundaries and session policies.

use std::fmt;
use std::sync::Arc;

use crate::aws_rules::{self, Fixed, Refusal};
use crate::document::{Effect, Policy};
use crate::index::PolicyLayer;
use crate::principal::Grant;
use crate::request::{PrincipalType, Request};

/// One level of an organization (root, OU or account) and its SCPs or RCPs.
#[derive(Debug, Clone)]
pub struct OrgLevel {
    /// The target id: `r-...`, `ou-...` or the account id.
    pub target: String,
    /// The policies attached there.
    pub layer: PolicyLayer,
}

/// Every policy that applies to a request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// The principal's identity-based policies (for a role session: the role's).
    pub identity: PolicyLayer,
    /// The resource-based policy.
    pub resource: Option<PolicyLayer>,
    /// True when the resource's own policy must allow (KMS key policy, role trust policy).
    pub resource_policy_required: bool,
    /// The principal's permissions boundary.
    pub boundary: Option<PolicyLayer>,
    /// The session policies (None or empty: no session policy).
    pub session: Option<PolicyLayer>,
    /// SCP levels from the organization root down to the principal's account.
    pub scp: Vec<OrgLevel>,
    /// RCP levels from the organization root down to the resource's account.
    pub rcp: Vec<OrgLevel>,
    /// The organization's management account (exempt from SCPs and RCPs).
    pub management_account: Option<String>,
}

/// The three outcomes of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// Denied by a Deny statement.
    ExplicitDeny,
    /// Denied because no required Allow was found.
    ImplicitDeny,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Allow => "Allow",
            Outcome::ExplicitDeny => "ExplicitDeny",
            Outcome::ImplicitDeny => "ImplicitDeny",
        })
    }
}

/// A policy layer, as named in decisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Identity-based policies.
    Identity,
    /// The resource-based policy.
    Resource,
    /// The permissions boundary.
    Boundary,
    /// Session policies.
    Session,
    /// The SCPs at one target.
    Scp(String),
    /// The RCPs at one target.
    Rcp(String),
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Identity => f.write_str("identity"),
            Layer::Resource => f.write_str("resource"),
            Layer::Boundary => f.write_str("boundary"),
            Layer::Session => f.write_str("session"),
            Layer::Scp(t) => write!(f, "scp:{t}"),
            Layer::Rcp(t) => write!(f, "rcp:{t}"),
        }
    }
}

/// A statement that decided, shared cheaply with its policy.
#[derive(Clone)]
pub struct StatementRef {
    /// The policy holding the statement.
    pub policy: Arc<Policy>,
    /// 0-based statement index.
    pub index: usize,
    /// The layer the policy was evaluated in.
    pub layer: Layer,
}

impl StatementRef {
    /// The statement's Sid, if any.
    pub fn sid(&self) -> Option<&str> {
        self.policy
            .statements
            .get(self.index)
            .and_then(|s| s.sid.as_deref())
    }
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.policy.statement_ref(self.index))
    }
}

impl fmt::Debug for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self, self.layer)
    }
}

impl PartialEq for StatementRef {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.policy, &o.policy) && self.index == o.index && self.layer == o.layer
    }
}

/// Why an Allow was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowBasis {
    /// Identity-based policies allowed (within the boundary and session policies).
    Identity,
    /// The resource-based policy named the caller directly (same account).
    ResourceDirect,
    /// The resource-based policy named the role behind the session (same account).
    ResourceRole,
    /// The resource policy allowed the account and identity-based policies allowed.
    ResourceDelegated,
    /// Both the caller's account and the resource policy allowed (cross-account).
    CrossAccount,
    /// The account root user, which identity-based policies do not limit.
    RootUser,
    /// A principal outside IAM (anonymous, service, ...) allowed by the resource policy.
    ResourcePublic,
    /// One of AWS's fixed rules allows it whatever the policies say ([`crate::aws_rules`]).
    AwsRule,
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Allow, explicit deny or implicit deny.
    pub outcome: Outcome,
    /// For Allow the Allow statements that granted it; for ExplicitDeny the Deny statements
    /// that matched; empty for ImplicitDeny.
    pub statements: Vec<StatementRef>,
    /// For ImplicitDeny, the layer that had no Allow.
    pub layer: Option<Layer>,
    /// Context keys referenced by matching statements' conditions or variables but absent.
    pub missing_context_keys: Vec<String>,
    /// For Allow, how it was granted.
    pub basis: Option<AllowBasis>,
    /// For ImplicitDeny in the resource layer: whether a resource policy existed at all.
    pub resource_policy_present: bool,
    /// For ExplicitDeny by one of AWS's fixed rules: the error the call answers.
    pub refusal: Option<Refusal>,
}

impl Decision {
    /// True for Allow.
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// The deciding statements as `POLICY#SID` / `POLICY#N` strings.
    pub fn statement_refs(&self) -> Vec<String> {
        self.statements.iter().map(ToString::to_string).collect()
    }
}

/// AWS's fixed decision for the request, before any policy (AWS services are not refused).
fn fixed_decision(req: &Request) -> Option<Decision> {
    let fixed = aws_rules::fixed(&req.action, &req.resource).or_else(|| {
        (req.principal.kind == PrincipalType::FederatedUser)
            .then(|| aws_rules::federated_user(&req.action).map(Fixed::Refused))
            .flatten()
    })?;
    let mut d = Decision {
        outcome: Outcome::Allow,
        statements: Vec::new(),
        layer: None,
        missing_context_keys: Vec::new(),
        basis: None,
        resource_policy_present: false,
        refusal: None,
    };
    match fixed {
        Fixed::AlwaysAllowed => d.basis = Some(AllowBasis::AwsRule),
        Fixed::Refused(_) if req.principal.kind == PrincipalType::Service => return None,
        Fixed::Refused(r) => {
            d.outcome = Outcome::ExplicitDeny;
            d.refusal = Some(r);
        }
    }
    Some(d)
}

#[derive(Default)]
struct Hits {
    allows: Vec<StatementRef>,
    /// An SCP or RCP level allowed (its Allow statements are not kept).
    org_allowed: bool,
    denies: Vec<StatementRef>,
    grant: Option<Grant>,
}

impl Hits {
    fn allowed(&self) -> bool {
        self.org_allowed || !self.allows.is_empty()
    }
}

/// A layer's name without allocation; turned into a [`Layer`] only for a matching statement.
#[derive(Clone, Copy)]
enum Tag<'a> {
    Identity,
    Resource,
    Boundary,
    Session,
    Scp(&'a str),
    Rcp(&'a str),
}

impl Tag<'_> {
    fn layer(self) -> Layer {
        match self {
            Tag::Identity => Layer::Identity,
            Tag::Resource => Layer::Resource,
            Tag::Boundary => Layer::Boundary,
            Tag::Session => Layer::Session,
            Tag::Scp(t) => Layer::Scp(t.to_string()),
            Tag::Rcp(t) => Layer::Rcp(t.to_string()),
        }
    }
}

fn eval_layer(
    layer: &PolicyLayer,
    name: Tag<'_>,
    req: &Request,
    boundary: bool,
    missing: &mut Vec<String>,
) -> Hits {
    let mut hits = Hits::default();
    let (svc, op) = (req.service_lc(), req.name_lc());
    layer.for_each_candidate(svc, op, &req.resource, |(pi, si), action_known| {
        #[expect(
            clippy::indexing_slicing,
            reason = "the layer's index holds only positions PolicyLayer::new took by enumerating its policies and their statements, which never change"
        )]
        let policy = &layer.policies()[pi as usize];
        #[expect(
            clippy::indexing_slicing,
            reason = "the layer's index holds only positions PolicyLayer::new took by enumerating its policies and their statements, which never change"
        )]
        let stmt = &policy.statements[si as usize];
        if !action_known && !stmt.action.matches(svc, op) {
            return;
        }
        if let Some(r) = &stmt.resource {
            if !r.matches(&req.resource, &req.context, missing) {
                return;
            }
        }
        let grant = stmt.principal_grant(req, boundary);
        if grant == Grant::None {
            return;
        }
        if !stmt.conditions_hold(&req.context, missing) {
            return;
        }
        // An SCP or RCP level's Allow statements never appear in a decision: only whether
        // the level allowed matters, so they are not materialized (no allocation per level).
        if stmt.effect == Effect::Allow && matches!(name, Tag::Scp(_) | Tag::Rcp(_)) {
            hits.org_allowed = true;
            return;
        }
        let sref = StatementRef {
            policy: Arc::clone(policy),
            index: si as usize,
            layer: name.layer(),
        };
        match stmt.effect {
            Effect::Deny => hits.denies.push(sref),
            Effect::Allow => {
                hits.allows.push(sref);
                hits.grant = hits.grant.max(Some(grant));
            }
        }
    });
    hits
}

/// Moves `src`'s elements to the end of `dst` (reusing `src`'s buffer when `dst` is empty).
fn move_into<T>(dst: &mut Vec<T>, src: &mut Vec<T>) {
    if dst.is_empty() {
        std::mem::swap(dst, src);
    } else {
        dst.append(src);
    }
}

fn dedup_keys(mut keys: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys.drain(..) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&k)) {
            out.push(k);
        }
    }
    out
}

/// Evaluates `req` against every applicable policy, following AWS's documented logic.
pub fn evaluate(req: &Request, set: &PolicySet) -> Decision {
    if let Some(fixed) = fixed_decision(req) {
        return fixed;
    }
    let p = &req.principal;
    let mut missing = Vec::new();
    let root = p.kind == PrincipalType::Root;
    let iam = p.kind.is_iam_identity();
    let slr = p.is_service_linked();
    let mgmt = set.management_account.as_deref();
    let boundary_applies = iam && set.boundary.is_some();
    // A root session from `AssumeRoot` carries its task policy as a session policy: its
    // Deny statements bind the root user, whose permissions need no Allow.
    let session_applies = (iam || root) && set.session.as_ref().is_some_and(|s| !s.is_empty());
    let scp_applies = (iam || root)
        && !set.scp.is_empty()
        && p.account.is_some()
        && p.account.as_deref() != mgmt
        && !slr;
    let rcp_applies = !set.rcp.is_empty()
        && (req.resource_account.is_none() || req.resource_account.as_deref() != mgmt)
        && !slr;

    let mut identity = if iam {
        eval_layer(
            &set.identity,
            Tag::Identity,
            req,
            boundary_applies,
            &mut missing,
        )
    } else {
        Hits::default()
    };
    let mut resource = set
        .resource
        .as_ref()
        .map(|l| eval_layer(l, Tag::Resource, req, boundary_applies, &mut missing))
        .unwrap_or_default();
    let mut boundary = match (&set.boundary, boundary_applies) {
        (Some(l), true) => eval_layer(l, Tag::Boundary, req, true, &mut missing),
        _ => Hits::default(),
    };
    let mut session = match (&set.session, session_applies) {
        (Some(l), true) => eval_layer(l, Tag::Session, req, boundary_applies, &mut missing),
        _ => Hits::default(),
    };
    let mut scps: Vec<(&OrgLevel, Hits)> = if scp_applies {
        set.scp
            .iter()
            .map(|lv| {
                let h = eval_layer(&lv.layer, Tag::Scp(&lv.target), req, false, &mut missing);
                (lv, h)
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut rcps: Vec<(&OrgLevel, Hits)> = if rcp_applies {
        set.rcp
            .iter()
            .map(|lv| {
                let h = eval_layer(&lv.layer, Tag::Rcp(&lv.target), req, false, &mut missing);
                (lv, h)
            })
            .collect()
    } else {
        Vec::new()
    };

    let mut decision = Decision {
        outcome: Outcome::ImplicitDeny,
        statements: Vec::new(),
        layer: None,
        missing_context_keys: Vec::new(),
        basis: None,
        resource_policy_present: set.resource.is_some(),
        refusal: None,
    };

    // 1. Explicit deny anywhere.
    let mut denies: Vec<StatementRef> = Vec::new();
    for h in [&mut identity, &mut resource, &mut boundary, &mut session] {
        move_into(&mut denies, &mut h.denies);
    }
    for (_, h) in rcps.iter_mut().chain(scps.iter_mut()) {
        move_into(&mut denies, &mut h.denies);
    }
    decision.missing_context_keys = dedup_keys(missing);
    if !denies.is_empty() {
        decision.outcome = Outcome::ExplicitDeny;
        decision.statements = denies;
        return decision;
    }

    // 2. RCPs, then 3. SCPs: every level must allow.
    for (lv, h) in &rcps {
        if !h.allowed() {
            decision.layer = Some(Layer::Rcp(lv.target.clone()));
            return decision;
        }
    }
    for (lv, h) in &scps {
        if !h.allowed() {
            decision.layer = Some(Layer::Scp(lv.target.clone()));
            return decision;
        }
    }

    // 4. Resource-based, identity-based, boundary and session policies.
    let rgrant = resource.grant.unwrap_or(Grant::None);
    let ident_ok = root || identity.allowed();
    let bnd_ok = !boundary_applies || boundary.allowed();
    let sess_ok = !session_applies || root || session.allowed();
    let principal_side = ident_ok && bnd_ok && sess_ok;
    let first_failing = |ident: bool| -> Layer {
        if ident && !ident_ok {
            Layer::Identity
        } else if !bnd_ok {
            Layer::Boundary
        } else {
            Layer::Session
        }
    };

    let (basis, failing): (Option<AllowBasis>, Option<Layer>) = if !iam && !root {
        // Anonymous, service, web-identity/SAML or canonical-user callers: only the resource
        // policy can grant.
        if rgrant == Grant::Direct {
            (Some(AllowBasis::ResourcePublic), None)
        } else {
            (None, Some(Layer::Resource))
        }
    } else if req.is_cross_account() {
        if !principal_side {
            (None, Some(first_failing(true)))
        } else if rgrant == Grant::None {
            (None, Some(Layer::Resource))
        } else {
            (Some(AllowBasis::CrossAccount), None)
        }
    } else if root {
        if set.resource_policy_required && rgrant == Grant::None {
            (None, Some(Layer::Resource))
        } else {
            (Some(AllowBasis::RootUser), None)
        }
    } else if rgrant == Grant::Direct {
        (Some(AllowBasis::ResourceDirect), None)
    } else if rgrant == Grant::Role && bnd_ok && sess_ok {
        (Some(AllowBasis::ResourceRole), None)
    } else if rgrant == Grant::Role {
        (None, Some(first_failing(false)))
    } else if set.resource_policy_required {
        if rgrant == Grant::None {
            (None, Some(Layer::Resource))
        } else if principal_side {
            (Some(AllowBasis::ResourceDelegated), None)
        } else {
            (None, Some(first_failing(true)))
        }
    } else if principal_side {
        (Some(AllowBasis::Identity), None)
    } else {
        (None, Some(first_failing(true)))
    };

    if let Some(b) = basis {
        decision.outcome = Outcome::Allow;
        decision.basis = Some(b);
        let mut st = Vec::new();
        if iam && principal_side {
            move_into(&mut st, &mut identity.allows);
        }
        if rgrant != Grant::None {
            move_into(&mut st, &mut resource.allows);
        }
        decision.statements = st;
    } else {
        decision.layer = failing;
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{document::PolicyKind, Context};

    fn session(doc: &str) -> PolicySet {
        let policy = Policy::parse(doc, PolicyKind::Session).unwrap();
        PolicySet {
            session: Some(PolicyLayer::new(vec![Arc::new(policy)])),
            ..PolicySet::default()
        }
    }

    fn root_request(action: &str, resource: &str) -> Request {
        Request::new(
            crate::request::Principal::from_arn("arn:aws:iam::111122223333:root"),
            action,
            resource,
            Some("111122223333".into()),
            Context::default(),
        )
    }

    /// A root session's task policy holds only Deny statements: they bind the root user,
    /// whose other permissions need no Allow.
    #[test]
    fn a_root_sessions_session_policy_denies_but_need_not_allow() {
        let task = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["iam:DeleteAccessKey"],"Resource":"*"},{"Effect":"Deny","Action":["iam:DeleteAccessKey"],"NotResource":"arn:aws:iam::*:root"}]}"#;
        let set = session(task);
        let root = "arn:aws:iam::111122223333:root";
        let ok = evaluate(&root_request("iam:DeleteAccessKey", root), &set);
        assert_eq!(ok.outcome, Outcome::Allow);
        let other = evaluate(&root_request("iam:CreateUser", "*"), &set);
        assert_eq!(other.outcome, Outcome::ExplicitDeny);
        let user = "arn:aws:iam::111122223333:user/bob";
        let not_root = evaluate(&root_request("iam:DeleteAccessKey", user), &set);
        assert_eq!(not_root.outcome, Outcome::ExplicitDeny);
        // Without a session policy the root user is unbounded, as before.
        let plain = evaluate(&root_request("iam:CreateUser", "*"), &PolicySet::default());
        assert_eq!(plain.outcome, Outcome::Allow);
    }
}
