//! `rampart policy validate|simulate` on the examples shipped in `examples/policy/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

use std::process::Command;

fn example(name: &str) -> String {
    format!(
        "{}/../../examples/policy/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn rampart(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .output()
        .expect("run rampart");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn validate_reports_every_problem_with_its_location() {
    let (ok, out) = rampart(&["policy", "validate", &example("developer.json")]);
    assert!(ok, "{out}");
    assert!(
        out.contains("OK (identity policy, 2 statement(s))"),
        "{out}"
    );

    let (ok, out) = rampart(&[
        "policy",
        "validate",
        "--kind",
        "identity",
        &example("developer.json"),
        &example("broken.json"),
    ]);
    assert!(!ok, "an invalid file must fail the command");
    assert!(out.contains(r#"Statement 0 (Sid "Typo"), Effect"#), "{out}");
    assert!(out.contains(r#"Statement 0 (Sid "Typo"), Action"#), "{out}");
    assert!(out.contains("Statement 1, Principal"), "{out}");
}

#[test]
fn simulate_explains_each_case_as_text_and_json() {
    let (ok, out) = rampart(&["policy", "simulate", &example("simulate.json")]);
    assert!(ok, "{out}");
    assert!(out.contains("allowed: identity-based policies allow it (Developer#OwnHomePrefix)"));
    assert!(out.contains("implicitly denied: no identity-based policy allows s3:GetObject"));

    let (ok, out) = rampart(&["policy", "simulate", "--json", &example("simulate.json")]);
    assert!(ok, "{out}");
    let results: serde_json::Value = serde_json::from_str(&out).expect("json");
    let decisions: Vec<&str> = results
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["decision"].as_str().expect("decision"))
        .collect();
    assert_eq!(decisions, ["Allow", "ImplicitDeny", "ExplicitDeny"]);
}

#[test]
fn simulate_fails_when_an_expectation_does_not_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(example("simulate.json"))
        .expect("read")
        .replacen(
            "\"decision\": \"Allow\"",
            "\"decision\": \"ExplicitDeny\"",
            1,
        );
    let path = dir.path().join("wrong.json");
    std::fs::write(&path, text).expect("write");
    let (ok, _) = rampart(&["policy", "simulate", path.to_str().expect("utf8")]);
    assert!(!ok);
}

#[test]
fn access_analyzer_findings_with_codes_and_positions() {
    let (ok, out) = rampart(&[
        "policy",
        "validate",
        "--access-analyzer",
        "--kind",
        "identity",
        &example("broken.json"),
    ]);
    assert!(!ok, "an ERROR fails the run: {out}");
    for expected in [
        "broken.json:4:30: ERROR INVALID_EFFECT:",
        "broken.json:4:48: ERROR INVALID_ACTION:",
        "broken.json:5:24: ERROR UNSUPPORTED_PRINCIPAL:",
        "broken.json:5:4: ERROR MISSING_RESOURCE:",
    ] {
        assert!(out.contains(expected), "{expected} in {out}");
    }
    assert_eq!(out.lines().count(), 4, "{out}");
    let (ok, out) = rampart(&[
        "policy",
        "validate",
        "--access-analyzer",
        &example("developer.json"),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("developer.json: OK (no findings)"), "{out}");
}
