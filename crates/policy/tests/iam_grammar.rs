//! The IAM fidelity table (`tests/iam_grammar/cases.json`): each document, written as a
//! managed, inline or trust policy, gets IAM's answer (accepted, or refused with IAM's exact
//! message), and every document IAM accepts also compiles in the engine, so the server never
//! refuses at evaluation time what IAM stored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code, not the request path"
)]

use rampart_policy::iam_grammar::{check, IamDocument};
use rampart_policy::{Partition, Policy, PolicyKind};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/iam_grammar/cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text(doc: &Value) -> String {
    match doc {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn iam_answers_every_case_of_the_table() {
    let cases = cases();
    assert!(cases.len() >= 100, "the table has {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let (doc, kind) = match c["as"].as_str().unwrap() {
            "managed" => (IamDocument::Managed, PolicyKind::Identity),
            "inline" => (IamDocument::Inline, PolicyKind::Identity),
            "trust" => (IamDocument::Trust, PolicyKind::Trust),
            other => panic!("{name}: unknown kind {other}"),
        };
        let body = text(&c["document"]);
        let want = c["answer"].as_str().unwrap();
        let partition = c["partition"]
            .as_str()
            .map_or(Partition::Aws, |p| Partition::from_name(p).unwrap());
        let got = match check(&body, doc, partition) {
            Ok(()) => "accept".to_string(),
            Err(m) => m,
        };
        if got != want {
            failures.push(format!("{name}: IAM answers {want:?}, Rampart {got:?}"));
        }
        if want == "accept" {
            if let Err(e) = Policy::parse(&body, kind) {
                failures.push(format!("{name}: IAM accepts, the engine refuses: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
