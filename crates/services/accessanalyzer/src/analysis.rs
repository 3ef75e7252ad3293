//! What a resource policy grants outside a zone of trust, by reasoning over the parsed policy
//! (no request is sampled).
//!
//! For each `Allow` statement that applies to the resource, every principal it names that is
//! outside the zone (another account or its users and roles, `*`, a federated identity
//! provider, an S3 canonical user) gets the actions of the resource's type the statement's
//! `Action`/`NotAction` matches. A condition test that fixes a key identifying the caller to
//! values inside the zone (`aws:PrincipalOrgID` of the zone's organization,
//! `aws:PrincipalAccount`/`aws:SourceAccount`/`kms:CallerAccount` of zone accounts,
//! `aws:PrincipalArn`/`aws:SourceArn` in zone accounts, ...) confines the statement to the
//! zone: it grants nothing external. Other tests are reported in the access's `condition`
//! map (`key -> values`, comma-separated). A `Deny` for every principal, unconditional or
//! conditional only on the caller being outside the zone, removes the actions it covers.
//! Whether a wildcard grant is public is `rampart_policy::public`'s rule. Service principals
//! are AWS services acting for the owner: they give no finding.

use std::collections::{BTreeMap, BTreeSet};

use rampart_policy::{
    condition::{Operator, SetOp},
    principal::PrincipalEntry,
    Context, Effect, Policy, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The zone of trust: an account, or the accounts of an organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// The trusted accounts.
    pub accounts: BTreeSet<String>,
    /// The organization, for an organization analyzer.
    pub org_id: Option<String>,
    /// The S3 canonical user ids of the trusted accounts.
    pub canonical_ids: BTreeSet<String>,
}

impl Zone {
    /// A zone of the given accounts (and organization).
    pub fn of(accounts: impl IntoIterator<Item = String>, org_id: Option<String>) -> Zone {
        let accounts: BTreeSet<String> = accounts.into_iter().collect();
        let canonical_ids = accounts
            .iter()
            .map(|a| rampart_s3::acl::canonical_id(a))
            .collect();
        Zone {
            accounts,
            org_id,
            canonical_ids,
        }
    }

    /// Whether `account` is trusted.
    pub fn trusts(&self, account: &str) -> bool {
        self.accounts.contains(account)
    }

    /// Whether a value of the caller-identifying key `key` (lowercased) names only callers of
    /// the zone; `None` when `key` does not identify callers.
    fn confines(&self, key: &str, value: &str) -> Option<bool> {
        let fixed = !value.is_empty() && !value.contains("${");
        let literal = fixed && !value.contains('*') && !value.contains('?');
        Some(match key {
            "aws:principalaccount"
            | "aws:sourceaccount"
            | "aws:sourceowner"
            | "kms:calleraccount"
            | "aws:resourceaccount" => literal && self.trusts(value),
            "aws:principalorgid" | "aws:sourceorgid" => {
                literal && self.org_id.as_deref() == Some(value)
            }
            "aws:principalorgpaths" | "aws:sourceorgpaths" => {
                fixed
                    && self
                        .org_id
                        .as_deref()
                        .is_some_and(|o| value.starts_with(&format!("{o}/")))
            }
            "aws:principalarn" | "aws:sourcearn" => {
                fixed && arn_account(value).is_some_and(|a| self.trusts(a))
            }
            _ => return None,
        })
    }
}

/// The account of an ARN (its fifth field) when it is 12 literal digits.
pub fn arn_account(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// One external access: who, under which conditions, may do what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The principal, as AWS's finding shows it (`{"AWS": "111122223333"}`).
    pub principal: BTreeMap<String, String>,
    /// The conditions that remain on the grant.
    pub condition: BTreeMap<String, String>,
    /// The actions granted, sorted.
    pub actions: BTreeSet<String>,
    /// Whether the grant is public.
    pub is_public: bool,
    /// How it is granted (`POLICY`, `BUCKET_ACL`); empty outside S3.
    pub sources: BTreeSet<String>,
}

/// What one policy grants outside `zone` on `resource`, whose type's actions are `actions`
/// (`service:Name`). `source` labels the accesses (`POLICY` for a bucket policy).
pub fn policy_accesses(
    policy: &Policy,
    resource: &str,
    actions: &[&str],
    zone: &Zone,
    source: Option<&str>,
) -> Vec<Access> {
    let public = rampart_policy::public::public_statements(policy);
    let denied = denied_everywhere(policy, resource, actions, zone);
    let mut out: Vec<Access> = Vec::new();
    for (index, s) in policy.statements.iter().enumerate() {
        if s.effect != Effect::Allow || !applies_to(s, resource) {
            continue;
        }
        let granted: BTreeSet<String> = matching(s, actions)
            .into_iter()
            .filter(|a| !denied.contains(a))
            .collect();
        if granted.is_empty() {
            continue;
        }
        let Some(condition) = remaining_conditions(s, zone) else {
            continue;
        };
        for principal in external_principals(s, zone) {
            let is_public =
                principal.get("AWS").is_some_and(|p| p == "*") && public.contains(&index);
            merge(
                &mut out,
                Access {
                    principal,
                    condition: condition.clone(),
                    actions: granted.clone(),
                    is_public,
                    sources: source.map(str::to_string).into_iter().collect(),
                },
            );
        }
    }
    out
}

