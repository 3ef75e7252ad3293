//! Checks of the further S3 managed rules: ACLs, Object Lock, lifecycle rules, and what the
//! bucket policy grants to whom.

use chrono::{DateTime, Utc};
use rampart_policy::wildcard::Pattern;
use serde_json::Value;

use crate::checks_iam::{allows_of, as_list};
use crate::checks_iam_more::glob;
use crate::managed::{int, list, Params, Verdict};
use crate::model::Snapshot;

fn fact_str<'a>(s: &'a Snapshot, name: &str) -> Option<&'a str> {
    s.facts.get(name).and_then(Value::as_str)
}

/// True when `bucketNames` is given and does not name the bucket.
fn not_named(s: &Snapshot, params: &Params) -> bool {
    let names = list(params, "bucketNames");
    !names.is_empty() && !names.contains(&s.resource_id)
}

/// `S3_BUCKET_ACL_PROHIBITED`: Object Ownership is `BucketOwnerEnforced`, so no ACL grants
/// anything.
pub fn acl_prohibited(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    let ownership = fact_str(s, "ownership").unwrap_or("ObjectWriter");
    Verdict::check(
        ownership == "BucketOwnerEnforced",
        format!("ACLs are enabled on the bucket (Object Ownership {ownership})."),
    )
}

/// `S3_BUCKET_DEFAULT_LOCK_ENABLED`: Object Lock is on (with a default retention of `mode`,
/// when given).
pub fn default_lock(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let Some(lock) = s.facts.get("objectLock").filter(|v| !v.is_null()) else {
        return Verdict::fail("Object Lock is not enabled on the bucket.");
    };
    let Some(mode) = params.get("mode") else {
        return Verdict::ok();
    };
    let set = lock.pointer("/default/mode").and_then(Value::as_str);
    Verdict::check(
        set.is_some_and(|m| m.eq_ignore_ascii_case(mode)),
        format!("The bucket's default retention mode is not {mode}."),
    )
}

/// The bucket's enabled lifecycle rules.
fn enabled_rules(s: &Snapshot) -> Vec<&Value> {
    s.facts
        .pointer("/lifecycle/Rules")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|r| r.get("Status").and_then(Value::as_str) == Some("Enabled"))
                .collect()
        })
        .unwrap_or_default()
}

fn rule_prefix(r: &Value) -> &str {
    ["/Filter/Prefix", "/Filter/And/Prefix", "/Prefix"]
        .iter()
        .find_map(|p| r.pointer(p).and_then(Value::as_str))
        .unwrap_or("")
}

/// Whether an enabled rule meets every target the parameters give.
fn rule_meets(r: &Value, params: &Params) -> bool {
    let expiration = int(params, "targetExpirationDays")
        .is_none_or(|d| r.pointer("/Expiration/Days").and_then(Value::as_i64) == Some(d));
    let days = int(params, "targetTransitionDays");
    let class = params.get("targetTransitionStorageClass");
    let transition = (days.is_none() && class.is_none())
        || r.get("Transitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|t| {
                days.is_none_or(|d| t.get("Days").and_then(Value::as_i64) == Some(d))
                    && class.is_none_or(|c| {
                        t.get("StorageClass").and_then(Value::as_str) == Some(c.as_str())
                    })
            });
    let prefix = params
        .get("targetPrefix")
        .is_none_or(|p| rule_prefix(r) == p);
    expiration && transition && prefix
}

/// `S3_LIFECYCLE_POLICY_CHECK`: an enabled lifecycle rule meets the target parameters.
pub fn lifecycle_policy(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if not_named(s, params) {
        return Verdict::not_applicable();
    }
    let rules = enabled_rules(s);
    if rules.is_empty() {
        return Verdict::fail("The bucket has no enabled lifecycle rule.");
    }
    Verdict::check(
        rules.iter().any(|r| rule_meets(r, params)),
        "No enabled lifecycle rule matches the rule's parameters.",
    )
}

/// `S3_VERSION_LIFECYCLE_POLICY_CHECK`: a versioned bucket has an enabled lifecycle rule.
pub fn version_lifecycle(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let versioned = s.facts.get("versioning").and_then(Value::as_bool) == Some(true);
    if !versioned || not_named(s, params) {
        return Verdict::not_applicable();
    }
    Verdict::check(
        !enabled_rules(s).is_empty(),
        "The versioned bucket has no enabled lifecycle rule.",
    )
}

