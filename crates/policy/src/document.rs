//! The compiled policy document: kinds, statements and their elements.

use crate::action::ActionSpec;
use crate::condition::Condition;
use crate::context::Context;
use crate::principal::{Grant, PrincipalSpec};
use crate::request::Request;
use crate::resource::ResourceSpec;

/// Which policy type a document is, which decides its validation rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Identity-based policy (user, group, role): no Principal.
    Identity,
    /// Resource-based policy (bucket, key, queue...): Principal required.
    Resource,
    /// Role trust policy: Principal required, no Resource, no NotPrincipal.
    Trust,
    /// Service control policy: no Principal / NotPrincipal.
    Scp,
    /// Resource control policy: Principal `"*"` only, Deny except the RCPFullAWSAccess shape.
    Rcp,
    /// Session policy: no Principal.
    Session,
    /// Permissions boundary: no Principal.
    Boundary,
}

impl PolicyKind {
    /// Parses a kind name (`identity`, `resource`, `trust`, `scp`, `rcp`, `session`, `boundary`).
    pub fn parse(s: &str) -> Option<PolicyKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "identity" => PolicyKind::Identity,
            "resource" => PolicyKind::Resource,
            "trust" => PolicyKind::Trust,
            "scp" => PolicyKind::Scp,
            "rcp" => PolicyKind::Rcp,
            "session" => PolicyKind::Session,
            "boundary" => PolicyKind::Boundary,
            _ => return None,
        })
    }

    /// True for kinds whose statements name principals.
    pub fn has_principal(self) -> bool {
        matches!(
            self,
            PolicyKind::Resource | PolicyKind::Trust | PolicyKind::Rcp
        )
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012,
    /// `2008-10-17` (also the default when Version is absent): `${...}` is literal text.
    V2008,
}

impl Version {
    /// The version string.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2012 => "2012-10-17",
            Version::V2008 => "2008-10-17",
        }
    }
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Allow"`.
    Allow,
    /// `"Deny"`.
    Deny,
}

/// One compiled statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The Sid, if any.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// Action or NotAction.
    pub action: ActionSpec,
    /// Resource or NotResource (absent in trust policies: every resource).
    pub resource: Option<ResourceSpec>,
    /// Principal or NotPrincipal (only in resource, trust and RC policies).
    pub principal: Option<PrincipalSpec>,
    /// The condition tests (AND).
    pub conditions: Vec<Condition>,
    /// The Condition element as written, for printing.
    pub condition_raw: Option<serde_json::Value>,
}

impl Statement {
    /// True when action, resource and conditions match (principal handled by the caller).
    pub fn matches_request(&self, req: &Request, missing: &mut Vec<String>) -> bool {
        self.action.matches(req.service_lc(), req.name_lc())
            && self
                .resource
                .as_ref()
                .is_none_or(|r| r.matches(&req.resource, &req.context, missing))
            && self.conditions_hold(&req.context, missing)
    }

    /// True when every condition holds.
    pub fn conditions_hold(&self, ctx: &Context, missing: &mut Vec<String>) -> bool {
        self.conditions.iter().all(|c| c.evaluate(ctx, missing))
    }

    /// How the Principal element names the caller (`Direct` when the statement has none).
    /// `boundary` is true when the caller has a permissions boundary: AWS then never exempts it
    /// from a `NotPrincipal` Deny.
    pub fn principal_grant(&self, req: &Request, boundary: bool) -> Grant {
        match &self.principal {
            None => Grant::Direct,
            Some(p) if p.negated => {
                let excluded =
                    p.excludes(&req.principal) && !(boundary && self.effect == Effect::Deny);
                if excluded {
                    Grant::None
                } else {
                    Grant::Direct
                }
            }
            Some(p) => p.grant(&req.principal),
        }
    }
}

/// A parsed, validated and compiled policy. `Send + Sync`; share it in an `Arc`.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The name used in decisions (`POLICY#SID`); defaults to the document's Id or `policy`.
    pub name: String,
    /// The kind it was validated as.
    pub kind: PolicyKind,
    /// The language version.
    pub version: Version,
    /// True when Version was written in the document.
    pub version_given: bool,
    /// The document's Id element.
    pub id: Option<String>,
    /// The statements in document order.
    pub statements: Vec<Statement>,
    /// True when Statement was a single object rather than an array.
    pub single_statement: bool,
}

impl Policy {
    /// Parses and validates `json` as a policy of `kind`, listing every problem on failure.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, crate::PolicyError> {
        crate::parse::parse_str(json, kind)
    }

    /// Parses an already-decoded JSON value.
    pub fn from_value(
        v: &serde_json::Value,
        kind: PolicyKind,
    ) -> Result<Policy, crate::PolicyError> {
        crate::parse::parse_value(v, kind)
    }

    /// Sets the name used in decisions.
    pub fn with_name(mut self, name: impl Into<String>) -> Policy {
        self.name = name.into();
        self
    }

    /// The document as JSON (stable: parse -> print -> parse gives the same policy).
    pub fn to_json(&self) -> serde_json::Value {
        crate::print::to_json(self)
    }

    /// The statement's reference: `NAME#Sid`, or `NAME#index` without a Sid.
    pub fn statement_ref(&self, index: usize) -> String {
        match self.statements.get(index).and_then(|s| s.sid.as_deref()) {
            Some(sid) if !sid.is_empty() => format!("{}#{}", self.name, sid),
            _ => format!("{}#{}", self.name, index),
        }
    }
}
