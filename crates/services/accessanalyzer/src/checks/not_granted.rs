//! `CheckAccessNotGranted`'s decision: the `Allow` statements that may grant one of the listed
//! actions on one of the listed resources.
//!
//! An Allow statement may grant an (action, resource) pair of the access when its Action (or
//! NotAction) may match the action and its Resource (or NotResource) the resource. Its
//! conditions are not read: a condition may hold, so the statement may allow. A `Deny` takes
//! the pair away only when it is unconditional, names every principal the Allow names, and
//! covers the pair's actions (the listed action, or every action of the Allow) and resources
//! (likewise). No listed action means any action, no listed resource any resource.

use rampart_policy::{Effect, Policy, Statement};

use super::patterns::{self, covers, may_match, Kind, Set, BUDGET};
use super::statements::{principal_covers, unconditional};

/// The listed actions and resources of an access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Action patterns (empty: any action).
    pub actions: Vec<String>,
    /// Resource patterns (empty: any resource).
    pub resources: Vec<String>,
}

const ACTION: Kind = Kind::Action;
const LISTED: Kind = Kind::Resource {
    access: true,
    same_version: true,
};
const ELEMENT: Kind = Kind::Resource {
    access: false,
    same_version: true,
};

fn or_any(items: &[String]) -> Vec<&str> {
    if items.is_empty() {
        vec!["*"]
    } else {
        items.iter().map(String::as_str).collect()
    }
}

/// The work weight of a statement's Action and Resource elements.
fn weight(s: &Statement) -> usize {
    patterns::weight(&s.action.raw)
        .saturating_add(s.resource.as_ref().map_or(2, |r| patterns::weight(&r.raw)))
}

/// The indexes of the `Allow` statements that may grant part of `access`, in order. The
/// answer is as precise as [`BUDGET`] affords: Denies subtracted; else Denies not read; else
/// every Allow statement (each wider, so still sound).
pub fn granting(policy: &Policy, access: &Access) -> Vec<usize> {
    let actions = or_any(&access.actions);
    let resources = or_any(&access.resources);
    let w = policy
        .statements
        .iter()
        .map(weight)
        .fold(0, usize::saturating_add);
    let longest = actions
        .iter()
        .chain(&resources)
        .map(|x| x.len() + 1)
        .max()
        .unwrap_or(1);
    let pairs = actions.len().saturating_mul(resources.len());
    let full = pairs
        .saturating_mul(w)
        .saturating_mul(w.saturating_add(longest));
    let lists = (actions.len() + resources.len())
        .saturating_mul(longest)
        .saturating_mul(w);
    if lists > BUDGET {
        return allows(policy);
    }
    if full > BUDGET {
        return may_grant_any(policy, &actions, &resources);
    }
    let mut out = Vec::new();
    for (i, s) in policy.statements.iter().enumerate() {
        if s.effect != Effect::Allow {
            continue;
        }
        let granted = actions.iter().any(|a| {
            resources
                .iter()
                .any(|r| may_grant(s, a, r) && !denied(policy, s, a, r))
        });
        if granted {
            out.push(i);
        }
    }
    out
}

/// Every Allow statement.
fn allows(policy: &Policy) -> Vec<usize> {
    (0..policy.statements.len())
        .filter(|&i| {
            policy
                .statements
                .get(i)
                .is_some_and(|s| s.effect == Effect::Allow)
        })
        .collect()
}

/// The Allow statements that may match a listed action and a listed resource, Denies
/// aside: the two tests are independent, so each list is read once.
fn may_grant_any(policy: &Policy, actions: &[&str], resources: &[&str]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, s) in policy.statements.iter().enumerate() {
        let a = Set::of_action(&s.action);
        let r = Set::of_resource(s.resource.as_ref());
        if s.effect == Effect::Allow
            && actions.iter().any(|x| may_match(ACTION, &a, x))
            && resources.iter().any(|x| may_match(LISTED, &r, x))
        {
            out.push(i);
        }
    }
    out
}

