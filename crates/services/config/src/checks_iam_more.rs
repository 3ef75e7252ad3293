//! Checks of the further IAM managed rules: blocked KMS actions in customer managed and inline
//! policies, policies that must not (or must) be attached, groups without users.

use chrono::{DateTime, Utc};
use rampart_policy::wildcard::Pattern;
use serde_json::Value;

use crate::checks_iam::{allow_statements, allows_of, as_list, boundary_excluded};
use crate::managed::{list, Params, Verdict};
use crate::model::Snapshot;

/// Whether `text` matches the wildcard `pattern`, case-insensitively (as actions compare).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    Pattern::new(pattern, true).matches(&text.to_lowercase())
}

/// Whether an action of a statement (`kms:*`, `kms:Re*`, `*`) allows the blocked pattern
/// (`kms:Decrypt*`, `kms:ReEncrypt`): either wildcard covers the other, case-insensitively.
fn action_allows(action: &str, blocked: &str) -> bool {
    let plain = |p: &str| p.trim_end_matches('*').to_string();
    glob(action, blocked) || glob(action, &plain(blocked)) || glob(blocked, action)
}

/// Whether a statement's resources take every KMS key (`*`, `arn:PARTITION:kms:*`,
/// `.../key/*`).
fn every_key(st: &Value) -> bool {
    as_list(st.get("Resource")).iter().any(|r| {
        *r == "*"
            || (rampart_kit::Partition::of_arn(r).is_some_and(|p| p.strip_arn(r, "kms").is_some())
                && r.ends_with('*'))
    })
}

/// The blocked patterns the Allow statements of `text` grant on every KMS key.
fn blocked_allowed(statements: &[Value], blocked: &[String]) -> Vec<String> {
    let mut out: Vec<String> = blocked
        .iter()
        .filter(|b| {
            statements.iter().any(|st| {
                every_key(st)
                    && as_list(st.get("Action"))
                        .iter()
                        .any(|a| action_allows(a, b))
            })
        })
        .cloned()
        .collect();
    out.dedup();
    out
}

/// `IAM_CUSTOMER_POLICY_BLOCKED_KMS_ACTIONS`: the policy's default version allows none of
/// `blockedActionsPatterns` on all KMS keys.
pub fn customer_blocked_kms(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if boundary_excluded(s, params) {
        return Verdict::not_applicable();
    }
    let found = blocked_allowed(
        &allow_statements(s),
        &list(params, "blockedActionsPatterns"),
    );
    Verdict::check(
        found.is_empty(),
        format!(
            "The policy allows blocked KMS actions on all keys: {}.",
            found.join(", ")
        ),
    )
}

/// The inline policies of a user, group or role: (name, document text).
fn inline_policies(s: &Snapshot) -> Vec<(String, String)> {
    ["userPolicyList", "groupPolicyList", "rolePolicyList"]
        .iter()
        .filter_map(|m| s.configuration.get(*m).and_then(Value::as_array))
        .flatten()
        .map(|p| {
            let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
            (
                text("policyName").to_string(),
                text("policyDocument").to_string(),
            )
        })
        .collect()
}

/// `IAM_INLINE_POLICY_BLOCKED_KMS_ACTIONS`: no inline policy of the user, group or role
/// allows one of `blockedActionsPatterns` on all KMS keys.
pub fn inline_blocked_kms(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let blocked = list(params, "blockedActionsPatterns");
    let failing: Vec<String> = inline_policies(s)
        .into_iter()
        .filter(|(_, doc)| !blocked_allowed(&allows_of(doc), &blocked).is_empty())
        .map(|(name, _)| name)
        .collect();
    Verdict::check(
        failing.is_empty(),
        format!(
            "Inline policies allow blocked KMS actions on all keys: {}.",
            failing.join(", ")
        ),
    )
}

