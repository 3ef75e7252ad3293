//! The simulate / corpus file format (SIMULATE_FORMAT.md): parse cases, evaluate, render, check.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::context::{Context, ContextValue};
use crate::document::{Policy, PolicyKind};
use crate::error::SimulateError;
use crate::evaluate::{evaluate, Decision, OrgLevel, Outcome, PolicySet};
use crate::index::PolicyLayer;
use crate::request::{Principal, PrincipalType, Request};

/// What a corpus case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The expected outcome.
    pub decision: Outcome,
    /// The expected deciding statements (`POLICY#SID` / `POLICY#N`), compared as a set.
    pub statements: Option<Vec<String>>,
    /// The expected implicit-deny layer (`identity`, `scp:TARGET`, ...).
    pub layer: Option<String>,
}

/// One case: a request and its policies.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case name.
    pub name: String,
    /// The request.
    pub request: Request,
    /// The policies.
    pub policies: PolicySet,
    /// The expectation (corpus files).
    pub expect: Option<Expect>,
}

/// The outcome of running one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// The decision.
    pub decision: Decision,
    /// The human explanation.
    pub explanation: String,
    /// Differences from `expect` (empty when it matched or there was none).
    pub mismatches: Vec<String>,
}

fn case_err(index: usize, name: &str, message: impl Into<String>) -> SimulateError {
    SimulateError::Case {
        index,
        name: name.to_string(),
        message: message.into(),
    }
}

/// Parses a simulate file's text into cases.
pub fn parse_cases(text: &str) -> Result<Vec<Case>, SimulateError> {
    let v: Value = serde_json::from_str(text).map_err(|e| SimulateError::Json {
        path: "<input>".into(),
        source: e,
    })?;
    let cases = v.get("cases").and_then(Value::as_array).ok_or_else(|| {
        SimulateError::Format("the file must be an object with a \"cases\" array".into())
    })?;
    cases
        .iter()
        .enumerate()
        .map(|(i, c)| parse_case(i, c))
        .collect()
}

fn parse_case(i: usize, c: &Value) -> Result<Case, SimulateError> {
    let name = c
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("case {i}"));
    let err = |m: String| case_err(i, &name, m);
    let req = c
        .get("request")
        .and_then(Value::as_object)
        .ok_or_else(|| err("missing \"request\" object".into()))?;
    let request = parse_request(req).map_err(err)?;
    let empty = Map::new();
    let pols = match c.get("policies") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(err("\"policies\" must be an object".into())),
    };
    let policies = parse_policies(pols).map_err(err)?;
    let expect = match c.get("expect") {
        None => None,
        Some(e) => Some(parse_expect(e).map_err(err)?),
    };
    Ok(Case {
        name,
        request,
        policies,
        expect,
    })
}