/// True when Allow `s` may match action pattern `a` on resource pattern `r`.
fn may_grant(s: &Statement, a: &str, r: &str) -> bool {
    may_match(ACTION, &Set::of_action(&s.action), a)
        && may_match(LISTED, &Set::of_resource(s.resource.as_ref()), r)
}

/// True when an unconditional Deny of the policy takes away every request of `allow` on
/// action pattern `a` and resource pattern `r`.
fn denied(policy: &Policy, allow: &Statement, a: &str, r: &str) -> bool {
    let allow_actions = Set::of_action(&allow.action);
    let allow_resources = Set::of_resource(allow.resource.as_ref());
    policy.statements.iter().any(|d| {
        if d.effect != Effect::Deny || !unconditional(d) {
            return false;
        }
        let actions = Set::of_action(&d.action);
        let resources = Set::of_resource(d.resource.as_ref());
        principal_covers(d.principal.as_ref(), allow.principal.as_ref())
            && (covers(ACTION, &actions, &Set::one(a)) || covers(ACTION, &actions, &allow_actions))
            && (covers(LISTED, &resources, &Set::one(r))
                || covers(ELEMENT, &resources, &allow_resources))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use rampart_policy::PolicyKind;
    use serde_json::{json, Value};

    fn run(
        kind: PolicyKind,
        statements: Value,
        actions: &[&str],
        resources: &[&str],
    ) -> Vec<usize> {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        let policy = Policy::from_value(&doc, kind).unwrap();
        let access = Access {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
        };
        granting(&policy, &access)
    }

    fn identity(statements: Value, actions: &[&str], resources: &[&str]) -> Vec<usize> {
        run(PolicyKind::Identity, statements, actions, resources)
    }

    #[test]
    fn actions_match_with_wildcards_case_and_not_action() {
        let read = json!([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}]);
        assert!(identity(
            read.clone(),
            &["s3:DeleteBucket", "s3:GetBucketLocation"],
            &[]
        )
        .is_empty());
        assert_eq!(identity(read.clone(), &["S3:GETOBJECT"], &[]), vec![0]);
        assert_eq!(identity(read.clone(), &["s3:Get*"], &[]), vec![0]);
        assert!(identity(read, &["s3:Put*"], &[]).is_empty());
        // A wildcard in the middle of the policy's action.
        let mid = json!([{"Effect": "Allow", "Action": "s3:Get*Acl", "Resource": "*"}]);
        assert_eq!(identity(mid.clone(), &["s3:GetObjectAcl"], &[]), vec![0]);
        assert!(identity(mid.clone(), &["s3:GetObject"], &[]).is_empty());
        assert_eq!(identity(mid, &["s3:*Object*"], &[]), vec![0]);
        // NotAction grants everything else.
        let not = json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]);
        assert!(identity(not.clone(), &["iam:CreateUser"], &[]).is_empty());
        assert_eq!(identity(not.clone(), &["s3:DeleteBucket"], &[]), vec![0]);
        assert_eq!(identity(not, &["iam:Create*", "kms:Decrypt"], &[]), vec![0]);
    }

    #[test]
    fn resources_match_both_ways_and_not_resource() {
        let st = json!([{"Sid": "Put", "Effect": "Allow", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::non-sensitive-bucket/*"}]);
        assert!(identity(st.clone(), &[], &["arn:aws:s3:::sensitive-bucket/*"]).is_empty());
        assert_eq!(
            identity(st.clone(), &[], &["arn:aws:s3:::non-sensitive-bucket/a"]),
            vec![0]
        );
        assert_eq!(identity(st.clone(), &[], &["arn:aws:s3:::non-*"]), vec![0]);
        assert!(identity(
            st,
            &["s3:GetObject"],
            &["arn:aws:s3:::non-sensitive-bucket/a"]
        )
        .is_empty());
        let not = json!([{"Effect": "Allow", "Action": "s3:*",
            "NotResource": "arn:aws:s3:::secret/*"}]);
        assert!(identity(not.clone(), &[], &["arn:aws:s3:::secret/a"]).is_empty());
        assert!(identity(not.clone(), &[], &["arn:aws:s3:::secret/*"]).is_empty());
        assert_eq!(
            identity(not.clone(), &[], &["arn:aws:s3:::secret*"]),
            vec![0]
        );
        assert_eq!(identity(not, &[], &["arn:aws:s3:::public/a"]), vec![0]);
        // A variable in the policy's resource may take any value.
        let var = json!([{"Effect": "Allow", "Action": "s3:*",
            "Resource": "arn:aws:s3:::home/${aws:username}/*"}]);
        assert_eq!(
            identity(var.clone(), &[], &["arn:aws:s3:::home/alice/x"]),
            vec![0]
        );
        assert!(identity(var, &[], &["arn:aws:s3:::other/alice/x"]).is_empty());
    }

    #[test]
    fn conditions_may_allow_and_only_unconditional_denies_count() {
        let cond = json!([{"Effect": "Allow", "Action": "iam:*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]);
        assert_eq!(identity(cond, &["iam:DeleteRole"], &[]), vec![0]);
        let denied = json!([
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:Delete*", "Resource": "*"},
        ]);
        assert!(identity(denied.clone(), &["iam:DeleteRole", "iam:DeleteUser"], &[]).is_empty());
        assert_eq!(
            identity(denied, &["iam:DeleteRole", "iam:CreateRole"], &[]),
            vec![0]
        );
        let conditional = json!([
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}},
        ]);
        assert_eq!(identity(conditional, &["iam:DeleteRole"], &[]), vec![0]);
        // A Deny covering the Allow's own resources removes it whatever the listed resource.
        let scoped = json!([
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
        ]);
        assert!(identity(scoped, &["s3:GetObject"], &["*"]).is_empty());
        // A Deny with NotAction leaves the actions it names.
        let not_deny = json!([
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"},
        ]);
        assert!(identity(not_deny.clone(), &["s3:PutObject"], &[]).is_empty());
        assert_eq!(identity(not_deny, &["s3:GetObject"], &[]), vec![0]);
    }

    #[test]
    fn past_the_budget_denies_are_not_subtracted() {
        let actions: Vec<String> = (0..100).map(|i| format!("iam:Delete{i}")).collect();
        let resources: Vec<String> = (0..100)
            .map(|i| format!("arn:aws:iam::1:role/r{i}"))
            .collect();
        let mut st = vec![json!({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})];
        st.push(json!({"Effect": "Deny", "Action": actions, "Resource": "*"}));
        let doc = json!({"Version": "2012-10-17", "Statement": st});
        let policy = Policy::from_value(&doc, PolicyKind::Identity).unwrap();
        let access = Access {
            actions: actions.clone(),
            resources,
        };
        let started = std::time::Instant::now();
        assert_eq!(granting(&policy, &access), vec![0]);
        assert!(started.elapsed().as_secs() < 5);
        // Within the budget the same Deny is subtracted.
        let small = Access {
            actions: actions[..3].to_vec(),
            resources: Vec::new(),
        };
        assert!(granting(&policy, &small).is_empty());
    }

    #[test]
    fn resource_policies_compare_principals() {
        let doc = json!([
            {"Sid": "AllowJohnDoe", "Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::123456789012:user/JohnDoe", "444455556666"]},
             "Action": "s3:PutObject", "Resource": "arn:aws:s3:::my-bucket/*"},
            {"Effect": "Deny", "Principal": {"AWS": "444455556666"}, "Action": "s3:*",
             "Resource": "*"},
        ]);
        assert_eq!(
            run(
                PolicyKind::Resource,
                doc.clone(),
                &[],
                &["arn:aws:s3:::my-bucket/*"]
            ),
            vec![0]
        );
        let everyone = json!([
            {"Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::my-bucket/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"},
        ]);
        assert!(run(PolicyKind::Resource, everyone, &["s3:PutObject"], &[]).is_empty());
        // A trust policy has no Resource: every resource.
        let trust = json!([{"Effect": "Allow", "Principal": {"AWS": "444455556666"},
            "Action": "sts:AssumeRole"}]);
        assert_eq!(
            run(PolicyKind::Trust, trust, &["sts:AssumeRole"], &[]),
            vec![0]
        );
    }
}
