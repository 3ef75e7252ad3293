//! The state of one validation: the policy type, the findings so far, and the helpers that
//! add a finding at a path and read string-or-list elements.

use super::finding::{Finding, FindingType, Location, Step};
use super::json::{Kind, Node, Span};

/// What the document is validated as (`policyType` with `validatePolicyResourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `IDENTITY_POLICY`.
    Identity,
    /// `RESOURCE_POLICY`.
    Resource,
    /// `RESOURCE_POLICY` of type `AWS::IAM::AssumeRolePolicyDocument`: a role trust policy.
    Trust,
    /// `SERVICE_CONTROL_POLICY`.
    Scp,
    /// `RESOURCE_CONTROL_POLICY`.
    Rcp,
}

impl Target {
    /// True for the types whose statements name principals.
    pub fn has_principal(self) -> bool {
        matches!(self, Target::Resource | Target::Trust | Target::Rcp)
    }
}

/// One validation under way.
pub struct Checker<'a> {
    /// The policy type.
    pub target: Target,
    /// `validatePolicyResourceType`, when given.
    pub resource_type: Option<&'a str>,
    /// True when the document's Version is `2012-10-17` (policy variables are substituted).
    pub vars_ok: bool,
    /// The findings so far.
    pub findings: Vec<Finding>,
}

impl Checker<'_> {
    /// Adds a finding with one location.
    pub fn add(
        &mut self,
        kind: FindingType,
        code: &'static str,
        details: String,
        path: Vec<Step>,
        span: Span,
    ) {
        self.findings.push(Finding {
            kind,
            code,
            details,
            locations: vec![Location { path, span }],
        });
    }

    /// Adds an `ERROR`.
    pub fn error(&mut self, code: &'static str, details: String, path: Vec<Step>, span: Span) {
        self.add(FindingType::Error, code, details, path, span);
    }

    /// The strings of a string-or-array element with their paths. Values of another JSON
    /// type are `DATA_TYPE_MISMATCH` (nulls in an array are skipped, as IAM does); `None`
    /// when the element itself is neither a string nor an array.
    pub fn strings<'n>(
        &mut self,
        node: &'n Node,
        path: &[Step],
    ) -> Option<Vec<(&'n str, Span, Vec<Step>)>> {
        match &node.kind {
            Kind::Str(s) => Some(vec![(s.as_str(), node.span, path.to_vec())]),
            Kind::Arr(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let p = at(path, [Step::Index(i)]);
                    match &item.kind {
                        Kind::Str(s) => out.push((s.as_str(), item.span, p)),
                        Kind::Null => {}
                        _ => self.mismatch(item, "string", p),
                    }
                }
                Some(out)
            }
            _ => {
                self.mismatch(node, "string or array of strings", path.to_vec());
                None
            }
        }
    }

    /// `DATA_TYPE_MISMATCH`: `node` is not of the `expected` JSON type.
    pub fn mismatch(&mut self, node: &Node, expected: &str, path: Vec<Step>) {
        self.error(
            "DATA_TYPE_MISMATCH",
            format!(
                "The text does not match the expected JSON data type {expected}: found {}.",
                node.type_name()
            ),
            path,
            node.span,
        );
    }
}

/// `base` followed by `more`.
pub fn at(base: &[Step], more: impl IntoIterator<Item = Step>) -> Vec<Step> {
    let mut p = base.to_vec();
    p.extend(more);
    p
}

/// The step into the value at `key`.
pub fn val(key: &str) -> Step {
    Step::Value(key.to_string())
}

/// The step naming the key `key` itself.
pub fn key(key: &str) -> Step {
    Step::Key(key.to_string())
}
