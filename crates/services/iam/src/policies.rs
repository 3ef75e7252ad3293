//! Managed policies: lifecycle, versions, attachment to users, groups and roles, tags.
//! AWS-managed policies live under [`AWS_ACCOUNT`] and cannot be changed by customers.

use super::Op;
use crate::common::checked_path;
use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};

use super::{
    common::{
        bump, document, exists_or, find, new_id, opt_bool, opt_str, page, parse_iam_arn, path_of,
        path_prefix_of, read_doc, req_str, save_doc, str_list, tags, ts, write_doc, IamError, Res,
    },
    groups,
    model::{
        self, name_key, PolicyDoc, PolicyVersion, AWS_ACCOUNT, GROUP, LINK_ATTACHED, LINK_BOUNDARY,
        POLICY, ROLE, USER,
    },
    users,
};
use rampart_kit::{
    authz::AuthzRequest,
    context::{CallContext, ContextEntry},
    db::Db,
    error::ServiceError,
    route::Access,
};

/// Managed policies per user, group or role (AWS's default quota).
pub const ATTACHED_PER_ENTITY: usize = 10;
/// Versions per managed policy.
pub const MAX_VERSIONS: usize = 5;

/// The ARN of a customer-managed policy.
pub fn policy_arn(partition: Partition, account: &str, path: &str, name: &str) -> String {
    model::arn(partition, account, "policy", path, name)
}

fn no_such_policy(arn: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable.")).into()
}

/// The managed policy at `arn`, visible to `account` (its own or AWS's), or AWS's errors
/// (`InvalidInput` for a malformed ARN, `NoSuchEntity` for an absent policy).
pub async fn resolve(db: &mut Db<'_>, account: &str, arn: &str) -> Res<Entity> {
    let Some((owner, _, name)) = parse_iam_arn(arn, "policy") else {
        return Err(IamError::InvalidInput(format!("ARN {arn} is not valid.")).into());
    };
    if owner != account && owner != AWS_ACCOUNT {
        return Err(no_such_policy(arn));
    }
    match db.entities().get(owner, POLICY, &name_key(name)).await? {
        Some(e) if e.arn == arn => Ok(e),
        _ => Err(no_such_policy(arn)),
    }
}

/// The managed policy at `arn` (any account's, AWS's included) with its document, if it exists.
pub async fn by_arn(db: &mut Db<'_>, arn: &str) -> Res<Option<(Entity, PolicyDoc)>> {
    let Some((owner, _, name)) = parse_iam_arn(arn, "policy") else {
        return Ok(None);
    };
    match find(db, owner, POLICY, name).await? {
        Some(e) if e.arn == arn => {
            let doc = read_doc(&e)?;
            Ok(Some((e, doc)))
        }
        _ => Ok(None),
    }
}

