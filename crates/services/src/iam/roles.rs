//! IAM: roles, their trust policies, tags, permissions boundaries and inline policies.
//!
//! Attaching managed policies to roles lives with the managed policies (`policies.rs`).

use rampart_policy::PolicyKind;
use rampart_store::{Entity, Store, StoreError};
use serde_json::{json, Value};

use crate::{
    authz::AuthzRequest,
    context::CallContext,
    db::Db,
    error::ServiceError,
    iam::{
        model::{self, RoleDoc},
        role_util::{
            self as u, int, load_role, req, role_json, s, save_role, RoleError, ROLE_INLINE_LIMIT,
        },
    },
    ids,
    registry::{not_implemented, Access},
};

/// Link kind: role id -> access key id of a session of that role (so deleting the role ends
/// its sessions).
pub const LINK_ROLE_SESSION: &str = "sts:role-session";

/// Trust policy size quota (`ACLSizePerRole`, characters without whitespace).
const TRUST_POLICY_LIMIT: usize = 2048;

/// Whether this family owns `operation`, and how it touches state.
pub fn access(operation: &str) -> Option<Access> {
    match operation {
        "GetRole" | "ListRoles" | "ListRoleTags" | "GetRolePolicy" | "ListRolePolicies" => {
            Some(Access::Read)
        }
        "CreateRole"
        | "UpdateRole"
        | "UpdateRoleDescription"
        | "UpdateAssumeRolePolicy"
        | "DeleteRole"
        | "TagRole"
        | "UntagRole"
        | "PutRolePermissionsBoundary"
        | "DeleteRolePermissionsBoundary"
        | "PutRolePolicy"
        | "DeleteRolePolicy" => Some(Access::Write),
        _ => None,
    }
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    operation: &str,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let action = format!("iam:{operation}");
    if operation == "ListRoles" {
        return Ok(Some(AuthzRequest::on_any(&action, account)));
    }
    let Some(name) = s(input, "RoleName") else {
        return Ok(None);
    };
    if operation == "CreateRole" {
        let path = s(input, "Path").unwrap_or("/");
        let mut q = AuthzRequest::on(&action, model::arn(account, "role", path, name), account);
        q.context = u::request_tag_keys(&u::tags_in(input)?);
        if let Some(b) = s(input, "PermissionsBoundary") {
            q.context
                .push(("iam:PermissionsBoundary".into(), vec![b.to_string()]));
        }
        return Ok(Some(q));
    }
    let existing = store
        .entities()
        .get(account, model::ROLE, &model::name_key(name))
        .await?;
    let (arn, tags) = match &existing {
        Some(e) => {
            let doc: RoleDoc = u::from_doc(e)?;
            (e.arn.clone(), doc.tags)
        }
        None => (model::arn(account, "role", "/", name), Vec::new()),
    };
    let mut q = AuthzRequest::on(&action, arn, account);
    q.context = u::resource_tag_keys(&tags);
    match operation {
        "TagRole" => q.context.extend(u::request_tag_keys(&u::tags_in(input)?)),
        "UntagRole" => {
            let keys = u::strings(input, "TagKeys");
            if !keys.is_empty() {
                q.context.push(("aws:TagKeys".into(), keys));
            }
        }
        "PutRolePermissionsBoundary" => {
            if let Some(b) = s(input, "PermissionsBoundary") {
                q.context
                    .push(("iam:PermissionsBoundary".into(), vec![b.to_string()]));
            }
        }
        _ => {}
    }
    Ok(Some(q))
}

/// Runs an operation of this family.
pub async fn handle(
    operation: &str,
    input: Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let db = &mut db;
    match operation {
        "CreateRole" => create_role(&input, ctx, db).await,
        "GetRole" => get_role(&input, ctx, db).await,
        "ListRoles" => list_roles(&input, ctx, db).await,
        "UpdateRole" => update_role(&input, ctx, db).await,
        "UpdateRoleDescription" => update_role_description(&input, ctx, db).await,
        "UpdateAssumeRolePolicy" => update_assume_role_policy(&input, ctx, db).await,
        "DeleteRole" => delete_role(&input, ctx, db).await,
        "TagRole" => tag_role(&input, ctx, db).await,
        "UntagRole" => untag_role(&input, ctx, db).await,
        "ListRoleTags" => list_role_tags(&input, ctx, db).await,
        "PutRolePermissionsBoundary" => put_boundary(&input, ctx, db).await,
        "DeleteRolePermissionsBoundary" => delete_boundary(&input, ctx, db).await,
        "PutRolePolicy" => put_role_policy(&input, ctx, db).await,
        "GetRolePolicy" => get_role_policy(&input, ctx, db).await,
        "DeleteRolePolicy" => delete_role_policy(&input, ctx, db).await,
        "ListRolePolicies" => list_role_policies(&input, ctx, db).await,
        _ => Err(not_implemented("iam", operation)),
    }
}

