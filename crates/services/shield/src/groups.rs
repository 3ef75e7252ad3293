//! Protection groups: `CreateProtectionGroup`, `DescribeProtectionGroup`,
//! `ListProtectionGroups`, `UpdateProtectionGroup`, `DeleteProtectionGroup`,
//! `ListResourcesInProtectionGroup`.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_str, str_list},
};
use serde_json::{json, Value};

use crate::{
    error::{ShieldError, ShieldResult},
    model::{self, GroupDoc, Loaded, GROUP},
    protections::paged,
};

/// A group as AWS shows it.
fn view(g: &Loaded<GroupDoc>) -> Value {
    let mut out = json!({
        "ProtectionGroupId": g.doc.id,
        "Aggregation": g.doc.aggregation,
        "Pattern": g.doc.pattern,
        "Members": g.doc.members,
        "ProtectionGroupArn": g.entity.arn,
    });
    if let (Some(o), Some(t)) = (out.as_object_mut(), &g.doc.resource_type) {
        o.insert("ResourceType".into(), json!(t));
    }
    out
}

/// The group's definition from the input, checked as AWS checks it: `ResourceType` only and
/// always with `BY_RESOURCE_TYPE`, `Members` only with `ARBITRARY`.
fn definition(input: &Value, id: &str) -> ShieldResult<GroupDoc> {
    let pattern = opt_str(input, "Pattern").unwrap_or_default().to_string();
    let resource_type = opt_str(input, "ResourceType").map(str::to_string);
    let members_given = input.get("Members").is_some();
    let members = str_list(input, "Members");
    match pattern.as_str() {
        "BY_RESOURCE_TYPE" if resource_type.is_none() => {
            return Err(ShieldError::invalid(
                "ResourceType must be specified when Pattern is BY_RESOURCE_TYPE.",
            ))
        }
        "ALL" | "ARBITRARY" if resource_type.is_some() => {
            return Err(ShieldError::invalid(
                "ResourceType can only be specified when Pattern is BY_RESOURCE_TYPE.",
            ))
        }
        "ALL" | "BY_RESOURCE_TYPE" if members_given => {
            return Err(ShieldError::invalid(
                "Members can only be specified when Pattern is ARBITRARY.",
            ))
        }
        _ => {}
    }
    if members.len() > model::MAX_MEMBERS {
        return Err(ShieldError::LimitsExceededException(
            "You have reached the limit of members in a protection group.".into(),
        ));
    }
    Ok(GroupDoc {
        id: id.to_string(),
        aggregation: opt_str(input, "Aggregation")
            .unwrap_or_default()
            .to_string(),
        pattern,
        resource_type,
        members,
        tags: Default::default(),
    })
}

async fn load(db: &mut Db<'_>, ctx: &CallContext, input: &Value) -> ShieldResult<Loaded<GroupDoc>> {
    let id = opt_str(input, "ProtectionGroupId").unwrap_or_default();
    model::load::<GroupDoc>(db, &ctx.principal.account_id, GROUP, id)
        .await?
        .ok_or_else(|| ShieldError::missing("protection group"))
}

/// `CreateProtectionGroup`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let account = &ctx.principal.account_id;
    let id = opt_str(input, "ProtectionGroupId")
        .unwrap_or_default()
        .to_string();
    let mut doc = definition(input, &id)?;
    doc.tags = model::tags_in(input)?;
    model::subscription(&mut db, account).await?;
    if model::load::<GroupDoc>(&mut db, account, GROUP, &id)
        .await?
        .is_some()
    {
        return Err(ShieldError::ResourceAlreadyExistsException(
            "The referenced protection group already exists.".into(),
        ));
    }
    if usize::try_from(db.entities().count(account, GROUP).await?).unwrap_or(usize::MAX)
        >= model::MAX_GROUPS
    {
        return Err(ShieldError::LimitsExceededException(
            "You have reached the limit of protection groups.".into(),
        ));
    }
    let arn = model::arn(ctx.partition(), account, "protection-group", &id);
    let e = model::new_entity(account, GROUP, &id, "/", arn, ctx.now);
    model::create(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DescribeProtectionGroup`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let g = load(&mut db, ctx, input).await?;
    Ok(json!({"ProtectionGroup": view(&g)}))
}

/// `UpdateProtectionGroup`: replaces the definition, keeps the tags.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let g = load(&mut db, ctx, input).await?;
    let mut doc = definition(input, &g.doc.id)?;
    doc.tags = g.doc.tags.clone();
    entity::save_doc(&mut db, g.entity, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DeleteProtectionGroup`.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let g = load(&mut db, ctx, input).await?;
    db.entities()
        .delete(&ctx.principal.account_id, GROUP, &g.doc.id)
        .await?;
    Ok(json!({}))
}

/// `ListProtectionGroups`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let f = |name: &str| {
        input
            .get("InclusionFilters")
            .map(|f| str_list(f, name))
            .unwrap_or_default()
    };
    let (ids, patterns, types, aggregations) = (
        f("ProtectionGroupIds"),
        f("Patterns"),
        f("ResourceTypes"),
        f("Aggregations"),
    );
    let matches = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
    let all: Vec<Value> =
        model::list_all::<GroupDoc>(&mut db, &ctx.principal.account_id, GROUP, "/")
            .await?
            .iter()
            .filter(|g| matches(&ids, &g.doc.id))
            .filter(|g| matches(&patterns, &g.doc.pattern))
            .filter(|g| matches(&aggregations, &g.doc.aggregation))
            .filter(|g| {
                types.is_empty()
                    || g.doc
                        .resource_type
                        .as_deref()
                        .is_some_and(|t| matches(&types, t))
            })
            .map(view)
            .collect();
    let page = paged(all, input)?;
    let mut out = json!({"ProtectionGroups": page.items});
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

/// `ListResourcesInProtectionGroup`: the protected resources the group's pattern selects.
pub async fn resources(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let g = load(&mut db, ctx, input).await?;
    let protected: Vec<String> = model::protections(&mut db, &ctx.principal.account_id)
        .await?
        .into_iter()
        .map(|p| p.doc.resource_arn)
        .collect();
    let arns: Vec<String> = match g.doc.pattern.as_str() {
        "ARBITRARY" => g.doc.members.clone(),
        "BY_RESOURCE_TYPE" => protected
            .into_iter()
            .filter(|a| model::resource_type(a) == g.doc.resource_type.as_deref())
            .collect(),
        _ => protected,
    };
    let page = paged(arns, input)?;
    let mut out = json!({"ResourceArns": page.items});
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}
