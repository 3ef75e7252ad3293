//! IAM: roles, their trust policies, tags, permissions boundaries and inline policies.
//!
//! Attaching managed policies to roles lives with the managed policies (`policies.rs`).

use super::Op;
use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_policy::IamDocument;
use rampart_store::{Entity, Store, StoreError};
use serde_json::{json, Value};

use crate::{
    common::{
        authz_on_entity, bump, checked_path, document, exists_or, load_doc, new_id, opt_int,
        opt_str, page, path_prefix_of, read_doc, req_str, save_doc, str_list, tags, to_text, ts,
        IamError, Res,
    },
    model::{self, RoleDoc},
    policies,
};
use rampart_kit::json_field::SetField;
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// Link kind: role id -> access key id of a session of that role (so deleting the role ends
/// its sessions).
pub const LINK_ROLE_SESSION: &str = "sts:role-session";

/// Trust policy size quota (`ACLSizePerRole`, characters without whitespace).
const TRUST_POLICY_LIMIT: usize = 2048;

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = &ctx.principal.account_id;
    let action = format!("iam:{operation}");
    if operation == "ListRoles" {
        return Ok(Some(AuthzRequest::on_any(&action, account)));
    }
    let Some(name) = opt_str(input, "RoleName") else {
        return Ok(None);
    };
    let mut extra = Vec::new();
    match op {
        Op::CreateRole | Op::TagRole => extra = tags::request_context(&tags::from_input(input)?),
        Op::UntagRole => {
            let keys = str_list(input, "TagKeys");
            if !keys.is_empty() {
                extra.push(tags::tag_keys_context(&keys));
            }
        }
        _ => {}
    }
    if matches!(operation, "CreateRole" | "PutRolePermissionsBoundary") {
        if let Some(b) = opt_str(input, "PermissionsBoundary") {
            extra.push(("iam:PermissionsBoundary".into(), vec![b.to_string()]));
        }
    }
    if operation == "CreateRole" {
        let path = opt_str(input, "Path").unwrap_or("/");
        let mut q = AuthzRequest::on(
            &action,
            model::arn(ctx.partition(), account, "role", path, name),
            account,
        );
        q.context = extra;
        return Ok(Some(q));
    }
    let tags_of = |d: RoleDoc| d.tags;
    let q = authz_on_entity(
        &action,
        ctx,
        store,
        model::ROLE,
        "role",
        name,
        tags_of,
        extra,
    )
    .await?;
    Ok(Some(q))
}

/// AWS's error for a missing role.
pub fn no_such_role(name: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("The role with name {name} cannot be found.")).into()
}

/// Loads a role by name (`NoSuchEntity` when absent).
pub async fn load_role(db: &mut Db<'_>, account: &str, name: &str) -> Res<(Entity, RoleDoc)> {
    load_doc(db, account, model::ROLE, name, no_such_role).await
}

/// Writes a changed role back.
pub async fn save_role(db: &mut Db<'_>, e: Entity, doc: &RoleDoc, now: DateTime<Utc>) -> Res<()> {
    save_doc(db, e, doc, now).await
}

/// The `Role` structure of IAM's responses; `full` adds what only `GetRole` returns.
pub fn role_json(e: &Entity, doc: &RoleDoc, full: bool) -> Value {
    let mut v = json!({
        "Path": e.path,
        "RoleName": e.name,
        "RoleId": e.id,
        "Arn": e.arn,
        "CreateDate": ts(e.created_at),
        "AssumeRolePolicyDocument": document::url_encode(&doc.assume_role_policy),
        "MaxSessionDuration": doc.max_session_duration,
    });
    if let Some(d) = &doc.description {
        v.set_field("Description", json!(d));
    }
    if full {
        if let Some(b) = &doc.permissions_boundary {
            v.set_field(
                "PermissionsBoundary",
                json!({
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": b,
                }),
            );
        }
        if !doc.tags.is_empty() {
            v.set_field("Tags", tags::to_json(&doc.tags));
        }
        let mut last = json!({});
        if let Some(l) = &doc.last_used {
            last = json!({"LastUsedDate": ts(l.date), "Region": l.region});
        }
        v.set_field("RoleLastUsed", last);
    }
    v
}

