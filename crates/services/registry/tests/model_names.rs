//! Checks the crate's source against the service models, so a misspelt name fails a test
//! rather than answering wrongly: every error code built from a literal outside a service enum
//! is in `LITERAL_CODES` (whose codes the unit tests check), and every member name a handler
//! reads from a request is a member of one of its service's input shapes.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code, not the request path"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;

use rampart_kit::error::LITERAL_CODES;
use rampart_model::{Service, ShapeId, ShapeKind};
use regex::Regex;

/// Every `.rs` file under the service crates' `src` folders: its path relative to
/// `crates/services` without the `src/` step (`kms/keys.rs`), and its text.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&services).unwrap() {
        let krate = entry.unwrap().path();
        let src = krate.join("src");
        if src.is_dir() {
            let name = krate.file_name().unwrap().to_string_lossy().to_string();
            let mut files = Vec::new();
            walk(&src, &src, &mut files);
            out.extend(files.into_iter().map(|(f, t)| (format!("{name}/{f}"), t)));
        }
    }
    out.sort();
    assert!(out.len() > 50, "the source walk found too little");
    out
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The model of the service whose crate holds `file` (`kms/keys.rs` is KMS's); the crate's
/// folder is the model's name with `_` for `-` (`acm_pca`), or a folder of [`SERVING`], or a
/// file of [`SERVING_FILES`].
/// `kit` and `registry` have none.
fn service_of(file: &str) -> Option<&'static Service> {
    if let Some((_, model)) = SERVING_FILES
        .iter()
        .find(|(f, _)| file.replace('\\', "/") == *f)
    {
        return rampart_model::service(model);
    }
    let folder = file.split(['/', '\\']).next()?;
    let model = SERVING
        .iter()
        .find(|(f, _)| *f == folder)
        .map_or_else(|| folder.replace('_', "-"), |(_, m)| (*m).to_string());
    rampart_model::service(&model)
}

/// Crates that serve a model other than their folder's name: `trails` holds CloudTrail's
/// table (the `cloudtrail` crate holds its record format, which S3 and KMS depend on).
const SERVING: &[(&str, &str)] = &[("trails", "cloudtrail")];

/// Files that serve another service's operations: Organizations serves IAM's organizations
/// access reports (the registry joins them into IAM's table).
const SERVING_FILES: &[(&str, &str)] = &[("organizations/access_report.rs", "iam")];

/// Every member name of every operation's input, through nested structures, lists and maps.
fn input_members(service: &Service) -> BTreeSet<&'static str> {
    let mut seen = vec![false; service.shapes.len()];
    let mut stack: Vec<ShapeId> = service.operations.iter().filter_map(|o| o.input).collect();
    let mut names = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[usize::from(id)], true) {
            continue;
        }
        match service.shape(id).kind {
            ShapeKind::Structure(members) => {
                for m in members {
                    names.insert(m.name);
                    stack.push(m.shape);
                }
            }
            ShapeKind::List(l) => stack.push(l.member),
            ShapeKind::Map(m) => stack.extend([m.key, m.value]),
            _ => {}
        }
    }
    names
}

/// The helpers that read a member of a JSON value by name: every `fn name(v: &Value, key: &str`
/// in the crate (`opt_str`, `req_str`, `blob`, `str_list`, ...).
fn member_helpers(sources: &[(String, String)]) -> Vec<String> {
    let def =
        Regex::new(r"fn\s+(\w+)\s*(?:<[^>]*>)?\(\s*\w+:\s*&(?:'\w+\s+)?Value,\s*\w+:\s*&str\b")
            .unwrap();
    let mut helpers: Vec<String> = sources
        .iter()
        .flat_map(|(_, text)| def.captures_iter(text).map(|c| c[1].to_string()))
        .collect();
    helpers.sort();
    helpers.dedup();
    for expected in ["opt_str", "req_str", "blob", "opt_bool", "str_list"] {
        assert!(
            helpers.iter().any(|h| h == expected),
            "helper {expected} not found"
        );
    }
    helpers
}

