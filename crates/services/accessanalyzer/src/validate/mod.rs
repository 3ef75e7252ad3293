//! `ValidatePolicy`: IAM Access Analyzer's policy checks over a policy document, with AWS's
//! finding types and issue codes, and locations (path and span) into the text the caller
//! sent.
//!
//! - [`json`]: a JSON parser that records spans; [`checker`]: the findings under way;
//! - [`grammar`]: the document's elements per policy type; [`elements`]: actions and ARNs;
//!   [`principals`]: principals; [`conditions`]: operators, keys and values ([`ip`]: IP
//!   ranges); [`variables`]: policy variables; [`keys`]: the global condition keys;
//!   [`catalog`]: the actions of the services Rampart knows fully;
//! - [`advice`]: redundant actions, resources and statements, `iam:PassRole` on every role.
//!
//! The same checks back `rampart policy validate --access-analyzer` ([`cli`]).

use std::path::PathBuf;

use rampart_kit::{context::CallContext, db::Db, input::opt_str, page};
use serde_json::{json, Value};

use crate::error::{invalid, AaResult};

pub mod advice;
pub mod catalog;
pub mod checker;
pub mod conditions;
pub mod elements;
pub mod finding;
pub mod grammar;
pub mod ip;
pub mod json;
pub mod keys;
pub mod principals;
pub mod variables;

pub use checker::Target;
pub use finding::{Finding, FindingType};

/// The policy type of `policyType` and `validatePolicyResourceType` (`None` when unknown).
pub fn target_of(policy_type: &str, resource_type: Option<&str>) -> Option<Target> {
    Some(match policy_type {
        "IDENTITY_POLICY" => Target::Identity,
        "RESOURCE_POLICY" if resource_type == Some("AWS::IAM::AssumeRolePolicyDocument") => {
            Target::Trust
        }
        "RESOURCE_POLICY" => Target::Resource,
        "SERVICE_CONTROL_POLICY" => Target::Scp,
        "RESOURCE_CONTROL_POLICY" => Target::Rcp,
        _ => return None,
    })
}

/// Every finding of `text` validated as `target`, in document order.
pub fn validate(text: &str, target: Target, resource_type: Option<&str>) -> Vec<Finding> {
    let mut c = checker::Checker {
        target,
        resource_type,
        vars_ok: true,
        findings: Vec::new(),
    };
    match json::parse(text) {
        Ok(root) => grammar::check_document(&mut c, &root, text),
        Err(e) => {
            let mut end = e.pos;
            if e.pos.offset < text.chars().count() {
                end.offset += 1;
                end.column += 1;
            }
            c.error(
                "JSON_SYNTAX_ERROR",
                format!(
                    "Fix the JSON syntax error at index {} line {} column {}: {}.",
                    e.pos.offset, e.pos.line, e.pos.column, e.message
                ),
                Vec::new(),
                json::Span { start: e.pos, end },
            );
        }
    }
    let mut out = c.findings;
    out.sort_by_key(|f| {
        f.locations
            .first()
            .map(|l| l.span.start.offset)
            .unwrap_or(0)
    });
    out
}

/// `ValidatePolicy`: the findings of `policyDocument`, `maxResults` at a time (default 100).
pub async fn validate_policy(input: &Value, _ctx: &CallContext, _db: Db<'_>) -> AaResult<Value> {
    let text = opt_str(input, "policyDocument").unwrap_or_default();
    let policy_type = opt_str(input, "policyType").unwrap_or_default();
    let resource_type = opt_str(input, "validatePolicyResourceType");
    if resource_type.is_some() && policy_type != "RESOURCE_POLICY" {
        return Err(invalid(
            "validatePolicyResourceType is supported only with the RESOURCE_POLICY policy type",
        ));
    }
    let target = target_of(policy_type, resource_type)
        .ok_or_else(|| invalid(format!("Invalid policyType: {policy_type}")))?;
    let findings: Vec<Value> = validate(text, target, resource_type)
        .iter()
        .map(Finding::to_json)
        .collect();
    let max = crate::analyzers::max_results(input);
    let page = page::at_offset(findings, opt_str(input, "nextToken"), max)
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({ "findings": page.items });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}

/// `rampart policy validate --access-analyzer FILE...`: one line per finding, prefixed with
/// the file, and false when any finding is an `ERROR` or `SECURITY_WARNING` (or a file cannot
/// be read). `target` is inferred per file when `None`.
pub fn cli(paths: &[PathBuf], target: Option<(Target, Option<&str>)>) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    for path in paths {
        let name = path.display();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                ok = false;
                out.push_str(&format!("{name}: cannot read file: {e}\n"));
                continue;
            }
        };
        let (t, rt) = target.unwrap_or_else(|| (infer(&text), None));
        let findings = validate(&text, t, rt);
        if findings.is_empty() {
            out.push_str(&format!("{name}: OK (no findings)\n"));
        }
        for f in &findings {
            ok &= !f.kind.blocking();
            out.push_str(&format!("{name}:{}\n", f.to_line()));
        }
    }
    (out, ok)
}

/// The policy type a document reads as: the engine's inference (a trust policy is a resource
/// policy of type `AWS::IAM::AssumeRolePolicyDocument`).
fn infer(text: &str) -> Target {
    use rampart_policy::PolicyKind;
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Target::Identity;
    };
    match rampart_policy::validate::infer_kind(&v) {
        PolicyKind::Trust => Target::Trust,
        PolicyKind::Resource => Target::Resource,
        _ => Target::Identity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_documents_are_bounded_work() {
        let actions: Vec<String> = (0..5000).map(|i| format!("s3:Get{i}")).collect();
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]});
        let started = std::time::Instant::now();
        assert!(validate(&doc.to_string(), Target::Identity, None).is_empty());
        assert!(started.elapsed().as_secs() < 10);
        let f = validate("{\"Version\": 1}", Target::Scp, None);
        let codes: Vec<&str> = f.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["MISSING_STATEMENT", "DATA_TYPE_MISMATCH"]);
    }
}
