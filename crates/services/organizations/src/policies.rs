//! Organization policies: SCPs, RCPs and the management policy types, the policy types enabled
//! on the root, attachments to the root, OUs and accounts, and effective policies.

use chrono::{DateTime, Utc};
use rampart_policy::PolicyKind;
use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{find, managed_org, paged, readable_org, req, Org, OrgError, Res},
    management,
    model::{self, PolicyDoc, RootDoc},
    tree::{self, Node},
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, read_doc, save_doc, to_text},
    timestamp::ts,
};

/// Most characters in an SCP or RCP.
pub const MAX_SCP_SIZE: usize = 5120;
/// Most characters in a tag, backup or other management policy.
pub const MAX_TAG_POLICY_SIZE: usize = 10_000;
/// Most characters in an AI services opt-out policy.
pub const MAX_AI_OPT_OUT_SIZE: usize = 2_500;
/// Most SCPs (or RCPs) attached to one target.
pub const MAX_PER_TARGET: usize = 5;
/// Most management policies of one type attached to one target.
pub const MAX_TAG_POLICIES_PER_TARGET: usize = 10;

/// Creates the organization's copy of a type's AWS-managed policy, if missing.
pub async fn ensure_managed_policy(
    db: &mut Db<'_>,
    org: &Org,
    policy_type: &str,
    now: DateTime<Utc>,
) -> Res<()> {
    let Some((id, name, description, content)) = model::managed_policy(policy_type) else {
        return Ok(());
    };
    if find(db, org, model::POLICY, id).await?.is_some() {
        return Ok(());
    }
    let d = PolicyDoc {
        org_id: org.id.clone(),
        policy_id: id.into(),
        policy_type: policy_type.into(),
        description: description.into(),
        content: content.into(),
        aws_managed: true,
        tags: Vec::new(),
    };
    db.entities()
        .create(&Entity {
            account_id: org.management.clone(),
            kind: model::POLICY.into(),
            name: name.into(),
            name_key: id.into(),
            id: model::managed_policy_entity_id(&org.id, id),
            path: "/".into(),
            arn: model::policy_arn(org.partition(), &org.management, &org.id, policy_type, id),
            created_at: now,
            updated_at: now,
            doc: to_text(&d)?,
        })
        .await?;
    Ok(())
}

/// Attaches a type's AWS-managed policy to a target (no-op for types without one).
pub async fn attach_default(
    db: &mut Db<'_>,
    org: &Org,
    target: &str,
    policy_type: &str,
) -> Res<()> {
    if let Some((id, ..)) = model::managed_policy(policy_type) {
        db.links()
            .add(&org.management, model::LINK_ATTACHED, target, id)
            .await?;
    }
    Ok(())
}

/// Attaches the AWS-managed policy of every type enabled on the root to a new target, as AWS
/// does for new OUs and accounts.
pub async fn attach_defaults(db: &mut Db<'_>, org: &Org, target: &str) -> Res<()> {
    let root = tree::root(db, org).await?;
    let d: RootDoc = read_doc(&root)?;
    for t in &d.policy_types {
        attach_default(db, org, target, t).await?;
    }
    Ok(())
}

/// The `PolicySummary` structure.
pub fn summary_json(e: &Entity, d: &PolicyDoc) -> Value {
    json!({
        "Id": e.name_key,
        "Arn": e.arn,
        "Name": e.name,
        "Description": d.description,
        "Type": d.policy_type,
        "AwsManaged": d.aws_managed,
    })
}

fn check_type(t: &str) -> Res<()> {
    if model::POLICY_TYPES.contains(&t) {
        Ok(())
    } else {
        Err(OrgError::invalid(
            "INVALID_ENUM",
            "You specified an invalid value for the policy type.",
        )
        .into())
    }
}