/// Adds `a` to `out`, folding it into an access of the same principal and condition.
pub fn merge(out: &mut Vec<Access>, a: Access) {
    match out
        .iter_mut()
        .find(|o| o.principal == a.principal && o.condition == a.condition)
    {
        Some(o) => {
            o.actions.extend(a.actions);
            o.sources.extend(a.sources);
            o.is_public |= a.is_public;
        }
        None => out.push(a),
    }
}

/// The actions of `actions` the statement's Action/NotAction matches.
fn matching(s: &Statement, actions: &[&str]) -> Vec<String> {
    actions
        .iter()
        .filter(|a| {
            let (svc, name) = a.split_once(':').unwrap_or(("", a));
            s.action
                .matches(&svc.to_ascii_lowercase(), &name.to_ascii_lowercase())
        })
        .map(|a| a.to_string())
        .collect()
}

/// Whether the statement's Resource covers the resource or something inside it (a bucket's
/// objects). A pattern with a policy variable is taken to cover it.
fn applies_to(s: &Statement, resource: &str) -> bool {
    let Some(spec) = &s.resource else {
        return true;
    };
    let ctx = Context::new();
    let mut missing = Vec::new();
    let inside = format!("{resource}/x");
    let matched = spec.matches(resource, &ctx, &mut missing)
        || spec.matches(&inside, &ctx, &mut missing)
        || (!spec.negated
            && spec
                .raw
                .iter()
                .any(|r| r.starts_with(&format!("{resource}/"))));
    matched || !missing.is_empty()
}

/// The statement's condition as the finding reports it, or `None` when a test confines it to
/// the zone.
fn remaining_conditions(s: &Statement, zone: &Zone) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(ops) = s.condition_raw.as_ref().and_then(Value::as_object) else {
        return Some(out);
    };
    for (op_name, tests) in ops {
        let positive = Operator::parse(op_name)
            .is_some_and(|op| !op.negated && !op.if_exists && op.set != SetOp::ForAllValues);
        for (key, values) in tests.as_object().into_iter().flatten() {
            let texts = texts(values);
            let confined = positive
                && !texts.is_empty()
                && texts
                    .iter()
                    .all(|v| zone.confines(&key.to_ascii_lowercase(), v) == Some(true));
            if confined {
                return None;
            }
            out.insert(key.clone(), texts.join(","));
        }
    }
    Some(out)
}

