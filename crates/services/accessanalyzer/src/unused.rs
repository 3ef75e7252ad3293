//! Unused access (pure): what an unused access analyzer finds in the facts of one IAM role or
//! user, against a window of `unusedAccessAge` days ending now.
//!
//! - A role whose last use (its `RoleLastUsed` or its latest recorded service access) is older
//!   than the window, or that was never used and is older than the window, is an
//!   `UnusedIAMRole`; it then has no `UnusedPermission` findings (the role finding covers them).
//! - An active access key not used in the window (never used: created before it) is an
//!   `UnusedIAMUserAccessKey`; a console password likewise an `UnusedIAMUserPassword`.
//! - Each service namespace an Allow statement of the entity's identity policies reaches, and
//!   which the entity did not use in the window, is an `UnusedPermission`. For the services
//!   whose actions IAM tracks, the finding lists the granted actions not used in the window
//!   (`actions`, each with its `lastAccessed`), and a service used in the window still has a
//!   finding when some granted action of it was not. An entity younger than the window has
//!   none.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rampart_kit::timestamp::ts;
use serde_json::{json, Value};

/// `UnusedIAMRole`.
pub const UNUSED_ROLE: &str = "UnusedIAMRole";
/// `UnusedIAMUserAccessKey`.
pub const UNUSED_KEY: &str = "UnusedIAMUserAccessKey";
/// `UnusedIAMUserPassword`.
pub const UNUSED_PASSWORD: &str = "UnusedIAMUserPassword";
/// `UnusedPermission`.
pub const UNUSED_PERMISSION: &str = "UnusedPermission";
/// The finding types, as `GetFindingsStatistics` lists them.
pub const TYPES: [&str; 4] = [UNUSED_ROLE, UNUSED_KEY, UNUSED_PASSWORD, UNUSED_PERMISSION];

/// An access key of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// The key id.
    pub id: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it was last used.
    pub last_used: Option<DateTime<Utc>>,
    /// Whether it is active (inactive keys are not findings).
    pub active: bool,
}

/// A user's console password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordFacts {
    /// When it was last set.
    pub changed: DateTime<Utc>,
    /// When it was last used to sign in.
    pub last_used: Option<DateTime<Utc>>,
}

/// What the analysis knows of one IAM role or user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityFacts {
    /// The ARN.
    pub arn: String,
    /// `AWS::IAM::Role` or `AWS::IAM::User`.
    pub resource_type: String,
    /// The owning account.
    pub owner: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// A role's `RoleLastUsed` date.
    pub role_last_used: Option<DateTime<Utc>>,
    /// Last use of each service namespace (the recorded service last-accessed data).
    pub services: BTreeMap<String, DateTime<Utc>>,
    /// The service namespaces the identity policies allow (wildcards expanded).
    pub allowed: BTreeSet<String>,
    /// Last use of each tracked action (`prefix:Action`).
    pub actions: BTreeMap<String, DateTime<Utc>>,
    /// The tracked actions the identity policies allow, by service namespace.
    pub allowed_actions: BTreeMap<String, BTreeSet<String>>,
    /// A user's access keys.
    pub keys: Vec<KeyFacts>,
    /// A user's console password.
    pub password: Option<PasswordFacts>,
    /// Tags (for the analysis rule's exclusions).
    pub tags: BTreeMap<String, String>,
}

/// One unused access finding as computed: `key` tells apart findings of the same entity and
/// type (the key id, the namespace); `details` is the `FindingDetails` member.
#[derive(Debug, Clone, PartialEq)]
pub struct Unused {
    /// The finding type.
    pub finding_type: &'static str,
    /// The distinguishing key.
    pub key: String,
    /// The `FindingDetails` union member.
    pub details: Value,
}

fn details(member: &str, last: Option<DateTime<Utc>>, mut extra: Value) -> Value {
    if let (Some(t), Some(o)) = (last, extra.as_object_mut()) {
        o.insert("lastAccessed".into(), json!(ts(t)));
    }
    json!({ member: extra })
}

/// Whether something last used at `last` (never: created at `created`) is unused in the
/// window starting at `since`.
fn stale(last: Option<DateTime<Utc>>, created: DateTime<Utc>, since: DateTime<Utc>) -> bool {
    last.unwrap_or(created) < since
}