/// Validates a policy's content for its type (syntax, grammar and size).
pub fn check_content(policy_type: &str, content: &str) -> Res<()> {
    let (limit, kind) = match policy_type {
        model::SCP => (MAX_SCP_SIZE, Some(PolicyKind::Scp)),
        model::RCP => (MAX_SCP_SIZE, Some(PolicyKind::Rcp)),
        "AISERVICES_OPT_OUT_POLICY" => (MAX_AI_OPT_OUT_SIZE, None),
        _ => (MAX_TAG_POLICY_SIZE, None),
    };
    if content.chars().count() > limit {
        return Err(OrgError::constraint(
            "POLICY_CONTENT_LIMIT_EXCEEDED",
            "You attempted to create a policy that is larger than the maximum size.",
        )
        .into());
    }
    match kind {
        Some(k) => rampart_policy::Policy::parse(content, k)
            .map(|_| ())
            .map_err(|_| OrgError::MalformedPolicyDocumentException.into()),
        None => management::validate(policy_type, content)
            .map_err(|_| OrgError::MalformedPolicyDocumentException.into()),
    }
}

fn check_name(name: &str) -> Res<()> {
    if name.is_empty() || name.chars().count() > 128 {
        return Err(OrgError::invalid(
            "INVALID_INPUT",
            "A policy name must be 1 to 128 characters long.",
        )
        .into());
    }
    Ok(())
}

/// Every policy of the organization.
pub async fn all(db: &mut Db<'_>, org: &Org) -> Res<Vec<(Entity, PolicyDoc)>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(&org.management, model::POLICY, "/", after.as_deref(), 1000)
            .await?;
        for e in &page.items {
            out.push((e.clone(), read_doc::<PolicyDoc>(e)?));
        }
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    Ok(out)
}

async fn load(db: &mut Db<'_>, org: &Org, id: &str) -> Res<(Entity, PolicyDoc)> {
    let e = find(db, org, model::POLICY, id)
        .await?
        .ok_or(OrgError::PolicyNotFoundException)?;
    let d = read_doc(&e)?;
    Ok((e, d))
}

async fn enabled_types(db: &mut Db<'_>, org: &Org) -> Res<Vec<String>> {
    let root = tree::root(db, org).await?;
    Ok(read_doc::<RootDoc>(&root)?.policy_types)
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let name = req(input, "Name")?;
    let description = req(input, "Description")?;
    let content = req(input, "Content")?;
    let policy_type = req(input, "Type")?;
    check_type(policy_type)?;
    check_name(name)?;
    check_content(policy_type, content)?;
    if org.doc.feature_set != "ALL" {
        return Err(OrgError::PolicyTypeNotAvailableForOrganizationException.into());
    }
    if all(db, &org)
        .await?
        .iter()
        .any(|(e, d)| e.name == name && d.policy_type == policy_type)
    {
        return Err(OrgError::DuplicatePolicyException.into());
    }
    let id = model::new_policy_id()?;
    let d = PolicyDoc {
        org_id: org.id.clone(),
        policy_id: id.clone(),
        policy_type: policy_type.into(),
        description: description.into(),
        content: content.into(),
        aws_managed: false,
        tags: super::tags::from_input(input)?,
    };
    let e = Entity {
        account_id: org.management.clone(),
        kind: model::POLICY.into(),
        name: name.into(),
        name_key: id.clone(),
        id: id.clone(),
        path: "/".into(),
        arn: model::policy_arn(org.partition(), &org.management, &org.id, policy_type, &id),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&d)?,
    };
    db.entities().create(&e).await?;
    Ok(json!({"Policy": {"PolicySummary": summary_json(&e, &d), "Content": d.content}}))
}

fn not_managed(d: &PolicyDoc) -> Res<()> {
    if d.aws_managed {
        return Err(OrgError::invalid(
            "INVALID_INPUT",
            "You can't modify or delete an AWS managed policy.",
        )
        .into());
    }
    Ok(())
}

pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let (mut e, mut d) = load(db, &org, req(input, "PolicyId")?).await?;
    not_managed(&d)?;
    if let Some(name) = input.get("Name").and_then(Value::as_str) {
        check_name(name)?;
        if name != e.name
            && all(db, &org)
                .await?
                .iter()
                .any(|(o, od)| o.name == name && od.policy_type == d.policy_type)
        {
            return Err(OrgError::DuplicatePolicyException.into());
        }
        e.name = name.into();
    }
    if let Some(description) = input.get("Description").and_then(Value::as_str) {
        d.description = description.into();
    }
    if let Some(content) = input.get("Content").and_then(Value::as_str) {
        check_content(&d.policy_type, content)?;
        d.content = content.into();
    }
    save_doc(db, e.clone(), &d, ctx.now).await?;
    bump(db).await?;
    Ok(json!({"Policy": {"PolicySummary": summary_json(&e, &d), "Content": d.content}}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let (e, d) = load(db, &org, req(input, "PolicyId")?).await?;
    not_managed(&d)?;
    if !targets_of(db, &org, &e.name_key).await?.is_empty() {
        return Err(OrgError::PolicyInUseException.into());
    }
    db.entities()
        .delete(&org.management, model::POLICY, &e.name_key)
        .await?;
    Ok(json!({}))
}

pub async fn describe(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let (e, d) = load(db, &org, req(input, "PolicyId")?).await?;
    Ok(json!({"Policy": {"PolicySummary": summary_json(&e, &d), "Content": d.content}}))
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let filter = req(input, "Filter")?;
    check_type(filter)?;
    let items = all(db, &org)
        .await?
        .iter()
        .filter(|(_, d)| d.policy_type == filter)
        .map(|(e, d)| summary_json(e, d))
        .collect();
    paged("Policies", items, input)
}

/// A target (root, OU or account) of the organization; `TargetNotFoundException` otherwise.
async fn target(db: &mut Db<'_>, org: &Org, id: &str) -> Res<Entity> {
    let kind = match tree::node_of(id) {
        Some(Node::Root) => model::ROOT,
        Some(Node::Ou) => model::OU,
        Some(Node::Account) => model::MEMBER,
        None => return Err(OrgError::TargetNotFoundException.into()),
    };
    find(db, org, kind, id)
        .await?
        .ok_or_else(|| OrgError::TargetNotFoundException.into())
}

/// The policies of one type attached to a target.
pub async fn attached(
    db: &mut Db<'_>,
    org: &Org,
    target: &str,
    policy_type: &str,
) -> Res<Vec<(Entity, PolicyDoc)>> {
    let mut out = Vec::new();
    for id in db
        .links()
        .targets(&org.management, model::LINK_ATTACHED, target)
        .await?
    {
        if let Some(e) = find(db, org, model::POLICY, &id).await? {
            let d: PolicyDoc = read_doc(&e)?;
            if d.policy_type == policy_type {
                out.push((e, d));
            }
        }
    }
    Ok(out)
}

async fn targets_of(db: &mut Db<'_>, org: &Org, policy_id: &str) -> Res<Vec<String>> {
    Ok(db
        .links()
        .sources(model::LINK_ATTACHED, policy_id)
        .await?
        .into_iter()
        .filter(|(account, _)| *account == org.management)
        .map(|(_, from)| from)
        .collect())
}

pub async fn attach(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let (p, d) = load(db, &org, req(input, "PolicyId")?).await?;
    let t = target(db, &org, req(input, "TargetId")?).await?;
    if !enabled_types(db, &org).await?.contains(&d.policy_type) {
        return Err(OrgError::PolicyTypeNotEnabledException.into());
    }
    let current = attached(db, &org, &t.name_key, &d.policy_type).await?;
    if current.iter().any(|(e, _)| e.name_key == p.name_key) {
        return Err(OrgError::DuplicatePolicyAttachmentException.into());
    }
    let max = if model::is_authorization(&d.policy_type) {
        MAX_PER_TARGET
    } else {
        MAX_TAG_POLICIES_PER_TARGET
    };
    if current.len() >= max {
        return Err(OrgError::constraint(
            "POLICY_NUMBER_LIMIT_EXCEEDED",
            "You attempted to exceed the number of policies of a certain type that can be attached to an entity at one time.",
        )
        .into());
    }
    db.links()
        .add(
            &org.management,
            model::LINK_ATTACHED,
            &t.name_key,
            &p.name_key,
        )
        .await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn detach(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let (p, d) = load(db, &org, req(input, "PolicyId")?).await?;
    let t = target(db, &org, req(input, "TargetId")?).await?;
    let current = attached(db, &org, &t.name_key, &d.policy_type).await?;
    if !current.iter().any(|(e, _)| e.name_key == p.name_key) {
        return Err(OrgError::PolicyNotAttachedException.into());
    }
    // Every target keeps at least one SCP (and RCP): without one, nothing would be allowed.
    if model::is_authorization(&d.policy_type) && current.len() == 1 {
        return Err(OrgError::constraint(
            "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to detach a policy from an entity that would cause the entity to have fewer than the minimum number of policies of a certain type required.",
        )
        .into());
    }
    db.links()
        .remove(
            &org.management,
            model::LINK_ATTACHED,
            &t.name_key,
            &p.name_key,
        )
        .await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_for_target(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let t = target(db, &org, req(input, "TargetId")?).await?;
    let filter = req(input, "Filter")?;
    check_type(filter)?;
    let items = attached(db, &org, &t.name_key, filter)
        .await?
        .iter()
        .map(|(e, d)| summary_json(e, d))
        .collect();
    paged("Policies", items, input)
}

pub async fn list_targets(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let (p, _) = load(db, &org, req(input, "PolicyId")?).await?;
    let mut items = Vec::new();
    for id in targets_of(db, &org, &p.name_key).await? {
        let Ok(t) = target(db, &org, &id).await else {
            continue;
        };
        let (kind, name) = match tree::node_of(&id) {
            Some(Node::Root) => ("ROOT", t.name.clone()),
            Some(Node::Ou) => ("ORGANIZATIONAL_UNIT", t.name.clone()),
            _ => {
                let name = db
                    .accounts()
                    .get(&id)
                    .await?
                    .map(|a| a.name)
                    .unwrap_or_default();
                ("ACCOUNT", name)
            }
        };
        items.push(json!({"TargetId": id, "Arn": t.arn, "Name": name, "Type": kind}));
    }
    paged("Targets", items, input)
}

pub async fn set_type(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    enable: bool,
) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let root_id = req(input, "RootId")?;
    let policy_type = req(input, "PolicyType")?;
    check_type(policy_type)?;
    if root_id != org.doc.root_id {
        return Err(OrgError::RootNotFoundException.into());
    }
    if org.doc.feature_set != "ALL" {
        return Err(OrgError::PolicyTypeNotAvailableForOrganizationException.into());
    }
    let root = tree::root(db, &org).await?;
    let mut d: RootDoc = read_doc(&root)?;
    let on = d.policy_types.iter().any(|t| t == policy_type);
    if enable && on {
        return Err(OrgError::PolicyTypeAlreadyEnabledException.into());
    }
    if !enable && !on {
        return Err(OrgError::PolicyTypeNotEnabledException.into());
    }
    let mut targets = vec![root.name_key.clone()];
    targets.extend(all_ou_ids(db, &org).await?);
    targets.extend(tree::all_member_ids(db, &org.management).await?);
    if enable {
        ensure_managed_policy(db, &org, policy_type, ctx.now).await?;
        for t in &targets {
            attach_default(db, &org, t, policy_type).await?;
        }
        d.policy_types.push(policy_type.to_string());
    } else {
        // Disabling a type detaches every policy of that type, as in AWS.
        for t in &targets {
            for (p, _) in attached(db, &org, t, policy_type).await? {
                db.links()
                    .remove(&org.management, model::LINK_ATTACHED, t, &p.name_key)
                    .await?;
            }
        }
        d.policy_types.retain(|t| t != policy_type);
    }
    save_doc(db, root.clone(), &d, ctx.now).await?;
    bump(db).await?;
    let root = tree::root(db, &org).await?;
    Ok(json!({"Root": tree::root_json(&root)?}))
}

async fn all_ou_ids(db: &mut Db<'_>, org: &Org) -> Res<Vec<String>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(&org.management, model::OU, "/", after.as_deref(), 1000)
            .await?;
        out.extend(page.items.iter().map(|e| e.name_key.clone()));
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    Ok(out)
}

/// `DescribeEffectivePolicy`: the policies of a management type attached to the account and
/// its ancestors, merged root first by AWS's inheritance rules ([`management::Effective`]).
pub async fn effective(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let policy_type = req(input, "PolicyType")?;
    let org = super::common::caller_org(db, ctx).await?;
    let target_id = input
        .get("TargetId")
        .and_then(Value::as_str)
        .unwrap_or(&ctx.principal.account_id)
        .to_string();
    if target_id != ctx.principal.account_id && !org.is_management(ctx) {
        return Err(super::common::not_management());
    }
    if !model::POLICY_TYPES.contains(&policy_type) || model::is_authorization(policy_type) {
        return Err(OrgError::invalid(
            "UNSUPPORTED_POLICY_TYPE_IN_EFFECTIVE_POLICY",
            "You can't get the effective policy for this policy type.",
        )
        .into());
    }
    if !matches!(tree::node_of(&target_id), Some(Node::Account)) {
        return Err(OrgError::invalid(
            "INVALID_INPUT",
            "Specifying an organization root or organizational unit (OU) as the target is not supported.",
        )
        .into());
    }
    target(db, &org, &target_id).await?;
    let mut merged = management::Effective::default();
    let mut found = false;
    let mut updated = org.entity.created_at;
    for level in tree::path_to(db, &org, &target_id).await? {
        let mut docs = Vec::new();
        for (e, d) in attached(db, &org, &level, policy_type).await? {
            if let Ok(v) = serde_json::from_str::<Value>(&d.content) {
                docs.push(if policy_type == model::TAG_POLICY {
                    management::fold_tag_keys(v)
                } else {
                    v
                });
                found = true;
                updated = updated.max(e.updated_at);
            }
        }
        merged.apply_level(&docs);
    }
    if !found {
        return Err(OrgError::EffectivePolicyNotFoundException.into());
    }
    Ok(json!({"EffectivePolicy": {
        "PolicyContent": Value::Object(merged.doc).to_string(),
        "LastUpdatedTimestamp": ts(updated),
        "TargetId": target_id,
        "PolicyType": policy_type,
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_checked_for_its_type() {
        let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert!(check_content(model::SCP, allow).is_ok());
        // An RCP may only deny (apart from the RCPFullAWSAccess shape), with Principal "*".
        let rcp_allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
        assert_eq!(
            check_content(model::RCP, rcp_allow).unwrap_err().code,
            "MalformedPolicyDocumentException"
        );
        let with_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
        assert!(check_content(model::SCP, with_principal).is_err());
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"iam:{}","Resource":"*"}}]}}"#,
            "A".repeat(MAX_SCP_SIZE)
        );
        assert_eq!(
            check_content(model::SCP, &big).unwrap_err().code,
            "ConstraintViolationException"
        );
        assert!(check_content(model::TAG_POLICY, r#"{"tags":{}}"#).is_ok());
        assert!(check_content(model::TAG_POLICY, "[1]").is_err());
        // Management policies follow the operator grammar, with their type's size limit.
        assert_eq!(
            check_content("BACKUP_POLICY", r#"{"plans":{"@@append":"x"}}"#)
                .unwrap_err()
                .code,
            "MalformedPolicyDocumentException"
        );
        let opt_out = format!(
            r#"{{"services":{{"default":{{"opt_out_policy":{{"@@assign":"{}"}}}}}}}}"#,
            "x".repeat(MAX_AI_OPT_OUT_SIZE)
        );
        assert!(check_content("CHATBOT_POLICY", &opt_out).is_ok());
        assert_eq!(
            check_content("AISERVICES_OPT_OUT_POLICY", &opt_out)
                .unwrap_err()
                .code,
            "ConstraintViolationException"
        );
    }
}
