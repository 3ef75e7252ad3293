//! Custom policy rules (`Owner: CUSTOM_POLICY`): CloudFormation Guard policies, run by AWS's
//! own Guard engine (the `cfn-guard` crate) over the configuration item.
//!
//! The document a policy sees is the configuration item in AWS's schema, as AWS hands it to
//! Guard: `configuration` and each `supplementaryConfiguration` as objects (not JSON text),
//! `tags` as a map, `relationships`, the identity members, and the rule's `InputParameters`
//! (parsed) under `InputParameters`. Guard's result decides: `PASS` is `COMPLIANT`, `FAIL`
//! `NON_COMPLIANT` (the failing Guard rules named in the annotation), `SKIP` (no Guard rule
//! applied) `NOT_APPLICABLE`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ConfigError, ConfigResult};
use crate::inventory::item_json;
use crate::managed::Verdict;
use crate::model::{ItemDoc, ResourceDoc};

/// The one Guard runtime AWS offers for custom policy rules.
pub const RUNTIME: &str = "guard-2.x.x";

/// AWS's limit on `PolicyText`.
const MAX_POLICY: usize = 10_000;

/// The deepest nesting of brackets Guard text may have: Guard's parser recurses on each, and
/// text nested deeper (a few hundred levels in a debug build) would exhaust the stack rather
/// than fail to parse; 32 is far past what policies need.
const MAX_NESTING: usize = 32;

/// AWS's limit on an annotation.
const MAX_ANNOTATION: usize = 256;

/// A rule's Guard policy (`CustomPolicyDetails`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// `guard-2.x.x`.
    pub runtime: String,
    /// The Guard text.
    pub text: String,
    /// `EnableDebugLogDelivery`.
    pub debug: bool,
}

