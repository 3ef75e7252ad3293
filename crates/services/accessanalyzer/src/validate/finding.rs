//! A policy validation finding: its type, issue code, details and locations, and its JSON
//! (AWS's `ValidatePolicyFinding`).

use serde_json::{json, Value};

use super::json::{Pos, Span};

/// How serious a finding is (`ValidatePolicyFindingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingType {
    /// A part of the policy does not work.
    Error,
    /// The policy allows access that is considered overly permissive.
    SecurityWarning,
    /// The policy does not follow policy-writing practice (not a security issue).
    Warning,
    /// A stylistic improvement that changes no access.
    Suggestion,
}

impl FindingType {
    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingType::Error => "ERROR",
            FindingType::SecurityWarning => "SECURITY_WARNING",
            FindingType::Warning => "WARNING",
            FindingType::Suggestion => "SUGGESTION",
        }
    }

    /// True for the types that fail a pipeline (`rampart policy validate --access-analyzer`).
    pub fn blocking(self) -> bool {
        matches!(self, FindingType::Error | FindingType::SecurityWarning)
    }
}

/// One step of a location's path (`PathElement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An index into an array.
    Index(usize),
    /// A key of an object (the location is the key itself).
    Key(String),
    /// The value at a key of an object.
    Value(String),
}

/// A location: a path into the document and the span of what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The path from the document's root.
    pub path: Vec<Step>,
    /// The text it covers.
    pub span: Span,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The type.
    pub kind: FindingType,
    /// The issue code (`MISSING_VERSION`, ...).
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub details: String,
    /// Where.
    pub locations: Vec<Location>,
}

/// The reference page every finding links to, with the check's anchor.
const REFERENCE: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html";

impl Finding {
    /// The link to the check's section of AWS's reference: the type and the issue code's
    /// words (`#access-analyzer-reference-policy-checks-error-missing-action`).
    pub fn learn_more_link(&self) -> String {
        let kind = match self.kind {
            FindingType::Error => "error",
            FindingType::SecurityWarning => "security-warning",
            FindingType::Warning => "general-warning",
            FindingType::Suggestion => "suggestion",
        };
        let words = self.code.to_ascii_lowercase().replace('_', "-");
        format!("{REFERENCE}#access-analyzer-reference-policy-checks-{kind}-{words}")
    }

    /// AWS's JSON shape.
    pub fn to_json(&self) -> Value {
        json!({
            "findingDetails": self.details,
            "findingType": self.kind.as_str(),
            "issueCode": self.code,
            "learnMoreLink": self.learn_more_link(),
            "locations": self.locations.iter().map(location_json).collect::<Vec<_>>(),
        })
    }

    /// One line for a terminal: `LINE:COLUMN: TYPE CODE: details`.
    pub fn to_line(&self) -> String {
        let at = self
            .locations
            .first()
            .map(|l| format!("{}:{}", l.span.start.line, l.span.start.column))
            .unwrap_or_else(|| "1:0".into());
        format!(
            "{at}: {} {}: {}",
            self.kind.as_str(),
            self.code,
            self.details
        )
    }
}

fn location_json(l: &Location) -> Value {
    let path: Vec<Value> = l
        .path
        .iter()
        .map(|s| match s {
            Step::Index(i) => json!({ "index": i }),
            Step::Key(k) => json!({ "key": k }),
            Step::Value(v) => json!({ "value": v }),
        })
        .collect();
    json!({
        "path": path,
        "span": { "start": pos_json(l.span.start), "end": pos_json(l.span.end) },
    })
}

fn pos_json(p: Pos) -> Value {
    json!({ "line": p.line, "column": p.column, "offset": p.offset })
}
