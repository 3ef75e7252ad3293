//! The custom policy checks on `tests/checks_corpus/*.json`: each case is an operation's input
//! (policy documents written as JSON objects), the expected `result`, and the statement
//! indexes its reasons must name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code, not the request path"
)]

use rampart_accessanalyzer::checks;
use serde_json::Value;

/// The input with each policy document (a JSON object in the corpus) as the text AWS takes.
fn with_texts(input: &Value) -> Value {
    let mut out = input.clone();
    if let Some(o) = out.as_object_mut() {
        for (k, v) in o.iter_mut() {
            if k.ends_with("olicyDocument") && v.is_object() {
                *v = Value::String(v.to_string());
            }
        }
    }
    out
}

#[test]
fn every_case_gives_its_result_and_reasons() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/checks_corpus");
    let mut count = 0;
    let mut wrong = Vec::new();
    let mut new_access = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let input = with_texts(&case["input"]);
            if case["op"] == "CheckNoNewAccess" {
                new_access += 1;
            }
            let out = match case["op"].as_str().unwrap() {
                "CheckAccessNotGranted" => checks::access_not_granted(&input),
                "CheckNoNewAccess" => checks::no_new_access(&input),
                "CheckNoPublicAccess" => checks::no_public_access(&input),
                other => panic!("{name}: unknown op {other}"),
            }
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            if out["result"] != case["result"] {
                wrong.push(format!("{name}: {out}"));
                continue;
            }
            let named: Vec<Value> = out["reasons"]
                .as_array()
                .map(|r| r.iter().map(|r| r["statementIndex"].clone()).collect())
                .unwrap_or_default();
            let expected = case
                .get("statements")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            if Value::Array(named) != expected {
                wrong.push(format!("{name}: expected statements {expected}, got {out}"));
                continue;
            }
            count += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(count >= 20, "only {count} cases");
    // The corpus: at least 60 policy pairs with the answer known.
    assert!(new_access >= 60, "only {new_access} CheckNoNewAccess pairs");
}
