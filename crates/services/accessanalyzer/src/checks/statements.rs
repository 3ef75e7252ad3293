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
        (same_version || !variable) && held.iter().any(|h| test_implies(h, t))
    })
}

/// True when test `strong` holds only where test `weak` does: the same operator and key, and
/// values that ask no less. A positive operator holds when the key matches any of its values,
/// so fewer values (or, for `IpAddress`, ranges inside the other's) ask more; a negated one
/// (`StringNotEquals`, `NotIpAddress`, ...) holds when it matches none, so more values ask more.
fn test_implies(strong: &Test, weak: &Test) -> bool {
    if strong.0 != weak.0 || strong.1 != weak.1 {
        return false;
    }
    let op = strong.0.rsplit(':').next().unwrap_or_default();
    let negated = [
        "stringnot",
        "arnnot",
        "notipaddress",
        "numericnot",
        "datenot",
    ]
    .iter()
    .any(|p| op.starts_with(p));
    if negated {
        weak.2.iter().all(|w| strong.2.contains(w))
    } else if op.starts_with("ipaddress") {
        strong
            .2
            .iter()
            .all(|s| weak.2.iter().any(|w| s == w || cidr_within(s, w)))
    } else {
        strong.2.iter().all(|s| weak.2.contains(s))
    }
}

/// True when the address range `inner` (a JSON string: an address or `ADDRESS/BITS`) lies
/// within `outer`; false for anything unreadable.
fn cidr_within(inner: &str, outer: &str) -> bool {
    fn range(v: &str) -> Option<(std::net::IpAddr, u8)> {
        let text: String = serde_json::from_str(v).ok()?;
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let a: std::net::IpAddr = text.parse().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        Some((addr, bits))
    }
    fn prefix(addr: std::net::IpAddr, bits: u8) -> Option<u128> {
        let (value, width) = match addr {
            std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), 32u8),
            std::net::IpAddr::V6(a) => (u128::from(a), 128u8),
        };
        let drop = width.checked_sub(bits)?;
        Some(value.checked_shr(u32::from(drop)).unwrap_or(0))
    }
    let (Some((ia, ib)), Some((oa, ob))) = (range(inner), range(outer)) else {
        return false;
    };
    ia.is_ipv4() == oa.is_ipv4()
        && ib >= ob
        && prefix(ia, ob).is_some()
        && prefix(ia, ob) == prefix(oa, ob)
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

    fn test(op: &str, key: &str, values: &[&str]) -> Test {
        let mut v: Vec<String> = values.iter().map(|x| format!("{x:?}")).collect();
        v.sort();
        (op.into(), key.into(), v)
    }

    #[test]
    fn fewer_values_ask_more_of_positive_operators_and_less_of_negated_ones() {
        let one = test("stringequals", "aws:requestedregion", &["eu-west-1"]);
        let two = test(
            "stringequals",
            "aws:requestedregion",
            &["eu-west-1", "us-east-1"],
        );
        assert!(test_implies(&one, &two));
        assert!(!test_implies(&two, &one));
        let not_one = test("stringnotequals", "aws:requestedregion", &["eu-west-1"]);
        let not_two = test(
            "stringnotequals",
            "aws:requestedregion",
            &["eu-west-1", "us-east-1"],
        );
        assert!(test_implies(&not_two, &not_one));
        assert!(!test_implies(&not_one, &not_two));
        // Another operator or key is never taken for this one.
        assert!(!test_implies(
            &one,
            &test("stringlike", "aws:requestedregion", &["eu-west-1"])
        ));
    }

    #[test]
    fn address_ranges_inside_others_ask_more() {
        let narrow = test("ipaddress", "aws:sourceip", &["10.1.0.0/16"]);
        let wide = test("ipaddress", "aws:sourceip", &["10.0.0.0/8"]);
        assert!(test_implies(&narrow, &wide));
        assert!(!test_implies(&wide, &narrow));
        assert!(test_implies(
            &test("ipaddress", "aws:sourceip", &["10.2.3.4"]),
            &wide
        ));
        assert!(!test_implies(
            &test("ipaddress", "aws:sourceip", &["11.0.0.0/16"]),
            &wide
        ));
        assert!(cidr_within("\"2001:db8:1::/48\"", "\"2001:db8::/32\""));
        assert!(!cidr_within("\"10.0.0.0/8\"", "\"2001:db8::/32\""));
        assert!(!cidr_within("\"not an address\"", "\"10.0.0.0/8\""));
        assert!(cidr_within("\"10.0.0.0/8\"", "\"0.0.0.0/0\""));
    }
}
