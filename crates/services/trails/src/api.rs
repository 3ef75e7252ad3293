//! The trail operations: `CreateTrail`, `UpdateTrail`, `DeleteTrail`, `GetTrail`,
//! `DescribeTrails`, `ListTrails`, `StartLogging`, `StopLogging`, `GetTrailStatus`,
//! `PutEventSelectors`, `GetEventSelectors`.

use chrono::{DateTime, Utc};
use rampart_cloudtrail::CloudTrailError;
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_bool, opt_str, str_list},
    json_field::SetField,
};
use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};

use crate::{
    destination, model,
    model::{DeliveryDoc, Trail, TrailDoc, Window, TRAIL},
    selectors, tags,
};

/// Trails per account and region (AWS's quota).
const MAX_TRAILS_PER_REGION: usize = 5;

fn not_found(name: &str, ctx: &CallContext) -> ServiceError {
    CloudTrailError::TrailNotFoundException(format!(
        "Unknown trail: {name} for the user: {}",
        ctx.principal.account_id
    ))
    .into()
}

/// Checks a trail name against CloudTrail's rules: 3 to 128 characters among letters,
/// digits, `.`, `_` and `-`, starting and ending with a letter or digit, no two of `.`, `_`,
/// `-` in a row.
pub fn check_name(name: &str) -> Result<(), CloudTrailError> {
    let bytes = name.as_bytes();
    let punct = |b: &u8| matches!(b, b'.' | b'_' | b'-');
    let ok = (3..=128).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || punct(b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !bytes.windows(2).any(|w| w.iter().all(punct));
    if ok {
        Ok(())
    } else {
        Err(CloudTrailError::InvalidTrailNameException(
            "Trail name must be 3-128 characters of letters, numbers, periods, underscores and dashes, start and end with a letter or number, and have no adjacent periods, underscores or dashes.".into(),
        ))
    }
}

/// The trail a `Name` member names (a name or an ARN) for the caller, as seen from the
/// caller's region: a trail of another home region is visible only when it is multi-region.
/// A member account of an organization also sees its organization's trails.
pub async fn resolve(
    db: &mut Db<'_>,
    ctx: &CallContext,
    given: &str,
) -> Result<Trail, ServiceError> {
    let account = &ctx.principal.account_id;
    let (owner, name, region) = if given.starts_with("arn:") {
        let Some((region, owner, name)) = model::parse_arn(given) else {
            return Err(CloudTrailError::CloudTrailARNInvalidException(format!(
                "{given} is not a valid trail ARN."
            ))
            .into());
        };
        (owner.to_string(), name, Some(region))
    } else {
        (account.clone(), given, None)
    };
    let own = if owner == *account {
        model::find(db, account, name).await?
    } else {
        None
    };
    let found = match own {
        Some(t) => Some(t),
        None => org_trails(db, account)
            .await?
            .into_iter()
            .find(|t| t.doc.name == name && (region.is_none() || t.account() == owner)),
    };
    let trail = found
        .filter(|t| region.is_none_or(|r| t.doc.home_region == r))
        .ok_or_else(|| not_found(given, ctx))?;
    visible(trail, ctx, given)
}

/// The organization trails a member account sees: its organization's management account's
/// trails with `IsOrganizationTrail` (none for the management account itself, whose own
/// trails they are).
pub async fn org_trails(db: &mut Db<'_>, account: &str) -> Result<Vec<Trail>, ServiceError> {
    let org = rampart_organizations::common::org_of(db, account)
        .await
        .map_err(|_| ServiceError::internal())?;
    let Some(org) = org.filter(|o| o.management != account) else {
        return Ok(Vec::new());
    };
    let mut trails = model::list(db, &org.management).await?;
    trails.retain(|t| t.doc.organization_id.as_deref() == Some(org.id.as_str()));
    Ok(trails)
}

fn visible(trail: Trail, ctx: &CallContext, given: &str) -> Result<Trail, ServiceError> {
    if trail.doc.home_region == ctx.region || trail.doc.multi_region {
        Ok(trail)
    } else {
        Err(not_found(given, ctx))
    }
}

/// A trail the caller may change: only from its home region.
async fn resolve_home(
    db: &mut Db<'_>,
    ctx: &CallContext,
    given: &str,
) -> Result<Trail, ServiceError> {
    let trail = resolve(db, ctx, given).await?;
    if trail.account() != ctx.principal.account_id {
        return Err(CloudTrailError::NotOrganizationMasterAccountException(format!(
            "The organization trail {} can be changed only by the organization's management account.",
            trail.arn()
        ))
        .into());
    }
    if trail.doc.home_region != ctx.region {
        return Err(CloudTrailError::InvalidHomeRegionException(format!(
            "This operation must be called from the trail's home region, {}.",
            trail.doc.home_region
        ))
        .into());
    }
    Ok(trail)
}

fn ts(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// The `Trail` shape (also `CreateTrail`'s and `UpdateTrail`'s output, less the members
/// those leave out).
pub fn describe(trail: &Trail) -> Value {
    let d = &trail.doc;
    let mut out = Map::new();
    out.insert("Name".into(), json!(d.name));
    out.insert("S3BucketName".into(), json!(d.bucket));
    if let Some(p) = &d.prefix {
        out.insert("S3KeyPrefix".into(), json!(p));
    }
    if let Some(t) = &d.sns_topic {
        out.insert("SnsTopicName".into(), json!(t));
    }
    out.insert("IncludeGlobalServiceEvents".into(), json!(d.include_global));
    out.insert("IsMultiRegionTrail".into(), json!(d.multi_region));
    out.insert("HomeRegion".into(), json!(d.home_region));
    out.insert("TrailARN".into(), json!(trail.arn()));
    out.insert("LogFileValidationEnabled".into(), json!(d.validation));
    if let Some(k) = &d.kms_key_arn {
        out.insert("KmsKeyId".into(), json!(k));
    }
    out.insert(
        "HasCustomEventSelectors".into(),
        json!(d.selectors.custom()),
    );
    out.insert("HasInsightSelectors".into(), json!(false));
    out.insert(
        "IsOrganizationTrail".into(),
        json!(d.organization_id.is_some()),
    );
    Value::Object(out)
}

/// `CreateTrail`'s and `UpdateTrail`'s output: the trail less `HomeRegion` and the selector
/// flags.
fn written(trail: &Trail) -> Value {
    let mut out = describe(trail);
    if let Some(map) = out.as_object_mut() {
        map.remove("HomeRegion");
        map.remove("HasCustomEventSelectors");
        map.remove("HasInsightSelectors");
    }
    out
}

fn check_prefix(prefix: &str) -> Result<(), CloudTrailError> {
    if prefix.len() > 200
        || prefix.starts_with('/')
        || prefix.ends_with('/')
        || prefix.contains("//")
    {
        return Err(CloudTrailError::InvalidS3PrefixException(format!(
            "Invalid S3 prefix: {prefix}"
        )));
    }
    Ok(())
}

fn check_bucket_name(bucket: &str) -> Result<(), CloudTrailError> {
    if rampart_s3::names::is_valid_bucket_name(bucket) {
        Ok(())
    } else {
        Err(CloudTrailError::InvalidS3BucketNameException(format!(
            "Invalid bucket name: {bucket}"
        )))
    }
}

/// The organization an organization trail logs for: the caller must be its management account.
async fn organization_of(store: &Store, ctx: &CallContext) -> Result<String, ServiceError> {
    let account = &ctx.principal.account_id;
    let view = rampart_organizations::enforcement::view(store, account)
        .await
        .map_err(|_| ServiceError::internal())?;
    let Some(view) = view else {
        return Err(CloudTrailError::OrganizationsNotInUseException(
            "This account is not a member of an organization.".into(),
        )
        .into());
    };
    if view.management != *account {
        return Err(CloudTrailError::NotOrganizationMasterAccountException(
            "Only the management account of an organization can create an organization trail."
                .into(),
        )
        .into());
    }
    Ok(view.org_id)
}

/// Where and how a trail delivers, checked before the write transaction (the checks ask
/// the one authorizer and read S3 and KMS, which a write transaction must not wait on).
#[derive(Debug, Clone)]
pub struct Destination(TrailDoc);

/// Applies the destination members of a create or update to `doc`, checking each as AWS
/// does: bucket name and policy, prefix, KMS key, organization.
async fn apply_destination(
    input: &Value,
    doc: &mut TrailDoc,
    arn: &str,
    ctx: &CallContext,
    store: &Store,
) -> Result<(), ServiceError> {
    if let Some(bucket) = opt_str(input, "S3BucketName") {
        check_bucket_name(bucket)?;
        doc.bucket = bucket.to_string();
    }
    if let Some(prefix) = opt_str(input, "S3KeyPrefix") {
        check_prefix(prefix)?;
        doc.prefix = Some(prefix.to_string()).filter(|p| !p.is_empty());
    }
    if let Some(topic) = opt_str(input, "SnsTopicName") {
        doc.sns_topic = Some(topic.to_string()).filter(|t| !t.is_empty());
    }
    if let Some(v) = opt_bool(input, "IncludeGlobalServiceEvents") {
        doc.include_global = v;
    }
    if let Some(v) = opt_bool(input, "IsMultiRegionTrail") {
        doc.multi_region = v;
    }
    if doc.multi_region && !doc.include_global {
        return Err(CloudTrailError::InvalidParameterCombinationException(
            "Multi-Region trail must include global service events.".into(),
        )
        .into());
    }
    if let Some(v) = opt_bool(input, "EnableLogFileValidation") {
        doc.validation = v;
    }
    if let Some(v) = opt_bool(input, "IsOrganizationTrail") {
        doc.organization_id = if v {
            Some(organization_of(store, ctx).await?)
        } else {
            None
        };
    }
    if let Some(key) = opt_str(input, "KmsKeyId") {
        doc.kms_key_arn = if key.is_empty() {
            None
        } else {
            Some(destination::check_kms_key(store, ctx, key, arn).await?)
        };
    }
    let root = destination::logs_root(
        doc.prefix.as_deref(),
        doc.organization_id.as_deref(),
        &ctx.principal.account_id,
    );
    destination::check_bucket(store, ctx, &doc.bucket, &root, arn).await
}

/// Prepares `CreateTrail` and `UpdateTrail`: the trail's destination, checked.
pub async fn prepare(
    op: crate::Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<rampart_kit::context::Preparation>, ServiceError> {
    let given = opt_str(input, "Name").unwrap_or_default();
    let (mut doc, arn) = if op == crate::Op::CreateTrail {
        check_name(given)?;
        let doc = TrailDoc {
            name: given.to_string(),
            home_region: ctx.region.clone(),
            include_global: true,
            ..TrailDoc::default()
        };
        (
            doc,
            model::trail_arn(&ctx.region, &ctx.principal.account_id, given),
        )
    } else {
        let trail = resolve_home(&mut Db::Read(store), ctx, given).await?;
        let arn = trail.arn().to_string();
        (trail.doc, arn)
    };
    apply_destination(input, &mut doc, &arn, ctx, store).await?;
    Ok(Some(rampart_kit::context::Preparation::new(move || {
        Ok(Destination(doc))
    })))
}

/// The destination the call's preparation checked.
fn prepared(ctx: &CallContext) -> Result<TrailDoc, ServiceError> {
    ctx.prepared
        .as_ref()
        .and_then(|p| p.get::<Destination>())
        .map(|d| d.0.clone())
        .ok_or_else(ServiceError::internal)
}

/// Copies the checked destination into a trail's document.
fn set_destination(doc: &mut TrailDoc, checked: TrailDoc) {
    doc.bucket = checked.bucket;
    doc.prefix = checked.prefix;
    doc.sns_topic = checked.sns_topic;
    doc.include_global = checked.include_global;
    doc.multi_region = checked.multi_region;
    doc.validation = checked.validation;
    doc.kms_key_arn = checked.kms_key_arn;
    doc.organization_id = checked.organization_id;
}

/// `CreateTrail`.
pub async fn create(input: &Value, ctx: &CallContext, db: Db<'_>) -> Result<Value, ServiceError> {
    let Db::Write(tx) = db else {
        return Err(ServiceError::internal());
    };
    let mut db = Db::Write(tx);
    let name = opt_str(input, "Name").unwrap_or_default();
    check_name(name)?;
    let account = ctx.principal.account_id.clone();
    if model::find(&mut db, &account, name).await?.is_some() {
        return Err(CloudTrailError::TrailAlreadyExistsException(format!(
            "Trail {name} already exists for customer: {account}"
        ))
        .into());
    }
    let here = model::list(&mut db, &account)
        .await?
        .into_iter()
        .filter(|t| t.doc.home_region == ctx.region || t.doc.multi_region)
        .count();
    if here >= MAX_TRAILS_PER_REGION {
        return Err(CloudTrailError::MaximumNumberOfTrailsExceededException(
            "User already has 5 trails in this region.".into(),
        )
        .into());
    }
    let arn = model::trail_arn(&ctx.region, &account, name);
    let mut doc = prepared(ctx)?;
    doc.tags = tags::parse_list(input.get("TagsList"))?;
    let entity = Entity {
        account_id: account.clone(),
        kind: TRAIL.into(),
        name: name.to_string(),
        name_key: name.to_string(),
        id: arn.clone(),
        path: format!("/{}/", ctx.region),
        arn: arn.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: entity::to_text(&doc)?,
    };
    db.entities().create(&entity).await?;
    let delivery = DeliveryDoc {
        account,
        name: name.to_string(),
        ..DeliveryDoc::default()
    };
    db.entities()
        .create(&model::new_delivery(&entity, &delivery)?)
        .await?;
    Ok(written(&Trail { entity, doc }))
}

/// `UpdateTrail`.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let given = opt_str(input, "Name").unwrap_or_default();
    let mut trail = resolve_home(&mut db, ctx, given).await?;
    set_destination(&mut trail.doc, prepared(ctx)?);
    entity::save_doc(&mut db, trail.entity.clone(), &trail.doc, ctx.now).await?;
    Ok(written(&trail))
}

/// `DeleteTrail`.
pub async fn delete(input: &Value, ctx: &CallContext, db: Db<'_>) -> Result<Value, ServiceError> {
    let Db::Write(tx) = db else {
        return Err(ServiceError::internal());
    };
    let trail = resolve_home(
        &mut Db::Write(tx),
        ctx,
        opt_str(input, "Name").unwrap_or_default(),
    )
    .await?;
    let arn = trail.arn().to_string();
    tx.entities()
        .delete(trail.account(), TRAIL, &trail.entity.name_key)
        .await?;
    if model::delivery(&mut Db::Write(tx), &arn).await?.is_some() {
        tx.entities()
            .delete(model::SYSTEM_ACCOUNT, model::DELIVERY, &arn)
            .await?;
    }
    tx.drop_stream_cursor(&model::cursor_name(&arn)).await?;
    Ok(json!({}))
}

/// `GetTrail`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let trail = resolve(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    Ok(json!({ "Trail": describe(&trail) }))
}

/// `DescribeTrails`: the named trails, or every trail visible in the region (shadow trails,
/// multi-region trails of another home region, unless `includeShadowTrails` is false).
pub async fn describe_trails(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let shadows = opt_bool(input, "includeShadowTrails").unwrap_or(true);
    let names = str_list(input, "trailNameList");
    let mut out = Vec::new();
    if names.is_empty() {
        let mut trails = model::list(&mut db, &ctx.principal.account_id).await?;
        trails.extend(org_trails(&mut db, &ctx.principal.account_id).await?);
        for t in trails {
            let home = t.doc.home_region == ctx.region;
            if home || (shadows && t.doc.multi_region) {
                out.push(describe(&t));
            }
        }
    } else {
        for name in &names {
            match resolve(&mut db, ctx, name).await {
                Ok(t) if t.doc.home_region == ctx.region || shadows => out.push(describe(&t)),
                Ok(_) => {}
                Err(e) if e.code == "TrailNotFoundException" => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(json!({ "trailList": out }))
}

/// `ListTrails`: every trail of the account, all regions, and its organization's trails.
pub async fn list(
    _input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let mut all = model::list(&mut db, &ctx.principal.account_id).await?;
    all.extend(org_trails(&mut db, &ctx.principal.account_id).await?);
    let trails: Vec<Value> = all
        .iter()
        .map(
            |t| json!({ "TrailARN": t.arn(), "Name": t.doc.name, "HomeRegion": t.doc.home_region }),
        )
        .collect();
    Ok(json!({ "Trails": trails }))
}

/// `StartLogging`: opens a logging period; the first one places the trail's cursor at the
/// end of the audit stream, so the trail delivers what happens from now on.
pub async fn start(input: &Value, ctx: &CallContext, db: Db<'_>) -> Result<Value, ServiceError> {
    let Db::Write(tx) = db else {
        return Err(ServiceError::internal());
    };
    let mut trail = resolve_home(
        &mut Db::Write(tx),
        ctx,
        opt_str(input, "Name").unwrap_or_default(),
    )
    .await?;
    if !trail.doc.logging {
        if trail.doc.windows.is_empty() {
            tx.place_stream_cursor_at_head(&model::cursor_name(trail.arn()))
                .await?;
        }
        trail.doc.logging = true;
        trail.doc.windows.push(Window {
            start: ctx.now,
            stop: None,
        });
        // Only the periods whose records may still be undelivered matter.
        let keep = trail.doc.windows.len().saturating_sub(8);
        trail.doc.windows.drain(..keep);
        entity::save_doc(&mut Db::Write(tx), trail.entity, &trail.doc, ctx.now).await?;
    }
    Ok(json!({}))
}

/// `StopLogging`: closes the logging period; what was recorded before still delivers.
pub async fn stop(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let mut trail = resolve_home(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    if trail.doc.logging {
        trail.doc.logging = false;
        if let Some(w) = trail.doc.windows.last_mut() {
            w.stop = Some(ctx.now);
        }
        entity::save_doc(&mut db, trail.entity, &trail.doc, ctx.now).await?;
    }
    Ok(json!({}))
}

/// `GetTrailStatus`.
pub async fn status(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let trail = resolve(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    let state = model::delivery(&mut db, trail.arn())
        .await?
        .map(|(_, d)| d)
        .unwrap_or_default();
    let mut out = json!({ "IsLogging": trail.doc.logging });
    let text = |t: DateTime<Utc>| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    if let Some(t) = trail.doc.started() {
        out.set_field("StartLoggingTime", ts(t));
        out.set_field("TimeLoggingStarted", text(t));
    }
    if let Some(t) = trail.doc.stopped() {
        out.set_field("StopLoggingTime", ts(t));
        out.set_field("TimeLoggingStopped", text(t));
    }
    if let Some(t) = state.latest_delivery {
        out.set_field("LatestDeliveryTime", ts(t));
    }
    if let Some(t) = state.latest_attempt {
        out.set_field("LatestDeliveryAttemptTime", text(t));
        out.set_field(
            "LatestDeliveryAttemptSucceeded",
            json!(if state.latest_error.is_none() {
                text(t)
            } else {
                json!("")
            }),
        );
    }
    if let Some(e) = &state.latest_error {
        out.set_field("LatestDeliveryError", json!(e));
    }
    if let Some(t) = state.latest_digest {
        out.set_field("LatestDigestDeliveryTime", ts(t));
    }
    if let Some(e) = &state.latest_digest_error {
        out.set_field("LatestDigestDeliveryError", json!(e));
    }
    Ok(out)
}

/// `PutEventSelectors`.
pub async fn put_selectors(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let mut trail = resolve_home(
        &mut db,
        ctx,
        opt_str(input, "TrailName").unwrap_or_default(),
    )
    .await?;
    trail.doc.selectors = selectors::parse(input, ctx.partition())?;
    let arn = trail.arn().to_string();
    let (member, value) = trail.doc.selectors.describe();
    entity::save_doc(&mut db, trail.entity, &trail.doc, ctx.now).await?;
    let mut out = json!({ "TrailARN": arn });
    out.set_field(member, value);
    Ok(out)
}

/// `GetEventSelectors`.
pub async fn get_selectors(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let trail = resolve(
        &mut db,
        ctx,
        opt_str(input, "TrailName").unwrap_or_default(),
    )
    .await?;
    let (member, value) = trail.doc.selectors.describe();
    let mut out = json!({ "TrailARN": trail.arn() });
    out.set_field(member, value);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cloudtrails_rules() {
        for good in ["abc", "my-trail", "a.b_c-d", "Trail1"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "a._b",
            "a b c",
            &"x".repeat(129),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("logs/prod").is_ok());
        assert!(check_prefix("/logs").is_err());
        assert!(check_prefix("logs/").is_err());
        assert!(check_prefix("a//b").is_err());
    }
}
