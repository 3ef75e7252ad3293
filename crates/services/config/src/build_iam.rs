//! Snapshots of IAM users, groups, roles and managed policies, read from what IAM stores
//! (its documents, attachment and membership links, access keys, MFA devices, login profile).

use std::collections::BTreeMap;

use rampart_iam::mfa_device::LINK_MFA;
use rampart_iam::model::{
    GroupDoc, PolicyDoc, RoleDoc, Tag, UserDoc, GROUP, LINK_ATTACHED, LINK_BOUNDARY, LINK_MEMBER,
};
use rampart_iam::passwords::{LoginDoc, LOGIN_PROFILE};
use rampart_kit::db::Db;
use rampart_kit::timestamp::ts;
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::error::ConfigResult;
use crate::model::Snapshot;

/// The region IAM's items carry.
pub const GLOBAL: &str = "global";

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

fn policy_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn inline_list(policies: &BTreeMap<String, String>) -> Vec<Value> {
    policies
        .iter()
        .map(|(name, doc)| json!({ "policyName": name, "policyDocument": doc }))
        .collect()
}

async fn attached(db: &mut Db<'_>, e: &Entity) -> ConfigResult<Vec<String>> {
    Ok(db
        .links()
        .targets(&e.account_id, LINK_ATTACHED, &e.id)
        .await?)
}

fn attached_list(arns: &[String]) -> Vec<Value> {
    arns.iter()
        .map(|a| json!({ "policyName": policy_name(a), "policyArn": a }))
        .collect()
}

fn policy_relationships(arns: &[String], verb: &str) -> Vec<Value> {
    arns.iter()
        .map(|a| {
            let aws_managed = rampart_kit::Partition::of_arn(a)
                .and_then(|p| p.strip_iam_arn(a))
                .is_some_and(|rest| rest.starts_with("aws:"));
            let managed = if aws_managed {
                "AWSManagedPolicy"
            } else {
                "CustomerManagedPolicy"
            };
            json!({
                "resourceType": "AWS::IAM::Policy",
                "resourceName": policy_name(a),
                "relationshipName": format!("{verb} {managed}"),
            })
        })
        .collect()
}

/// A user's snapshot.
pub async fn user(db: &mut Db<'_>, e: &Entity) -> ConfigResult<Snapshot> {
    let doc: UserDoc = doc_of(e)?;
    let account = &e.account_id;
    let arns = attached(db, e).await?;
    let mut groups = Vec::new();
    for id in db.links().targets(account, LINK_MEMBER, &e.id).await? {
        if let Some(g) = db.entities().get_by_id(&id).await? {
            if g.kind == GROUP {
                groups.push(g.name);
            }
        }
    }
    let keys: Vec<Value> = db
        .credentials()
        .list_for_principal(account, &e.id)
        .await?
        .into_iter()
        .filter(|k| k.session.is_none())
        .map(|k| {
            json!({
                "id": k.access_key_id,
                "active": k.status.as_str() == "Active",
                "created": ts(k.created_at),
                "lastUsed": k.last_used.map(|u| ts(u.at)),
            })
        })
        .collect();
    let mfa = db.links().targets(account, LINK_MFA, &e.id).await?.len();
    let login = match db.entities().get(account, LOGIN_PROFILE, &e.id).await? {
        Some(l) => Some(doc_of::<LoginDoc>(&l)?),
        None => None,
    };
    let mut relationships: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({"resourceType": "AWS::IAM::Group", "resourceName": g,
                   "relationshipName": "Is contained in Group"})
        })
        .collect();
    relationships.extend(policy_relationships(&arns, "Is attached to"));
    Ok(Snapshot {
        resource_type: "AWS::IAM::User".into(),
        resource_id: e.id.clone(),
        resource_name: Some(e.name.clone()),
        arn: e.arn.clone(),
        region: GLOBAL.into(),
        created: Some(e.created_at),
        configuration: json!({
            "path": e.path,
            "userName": e.name,
            "userId": e.id,
            "arn": e.arn,
            "createDate": ts(e.created_at),
            "userPolicyList": inline_list(&doc.inline_policies),
            "groupList": groups,
            "attachedManagedPolicies": attached_list(&arns),
            "permissionsBoundary": doc.permissions_boundary.as_ref().map(|b| json!({
                "permissionsBoundaryType": "PermissionsBoundaryPolicy",
                "permissionsBoundaryArn": b,
            })),
            "tags": doc.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>(),
        }),
        supplementary: BTreeMap::new(),
        relationships,
        tags: tags_of(&doc.tags),
        facts: json!({
            "accessKeys": keys,
            "mfaDevices": mfa,
            "consoleAccess": login.is_some(),
            "passwordLastUsed": doc.password_last_used.or(login.as_ref().and_then(|l| l.last_used)).map(ts),
            "passwordCreated": login.as_ref().map(|l| ts(l.changed_at)),
        }),
    })
}