/// Validates a trust policy as `CreateRole`/`UpdateAssumeRolePolicy` do.
pub fn check_trust_policy(partition: Partition, doc: &str) -> Result<(), ServiceError> {
    document::parse(partition, doc, IamDocument::Trust)?;
    if document::counted_size(doc) > TRUST_POLICY_LIMIT {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_LIMIT}"
        ))
        .into());
    }
    Ok(())
}

/// Checks that a permissions boundary names an existing managed policy.
async fn check_boundary(db: &mut Db<'_>, arn: &str) -> Result<(), ServiceError> {
    if policies::by_arn(db, arn).await?.is_none() {
        return Err(IamError::NoSuchEntity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        ))
        .into());
    }
    Ok(())
}

pub async fn create_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "RoleName")?;
    let path = checked_path(input, "Path")?;
    if path.starts_with(crate::service_linked_roles::SERVICE_ROLE_PATH) {
        return Err(IamError::InvalidInput(
            "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles".into(),
        )
        .into());
    }
    let trust = req_str(input, "AssumeRolePolicyDocument")?;
    check_trust_policy(ctx.partition(), trust)?;
    let max = opt_int(input, "MaxSessionDuration").unwrap_or(3600);
    if !(3600..=43200).contains(&max) {
        return Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"
        ))
        .into());
    }
    let tags = tags::from_input(input)?;
    let boundary = opt_str(input, "PermissionsBoundary").map(str::to_string);
    if let Some(b) = &boundary {
        check_boundary(db, b).await?;
    }
    let doc = RoleDoc {
        assume_role_policy: trust.to_string(),
        description: opt_str(input, "Description").map(str::to_string),
        max_session_duration: max,
        tags,
        permissions_boundary: boundary,
        ..RoleDoc::default()
    };
    let id = new_id("AROA")?;
    let e = Entity {
        account_id: account.clone(),
        kind: model::ROLE.into(),
        name: name.to_string(),
        name_key: model::name_key(name),
        id,
        path: path.clone(),
        arn: model::arn(ctx.partition(), account, "role", &path, name),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&doc)?,
    };
    db.entities()
        .create(&e)
        .await
        .map_err(|err| exists_or(err, format!("Role with name {name} already exists.")))?;
    bump(db).await?;
    let mut role = role_json(&e, &doc, true);
    if let Some(o) = role.as_object_mut() {
        o.remove("RoleLastUsed");
    }
    Ok(json!({ "Role": role }))
}

pub async fn get_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, doc) = load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    Ok(json!({ "Role": role_json(&e, &doc, true) }))
}

pub async fn list_roles(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let req = page::page_req(input)?;
    let got = db
        .entities()
        .list(
            &ctx.principal.account_id,
            model::ROLE,
            &path_prefix_of(input),
            req.after.as_deref(),
            req.max,
        )
        .await?;
    let mut roles = Vec::with_capacity(got.items.len());
    for e in &got.items {
        let doc: RoleDoc = read_doc(e)?;
        roles.push(role_json(e, &doc, false));
    }
    let mut out = serde_json::Map::new();
    out.insert("Roles".into(), Value::Array(roles));
    let last = got.items.last().map(|e| e.name_key.as_str());
    page::finish(&mut out, got.truncated, last);
    Ok(Value::Object(out))
}