/// The ARNs of the managed policies attached to a user, group or role.
fn attached_arns(s: &Snapshot) -> Vec<&str> {
    s.configuration
        .get("attachedManagedPolicies")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("policyArn").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `exceptionList` (`users:[a;b], groups:[c], roles:[d;e]`) names the resource.
fn excepted(s: &Snapshot, params: &Params) -> bool {
    let family = match s.resource_type.as_str() {
        "AWS::IAM::User" => "users",
        "AWS::IAM::Group" => "groups",
        _ => "roles",
    };
    let Some(name) = s.resource_name.as_deref() else {
        return false;
    };
    let text = params.get("exceptionList").map_or("", String::as_str);
    text.split(']').any(|part| {
        let part = part.trim_start_matches([',', ' ']);
        part.split_once(':').is_some_and(|(kind, names)| {
            kind.trim().eq_ignore_ascii_case(family)
                && names
                    .trim()
                    .trim_start_matches('[')
                    .split(';')
                    .any(|n| n.trim() == name)
        })
    })
}

/// `IAM_POLICY_BLACKLISTED_CHECK`: none of `policyArns` is attached to the user, group or
/// role (unless `exceptionList` names it).
pub fn policy_blacklisted(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    if excepted(s, params) {
        return Verdict::not_applicable();
    }
    let banned = list(params, "policyArns");
    let found: Vec<&str> = attached_arns(s)
        .into_iter()
        .filter(|a| banned.iter().any(|b| b == a))
        .collect();
    Verdict::check(
        found.is_empty(),
        format!("Blocked policies are attached: {}.", found.join(", ")),
    )
}

/// `IAM_ROLE_MANAGED_POLICY_CHECK`: every policy of `managedPolicyArns` is attached to the
/// role.
pub fn role_managed_policies(s: &Snapshot, params: &Params, _: DateTime<Utc>) -> Verdict {
    let attached = attached_arns(s);
    let missing: Vec<String> = list(params, "managedPolicyArns")
        .into_iter()
        .filter(|w| !attached.contains(&w.as_str()))
        .collect();
    Verdict::check(
        missing.is_empty(),
        format!(
            "Managed policies not attached to the role: {}.",
            missing.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::params_of as params;
    use serde_json::json;

    #[test]
    fn blocked_kms_actions_on_every_key_are_found() {
        let wide = r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
        let narrow = r#"{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k1"}}"#;
        let p = params(&[("blockedActionsPatterns", "kms:Decrypt*,kms:ReEncryptFrom")]);
        let policy = |doc: &str| Snapshot {
            facts: json!({ "defaultDocument": doc }),
            ..Snapshot::default()
        };
        let now = Utc::now();
        assert_eq!(
            customer_blocked_kms(&policy(wide), &p, now).compliance,
            "NON_COMPLIANT"
        );
        assert_eq!(
            customer_blocked_kms(&policy(narrow), &p, now).compliance,
            "COMPLIANT"
        );
        let user = Snapshot {
            configuration: json!({"userPolicyList": [{"policyName": "p", "policyDocument": wide}]}),
            ..Snapshot::default()
        };
        assert_eq!(
            inline_blocked_kms(&user, &p, now).compliance,
            "NON_COMPLIANT"
        );
    }

    #[test]
    fn blacklisted_policies_and_exceptions() {
        let role = Snapshot {
            resource_type: "AWS::IAM::Role".into(),
            resource_name: Some("Admin".into()),
            configuration: json!({"attachedManagedPolicies": [
                {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]}),
            ..Snapshot::default()
        };
        let now = Utc::now();
        let p = params(&[("policyArns", "arn:aws:iam::aws:policy/AdministratorAccess")]);
        assert_eq!(
            policy_blacklisted(&role, &p, now).compliance,
            "NON_COMPLIANT"
        );
        let mut q = p.clone();
        q.insert(
            "exceptionList".into(),
            "users:[a;b], roles:[x;Admin]".into(),
        );
        assert_eq!(
            policy_blacklisted(&role, &q, now).compliance,
            "NOT_APPLICABLE"
        );
        let want = params(&[(
            "managedPolicyArns",
            "arn:aws:iam::aws:policy/AdministratorAccess,arn:aws:iam::aws:policy/ReadOnlyAccess",
        )]);
        assert_eq!(
            role_managed_policies(&role, &want, now).compliance,
            "NON_COMPLIANT"
        );
    }
}
