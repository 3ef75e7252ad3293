//! Whether a resource policy grants public ("broad") access: the test behind Secrets
//! Manager's `BlockPublicPolicy` and `ValidateResourcePolicy`, S3's `GetBucketPolicyStatus` and
//! Block Public Access (and, later, IAM Access Analyzer's public findings).
//!
//! The rule is the one AWS documents for S3 ("The meaning of public", the
//! `PublicAccessBlockConfiguration` reference) and applies through IAM Access Analyzer to
//! Secrets Manager: a policy is public when one of its `Allow` statements names every principal
//! (`"Principal": "*"`, `{"AWS": "*"}`, or a `NotPrincipal`) and no condition of that statement
//! limits the callers to fixed values of a key that identifies them or where they call from:
//! `aws:SourceIp` (a set of CIDRs, `/0` is no limit), `aws:SourceArn`, `aws:SourceVpc`,
//! `aws:SourceVpce`, `aws:SourceOwner`, `aws:SourceAccount`, `aws:SourceOrgID`,
//! `aws:SourceOrgPaths`, `aws:PrincipalAccount`, `aws:PrincipalArn`, `aws:PrincipalOrgID`,
//! `aws:PrincipalOrgPaths` and `aws:userid` (a fixed value, or one role's sessions
//! `AROAID:*`). "Fixed" means a positive operator (`StringEquals`, `StringEqualsIgnoreCase`,
//! `StringLike`, `ArnEquals`, `ArnLike`, `IpAddress`; no `Not` form, no `...IfExists`, no
//! `ForAllValues:`, which all let a caller without the key through) whose values contain no
//! wildcard and no policy variable; an ARN value may wildcard its resource part when its
//! account is a fixed 12-digit id, since it still names one account's principals or resources.
//! `Deny` statements never grant access, and a service principal is not public.
//!
//! Pure: it reads the parsed policy only.

use crate::{
    condition::{Base, Operator, SetOp},
    principal::PrincipalEntry,
    Effect, Policy, Statement,
};
use serde_json::Value;

/// The condition keys (lowercased) whose fixed values keep a wildcard principal from being
/// public.
const LIMITING_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:userid",
];

/// True when `policy` grants public access (see the module's rule).
pub fn is_public(policy: &Policy) -> bool {
    !public_statements(policy).is_empty()
}

/// The indexes of the statements that grant public access.
pub fn public_statements(policy: &Policy) -> Vec<usize> {
    policy
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| statement_is_public(s))
        .map(|(i, _)| i)
        .collect()
}

fn statement_is_public(s: &Statement) -> bool {
    if s.effect != Effect::Allow {
        return false;
    }
    let everyone = match &s.principal {
        None => false,
        Some(p) if p.negated => true,
        Some(p) => p.entries.contains(&PrincipalEntry::Any),
    };
    everyone && !limited_by_condition(s.condition_raw.as_ref())
}

/// True when one test of the Condition element limits callers to fixed values of a limiting
/// key (tests are ANDed, so one is enough).
fn limited_by_condition(raw: Option<&Value>) -> bool {
    let Some(ops) = raw.and_then(Value::as_object) else {
        return false;
    };
    ops.iter().any(|(op_name, tests)| {
        let Some(op) = Operator::parse(op_name) else {
            return false;
        };
        let positive = !op.negated && !op.if_exists && op.set != SetOp::ForAllValues;
        positive
            && tests.as_object().is_some_and(|tests| {
                tests
                    .iter()
                    .any(|(key, values)| limits(&op, &key.to_ascii_lowercase(), values))
            })
    })
}

