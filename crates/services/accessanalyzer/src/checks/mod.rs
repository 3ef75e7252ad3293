//! IAM Access Analyzer's custom policy checks: `CheckAccessNotGranted`, `CheckNoNewAccess`
//! and `CheckNoPublicAccess`, over the parsed policy (pure, no store access).
//!
//! AWS answers them with automated reasoning; Rampart answers soundly by reasoning over the
//! patterns of the statements: `PASS` only when it proves the property, `FAIL` whenever it
//! cannot ("the policy might allow"), with one reason per statement at fault.
//!
//! - [`patterns`]: intersection and containment of Action and Resource elements;
//!   [`statements`]: of Principal and Condition elements;
//! - [`not_granted`], [`new_access`], [`public`]: the three decisions; [`cli`]: `rampart
//!   policy check`, the same answers offline.

use rampart_kit::{context::CallContext, db::Db, input::opt_str};
use rampart_policy::{Policy, PolicyKind};
use serde_json::{json, Value};

use crate::error::{invalid, AaResult};

pub mod cli;
pub mod new_access;
pub mod not_granted;
pub mod patterns;
pub mod public;
pub mod statements;

/// AWS's limit on the actions, and on the resources, of an access.
pub const MAX_ACCESS_ITEMS: usize = 100;

/// The policy `text` of member `member`, read as `policyType` (a resource policy without a
/// Resource element is a role trust policy).
fn parse_policy(text: &str, policy_type: &str, member: &str) -> AaResult<Policy> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "Invalid {member}: the policy is not valid JSON ({e})"
        ))
    })?;
    let kind = match policy_type {
        "IDENTITY_POLICY" => PolicyKind::Identity,
        "RESOURCE_POLICY" => match rampart_policy::validate::infer_kind(&doc) {
            PolicyKind::Trust => PolicyKind::Trust,
            _ => PolicyKind::Resource,
        },
        other => return Err(invalid(format!("Invalid policyType: {other}"))),
    };
    Policy::from_value(&doc, kind).map_err(|e| invalid(format!("Invalid {member}: {e}")))
}

