//! Internal access analysis (pure): which IAM roles and users inside the zone of trust can
//! perform a critical resource's actions, decided by the policy engine the authorizer uses
//! ([`rampart_policy::evaluate`]) over the principal's identity policies and permissions
//! boundary, the resource's policy and, for an organization zone, the SCPs of the principal's
//! account and the RCPs of the resource's account.
//!
//! Each action of the resource's type is one request: bucket actions on the bucket's ARN,
//! object actions on `arn:aws:s3:::BUCKET/*` (access to every object). The principal acts as
//! AWS's callers do: a role as a session of the role, a user as itself, with the context keys
//! AWS derives from it (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalTag/*`,
//! `aws:PrincipalOrgID`). Grants that need other request keys (`aws:SourceIp`, `s3:prefix`)
//! are not reported.
//!
//! SCPs and RCPs, as AWS's `serviceControlPolicyRestriction` and
//! `resourceControlPolicyRestriction` define them: an organization analyzer includes them in
//! the evaluation (`APPLIED` when the account has them, an action they deny is left out); an
//! account analyzer does not (`APPLICABLE` when the account has them, `NOT_APPLICABLE`
//! otherwise). The management account has none (they do not bind it).

use std::sync::Arc;

use rampart_kit::authz::NamedPolicy;
use rampart_policy::{
    evaluate, Context, Layer, OrgLevel, Policy, PolicyKind, PolicyLayer, PolicySet, Principal,
    PrincipalType, Request,
};
use serde_json::{json, Value};

use crate::{
    error::{invalid, AaResult},
    model::InternalConfig,
    resources::BUCKET,
};

/// The finding type of internal access findings.
pub const INTERNAL_ACCESS: &str = "InternalAccess";

/// The resource types AWS analyses for internal access.
pub const AWS_TYPES: &[&str] = &[
    BUCKET,
    "AWS::RDS::DBSnapshot",
    "AWS::RDS::DBClusterSnapshot",
    "AWS::S3Express::DirectoryBucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::Stream",
];

/// The ones Rampart has.
pub const TYPES: &[&str] = &[BUCKET];

/// `principalType` of a role.
pub const IAM_ROLE: &str = "IAM_ROLE";
/// `principalType` of a user.
pub const IAM_USER: &str = "IAM_USER";