fn texts(values: &Value) -> Vec<String> {
    match values {
        Value::Array(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The principals of an `Allow` statement outside the zone, as findings show them.
fn external_principals(s: &Statement, zone: &Zone) -> Vec<BTreeMap<String, String>> {
    let Some(spec) = &s.principal else {
        return Vec::new();
    };
    let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
    if spec.negated {
        return vec![one("AWS", "*")];
    }
    let mut out = Vec::new();
    for e in &spec.entries {
        let p = match e {
            PrincipalEntry::Any => one("AWS", "*"),
            PrincipalEntry::Account(a) if zone.trusts(a) => continue,
            PrincipalEntry::Account(a) => one("AWS", a),
            PrincipalEntry::Arn(arn) if arn_account(arn).is_some_and(|a| zone.trusts(a)) => {
                continue
            }
            PrincipalEntry::Arn(arn) => one("AWS", arn),
            PrincipalEntry::UniqueId(id) => one("AWS", id),
            PrincipalEntry::Service(_) => continue,
            PrincipalEntry::Federated(f) => one("Federated", f),
            PrincipalEntry::CanonicalUser(c) if zone.canonical_ids.contains(c) => continue,
            PrincipalEntry::CanonicalUser(c) => one("CanonicalUser", c),
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The actions a `Deny` removes for every caller outside the zone: a `Deny` of `*` (or a
/// `NotPrincipal` Deny) that is unconditional, or whose every test is a negated test of a
/// caller-identifying key whose values are all in the zone (`StringNotEquals
/// aws:PrincipalOrgID o-zone`: "deny unless the caller is in the zone").
fn denied_everywhere(
    policy: &Policy,
    resource: &str,
    actions: &[&str],
    zone: &Zone,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in &policy.statements {
        if s.effect != Effect::Deny || !applies_to(s, resource) {
            continue;
        }
        let everyone = s
            .principal
            .as_ref()
            .is_some_and(|p| p.entries.contains(&PrincipalEntry::Any) && !p.negated);
        if !everyone || !denies_outsiders(s, zone) {
            continue;
        }
        out.extend(matching(s, actions));
    }
    out
}

fn denies_outsiders(s: &Statement, zone: &Zone) -> bool {
    let Some(ops) = s.condition_raw.as_ref().and_then(Value::as_object) else {
        return true;
    };
    ops.iter().all(|(op_name, tests)| {
        let negated =
            Operator::parse(op_name).is_some_and(|op| op.negated && op.set != SetOp::ForAllValues);
        negated
            && tests.as_object().is_some_and(|tests| {
                tests.iter().all(|(key, values)| {
                    let texts = texts(values);
                    !texts.is_empty()
                        && texts
                            .iter()
                            .all(|v| zone.confines(&key.to_ascii_lowercase(), v) == Some(true))
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_policy::PolicyKind;
    use serde_json::json;

    const ME: &str = "111122223333";
    const OTHER: &str = "444455556666";
    const BUCKET: &str = "arn:aws:s3:::b";
    const S3: &[&str] = &["s3:GetObject", "s3:PutObject", "s3:ListBucket"];
    const STS: &[&str] = &["sts:AssumeRole", "sts:TagSession"];

    fn zone() -> Zone {
        Zone::of([ME.to_string()], None)
    }

    fn org_zone() -> Zone {
        Zone::of([ME.to_string(), OTHER.to_string()], Some("o-abc123".into()))
    }

    fn run(kind: PolicyKind, statements: Value, actions: &[&str], zone: &Zone) -> Vec<Access> {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        let policy = Policy::from_value(&doc, kind).unwrap();
        policy_accesses(&policy, BUCKET, actions, zone, None)
    }

    /// `KEY=value` of the principal, the actions, isPublic, `key=values` of the condition.
    type Summary = (String, Vec<String>, bool, Vec<String>);

    /// The summary of each access.
    fn summary(found: &[Access]) -> Vec<Summary> {
        found
            .iter()
            .map(|a| {
                let (k, v) = a.principal.iter().next().unwrap();
                (
                    format!("{k}={v}"),
                    a.actions.iter().cloned().collect(),
                    a.is_public,
                    a.condition
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_table_of_policies_and_what_they_grant_outside_the_account() {
        let allow = |principal: Value, action: Value, condition: Value| {
            let mut s = json!({"Effect": "Allow", "Principal": principal, "Action": action,
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]});
            if !condition.is_null() {
                s["Condition"] = condition;
            }
            json!([s])
        };
        let cases: Vec<(Value, Vec<Summary>)> = vec![
            // Another account: its id, the actions matched, not public.
            (
                allow(
                    json!({"AWS": format!("arn:aws:iam::{OTHER}:root")}),
                    json!("s3:Get*"),
                    Value::Null,
                ),
                vec![(
                    format!("AWS={OTHER}"),
                    vec!["s3:GetObject".into()],
                    false,
                    vec![],
                )],
            ),
            // The owner's own account and roles: nothing.
            (
                allow(
                    json!({"AWS": [ME, format!("arn:aws:iam::{ME}:role/app")]}),
                    json!("s3:*"),
                    Value::Null,
                ),
                vec![],
            ),
            // A role of another account, named by ARN.
            (
                allow(
                    json!({"AWS": format!("arn:aws:iam::{OTHER}:role/r")}),
                    json!(["s3:PutObject"]),
                    Value::Null,
                ),
                vec![(
                    format!("AWS=arn:aws:iam::{OTHER}:role/r"),
                    vec!["s3:PutObject".into()],
                    false,
                    vec![],
                )],
            ),
            // Everyone: public, every action of s3:*.
            (
                allow(json!("*"), json!("s3:*"), Value::Null),
                vec![(
                    "AWS=*".into(),
                    vec![
                        "s3:GetObject".into(),
                        "s3:ListBucket".into(),
                        "s3:PutObject".into(),
                    ],
                    true,
                    vec![],
                )],
            ),
            // Everyone from a network: reported with the condition, not public.
            (
                allow(
                    json!("*"),
                    json!("s3:GetObject"),
                    json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                ),
                vec![(
                    "AWS=*".into(),
                    vec!["s3:GetObject".into()],
                    false,
                    vec!["aws:SourceIp=10.0.0.0/8".into()],
                )],
            ),
            // Everyone, but only callers of the owner's account: nothing.
            (
                allow(
                    json!("*"),
                    json!("s3:GetObject"),
                    json!({"StringEquals": {"aws:PrincipalAccount": ME}}),
                ),
                vec![],
            ),
            // Everyone of another account: the condition names it, not public.
            (
                allow(
                    json!("*"),
                    json!("s3:GetObject"),
                    json!({"StringEquals": {"aws:PrincipalAccount": OTHER}}),
                ),
                vec![(
                    "AWS=*".into(),
                    vec!["s3:GetObject".into()],
                    false,
                    vec![format!("aws:PrincipalAccount={OTHER}")],
                )],
            ),
            // A negated test confines nothing.
            (
                allow(
                    json!("*"),
                    json!("s3:GetObject"),
                    json!({"StringNotEquals": {"aws:PrincipalAccount": ME}}),
                ),
                vec![(
                    "AWS=*".into(),
                    vec!["s3:GetObject".into()],
                    true,
                    vec![format!("aws:PrincipalAccount={ME}")],
                )],
            ),
            // A service principal: no finding.
            (
                allow(
                    json!({"Service": "logging.s3.amazonaws.com"}),
                    json!("s3:PutObject"),
                    Value::Null,
                ),
                vec![],
            ),
            // A canonical user of another account.
            (
                allow(
                    json!({"CanonicalUser": rampart_s3::acl::canonical_id(OTHER)}),
                    json!("s3:GetObject"),
                    Value::Null,
                ),
                vec![(
                    format!("CanonicalUser={}", rampart_s3::acl::canonical_id(OTHER)),
                    vec!["s3:GetObject".into()],
                    false,
                    vec![],
                )],
            ),
            // Actions of another service grant nothing on a bucket.
            (allow(json!("*"), json!("sqs:*"), Value::Null), vec![]),
            // NotAction: every other action.
            (
                json!([{"Effect": "Allow", "Principal": {"AWS": OTHER}, "NotAction": "s3:PutObject", "Resource": "*"}]),
                vec![(
                    format!("AWS={OTHER}"),
                    vec!["s3:GetObject".into(), "s3:ListBucket".into()],
                    false,
                    vec![],
                )],
            ),
            // Another bucket's resources: nothing here.
            (
                json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::other/*"}]),
                vec![],
            ),
            // A deny of everyone outside the account's callers removes what it covers.
            (
                json!([
                    {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
                    {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
                     "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ME}}},
                ]),
                vec![(
                    format!("AWS={OTHER}"),
                    vec!["s3:GetObject".into(), "s3:ListBucket".into()],
                    false,
                    vec![],
                )],
            ),
        ];
        for (i, (statements, expected)) in cases.into_iter().enumerate() {
            let found = run(PolicyKind::Resource, statements.clone(), S3, &zone());
            assert_eq!(summary(&found), expected, "case {i}: {statements}");
        }
    }

    #[test]
    fn an_organization_zone_trusts_its_members_and_its_org_id() {
        let member = json!([{"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject", "Resource": "*"}]);
        assert!(run(PolicyKind::Resource, member.clone(), S3, &org_zone()).is_empty());
        assert_eq!(run(PolicyKind::Resource, member, S3, &zone()).len(), 1);
        let org = json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}]);
        assert!(run(PolicyKind::Resource, org.clone(), S3, &org_zone()).is_empty());
        // For an account zone, the organization is outside: reported with its condition.
        let found = run(PolicyKind::Resource, org, S3, &zone());
        assert_eq!(
            summary(&found),
            vec![(
                "AWS=*".into(),
                vec!["s3:GetObject".into()],
                false,
                vec!["aws:PrincipalOrgID=o-abc123".into()]
            )]
        );
    }

    #[test]
    fn trust_policies_name_accounts_and_federated_providers() {
        let trust = json!([
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{OTHER}:root")}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {"accounts.google.com:aud": "app-1"}}},
        ]);
        let found = run(
            PolicyKind::Trust,
            trust,
            &["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"],
            &zone(),
        );
        assert_eq!(
            summary(&found),
            vec![
                (
                    format!("AWS={OTHER}"),
                    vec!["sts:AssumeRole".into()],
                    false,
                    vec![]
                ),
                (
                    "Federated=accounts.google.com".into(),
                    vec!["sts:AssumeRoleWithWebIdentity".into()],
                    false,
                    vec!["accounts.google.com:aud=app-1".into()]
                ),
            ]
        );
        let own = json!([{"Effect": "Allow", "Principal": {"AWS": ME}, "Action": "sts:*"}]);
        assert!(run(PolicyKind::Trust, own, STS, &zone()).is_empty());
    }

    #[test]
    fn statements_of_one_principal_and_condition_fold_into_one_access() {
        let doc = json!([
            {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{OTHER}:root")}, "Action": "s3:ListBucket", "Resource": "*"},
        ]);
        let found = run(PolicyKind::Resource, doc, S3, &zone());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].actions.len(), 2);
    }
}
