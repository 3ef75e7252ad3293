//! Tags on accounts, OUs, the root and policies: `TagResource`, `UntagResource`,
//! `ListTagsForResource`.

use chrono::{DateTime, Utc};
use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{find, managed_org, paged, readable_org, req, Org, OrgError, Res},
    model::{self, MemberDoc, OuDoc, PolicyDoc, RootDoc},
    tree::{self, Node},
};
use rampart_iam::model::Tag;
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{read_doc, save_doc},
    input::str_list,
};

/// Most tags on one resource.
pub const MAX_TAGS: usize = 50;

/// The `Tags` member of an input (absent: none), checked as Organizations does.
pub fn from_input(input: &Value) -> Res<Vec<Tag>> {
    let tags: Vec<Tag> = match input.get("Tags") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| OrgError::invalid("INVALID_INPUT", "Tags are malformed."))?,
        None => Vec::new(),
    };
    check(&tags)?;
    Ok(tags)
}

fn check(tags: &[Tag]) -> Res<()> {
    for (i, t) in tags.iter().enumerate() {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(OrgError::invalid(
                "INVALID_SYSTEM_TAGS_PARAMETER",
                "Tag keys starting with 'aws:' are reserved.",
            )
            .into());
        }
        if tags.iter().take(i).any(|o| o.key == t.key) {
            return Err(OrgError::invalid("DUPLICATE_TAG_KEY", "Duplicate tag keys.").into());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(OrgError::constraint(
            "TAG_LIMIT_EXCEEDED",
            "You have exceeded the maximum number of tags allowed on this resource.",
        )
        .into());
    }
    Ok(())
}

/// The taggable entity a `ResourceId` names.
async fn resource(db: &mut Db<'_>, org: &Org, id: &str) -> Res<Entity> {
    let kind = if id.starts_with("p-") {
        model::POLICY
    } else {
        match tree::node_of(id) {
            Some(Node::Root) => model::ROOT,
            Some(Node::Ou) => model::OU,
            Some(Node::Account) => model::MEMBER,
            None => return Err(OrgError::TargetNotFoundException.into()),
        }
    };
    find(db, org, kind, id)
        .await?
        .ok_or_else(|| OrgError::TargetNotFoundException.into())
}

fn tags_of(e: &Entity) -> Res<Vec<Tag>> {
    Ok(match e.kind.as_str() {
        model::POLICY => read_doc::<PolicyDoc>(e)?.tags,
        model::ROOT => read_doc::<RootDoc>(e)?.tags,
        model::OU => read_doc::<OuDoc>(e)?.tags,
        _ => read_doc::<MemberDoc>(e)?.tags,
    })
}

async fn store_tags(db: &mut Db<'_>, e: Entity, tags: Vec<Tag>, now: DateTime<Utc>) -> Res<()> {
    match e.kind.as_str() {
        model::POLICY => {
            let mut d: PolicyDoc = read_doc(&e)?;
            d.tags = tags;
            save_doc(db, e, &d, now).await
        }
        model::ROOT => {
            let mut d: RootDoc = read_doc(&e)?;
            d.tags = tags;
            save_doc(db, e, &d, now).await
        }
        model::OU => {
            let mut d: OuDoc = read_doc(&e)?;
            d.tags = tags;
            save_doc(db, e, &d, now).await
        }
        _ => {
            let mut d: MemberDoc = read_doc(&e)?;
            d.tags = tags;
            save_doc(db, e, &d, now).await
        }
    }
}

pub async fn change(input: &Value, ctx: &CallContext, db: &mut Db<'_>, add: bool) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let e = resource(db, &org, req(input, "ResourceId")?).await?;
    let mut tags = tags_of(&e)?;
    if add {
        for t in from_input(input)? {
            match tags.iter_mut().find(|o| o.key == t.key) {
                Some(o) => *o = t,
                None => tags.push(t),
            }
        }
        check(&tags)?;
    } else {
        let keys = str_list(input, "TagKeys");
        tags.retain(|t| !keys.contains(&t.key));
    }
    store_tags(db, e, tags, ctx.now).await?;
    Ok(json!({}))
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let e = resource(db, &org, req(input, "ResourceId")?).await?;
    let items = tags_of(&e)?
        .iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect();
    paged("Tags", items, input)
}
