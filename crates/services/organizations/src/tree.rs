//! The organization's tree: the root, organizational units and where accounts sit.
//! `ListRoots`, `CreateOrganizationalUnit`, `UpdateOrganizationalUnit`,
//! `DeleteOrganizationalUnit`, `DescribeOrganizationalUnit`, `ListChildren`, `ListParents`,
//! `ListOrganizationalUnitsForParent`.

use chrono::{DateTime, Utc};
use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{find, managed_org, paged, readable_org, req, Org, OrgError, Res},
    model::{self, MemberDoc, OuDoc, RootDoc},
    policies,
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, read_doc, save_doc, to_text},
    error::ServiceError,
};

/// AWS's limit on OU nesting below the root.
pub const MAX_OU_DEPTH: usize = 5;

/// What kind of node an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// `r-...`.
    Root,
    /// `ou-...`.
    Ou,
    /// 12 digits.
    Account,
}

/// The kind of node an id names, by its shape.
pub fn node_of(id: &str) -> Option<Node> {
    if id.starts_with("r-") {
        Some(Node::Root)
    } else if id.starts_with("ou-") {
        Some(Node::Ou)
    } else if rampart_store::is_valid_account_id(id) {
        Some(Node::Account)
    } else {
        None
    }
}

/// The `Root` structure.
pub fn root_json(e: &Entity) -> Res<Value> {
    let d: RootDoc = read_doc(e)?;
    let types: Vec<Value> = d
        .policy_types
        .iter()
        .map(|t| json!({"Type": t, "Status": "ENABLED"}))
        .collect();
    Ok(json!({"Id": e.name_key, "Arn": e.arn, "Name": e.name, "PolicyTypes": types}))
}

/// The `OrganizationalUnit` structure.
pub fn ou_json(e: &Entity) -> Value {
    json!({"Id": e.name_key, "Arn": e.arn, "Name": e.name})
}

/// The root entity of the organization.
pub async fn root(db: &mut Db<'_>, org: &Org) -> Res<Entity> {
    find(db, org, model::ROOT, &org.doc.root_id)
        .await?
        .ok_or_else(ServiceError::internal)
}

/// A parent (root or OU) by id; `err` when it is not in the organization.
pub async fn parent(db: &mut Db<'_>, org: &Org, id: &str, err: OrgError) -> Res<Entity> {
    let kind = match node_of(id) {
        Some(Node::Root) => model::ROOT,
        Some(Node::Ou) => model::OU,
        _ => return Err(err.into()),
    };
    find(db, org, kind, id).await?.ok_or_else(|| err.into())
}

/// The parent id of an OU or account of the organization.
pub async fn parent_of(db: &mut Db<'_>, org: &Org, id: &str) -> Res<Option<String>> {
    Ok(match node_of(id) {
        Some(Node::Ou) => match find(db, org, model::OU, id).await? {
            Some(e) => Some(read_doc::<OuDoc>(&e)?.parent_id),
            None => None,
        },
        Some(Node::Account) => match find(db, org, model::MEMBER, id).await? {
            Some(e) => Some(read_doc::<MemberDoc>(&e)?.parent_id),
            None => None,
        },
        _ => None,
    })
}

/// The ids from the root down to `id` (inclusive).
pub async fn path_to(db: &mut Db<'_>, org: &Org, id: &str) -> Res<Vec<String>> {
    let mut path = vec![id.to_string()];
    let mut current = id.to_string();
    // The depth limit bounds the walk; a longer chain means a damaged store.
    for _ in 0..=MAX_OU_DEPTH + 1 {
        match parent_of(db, org, &current).await? {
            Some(p) => {
                path.push(p.clone());
                current = p;
            }
            None => break,
        }
    }
    path.reverse();
    Ok(path)
}

/// The children of a parent of one type (ids in order).
pub async fn children(db: &mut Db<'_>, org: &Org, parent: &str, node: Node) -> Res<Vec<String>> {
    Ok(db
        .links()
        .targets(&org.management, model::LINK_CHILD, parent)
        .await?
        .into_iter()
        .filter(|c| node_of(c) == Some(node))
        .collect())
}