/// True when one `key: values` test of operator `op` fixes a limiting key.
fn limits(op: &Operator, key: &str, values: &Value) -> bool {
    if !LIMITING_KEYS.contains(&key) {
        return false;
    }
    let texts: Vec<&str> = match values {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if texts.is_empty() {
        return false;
    }
    match op.base {
        Base::Ip => key == "aws:sourceip" && texts.iter().all(|t| is_bounded_cidr(t)),
        Base::StringEquals | Base::StringEqualsIgnoreCase | Base::StringLike | Base::Arn => {
            texts.iter().all(|t| is_fixed(key, t))
        }
        _ => false,
    }
}

/// A CIDR other than the whole address space (`0.0.0.0/0`, `::/0`).
fn is_bounded_cidr(text: &str) -> bool {
    match text.trim().split_once('/') {
        Some((_, bits)) => bits.trim().parse::<u8>().is_ok_and(|b| b > 0),
        None => true,
    }
}

fn has_wildcard(text: &str) -> bool {
    text.contains('*') || text.contains('?')
}

/// A value that names fixed callers for `key`.
fn is_fixed(key: &str, text: &str) -> bool {
    if text.is_empty() || text.contains("${") {
        return false;
    }
    if !has_wildcard(text) {
        return true;
    }
    match key {
        // One role's sessions: `AROAEXAMPLEID:*`.
        "aws:userid" => text
            .strip_suffix(":*")
            .is_some_and(|id| !id.is_empty() && !has_wildcard(id)),
        "aws:sourcearn" | "aws:principalarn" => arn_with_fixed_account(text),
        _ => false,
    }
}

/// An ARN pattern whose partition, service and account are literal (the account 12 digits).
fn arn_with_fixed_account(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, service, _region, account, _resource] => {
            !has_wildcard(partition)
                && !has_wildcard(service)
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyKind;
    use serde_json::json;

    fn public(statement: Value) -> bool {
        let doc = json!({"Version": "2012-10-17", "Statement": [statement]});
        is_public(&Policy::from_value(&doc, PolicyKind::Resource).unwrap())
    }

    fn star(condition: Value) -> Value {
        json!({"Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": condition})
    }

    #[test]
    fn a_wildcard_principal_without_condition_is_public() {
        assert!(public(json!({"Effect": "Allow", "Principal": "*",
            "Action": "secretsmanager:*", "Resource": "*"})));
        assert!(public(
            json!({"Effect": "Allow", "Principal": {"AWS": ["*"]},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
        ));
        assert!(public(json!({"Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "*"]},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"})));
    }

    #[test]
    fn not_principal_in_an_allow_is_public() {
        // The parser refuses NotPrincipal outside a Deny, as IAM does; a policy built otherwise
        // (an S3 bucket policy of old, say) is still judged.
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
        let mut policy = Policy::from_value(&doc, PolicyKind::Resource).unwrap();
        assert!(!is_public(&policy));
        policy.statements[0].effect = Effect::Allow;
        assert!(is_public(&policy));
    }

    #[test]
    fn named_accounts_roles_and_services_are_not_public() {
        assert!(!public(json!({"Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "444455556666",
                "arn:aws:iam::444455556666:role/app"]},
            "Action": "secretsmanager:*", "Resource": "*"})));
        assert!(!public(json!({"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"})));
    }

    #[test]
    fn a_deny_is_never_public() {
        assert!(!public(json!({"Effect": "Deny", "Principal": "*",
            "Action": "secretsmanager:*", "Resource": "*"})));
    }

    #[test]
    fn fixed_values_of_the_limiting_keys_make_a_wildcard_principal_private() {
        for (op, key, value) in [
            (
                "StringEquals",
                "aws:PrincipalAccount",
                json!("111122223333"),
            ),
            ("StringEquals", "aws:PrincipalOrgID", json!("o-abcdefghij")),
            (
                "StringEquals",
                "aws:SourceAccount",
                json!(["111122223333", "444455556666"]),
            ),
            (
                "ArnEquals",
                "aws:PrincipalArn",
                json!("arn:aws:iam::111122223333:role/app"),
            ),
            (
                "ArnLike",
                "aws:PrincipalArn",
                json!("arn:aws:iam::111122223333:role/*"),
            ),
            (
                "ArnLike",
                "aws:SourceArn",
                json!("arn:aws:lambda:eu-west-1:111122223333:function:*"),
            ),
            ("StringEquals", "aws:SourceVpc", json!("vpc-1a2b3c4d")),
            ("StringEquals", "aws:SourceVpce", json!("vpce-1a2b3c4d")),
            ("StringEquals", "aws:SourceOwner", json!("111122223333")),
            (
                "IpAddress",
                "aws:SourceIp",
                json!(["192.0.2.0/24", "203.0.113.7"]),
            ),
            ("StringLike", "aws:userid", json!("AROAEXAMPLEID:*")),
            (
                "StringEqualsIgnoreCase",
                "AWS:PRINCIPALORGID",
                json!("o-abcdefghij"),
            ),
            (
                "ForAnyValue:StringLike",
                "aws:PrincipalOrgPaths",
                json!("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"),
            ),
        ] {
            assert!(
                !public(star(json!({ op: { key: value } }))),
                "{op} {key} should limit the callers"
            );
        }
    }

    #[test]
    fn open_or_negated_conditions_leave_it_public() {
        for condition in [
            json!({"StringLike": {"aws:PrincipalAccount": "*"}}),
            json!({"StringLike": {"aws:PrincipalOrgID": "o-*"}}),
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}}),
            json!({"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}),
            json!({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1a2b3c4d"}}),
            json!({"ForAllValues:StringEquals": {"aws:PrincipalOrgPaths": "o-a/r-b/"}}),
            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
            json!({"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "::/0"]}}),
            json!({"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
            json!({"StringEquals": {"aws:PrincipalAccount": "${aws:username}"}}),
            json!({"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}),
            json!({"Bool": {"aws:SecureTransport": "true"}}),
            json!({"StringLike": {"aws:userid": "*:alice"}}),
            json!({"Null": {"aws:PrincipalOrgID": "false"}}),
        ] {
            assert!(
                public(star(condition.clone())),
                "{condition} should not limit"
            );
        }
    }

    #[test]
    fn one_limiting_test_among_others_is_enough() {
        assert!(!public(star(json!({
            "Bool": {"aws:SecureTransport": "true"},
            "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"},
        }))));
    }

    #[test]
    fn only_the_open_statements_are_reported() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "444455556666"},
             "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:DescribeSecret",
             "Resource": "*"},
        ]});
        let policy = Policy::from_value(&doc, PolicyKind::Resource).unwrap();
        assert_eq!(public_statements(&policy), vec![1]);
    }
}
