//! IAM's policy simulator: `SimulatePrincipalPolicy`, `SimulateCustomPolicy`,
//! `GetContextKeysForPrincipalPolicy` and `GetContextKeysForCustomPolicy`, on the same policy
//! engine that authorizes real calls.

use super::{common::Res, Op};
use std::{collections::HashMap, sync::Arc};

use rampart_policy::{
    evaluate, Context, ContextValue, Decision, Outcome, Policy, PolicyKind, PolicyLayer, PolicySet,
    Principal as PolicyPrincipal, Request,
};
use rampart_store::Store;
use serde_json::{json, Value};

use crate::{
    common::{opt_str, page, req_str, str_list, IamError},
    sim_principal::{self, statement_spans, Pos, SourcedPolicy},
};
use rampart_kit::json_field::SetField;
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// Separates a policy's type and id in the names given to compiled policies.
const SEP: char = '\u{1f}';

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = &ctx.principal.account_id;
    let action = format!("iam:{operation}");
    Ok(match op {
        Op::SimulateCustomPolicy | Op::GetContextKeysForCustomPolicy => {
            Some(AuthzRequest::on_any(&action, account))
        }
        Op::SimulatePrincipalPolicy | Op::GetContextKeysForPrincipalPolicy => {
            opt_str(input, "PolicySourceArn")
                .map(|arn| AuthzRequest::on(&action, arn.to_string(), account))
        }
        _ => None,
    })
}

/// The condition keys a policy uses, in order of first use (case-insensitively distinct).
pub fn condition_keys(policy: &Policy) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for st in &policy.statements {
        for c in &st.conditions {
            if !out.iter().any(|k| k.eq_ignore_ascii_case(&c.key)) {
                out.push(c.key.clone());
            }
        }
    }
    out
}

fn parse(p: &SourcedPolicy, kind: PolicyKind) -> Result<Policy, ServiceError> {
    Policy::parse(&p.document, kind).map_err(|e| {
        IamError::InvalidInput(format!(
            "The policy {} is not valid: {e}",
            if p.kind == "none" {
                p.id.as_str()
            } else {
                "input"
            }
        ))
        .into()
    })
}

fn context_keys(policies: &[SourcedPolicy]) -> Result<Value, ServiceError> {
    let mut keys: Vec<String> = Vec::new();
    for p in policies {
        for k in condition_keys(&parse(p, PolicyKind::Identity)?) {
            if !keys.iter().any(|o| o.eq_ignore_ascii_case(&k)) {
                keys.push(k);
            }
        }
    }
    Ok(json!({ "ContextKeyNames": keys }))
}

/// Compiled policies of one layer and the statement positions of each, by compiled name.
struct Compiled {
    layer: PolicyLayer,
    spans: HashMap<String, Vec<(Pos, Pos)>>,
}

fn compile(policies: &[SourcedPolicy], kind: PolicyKind) -> Result<Compiled, ServiceError> {
    let mut list = Vec::new();
    let mut spans = HashMap::new();
    for p in policies {
        let name = format!("{}{SEP}{}", p.kind, p.id);
        spans.insert(name.clone(), statement_spans(&p.document));
        list.push(Arc::new(parse(p, kind)?.with_name(name)));
    }
    Ok(Compiled {
        layer: PolicyLayer::new(list),
        spans,
    })
}

fn decision_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "allowed",
        Outcome::ExplicitDeny => "explicitDeny",
        Outcome::ImplicitDeny => "implicitDeny",
    }
}

fn matched(d: &Decision, spans: &HashMap<String, Vec<(Pos, Pos)>>) -> Value {
    Value::Array(
        d.statements
            .iter()
            .map(|s| {
                let name = &s.policy.name;
                let (kind, id) = name.split_once(SEP).unwrap_or(("none", name.as_str()));
                let mut v = json!({ "SourcePolicyId": id, "SourcePolicyType": kind });
                if let Some(((sl, sc), (el, ec))) =
                    spans.get(name).and_then(|sp| sp.get(s.index)).copied()
                {
                    v.set_field("StartPosition", json!({"Line": sl, "Column": sc}));
                    v.set_field("EndPosition", json!({"Line": el, "Column": ec}));
                }
                v
            })
            .collect(),
    )
}

/// The simulation context: the request's `ContextEntries` and the principal's own keys.
fn sim_context(input: &Value, principal: &PolicyPrincipal) -> Context {
    let mut ctx = Context::new();
    principal.fill_context(&mut ctx);
    if let Some(entries) = input.get("ContextEntries").and_then(Value::as_array) {
        for e in entries {
            let Some(key) = opt_str(e, "ContextKeyName") else {
                continue;
            };
            let values = str_list(e, "ContextKeyValues");
            let list = opt_str(e, "ContextKeyType").is_some_and(|t| t.ends_with("List"));
            let value = if list || values.len() != 1 {
                ContextValue::multi(values)
            } else {
                ContextValue::single(values.into_iter().next().unwrap_or_default())
            };
            ctx.insert(key, value);
        }
    }
    ctx
}

