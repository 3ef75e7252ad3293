//! Trusted IP lists (`CreateIPSet`, `GetIPSet`, `ListIPSets`, `UpdateIPSet`, `DeleteIPSet`)
//! and threat lists (the same for `ThreatIntelSet`).
//!
//! Activating a list reads its file from Rampart's S3 (`fetch`) in the call's preparation, so
//! a list that cannot be read is refused and nothing is stored; the entries are kept with the
//! list, and are read again when a later update activates it or moves it. An inactive list
//! keeps no entries. A detector has at most one trusted IP list and six threat lists
//! (AWS's quotas); a trusted IP list holds at most 2,000 entries.

use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_bool, opt_str},
};
use rampart_store::{Entity, Store};
use serde_json::{json, Value};

use crate::{
    detectors::listed,
    error::GuardDutyError,
    fetch,
    model::{self, List, ListDoc, IPSET, THREAT_INTEL_SET},
    tags, Op,
};

/// One of the two list families.
#[derive(Debug, Clone, Copy)]
struct Family {
    kind: &'static str,
    /// The id member (`IpSetId`, `ThreatIntelSetId`).
    id_member: &'static str,
    /// The list member of the `List*` output.
    ids_member: &'static str,
    /// The ARN segment.
    arn_segment: &'static str,
    /// Lists per detector.
    max_lists: usize,
    /// Entries per list.
    max_entries: usize,
}

const IP_SETS: Family = Family {
    kind: IPSET,
    id_member: "IpSetId",
    ids_member: "IpSetIds",
    arn_segment: "ipset",
    max_lists: 1,
    max_entries: 2_000,
};

const THREAT_SETS: Family = Family {
    kind: THREAT_INTEL_SET,
    id_member: "ThreatIntelSetId",
    ids_member: "ThreatIntelSetIds",
    arn_segment: "threatintelset",
    max_lists: 6,
    max_entries: crate::lists::MAX_ENTRIES,
};

fn family(op: Op) -> Family {
    match op {
        Op::CreateThreatIntelSet
        | Op::GetThreatIntelSet
        | Op::UpdateThreatIntelSet
        | Op::DeleteThreatIntelSet
        | Op::ListThreatIntelSets => THREAT_SETS,
        _ => IP_SETS,
    }
}

/// The entries a preparation read.
struct Entries(Vec<String>);

/// The entries the preparation read, if it read any.
fn prepared(ctx: &CallContext) -> Option<Vec<String>> {
    ctx.prepared
        .as_ref()
        .and_then(|p| p.get::<Entries>())
        .map(|e| e.0.clone())
}

