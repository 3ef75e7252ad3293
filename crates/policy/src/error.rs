//! Errors: every validation problem with its location.

use std::fmt;

/// Where a problem is in the document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// 0-based statement index, when the problem is inside a statement.
    pub statement: Option<usize>,
    /// That statement's Sid, if it has one.
    pub sid: Option<String>,
    /// The element (`Action`, `Condition`, ...), when known.
    pub element: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(i) = self.statement {
            match &self.sid {
                Some(s) => parts.push(format!("Statement {i} (Sid \"{s}\")")),
                None => parts.push(format!("Statement {i}")),
            }
        }
        if let Some(e) = &self.element {
            parts.push(e.clone());
        }
        write!(f, "{}", parts.join(", "))
    }
}

/// One problem found while parsing or validating a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where it is.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = self.location.to_string();
        if loc.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{loc}: {}", self.message)
        }
    }
}

/// A policy that failed to parse or validate; Display is suitable as AWS's
/// `MalformedPolicyDocument` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// Every problem found (at least one).
    pub problems: Vec<Problem>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msgs: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        write!(f, "{}", msgs.join("; "))
    }
}

impl PolicyError {
    /// An error with one problem and no location.
    pub fn single(message: impl Into<String>) -> PolicyError {
        PolicyError {
            problems: vec![Problem {
                location: Location::default(),
                message: message.into(),
            }],
        }
    }
}

/// Errors of the simulate format.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// A case is malformed.
    #[error("case {index} ({name}): {message}")]
    Case {
        /// 0-based case index.
        index: usize,
        /// The case name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The file's top level is malformed.
    #[error("{0}")]
    Format(String),
}
