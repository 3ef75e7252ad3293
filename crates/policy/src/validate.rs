//! Validating policy files: every problem of every file, with its location.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::document::{Policy, PolicyKind};

/// The result of validating one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// The kind it was validated as (given, or inferred from the document).
    pub kind: Option<PolicyKind>,
    /// Every problem (empty when valid).
    pub problems: Vec<String>,
    /// Number of statements when valid.
    pub statements: usize,
}

/// Infers the kind: a document naming principals is a resource policy (a trust policy when no
/// statement names resources); otherwise an identity policy.
pub fn infer_kind(doc: &Value) -> PolicyKind {
    let stmts: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    };
    let principal = stmts
        .iter()
        .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some());
    let resource = stmts
        .iter()
        .any(|s| s.get("Resource").is_some() || s.get("NotResource").is_some());
    match (principal, resource) {
        (true, false) => PolicyKind::Trust,
        (true, true) => PolicyKind::Resource,
        _ => PolicyKind::Identity,
    }
}

/// Validates one file as `kind` (inferred when `None`).
pub fn validate_file(path: &Path, kind: Option<PolicyKind>) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        kind,
        problems: Vec::new(),
        statements: 0,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.problems.push(format!("cannot read file: {e}"));
            return report;
        }
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            report
                .problems
                .push(format!("Syntax errors in policy: {e}"));
            return report;
        }
    };
    let kind = kind.unwrap_or_else(|| infer_kind(&doc));
    report.kind = Some(kind);
    match Policy::from_value(&doc, kind) {
        Ok(p) => report.statements = p.statements.len(),
        Err(e) => report.problems = e.problems.iter().map(ToString::to_string).collect(),
    }
    report
}

/// Validates several files.
pub fn validate_files(paths: &[PathBuf], kind: Option<PolicyKind>) -> Vec<FileReport> {
    paths.iter().map(|p| validate_file(p, kind)).collect()
}

/// `rampart policy validate FILE...`: the output to print (one line per problem, prefixed with
/// the file) and whether every file is valid (exit 0).
pub fn cli_validate(paths: &[PathBuf], kind: Option<PolicyKind>) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    for r in validate_files(paths, kind) {
        let name = r.path.display();
        if r.problems.is_empty() {
            let k = r
                .kind
                .map(|k| format!("{k:?}").to_lowercase())
                .unwrap_or_default();
            out.push_str(&format!(
                "{name}: OK ({k} policy, {} statement(s))\n",
                r.statements
            ));
        } else {
            ok = false;
            for p in &r.problems {
                out.push_str(&format!("{name}: {p}\n"));
            }
        }
    }
    (out, ok)
}
