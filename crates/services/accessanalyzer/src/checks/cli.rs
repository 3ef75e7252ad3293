//! `rampart policy check FILE ...`: the custom policy checks offline, with the API's answers.
//!
//! The check is chosen by the options: `--existing FILE` runs `CheckNoNewAccess` against that
//! reference policy, `--public-for TYPE` runs `CheckNoPublicAccess` for that resource type,
//! `--action`/`--resource` run `CheckAccessNotGranted`. The output is `RESULT: message` and one
//! line per reason; the run fails on `FAIL`, on an invalid input, or a file that cannot be read.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Which check to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `CheckNoNewAccess` against the existing policy in this file.
    NoNewAccess(PathBuf),
    /// `CheckAccessNotGranted` of these actions and resources.
    AccessNotGranted {
        /// Actions that must not be granted.
        actions: Vec<String>,
        /// Resources that must not be accessible.
        resources: Vec<String>,
    },
    /// `CheckNoPublicAccess` for this resource type.
    NoPublicAccess(String),
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read file: {e}", path.display()))
}

/// Runs `check` on the policy in `file` read as `policy_type` (`IDENTITY_POLICY` or
/// `RESOURCE_POLICY`): the output, and whether the check passed.
pub fn run(file: &Path, policy_type: &str, check: &Check) -> (String, bool) {
    let answer = read(file).and_then(|policy| {
        let result = match check {
            Check::NoNewAccess(existing) => super::no_new_access(&json!({
                "newPolicyDocument": policy,
                "existingPolicyDocument": read(existing)?,
                "policyType": policy_type,
            })),
            Check::AccessNotGranted { actions, resources } => {
                let mut access = serde_json::Map::new();
                if !actions.is_empty() {
                    access.insert("actions".into(), json!(actions));
                }
                if !resources.is_empty() {
                    access.insert("resources".into(), json!(resources));
                }
                super::access_not_granted(&json!({
                    "policyDocument": policy,
                    "access": [access],
                    "policyType": policy_type,
                }))
            }
            Check::NoPublicAccess(rt) => super::no_public_access(&json!({
                "policyDocument": policy,
                "resourceType": rt,
            })),
        };
        result.map_err(|e| format!("{}: {}: {}", file.display(), e.code, e.message))
    });
    match answer {
        Ok(v) => render(&v),
        Err(line) => (format!("{line}\n"), false),
    }
}

/// `RESULT: message`, then `  - description` per reason.
fn render(v: &Value) -> (String, bool) {
    let result = v.get("result").and_then(Value::as_str).unwrap_or("FAIL");
    let message = v.get("message").and_then(Value::as_str).unwrap_or_default();
    let mut out = format!("{result}: {message}\n");
    for r in v
        .get("reasons")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let d = r
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        out.push_str(&format!("  - {d}\n"));
    }
    (out, result == "PASS")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn runs_each_check_on_files() {
        let dir = std::env::temp_dir().join(format!("aa-checks-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, v: Value| {
            let p = dir.join(name);
            std::fs::write(&p, v.to_string()).unwrap();
            p
        };
        let narrow = write(
            "narrow.json",
            json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
        );
        let wide = write(
            "wide.json",
            json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        );
        let (out, ok) = run(
            &narrow,
            "IDENTITY_POLICY",
            &Check::NoNewAccess(wide.clone()),
        );
        assert!(ok, "{out}");
        assert!(out.starts_with("PASS: "));
        let (out, ok) = run(
            &wide,
            "IDENTITY_POLICY",
            &Check::NoNewAccess(narrow.clone()),
        );
        assert!(!ok);
        assert!(
            out.contains("  - New access in the statement with sid: All."),
            "{out}"
        );
        let deny = Check::AccessNotGranted {
            actions: vec!["s3:DeleteBucket".into()],
            resources: Vec::new(),
        };
        assert!(run(&narrow, "IDENTITY_POLICY", &deny).1);
        assert!(!run(&wide, "IDENTITY_POLICY", &deny).1);
        let public = Check::NoPublicAccess("AWS::S3::Bucket".into());
        let (out, ok) = run(&narrow, "RESOURCE_POLICY", &public);
        assert!(!ok);
        assert!(out.contains("ValidationException"), "{out}");
        let (out, ok) = run(&dir.join("missing.json"), "IDENTITY_POLICY", &public);
        assert!(!ok && out.contains("cannot read file"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
