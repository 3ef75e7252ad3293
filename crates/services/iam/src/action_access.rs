//! Action last-accessed data: when each IAM user or role last used each action (recorded by
//! the server from real requests, batched with the service-level data), the catalogue of the
//! tracked services' actions, and the `TrackedActionsLastAccessed` of an `ACTION_LEVEL` job.
//!
//! The tracked services are those whose every action Rampart knows (the operations of the
//! generated AWS model plus the permission-only actions); their actions are recorded as
//! `prefix:Action` with AWS's casing.

use std::collections::BTreeMap;

use rampart_kit::db::Db;
use rampart_model::ServiceOp;
use serde_json::{json, Value};

use super::{
    common::{find, read_doc, ts, Res},
    last_accessed::{LastUse, UseDoc},
};

/// Entity kind of an IAM entity's per-action last access (name key: the entity's ARN); the
/// document is a [`UseDoc`] keyed by `prefix:Action`.
pub const ACTION_ACCESS: &str = "iam:action-access";

/// Permission-only actions of the tracked services (no API operation of that name).
const EXTRA: [(&str, &str); 8] = [
    ("iam", "PassRole"),
    ("sts", "TagSession"),
    ("sts", "SetSourceIdentity"),
    ("sts", "SetContext"),
    ("sts", "GetServiceBearerToken"),
    ("kms", "ReEncryptFrom"),
    ("kms", "ReEncryptTo"),
    ("kms", "SynchronizeMultiRegionKey"),
];

/// The service prefixes whose actions are tracked.
pub const TRACKED: [&str; 5] = ["iam", "sts", "kms", "secretsmanager", "organizations"];

/// The actions (AWS's casing, without prefix) of the tracked service `prefix`.
pub fn actions_of(prefix: &str) -> Option<Vec<&'static str>> {
    let mut ops: Vec<&'static str> = match prefix {
        "iam" => names::<rampart_model::iam::Op>(),
        "sts" => names::<rampart_model::sts::Op>(),
        "kms" => names::<rampart_model::kms::Op>(),
        "secretsmanager" => names::<rampart_model::secretsmanager::Op>(),
        "organizations" => names::<rampart_model::organizations::Op>(),
        _ => return None,
    };
    ops.extend(EXTRA.iter().filter(|(s, _)| *s == prefix).map(|(_, a)| *a));
    ops.sort_unstable();
    ops.dedup();
    Some(ops)
}

fn names<O: ServiceOp>() -> Vec<&'static str> {
    O::all().iter().map(|o| o.name()).collect()
}

/// Whether `prefix` is a tracked service.
pub fn is_tracked(prefix: &str) -> bool {
    TRACKED.contains(&prefix)
}

/// Merges `newer` into `into`, keeping each key's latest use.
pub fn merge(into: &mut UseDoc, newer: &UseDoc) {
    for (k, u) in newer {
        match into.get(k) {
            Some(old) if old.at >= u.at => {}
            _ => {
                into.insert(k.clone(), u.clone());
            }
        }
    }
}

/// The recorded action last uses of the entity `arn`.
pub async fn uses_of(db: &mut Db<'_>, account: &str, arn: &str) -> Res<UseDoc> {
    Ok(match find(db, account, ACTION_ACCESS, arn).await? {
        Some(e) => read_doc(&e)?,
        None => UseDoc::new(),
    })
}

/// The `TrackedActionsLastAccessed` of service `ns` over the action uses of each entity: one
/// entry per action used (the latest use among the entities), sorted by action name; `None`
/// when the service is not tracked or none of its actions was used.
pub fn tracked(ns: &str, uses: &[(String, UseDoc)]) -> Option<Vec<Value>> {
    if !is_tracked(ns) {
        return None;
    }
    let mut latest: BTreeMap<&str, (&String, &LastUse)> = BTreeMap::new();
    for (who, doc) in uses {
        for (action, used) in doc {
            let Some((prefix, name)) = action.split_once(':') else {
                continue;
            };
            if prefix != ns {
                continue;
            }
            match latest.get(name) {
                Some((_, old)) if old.at >= used.at => {}
                _ => {
                    latest.insert(name, (who, used));
                }
            }
        }
    }
    if latest.is_empty() {
        return None;
    }
    Some(
        latest
            .into_iter()
            .map(|(name, (who, used))| {
                json!({
                    "ActionName": name,
                    "LastAccessedEntity": who,
                    "LastAccessedRegion": used.region,
                    "LastAccessedTime": ts(used.at),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn used(days_ago: i64, region: &str) -> LastUse {
        LastUse {
            at: Utc::now() - Duration::days(days_ago),
            region: region.into(),
        }
    }

    #[test]
    fn tracked_services_list_their_cased_actions() {
        let kms = actions_of("kms").unwrap_or_default();
        assert!(kms.contains(&"Encrypt") && kms.contains(&"ReEncryptFrom"));
        assert!(actions_of("iam").unwrap_or_default().contains(&"PassRole"));
        assert!(actions_of("s3").is_none());
    }

    #[test]
    fn merge_keeps_the_latest_use() {
        let mut into = UseDoc::from([("kms:Encrypt".to_string(), used(1, "a"))]);
        let newer = UseDoc::from([
            ("kms:Encrypt".to_string(), used(5, "b")),
            ("kms:Decrypt".to_string(), used(0, "c")),
        ]);
        merge(&mut into, &newer);
        assert_eq!(into["kms:Encrypt"].region, "a");
        assert_eq!(into["kms:Decrypt"].region, "c");
    }

    #[test]
    fn tracked_actions_take_the_latest_entity_per_action() {
        let uses = vec![
            (
                "arn:aws:iam::111122223333:user/a".to_string(),
                UseDoc::from([
                    ("kms:Encrypt".to_string(), used(3, "us-east-1")),
                    ("kms:Decrypt".to_string(), used(1, "us-east-1")),
                    ("sts:GetCallerIdentity".to_string(), used(1, "us-east-1")),
                ]),
            ),
            (
                "arn:aws:iam::111122223333:user/b".to_string(),
                UseDoc::from([("kms:Encrypt".to_string(), used(2, "eu-west-1"))]),
            ),
        ];
        let got = tracked("kms", &uses).unwrap_or_default();
        let names: Vec<&str> = got
            .iter()
            .filter_map(|v| v["ActionName"].as_str())
            .collect();
        assert_eq!(names, vec!["Decrypt", "Encrypt"]);
        assert_eq!(
            got[1]["LastAccessedEntity"],
            json!("arn:aws:iam::111122223333:user/b")
        );
        assert_eq!(got[1]["LastAccessedRegion"], json!("eu-west-1"));
        assert!(tracked("secretsmanager", &uses).is_none());
        assert!(tracked("cloudtrail", &uses).is_none());
    }
}