fn parse_request(r: &Map<String, Value>) -> Result<Request, String> {
    let principal = match r.get("principal") {
        Some(Value::String(s)) => Principal::from_arn(s),
        Some(Value::Object(o)) => {
            let arn = o
                .get("arn")
                .and_then(Value::as_str)
                .ok_or("principal.arn is required")?;
            let mut p = Principal::from_arn(arn);
            if let Some(t) = o.get("type").and_then(Value::as_str) {
                p.kind = PrincipalType::parse(t)
                    .ok_or_else(|| format!("unknown principal type \"{t}\""))?;
            }
            if let Some(a) = o.get("account").and_then(Value::as_str) {
                p.account = Some(a.to_string());
            }
            if let Some(ra) = o.get("roleArn").and_then(Value::as_str) {
                p.parent_arn = Some(ra.to_string());
            }
            p
        }
        _ => return Err("request.principal must be an ARN string or an object".into()),
    };
    let action = r
        .get("action")
        .and_then(Value::as_str)
        .ok_or("request.action is required")?;
    let resource = r.get("resource").and_then(Value::as_str).unwrap_or("*");
    let resource_account = r
        .get("resourceAccount")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut ctx = Context::new();
    if let Some(c) = r.get("context") {
        let obj = c.as_object().ok_or("request.context must be an object")?;
        for (k, v) in obj {
            let cv = match v {
                Value::Array(a) => ContextValue::multi(
                    a.iter()
                        .map(|x| {
                            scalar(x).ok_or_else(|| {
                                format!(
                                    "context key {k}: values must be strings, numbers or booleans"
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                x => ContextValue::single(scalar(x).ok_or_else(|| {
                    format!("context key {k}: value must be a string, number, boolean or array")
                })?),
            };
            ctx.insert(k, cv);
        }
    }
    principal.fill_context(&mut ctx);
    Ok(Request::new(
        principal,
        action,
        resource,
        resource_account,
        ctx,
    ))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses one `{ "id", "document" }` entry.
fn parse_policy(v: &Value, kind: PolicyKind, what: &str) -> Result<Arc<Policy>, String> {
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(what)
        .to_string();
    let doc = v
        .get("document")
        .ok_or_else(|| format!("{what} policy {id}: missing \"document\""))?;
    let parsed = match doc {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|e| format!("{what} policy {id}: invalid JSON: {e}"))?,
        other => other.clone(),
    };
    let kind = if kind == PolicyKind::Resource && !names_resources(&parsed) {
        PolicyKind::Trust
    } else {
        kind
    };
    Policy::from_value(&parsed, kind)
        .map(|p| Arc::new(p.with_name(id.clone())))
        .map_err(|e| format!("{what} policy {id} is invalid: {e}"))
}

/// True when some statement has Resource or NotResource (else a resource policy is a trust policy).
fn names_resources(doc: &Value) -> bool {
    let has = |s: &Value| s.get("Resource").is_some() || s.get("NotResource").is_some();
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.is_empty() || a.iter().any(has),
        Some(s) => has(s),
        None => true,
    }
}

fn policy_list(v: &Value, kind: PolicyKind, what: &str) -> Result<Vec<Arc<Policy>>, String> {
    match v {
        Value::Array(a) => a.iter().map(|p| parse_policy(p, kind, what)).collect(),
        Value::Object(_) => Ok(vec![parse_policy(v, kind, what)?]),
        Value::Null => Ok(Vec::new()),
        _ => Err(format!(
            "\"{what}\" must be a policy or an array of policies"
        )),
    }
}

fn org_levels(v: &Value, kind: PolicyKind, what: &str) -> Result<Vec<OrgLevel>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("\"{what}\" must be an array of levels"))?;
    arr.iter()
        .map(|lv| {
            let target = lv
                .get("target")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("each {what} level needs a \"target\""))?;
            let pols = policy_list(lv.get("policies").unwrap_or(&Value::Null), kind, what)?;
            Ok(OrgLevel {
                target: target.to_string(),
                layer: PolicyLayer::new(pols),
            })
        })
        .collect()
}

fn parse_policies(m: &Map<String, Value>) -> Result<PolicySet, String> {
    let mut set = PolicySet::default();
    for (k, v) in m {
        match k.as_str() {
            "identity" => {
                set.identity = PolicyLayer::new(policy_list(v, PolicyKind::Identity, "identity")?)
            }
            "resource" => {
                if !v.is_null() {
                    set.resource = Some(PolicyLayer::new(policy_list(
                        v,
                        PolicyKind::Resource,
                        "resource",
                    )?));
                }
            }
            "resourcePolicyRequired" => set.resource_policy_required = v.as_bool().unwrap_or(false),
            "boundary" => {
                if !v.is_null() {
                    set.boundary = Some(PolicyLayer::new(policy_list(
                        v,
                        PolicyKind::Boundary,
                        "boundary",
                    )?));
                }
            }
            "session" => {
                if !v.is_null() {
                    set.session = Some(PolicyLayer::new(policy_list(
                        v,
                        PolicyKind::Session,
                        "session",
                    )?));
                }
            }
            "scp" => set.scp = org_levels(v, PolicyKind::Scp, "scp")?,
            "rcp" => set.rcp = org_levels(v, PolicyKind::Rcp, "rcp")?,
            "managementAccount" => set.management_account = v.as_str().map(str::to_string),
            other => return Err(format!("unknown policies field \"{other}\"")),
        }
    }
    Ok(set)
}

fn parse_expect(e: &Value) -> Result<Expect, String> {
    let decision = match e.get("decision").and_then(Value::as_str) {
        Some("Allow") => Outcome::Allow,
        Some("ExplicitDeny") => Outcome::ExplicitDeny,
        Some("ImplicitDeny") => Outcome::ImplicitDeny,
        other => {
            return Err(format!(
                "expect.decision must be Allow, ExplicitDeny or ImplicitDeny, not {other:?}"
            ))
        }
    };
    let statements = match e.get("statements") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        Some(_) => return Err("expect.statements must be an array of strings".into()),
    };
    let layer = e.get("layer").and_then(Value::as_str).map(str::to_string);
    Ok(Expect {
        decision,
        statements,
        layer,
    })
}

/// Evaluates one case and checks its expectation.
pub fn run_case(case: &Case) -> CaseResult {
    let decision = evaluate(&case.request, &case.policies);
    let explanation = decision.explain(&case.request);
    let mut mismatches = Vec::new();
    if let Some(exp) = &case.expect {
        if exp.decision != decision.outcome {
            mismatches.push(format!(
                "expected {} but got {}",
                exp.decision, decision.outcome
            ));
        }
        if let Some(want) = &exp.statements {
            let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
            let got_s = decision.statement_refs();
            let mut got: Vec<&str> = got_s.iter().map(String::as_str).collect();
            want.sort_unstable();
            want.dedup();
            got.sort_unstable();
            got.dedup();
            if want != got {
                mismatches.push(format!("expected statements {want:?} but got {got:?}"));
            }
        }
        if let Some(want) = &exp.layer {
            let got = decision.layer.as_ref().map(ToString::to_string);
            if got.as_deref() != Some(want.as_str()) {
                mismatches.push(format!(
                    "expected layer {want} but got {}",
                    got.unwrap_or_else(|| "none".into())
                ));
            }
        }
    }
    CaseResult {
        name: case.name.clone(),
        decision,
        explanation,
        mismatches,
    }
}

/// Evaluates every case.
pub fn run_cases(cases: &[Case]) -> Vec<CaseResult> {
    cases.iter().map(run_case).collect()
}

/// Renders results as text: one block per case.
pub fn render_text(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for r in results {
        out.push_str(&format!(
            "== {}\n{}\n{}\n",
            r.name, r.decision.outcome, r.explanation
        ));
        if !r.decision.statements.is_empty() {
            out.push_str(&format!(
                "statements: {}\n",
                r.decision.statement_refs().join(", ")
            ));
        }
        if let Some(l) = &r.decision.layer {
            out.push_str(&format!("layer: {l}\n"));
        }
        for m in &r.mismatches {
            out.push_str(&format!("MISMATCH: {m}\n"));
        }
        out.push('\n');
    }
    out
}

/// Renders results as the JSON array documented in SIMULATE_FORMAT.md.
pub fn render_json(results: &[CaseResult]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                let mut v = json!({
                    "name": r.name,
                    "decision": r.decision.outcome.to_string(),
                    "statements": r.decision.statement_refs(),
                    "layer": r.decision.layer.as_ref().map(ToString::to_string),
                    "explanation": r.explanation,
                    "missingContextKeys": r.decision.missing_context_keys,
                });
                if !r.mismatches.is_empty() {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("mismatches".into(), json!(r.mismatches));
                    }
                }
                v
            })
            .collect(),
    )
}

/// Reads and runs a simulate file.
pub fn simulate_file(path: &Path) -> Result<Vec<CaseResult>, SimulateError> {
    let text = std::fs::read_to_string(path).map_err(|e| SimulateError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let cases = parse_cases(&text).map_err(|e| match e {
        SimulateError::Json { source, .. } => SimulateError::Json {
            path: path.display().to_string(),
            source,
        },
        other => other,
    })?;
    Ok(run_cases(&cases))
}

/// `rampart policy simulate FILE [--json]`: the output to print and whether to exit 0
/// (false when the file is invalid or a case's `expect` did not hold).
pub fn cli_simulate(path: &Path, json: bool) -> (String, bool) {
    match simulate_file(path) {
        Ok(results) => {
            let ok = results.iter().all(|r| r.mismatches.is_empty());
            let out = if json {
                serde_json::to_string_pretty(&render_json(&results)).unwrap_or_default() + "\n"
            } else {
                render_text(&results)
            };
            (out, ok)
        }
        Err(e) => (format!("error: {e}\n"), false),
    }
}