/// Validates a trust policy as `CreateRole`/`UpdateAssumeRolePolicy` do.
pub fn check_trust_policy(doc: &str) -> Result<(), ServiceError> {
    u::parse_policy(doc, PolicyKind::Trust)?;
    if u::policy_size(doc) > TRUST_POLICY_LIMIT {
        return Err(RoleError::LimitExceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_LIMIT}"
        ))
        .into());
    }
    Ok(())
}

/// Checks that a permissions boundary names an existing managed policy.
async fn check_boundary(db: &mut Db<'_>, arn: &str) -> Result<(), ServiceError> {
    if u::managed_policy_document(db, arn).await?.is_none() {
        return Err(RoleError::NoSuchEntity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        ))
        .into());
    }
    Ok(())
}

async fn create_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let account = &ctx.principal.account_id;
    let name = req(input, "RoleName")?;
    let path = u::path_in(input, "Path")?;
    let trust = req(input, "AssumeRolePolicyDocument")?;
    check_trust_policy(trust)?;
    let max = int(input, "MaxSessionDuration").unwrap_or(3600);
    if !(3600..=43200).contains(&max) {
        return Err(RoleError::ValidationError(format!(
            "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"
        ))
        .into());
    }
    let tags = u::tags_in(input)?;
    let boundary = s(input, "PermissionsBoundary").map(str::to_string);
    if let Some(b) = &boundary {
        check_boundary(db, b).await?;
    }
    let doc = RoleDoc {
        assume_role_policy: trust.to_string(),
        description: s(input, "Description").map(str::to_string),
        max_session_duration: max,
        tags,
        permissions_boundary: boundary,
        ..RoleDoc::default()
    };
    let id = ids::unique_id("AROA").map_err(|_| ServiceError::internal())?;
    let e = Entity {
        account_id: account.clone(),
        kind: model::ROLE.into(),
        name: name.to_string(),
        name_key: model::name_key(name),
        id,
        path: path.clone(),
        arn: model::arn(account, "role", &path, name),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: u::to_doc(&doc)?,
    };
    db.entities().create(&e).await.map_err(|err| match err {
        StoreError::AlreadyExists(_) => {
            RoleError::EntityAlreadyExists(format!("Role with name {name} already exists.")).into()
        }
        other => ServiceError::from(other),
    })?;
    db.authz_epoch().bump().await?;
    let mut role = role_json(&e, &doc, true);
    if let Some(o) = role.as_object_mut() {
        o.remove("RoleLastUsed");
    }
    Ok(json!({ "Role": role }))
}

async fn get_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    Ok(json!({ "Role": role_json(&e, &doc, true) }))
}

async fn list_roles(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let prefix = s(input, "PathPrefix").unwrap_or("/");
    let (marker, max) = u::page_args(input);
    let page = db
        .entities()
        .list(
            &ctx.principal.account_id,
            model::ROLE,
            prefix,
            marker.as_deref(),
            max,
        )
        .await?;
    let mut roles = Vec::with_capacity(page.items.len());
    for e in &page.items {
        let doc: RoleDoc = u::from_doc(e)?;
        roles.push(role_json(e, &doc, false));
    }
    let last = page.items.last().map(|e| e.name_key.as_str());
    Ok(u::paged(json!({ "Roles": roles }), page.truncated, last))
}

