//! The findings API: `ListFindings`, `GetFindings`, `GetFindingsStatistics`,
//! `ArchiveFindings`, `UnarchiveFindings`, `UpdateFindingsFeedback` and
//! `CreateSampleFindings`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_str, str_list},
};
use serde_json::{json, Map, Value};

use crate::{
    criteria::{self, Criteria},
    detectors::listed,
    error::GuardDutyError,
    finding::{self, Level, Observation},
    model::{self, Detector, StoredFinding, FINDING},
    relation,
};

/// Finding ids one call may name.
const MAX_IDS: usize = 50;

async fn detector_of(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> Result<Detector, ServiceError> {
    model::detector(db, ctx, opt_str(input, "DetectorId").unwrap_or_default()).await
}

/// The detectors whose findings a detector's account sees: its own, and those of its
/// enabled members in its region (found through its own member records only).
async fn scope(db: &mut Db<'_>, d: &Detector) -> Result<Vec<Detector>, ServiceError> {
    let mut out = vec![d.clone()];
    out.extend(relation::monitored(db, d.account(), &d.doc.region).await?);
    Ok(out)
}

/// The findings in the detector's scope that match the input's `FindingCriteria`.
async fn matching(
    db: &mut Db<'_>,
    d: &Detector,
    input: &Value,
) -> Result<Vec<Value>, ServiceError> {
    let criteria = Criteria::of(input)?;
    let mut out = Vec::new();
    for s in scope(db, d).await? {
        out.extend(
            model::findings(db, s.account(), s.id())
                .await?
                .into_iter()
                .map(|f| f.doc)
                .filter(|f| criteria.matches(f)),
        );
    }
    Ok(out)
}

fn id_of(f: &Value) -> String {
    f.get("Id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `ListFindings`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let d = detector_of(&mut db, ctx, input).await?;
    let mut found = matching(&mut db, &d, input).await?;
    criteria::sort(&mut found, input)?;
    let ids: Vec<String> = found.iter().map(id_of).collect();
    Ok(listed("FindingIds", input, ids)?)
}

/// The `FindingIds` of an input (1 to 50).
fn finding_ids(input: &Value) -> Result<Vec<String>, GuardDutyError> {
    let ids = str_list(input, "FindingIds");
    if ids.len() > MAX_IDS {
        return Err(GuardDutyError::invalid_input());
    }
    Ok(ids)
}

/// The stored findings in the detector's scope among `ids` (unknown ids are passed over).
async fn stored(
    db: &mut Db<'_>,
    d: &Detector,
    ids: &[String],
) -> Result<Vec<StoredFinding>, ServiceError> {
    let detectors = scope(db, d).await?;
    let mut out = Vec::new();
    for id in ids {
        for s in &detectors {
            let found = entity::find(db, s.account(), FINDING, id)
                .await?
                .filter(|e| e.path == model::under(s.id()));
            if let Some(e) = found {
                let doc = entity::read_doc(&e)?;
                out.push(StoredFinding { entity: e, doc });
                break;
            }
        }
    }
    Ok(out)
}

/// Refuses archiving by a member whose findings its administrator manages ("Only the
/// administrator account can archive findings").
async fn not_managed(db: &mut Db<'_>, d: &Detector) -> Result<(), ServiceError> {
    let admin = relation::administrator_of(db, d.account(), &d.doc.region).await?;
    if admin.is_some_and(|(_, _, m)| m.status == relation::ENABLED) {
        return Err(GuardDutyError::BadRequestException(
            "The request is rejected because the current account is a GuardDuty member account: only its administrator account can archive or unarchive its findings.".into(),
        )
        .into());
    }
    Ok(())
}

/// `GetFindings`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let d = detector_of(&mut db, ctx, input).await?;
    let ids = finding_ids(input)?;
    let mut docs: Vec<Value> = stored(&mut db, &d, &ids)
        .await?
        .into_iter()
        .map(|f| f.doc)
        .collect();
    if input.get("SortCriteria").is_some() {
        criteria::sort(&mut docs, input)?;
    }
    Ok(json!({ "Findings": docs }))
}

/// Sets a member of the `Service` of the named findings.
async fn set_service_member(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    member: &str,
    value: Value,
) -> Result<Value, ServiceError> {
    let d = detector_of(&mut db, ctx, input).await?;
    let ids = finding_ids(input)?;
    for f in stored(&mut db, &d, &ids).await? {
        let mut doc = f.doc;
        if let Some(service) = doc.get_mut("Service").and_then(Value::as_object_mut) {
            service.insert(member.into(), value.clone());
        }
        entity::save_doc(&mut db, f.entity, &doc, ctx.now).await?;
    }
    Ok(json!({}))
}

/// `ArchiveFindings`.
pub async fn archive(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let d = detector_of(&mut db, ctx, input).await?;
    not_managed(&mut db, &d).await?;
    set_service_member(input, ctx, db, "Archived", json!(true)).await
}

/// `UnarchiveFindings`.
pub async fn unarchive(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let d = detector_of(&mut db, ctx, input).await?;
    not_managed(&mut db, &d).await?;
    set_service_member(input, ctx, db, "Archived", json!(false)).await
}

/// `UpdateFindingsFeedback`.
pub async fn feedback(input: &Value, ctx: &CallContext, db: Db<'_>) -> Result<Value, ServiceError> {
    let feedback = opt_str(input, "Feedback").unwrap_or_default().to_string();
    set_service_member(input, ctx, db, "UserFeedback", json!(feedback)).await
}

/// The last time a group's findings were updated.
fn later(a: Option<DateTime<Utc>>, f: &Value) -> Option<DateTime<Utc>> {
    let t = f
        .get("UpdatedAt")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    match (a, t) {
        (Some(a), Some(t)) => Some(a.max(t)),
        (a, t) => a.or(t),
    }
}

/// One group of `GroupBy`: its key's members, count and last update.
#[derive(Default)]
struct Group {
    key: Map<String, Value>,
    total: i64,
    last: Option<DateTime<Utc>>,
}

/// The key members of a finding under a `GroupBy`.
fn group_key(group_by: &str, f: &Value) -> Map<String, Value> {
    let get = |path: &str| {
        criteria::values_at(f, path)
            .into_iter()
            .next()
            .unwrap_or(Value::Null)
    };
    let mut key = Map::new();
    match group_by {
        "ACCOUNT" => {
            key.insert("AccountId".into(), get("accountId"));
        }
        "FINDING_TYPE" => {
            key.insert("FindingType".into(), get("type"));
        }
        "SEVERITY" => {
            key.insert("Severity".into(), get("severity"));
        }
        "RESOURCE" => {
            key.insert("AccountId".into(), get("accountId"));
            key.insert("ResourceType".into(), get("resource.resourceType"));
            let id = criteria::values_at(f, "resource.s3BucketDetails.arn")
                .into_iter()
                .next()
                .unwrap_or_else(|| get("resource.accessKeyDetails.accessKeyId"));
            key.insert("ResourceId".into(), id);
        }
        _ => {
            let day = get("updatedAt")
                .as_str()
                .and_then(|s| s.get(..10))
                .map(|d| format!("{d}T00:00:00Z"))
                .unwrap_or_default();
            key.insert("Date".into(), json!(day));
        }
    }
    key
}

/// `GetFindingsStatistics`: `CountBySeverity`, or the groups of `GroupBy`.
pub async fn statistics(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let d = detector_of(&mut db, ctx, input).await?;
    let found = matching(&mut db, &d, input).await?;
    let mut stats = Map::new();
    let types = str_list(input, "FindingStatisticTypes");
    let group_by = opt_str(input, "GroupBy");
    if types.iter().any(|t| t == "COUNT_BY_SEVERITY") || group_by.is_none() {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for f in &found {
            let sev = f.get("Severity").and_then(Value::as_f64).unwrap_or(0.0);
            *counts.entry(format!("{sev:.1}")).or_default() += 1;
        }
        stats.insert("CountBySeverity".into(), json!(counts));
    }
    if let Some(by) = group_by {
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for f in &found {
            let key = group_key(by, f);
            let g = groups
                .entry(Value::Object(key.clone()).to_string())
                .or_default();
            g.key = key;
            g.total += 1;
            g.last = later(g.last, f);
        }
        let mut rows: Vec<Group> = groups.into_values().collect();
        let descending = opt_str(input, "OrderBy") != Some("ASC");
        rows.sort_by(|a, b| {
            let o = a.total.cmp(&b.total);
            if descending {
                o.reverse()
            } else {
                o
            }
        });
        let max = usize::try_from(rampart_kit::input::opt_int(input, "MaxResults").unwrap_or(25))
            .unwrap_or(25);
        let out: Vec<Value> = rows
            .into_iter()
            .take(max)
            .map(|g| {
                let mut row = g.key;
                row.insert("TotalFindings".into(), json!(g.total));
                if let Some(t) = g.last {
                    row.insert("LastGeneratedAt".into(), json!(t.timestamp()));
                }
                Value::Object(row)
            })
            .collect();
        let member = match by {
            "ACCOUNT" => "GroupedByAccount",
            "FINDING_TYPE" => "GroupedByFindingType",
            "SEVERITY" => "GroupedBySeverity",
            "RESOURCE" => "GroupedByResource",
            _ => "GroupedByDate",
        };
        stats.insert(member.into(), json!(out));
    }
    Ok(json!({ "FindingStatistics": Value::Object(stats) }))
}

/// The finding types Rampart detects, with their levels (the samples of
/// `CreateSampleFindings` without `FindingTypes`).
pub const DETECTED: &[(&str, Level)] = &[
    ("Policy:IAMUser/RootCredentialUsage", Level::Low),
    ("PenTest:IAMUser/KaliLinux", Level::Medium),
    ("PenTest:IAMUser/ParrotLinux", Level::Medium),
    ("PenTest:IAMUser/PentooLinux", Level::Medium),
    ("Stealth:IAMUser/CloudTrailLoggingDisabled", Level::Low),
    ("Stealth:IAMUser/PasswordPolicyChange", Level::Low),
    ("Policy:S3/BucketBlockPublicAccessDisabled", Level::Low),
    ("Policy:S3/BucketAnonymousAccessGranted", Level::High),
    ("Policy:S3/BucketPublicAccessGranted", Level::High),
    (
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
        Level::Medium,
    ),
    (
        "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
        Level::Medium,
    ),
    ("Discovery:IAMUser/AnomalousBehavior", Level::Low),
    ("Persistence:IAMUser/AnomalousBehavior", Level::Medium),
    (
        "PrivilegeEscalation:IAMUser/AnomalousBehavior",
        Level::Medium,
    ),
    ("DefenseEvasion:IAMUser/AnomalousBehavior", Level::Medium),
    ("CredentialAccess:IAMUser/AnomalousBehavior", Level::Medium),
    ("Discovery:S3/AnomalousBehavior", Level::Low),
    ("Exfiltration:S3/AnomalousBehavior", Level::High),
    ("Impact:S3/AnomalousBehavior.Write", Level::Medium),
    ("Impact:S3/AnomalousBehavior.Delete", Level::High),
    ("Impact:S3/AnomalousBehavior.Permission", Level::High),
];

/// A sample finding of `kind`, marked as AWS marks samples (`Service.AdditionalInfo` with
/// `{"sample":true}`), with AWS's placeholder names.
fn sample(kind: &str, partition: rampart_kit::Partition, now: DateTime<Utc>) -> Observation {
    let level = DETECTED
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(Level::Medium, |(_, l)| *l);
    let mut resource = json!({
        "ResourceType": "AccessKey",
        "AccessKeyDetails": {
            "AccessKeyId": "GeneratedFindingAccessKeyId",
            "PrincipalId": "GeneratedFindingPrincipalId",
            "UserName": "GeneratedFindingUserName",
            "UserType": "IAMUser",
        },
    });
    if kind.contains(":S3/") {
        if let Some(obj) = resource.as_object_mut() {
            obj.insert(
                "S3BucketDetails".into(),
                json!([{ "Arn": partition.arn("s3", "", "", "bucketName"), "Name": "bucketName", "Type": "Destination" }]),
            );
        }
    }
    Observation {
        finding_type: kind.to_string(),
        severity: level.severity(),
        title: format!("Sample finding of type {kind}."),
        description: format!(
            "This is a sample finding of type {kind} generated by CreateSampleFindings."
        ),
        resource,
        resource_key: String::new(),
        principal: String::new(),
        action: json!({
            "ActionType": "AWS_API_CALL",
            "AwsApiCallAction": {
                "Api": "GeneratedFindingAPIName",
                "CallerType": "Remote IP",
                "ServiceName": "GeneratedFindingAPIServiceName",
                "RemoteIpDetails": { "IpAddressV4": "198.51.100.0" },
            },
        }),
        event_time: now,
        additional_info: Some(json!({ "Value": "{\"sample\":true}", "Type": "default" })),
        detection: None,
    }
}

/// `CreateSampleFindings`: one sample per type named (or per detected type).
pub async fn create_samples(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let d = detector_of(&mut db, ctx, input).await?;
    let mut kinds = str_list(input, "FindingTypes");
    if kinds.len() > MAX_IDS {
        return Err(GuardDutyError::invalid_input().into());
    }
    if kinds.is_empty() {
        kinds = DETECTED.iter().map(|(k, _)| (*k).to_string()).collect();
    }
    for kind in kinds {
        let o = sample(&kind, d.partition(), ctx.now);
        finding::save(&mut db, &d, &model::new_id(), &o, ctx.now).await?;
    }
    Ok(json!({}))
}
