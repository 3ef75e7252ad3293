//! Policy generation's pure part: which actions a principal called successfully, from its
//! audit records, and the IAM policy that allows them.
//!
//! A record counts when it has no `errorCode` and its `userIdentity.arn` is the principal: the
//! user's own ARN, or for a role any of its sessions
//! (`arn:<partition>:sts::<account>:assumed-role/<role name>/<session>`). The action is
//! `<prefix>:<eventName>`, the prefix being the first label of `eventSource`
//! (`iam.amazonaws.com` → `iam`); the S3 calls whose IAM action has another name
//! (`ListBuckets` → `s3:ListAllMyBuckets`, `HeadObject` → `s3:GetObject`...) are renamed.
//! The resources each action was called on are kept too ([`crate::policygen_resources`]),
//! `*` standing for a call that named none, for the resource-level policy template.

use std::collections::{BTreeMap, BTreeSet};

use rampart_kit::trail_principal::TrailPrincipal;
use serde_json::{json, Value};

use crate::policygen_resources;

/// The actions called, by service prefix, each sorted.
pub type Actions = BTreeMap<String, BTreeSet<String>>;

/// The resources each action was called on (`*`: a call that named none).
pub type Resources = BTreeMap<String, BTreeSet<String>>;

/// Adds the action of one CloudTrail record (`event_json`) to `into`, and its resources to
/// `resources`, when the principal made it and it succeeded.
pub fn note(
    into: &mut Actions,
    resources: &mut Resources,
    principal: &TrailPrincipal,
    event_json: &str,
) {
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
    let action = format!("{prefix}:{}", iam_action(prefix, name));
    let named =
        policygen_resources::resources_of(prefix, &event).unwrap_or_else(|| vec!["*".to_string()]);
    resources.entry(action.clone()).or_default().extend(named);
    into.entry(prefix.to_string()).or_default().insert(action);
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

/// The generated policy: one Allow statement per service, its actions sorted, on `*`; with
/// `resources` (`includeResourcePlaceholders`), the actions of a service called on named
/// resources only go in statements on those resources instead (one per set of resources,
/// in the order of their first action), the others stay on `*`.
pub fn policy(actions: &Actions, resources: Option<&Resources>) -> Value {
    let mut statements: Vec<Value> = Vec::new();
    for list in actions.values().filter(|a| !a.is_empty()) {
        let mut anywhere: Vec<&String> = Vec::new();
        let mut scoped: Vec<(&BTreeSet<String>, Vec<&String>)> = Vec::new();
        for a in list {
            match resources.and_then(|r| r.get(a)) {
                Some(on) if !on.is_empty() && !on.contains("*") => {
                    match scoped.iter_mut().find(|(set, _)| *set == on) {
                        Some((_, acts)) => acts.push(a),
                        None => scoped.push((on, vec![a])),
                    }
                }
                _ => anywhere.push(a),
            }
        }
        if !anywhere.is_empty() {
            statements.push(json!({ "Effect": "Allow", "Action": anywhere, "Resource": "*" }));
        }
        for (on, acts) in scoped {
            statements.push(json!({ "Effect": "Allow", "Action": acts, "Resource": on }));
        }
    }
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
        let mut resources = Resources::new();
        for r in &records {
            note(&mut actions, &mut resources, &role, r);
        }
        let doc = policy(&actions, None);
        assert_eq!(
            doc["Statement"],
            json!([
                {"Effect":"Allow","Action":["iam:GetUser","iam:ListRoles"],"Resource":"*"},
                {"Effect":"Allow","Action":["kms:ListKeys"],"Resource":"*"},
                {"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":"*"},
            ])
        );
        assert!(Policy::parse(&doc.to_string(), PolicyKind::Identity).is_ok());
        assert_eq!(doc, policy(&actions, Some(&resources)));
    }

    #[test]
    fn named_resources_make_resource_level_statements() {
        let Some(user) = TrailPrincipal::of_arn("arn:aws:iam::111122223333:user/dev") else {
            panic!("a user ARN");
        };
        let me = "arn:aws:iam::111122223333:user/dev";
        let call = |name: &str, params: Value| {
            json!({"eventSource": "kms.amazonaws.com", "eventName": name,
                "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
                "userIdentity": {"type": "IAMUser", "arn": me}, "requestParameters": params})
            .to_string()
        };
        let key = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let records = [
            call("ListKeys", Value::Null),
            call("Encrypt", json!({"keyId": key})),
            call("Decrypt", json!({"keyId": key})),
            call("DescribeKey", json!({"keyId": "alias/app"})),
            call("DescribeKey", json!({"keyId": key})),
            call("TagResource", json!({"keyId": key})),
            call("TagResource", json!({})),
        ];
        let mut actions = Actions::new();
        let mut resources = Resources::new();
        for r in &records {
            note(&mut actions, &mut resources, &user, r);
        }
        let doc = policy(&actions, Some(&resources));
        assert_eq!(
            doc["Statement"],
            json!([
                {"Effect":"Allow","Action":["kms:ListKeys","kms:TagResource"],"Resource":"*"},
                {"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt"],"Resource":[key]},
                {"Effect":"Allow","Action":["kms:DescribeKey"],
                 "Resource":["arn:aws:kms:us-east-1:111122223333:key/${KeyId}", key]},
            ])
        );
        assert!(Policy::parse(&doc.to_string(), PolicyKind::Identity).is_ok());
    }
}
