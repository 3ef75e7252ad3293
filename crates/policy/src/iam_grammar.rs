//! IAM's own answer to a policy document: accepted, or refused with the one message IAM's
//! `MalformedPolicyDocument` carries (`Syntax errors in policy.`, `The policy failed legacy
//! parsing`, ...). IAM checks in a fixed order and reports only the first failing stage, so
//! this module follows that order; the engine's parser ([`crate::Policy::parse`]) keeps the
//! precise, located problems for `rampart policy validate`.
//!
//! The cases and their answers are in `tests/iam_grammar/cases.json`.

use serde_json::{Map, Value};

use crate::iam_dates::legacy_date_ok;
use crate::partition::Partition;

/// The IAM document being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamDocument {
    /// A customer managed policy (`CreatePolicy`, `CreatePolicyVersion`): needs `2012-10-17`.
    Managed,
    /// An inline policy (`Put{User,Group,Role}Policy`).
    Inline,
    /// A role trust policy (`CreateRole`, `UpdateAssumeRolePolicy`).
    Trust,
}

/// IAM's messages.
pub const SYNTAX: &str = "Syntax errors in policy.";
/// A managed policy without `"Version": "2012-10-17"`.
pub const VERSION: &str = "Policy document must be version 2012-10-17 or greater.";
/// The legacy parser's refusal (effect case, dates, short ARNs).
pub const LEGACY: &str = "The policy failed legacy parsing";
const SID_UNIQUE: &str = "Statement IDs (SID) in a single policy must be unique.";
const SID_ALNUM: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";
const NO_ACTIONS: &str = "Policy statement must contain actions.";
const NO_RESOURCES: &str = "Policy statement must contain resources.";
const NO_PRINCIPAL_ALLOWED: &str = "Policy document should not specify a principal.";
const TRUST_ACTIONS: &str = "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity";
const TRUST_RESOURCE: &str = "Has prohibited field Resource.";
const TRUST_PRINCIPAL: &str = "Missing required field Principal";
const VENDOR: &str = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
const ONE_COLON: &str = "Actions/Condition can contain only one colon.";

/// The members a policy document may have.
pub const TOP_KEYS: [&str; 3] = ["Version", "Id", "Statement"];
/// The members a statement may have.
pub const STMT_KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];
/// The condition operators, as IAM spells them (case matters), without `...IfExists` and
/// the `ForAllValues:`/`ForAnyValue:` qualifiers.
pub const OPERATORS: [&str; 27] = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];
/// The partitions IAM knows.
pub const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];
/// What an IAM resource's path may start with.
const IAM_PATHS: [&str; 13] = [
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];
/// S3 resource types that carry a Region.
const S3_REGIONAL: [&str; 6] = [
    "accesspoint/",
    "job/",
    "storage-lens/",
    "storage-lens-group/",
    "access-grants/",
    "async-request/",
];

/// IAM's answer for `text` written as `doc` in `partition` (a resource ARN names that
/// partition or `*`): `Err` holds the exact message.
pub fn check(text: &str, doc: IamDocument, partition: Partition) -> Result<(), String> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Err(SYNTAX.into());
    };
    let Some(stmts) = syntax(&v) else {
        return Err(SYNTAX.into());
    };
    if doc == IamDocument::Managed && v.get("Version").and_then(Value::as_str) != Some("2012-10-17")
    {
        return Err(VERSION.into());
    }
    let resource_error = legacy(&stmts, partition)?;
    sids(&stmts)?;
    if !stmts.iter().all(|s| names_some(s, "Action", "NotAction")) {
        return Err(NO_ACTIONS.into());
    }
    if let Some(e) = resource_error {
        return Err(e);
    }
    for s in &stmts {
        for a in list(s, "Action").chain(list(s, "NotAction")) {
            action_prefix(a)?;
        }
    }
    match doc {
        IamDocument::Managed | IamDocument::Inline => identity_rules(&stmts),
        IamDocument::Trust => trust_rules(&stmts),
    }
}

/// The syntax stage: the document's shape. `None` is `Syntax errors in policy.`
fn syntax(v: &Value) -> Option<Vec<&Map<String, Value>>> {
    let obj = v.as_object()?;
    if !obj.keys().all(|k| TOP_KEYS.contains(&k.as_str())) {
        return None;
    }
    match obj.get("Version") {
        None => {}
        Some(Value::String(s)) if s == "2012-10-17" || s == "2008-10-17" => {}
        Some(_) => return None,
    }
    if obj.get("Id").is_some_and(|i| !i.is_string()) {
        return None;
    }
    let stmts: Vec<&Value> = match obj.get("Statement")? {
        Value::Array(a) if !a.is_empty() => a.iter().collect(),
        o @ Value::Object(_) => vec![o],
        _ => return None,
    };
    stmts
        .into_iter()
        .map(|s| s.as_object().filter(|s| statement_syntax(s)))
        .collect()
}