async fn update_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    if let Some(d) = s(input, "Description") {
        doc.description = Some(d.to_string());
    }
    if let Some(max) = int(input, "MaxSessionDuration") {
        if !(3600..=43200).contains(&max) {
            return Err(RoleError::ValidationError(format!(
                "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200"
            ))
            .into());
        }
        doc.max_session_duration = max;
    }
    save_role(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

async fn update_role_description(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    doc.description = Some(req(input, "Description")?.to_string());
    let out = role_json(&e, &doc, true);
    save_role(db, e, &doc, ctx.now).await?;
    Ok(json!({ "Role": out }))
}

async fn update_assume_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    let trust = req(input, "PolicyDocument")?;
    check_trust_policy(trust)?;
    doc.assume_role_policy = trust.to_string();
    save_role(db, e, &doc, ctx.now).await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

async fn delete_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let account = &ctx.principal.account_id;
    let (e, doc) = load_role(db, account, req(input, "RoleName")?).await?;
    if !db
        .links()
        .sources(model::LINK_PROFILE_ROLE, &e.id)
        .await?
        .is_empty()
    {
        return Err(RoleError::DeleteConflict(
            "Cannot delete entity, must remove roles from instance profile first.".into(),
        )
        .into());
    }
    if !doc.inline_policies.is_empty() {
        return Err(RoleError::DeleteConflict(
            "Cannot delete entity, must delete policies first.".into(),
        )
        .into());
    }
    if !db
        .links()
        .targets(account, model::LINK_ATTACHED, &e.id)
        .await?
        .is_empty()
    {
        return Err(RoleError::DeleteConflict(
            "Cannot delete entity, must detach all policies first.".into(),
        )
        .into());
    }
    end_sessions(db, account, &e.id).await?;
    db.entities()
        .delete(account, model::ROLE, &e.name_key)
        .await
        .map_err(|err| u::store_err(err, "role"))?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

/// Deletes the temporary keys of every session of a role: they stop working at once.
async fn end_sessions(db: &mut Db<'_>, account: &str, role_id: &str) -> Result<(), ServiceError> {
    let keys = db
        .links()
        .targets(account, LINK_ROLE_SESSION, role_id)
        .await?;
    for akid in keys {
        match db.credentials().delete(&akid).await {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    db.links()
        .remove_all(account, LINK_ROLE_SESSION, role_id)
        .await?;
    Ok(())
}

async fn tag_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    u::merge_tags(&mut doc.tags, u::tags_in(input)?)?;
    save_role(db, e, &doc, ctx.now).await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

async fn untag_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    u::remove_tags(&mut doc.tags, &u::strings(input, "TagKeys"));
    save_role(db, e, &doc, ctx.now).await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

async fn list_role_tags(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    let keys: Vec<String> = doc.tags.iter().map(|t| t.key.clone()).collect();
    let (page, truncated) = u::page_names(keys, input);
    let tags: Vec<_> = doc
        .tags
        .iter()
        .filter(|t| page.contains(&t.key))
        .cloned()
        .collect();
    Ok(u::paged(
        json!({ "Tags": u::tags_json(&tags) }),
        truncated,
        page.last().map(String::as_str),
    ))
}

async fn put_boundary(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    let arn = req(input, "PermissionsBoundary")?;
    check_boundary(db, arn).await?;
    doc.permissions_boundary = Some(arn.to_string());
    save_role(db, e, &doc, ctx.now).await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

async fn delete_boundary(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    doc.permissions_boundary = None;
    save_role(db, e, &doc, ctx.now).await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

/// The combined size of a role's inline policies if `name` is set to `document`.
fn inline_size_with(doc: &RoleDoc, name: &str, document: &str) -> usize {
    doc.inline_policies
        .iter()
        .filter(|(n, _)| n.as_str() != name)
        .map(|(_, d)| u::policy_size(d))
        .sum::<usize>()
        + u::policy_size(document)
}

async fn put_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let role_name = req(input, "RoleName")?;
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, role_name).await?;
    let name = req(input, "PolicyName")?;
    let document = req(input, "PolicyDocument")?;
    u::parse_policy(document, PolicyKind::Identity)?;
    if inline_size_with(&doc, name, document) > ROLE_INLINE_LIMIT {
        return Err(RoleError::LimitExceeded(format!(
            "Maximum policy size of {ROLE_INLINE_LIMIT} bytes exceeded for role {role_name}"
        ))
        .into());
    }
    doc.inline_policies
        .insert(name.to_string(), document.to_string());
    save_role(db, e, &doc, ctx.now).await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

fn no_such_policy(name: &str) -> ServiceError {
    RoleError::NoSuchEntity(format!("The role policy with name {name} cannot be found.")).into()
}

async fn get_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    let name = req(input, "PolicyName")?;
    let document = doc
        .inline_policies
        .get(name)
        .ok_or_else(|| no_such_policy(name))?;
    Ok(json!({
        "RoleName": e.name,
        "PolicyName": name,
        "PolicyDocument": u::url_encode(document),
    }))
}

async fn delete_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    let name = req(input, "PolicyName")?;
    if doc.inline_policies.remove(name).is_none() {
        return Err(no_such_policy(name));
    }
    save_role(db, e, &doc, ctx.now).await?;
    db.authz_epoch().bump().await?;
    Ok(json!({}))
}

async fn list_role_policies(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, doc) = load_role(db, &ctx.principal.account_id, req(input, "RoleName")?).await?;
    let names: Vec<String> = doc.inline_policies.keys().cloned().collect();
    let (page, truncated) = u::page_names(names, input);
    let last = page.last().cloned();
    Ok(u::paged(
        json!({ "PolicyNames": page }),
        truncated,
        last.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_classified() {
        assert_eq!(access("GetRole"), Some(Access::Read));
        assert_eq!(access("CreateRole"), Some(Access::Write));
        assert_eq!(access("AttachRolePolicy"), None);
    }

    #[test]
    fn trust_policies_are_validated() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        assert!(check_trust_policy(ok).is_ok());
        let no_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
        assert_eq!(
            check_trust_policy(no_principal).unwrap_err().code,
            "MalformedPolicyDocument"
        );
        assert_eq!(
            check_trust_policy("not json").unwrap_err().code,
            "MalformedPolicyDocument"
        );
    }

    #[test]
    fn inline_size_counts_every_policy_but_the_replaced_one() {
        let mut doc = RoleDoc::default();
        doc.inline_policies.insert("a".into(), "x y".into());
        doc.inline_policies.insert("b".into(), "zzzz".into());
        assert_eq!(inline_size_with(&doc, "b", "12"), 4);
        assert_eq!(inline_size_with(&doc, "c", "12"), 8);
    }
}