/// The account of a resource ARN, else the `ResourceOwner`'s, else the caller's.
fn resource_account(arn: &str, input: &Value, ctx: &CallContext) -> String {
    let from = |a: &str| {
        a.split(':')
            .nth(4)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    from(arn)
        .or_else(|| opt_str(input, "ResourceOwner").and_then(from))
        .unwrap_or_else(|| ctx.principal.account_id.clone())
}

fn simulate(
    input: &Value,
    ctx: &CallContext,
    identity: Vec<SourcedPolicy>,
    boundary: Vec<SourcedPolicy>,
    source_caller: Option<String>,
) -> Result<Value, ServiceError> {
    let identity = compile(&identity, PolicyKind::Identity)?;
    let boundary = (!boundary.is_empty())
        .then(|| compile(&boundary, PolicyKind::Boundary))
        .transpose()?;
    let resource = opt_str(input, "ResourcePolicy")
        .map(|doc| {
            compile(
                &[SourcedPolicy {
                    id: "ResourcePolicy".into(),
                    kind: "resource",
                    document: doc.to_string(),
                }],
                PolicyKind::Resource,
            )
        })
        .transpose()?;
    let mut spans = identity.spans.clone();
    if let Some(b) = &boundary {
        spans.extend(b.spans.clone());
    }
    if let Some(r) = &resource {
        spans.extend(r.spans.clone());
    }
    let set = PolicySet {
        identity: identity.layer.clone(),
        boundary: boundary.as_ref().map(|b| b.layer.clone()),
        resource: resource.as_ref().map(|r| r.layer.clone()),
        ..PolicySet::default()
    };
    let caller = opt_str(input, "CallerArn")
        .map(str::to_string)
        .or(source_caller)
        .unwrap_or_else(|| {
            ctx.partition()
                .iam_arn(&ctx.principal.account_id, "user/SimulatedUser")
        });
    let principal = PolicyPrincipal::from_arn(&caller);
    let context = sim_context(input, &principal);
    let given_resources = str_list(input, "ResourceArns");
    let resources = if given_resources.is_empty() {
        vec!["*".to_string()]
    } else {
        given_resources.clone()
    };
    let mut results = Vec::new();
    for action in str_list(input, "ActionNames") {
        for res in &resources {
            let req = Request::new(
                principal.clone(),
                &action,
                res,
                Some(resource_account(res, input, ctx)),
                context.clone(),
            );
            let d = evaluate(&req, &set);
            let mut r = json!({
                "EvalActionName": action,
                "EvalResourceName": res,
                "EvalDecision": decision_name(d.outcome),
                "MatchedStatements": matched(&d, &spans),
                "MissingContextValues": d.missing_context_keys,
            });
            if let Some(b) = &boundary {
                let only = PolicySet {
                    identity: b.layer.clone(),
                    ..PolicySet::default()
                };
                r.set_field(
                    "PermissionsBoundaryDecisionDetail",
                    json!({ "AllowedByPermissionsBoundary": evaluate(&req, &only).is_allowed() }),
                );
            }
            if let Some(rp) = &resource {
                let iam_only = PolicySet {
                    identity: identity.layer.clone(),
                    boundary: boundary.as_ref().map(|b| b.layer.clone()),
                    ..PolicySet::default()
                };
                let res_only = PolicySet {
                    resource: Some(rp.layer.clone()),
                    ..PolicySet::default()
                };
                r.set_field(
                    "EvalDecisionDetails",
                    json!({
                        "IAM Policy": decision_name(evaluate(&req, &iam_only).outcome),
                        "Resource Policy": decision_name(evaluate(&req, &res_only).outcome),
                    }),
                );
            }
            if !given_resources.is_empty() {
                r.set_field(
                    "ResourceSpecificResults",
                    json!([{
                        "EvalResourceName": res,
                        "EvalResourceDecision": decision_name(d.outcome),
                        "MatchedStatements": matched(&d, &spans),
                        "MissingContextValues": d.missing_context_keys,
                    }]),
                );
            }
            results.push(r);
        }
    }
    // Pagination over results by position.
    let req = page::page_req(input)?;
    let indexed: Vec<(usize, Value)> = results.into_iter().enumerate().collect();
    let (items, truncated, last) =
        page::slice(indexed, |(i, _)| rampart_kit::page::index_key(*i), &req);
    let mut out = serde_json::Map::new();
    let items: Vec<Value> = items.into_iter().map(|(_, r)| r).collect();
    out.insert("EvaluationResults".into(), Value::Array(items));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

/// The policies of a `PolicyInputList`-style member, named as AWS names them in results.
fn custom(input: &Value, list: &str) -> Vec<SourcedPolicy> {
    str_list(input, list)
        .into_iter()
        .enumerate()
        .map(|(i, document)| SourcedPolicy {
            id: format!("{list}.{}", i + 1),
            kind: "none",
            document,
        })
        .collect()
}

/// `SimulateCustomPolicy`.
pub fn simulate_custom(input: &Value, ctx: &CallContext) -> Res<Value> {
    let identity = custom(input, "PolicyInputList");
    let boundary = custom(input, "PermissionsBoundaryPolicyInputList");
    simulate(input, ctx, identity, boundary, None)
}

/// `SimulatePrincipalPolicy`.
pub async fn simulate_principal(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let source = req_str(input, "PolicySourceArn")?;
    let stored = sim_principal::load(db, source).await?;
    let mut identity = stored.identity;
    identity.extend(custom(input, "PolicyInputList"));
    let mut boundary = custom(input, "PermissionsBoundaryPolicyInputList");
    if boundary.is_empty() {
        boundary.extend(stored.boundary);
    }
    let caller =
        (source.contains(":user/") || source.contains(":role/")).then(|| source.to_string());
    simulate(input, ctx, identity, boundary, caller)
}

/// `GetContextKeysForCustomPolicy`.
pub fn context_keys_custom(input: &Value) -> Res<Value> {
    context_keys(&custom(input, "PolicyInputList"))
}

/// `GetContextKeysForPrincipalPolicy`.
pub async fn context_keys_principal(input: &Value, db: &mut Db<'_>) -> Res<Value> {
    let source = req_str(input, "PolicySourceArn")?;
    let stored = sim_principal::load(db, source).await?;
    let mut all = stored.identity;
    all.extend(stored.boundary);
    all.extend(custom(input, "PolicyInputList"));
    context_keys(&all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CallContext {
        CallContext {
            now: chrono::Utc::now(),
            ..rampart_kit::test_support::root_context()
        }
    }

    fn custom(policies: &[&str]) -> Vec<SourcedPolicy> {
        policies
            .iter()
            .enumerate()
            .map(|(i, d)| SourcedPolicy {
                id: format!("PolicyInputList.{}", i + 1),
                kind: "none",
                document: d.to_string(),
            })
            .collect()
    }

    const ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    const DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#;

    #[test]
    fn three_decisions_with_matched_statements() {
        let input = json!({"ActionNames": ["s3:GetObject", "s3:DeleteBucket", "iam:GetUser"],
            "ContextEntries": [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"], "ContextKeyType": "string"}]});
        let out = simulate(&input, &ctx(), custom(&[ALLOW, DENY]), vec![], None).unwrap();
        let r = out["EvaluationResults"].as_array().unwrap();
        assert_eq!(r[0]["EvalDecision"], "allowed");
        assert_eq!(
            r[0]["MatchedStatements"][0]["SourcePolicyId"],
            "PolicyInputList.1"
        );
        assert_eq!(r[0]["MatchedStatements"][0]["StartPosition"]["Column"], 38);
        assert_eq!(r[1]["EvalDecision"], "explicitDeny");
        assert_eq!(
            r[1]["MatchedStatements"][0]["SourcePolicyId"],
            "PolicyInputList.2"
        );
        assert_eq!(r[2]["EvalDecision"], "implicitDeny");
        assert_eq!(r[2]["MatchedStatements"], json!([]));
    }

    #[test]
    fn missing_context_values_are_reported() {
        let input = json!({"ActionNames": ["s3:DeleteBucket"]});
        let out = simulate(&input, &ctx(), custom(&[ALLOW, DENY]), vec![], None).unwrap();
        let r = &out["EvaluationResults"][0];
        assert_eq!(r["EvalDecision"], "allowed");
        assert_eq!(r["MissingContextValues"], json!(["aws:RequestedRegion"]));
    }

    #[test]
    fn boundary_caps_and_is_reported() {
        let b = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#;
        let input = json!({"ActionNames": ["s3:GetObject", "s3:PutObject"]});
        let out = simulate(&input, &ctx(), custom(&[ALLOW]), custom(&[b]), None).unwrap();
        let r = out["EvaluationResults"].as_array().unwrap();
        assert_eq!(r[0]["EvalDecision"], "allowed");
        assert_eq!(r[1]["EvalDecision"], "implicitDeny");
        assert_eq!(
            r[1]["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"],
            false
        );
    }

    #[test]
    fn results_paginate() {
        let input = json!({"ActionNames": ["s3:A", "s3:B", "s3:C"], "MaxItems": 2});
        let out = simulate(&input, &ctx(), custom(&[ALLOW]), vec![], None).unwrap();
        assert_eq!(out["IsTruncated"], true);
        let marker = out["Marker"].as_str().unwrap();
        assert_eq!(
            rampart_kit::page::decode(marker).unwrap(),
            rampart_kit::page::index_key(1)
        );
        let next =
            json!({"ActionNames": ["s3:A", "s3:B", "s3:C"], "MaxItems": 2, "Marker": marker});
        let out = simulate(&next, &ctx(), custom(&[ALLOW]), vec![], None).unwrap();
        assert_eq!(out["EvaluationResults"].as_array().unwrap().len(), 1);
        assert_eq!(out["IsTruncated"], false);
    }

    #[test]
    fn context_keys_are_collected() {
        let out = context_keys(&custom(&[ALLOW, DENY])).unwrap();
        assert_eq!(out["ContextKeyNames"], json!(["aws:RequestedRegion"]));
        assert_eq!(
            context_keys(&custom(&["nope"])).unwrap_err().code,
            "InvalidInput"
        );
    }
}
