//! Re-analysis on change: the audit records of the calls that change a resource's access
//! (trust policies, key policies and grants, secret policies, bucket policies, ACLs, Block
//! Public Access, Object Ownership, creations and deletions) name the resources to analyse
//! again, for every external access analyzer whose zone and region hold them; the records of
//! IAM changes, bucket creations, deletions and policies, and organization changes name the
//! accounts whose internal access analyzers analyse their zones again. The server's audit-stream
//! consumer calls [`react`] with each batch of records; nothing polls the resources.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, error::ServiceError};
use serde_json::Value;

use crate::{
    analysis::Zone,
    engine, internal_scan,
    model::{self, Analyzer},
    resources::{self, Locator},
};

/// What a record asks to analyse again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touch {
    /// One resource of `account`, by locator (by type when it cannot be found).
    One(String, &'static str, LocatorKey),
    /// Every resource of a type owned by `account`.
    All(String, &'static str),
    /// The membership of organizations changed: organization analyzers scan again.
    Organizations,
}

/// A locator in a sortable form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocatorKey(String, String, String);

impl LocatorKey {
    fn of(l: &Locator) -> LocatorKey {
        match l {
            Locator::Role(n) => LocatorKey("role".into(), n.clone(), String::new()),
            Locator::Key(n) => LocatorKey("key".into(), n.clone(), String::new()),
            Locator::SecretArn(n) => LocatorKey("secret-arn".into(), n.clone(), String::new()),
            Locator::SecretName { region, name } => {
                LocatorKey("secret".into(), name.clone(), region.clone())
            }
            Locator::Bucket(n) => LocatorKey("bucket".into(), n.clone(), String::new()),
        }
    }

    fn locator(&self) -> Locator {
        let LocatorKey(kind, name, region) = self;
        match kind.as_str() {
            "role" => Locator::Role(name.clone()),
            "key" => Locator::Key(name.clone()),
            "secret-arn" => Locator::SecretArn(name.clone()),
            "secret" => Locator::SecretName {
                region: region.clone(),
                name: name.clone(),
            },
            _ => Locator::Bucket(name.clone()),
        }
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for p in path {
        at = at.get(*p)?;
    }
    at.as_str()
}

/// What one successful call's audit record (CloudTrail event JSON) asks to analyse again.
pub fn touches(event: &Value) -> Vec<Touch> {
    if event.get("errorCode").is_some() || event.get("readOnly") == Some(&Value::Bool(true)) {
        return Vec::new();
    }
    let source = s(event, &["eventSource"]).unwrap_or_default();
    let name = s(event, &["eventName"]).unwrap_or_default();
    let account = s(event, &["recipientAccountId"])
        .or_else(|| s(event, &["userIdentity", "accountId"]))
        .unwrap_or_default()
        .to_string();
    let region = s(event, &["awsRegion"]).unwrap_or_default();
    let req = |k: &str| s(event, &["requestParameters", k]).map(str::to_string);
    let one = |rtype, l: Locator| vec![Touch::One(account.clone(), rtype, LocatorKey::of(&l))];
    let all = |rtype| vec![Touch::All(account.clone(), rtype)];
    match (source, name) {
        ("iam.amazonaws.com", "CreateRole" | "UpdateAssumeRolePolicy") => match req("roleName") {
            Some(n) => one(resources::ROLE, Locator::Role(n)),
            None => all(resources::ROLE),
        },
        ("iam.amazonaws.com", "DeleteRole" | "DeleteServiceLinkedRole") => all(resources::ROLE),
        ("kms.amazonaws.com", "CreateKey" | "ReplicateKey") => {
            match s(event, &["responseElements", "keyMetadata", "keyId"]) {
                Some(id) => one(resources::KEY, Locator::Key(id.to_string())),
                None => all(resources::KEY),
            }
        }
        (
            "kms.amazonaws.com",
            "PutKeyPolicy"
            | "CreateGrant"
            | "RevokeGrant"
            | "ScheduleKeyDeletion"
            | "CancelKeyDeletion",
        ) => match req("keyId") {
            Some(id) if !id.starts_with("alias/") && !id.contains(":alias/") => {
                let id = id.rsplit('/').next().unwrap_or_default().to_string();
                one(resources::KEY, Locator::Key(id))
            }
            _ => all(resources::KEY),
        },
        ("kms.amazonaws.com", "RetireGrant" | "DeleteKey") => all(resources::KEY),
        ("secretsmanager.amazonaws.com", "CreateSecret") => {
            match s(event, &["responseElements", "arn"]) {
                Some(arn) => one(resources::SECRET, Locator::SecretArn(arn.to_string())),
                None => all(resources::SECRET),
            }
        }
        (
            "secretsmanager.amazonaws.com",
            "PutResourcePolicy" | "DeleteResourcePolicy" | "RestoreSecret",
        ) => match req("secretId") {
            Some(id) if id.starts_with("arn:") => one(resources::SECRET, Locator::SecretArn(id)),
            Some(name) => one(
                resources::SECRET,
                Locator::SecretName {
                    region: region.to_string(),
                    name,
                },
            ),
            None => all(resources::SECRET),
        },
        ("secretsmanager.amazonaws.com", "DeleteSecret") => all(resources::SECRET),
        (
            "s3.amazonaws.com",
            "CreateBucket"
            | "PutBucketPolicy"
            | "DeleteBucketPolicy"
            | "PutBucketAcl"
            | "PutPublicAccessBlock"
            | "DeletePublicAccessBlock"
            | "PutBucketOwnershipControls"
            | "DeleteBucketOwnershipControls",
        ) => match req("bucket") {
            Some(b) => one(resources::BUCKET, Locator::Bucket(b)),
            None => all(resources::BUCKET),
        },
        ("s3.amazonaws.com", "DeleteBucket") => all(resources::BUCKET),
        ("s3control.amazonaws.com", "PutPublicAccessBlock" | "DeletePublicAccessBlock") => {
            let owner = req("accountId").unwrap_or_else(|| account.clone());
            vec![Touch::All(owner, resources::BUCKET)]
        }
        (
            "organizations.amazonaws.com",
            "AcceptHandshake"
            | "CreateAccountResult"
            | "RemoveAccountFromOrganization"
            | "LeaveOrganization"
            | "DeleteOrganization"
            | "CloseAccount",
        ) => vec![Touch::Organizations],
        _ => Vec::new(),
    }
}

/// Whose internal access a successful call's audit record may change: `Some(Some(account))`
/// for a change to the IAM principals or policies, or to the buckets, of an account;
/// `Some(None)` for an organization change (SCPs, RCPs, membership), which may change any
/// zone's; `None` for nothing.
pub fn internal_touch(event: &Value) -> Option<Option<String>> {
    if event.get("errorCode").is_some() || event.get("readOnly") == Some(&Value::Bool(true)) {
        return None;
    }
    let account = s(event, &["recipientAccountId"])
        .or_else(|| s(event, &["userIdentity", "accountId"]))
        .unwrap_or_default()
        .to_string();
    match (
        s(event, &["eventSource"]).unwrap_or_default(),
        s(event, &["eventName"]).unwrap_or_default(),
    ) {
        ("iam.amazonaws.com", _) => Some(Some(account)),
        (
            "s3.amazonaws.com",
            "CreateBucket" | "DeleteBucket" | "PutBucketPolicy" | "DeleteBucketPolicy",
        ) => Some(Some(account)),
        ("organizations.amazonaws.com", _) => Some(None),
        _ => None,
    }
}

/// Analyses again the internal access analyzers whose zones `events` touched.
async fn react_internal(
    db: &mut Db<'_>,
    events: &[Value],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let touched: BTreeSet<Option<String>> = events.iter().filter_map(internal_touch).collect();
    if touched.contains(&None) {
        return internal_scan::run_covering(db, None, now).await;
    }
    for account in touched.into_iter().flatten() {
        internal_scan::run_covering(db, Some(&account), now).await?;
    }
    Ok(())
}

/// Analyses again what `events` touched, for every analyzer that covers it.
pub async fn react(
    db: &mut Db<'_>,
    events: &[Value],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    react_internal(db, events, now).await?;
    let mut wanted: BTreeSet<Touch> = BTreeSet::new();
    for e in events {
        wanted.extend(touches(e));
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let mut analyzers: Vec<(Analyzer, Zone)> = Vec::new();
    for a in model::every(db)
        .await?
        .into_iter()
        .filter(Analyzer::is_external)
    {
        let z = engine::zone(db, &a).await?;
        analyzers.push((a, z));
    }
    if analyzers.is_empty() {
        return Ok(());
    }
    let mut last: BTreeMap<usize, String> = BTreeMap::new();
    for touch in wanted {
        match touch {
            Touch::Organizations => {
                for (a, _) in analyzers.iter_mut().filter(|(a, _)| a.doc.org_id.is_some()) {
                    engine::scan(db, a, now).await?;
                }
            }
            Touch::One(account, rtype, key) => {
                match resources::find(db, &account, &key.locator()).await? {
                    Some(r) => {
                        for (i, (a, z)) in analyzers.iter().enumerate() {
                            if engine::covers(a, z, &r.owner, r.region.as_deref()) {
                                engine::reconcile(db, a, z, &r.arn, Some(&r), now).await?;
                                last.insert(i, r.arn.clone());
                            }
                        }
                    }
                    None => rescan_type(db, &analyzers, &account, rtype, now).await?,
                }
            }
            Touch::All(account, rtype) => rescan_type(db, &analyzers, &account, rtype, now).await?,
        }
    }
    for (i, arn) in last {
        if let Some((a, _)) = analyzers.get_mut(i) {
            engine::note_analyzed(db, a, &arn, now).await?;
        }
    }
    Ok(())
}

/// Analyses again every resource of `rtype` that `account` owns, for the analyzers covering
/// the account, and resolves the findings of those that are gone.
async fn rescan_type(
    db: &mut Db<'_>,
    analyzers: &[(Analyzer, Zone)],
    account: &str,
    rtype: &'static str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    for (a, z) in analyzers {
        if !engine::covers(a, z, account, None) {
            continue;
        }
        let mut seen = BTreeSet::new();
        for r in resources::list(db, account, rtype, &a.doc.region).await? {
            engine::reconcile(db, a, z, &r.arn, Some(&r), now).await?;
            seen.insert(r.arn.clone());
        }
        engine::forget_missing(db, a, z, &seen, Some((rtype, account)), now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_name_what_to_analyse_again() {
        let e = json!({"eventSource": "iam.amazonaws.com", "eventName": "UpdateAssumeRolePolicy",
            "recipientAccountId": "111122223333", "requestParameters": {"roleName": "r"}});
        assert_eq!(
            touches(&e),
            vec![Touch::One(
                "111122223333".into(),
                resources::ROLE,
                LocatorKey::of(&Locator::Role("r".into()))
            )]
        );
        let failed = json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateRole",
            "errorCode": "EntityAlreadyExists", "requestParameters": {"roleName": "r"}});
        assert!(touches(&failed).is_empty());
        let key = json!({"eventSource": "kms.amazonaws.com", "eventName": "PutKeyPolicy",
            "recipientAccountId": "111122223333",
            "requestParameters": {"keyId": "arn:aws:kms:us-east-1:111122223333:key/k1"}});
        assert_eq!(
            touches(&key),
            vec![Touch::One(
                "111122223333".into(),
                resources::KEY,
                LocatorKey::of(&Locator::Key("k1".into()))
            )]
        );
        let bpa = json!({"eventSource": "s3control.amazonaws.com", "eventName": "PutPublicAccessBlock",
            "recipientAccountId": "111122223333", "requestParameters": {"accountId": "111122223333"}});
        assert_eq!(
            touches(&bpa),
            vec![Touch::All("111122223333".into(), resources::BUCKET)]
        );
        let read = json!({"eventSource": "s3.amazonaws.com", "eventName": "GetBucketPolicy",
            "readOnly": true, "requestParameters": {"bucket": "b"}});
        assert!(touches(&read).is_empty());
    }

    #[test]
    fn records_name_the_zones_whose_internal_access_to_analyse_again() {
        let me = || Some(Some("111122223333".to_string()));
        let attach = json!({"eventSource": "iam.amazonaws.com", "eventName": "DetachRolePolicy",
            "recipientAccountId": "111122223333"});
        assert_eq!(internal_touch(&attach), me());
        let policy = json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
            "recipientAccountId": "111122223333"});
        assert_eq!(internal_touch(&policy), me());
        let object = json!({"eventSource": "s3.amazonaws.com", "eventName": "PutObject",
            "recipientAccountId": "111122223333"});
        assert_eq!(internal_touch(&object), None);
        let scp = json!({"eventSource": "organizations.amazonaws.com", "eventName": "AttachPolicy",
            "recipientAccountId": "111122223333"});
        assert_eq!(internal_touch(&scp), Some(None));
        let failed = json!({"eventSource": "iam.amazonaws.com", "eventName": "PutRolePolicy",
            "errorCode": "NoSuchEntity"});
        assert_eq!(internal_touch(&failed), None);
    }
}
