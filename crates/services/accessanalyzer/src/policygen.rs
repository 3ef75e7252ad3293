//! Policy generation's pure part: which actions a principal called successfully, from its
//! audit records, and the IAM policy that allows them.
//!
//! A record counts when it has no `errorCode` and its `userIdentity.arn` is the principal: the
//! user's own ARN, or for a role any of its sessions
//! (`arn:<partition>:sts::<account>:assumed-role/<role name>/<session>`). The action is
//! `<prefix>:<eventName>`, the prefix being the first label of `eventSource`
//! (`iam.amazonaws.com` → `iam`); the S3 calls whose IAM action has another name
//! (`ListBuckets` → `s3:ListAllMyBuckets`, `HeadObject` → `s3:GetObject`...) are renamed.

use std::collections::{BTreeMap, BTreeSet};

use rampart_kit::trail_principal::TrailPrincipal;
use serde_json::{json, Value};

/// The actions called, by service prefix, each sorted.
pub type Actions = BTreeMap<String, BTreeSet<String>>;

/// Adds the action of one CloudTrail record (`event_json`) to `into` when the principal made
/// it and it succeeded.
pub fn note(into: &mut Actions, principal: &TrailPrincipal, event_json: &str) {
    let Ok(event) = serde_json::from_str::<Value>(event_json) else {
        return;
    };
    if event.get("errorCode").is_some_and(|c| !c.is_null()) {
        return;
    }
    let caller = event
        .pointer("/userIdentity/arn")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !principal.made(caller) {
        return;
    }
    let source = event.get("eventSource").and_then(Value::as_str);
    let name = event.get("eventName").and_then(Value::as_str);
    let (Some(source), Some(name)) = (source, name) else {
        return;
    };
    let prefix = source.split('.').next().unwrap_or_default();
    if prefix.is_empty() || name.is_empty() {
        return;
    }
    let action = iam_action(prefix, name);
    into.entry(prefix.to_string())
        .or_default()
        .insert(format!("{prefix}:{action}"));
}

/// The IAM action of an API call whose name differs from its event name (S3's), else the
/// event name.
fn iam_action<'a>(prefix: &str, event_name: &'a str) -> &'a str {
    match (prefix, event_name) {
        ("s3", "ListBuckets") => "ListAllMyBuckets",
        ("s3", "HeadBucket" | "ListObjects" | "ListObjectsV2") => "ListBucket",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "DeleteObjects") => "DeleteObject",
        _ => event_name,
    }
}

/// The generated policy: one Allow statement per service, its actions sorted, on `*`.
pub fn policy(actions: &Actions) -> Value {
    let statements: Vec<Value> = actions
        .values()
        .filter(|a| !a.is_empty())
        .map(|a| json!({ "Effect": "Allow", "Action": a, "Resource": "*" }))
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_policy::{Policy, PolicyKind};

    fn record(arn: &str, source: &str, name: &str, error: Option<&str>) -> String {
        let mut e = json!({
            "eventSource": source,
            "eventName": name,
            "userIdentity": { "type": "AssumedRole", "arn": arn },
        });
        if let (Some(code), Some(o)) = (error, e.as_object_mut()) {
            o.insert("errorCode".into(), json!(code));
        }
        e.to_string()
    }

    #[test]
    fn a_roles_successful_calls_become_one_statement_per_service() {
        let role = TrailPrincipal::of_arn("arn:aws:iam::111122223333:role/app/Worker");
        let Some(role) = role else {
            panic!("a role ARN");
        };
        let session = "arn:aws:sts::111122223333:assumed-role/Worker/s1";
        let other = "arn:aws:sts::111122223333:assumed-role/WorkerTwo/s1";
        let records = [
            record(session, "s3.amazonaws.com", "ListBuckets", None),
            record(session, "kms.amazonaws.com", "ListKeys", None),
            record(session, "iam.amazonaws.com", "ListRoles", None),
            record(session, "iam.amazonaws.com", "GetUser", None),
            record(session, "iam.amazonaws.com", "ListRoles", None),
            record(
                session,
                "iam.amazonaws.com",
                "CreateUser",
                Some("AccessDenied"),
            ),
            record(other, "kms.amazonaws.com", "CreateKey", None),
            "not json".to_string(),
        ];
        let mut actions = Actions::new();
        for r in &records {
            note(&mut actions, &role, r);
        }
        let doc = policy(&actions);
        assert_eq!(
            doc["Statement"],
            json!([
                {"Effect":"Allow","Action":["iam:GetUser","iam:ListRoles"],"Resource":"*"},
                {"Effect":"Allow","Action":["kms:ListKeys"],"Resource":"*"},
                {"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":"*"},
            ])
        );
        assert!(Policy::parse(&doc.to_string(), PolicyKind::Identity).is_ok());
    }
}