/// The default version's document of the managed policy at `arn`, if it exists.
pub async fn default_document(db: &mut Db<'_>, account: &str, arn: &str) -> Res<Option<String>> {
    match resolve(db, account, arn).await {
        Ok(e) => {
            let doc: PolicyDoc = read_doc(&e)?;
            Ok(doc.default_document().map(str::to_string))
        }
        Err(err) if err.code == "NoSuchEntity" || err.code == "InvalidInput" => Ok(None),
        Err(err) => Err(err),
    }
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = ctx.principal.account_id.as_str();
    let action = format!("iam:{operation}");
    let policy_arn_ctx = |input: &Value| -> Vec<ContextEntry> {
        opt_str(input, "PolicyArn")
            .map(|a| vec![("iam:PolicyARN".to_string(), vec![a.to_string()])])
            .unwrap_or_default()
    };
    let req = match op {
        Op::CreatePolicy => {
            let name = req_str(input, "PolicyName")?;
            let mut req = AuthzRequest::on(
                &action,
                policy_arn(ctx.partition(), account, &path_of(input), name),
                account,
            );
            req.context = tags::request_context(&tags::from_input(input)?);
            req
        }
        Op::ListPolicies => AuthzRequest::on_any(&action, account),
        Op::AttachUserPolicy | Op::DetachUserPolicy | Op::ListAttachedUserPolicies => {
            let name = req_str(input, "UserName")?;
            users::authz_on_user(&action, name, ctx, store, policy_arn_ctx(input)).await?
        }
        Op::AttachGroupPolicy | Op::DetachGroupPolicy | Op::ListAttachedGroupPolicies => {
            let name = req_str(input, "GroupName")?;
            let arn = groups::group_arn_stored(ctx.partition(), store, account, name).await?;
            let mut req = AuthzRequest::on(&action, arn, account);
            req.context = policy_arn_ctx(input);
            req
        }
        Op::AttachRolePolicy | Op::DetachRolePolicy | Op::ListAttachedRolePolicies => {
            let name = req_str(input, "RoleName")?;
            let mut db = Db::Read(store);
            let mut context = policy_arn_ctx(input);
            let arn = match super::common::find(&mut db, account, ROLE, name).await? {
                Some(e) => {
                    let doc: model::RoleDoc = read_doc(&e)?;
                    context.extend(tags::resource_context(&doc.tags));
                    e.arn
                }
                None => model::arn(ctx.partition(), account, "role", "/", name),
            };
            let mut req = AuthzRequest::on(&action, arn, account);
            req.context = context;
            req
        }
        Op::GetPolicy
        | Op::GetPolicyVersion
        | Op::ListPolicyVersions
        | Op::ListEntitiesForPolicy
        | Op::ListPolicyTags
        | Op::DeletePolicy
        | Op::CreatePolicyVersion
        | Op::DeletePolicyVersion
        | Op::SetDefaultPolicyVersion
        | Op::TagPolicy
        | Op::UntagPolicy => {
            let arn = req_str(input, "PolicyArn")?;
            let owner = parse_iam_arn(arn, "policy").map(|(a, _, _)| a);
            // AWS-owned policies are readable by every account (the caller's identity
            // policies decide) and writable by none (another account's resource).
            let resource_account = match owner {
                Some(AWS_ACCOUNT) if super::route(op).map(|r| r.access) == Some(Access::Read) => {
                    account
                }
                Some(o) => o,
                None => account,
            };
            let mut context = Vec::new();
            let mut db = Db::Read(store);
            if let Ok(e) = resolve(&mut db, account, arn).await {
                let doc: PolicyDoc = read_doc(&e)?;
                context.extend(tags::resource_context(&doc.tags));
            }
            match op {
                Op::TagPolicy => context.extend(tags::request_context(&tags::from_input(input)?)),
                Op::UntagPolicy => {
                    context.push(tags::tag_keys_context(&str_list(input, "TagKeys")))
                }
                _ => {}
            }
            let mut req = AuthzRequest::on(&action, arn.to_string(), resource_account);
            req.context = context;
            req
        }
        _ => return Ok(None),
    };
    Ok(Some(req))
}

/// How many entities of `account` use the policy: (attachments, boundary uses).
async fn usage(db: &mut Db<'_>, account: &str, arn: &str) -> Res<(usize, usize)> {
    let attached = db
        .links()
        .sources(LINK_ATTACHED, arn)
        .await?
        .into_iter()
        .filter(|(a, _)| a == account)
        .count();
    let bounded = db
        .links()
        .sources(LINK_BOUNDARY, arn)
        .await?
        .into_iter()
        .filter(|(a, _)| a == account)
        .count();
    Ok((attached, bounded))
}

/// What a policy output carries beyond the common members.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Lists: neither description nor tags.
    Brief,
    /// `CreatePolicy`: tags, but not the description (as AWS answers).
    Created,
    /// `GetPolicy`: description and tags (an empty list when there are none).
    Full,
}

/// A policy as outputs carry it.
async fn policy_json(db: &mut Db<'_>, account: &str, e: &Entity, detail: Detail) -> Res<Value> {
    let doc: PolicyDoc = read_doc(e)?;
    let (attached, bounded) = usage(db, account, &e.arn).await?;
    let mut m = Map::new();
    m.insert("PolicyName".into(), json!(e.name));
    m.insert("PolicyId".into(), json!(e.id));
    m.insert("Arn".into(), json!(e.arn));
    m.insert("Path".into(), json!(e.path));
    m.insert("DefaultVersionId".into(), json!(doc.default_version_id));
    m.insert("AttachmentCount".into(), json!(attached));
    m.insert("PermissionsBoundaryUsageCount".into(), json!(bounded));
    m.insert("IsAttachable".into(), json!(true));
    if detail == Detail::Full {
        if let Some(d) = &doc.description {
            m.insert("Description".into(), json!(d));
        }
    }
    m.insert("CreateDate".into(), json!(ts(e.created_at)));
    m.insert("UpdateDate".into(), json!(ts(e.updated_at)));
    // GetPolicy always carries Tags (an empty list for none); CreatePolicy only when given.
    if detail == Detail::Full || (detail == Detail::Created && !doc.tags.is_empty()) {
        m.insert("Tags".into(), tags::to_json(&doc.tags));
    }
    Ok(Value::Object(m))
}