/// Records `account` as a member under `member.parent_id`.
pub async fn add_member(
    db: &mut Db<'_>,
    org: &Org,
    account: &str,
    member: &MemberDoc,
    now: DateTime<Utc>,
) -> Res<()> {
    db.entities()
        .create(&Entity {
            account_id: org.management.clone(),
            kind: model::MEMBER.into(),
            name: account.to_string(),
            name_key: account.to_string(),
            id: model::member_id(account),
            path: "/".into(),
            arn: model::account_arn(org.partition(), &org.management, &org.id, account),
            created_at: now,
            updated_at: now,
            doc: to_text(member)?,
        })
        .await?;
    db.links()
        .add(
            &org.management,
            model::LINK_CHILD,
            &member.parent_id,
            account,
        )
        .await?;
    Ok(())
}

/// Removes `account` from the organization: its membership, place, attachments and
/// delegations.
pub async fn remove_member(db: &mut Db<'_>, org: &Org, account: &str) -> Res<()> {
    let m = &org.management;
    db.entities().delete(m, model::MEMBER, account).await?;
    db.links().remove_all(m, model::LINK_CHILD, account).await?;
    db.links()
        .remove_all(m, model::LINK_ATTACHED, account)
        .await?;
    db.links()
        .remove_all(m, model::LINK_DELEGATED, account)
        .await?;
    Ok(())
}

/// Every member account id of the organization managed by `management`.
pub async fn all_member_ids(db: &mut Db<'_>, management: &str) -> Res<Vec<String>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(management, model::MEMBER, "/", after.as_deref(), 1000)
            .await?;
        out.extend(page.items.iter().map(|e| e.name_key.clone()));
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    Ok(out)
}

pub async fn list_roots(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let r = root(db, &org).await?;
    paged("Roots", vec![root_json(&r)?], input)
}

fn check_ou_name(name: &str) -> Res<()> {
    if name.is_empty() || name.chars().count() > 128 {
        return Err(OrgError::invalid(
            "INVALID_INPUT",
            "The name of an OU must be 1 to 128 characters long.",
        )
        .into());
    }
    Ok(())
}