/// A statement's principals as (kind, value): `("AWS", "*")`, `("Service", "x")`, ...
fn principals(st: &Value) -> Vec<(String, String)> {
    match st.get("Principal") {
        Some(Value::String(s)) => vec![("AWS".into(), s.clone())],
        Some(Value::Object(m)) => m
            .iter()
            .flat_map(|(k, v)| {
                as_list(Some(v))
                    .into_iter()
                    .map(|p| (k.clone(), p.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The account of an `AWS` principal (an account id or an IAM ARN); `None` for `*`.
fn principal_account(p: &str) -> Option<&str> {
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Some(p);
    }
    rampart_kit::Partition::of_arn(p)
        .and_then(|partition| partition.strip_iam_arn(p))
        .and_then(|rest| rest.split(':').next())
}

/// The bucket policy's Allow statements.
fn policy_allows(s: &Snapshot) -> Vec<Value> {
    fact_str(s, "policy").map(allows_of).unwrap_or_default()
}

/// `S3_BUCKET_BLACKLISTED_ACTIONS_PROHIBITED`: the bucket policy allows none of
/// `blacklistedActionPattern` to principals of other accounts (or everyone).
pub fn blacklisted_actions(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let owner = fact_str(s, "account").unwrap_or_default();
    let banned = list(params, "blacklistedActionPattern");
    let found: Vec<String> = banned
        .into_iter()
        .filter(|b| {
            policy_allows(s).iter().any(|st| {
                let foreign = principals(st)
                    .iter()
                    .any(|(k, p)| k == "AWS" && principal_account(p) != Some(owner));
                let acts = as_list(st.get("Action"));
                foreign && acts.iter().any(|a| glob(a, b) || glob(b, a))
            })
        })
        .collect();
    Verdict::check(
        found.is_empty(),
        format!(
            "The bucket policy allows blocked actions to other accounts: {}.",
            found.join(", ")
        ),
    )
}

/// Whether a principal is one the parameters allow.
fn grantee_allowed(kind: &str, p: &str, params: &Params) -> bool {
    let member = match kind {
        "AWS" => "awsPrincipals",
        "Service" => "servicePrincipals",
        "Federated" => "federatedUsers",
        _ => return false,
    };
    list(params, member).iter().any(|allowed| {
        allowed == p
            || Pattern::new(allowed, false).matches(p)
            || (kind == "AWS" && principal_account(p) == Some(allowed.as_str()))
    })
}

/// Whether a statement's condition keeps it to the listed IP addresses or VPCs.
fn condition_restricts(st: &Value, params: &Params) -> bool {
    let within = |path: &str, member: &str| {
        let allowed = list(params, member);
        let given = as_list(st.pointer(path));
        !allowed.is_empty()
            && !given.is_empty()
            && given.iter().all(|g| allowed.iter().any(|a| a == g))
    };
    within("/Condition/IpAddress/aws:SourceIp", "ipAddresses")
        || within("/Condition/StringEquals/aws:SourceVpc", "vpcIds")
}

/// `S3_BUCKET_POLICY_GRANTEE_CHECK`: every Allow statement of the bucket policy grants only
/// to the principals, IP addresses or VPCs the parameters list (no policy is compliant).
pub fn policy_grantee(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let stray: Vec<String> = policy_allows(s)
        .iter()
        .filter(|st| !condition_restricts(st, params))
        .flat_map(principals)
        .filter(|(k, p)| !grantee_allowed(k, p, params))
        .map(|(_, p)| p)
        .collect();
    Verdict::check(
        stray.is_empty(),
        format!(
            "The bucket policy grants access to principals not allowed: {}.",
            stray.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::params_of as params;
    use serde_json::json;

    fn bucket(facts: Value) -> Snapshot {
        Snapshot {
            resource_type: "AWS::S3::Bucket".into(),
            resource_id: "b".into(),
            facts,
            ..Snapshot::default()
        }
    }

    #[test]
    fn lifecycle_rules_meet_the_targets() {
        let now = Utc::now();
        let b = bucket(json!({"lifecycle": {"Rules": [
            {"Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}}]}}));
        assert_eq!(
            lifecycle_policy(&b, &Params::new(), now).compliance,
            "COMPLIANT"
        );
        let want = params(&[("targetExpirationDays", "30"), ("targetPrefix", "logs/")]);
        assert_eq!(lifecycle_policy(&b, &want, now).compliance, "COMPLIANT");
        let other = params(&[("targetExpirationDays", "60")]);
        assert_eq!(
            lifecycle_policy(&b, &other, now).compliance,
            "NON_COMPLIANT"
        );
        assert_eq!(
            lifecycle_policy(&bucket(json!({})), &Params::new(), now).compliance,
            "NON_COMPLIANT"
        );
    }

    #[test]
    fn grantees_and_foreign_actions_are_judged() {
        let now = Utc::now();
        let policy = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999900009999:root"},"Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::b"}]}"#;
        let b = bucket(json!({"policy": policy, "account": "111122223333"}));
        let ok = params(&[("awsPrincipals", "999900009999")]);
        assert_eq!(policy_grantee(&b, &ok, now).compliance, "COMPLIANT");
        let other = params(&[("awsPrincipals", "111122223333")]);
        assert_eq!(policy_grantee(&b, &other, now).compliance, "NON_COMPLIANT");
        let banned = params(&[("blacklistedActionPattern", "s3:DeleteBucket")]);
        assert_eq!(
            blacklisted_actions(&b, &banned, now).compliance,
            "NON_COMPLIANT"
        );
        let own = bucket(json!({"policy": policy, "account": "999900009999"}));
        assert_eq!(
            blacklisted_actions(&own, &banned, now).compliance,
            "COMPLIANT"
        );
    }
}
