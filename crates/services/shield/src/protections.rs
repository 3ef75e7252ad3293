//! Protections: `CreateProtection`, `DescribeProtection`, `ListProtections`,
//! `DeleteProtection`, for the account's application load balancers.

use rampart_kit::{
    context::CallContext,
    db::Db,
    input::{opt_int, opt_str, str_list},
    page,
};
use serde_json::{json, Value};

use crate::{
    error::{ShieldError, ShieldResult},
    model::{self, Loaded, ProtectionDoc, PROTECTION},
};

/// A protection as AWS shows it.
pub fn view(p: &Loaded<ProtectionDoc>) -> Value {
    let mut out = json!({
        "Id": p.doc.id,
        "Name": p.doc.name,
        "ResourceArn": p.doc.resource_arn,
        "HealthCheckIds": [],
        "ProtectionArn": p.entity.arn,
    });
    let config = match &p.doc.automatic_response {
        Some(r) => json!({"Status": "ENABLED", "Action": {r.action.clone(): {}}}),
        None => Value::Null,
    };
    if let (Some(o), false) = (out.as_object_mut(), config.is_null()) {
        o.insert(
            "ApplicationLayerAutomaticResponseConfiguration".into(),
            config,
        );
    }
    out
}

/// Checks that `arn` names a load balancer of the caller's that exists.
async fn check_resource(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> ShieldResult<()> {
    if model::resource_type(arn).is_none() {
        return Err(ShieldError::InvalidResourceException(format!(
            "Unrecognized resource '{arn}' of type ."
        )));
    }
    let region = arn.split(':').nth(3).unwrap_or_default();
    let owner = arn.split(':').nth(4).unwrap_or_default();
    let found = owner == ctx.principal.account_id
        && rampart_elbv2::model::load_balancer(db, owner, region, arn)
            .await
            .is_ok();
    if !found {
        return Err(ShieldError::missing("resource"));
    }
    Ok(())
}

/// `CreateProtection`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let account = &ctx.principal.account_id;
    let name = opt_str(input, "Name").unwrap_or_default().to_string();
    let resource = opt_str(input, "ResourceArn")
        .unwrap_or_default()
        .to_string();
    let tags = model::tags_in(input)?;
    model::subscription(&mut db, account).await?;
    check_resource(&mut db, ctx, &resource).await?;
    let existing = model::protections(&mut db, account).await?;
    if existing.iter().any(|p| p.doc.resource_arn == resource) {
        return Err(ShieldError::ResourceAlreadyExistsException(
            "The referenced protection already exists.".into(),
        ));
    }
    if existing.len() >= model::MAX_PROTECTED_LOAD_BALANCERS {
        return Err(ShieldError::LimitsExceededException(
            "You have reached the limit of protected resources.".into(),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let doc = ProtectionDoc {
        id: id.clone(),
        name,
        resource_arn: resource,
        automatic_response: None,
        tags,
    };
    let arn = model::arn(ctx.partition(), account, "protection", &id);
    let e = model::new_entity(account, PROTECTION, &id, "/", arn, ctx.now);
    model::create(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({"ProtectionId": id}))
}

/// The protection `input` names by `ProtectionId` or `ResourceArn` (exactly one).
pub async fn named(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> ShieldResult<Loaded<ProtectionDoc>> {
    let account = &ctx.principal.account_id;
    match (
        opt_str(input, "ProtectionId"),
        opt_str(input, "ResourceArn"),
    ) {
        (Some(id), None) => model::load::<ProtectionDoc>(db, account, PROTECTION, id)
            .await?
            .ok_or_else(|| ShieldError::missing("protection")),
        (None, Some(arn)) => model::protection_of(db, account, arn)
            .await?
            .ok_or_else(|| ShieldError::missing("protection")),
        _ => Err(ShieldError::invalid(
            "Exactly one of ProtectionId or ResourceArn must be given.",
        )),
    }
}

/// `DescribeProtection`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let p = named(&mut db, ctx, input).await?;
    Ok(json!({"Protection": view(&p)}))
}

/// The first member of a one-member filter list.
fn filter(input: &Value, name: &str) -> Vec<String> {
    input
        .get("InclusionFilters")
        .map(|f| str_list(f, name))
        .unwrap_or_default()
}

/// A page size: `MaxResults` when given and non-zero, else AWS's default.
pub fn page_size(input: &Value) -> usize {
    match opt_int(input, "MaxResults") {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => 20,
    }
}

/// A page of items, or `InvalidPaginationTokenException`.
pub fn paged<T>(items: Vec<T>, input: &Value) -> ShieldResult<page::Page<T>> {
    page::at_offset(items, opt_str(input, "NextToken"), page_size(input)).ok_or_else(|| {
        ShieldError::InvalidPaginationTokenException("Invalid pagination token.".into())
    })
}

/// `ListProtections`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let arns = filter(input, "ResourceArns");
    let names = filter(input, "ProtectionNames");
    let types = filter(input, "ResourceTypes");
    let all: Vec<Value> = model::protections(&mut db, &ctx.principal.account_id)
        .await?
        .iter()
        .filter(|p| arns.is_empty() || arns.contains(&p.doc.resource_arn))
        .filter(|p| names.is_empty() || names.contains(&p.doc.name))
        .filter(|p| {
            types.is_empty()
                || model::resource_type(&p.doc.resource_arn)
                    .is_some_and(|t| types.iter().any(|x| x == t))
        })
        .map(view)
        .collect();
    let page = paged(all, input)?;
    let mut out = json!({"Protections": page.items});
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

/// `DeleteProtection`.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let account = &ctx.principal.account_id;
    let id = opt_str(input, "ProtectionId").unwrap_or_default();
    let p = model::load::<ProtectionDoc>(&mut db, account, PROTECTION, id)
        .await?
        .ok_or_else(|| ShieldError::missing("protection"))?;
    // The automatic response's rule leaves the web ACL with its protection.
    crate::automatic::withdraw(&mut db, ctx, &p.doc).await?;
    db.entities().delete(account, PROTECTION, id).await?;
    Ok(json!({}))
}
