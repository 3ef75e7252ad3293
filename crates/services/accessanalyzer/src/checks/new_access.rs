//! `CheckNoNewAccess`'s decision: the `Allow` statements of the new policy that may allow a
//! request the existing policy does not.
//!
//! A new Allow statement is cut into pieces (one action pattern, one resource pattern, one
//! principal; a NotAction, NotResource or NotPrincipal stays whole). It adds no access when
//! every piece is covered by one existing Allow statement: its actions, resources and
//! principals contain the piece's, and its conditions are among the new statement's. Then
//! any request the new statement allows, the existing policy's Allows allow too.
//!
//! Every Deny of the existing policy must be kept: covered by a new Deny (one whose actions,
//! resources and principals contain the old one's and whose conditions are among the old
//! one's). A Deny refuses what other policies grant too (the caller's identity policies, the
//! account's root), so dropping one is new access even when no new Allow meets it. The new
//! policy's other Denies are not read (they only take access away).

use rampart_policy::{Effect, Policy, Statement};

use super::patterns::{self, covers, may_meet, Kind, Set, BUDGET};
use super::statements::{implies, principal_covers, principal_pieces};

/// The element kinds, for policies of the same version or not.
struct Kinds {
    resource: Kind,
}

impl Kinds {
    fn of(new: &Policy, existing: &Policy) -> Kinds {
        Kinds {
            resource: Kind::Resource {
                access: false,
                same_version: new.version == existing.version,
            },
        }
    }

    fn same_version(&self) -> bool {
        matches!(
            self.resource,
            Kind::Resource {
                same_version: true,
                ..
            }
        )
    }
}

/// What may be new access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAccess {
    /// The new policy's `Allow` statements that may allow more, or meet a dropped Deny.
    pub statements: Vec<usize>,
    /// The existing policy's `Deny` statements the new policy does not keep.
    pub dropped_denies: Vec<usize>,
}

impl NewAccess {
    /// True when nothing may be new.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.dropped_denies.is_empty()
    }
}

/// The work weight of a statement's Action, Resource and Principal elements.
fn weight(s: &Statement) -> usize {
    patterns::weight(&s.action.raw)
        .saturating_add(s.resource.as_ref().map_or(2, |r| patterns::weight(&r.raw)))
        .saturating_add(s.principal.as_ref().map_or(1, |p| p.entries.len()))
}

/// The number of pieces a statement is cut into.
fn piece_count(s: &Statement) -> usize {
    let action = if s.action.negated {
        1
    } else {
        s.action.raw.len()
    };
    let resource = s
        .resource
        .as_ref()
        .map_or(1, |r| if r.negated { 1 } else { r.raw.len() });
    let principal = s.principal.as_ref().map_or(1, |p| p.entries.len().max(1));
    action.saturating_mul(resource).saturating_mul(principal)
}

/// What the new policy may grant that the existing one does not. Past [`BUDGET`] pattern
/// comparisons a question is left unproven: the statement is new access, the Deny dropped.
pub fn new_access(new: &Policy, existing: &Policy) -> NewAccess {
    let k = Kinds::of(new, existing);
    let weight_of = |p: &Policy| -> usize {
        p.statements
            .iter()
            .map(weight)
            .fold(0, usize::saturating_add)
    };
    let (w_new, w_old) = (weight_of(new), weight_of(existing));
    let affordable = w_new.saturating_mul(w_old) <= BUDGET;
    let dropped_denies: Vec<usize> = existing
        .statements
        .iter()
        .enumerate()
        .filter(|(_, d)| d.effect == Effect::Deny && (!affordable || !kept(d, new, &k)))
        .map(|(i, _)| i)
        .collect();
    let dropped: Vec<&Statement> = dropped_denies
        .iter()
        .filter_map(|&i| existing.statements.get(i))
        .collect();
    let mut spent = 0usize;
    let mut statements = Vec::new();
    for (i, s) in new.statements.iter().enumerate() {
        if s.effect != Effect::Allow {
            continue;
        }
        let cost = piece_count(s)
            .saturating_mul(weight(s))
            .saturating_mul(w_old);
        spent = spent.saturating_add(cost);
        let proven = affordable
            && spent <= BUDGET
            && covered(s, existing, &k)
            && !dropped.iter().any(|d| meets(s, d, &k));
        if !proven {
            statements.push(i);
        }
    }
    NewAccess {
        statements,
        dropped_denies,
    }
}

