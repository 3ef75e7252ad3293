//! Runs every `tests/corpus/*.json` file (SIMULATE_FORMAT.md) and checks each case's `expect`.

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

use std::path::PathBuf;

use rampart_policy::simulate::{parse_cases, run_case};

#[test]
fn corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut total = 0usize;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read corpus file");
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let cases = match parse_cases(&text) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        for c in &cases {
            total += 1;
            if c.expect.is_none() {
                failures.push(format!("{name}: case \"{}\" has no expect", c.name));
                continue;
            }
            let r = run_case(c);
            if !r.mismatches.is_empty() {
                failures.push(format!(
                    "{name}: case \"{}\": {} [{}]",
                    c.name,
                    r.mismatches.join("; "),
                    r.explanation
                ));
            }
        }
    }
    eprintln!(
        "corpus: {} files, {total} cases, {} failures",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