/// The `configuration.internalAccess` of a `CreateAnalyzer` or `UpdateAnalyzer` request:
/// `analysisRule.inclusions`, each with `accountIds` (organization analyzers only),
/// `resourceTypes` (of AWS's internal access types) and `resourceArns`.
pub fn config(input: &Value, org: bool) -> AaResult<InternalConfig> {
    let inclusions: Vec<Value> = input
        .get("configuration")
        .and_then(|c| c.get("internalAccess"))
        .and_then(|u| u.get("analysisRule"))
        .and_then(|r| r.get("inclusions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for x in &inclusions {
        if !list(x, "accountIds").is_empty() && !org {
            return Err(invalid(
                "Account IDs can only be applied to the analysis rule criteria for organization-level analyzers.",
            ));
        }
        if let Some(t) = list(x, "resourceTypes")
            .into_iter()
            .find(|t| !AWS_TYPES.contains(&t.as_str()))
        {
            return Err(invalid(format!(
                "Resource type {t} is not supported for internal access analyzers."
            )));
        }
    }
    Ok(InternalConfig {
        inclusions,
        analyzed: None,
    })
}

/// The `internalAccess` member of `AnalyzerConfiguration`.
pub fn configuration(c: &InternalConfig) -> Value {
    let mut internal = json!({});
    if let Some(o) = internal.as_object_mut() {
        if !c.inclusions.is_empty() {
            o.insert("analysisRule".into(), json!({ "inclusions": c.inclusions }));
        }
    }
    json!({ "internalAccess": internal })
}

fn list(v: &Value, key: &str) -> Vec<String> {
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

/// Whether a resource is in the analysis rule: with no inclusions every resource is; else one
/// inclusion must match it, each list it gives holding the resource's value.
pub fn included(inclusions: &[Value], arn: &str, rtype: &str, owner: &str) -> bool {
    inclusions.is_empty()
        || inclusions.iter().any(|x| {
            let holds = |key: &str, value: &str| {
                let l = list(x, key);
                l.is_empty() || l.iter().any(|v| v == value)
            };
            holds("accountIds", owner)
                && holds("resourceTypes", rtype)
                && holds("resourceArns", arn)
        })
}

/// An account's organization, as the evaluation needs it.
#[derive(Debug, Clone, Default)]
pub struct OrgFacts {
    /// The organization id (`aws:PrincipalOrgID`).
    pub org_id: Option<String>,
    /// The management account.
    pub management: Option<String>,
    /// SCP levels, root first (empty when SCPs are not enabled).
    pub scp: Vec<OrgLevel>,
    /// RCP levels, root first (empty when RCPs are not enabled).
    pub rcp: Vec<OrgLevel>,
}

impl OrgFacts {
    /// Compiled from an account's organization view (`None`: in no organization).
    pub fn of(view: Option<rampart_organizations::enforcement::OrgView>) -> OrgFacts {
        let Some(v) = view else {
            return OrgFacts::default();
        };
        let levels = |levels: &[rampart_organizations::enforcement::Level], kind| {
            levels
                .iter()
                .map(|(target, policies)| OrgLevel {
                    target: target.clone(),
                    layer: layer(policies, kind),
                })
                .collect()
        };
        OrgFacts {
            scp: levels(&v.scp, PolicyKind::Scp),
            rcp: levels(&v.rcp, PolicyKind::Rcp),
            org_id: Some(v.org_id),
            management: Some(v.management),
        }
    }

    fn binds(&self, account: &str) -> bool {
        self.management.as_deref() != Some(account)
    }
}

/// Compiles stored policies; one that no longer parses grants nothing (as the authorizer).
pub fn layer(policies: &[NamedPolicy], kind: PolicyKind) -> PolicyLayer {
    PolicyLayer::new(
        policies
            .iter()
            .filter_map(|p| Policy::parse(&p.document, kind).ok())
            .map(Arc::new)
            .collect(),
    )
}

/// An IAM role or user of the zone, with its policies.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The role's or user's ARN.
    pub arn: String,
    /// Its account.
    pub account: String,
    /// [`IAM_ROLE`] or [`IAM_USER`].
    pub principal_type: &'static str,
    /// Its identity-based policies.
    pub identity: PolicyLayer,
    /// Its permissions boundary.
    pub boundary: Option<PolicyLayer>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

impl Subject {
    /// The caller it acts as: a session of the role, or the user.
    fn caller(&self) -> Principal {
        if self.principal_type == IAM_ROLE {
            let name = self.arn.rsplit('/').next().unwrap_or_default();
            // The session is in the role's partition.
            let partition = rampart_kit::Partition::of_arn(&self.arn).unwrap_or_default();
            Principal {
                arn: partition.arn(
                    "sts",
                    "",
                    &self.account,
                    &format!("assumed-role/{name}/AccessAnalyzer"),
                ),
                kind: PrincipalType::AssumedRole,
                account: Some(self.account.clone()),
                parent_arn: Some(self.arn.clone()),
            }
        } else {
            Principal::from_arn(&self.arn)
        }
    }
}

/// A critical resource: its ARN, owner, policy and actions.
#[derive(Debug, Clone)]
pub struct Target {
    /// The ARN.
    pub arn: String,
    /// The owning account.
    pub owner: String,
    /// The resource policy.
    pub policy: Option<PolicyLayer>,
    /// The actions of its type, each with whether it acts on the resource's objects.
    pub actions: Vec<(String, bool)>,
}

/// What one principal can do to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The actions allowed, sorted.
    pub actions: Vec<String>,
    /// Whether the resource policy takes part in a grant.
    pub via_policy: bool,
    /// `serviceControlPolicyRestriction`.
    pub scp: &'static str,
    /// `resourceControlPolicyRestriction`.
    pub rcp: &'static str,
}

fn restriction(present: bool, org_zone: bool) -> &'static str {
    match (present, org_zone) {
        (false, _) => "NOT_APPLICABLE",
        (true, true) => "APPLIED",
        (true, false) => "APPLICABLE",
    }
}