/// The pieces of a set: its patterns one at a time, or the whole negated set.
fn pieces<'a>(set: &Set<'a>) -> Vec<Set<'a>> {
    if set.negated {
        vec![set.clone()]
    } else {
        set.items.iter().map(|i| Set::one(i)).collect()
    }
}

/// True when every piece of Allow `s` is covered by one Allow of `existing`.
fn covered(s: &Statement, existing: &Policy, k: &Kinds) -> bool {
    let actions = Set::of_action(&s.action);
    let resources = Set::of_resource(s.resource.as_ref());
    let principals = principal_pieces(s.principal.as_ref());
    pieces(&actions).iter().all(|a| {
        pieces(&resources).iter().all(|r| {
            principals.iter().all(|p| {
                existing.statements.iter().any(|e| {
                    e.effect == Effect::Allow
                        && covers(Kind::Action, &Set::of_action(&e.action), a)
                        && covers(k.resource, &Set::of_resource(e.resource.as_ref()), r)
                        && principal_covers(e.principal.as_ref(), p.as_ref())
                        && implies(s, e, k.same_version())
                })
            })
        })
    })
}

/// True when existing Deny `d` is covered by a Deny of the new policy.
fn kept(d: &Statement, new: &Policy, k: &Kinds) -> bool {
    new.statements.iter().any(|n| {
        n.effect == Effect::Deny
            && covers(
                Kind::Action,
                &Set::of_action(&n.action),
                &Set::of_action(&d.action),
            )
            && covers(
                k.resource,
                &Set::of_resource(n.resource.as_ref()),
                &Set::of_resource(d.resource.as_ref()),
            )
            && principal_covers(n.principal.as_ref(), d.principal.as_ref())
            && implies(d, n, k.same_version())
    })
}