/// The code of a source file that the crate runs: its `#[cfg(test)] mod` cut off (tests read
/// outputs) and comment lines blanked (keeping line numbers).
fn code_of(text: &str) -> String {
    let text = text
        .split("\n#[cfg(test)]\nmod ")
        .next()
        .unwrap_or_default();
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The variables of `code` that hold a request or part of one: `input` (or `i`), and then, to
/// a fixpoint, every variable bound from an expression that starts from one: `let P = e`,
/// `if let P = e`, `for P in e`, a closure `|P|` in a chain on `e`, a match arm `Some(x) =>`
/// of `match e`. `code` is one function, so the same name elsewhere is another variable.
fn request_variables(code: &str) -> BTreeSet<String> {
    static IDENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[a-z_]\w*\b").unwrap());
    static BINDING: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\blet\s+([^=;]+?)\s*=\s*([^;{]*)").unwrap());
    static FOR_LOOP: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bfor\s+([^;{]+?)\s+in\s+([^;{]*)").unwrap());
    // (after `(`, `,`, `=` or `move`, so `a || b` is not one)
    static CLOSURE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?:[(,=]|\bmove)\s*\|([\w\s,():&']+)\|").unwrap());
    static ARM: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b[A-Z]\w*\(\s*(\w+)\s*\)\s*=>").unwrap());
    let ident = &*IDENT;
    let idents = |text: &str| -> Vec<String> {
        ident
            .find_iter(text)
            .map(|m| m.as_str().to_string())
            .filter(|n| n != "mut" && n != "ref")
            .collect()
    };
    // The variable an expression starts from (`input` in `&input["Tags"]`, `match input.get(..)`,
    // `let t = input...`), so that `f(input)`, which builds something else, is not one.
    let head = |source: &str| -> Option<String> {
        let source = match source.trim_start().strip_prefix("let ") {
            Some(rest) => rest.split_once(" = ").map_or(rest, |(_, value)| value),
            None => source,
        };
        idents(source)
            .into_iter()
            .find(|n| !["match", "if", "while", "return", "move", "else"].contains(&n.as_str()))
    };
    // (the names a binding introduces, the variable its value starts from)
    let mut sites: Vec<(Vec<String>, Option<String>)> = Vec::new();
    let mut add = |pattern: &str, source: &str| sites.push((idents(pattern), head(source)));
    for c in BINDING.captures_iter(code) {
        add(&c[1], c.get(2).unwrap().as_str());
    }
    for c in FOR_LOOP.captures_iter(code) {
        add(&c[1], c.get(2).unwrap().as_str());
    }
    // A closure's source: its chain since the statement or block began.
    for c in CLOSURE.captures_iter(code) {
        let at = c.get(0).unwrap().start();
        let from = code[..at].rfind([';', '{', '}']).map_or(0, |i| i + 1);
        add(&c[1], &code[from..at]);
    }
    // A match arm's source: the scrutinee of the nearest `match` before it.
    for c in ARM.captures_iter(code) {
        let at = c.get(0).unwrap().start();
        if let Some(m) = code[..at].rfind("match ") {
            let end = code[m..at].find('{').map_or(at, |i| m + i);
            add(&c[1], &code[m..end]);
        }
    }
    let mut vars: BTreeSet<String> = ["input", "i"].map(String::from).into();
    loop {
        let before = vars.len();
        for (names, source) in &sites {
            if source.as_ref().is_some_and(|n| vars.contains(n)) {
                vars.extend(names.iter().cloned());
            }
        }
        if vars.len() == before {
            return vars;
        }
    }
}

/// Every literal member name read from a request value: `(file, line, variable, name)`.
fn member_reads(sources: &[(String, String)]) -> Vec<(String, usize, String, String)> {
    let helpers = member_helpers(sources).join("|");
    let call = Regex::new(&format!(r#"\b(?:{helpers})\(\s*&?(\w+),\s*"(\w+)""#)).unwrap();
    let chain = Regex::new(r#"\b(\w+)((?:\["\w+"\]|\.get\("\w+"\))+)"#).unwrap();
    let name = Regex::new(r#""(\w+)""#).unwrap();
    let mut reads = Vec::new();
    let function = Regex::new(r"\bfn\s").unwrap();
    for (file, text) in sources {
        let code = code_of(text);
        // Variables are per function: from one `fn` to the next.
        let mut starts: Vec<usize> = function.find_iter(&code).map(|m| m.start()).collect();
        starts.insert(0, 0);
        starts.push(code.len());
        for span in starts.windows(2) {
            let (start, body) = (span[0], &code[span[0]..span[1]]);
            let vars = request_variables(body);
            let mut read = |at: usize, var: &str, member: &str| {
                if vars.contains(var) {
                    let line = line_of(&code, start + at);
                    reads.push((file.clone(), line, var.to_string(), member.to_string()));
                }
            };
            for c in call.captures_iter(body) {
                read(c.get(0).unwrap().start(), &c[1], &c[2]);
            }
            for c in chain.captures_iter(body) {
                for n in name.captures_iter(&c[2]) {
                    read(c.get(0).unwrap().start(), &c[1], &n[1]);
                }
            }
        }
    }
    reads
}

#[test]
fn every_member_read_from_an_input_is_in_the_model() {
    let sources = sources();
    let reads = member_reads(&sources);
    let members: Vec<(&str, BTreeSet<&str>)> = rampart_model::SERVICES
        .iter()
        .map(|s| (s.name, input_members(s)))
        .collect();
    let mut wrong = Vec::new();
    for (file, line, receiver, name) in &reads {
        let known = service_of(file).is_some_and(|s| {
            members
                .iter()
                .any(|(n, names)| *n == s.name && names.contains(name.as_str()))
        });
        if !known {
            wrong.push(format!("{file}:{line}: {receiver} {name}"));
        }
    }
    assert!(reads.len() > 300, "the scan found too few reads");
    assert!(
        wrong.is_empty(),
        "{} of {} member reads are not input members of the folder's service model:\n{}",
        wrong.len(),
        reads.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_literal_error_code_is_listed() {
    let literal =
        Regex::new(r#"ServiceError::sender\(\s*"(\w+)"|ServiceError\s*\{[^}]*?\bcode:\s*"(\w+)""#)
            .unwrap();
    let mut found = 0;
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        for c in literal.captures_iter(&text) {
            let code = c.iter().skip(1).flatten().next().unwrap().as_str();
            found += 1;
            if !LITERAL_CODES.contains(&code) {
                let line = line_of(&text, c.get(0).unwrap().start());
                wrong.push(format!("{file}:{line}: {code}"));
            }
        }
    }
    assert!(found >= 2, "the scan found too few literal codes");
    assert!(
        wrong.is_empty(),
        "codes built from literals but missing from LITERAL_CODES:\n{}",
        wrong.join("\n")
    );
}