/// The unused access of `e` with `age_days` of window ending at `now`.
pub fn findings(e: &EntityFacts, age_days: u32, now: DateTime<Utc>) -> Vec<Unused> {
    let since = now - Duration::days(i64::from(age_days));
    let mut out = Vec::new();
    let last_any = e.services.values().copied().chain(e.role_last_used).max();
    if e.resource_type == crate::resources::ROLE && stale(last_any, e.created, since) {
        out.push(Unused {
            finding_type: UNUSED_ROLE,
            key: String::new(),
            details: details("unusedIamRoleDetails", last_any, json!({})),
        });
        return out;
    }
    for k in e.keys.iter().filter(|k| k.active) {
        if stale(k.last_used, k.created, since) {
            out.push(Unused {
                finding_type: UNUSED_KEY,
                key: k.id.clone(),
                details: details(
                    "unusedIamUserAccessKeyDetails",
                    k.last_used,
                    json!({ "accessKeyId": k.id }),
                ),
            });
        }
    }
    if let Some(p) = &e.password {
        if stale(p.last_used, p.changed, since) {
            out.push(Unused {
                finding_type: UNUSED_PASSWORD,
                key: String::new(),
                details: details("unusedIamUserPasswordDetails", p.last_used, json!({})),
            });
        }
    }
    if e.created < since {
        for ns in &e.allowed {
            if let Some(u) = unused_permission(e, ns, since) {
                out.push(u);
            }
        }
    }
    out
}

/// The `UnusedPermission` finding of service `ns`, if any: the service is unused in the
/// window, or (a tracked service) some granted action of it is.
fn unused_permission(e: &EntityFacts, ns: &str, since: DateTime<Utc>) -> Option<Unused> {
    let last = e.services.get(ns).copied();
    let unused_actions: Vec<Value> = e
        .allowed_actions
        .get(ns)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let used = e.actions.get(a).copied();
            if used.is_some_and(|t| t >= since) {
                return None;
            }
            let mut o = json!({ "action": a });
            if let (Some(t), Some(m)) = (used, o.as_object_mut()) {
                m.insert("lastAccessed".into(), json!(ts(t)));
            }
            Some(o)
        })
        .collect();
    if last.is_some_and(|t| t >= since) && unused_actions.is_empty() {
        return None;
    }
    let mut extra = json!({ "serviceNamespace": ns });
    if let (false, Some(o)) = (unused_actions.is_empty(), extra.as_object_mut()) {
        o.insert("actions".into(), Value::Array(unused_actions));
    }
    Some(Unused {
        finding_type: UNUSED_PERMISSION,
        key: ns.to_string(),
        details: details("unusedPermissionDetails", last, extra),
    })
}

/// The service namespaces the Allow statements of `documents` (policy JSON texts) reach:
/// each action's prefix, a wildcarded prefix (`*`, `s*`, a `NotAction`) expanded over `known`.
pub fn allowed_namespaces<'a>(
    documents: impl IntoIterator<Item = &'a str>,
    known: &[&str],
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for text in documents {
        let Ok(doc) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let statements = match doc.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => Vec::new(),
        };
        for s in statements {
            if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let mut prefixes: Vec<String> = Vec::new();
            if s.get("NotAction").is_some() {
                prefixes.push("*".into());
            }
            match s.get("Action") {
                Some(Value::String(a)) => prefixes.push(a.clone()),
                Some(Value::Array(list)) => {
                    prefixes.extend(list.iter().filter_map(Value::as_str).map(str::to_string))
                }
                _ => {}
            }
            for p in prefixes {
                let ns = p.split(':').next().unwrap_or_default().to_ascii_lowercase();
                if ns.contains(['*', '?']) {
                    let pattern = rampart_policy::wildcard::Pattern::new(&ns, true);
                    out.extend(
                        known
                            .iter()
                            .filter(|k| pattern.matches(k))
                            .map(|k| k.to_string()),
                    );
                } else if !ns.is_empty() {
                    out.insert(ns);
                }
            }
        }
    }
    out
}