/// A required string member, or AWS's message for a missing one.
fn required<'a>(input: &'a Value, member: &str) -> AaResult<&'a str> {
    opt_str(input, member).ok_or_else(|| {
        invalid(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// The check's answer: `result`, `message`, and the reasons of a `FAIL`.
fn answer(pass: bool, message: &str, reasons: Vec<Value>) -> Value {
    let mut out = json!({"result": if pass { "PASS" } else { "FAIL" }, "message": message});
    if let (false, Some(o)) = (reasons.is_empty(), out.as_object_mut()) {
        o.insert("reasons".into(), Value::Array(reasons));
    }
    out
}

/// One `ReasonSummary`: `description` names the statement by Sid, else by index.
fn reason(policy: &Policy, index: usize, lead: &str) -> Value {
    let sid = policy
        .statements
        .get(index)
        .and_then(|s| s.sid.as_deref())
        .filter(|s| !s.is_empty());
    match sid {
        Some(sid) => json!({
            "description": format!("{lead} with sid: {sid}."),
            "statementIndex": index,
            "statementId": sid,
        }),
        None => json!({
            "description": format!("{lead} with index: {index}."),
            "statementIndex": index,
        }),
    }
}

/// The strings of list member `key` of `v`.
fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The one access of `CheckAccessNotGranted`, checked against AWS's limits.
fn access_of(input: &Value) -> AaResult<not_granted::Access> {
    let list = input.get("access").and_then(Value::as_array);
    let item = match list.map(Vec::as_slice) {
        Some([one]) => one,
        Some([]) | None => return Err(invalid("The access list must contain one access.")),
        Some(_) => return Err(invalid("The access list can contain at most 1 access.")),
    };
    let access = not_granted::Access {
        actions: strings(item, "actions"),
        resources: strings(item, "resources"),
    };
    if access.actions.is_empty() && access.resources.is_empty() {
        return Err(invalid(
            "An access must specify at least one action or resource.",
        ));
    }
    if access.actions.len() > MAX_ACCESS_ITEMS || access.resources.len() > MAX_ACCESS_ITEMS {
        return Err(invalid(format!(
            "An access can specify at most {MAX_ACCESS_ITEMS} actions and {MAX_ACCESS_ITEMS} resources."
        )));
    }
    for a in &access.actions {
        rampart_policy::action::ActionPattern::parse(a)
            .map_err(|e| invalid(format!("Invalid action in access: {e}")))?;
    }
    for r in &access.resources {
        if !resource_wildcards_ok(r) {
            return Err(invalid(format!(
                "Invalid resource in access: {r}. You can only use a wildcard in the portion of the ARN that specifies the resource ID."
            )));
        }
    }
    Ok(access)
}

/// `*`, or an ARN whose wildcards are all in its resource part (or a text without any).
fn resource_wildcards_ok(r: &str) -> bool {
    let wild = |s: &str| s.contains('*') || s.contains('?');
    if r == "*" || !wild(r) {
        return true;
    }
    let parts: Vec<&str> = r.splitn(6, ':').collect();
    parts.len() == 6 && parts.first() == Some(&"arn") && !parts.iter().take(5).any(|p| wild(p))
}

/// `CheckAccessNotGranted` (the operation).
pub async fn check_access_not_granted(
    input: &Value,
    _ctx: &CallContext,
    _db: Db<'_>,
) -> AaResult<Value> {
    access_not_granted(input)
}

/// `CheckNoNewAccess` (the operation).
pub async fn check_no_new_access(
    input: &Value,
    _ctx: &CallContext,
    _db: Db<'_>,
) -> AaResult<Value> {
    no_new_access(input)
}

/// `CheckNoPublicAccess` (the operation).
pub async fn check_no_public_access(
    input: &Value,
    _ctx: &CallContext,
    _db: Db<'_>,
) -> AaResult<Value> {
    no_public_access(input)
}

/// `CheckAccessNotGranted`'s answer to `input`: `FAIL` when an Allow statement may grant one
/// of the listed actions on one of the listed resources.
pub fn access_not_granted(input: &Value) -> AaResult<Value> {
    let policy_type = required(input, "policyType")?;
    let policy = parse_policy(
        required(input, "policyDocument")?,
        policy_type,
        "policyDocument",
    )?;
    let access = access_of(input)?;
    let found = not_granted::granting(&policy, &access);
    if found.is_empty() {
        return Ok(answer(
            true,
            "The policy document does not grant access to perform the listed actions or resources.",
            Vec::new(),
        ));
    }
    let reasons = found
        .iter()
        .map(|&i| {
            reason(
                &policy,
                i,
                "One or more of the listed actions or resources in the statement",
            )
        })
        .collect();
    Ok(answer(
        false,
        "The policy document grants access to perform one or more of the listed actions or resources.",
        reasons,
    ))
}

/// `CheckNoNewAccess`'s answer to `input`: `FAIL` when a statement of the new policy may
/// allow what the existing one does not.
pub fn no_new_access(input: &Value) -> AaResult<Value> {
    let policy_type = required(input, "policyType")?;
    let new = parse_policy(
        required(input, "newPolicyDocument")?,
        policy_type,
        "newPolicyDocument",
    )?;
    let existing = parse_policy(
        required(input, "existingPolicyDocument")?,
        policy_type,
        "existingPolicyDocument",
    )?;
    let found = new_access::new_access(&new, &existing);
    if found.is_empty() {
        return Ok(answer(
            true,
            "The modified permissions do not grant new access compared to your existing policy.",
            Vec::new(),
        ));
    }
    let mut reasons: Vec<Value> = found
        .statements
        .iter()
        .map(|&i| reason(&new, i, "New access in the statement"))
        .collect();
    if found.statements.is_empty() {
        // A dropped Deny met by no new statement: the reason names the existing statement.
        reasons.extend(found.dropped_denies.iter().map(|i| {
            json!({"description": format!(
                "New access because the Deny in the existing policy's statement with index: {i} is removed."
            )})
        }));
    }
    Ok(answer(
        false,
        "The modified permissions grant new access compared to your existing policy.",
        reasons,
    ))
}

/// `CheckNoPublicAccess`'s answer to `input`: `FAIL` when a statement may grant public
/// access to a resource of `resourceType`.
pub fn no_public_access(input: &Value) -> AaResult<Value> {
    let resource_type = required(input, "resourceType")?;
    let services = public::services(resource_type)
        .ok_or_else(|| invalid(format!("Invalid resourceType: {resource_type}")))?;
    let trust = resource_type == "AWS::IAM::AssumeRolePolicyDocument";
    let text = required(input, "policyDocument")?;
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "Invalid policyDocument: the policy is not valid JSON ({e})"
        ))
    })?;
    let kind = if trust {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource
    };
    let policy = Policy::from_value(&doc, kind)
        .map_err(|e| invalid(format!("Invalid policyDocument: {e}")))?;
    let found = public::public_statements(&policy, services, trust);
    if found.is_empty() {
        return Ok(answer(
            true,
            "The resource policy does not grant public access for the given resource type.",
            Vec::new(),
        ));
    }
    let reasons = found
        .iter()
        .map(|&i| {
            reason(
                &policy,
                i,
                "Public access granted in the following statement",
            )
        })
        .collect();
    Ok(answer(
        false,
        "The resource policy grants public access for the given resource type.",
        reasons,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn access_limits_and_wildcard_placement() {
        let ok = json!({"access": [{"actions": ["s3:GetObject"]}]});
        assert!(access_of(&ok).is_ok());
        for bad in [
            json!({"access": []}),
            json!({"access": [{}]}),
            json!({"access": [{"actions": [], "resources": []}]}),
            json!({"access": [{"actions": ["s3"]}]}),
            json!({"access": [{"resources": ["arn:aws:s3:*::b"]}]}),
            json!({"access": [{"actions": ["a:b"]}, {"actions": ["c:d"]}]}),
            json!({"access": [{"actions": vec!["s3:GetObject"; 101]}]}),
        ] {
            assert!(access_of(&bad).is_err(), "{bad}");
        }
        assert!(resource_wildcards_ok("arn:aws:s3:::b/*"));
        assert!(resource_wildcards_ok("*"));
        assert!(!resource_wildcards_ok("arn:aws:iam::*:role/x"));
    }

    #[test]
    fn reasons_name_the_sid_or_the_index() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let p = Policy::from_value(&doc, PolicyKind::Identity).unwrap();
        assert_eq!(
            reason(&p, 0, "New access in the statement"),
            json!({"description": "New access in the statement with sid: A.",
                "statementIndex": 0, "statementId": "A"})
        );
        assert_eq!(
            reason(&p, 1, "New access in the statement"),
            json!({"description": "New access in the statement with index: 1.",
                "statementIndex": 1})
        );
        assert!(parse_policy("{", "IDENTITY_POLICY", "policyDocument").is_err());
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}"#;
        assert!(parse_policy(trust, "RESOURCE_POLICY", "policyDocument").is_ok());
        assert!(parse_policy(trust, "IDENTITY_POLICY", "policyDocument").is_err());
    }
}