pub async fn update_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    if let Some(d) = opt_str(input, "Description") {
        doc.description = Some(d.to_string());
    }
    if let Some(max) = opt_int(input, "MaxSessionDuration") {
        if !(3600..=43200).contains(&max) {
            return Err(IamError::ValidationError(format!(
                "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200"
            ))
            .into());
        }
        doc.max_session_duration = max;
    }
    save_role(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn update_role_description(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    doc.description = Some(req_str(input, "Description")?.to_string());
    let out = role_json(&e, &doc, true);
    save_role(db, e, &doc, ctx.now).await?;
    Ok(json!({ "Role": out }))
}

pub async fn update_assume_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    let trust = req_str(input, "PolicyDocument")?;
    check_trust_policy(ctx.partition(), trust)?;
    doc.assume_role_policy = trust.to_string();
    save_role(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn delete_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let account = &ctx.principal.account_id;
    let (e, doc) = load_role(db, account, req_str(input, "RoleName")?).await?;
    if !db
        .links()
        .sources(model::LINK_PROFILE_ROLE, &e.id)
        .await?
        .is_empty()
    {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must remove roles from instance profile first.".into(),
        )
        .into());
    }
    if !doc.inline_policies.is_empty() {
        return Err(IamError::DeleteConflict(
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
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must detach all policies first.".into(),
        )
        .into());
    }
    end_sessions(db, account, &e.id).await?;
    db.entities()
        .delete(account, model::ROLE, &e.name_key)
        .await?;
    super::last_use::forget(db, account, &e.arn).await?;
    bump(db).await?;
    Ok(json!({}))
}

/// Deletes the temporary keys of every session of a role: they stop working at once.
pub(crate) async fn end_sessions(
    db: &mut Db<'_>,
    account: &str,
    role_id: &str,
) -> Result<(), ServiceError> {
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

pub async fn tag_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    doc.tags = tags::merge(&doc.tags, &tags::from_input(input)?)?;
    save_role(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn untag_role(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    doc.tags = tags::remove(&doc.tags, &str_list(input, "TagKeys"));
    save_role(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_role_tags(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, doc) = load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    page::tags_page(&doc.tags, input)
}

pub async fn put_boundary(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    let arn = req_str(input, "PermissionsBoundary")?;
    check_boundary(db, arn).await?;
    doc.permissions_boundary = Some(arn.to_string());
    save_role(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn delete_boundary(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    doc.permissions_boundary = None;
    save_role(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

/// The combined size of a role's inline policies if `name` is set to `document`.
fn inline_size_with(doc: &RoleDoc, name: &str, document: &str) -> usize {
    doc.inline_policies
        .iter()
        .filter(|(n, _)| n.as_str() != name)
        .map(|(_, d)| document::counted_size(d))
        .sum::<usize>()
        + document::counted_size(document)
}

pub async fn put_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let role_name = req_str(input, "RoleName")?;
    let (e, mut doc) = load_role(db, &ctx.principal.account_id, role_name).await?;
    let name = req_str(input, "PolicyName")?;
    let document = req_str(input, "PolicyDocument")?;
    document::parse(ctx.partition(), document, IamDocument::Inline)?;
    if inline_size_with(&doc, name, document) > document::ROLE_POLICY_SIZE {
        return Err(IamError::LimitExceeded(format!(
            "Maximum policy size of {} bytes exceeded for role {role_name}",
            document::ROLE_POLICY_SIZE
        ))
        .into());
    }
    doc.inline_policies
        .insert(name.to_string(), document.to_string());
    save_role(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

fn no_such_policy(name: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("The role policy with name {name} cannot be found.")).into()
}

pub async fn get_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, doc) = load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    let name = req_str(input, "PolicyName")?;
    let document = doc
        .inline_policies
        .get(name)
        .ok_or_else(|| no_such_policy(name))?;
    Ok(json!({
        "RoleName": e.name,
        "PolicyName": name,
        "PolicyDocument": document::url_encode(document),
    }))
}

pub async fn delete_role_policy(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) =
        load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    let name = req_str(input, "PolicyName")?;
    if doc.inline_policies.remove(name).is_none() {
        return Err(no_such_policy(name));
    }
    save_role(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_role_policies(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, doc) = load_role(db, &ctx.principal.account_id, req_str(input, "RoleName")?).await?;
    page::names_page(doc.inline_policies.keys().cloned().collect(), input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_are_validated() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        assert!(check_trust_policy(Partition::Aws, ok).is_ok());
        let no_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
        assert_eq!(
            check_trust_policy(Partition::Aws, no_principal)
                .unwrap_err()
                .code,
            "MalformedPolicyDocument"
        );
        assert_eq!(
            check_trust_policy(Partition::Aws, "not json")
                .unwrap_err()
                .code,
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