fn refuse_aws_owned(e: &Entity, what: &str) -> Res<()> {
    if e.account_id == AWS_ACCOUNT {
        return Err(IamError::AccessDenied(format!(
            "Policy {} is owned by AWS and cannot be {what}.",
            e.arn
        ))
        .into());
    }
    Ok(())
}

pub async fn create_policy(
    input: &Value,
    partition: Partition,
    account: &str,
    now: DateTime<Utc>,
    db: &mut Db<'_>,
) -> Res<Value> {
    let name = req_str(input, "PolicyName")?;
    let text = req_str(input, "PolicyDocument")?;
    let path = checked_path(input, "Path")?;
    let tag_list = tags::from_input(input)?;
    document::validate_managed(partition, text)?;
    let doc = PolicyDoc {
        description: opt_str(input, "Description").map(str::to_string),
        default_version_id: "v1".into(),
        versions: vec![PolicyVersion {
            version_id: "v1".into(),
            document: text.to_string(),
            create_date: now,
        }],
        next_version: 2,
        tags: tag_list,
        aws_managed: false,
    };
    let mut e = Entity {
        account_id: account.to_string(),
        kind: POLICY.into(),
        name: name.to_string(),
        name_key: name_key(name),
        id: new_id("ANPA")?,
        path: path.clone(),
        arn: policy_arn(partition, account, &path, name),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    };
    write_doc(&mut e, &doc, now)?;
    db.entities().create(&e).await.map_err(|err| {
        exists_or(
            err,
            format!("A policy called {name} already exists. Duplicate names are not allowed."),
        )
    })?;
    Ok(json!({ "Policy": policy_json(db, account, &e, Detail::Created).await? }))
}

pub async fn get_policy(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    Ok(json!({ "Policy": policy_json(db, account, &e, Detail::Full).await? }))
}

/// Which policies `ListPolicies` walks.
fn scope_accounts<'a>(scope: &str, account: &'a str) -> Vec<&'a str> {
    match scope {
        "AWS" => vec![AWS_ACCOUNT],
        "Local" => vec![account],
        _ => vec![AWS_ACCOUNT, account],
    }
}

pub async fn list_policies(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let req = page::page_req(input)?;
    let prefix = path_prefix_of(input);
    let only_attached = opt_bool(input, "OnlyAttached").unwrap_or(false);
    let usage_filter = opt_str(input, "PolicyUsageFilter");
    let phases = scope_accounts(opt_str(input, "Scope").unwrap_or("All"), account);
    // The marker is the phase index and the last name key.
    // A marker names a phase that exists, or it is not one of ours.
    let (start, mut after) = match &req.after {
        Some(m) => match m
            .split_once(':')
            .and_then(|(p, k)| Some((p.parse::<usize>().ok()?, k)))
        {
            Some((p, k)) if p < phases.len() => (p, Some(k.to_string())),
            _ => return Err(IamError::InvalidInput("Invalid Marker.".into()).into()),
        },
        None => (0, None),
    };
    let mut out: Vec<Value> = Vec::new();
    let mut last: Option<String> = None;
    let mut truncated = false;
    'phases: for (pi, owner) in phases.iter().enumerate().skip(start) {
        if pi != start {
            after = None;
        }
        loop {
            let got = db
                .entities()
                .list(owner, POLICY, &prefix, after.as_deref(), 100)
                .await?;
            for e in &got.items {
                after = Some(e.name_key.clone());
                let (attached, bounded) = usage(db, account, &e.arn).await?;
                let keep = match (usage_filter, only_attached) {
                    (Some("PermissionsBoundary"), _) => bounded > 0,
                    (Some("PermissionsPolicy"), true) => attached > 0,
                    (_, true) => attached + bounded > 0,
                    _ => true,
                };
                if !keep {
                    continue;
                }
                if out.len() == req.max as usize {
                    truncated = true;
                    break 'phases;
                }
                out.push(policy_json(db, account, e, Detail::Brief).await?);
                last = Some(format!("{pi}:{}", e.name_key));
            }
            if !got.truncated {
                break;
            }
        }
    }
    let mut m = Map::new();
    m.insert("Policies".into(), Value::Array(out));
    page::finish(&mut m, truncated, last.as_deref());
    Ok(Value::Object(m))
}