/// What `who` can do to `what`; `None` when nothing. `theirs` is the principal's account's
/// organization, `owners` the resource owner's; `org_zone` whether the zone is an
/// organization (its SCPs and RCPs are then evaluated).
pub fn access(
    who: &Subject,
    what: &Target,
    theirs: &OrgFacts,
    owners: &OrgFacts,
    org_zone: bool,
) -> Option<Found> {
    let scp_present = !theirs.scp.is_empty() && theirs.binds(&who.account);
    let rcp_present = !owners.rcp.is_empty() && owners.binds(&what.owner);
    let set = PolicySet {
        identity: who.identity.clone(),
        resource: what.policy.clone(),
        boundary: who.boundary.clone(),
        scp: if org_zone {
            theirs.scp.clone()
        } else {
            Vec::new()
        },
        rcp: if org_zone {
            owners.rcp.clone()
        } else {
            Vec::new()
        },
        management_account: theirs.management.clone(),
        ..PolicySet::default()
    };
    let principal = who.caller();
    let mut context = Context::new();
    principal.fill_context(&mut context);
    for (k, v) in &who.tags {
        context.set(&format!("aws:PrincipalTag/{k}"), v.clone());
    }
    if let Some(org) = &theirs.org_id {
        context.set("aws:PrincipalOrgID", org.clone());
    }
    let mut actions = Vec::new();
    let mut via_policy = false;
    for (action, on_object) in &what.actions {
        let resource = if *on_object {
            format!("{}/*", what.arn)
        } else {
            what.arn.clone()
        };
        let req = Request::new(
            principal.clone(),
            action,
            &resource,
            Some(what.owner.clone()),
            context.clone(),
        );
        let d = evaluate(&req, &set);
        if d.is_allowed() {
            via_policy |= d.statements.iter().any(|s| s.layer == Layer::Resource);
            actions.push(action.clone());
        }
    }
    if actions.is_empty() {
        return None;
    }
    actions.sort();
    Some(Found {
        actions,
        via_policy,
        scp: restriction(scp_present, org_zone),
        rcp: restriction(rcp_present, org_zone),
    })
}