fn statement_syntax(s: &Map<String, Value>) -> bool {
    let exclusive = |a: &str, b: &str| !(s.contains_key(a) && s.contains_key(b));
    s.keys().all(|k| STMT_KEYS.contains(&k.as_str()))
        && exclusive("Action", "NotAction")
        && exclusive("Resource", "NotResource")
        && exclusive("Principal", "NotPrincipal")
        && s.get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("allow") || e.eq_ignore_ascii_case("deny"))
        && ["Action", "NotAction", "Resource", "NotResource"]
            .iter()
            .all(|k| s.get(*k).is_none_or(string_or_list))
        && s.get("Sid").is_none_or(Value::is_string)
        && s.get("Condition").is_none_or(condition_syntax)
}

/// A string, or an array of strings (nulls are tolerated, as IAM does).
fn string_or_list(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Array(a) => a.iter().all(|x| x.is_string() || x.is_null()),
        _ => false,
    }
}

fn condition_syntax(v: &Value) -> bool {
    let Some(ops) = v.as_object() else {
        return false;
    };
    ops.iter().all(|(op, block)| {
        let Some(block) = block.as_object() else {
            return false;
        };
        let values_ok = block.values().all(|x| match x {
            Value::Array(a) => a.iter().all(is_scalar),
            other => is_scalar(other),
        });
        values_ok && (block.is_empty() || OPERATORS.contains(&strip_operator(op)))
    })
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Bool(_) | Value::Number(_))
}

/// An operator without its set prefix (`ForAnyValue:`, `ForAllValues:`) and `IfExists`.
fn strip_operator(op: &str) -> &str {
    let op = op
        .strip_prefix("ForAnyValue:")
        .or_else(|| op.strip_prefix("ForAllValues:"))
        .unwrap_or(op);
    op.strip_suffix("IfExists").unwrap_or(op)
}

/// The legacy parser: effects as written, dates, and ARNs with too few segments. Also
/// finds the first resource format error, which IAM reports later (after the SIDs and
/// actions), and which spares the remaining statements the legacy resource check.
fn legacy(stmts: &[&Map<String, Value>], partition: Partition) -> Result<Option<String>, String> {
    for s in stmts {
        let effect = s.get("Effect").and_then(Value::as_str);
        if !matches!(effect, Some("Allow" | "Deny")) {
            return Err(LEGACY.into());
        }
        if let Some(Value::Object(ops)) = s.get("Condition") {
            for (op, block) in ops {
                if strip_operator(op).starts_with("Date") && !dates_ok(block) {
                    return Err(LEGACY.into());
                }
            }
        }
    }
    let mut first: Option<String> = None;
    for key in ["Resource", "NotResource"] {
        for s in stmts {
            if !s.contains_key(key) {
                continue;
            }
            for r in list(s, key) {
                if first.is_none() {
                    first = resource_format(r, partition);
                }
            }
            if first.is_none() && !list(s, key).all(legacy_arn_ok) {
                return Err(LEGACY.into());
            }
        }
    }
    Ok(first)
}

fn dates_ok(block: &Value) -> bool {
    let Some(keys) = block.as_object() else {
        return true;
    };
    keys.values().all(|v| match v {
        Value::String(s) => legacy_date_ok(s),
        Value::Array(a) => a.iter().all(|x| x.as_str().is_none_or(legacy_date_ok)),
        _ => true,
    })
}

/// The legacy parser's view of an ARN: enough segments and a service.
fn legacy_arn_ok(r: &str) -> bool {
    if r == "*" {
        return true;
    }
    let colons = r.matches(':').count();
    (colons >= 5 || !r.contains("::")) && r.split(':').nth(2).is_some_and(|s| !s.is_empty())
}

