//! Relations between whole statements' Principal and Condition elements, decided soundly
//! (a "yes" always holds): one condition block implies another when it holds every test of
//! the other, written the same way; one principal element covers another when it names
//! everyone (`*`) or every principal the other names, entry for entry.

use std::collections::BTreeSet;

use rampart_policy::{principal::PrincipalEntry, principal::PrincipalSpec, Statement};
use serde_json::Value;

/// One condition test: operator and key lowercased (IAM reads them without case), values as
/// written, sorted.
type Test = (String, String, Vec<String>);

/// The tests of a statement's Condition element.
fn tests(s: &Statement) -> BTreeSet<Test> {
    let mut out = BTreeSet::new();
    let Some(ops) = s.condition_raw.as_ref().and_then(Value::as_object) else {
        return out;
    };
    for (op, keys) in ops {
        for (key, values) in keys.as_object().into_iter().flatten() {
            let mut v: Vec<String> = match values {
                Value::Array(items) => items.iter().map(Value::to_string).collect(),
                other => vec![other.to_string()],
            };
            v.sort();
            v.dedup();
            out.insert((op.to_ascii_lowercase(), key.to_ascii_lowercase(), v));
        }
    }
    out
}

/// True when the statement has no condition test.
pub fn unconditional(s: &Statement) -> bool {
    tests(s).is_empty()
}

/// True when `strong`'s conditions hold only where `weak`'s do: every test of `weak` is one
/// of `strong`'s (the tests are ANDed). A test with a policy variable counts only when both
/// policies have the same version (`same_version`), which reads `${...}` the same way.
pub fn implies(strong: &Statement, weak: &Statement, same_version: bool) -> bool {
    let held = tests(strong);
    tests(weak).iter().all(|t| {
        let variable = t.2.iter().any(|v| v.contains("${"));
        (same_version || !variable) && held.contains(t)
    })
}

/// True when principal element `a` names every principal `b` names (absent elements, as in
/// identity policies, name the policy's holder).
pub fn principal_covers(a: Option<&PrincipalSpec>, b: Option<&PrincipalSpec>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), _) if !a.negated && a.entries.contains(&PrincipalEntry::Any) => true,
        (Some(a), Some(b)) if a.negated == b.negated => {
            if a.negated {
                // Everyone but a's entries covers everyone but b's when a excludes no more.
                a.entries.iter().all(|e| b.entries.contains(e))
            } else {
                b.entries.iter().all(|e| a.entries.contains(e))
            }
        }
        _ => false,
    }
}

/// The entries of a principal element one at a time (a `NotPrincipal` stays whole), so a
/// statement naming several principals may be covered by several statements.
pub fn principal_pieces(p: Option<&PrincipalSpec>) -> Vec<Option<PrincipalSpec>> {
    match p {
        Some(p) if !p.negated && p.entries.len() > 1 => p
            .entries
            .iter()
            .map(|e| {
                Some(PrincipalSpec {
                    negated: false,
                    entries: vec![e.clone()],
                    raw: Value::Null,
                })
            })
            .collect(),
        other => vec![other.cloned()],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use super::*;
    use rampart_policy::{Policy, PolicyKind};
    use serde_json::json;

    fn statements(st: Value) -> Vec<Statement> {
        let doc = json!({"Version": "2012-10-17", "Statement": st});
        Policy::from_value(&doc, PolicyKind::Resource)
            .unwrap()
            .statements
    }

    #[test]
    fn conditions_imply_by_held_tests() {
        let s = statements(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1", "aws:SourceVpc": "vpc-1"}}},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
             "Condition": {"stringequals": {"AWS:principalorgid": ["o-1"]}}},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
        ]));
        assert!(implies(&s[0], &s[1], true));
        assert!(!implies(&s[1], &s[0], true));
        assert!(implies(&s[1], &s[2], true));
        assert!(!implies(&s[2], &s[1], true));
        assert!(unconditional(&s[2]));
    }

    #[test]
    fn principals_cover_entry_for_entry() {
        let s = statements(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:role/r"]}, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/r"}, "Action": "s3:*", "Resource": "*"},
        ]));
        let p = |i: usize| s[i].principal.as_ref();
        assert!(principal_covers(p(0), p(1)));
        assert!(!principal_covers(p(1), p(0)));
        assert!(principal_covers(p(1), p(2)));
        // An account does not cover its roles: the grants differ.
        assert!(!principal_covers(p(2), p(3)));
        assert_eq!(principal_pieces(p(1)).len(), 2);
    }
}
