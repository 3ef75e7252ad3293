//! Checks of IAM's managed rules, over a user's, group's, role's or policy's snapshot.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::managed::{boolean, int, list, Params, Verdict};
use crate::model::Snapshot;

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn days_since(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - t).num_days()
}

fn active_keys(s: &Snapshot) -> Vec<&Value> {
    s.facts
        .get("accessKeys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|k| k.get("active").and_then(Value::as_bool) == Some(true))
                .collect()
        })
        .unwrap_or_default()
}

fn mfa_devices(s: &Snapshot) -> u64 {
    s.facts
        .get("mfaDevices")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn console(s: &Snapshot) -> bool {
    s.facts.get("consoleAccess").and_then(Value::as_bool) == Some(true)
}

fn count(s: &Snapshot, member: &str) -> usize {
    s.configuration
        .get(member)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// `IAM_USER_MFA_ENABLED`: the user has an MFA device.
pub fn user_mfa(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(mfa_devices(s) > 0, "The user has no MFA device enabled.")
}

/// `MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS`: a user with a console password has MFA.
pub fn console_mfa(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    if !console(s) {
        return Verdict::not_applicable();
    }
    Verdict::check(
        mfa_devices(s) > 0,
        "The user has console access without an MFA device.",
    )
}

/// `ACCESS_KEYS_ROTATED`: every active key is younger than `maxAccessKeyAge` days.
pub fn keys_rotated(s: &Snapshot, params: &Params, now: DateTime<Utc>) -> Verdict {
    let max = int(params, "maxAccessKeyAge").unwrap_or(90);
    let old = active_keys(s)
        .into_iter()
        .filter(|k| {
            k.get("created")
                .and_then(time)
                .is_some_and(|t| days_since(t, now) > max)
        })
        .filter_map(|k| k.get("id").and_then(Value::as_str))
        .collect::<Vec<_>>();
    Verdict::check(
        old.is_empty(),
        format!("Access keys older than {max} days: {}.", old.join(", ")),
    )
}

/// `IAM_USER_UNUSED_CREDENTIALS_CHECK`: the password and active keys were used (or created)
/// within `maxCredentialUsageAge` days.
pub fn unused_credentials(s: &Snapshot, params: &Params, now: DateTime<Utc>) -> Verdict {
    let max = int(params, "maxCredentialUsageAge").unwrap_or(90);
    let stale = |used: Option<DateTime<Utc>>, created: Option<DateTime<Utc>>| {
        used.or(created).is_some_and(|t| days_since(t, now) > max)
    };
    let mut unused = Vec::new();
    if console(s) {
        let used = s.facts.get("passwordLastUsed").and_then(time);
        let created = s.facts.get("passwordCreated").and_then(time);
        if stale(used, created) {
            unused.push("password".to_string());
        }
    }
    for k in active_keys(s) {
        let used = k.get("lastUsed").and_then(time);
        let created = k.get("created").and_then(time);
        if stale(used, created) {
            unused.push(
                k.get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("access key")
                    .to_string(),
            );
        }
    }
    Verdict::check(
        unused.is_empty(),
        format!(
            "Credentials unused for more than {max} days: {}.",
            unused.join(", ")
        ),
    )
}

/// `IAM_USER_NO_POLICIES_CHECK`: no policy is attached to the user, managed or inline.
pub fn no_policies(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    let n = count(s, "attachedManagedPolicies") + count(s, "userPolicyList");
    Verdict::check(n == 0, format!("{n} policies are attached to the user."))
}

/// `IAM_USER_GROUP_MEMBERSHIP_CHECK`: the user belongs to a group (one of `groupNames` when
/// given).
pub fn group_membership(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let wanted = list(params, "groupNames");
    let groups: Vec<&str> = s
        .configuration
        .get("groupList")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let ok = if wanted.is_empty() {
        !groups.is_empty()
    } else {
        groups.iter().any(|g| wanted.iter().any(|w| w == g))
    };
    Verdict::check(ok, "The user is not a member of a required group.")
}

/// `IAM_NO_INLINE_POLICY_CHECK`: no inline policy on the user, group or role.
pub fn no_inline(s: &Snapshot, _: &Params, _: DateTime<Utc>) -> Verdict {
    let n = count(s, "userPolicyList") + count(s, "groupPolicyList") + count(s, "rolePolicyList");
    Verdict::check(n == 0, format!("{n} inline policies are embedded."))
}

/// A policy element that is one string or a list of them, as a list.
pub(crate) fn as_list(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The Allow statements of a policy document's JSON text (none when it does not parse).
pub(crate) fn allows_of(text: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements
        .into_iter()
        .filter(|st| st.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .collect()
}

/// The Allow statements of the policy's default version.
pub(crate) fn allow_statements(s: &Snapshot) -> Vec<Value> {
    let text = s
        .facts
        .get("defaultDocument")
        .and_then(Value::as_str)
        .unwrap_or("{}");
    allows_of(text)
}

pub(crate) fn boundary_excluded(s: &Snapshot, params: &Params) -> bool {
    boolean(params, "excludePermissionBoundaryPolicy") == Some(true)
        && s.configuration
            .get("permissionsBoundaryUsageCount")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0)
}

/// `IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS`: no Allow of `"*"` actions on `"*"` resources.
pub fn no_admin(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if boundary_excluded(s, params) {
        return Verdict::not_applicable();
    }
    let admin = allow_statements(s).iter().any(|st| {
        as_list(st.get("Action"))
            .iter()
            .any(|a| *a == "*" || *a == "*:*")
            && as_list(st.get("Resource")).contains(&"*")
    });
    Verdict::check(
        !admin,
        "The policy allows full administrative access (\"Action\": \"*\" on \"Resource\": \"*\").",
    )
}

/// `IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS`: no Allow of a whole service (`"svc:*"`).
pub fn no_full_access(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if boundary_excluded(s, params) {
        return Verdict::not_applicable();
    }
    let full: Vec<String> = allow_statements(s)
        .iter()
        .flat_map(|st| {
            as_list(st.get("Action"))
                .into_iter()
                .filter(|a| a.ends_with(":*"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    Verdict::check(
        full.is_empty(),
        format!("The policy allows full access to: {}.", full.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(facts: Value, configuration: Value) -> Snapshot {
        Snapshot {
            resource_type: "AWS::IAM::User".into(),
            configuration,
            facts,
            ..Snapshot::default()
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn old_active_keys_are_not_rotated() {
        let params = Params::from([("maxAccessKeyAge".to_string(), "30".to_string())]);
        let fresh = user(
            json!({"accessKeys": [{"id": "AKIA1", "active": true, "created": "2026-05-20T00:00:00Z"}]}),
            json!({}),
        );
        assert_eq!(keys_rotated(&fresh, &params, now()).compliance, "COMPLIANT");
        let old = user(
            json!({"accessKeys": [{"id": "AKIA1", "active": true, "created": "2026-01-01T00:00:00Z"}]}),
            json!({}),
        );
        assert_eq!(
            keys_rotated(&old, &params, now()).compliance,
            "NON_COMPLIANT"
        );
        let inactive = user(
            json!({"accessKeys": [{"id": "AKIA1", "active": false, "created": "2026-01-01T00:00:00Z"}]}),
            json!({}),
        );
        assert_eq!(
            keys_rotated(&inactive, &params, now()).compliance,
            "COMPLIANT"
        );
    }

    #[test]
    fn policies_on_users_are_found() {
        let none = user(
            json!({}),
            json!({"attachedManagedPolicies": [], "userPolicyList": []}),
        );
        assert_eq!(
            no_policies(&none, &Params::new(), now()).compliance,
            "COMPLIANT"
        );
        let one = user(
            json!({}),
            json!({"attachedManagedPolicies": [{"policyArn": "arn:aws:iam::aws:policy/X"}]}),
        );
        assert_eq!(
            no_policies(&one, &Params::new(), now()).compliance,
            "NON_COMPLIANT"
        );
    }

    #[test]
    fn admin_statements_are_found() {
        let admin = Snapshot {
            facts: json!({"defaultDocument": r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#}),
            ..Snapshot::default()
        };
        assert_eq!(
            no_admin(&admin, &Params::new(), now()).compliance,
            "NON_COMPLIANT"
        );
        let narrow = Snapshot {
            facts: json!({"defaultDocument": r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#}),
            ..Snapshot::default()
        };
        assert_eq!(
            no_admin(&narrow, &Params::new(), now()).compliance,
            "COMPLIANT"
        );
        assert_eq!(
            no_full_access(&narrow, &Params::new(), now()).compliance,
            "NON_COMPLIANT"
        );
    }
}