/// The `CustomPolicyDetails` member checked: the runtime AWS offers and Guard text that parses.
pub fn policy_of(details: Option<&Value>) -> ConfigResult<Policy> {
    let Some(details) = details.filter(|d| d.is_object()) else {
        return Err(ConfigError::invalid(
            "CustomPolicyDetails is required for rules with Owner CUSTOM_POLICY.",
        ));
    };
    let runtime = details
        .get("PolicyRuntime")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if runtime != RUNTIME {
        return Err(ConfigError::invalid(format!(
            "The policy runtime {runtime} is not valid. Valid policy runtimes: [{RUNTIME}]."
        )));
    }
    let text = details
        .get("PolicyText")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if text.trim().is_empty() || text.len() > MAX_POLICY {
        return Err(ConfigError::invalid(format!(
            "The policy text must have a length between 1 and {MAX_POLICY}."
        )));
    }
    if nesting(text) > MAX_NESTING {
        return Err(ConfigError::invalid(format!(
            "Policy text is not valid Guard: it nests deeper than {MAX_NESTING} levels."
        )));
    }
    parse_check(text)?;
    Ok(Policy {
        runtime: runtime.to_string(),
        text: text.to_string(),
        debug: details
            .get("EnableDebugLogDelivery")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The deepest nesting of `{`, `[` and `(` in the text.
fn nesting(text: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0;
    for c in text.chars() {
        match c {
            '{' | '[' | '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Runs Guard: its JSON summary, or its error's text. A panic inside the engine is an error.
fn run_guard(policy: &str, data: &str) -> Result<String, String> {
    let run = catch_unwind(AssertUnwindSafe(|| {
        cfn_guard::run_checks(
            cfn_guard::ValidateInput {
                content: data,
                file_name: "configurationItem",
            },
            cfn_guard::ValidateInput {
                content: policy,
                file_name: "policy",
            },
            false,
        )
    }));
    match run {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the Guard engine failed".into()),
    }
}

/// Refuses Guard text that does not parse (AWS checks it when the rule is put).
fn parse_check(text: &str) -> ConfigResult<()> {
    match catch_unwind(AssertUnwindSafe(|| {
        cfn_guard::run_checks(
            cfn_guard::ValidateInput {
                content: "{}",
                file_name: "configurationItem",
            },
            cfn_guard::ValidateInput {
                content: text,
                file_name: "policy",
            },
            false,
        )
    })) {
        Ok(Err(cfn_guard::Error::ParseError(e))) => Err(ConfigError::invalid(format!(
            "Policy text is not valid Guard: {e}"
        ))),
        Err(_) => Err(ConfigError::invalid("Policy text is not valid Guard.")),
        Ok(_) => Ok(()),
    }
}

/// The document a policy evaluates: the resource's current item in AWS's schema, with the
/// configurations as objects and the rule's parameters under `InputParameters`.
pub fn document(account: &str, r: &ResourceDoc, params: Option<&str>, now: DateTime<Utc>) -> Value {
    let item = ItemDoc {
        status: if r.version <= 1 {
            "ResourceDiscovered".into()
        } else {
            "OK".into()
        },
        captured: now,
        version: r.version,
        snapshot: r.snapshot.clone(),
    };
    let mut doc = item_json(account, &item, true);
    crate::common::set(&mut doc, "configuration", r.snapshot.configuration.clone());
    crate::common::set(
        &mut doc,
        "supplementaryConfiguration",
        json!(r.snapshot.supplementary),
    );
    crate::common::set(
        &mut doc,
        "configurationItemCaptureTime",
        json!(now.to_rfc3339()),
    );
    if let Some(created) = r.snapshot.created {
        crate::common::set(
            &mut doc,
            "resourceCreationTime",
            json!(created.to_rfc3339()),
        );
    }
    let params = params
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    crate::common::set(&mut doc, "InputParameters", params);
    doc
}

/// The verdict of Guard's summary (`status` `PASS`, `FAIL` or `SKIP`).
fn verdict_of(summary: &str) -> Verdict {
    let Ok(v) = serde_json::from_str::<Value>(summary) else {
        return Verdict::not_applicable();
    };
    match v.get("status").and_then(Value::as_str) {
        Some("PASS") => Verdict::ok(),
        Some("FAIL") => {
            let failed: Vec<&str> = v
                .get("not_compliant")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.get("Rule").and_then(|r| r.get("name")))
                        .filter_map(Value::as_str)
                        .collect()
                })
                .unwrap_or_default();
            let mut why = format!("Guard rules failed: {}", failed.join(", "));
            if why.len() > MAX_ANNOTATION {
                let cut = (0..=MAX_ANNOTATION)
                    .rev()
                    .find(|i| why.is_char_boundary(*i))
                    .unwrap_or(0);
                why.truncate(cut);
            }
            Verdict::fail(why)
        }
        _ => Verdict::not_applicable(),
    }
}

/// Evaluates a policy over a document.
pub fn evaluate(policy: &Policy, doc: &Value) -> Verdict {
    match run_guard(&policy.text, &doc.to_string()) {
        Ok(summary) if summary.is_empty() => Verdict::not_applicable(),
        Ok(summary) => verdict_of(&summary),
        Err(e) => {
            tracing::debug!(error = %e, "config: guard evaluation failed");
            let mut why = format!("Guard evaluation failed: {e}");
            let cut = (0..=MAX_ANNOTATION.min(why.len()))
                .rev()
                .find(|i| why.is_char_boundary(*i))
                .unwrap_or(0);
            why.truncate(cut);
            Verdict::fail(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        policy_of(Some(&json!({"PolicyRuntime": RUNTIME, "PolicyText": text}))).unwrap()
    }

    const VERSIONING: &str = r#"
rule versioning when resourceType == "AWS::S3::Bucket" {
    supplementaryConfiguration.BucketVersioningConfiguration.status == "Enabled"
}
"#;

    fn bucket(status: &str) -> Value {
        json!({
            "resourceType": "AWS::S3::Bucket",
            "configuration": {"name": "b"},
            "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": status}},
        })
    }

    #[test]
    fn guard_passes_fails_and_skips() {
        let p = policy(VERSIONING);
        assert_eq!(evaluate(&p, &bucket("Enabled")).compliance, "COMPLIANT");
        let v = evaluate(&p, &bucket("Off"));
        assert_eq!(v.compliance, "NON_COMPLIANT");
        assert_eq!(
            v.annotation.as_deref(),
            Some("Guard rules failed: versioning")
        );
        let key = json!({"resourceType": "AWS::KMS::Key", "configuration": {}});
        assert_eq!(evaluate(&p, &key).compliance, "NOT_APPLICABLE");
    }

    #[test]
    fn input_parameters_reach_the_policy() {
        let p = policy(r#"rule name_prefix { configuration.name == InputParameters.wanted }"#);
        let r = ResourceDoc {
            resource_type: "AWS::S3::Bucket".into(),
            resource_id: "b".into(),
            version: 1,
            snapshot: crate::model::Snapshot {
                resource_type: "AWS::S3::Bucket".into(),
                resource_id: "b".into(),
                configuration: json!({"name": "b"}),
                ..Default::default()
            },
            ..Default::default()
        };
        let now = Utc::now();
        let yes = document("1", &r, Some(r#"{"wanted":"b"}"#), now);
        let no = document("1", &r, Some(r#"{"wanted":"c"}"#), now);
        assert_eq!(evaluate(&p, &yes).compliance, "COMPLIANT");
        assert_eq!(evaluate(&p, &no).compliance, "NON_COMPLIANT");
    }

    #[test]
    fn bad_guard_and_runtimes_are_refused() {
        let bad = json!({"PolicyRuntime": RUNTIME, "PolicyText": "rule x { foo == "});
        assert!(matches!(
            policy_of(Some(&bad)),
            Err(ConfigError::InvalidParameterValueException(_))
        ));
        let runtime = json!({"PolicyRuntime": "guard-1.0", "PolicyText": VERSIONING});
        assert!(policy_of(Some(&runtime)).is_err());
        assert!(policy_of(None).is_err());
        let deep = format!("rule x {{ {}a{} }}", "[".repeat(5000), "]".repeat(5000));
        let deep = json!({"PolicyRuntime": RUNTIME, "PolicyText": deep});
        assert!(policy_of(Some(&deep)).is_err());
        // The deepest text allowed parses on a test thread's stack (2 MiB, as tokio's).
        let n = MAX_NESTING - 1;
        let edge = format!(
            "rule x {{ configuration.a == {}1{} }}",
            "[".repeat(n),
            "]".repeat(n)
        );
        let _ = policy_of(Some(&json!({"PolicyRuntime": RUNTIME, "PolicyText": edge})));
        let edge = format!(
            "rule x {{ {}configuration.a == 1{} }}",
            "(".repeat(n),
            ")".repeat(n)
        );
        let _ = policy_of(Some(&json!({"PolicyRuntime": RUNTIME, "PolicyText": edge})));
    }
}