pub async fn delete_policy(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    refuse_aws_owned(&e, "deleted")?;
    let doc: PolicyDoc = read_doc(&e)?;
    let (attached, _) = usage(db, account, &e.arn).await?;
    if attached > 0 {
        return Err(IamError::DeleteConflict(
            "Cannot delete a policy attached to entities.".into(),
        )
        .into());
    }
    if doc.versions.len() > 1 {
        return Err(IamError::DeleteConflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into(),
        )
        .into());
    }
    db.entities().delete(account, POLICY, &e.name_key).await?;
    db.links()
        .remove_all(account, LINK_BOUNDARY, &e.arn)
        .await?;
    bump(db).await?;
    Ok(json!({}))
}

async fn save(db: &mut Db<'_>, e: Entity, doc: &PolicyDoc, now: DateTime<Utc>) -> Res<()> {
    save_doc(db, e, doc, now).await?;
    bump(db).await
}

fn version_json(v: &PolicyVersion, default: &str, with_document: bool) -> Value {
    let mut m = Map::new();
    if with_document {
        m.insert("Document".into(), json!(document::url_encode(&v.document)));
    }
    m.insert("VersionId".into(), json!(v.version_id));
    m.insert("IsDefaultVersion".into(), json!(v.version_id == default));
    m.insert("CreateDate".into(), json!(ts(v.create_date)));
    Value::Object(m)
}

pub async fn create_version(
    input: &Value,
    partition: Partition,
    account: &str,
    now: DateTime<Utc>,
    db: &mut Db<'_>,
) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    refuse_aws_owned(&e, "modified")?;
    let text = req_str(input, "PolicyDocument")?;
    document::validate_managed(partition, text)?;
    let mut doc: PolicyDoc = read_doc(&e)?;
    if doc.versions.len() >= MAX_VERSIONS {
        return Err(IamError::LimitExceeded(format!(
            "A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version."
        ))
        .into());
    }
    let version = PolicyVersion {
        version_id: format!("v{}", doc.next_version),
        document: text.to_string(),
        create_date: now,
    };
    doc.next_version += 1;
    if opt_bool(input, "SetAsDefault").unwrap_or(false) {
        doc.default_version_id = version.version_id.clone();
    }
    let out = version_json(&version, &doc.default_version_id, false);
    doc.versions.push(version);
    save(db, e, &doc, now).await?;
    Ok(json!({ "PolicyVersion": out }))
}

fn find_version<'a>(doc: &'a PolicyDoc, arn: &str, id: &str) -> Res<&'a PolicyVersion> {
    doc.versions
        .iter()
        .find(|v| v.version_id == id)
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!(
                "Policy {arn} version {id} does not exist or is not attachable."
            ))
            .into()
        })
}

pub async fn get_version(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let arn = req_str(input, "PolicyArn")?;
    let e = resolve(db, account, arn).await?;
    let doc: PolicyDoc = read_doc(&e)?;
    let v = find_version(&doc, arn, req_str(input, "VersionId")?)?;
    Ok(json!({ "PolicyVersion": version_json(v, &doc.default_version_id, true) }))
}

fn version_number(id: &str) -> u32 {
    id.trim_start_matches('v').parse().unwrap_or(0)
}

pub async fn list_versions(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    let doc: PolicyDoc = read_doc(&e)?;
    let mut versions = doc.versions.clone();
    // Newest first, as AWS lists them.
    versions.sort_by_key(|v| std::cmp::Reverse(version_number(&v.version_id)));
    let req = page::page_req(input)?;
    let indexed: Vec<(usize, PolicyVersion)> = versions.into_iter().enumerate().collect();
    let (items, truncated, last) =
        page::slice(indexed, |(i, _)| rampart_kit::page::index_key(*i), &req);
    let mut m = Map::new();
    m.insert(
        "Versions".into(),
        Value::Array(
            items
                .iter()
                .map(|(_, v)| version_json(v, &doc.default_version_id, false))
                .collect(),
        ),
    );
    page::finish(&mut m, truncated, last.as_deref());
    Ok(Value::Object(m))
}