/// True when some request may match both statements (principals and conditions are taken
/// to meet).
fn meets(s: &Statement, d: &Statement, k: &Kinds) -> bool {
    may_meet(
        Kind::Action,
        &Set::of_action(&s.action),
        &Set::of_action(&d.action),
    ) && may_meet(
        k.resource,
        &Set::of_resource(s.resource.as_ref()),
        &Set::of_resource(d.resource.as_ref()),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use rampart_policy::PolicyKind;
    use serde_json::{json, Value};

    /// The new statements at fault; a dropped Deny alone shows as `usize::MAX`.
    fn check(kind: PolicyKind, new: Value, existing: Value) -> Vec<usize> {
        let doc = |st: Value| json!({"Version": "2012-10-17", "Statement": st});
        let new = Policy::from_value(&doc(new), kind).unwrap();
        let existing = Policy::from_value(&doc(existing), kind).unwrap();
        let found = new_access(&new, &existing);
        if found.statements.is_empty() && !found.dropped_denies.is_empty() {
            return vec![usize::MAX];
        }
        found.statements
    }

    fn identity(new: Value, existing: Value) -> Vec<usize> {
        check(PolicyKind::Identity, new, existing)
    }

    const B: &str = "arn:aws:s3:::DOC-EXAMPLE-BUCKET";

    #[test]
    fn the_documented_example_adds_get_object_acl() {
        let existing = json!([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [B, format!("{B}/*")]}]);
        let new = json!([{"Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectAcl", "s3:ListBucket"],
            "Resource": [B, format!("{B}/*")]}]);
        assert_eq!(identity(new, existing.clone()), vec![0]);
        let narrower = json!([{"Effect": "Allow", "Action": "s3:getobject",
            "Resource": format!("{B}/reports/*")}]);
        assert!(identity(narrower, existing).is_empty());
    }

    #[test]
    fn pieces_may_be_covered_by_several_statements() {
        let existing = json!([
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::a/*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
        ]);
        let new = json!([{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::a/x", "arn:aws:s3:::b/*"]}]);
        assert!(identity(new, existing.clone()).is_empty());
        let wider = json!([
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a/x"},
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::*"},
        ]);
        assert_eq!(identity(wider, existing), vec![1]);
    }

    #[test]
    fn wildcards_not_action_and_not_resource() {
        let all_but_iam = json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]);
        assert!(identity(
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
            all_but_iam.clone()
        )
        .is_empty());
        assert_eq!(
            identity(
                json!([{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]),
                all_but_iam.clone()
            ),
            vec![0]
        );
        // NotAction against NotAction: excluding less is wider.
        assert!(identity(
            json!([{"Effect": "Allow", "NotAction": ["iam:*", "kms:*"], "Resource": "*"}]),
            all_but_iam.clone()
        )
        .is_empty());
        assert_eq!(
            identity(
                json!([{"Effect": "Allow", "NotAction": "iam:Create*", "Resource": "*"}]),
                all_but_iam
            ),
            vec![0]
        );
        let not_secret = json!([{"Effect": "Allow", "Action": "s3:*",
            "NotResource": "arn:aws:s3:::secret/*"}]);
        assert!(identity(
            json!([{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::public/*"}]),
            not_secret.clone()
        )
        .is_empty());
        assert_eq!(
            identity(
                json!([{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::*"}]),
                not_secret
            ),
            vec![0]
        );
        // A wildcard in the middle of an action.
        assert!(identity(
            json!([{"Effect": "Allow", "Action": "s3:Get*Acl", "Resource": "*"}]),
            json!([{"Effect": "Allow", "Action": "s3:*Acl", "Resource": "*"}])
        )
        .is_empty());
        assert_eq!(
            identity(
                json!([{"Effect": "Allow", "Action": "s3:*Acl", "Resource": "*"}]),
                json!([{"Effect": "Allow", "Action": "s3:Get*Acl", "Resource": "*"}])
            ),
            vec![0]
        );
    }

    #[test]
    fn conditions_must_keep_the_existing_ones() {
        let existing = json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]);
        let same = json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                          "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]);
        assert!(identity(same, existing.clone()).is_empty());
        let dropped = json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]);
        assert_eq!(identity(dropped, existing), vec![0]);
    }

    #[test]
    fn denies_must_stay() {
        let existing = json!([
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
        ]);
        let allow = json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"});
        assert_eq!(identity(json!([allow.clone()]), existing.clone()), vec![0]);
        // The same Deny, or a wider unconditional one, keeps it.
        assert!(identity(
            json!([allow.clone(), {"Effect": "Deny", "Action": "s3:Delete*",
            "Resource": "*"}]),
            existing.clone()
        )
        .is_empty());
        // A Deny with a condition the old one lacks is narrower.
        assert_eq!(
            identity(
                json!([allow, {"Effect": "Deny", "Action": "s3:DeleteBucket",
            "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"},
            "StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]),
                existing.clone()
            ),
            vec![0]
        );
        // Dropping the Deny is new access even when no new Allow meets it: it refused what
        // other policies grant.
        let get = json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]);
        assert_eq!(identity(get, existing), vec![usize::MAX]);
    }

    #[test]
    fn past_the_budget_statements_are_new_access() {
        let actions: Vec<String> = (0..100).map(|i| format!("s3:Get{i}")).collect();
        let resources: Vec<String> = (0..100).map(|i| format!("arn:aws:s3:::b{i}/*")).collect();
        let existing: Vec<Value> = (0..100)
            .map(|_| json!({"Effect": "Allow", "Action": "s3:*", "Resource": resources}))
            .collect();
        let existing = Value::Array(existing);
        let new = json!([
            {"Effect": "Allow", "Action": actions, "Resource": resources},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b1/x"},
        ]);
        let started = std::time::Instant::now();
        // Past the budget nothing is proven: both statements (the second one too, though
        // it is plainly covered) are reported.
        assert_eq!(identity(new, existing), vec![0, 1]);
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn resource_policies_compare_principal_lists() {
        let existing = json!([{"Effect": "Allow",
            "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:role/r"]},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]);
        let fewer = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]);
        assert!(check(PolicyKind::Resource, fewer, existing.clone()).is_empty());
        let more = json!([{"Effect": "Allow", "Principal": {"AWS": ["111122223333", "555566667777"]},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]);
        assert_eq!(check(PolicyKind::Resource, more, existing.clone()), vec![0]);
        let public = json!([{"Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]);
        assert_eq!(
            check(PolicyKind::Resource, public.clone(), existing),
            vec![0]
        );
        assert!(check(
            PolicyKind::Resource,
            json!([{"Effect": "Allow",
            "Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/x"}]),
            public
        )
        .is_empty());
    }
}
