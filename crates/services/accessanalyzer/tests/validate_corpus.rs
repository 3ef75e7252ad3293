//! The `ValidatePolicy` corpus: every case of `tests/validate_corpus/*.json` is validated and
//! must give exactly the expected issue codes, each expected span must cover the expected
//! text, and every finding's location must be consistent: its line and column agree with its
//! offset, and its path leads to the value (or key) its span covers.
//!
//! A case: `{"name", "policyType", "resourceType"?, "policy": {...} | "text": "...",
//! "expect": [{"code", "type"?, "span"?}]}`. A `policy` is written out with
//! `serde_json::to_string_pretty`, so spans cross lines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test"
)]

use std::path::Path;

use rampart_accessanalyzer::validate::{target_of, validate, Finding};
use serde_json::Value;

struct Outcome {
    cases: usize,
    findings: usize,
    failures: Vec<String>,
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Outcome {
        cases: 0,
        findings: 0,
        failures: Vec::new(),
    };
    for f in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for case in doc["cases"].as_array().unwrap() {
            run_case(f, case, &mut out);
        }
    }
    assert!(out.cases >= 100, "only {} cases", out.cases);
    assert!(
        out.failures.is_empty(),
        "{} of {} cases failed:\n{}",
        out.failures.len(),
        out.cases,
        out.failures.join("\n")
    );
    println!("{} cases, {} findings checked", out.cases, out.findings);
}

fn run_case(file: &Path, case: &Value, out: &mut Outcome) {
    out.cases += 1;
    let name = format!(
        "{}: {}",
        file.file_name().unwrap().to_string_lossy(),
        case["name"].as_str().unwrap_or("?")
    );
    let text = match case.get("text") {
        Some(Value::String(t)) => t.clone(),
        _ => serde_json::to_string_pretty(&case["policy"]).unwrap(),
    };
    let rt = case["resourceType"].as_str();
    let target = target_of(case["policyType"].as_str().unwrap(), rt).unwrap();
    let findings = validate(&text, target, rt);
    out.findings += findings.len();
    let mut got: Vec<&str> = findings.iter().map(|f| f.code).collect();
    let expect = case["expect"].as_array().cloned().unwrap_or_default();
    let mut want: Vec<&str> = expect.iter().map(|e| e["code"].as_str().unwrap()).collect();
    got.sort_unstable();
    want.sort_unstable();
    if got != want {
        let detail: Vec<String> = findings.iter().map(Finding::to_line).collect();
        out.failures.push(format!(
            "{name}: codes {got:?}, expected {want:?}\n    {}",
            detail.join("\n    ")
        ));
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    for e in &expect {
        let code = e["code"].as_str().unwrap();
        if let Some(t) = e["type"].as_str() {
            if !findings
                .iter()
                .any(|f| f.code == code && f.kind.as_str() == t)
            {
                out.failures
                    .push(format!("{name}: {code} is not of type {t}"));
            }
        }
        if let Some(span) = e["span"].as_str() {
            let covered = findings.iter().filter(|f| f.code == code).any(|f| {
                f.locations
                    .iter()
                    .any(|l| slice(&chars, l.span.start.offset, l.span.end.offset) == span)
            });
            if !covered {
                let spans: Vec<String> = findings
                    .iter()
                    .filter(|f| f.code == code)
                    .flat_map(|f| {
                        f.locations
                            .iter()
                            .map(|l| slice(&chars, l.span.start.offset, l.span.end.offset))
                    })
                    .collect();
                out.failures.push(format!(
                    "{name}: no {code} span covers {span:?}; spans: {spans:?}"
                ));
            }
        }
    }
    for f in &findings {
        if let Err(why) = consistent(&text, &chars, f) {
            out.failures.push(format!("{name}: {}: {why}", f.code));
        }
    }
}

fn slice(chars: &[char], a: usize, b: usize) -> String {
    chars
        .get(a..b)
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// The finding's JSON has AWS's shape, positions agree with offsets, and paths lead to what
/// spans cover.
fn consistent(text: &str, chars: &[char], f: &Finding) -> Result<(), String> {
    let j = f.to_json();
    for k in [
        "findingDetails",
        "findingType",
        "issueCode",
        "learnMoreLink",
    ] {
        if !j[k].is_string() {
            return Err(format!("{k} missing"));
        }
    }
    let root: Option<Value> = serde_json::from_str(text).ok();
    for (l, lj) in f.locations.iter().zip(j["locations"].as_array().unwrap()) {
        for (p, pj) in [
            (l.span.start, &lj["span"]["start"]),
            (l.span.end, &lj["span"]["end"]),
        ] {
            let before = chars.get(..p.offset).ok_or("offset past the end")?;
            let line = 1 + before.iter().filter(|c| **c == '\n').count();
            let column = before.iter().rev().take_while(|c| **c != '\n').count();
            if (line, column) != (p.line, p.column)
                || pj["offset"] != p.offset
                || pj["line"] != p.line
            {
                return Err(format!("position {p:?} does not agree with its offset"));
            }
        }
        let Some(root) = &root else { continue };
        let covered = slice(chars, l.span.start.offset, l.span.end.offset);
        let mut node = Some(root);
        let steps = lj["path"].as_array().unwrap();
        for (i, s) in steps.iter().enumerate() {
            if let Some(k) = s["key"].as_str() {
                if i + 1 != steps.len() || covered != serde_json::to_string(k).unwrap() {
                    return Err(format!("key step {k} does not match span {covered:?}"));
                }
                node = None;
            } else if let Some(k) = s["value"].as_str() {
                node = node.and_then(|n| n.get(k));
            } else if let Some(i) = s["index"].as_u64() {
                node = node.and_then(|n| n.get(i as usize));
            } else {
                return Err(format!("bad path element {s}"));
            }
        }
        if let Some(n) = node {
            let parsed: Value = serde_json::from_str(&covered)
                .map_err(|e| format!("span {covered:?} is not the value: {e}"))?;
            if &parsed != n {
                return Err(format!("path leads to {n} but span covers {covered:?}"));
            }
        }
    }
    Ok(())
}