async fn sibling_named(db: &mut Db<'_>, org: &Org, parent: &str, name: &str) -> Res<bool> {
    for id in children(db, org, parent, Node::Ou).await? {
        if let Some(e) = find(db, org, model::OU, &id).await? {
            if e.name == name {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

pub async fn create_ou(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let parent_id = req(input, "ParentId")?;
    let name = req(input, "Name")?;
    check_ou_name(name)?;
    parent(db, &org, parent_id, OrgError::ParentNotFoundException).await?;
    // The path includes the root: a new OU sits at depth path.len().
    let depth = path_to(db, &org, parent_id).await?.len();
    if depth > MAX_OU_DEPTH {
        return Err(OrgError::constraint(
            "OU_DEPTH_LIMIT_EXCEEDED",
            "You attempted to create an OU tree that is too many levels deep.",
        )
        .into());
    }
    if sibling_named(db, &org, parent_id, name).await? {
        return Err(OrgError::DuplicateOrganizationalUnitException.into());
    }
    let id = model::new_ou_id(&org.doc.root_id)?;
    let d = OuDoc {
        org_id: org.id.clone(),
        parent_id: parent_id.to_string(),
        tags: super::tags::from_input(input)?,
    };
    let e = Entity {
        account_id: org.management.clone(),
        kind: model::OU.into(),
        name: name.to_string(),
        name_key: id.clone(),
        id: id.clone(),
        path: "/".into(),
        arn: model::ou_arn(org.partition(), &org.management, &org.id, &id),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&d)?,
    };
    db.entities().create(&e).await?;
    db.links()
        .add(&org.management, model::LINK_CHILD, parent_id, &id)
        .await?;
    policies::attach_defaults(db, &org, &id).await?;
    bump(db).await?;
    Ok(json!({ "OrganizationalUnit": ou_json(&e) }))
}

async fn load_ou(db: &mut Db<'_>, org: &Org, id: &str) -> Res<Entity> {
    if node_of(id) != Some(Node::Ou) {
        return Err(OrgError::OrganizationalUnitNotFoundException.into());
    }
    find(db, org, model::OU, id)
        .await?
        .ok_or_else(|| OrgError::OrganizationalUnitNotFoundException.into())
}

pub async fn update_ou(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let mut e = load_ou(db, &org, req(input, "OrganizationalUnitId")?).await?;
    if let Some(name) = input.get("Name").and_then(Value::as_str) {
        check_ou_name(name)?;
        let d: OuDoc = read_doc(&e)?;
        if name != e.name && sibling_named(db, &org, &d.parent_id, name).await? {
            return Err(OrgError::DuplicateOrganizationalUnitException.into());
        }
        e.name = name.to_string();
        save_doc(db, e.clone(), &d, ctx.now).await?;
    }
    Ok(json!({ "OrganizationalUnit": ou_json(&e) }))
}

pub async fn delete_ou(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let e = load_ou(db, &org, req(input, "OrganizationalUnitId")?).await?;
    let kids = db
        .links()
        .targets(&org.management, model::LINK_CHILD, &e.name_key)
        .await?;
    if !kids.is_empty() {
        return Err(OrgError::OrganizationalUnitNotEmptyException.into());
    }
    let m = &org.management;
    db.links()
        .remove_all(m, model::LINK_CHILD, &e.name_key)
        .await?;
    db.links()
        .remove_all(m, model::LINK_ATTACHED, &e.name_key)
        .await?;
    db.entities().delete(m, model::OU, &e.name_key).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn describe_ou(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let e = load_ou(db, &org, req(input, "OrganizationalUnitId")?).await?;
    Ok(json!({ "OrganizationalUnit": ou_json(&e) }))
}

pub async fn list_children(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let parent_id = req(input, "ParentId")?;
    parent(db, &org, parent_id, OrgError::ParentNotFoundException).await?;
    let (node, label) = match req(input, "ChildType")? {
        "ACCOUNT" => (Node::Account, "ACCOUNT"),
        "ORGANIZATIONAL_UNIT" => (Node::Ou, "ORGANIZATIONAL_UNIT"),
        _ => {
            return Err(OrgError::invalid("INVALID_ENUM", "ChildType is not valid.").into());
        }
    };
    let items = children(db, &org, parent_id, node)
        .await?
        .into_iter()
        .map(|id| json!({"Id": id, "Type": label}))
        .collect();
    paged("Children", items, input)
}

pub async fn list_parents(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let child = req(input, "ChildId")?;
    let Some(p) = parent_of(db, &org, child).await? else {
        return Err(OrgError::ChildNotFoundException.into());
    };
    let kind = if node_of(&p) == Some(Node::Root) {
        "ROOT"
    } else {
        "ORGANIZATIONAL_UNIT"
    };
    paged("Parents", vec![json!({"Id": p, "Type": kind})], input)
}

pub async fn list_ous(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let parent_id = req(input, "ParentId")?;
    parent(db, &org, parent_id, OrgError::ParentNotFoundException).await?;
    let mut items = Vec::new();
    for id in children(db, &org, parent_id, Node::Ou).await? {
        if let Some(e) = find(db, &org, model::OU, &id).await? {
            items.push(ou_json(&e));
        }
    }
    paged("OrganizationalUnits", items, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_node() {
        assert_eq!(node_of("r-ab12"), Some(Node::Root));
        assert_eq!(node_of("ou-ab12-abcdefgh"), Some(Node::Ou));
        assert_eq!(node_of("123456789012"), Some(Node::Account));
        assert_eq!(node_of("12345678901"), None);
        assert_eq!(node_of("p-FullAWSAccess"), None);
    }
}