/// A resource's format error, in IAM's words. Only the partition IAM serves is valid: IAM in
/// GovCloud refuses `arn:aws:...` with the same message as an unknown partition.
fn resource_format(r: &str, own: Partition) -> Option<String> {
    if r == "*" {
        return None;
    }
    let Some((_, rest)) = r.split_once(':') else {
        return Some(format!("Resource {r} must be in ARN format or \"*\"."));
    };
    let (partition, rest) = match rest.split_once(':') {
        Some((p, rest)) => (p, Some(rest)),
        None => (rest, None),
    };
    if partition != "*" && partition != own.name() {
        return Some(partition_error(partition, rest.unwrap_or("")));
    }
    let Some(rest) = rest else {
        return Some("Resource vendor must be fully qualified and cannot contain regexes.".into());
    };
    let (service, after) = rest.split_once(':').unwrap_or((rest, ""));
    let (region, after) = after.split_once(':').unwrap_or((after, ""));
    let resource = after.split_once(':').map_or("", |(_, id)| id);
    if !region.is_empty() {
        if service == "iam" {
            return Some(format!(
                "IAM resource {r} cannot contain region information."
            ));
        }
        if service == "s3" && !S3_REGIONAL.iter().any(|p| resource.starts_with(p)) {
            return Some(format!("Resource {r} can not contain region information."));
        }
    }
    // `root` is the root user (`sts:AssumeRoot`'s resource, `arn:aws:iam::ACCOUNT:root`).
    if service == "iam"
        && resource != "*"
        && resource != "root"
        && !IAM_PATHS.iter().any(|p| resource.starts_with(p))
    {
        return Some(format!(
            "IAM resource path must either be \"*\" or start with {}.",
            IAM_PATHS.join(", ")
        ));
    }
    None
}

/// `Partition "p" is not valid for resource "arn:p:a:b:c:d".`, missing segments as `*`.
fn partition_error(partition: &str, rest: &str) -> String {
    let parts: Vec<&str> = rest.split(':').collect();
    let seg = |i: usize| -> String {
        match parts.get(i) {
            Some(s) if i > 0 || !s.is_empty() || parts.len() > 1 => (*s).to_string(),
            _ => "*".to_string(),
        }
    };
    let last = if parts.len() > 3 {
        parts.get(3..).map(|p| p.join(":")).unwrap_or_default()
    } else {
        "*".to_string()
    };
    format!(
        "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{}:{}:{}:{last}\".",
        seg(0),
        seg(1),
        seg(2)
    )
}

fn sids(stmts: &[&Map<String, Value>]) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for s in stmts {
        if let Some(sid) = s.get("Sid").and_then(Value::as_str) {
            if !sid.is_empty() {
                if seen.contains(&sid) {
                    return Err(SID_UNIQUE.into());
                }
                seen.push(sid);
            }
        }
    }
    let alnum = |s: &&Map<String, Value>| {
        s.get("Sid")
            .and_then(Value::as_str)
            .is_none_or(|sid| sid.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    if stmts.iter().all(alnum) {
        Ok(())
    } else {
        Err(SID_ALNUM.into())
    }
}

/// True when the statement has `a` or `b`, and a list there is not empty.
fn names_some(s: &Map<String, Value>, a: &str, b: &str) -> bool {
    match s.get(a).or_else(|| s.get(b)) {
        None => false,
        Some(Value::Array(l)) => !l.is_empty(),
        Some(_) => true,
    }
}

/// The strings of a string-or-list element (absent: none).
fn list<'a>(s: &'a Map<String, Value>, key: &str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
    match s.get(key) {
        Some(Value::String(x)) => Box::new(std::iter::once(x.as_str())),
        Some(Value::Array(a)) => Box::new(a.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

fn action_prefix(a: &str) -> Result<(), String> {
    if a == "*" {
        return Ok(());
    }
    let mut parts = a.split(':');
    let vendor = parts.next().unwrap_or_default();
    match parts.count() {
        0 => return Err(VENDOR.into()),
        1 => {}
        _ => return Err(ONE_COLON.into()),
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if vendor != "*" && !vendor.chars().all(valid) {
        return Err(format!("Vendor {vendor} is not valid"));
    }
    Ok(())
}

fn identity_rules(stmts: &[&Map<String, Value>]) -> Result<(), String> {
    if stmts
        .iter()
        .any(|s| s.contains_key("Principal") || s.contains_key("NotPrincipal"))
    {
        return Err(NO_PRINCIPAL_ALLOWED.into());
    }
    if stmts
        .iter()
        .all(|s| names_some(s, "Resource", "NotResource"))
    {
        Ok(())
    } else {
        Err(NO_RESOURCES.into())
    }
}

fn trust_rules(stmts: &[&Map<String, Value>]) -> Result<(), String> {
    let sts = |a: &str| {
        a.split_once(':')
            .is_some_and(|(v, _)| v.eq_ignore_ascii_case("sts"))
    };
    if !stmts
        .iter()
        .all(|s| list(s, "Action").chain(list(s, "NotAction")).all(sts))
    {
        return Err(TRUST_ACTIONS.into());
    }
    if stmts
        .iter()
        .any(|s| s.contains_key("Resource") || s.contains_key("NotResource"))
    {
        return Err(TRUST_RESOURCE.into());
    }
    if stmts
        .iter()
        .all(|s| s.contains_key("Principal") || s.contains_key("NotPrincipal"))
    {
        Ok(())
    } else {
        Err(TRUST_PRINCIPAL.into())
    }
}