pub async fn delete_version(
    input: &Value,
    account: &str,
    now: DateTime<Utc>,
    db: &mut Db<'_>,
) -> Res<Value> {
    let arn = req_str(input, "PolicyArn")?;
    let e = resolve(db, account, arn).await?;
    refuse_aws_owned(&e, "modified")?;
    let id = req_str(input, "VersionId")?;
    let mut doc: PolicyDoc = read_doc(&e)?;
    find_version(&doc, arn, id)?;
    if doc.default_version_id == id {
        return Err(IamError::DeleteConflict(
            "Cannot delete the default version of a policy.".into(),
        )
        .into());
    }
    doc.versions.retain(|v| v.version_id != id);
    save(db, e, &doc, now).await?;
    Ok(json!({}))
}

pub async fn set_default(
    input: &Value,
    account: &str,
    now: DateTime<Utc>,
    db: &mut Db<'_>,
) -> Res<Value> {
    let arn = req_str(input, "PolicyArn")?;
    let e = resolve(db, account, arn).await?;
    refuse_aws_owned(&e, "modified")?;
    let id = req_str(input, "VersionId")?;
    let mut doc: PolicyDoc = read_doc(&e)?;
    find_version(&doc, arn, id)?;
    doc.default_version_id = id.to_string();
    save(db, e, &doc, now).await?;
    Ok(json!({}))
}

/// The user, group or role an attachment operation names: (entity, quota name).
async fn attach_target(
    operation: &str,
    input: &Value,
    account: &str,
    db: &mut Db<'_>,
) -> Res<(Entity, &'static str)> {
    if operation.contains("User") {
        let e = users::load(db, account, req_str(input, "UserName")?).await?;
        Ok((e, "PoliciesPerUser"))
    } else if operation.contains("Group") {
        let e = groups::load(db, account, req_str(input, "GroupName")?).await?;
        Ok((e, "PoliciesPerGroup"))
    } else {
        let name = req_str(input, "RoleName")?;
        let e = super::common::find(db, account, ROLE, name)
            .await?
            .ok_or_else(|| -> ServiceError {
                IamError::NoSuchEntity(format!("The role with name {name} cannot be found.")).into()
            })?;
        Ok((e, "PoliciesPerRole"))
    }
}