/// The `internalAccessDetails` member of a finding.
pub fn details(who: &Subject, what: &Target, found: &Found) -> Value {
    let mut d = json!({
        "action": found.actions,
        "condition": {},
        "principal": { "AWS": who.arn },
        "principalOwnerAccount": who.account,
        "principalType": who.principal_type,
        "accessType": if who.account == what.owner { "INTRA_ACCOUNT" } else { "INTRA_ORG" },
        "serviceControlPolicyRestriction": found.scp,
        "resourceControlPolicyRestriction": found.rcp,
    });
    if let (true, Some(o)) = (found.via_policy, d.as_object_mut()) {
        o.insert("sources".into(), json!([{ "type": "POLICY" }]));
    }
    json!({ "internalAccessDetails": d })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    const ME: &str = "111122223333";
    const OTHER: &str = "444455556666";
    const BUCKET_ARN: &str = "arn:aws:s3:::b";

    fn named(doc: Value) -> Vec<NamedPolicy> {
        vec![NamedPolicy {
            name: "p".into(),
            document: doc.to_string(),
        }]
    }

    fn allow(action: &str, resource: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    fn role(account: &str, identity: Value) -> Subject {
        Subject {
            arn: format!("arn:aws:iam::{account}:role/app"),
            account: account.into(),
            principal_type: IAM_ROLE,
            identity: layer(&named(identity), PolicyKind::Identity),
            boundary: None,
            tags: Vec::new(),
        }
    }

    fn bucket(policy: Option<Value>) -> Target {
        Target {
            arn: BUCKET_ARN.into(),
            owner: ME.into(),
            policy: policy.map(|p| layer(&named(p), PolicyKind::Resource)),
            actions: vec![
                ("s3:GetObject".into(), true),
                ("s3:ListBucket".into(), false),
                ("s3:PutObject".into(), true),
            ],
        }
    }

    fn org(scp: Option<Value>) -> OrgFacts {
        let full = allow("*", "*");
        let mut policies = named(full);
        if let Some(s) = scp {
            policies.extend(named(s));
        }
        OrgFacts {
            org_id: Some("o-abc123".into()),
            management: Some("999999999999".into()),
            scp: vec![OrgLevel {
                target: "r-root".into(),
                layer: layer(&policies, PolicyKind::Scp),
            }],
            rcp: Vec::new(),
        }
    }

    fn actions(f: Option<Found>) -> Vec<String> {
        f.map(|f| f.actions).unwrap_or_default()
    }

    #[test]
    fn identity_policies_grant_within_the_account_and_boundaries_cap_them() {
        let none = OrgFacts::default();
        let who = role(ME, allow("s3:Get*", "arn:aws:s3:::b/*"));
        let found = access(&who, &bucket(None), &none, &none, false).unwrap();
        assert_eq!(found.actions, vec!["s3:GetObject"]);
        assert!(!found.via_policy);
        assert_eq!((found.scp, found.rcp), ("NOT_APPLICABLE", "NOT_APPLICABLE"));
        // Another bucket's objects: nothing.
        let elsewhere = role(ME, allow("s3:*", "arn:aws:s3:::other/*"));
        assert!(access(&elsewhere, &bucket(None), &none, &none, false).is_none());
        // A boundary allowing only ListBucket leaves nothing of s3:Get*.
        let mut bounded = role(ME, allow("s3:*", "*"));
        bounded.boundary = Some(layer(
            &named(allow("s3:ListBucket", "*")),
            PolicyKind::Boundary,
        ));
        assert_eq!(
            actions(access(&bounded, &bucket(None), &none, &none, false)),
            vec!["s3:ListBucket"]
        );
    }

    #[test]
    fn the_bucket_policy_grants_and_denies() {
        let none = OrgFacts::default();
        let named_role = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ME}:role/app")},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]});
        let who = role(ME, json!({"Version": "2012-10-17", "Statement": []}));
        let found = access(&who, &bucket(Some(named_role)), &none, &none, false).unwrap();
        assert_eq!(found.actions, vec!["s3:PutObject"]);
        assert!(found.via_policy);
        let deny = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]});
        let reader = role(ME, allow("s3:*", "*"));
        assert_eq!(
            actions(access(&reader, &bucket(Some(deny)), &none, &none, false)),
            vec!["s3:ListBucket", "s3:PutObject"]
        );
        // A role of another account needs the bucket policy too.
        let outsider = role(OTHER, allow("s3:*", "*"));
        assert!(access(&outsider, &bucket(None), &none, &none, true).is_none());
    }

    #[test]
    fn scps_are_applied_for_an_organization_and_only_flagged_for_an_account() {
        let deny_put = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": "s3:PutObject", "Resource": "*"}]});
        let o = org(Some(deny_put));
        let who = role(ME, allow("s3:*", "*"));
        let org_found = access(&who, &bucket(None), &o, &o, true).unwrap();
        assert_eq!(org_found.actions, vec!["s3:GetObject", "s3:ListBucket"]);
        assert_eq!(org_found.scp, "APPLIED");
        assert_eq!(org_found.rcp, "NOT_APPLICABLE");
        let account_found = access(&who, &bucket(None), &o, &o, false).unwrap();
        assert_eq!(account_found.actions.len(), 3);
        assert_eq!(account_found.scp, "APPLICABLE");
        // The management account is not bound by SCPs.
        let mut manager = role("999999999999", allow("s3:*", "*"));
        manager.account = "999999999999".into();
        let mut target = bucket(None);
        target.owner = "999999999999".into();
        let m = access(&manager, &target, &o, &o, true).unwrap();
        assert_eq!((m.actions.len(), m.scp), (3, "NOT_APPLICABLE"));
    }

    #[test]
    fn inclusions_select_resources() {
        let rule = vec![json!({"resourceArns": [BUCKET_ARN]})];
        assert!(included(&rule, BUCKET_ARN, BUCKET, ME));
        assert!(!included(&rule, "arn:aws:s3:::other", BUCKET, ME));
        assert!(included(&[], "arn:aws:s3:::other", BUCKET, ME));
        let by_account = vec![json!({"accountIds": [OTHER], "resourceTypes": [BUCKET]})];
        assert!(!included(&by_account, BUCKET_ARN, BUCKET, ME));
        assert!(included(&by_account, BUCKET_ARN, BUCKET, OTHER));
        let input = json!({"configuration": {"internalAccess": {"analysisRule": {"inclusions": [{"accountIds": [ME]}]}}}});
        assert!(config(&input, false).is_err());
        assert!(config(&input, true).is_ok());
        let kms = json!({"configuration": {"internalAccess": {"analysisRule": {"inclusions": [{"resourceTypes": ["AWS::KMS::Key"]}]}}}});
        assert!(config(&kms, true).is_err());
    }
}