/// Whether an analysis rule exclusion (`AnalysisRuleCriteria`) covers the entity: its account
/// is listed, or it has every tag of one of the listed tag maps (an empty value: any value).
pub fn excluded(exclusions: &[Value], e: &EntityFacts) -> bool {
    exclusions.iter().any(|c| {
        let by_account = c
            .get("accountIds")
            .and_then(Value::as_array)
            .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(e.owner.as_str())));
        let by_tags = c
            .get("resourceTags")
            .and_then(Value::as_array)
            .is_some_and(|maps| {
                maps.iter().filter_map(Value::as_object).any(|m| {
                    !m.is_empty()
                        && m.iter().all(|(k, v)| {
                            let want = v.as_str().unwrap_or_default();
                            e.tags
                                .get(k)
                                .is_some_and(|have| want.is_empty() || have == want)
                        })
                })
            });
        by_account || by_tags
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(n)
    }

    fn role(created: i64) -> EntityFacts {
        EntityFacts {
            arn: "arn:aws:iam::111122223333:role/r".into(),
            resource_type: crate::resources::ROLE.into(),
            owner: "111122223333".into(),
            created: day(created),
            ..Default::default()
        }
    }

    fn types(found: &[Unused]) -> Vec<(&str, &str)> {
        found
            .iter()
            .map(|u| (u.finding_type, u.key.as_str()))
            .collect()
    }

    #[test]
    fn a_role_never_used_past_the_window_is_unused() {
        let r = role(0);
        let found = findings(&r, 30, day(31));
        assert_eq!(types(&found), vec![(UNUSED_ROLE, "")]);
        assert_eq!(found[0].details, json!({ "unusedIamRoleDetails": {} }));
        assert!(findings(&r, 30, day(29)).is_empty());
    }

    #[test]
    fn a_role_used_in_the_window_has_its_unused_services_only() {
        let mut r = role(0);
        r.services.insert("kms".into(), day(40));
        r.services.insert("sts".into(), day(1));
        r.allowed = ["kms", "sts", "s3"].iter().map(|s| s.to_string()).collect();
        let found = findings(&r, 30, day(50));
        assert_eq!(
            types(&found),
            vec![(UNUSED_PERMISSION, "s3"), (UNUSED_PERMISSION, "sts")]
        );
        assert_eq!(
            found[1].details["unusedPermissionDetails"]["lastAccessed"],
            json!(ts(day(1)))
        );
    }

    #[test]
    fn tracked_services_list_their_unused_actions_even_when_the_service_is_used() {
        let mut r = role(0);
        r.services.insert("kms".into(), day(45));
        r.actions.insert("kms:Encrypt".into(), day(45));
        r.actions.insert("kms:Decrypt".into(), day(2));
        r.allowed = ["kms", "sts"].iter().map(|s| s.to_string()).collect();
        r.services.insert("sts".into(), day(45));
        r.actions.insert("sts:GetCallerIdentity".into(), day(45));
        r.allowed_actions.insert(
            "kms".into(),
            ["kms:Encrypt", "kms:Decrypt", "kms:Sign"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        r.allowed_actions
            .insert("sts".into(), ["sts:GetCallerIdentity".to_string()].into());
        let found = findings(&r, 30, day(50));
        assert_eq!(types(&found), vec![(UNUSED_PERMISSION, "kms")]);
        assert_eq!(
            found[0].details,
            json!({ "unusedPermissionDetails": {
                "serviceNamespace": "kms",
                "lastAccessed": ts(day(45)),
                "actions": [
                    { "action": "kms:Decrypt", "lastAccessed": ts(day(2)) },
                    { "action": "kms:Sign" },
                ],
            }})
        );
    }

    #[test]
    fn role_last_used_counts_as_use() {
        let mut r = role(0);
        r.role_last_used = Some(day(45));
        assert!(findings(&r, 30, day(50)).is_empty());
        let found = findings(&r, 30, day(80));
        assert_eq!(
            found[0].details["unusedIamRoleDetails"]["lastAccessed"],
            json!(ts(day(45)))
        );
    }

    #[test]
    fn keys_and_passwords_age_from_last_use_or_creation() {
        let mut u = role(0);
        u.resource_type = crate::resources::USER.into();
        u.keys = vec![
            KeyFacts {
                id: "AKIAOLD".into(),
                created: day(0),
                last_used: Some(day(5)),
                active: true,
            },
            KeyFacts {
                id: "AKIANEW".into(),
                created: day(0),
                last_used: Some(day(45)),
                active: true,
            },
            KeyFacts {
                id: "AKIAOFF".into(),
                created: day(0),
                last_used: None,
                active: false,
            },
        ];
        u.password = Some(PasswordFacts {
            changed: day(0),
            last_used: None,
        });
        let found = findings(&u, 30, day(50));
        assert_eq!(
            types(&found),
            vec![(UNUSED_KEY, "AKIAOLD"), (UNUSED_PASSWORD, "")]
        );
        assert_eq!(
            found[0].details["unusedIamUserAccessKeyDetails"]["accessKeyId"],
            json!("AKIAOLD")
        );
    }

    #[test]
    fn namespaces_come_from_allow_statements_with_wildcards_expanded() {
        let docs = [
            r#"{"Statement":[{"Effect":"Allow","Action":["KMS:Encrypt","s3:Get*"],"Resource":"*"},
                {"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"s*:List*","Resource":"*"}}"#,
        ];
        let got = allowed_namespaces(docs, &["secretsmanager", "sts", "iam"]);
        let want: BTreeSet<String> = ["kms", "s3", "secretsmanager", "sts"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn exclusions_match_accounts_and_tags() {
        let mut r = role(0);
        r.tags.insert("team".into(), "ops".into());
        assert!(excluded(&[json!({"resourceTags": [{"team": ""}]})], &r));
        assert!(excluded(&[json!({"resourceTags": [{"team": "ops"}]})], &r));
        assert!(!excluded(&[json!({"resourceTags": [{"team": "dev"}]})], &r));
        assert!(excluded(&[json!({"accountIds": ["111122223333"]})], &r));
        assert!(!excluded(&[json!({"accountIds": ["444455556666"]})], &r));
    }
}