/// Prepares a create or update that activates a list: reads the list file.
pub async fn prepare(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<Preparation>, ServiceError> {
    let f = family(op);
    let creating = matches!(op, Op::CreateIPSet | Op::CreateThreatIntelSet);
    let (location, owner, active) = if creating {
        (
            opt_str(input, "Location").unwrap_or_default().to_string(),
            opt_str(input, "ExpectedBucketOwner").map(str::to_string),
            opt_bool(input, "Activate").unwrap_or(false),
        )
    } else {
        let l = find(&mut Db::Read(store), ctx, input, f).await?;
        let active = opt_bool(input, "Activate").unwrap_or(l.doc.status == "ACTIVE");
        (
            opt_str(input, "Location").map_or(l.doc.location, str::to_string),
            opt_str(input, "ExpectedBucketOwner")
                .map(str::to_string)
                .or(l.doc.expected_bucket_owner),
            active,
        )
    };
    if !active {
        return Ok(None);
    }
    let fetched = fetch::fetch(&location, owner.as_deref(), ctx, store).await?;
    let max = f.max_entries;
    Ok(Some(Preparation::new(move || {
        let entries = fetched.entries()?;
        if entries.len() > max {
            return Err(GuardDutyError::BadRequestException(format!(
                "The request is rejected because the list holds more than {max} entries."
            ))
            .into());
        }
        Ok(Entries(entries))
    })))
}

/// The list an input names under the caller's detector.
async fn find(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
    f: Family,
) -> Result<List, ServiceError> {
    let d = model::detector(db, ctx, opt_str(input, "DetectorId").unwrap_or_default()).await?;
    let id = opt_str(input, f.id_member).unwrap_or_default();
    let e = entity::find(db, d.account(), f.kind, id)
        .await?
        .filter(|e| e.path == model::under(d.id()))
        .ok_or_else(|| {
            GuardDutyError::BadRequestException(format!(
                "The request is rejected because the input {} is not owned by the current account.",
                f.id_member
            ))
        })?;
    let doc = entity::read_doc(&e)?;
    Ok(List { entity: e, doc })
}

fn check_name(name: &str) -> Result<(), GuardDutyError> {
    let n = name.chars().count();
    if n == 0 || n > 300 {
        return Err(GuardDutyError::invalid_input());
    }
    Ok(())
}

/// `CreateIPSet`, `CreateThreatIntelSet`.
pub async fn create(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let f = family(op);
    let d = model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let name = opt_str(input, "Name").unwrap_or_default();
    check_name(name)?;
    let existing = model::lists(&mut db, d.account(), f.kind, d.id()).await?;
    if existing.len() >= f.max_lists {
        return Err(GuardDutyError::BadRequestException(format!(
            "The request is rejected because the current account cannot create more than {} {}s.",
            f.max_lists, f.arn_segment
        ))
        .into());
    }
    let entries = prepared(ctx);
    let doc = ListDoc {
        name: name.to_string(),
        format: opt_str(input, "Format").unwrap_or("TXT").to_string(),
        location: opt_str(input, "Location").unwrap_or_default().to_string(),
        status: if entries.is_some() {
            "ACTIVE"
        } else {
            "INACTIVE"
        }
        .into(),
        expected_bucket_owner: opt_str(input, "ExpectedBucketOwner").map(str::to_string),
        entries: entries.unwrap_or_default(),
        tags: tags::parse(input.get("Tags"))?,
    };
    let id = model::new_id();
    let mut e = Entity {
        account_id: d.account().to_string(),
        kind: f.kind.into(),
        name: name.to_string(),
        name_key: id.clone(),
        id: format!("{}-{id}", f.kind),
        path: model::under(d.id()),
        arn: format!("{}/{}/{id}", d.entity.arn, f.arn_segment),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(json!({ f.id_member: id }))
}

/// `GetIPSet`, `GetThreatIntelSet`.
pub async fn get(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let l = find(&mut db, ctx, input, family(op)).await?;
    let mut out = json!({
        "Name": l.doc.name,
        "Format": l.doc.format,
        "Location": l.doc.location,
        "Status": l.doc.status,
        "Tags": l.doc.tags,
    });
    if let (Some(owner), Some(obj)) = (l.doc.expected_bucket_owner, out.as_object_mut()) {
        obj.insert("ExpectedBucketOwner".into(), json!(owner));
    }
    Ok(out)
}

/// `UpdateIPSet`, `UpdateThreatIntelSet`.
pub async fn update(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let mut l = find(&mut db, ctx, input, family(op)).await?;
    if let Some(name) = opt_str(input, "Name") {
        check_name(name)?;
        l.doc.name = name.to_string();
        l.entity.name = name.to_string();
    }
    if let Some(location) = opt_str(input, "Location") {
        l.doc.location = location.to_string();
    }
    if let Some(owner) = opt_str(input, "ExpectedBucketOwner") {
        l.doc.expected_bucket_owner = Some(owner.to_string());
    }
    match prepared(ctx) {
        Some(entries) => {
            l.doc.entries = entries;
            l.doc.status = "ACTIVE".into();
        }
        None => {
            l.doc.entries.clear();
            l.doc.status = "INACTIVE".into();
        }
    }
    entity::save_doc(&mut db, l.entity, &l.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DeleteIPSet`, `DeleteThreatIntelSet`.
pub async fn delete(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let f = family(op);
    let l = find(&mut db, ctx, input, f).await?;
    db.entities()
        .delete(&l.entity.account_id, f.kind, &l.entity.name_key)
        .await?;
    Ok(json!({}))
}

/// `ListIPSets`, `ListThreatIntelSets`.
pub async fn list(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let f = family(op);
    let d = model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let ids: Vec<String> = model::all_under(&mut db, d.account(), f.kind, d.id())
        .await?
        .into_iter()
        .map(|e| e.name_key)
        .collect();
    Ok(listed(f.ids_member, input, ids)?)
}