/// A group's snapshot.
pub async fn group(db: &mut Db<'_>, e: &Entity) -> ConfigResult<Snapshot> {
    let doc: GroupDoc = doc_of(e)?;
    let arns = attached(db, e).await?;
    Ok(Snapshot {
        resource_type: "AWS::IAM::Group".into(),
        resource_id: e.id.clone(),
        resource_name: Some(e.name.clone()),
        arn: e.arn.clone(),
        region: GLOBAL.into(),
        created: Some(e.created_at),
        configuration: json!({
            "path": e.path,
            "groupName": e.name,
            "groupId": e.id,
            "arn": e.arn,
            "createDate": ts(e.created_at),
            "groupPolicyList": inline_list(&doc.inline_policies),
            "attachedManagedPolicies": attached_list(&arns),
        }),
        supplementary: BTreeMap::new(),
        relationships: policy_relationships(&arns, "Is attached to"),
        tags: BTreeMap::new(),
        facts: Value::Null,
    })
}

/// A role's snapshot.
pub async fn role(db: &mut Db<'_>, e: &Entity) -> ConfigResult<Snapshot> {
    let doc: RoleDoc = doc_of(e)?;
    let arns = attached(db, e).await?;
    Ok(Snapshot {
        resource_type: "AWS::IAM::Role".into(),
        resource_id: e.id.clone(),
        resource_name: Some(e.name.clone()),
        arn: e.arn.clone(),
        region: GLOBAL.into(),
        created: Some(e.created_at),
        configuration: json!({
            "path": e.path,
            "roleName": e.name,
            "roleId": e.id,
            "arn": e.arn,
            "createDate": ts(e.created_at),
            "assumeRolePolicyDocument": doc.assume_role_policy,
            "description": doc.description,
            "maxSessionDuration": doc.max_session_duration,
            "rolePolicyList": inline_list(&doc.inline_policies),
            "attachedManagedPolicies": attached_list(&arns),
            "permissionsBoundary": doc.permissions_boundary.as_ref().map(|b| json!({
                "permissionsBoundaryType": "PermissionsBoundaryPolicy",
                "permissionsBoundaryArn": b,
            })),
            "tags": doc.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>(),
        }),
        supplementary: BTreeMap::new(),
        relationships: policy_relationships(&arns, "Is attached to"),
        tags: tags_of(&doc.tags),
        facts: Value::Null,
    })
}

/// A customer-managed policy's snapshot.
pub async fn policy(db: &mut Db<'_>, e: &Entity) -> ConfigResult<Snapshot> {
    let doc: PolicyDoc = doc_of(e)?;
    let attachments = db.links().sources(LINK_ATTACHED, &e.arn).await?.len();
    let boundaries = db.links().sources(LINK_BOUNDARY, &e.arn).await?.len();
    let versions: Vec<Value> = doc
        .versions
        .iter()
        .map(|v| {
            json!({
                "document": v.document,
                "versionId": v.version_id,
                "isDefaultVersion": v.version_id == doc.default_version_id,
                "createDate": ts(v.create_date),
            })
        })
        .collect();
    let default_document = doc
        .versions
        .iter()
        .find(|v| v.version_id == doc.default_version_id)
        .map(|v| v.document.clone());
    Ok(Snapshot {
        resource_type: "AWS::IAM::Policy".into(),
        resource_id: e.id.clone(),
        resource_name: Some(e.name.clone()),
        arn: e.arn.clone(),
        region: GLOBAL.into(),
        created: Some(e.created_at),
        configuration: json!({
            "policyName": e.name,
            "policyId": e.id,
            "arn": e.arn,
            "path": e.path,
            "defaultVersionId": doc.default_version_id,
            "attachmentCount": attachments,
            "permissionsBoundaryUsageCount": boundaries,
            "isAttachable": true,
            "description": doc.description,
            "createDate": ts(e.created_at),
            "updateDate": ts(e.updated_at),
            "policyVersionList": versions,
        }),
        supplementary: BTreeMap::new(),
        relationships: Vec::new(),
        tags: tags_of(&doc.tags),
        facts: json!({ "defaultDocument": default_document }),
    })
}