pub async fn attach(op: Op, input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let (target, quota) = attach_target(op.name(), input, account, db).await?;
    let arn = req_str(input, "PolicyArn")?;
    resolve(db, account, arn).await?;
    let current = db
        .links()
        .targets(account, LINK_ATTACHED, &target.id)
        .await?;
    if current.iter().any(|a| a == arn) {
        return Ok(json!({}));
    }
    if current.len() >= ATTACHED_PER_ENTITY {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for {quota}: {ATTACHED_PER_ENTITY}"
        ))
        .into());
    }
    db.links()
        .add(account, LINK_ATTACHED, &target.id, arn)
        .await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn detach(op: Op, input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let (target, _) = attach_target(op.name(), input, account, db).await?;
    let arn = req_str(input, "PolicyArn")?;
    if parse_iam_arn(arn, "policy").is_none() {
        return Err(IamError::InvalidInput(format!("ARN {arn} is not valid.")).into());
    }
    if !db
        .links()
        .remove(account, LINK_ATTACHED, &target.id, arn)
        .await?
    {
        return Err(IamError::NoSuchEntity(format!("Policy {arn} was not found.")).into());
    }
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_attached(op: Op, input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let (target, _) = attach_target(op.name(), input, account, db).await?;
    let prefix = path_prefix_of(input);
    let mut attached: Vec<(String, String)> = db
        .links()
        .targets(account, LINK_ATTACHED, &target.id)
        .await?
        .into_iter()
        .filter_map(|arn| {
            let (_, path, name) = parse_iam_arn(&arn, "policy")?;
            path.starts_with(&prefix)
                .then(|| (name.to_string(), arn.clone()))
        })
        .collect();
    attached.sort_by(|a, b| (name_key(&a.0), &a.1).cmp(&(name_key(&b.0), &b.1)));
    let req = page::page_req(input)?;
    let (items, truncated, last) = page::slice(
        attached,
        |(name, arn)| format!("{}\u{0}{arn}", name_key(name)),
        &req,
    );
    let mut m = Map::new();
    m.insert(
        "AttachedPolicies".into(),
        Value::Array(
            items
                .iter()
                .map(|(name, arn)| json!({"PolicyName": name, "PolicyArn": arn}))
                .collect(),
        ),
    );
    page::finish(&mut m, truncated, last.as_deref());
    Ok(Value::Object(m))
}

pub async fn list_entities(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    let filter = opt_str(input, "EntityFilter");
    let usage_filter = opt_str(input, "PolicyUsageFilter");
    let prefix = path_prefix_of(input);
    let mut link_kinds = Vec::new();
    if usage_filter != Some("PermissionsBoundary") {
        link_kinds.push(LINK_ATTACHED);
    }
    if usage_filter != Some("PermissionsPolicy") {
        link_kinds.push(LINK_BOUNDARY);
    }
    let mut found: Vec<Entity> = Vec::new();
    for kind in link_kinds {
        for (a, id) in db.links().sources(kind, &e.arn).await? {
            if a != account || found.iter().any(|f| f.id == id) {
                continue;
            }
            if let Some(ent) = db.entities().get_by_id(&id).await? {
                found.push(ent);
            }
        }
    }
    found.retain(|f| {
        let wanted = match filter {
            Some("User") => f.kind == USER,
            Some("Group") => f.kind == GROUP,
            Some("Role") => f.kind == ROLE,
            Some("LocalManagedPolicy") | Some("AWSManagedPolicy") => false,
            _ => true,
        };
        wanted && f.path.starts_with(&prefix)
    });
    // Groups, then users, then roles, each by name.
    let rank = |k: &str| match k {
        GROUP => 0,
        USER => 1,
        _ => 2,
    };
    found.sort_by(|a, b| (rank(&a.kind), &a.name_key).cmp(&(rank(&b.kind), &b.name_key)));
    let req = page::page_req(input)?;
    let (items, truncated, last) =
        page::slice(found, |f| format!("{}:{}", rank(&f.kind), f.name_key), &req);
    let pick = |kind: &str, n: &str, i: &str| -> Vec<Value> {
        items
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| json!({ n: f.name, i: f.id }))
            .collect()
    };
    let mut m = Map::new();
    m.insert(
        "PolicyGroups".into(),
        Value::Array(pick(GROUP, "GroupName", "GroupId")),
    );
    m.insert(
        "PolicyUsers".into(),
        Value::Array(pick(USER, "UserName", "UserId")),
    );
    m.insert(
        "PolicyRoles".into(),
        Value::Array(pick(ROLE, "RoleName", "RoleId")),
    );
    page::finish(&mut m, truncated, last.as_deref());
    Ok(Value::Object(m))
}

pub async fn tag_policy(
    input: &Value,
    account: &str,
    now: DateTime<Utc>,
    db: &mut Db<'_>,
) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    refuse_aws_owned(&e, "tagged")?;
    let new = tags::from_input(input)?;
    let mut doc: PolicyDoc = read_doc(&e)?;
    doc.tags = tags::merge(&doc.tags, &new)?;
    save(db, e, &doc, now).await?;
    Ok(json!({}))
}

pub async fn untag_policy(
    input: &Value,
    account: &str,
    now: DateTime<Utc>,
    db: &mut Db<'_>,
) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    refuse_aws_owned(&e, "tagged")?;
    let keys = str_list(input, "TagKeys");
    let mut doc: PolicyDoc = read_doc(&e)?;
    doc.tags = tags::remove(&doc.tags, &keys);
    save(db, e, &doc, now).await?;
    Ok(json!({}))
}

/// `ListPolicyTags`.
pub async fn list_policy_tags(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let e = resolve(db, account, req_str(input, "PolicyArn")?).await?;
    let doc: PolicyDoc = read_doc(&e)?;
    page::tags_page(&doc.tags, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_versions() {
        assert_eq!(scope_accounts("AWS", "1"), vec![AWS_ACCOUNT]);
        assert_eq!(scope_accounts("Local", "1"), vec!["1"]);
        assert_eq!(scope_accounts("All", "1"), vec![AWS_ACCOUNT, "1"]);
        assert_eq!(version_number("v12"), 12);
        let now = Utc::now();
        let v = PolicyVersion {
            version_id: "v2".into(),
            document: "{\"a\":1}".into(),
            create_date: now,
        };
        let j = version_json(&v, "v2", true);
        assert_eq!(j["IsDefaultVersion"], true);
        assert_eq!(j["Document"], "%7B%22a%22%3A1%7D");
        assert!(version_json(&v, "v1", false).get("Document").is_none());
    }
}
