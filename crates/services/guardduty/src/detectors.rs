//! Detectors: `CreateDetector`, `GetDetector`, `UpdateDetector`, `DeleteDetector`,
//! `ListDetectors`.
//!
//! One detector per account and region (a second `CreateDetector` is AWS's
//! `BadRequestException`). Deleting a detector deletes its findings and lists with it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_bool, opt_int, opt_str},
    page,
    timestamp::ts,
};
use rampart_store::Entity;
use serde_json::{json, Map, Value};

use crate::{
    error::GuardDutyError,
    model::{self, Detector, DetectorDoc, Feature, DETECTOR},
    tags,
};

/// The features a detector reports, with whether a new detector enables them.
const FEATURES: &[(&str, bool)] = &[
    ("CLOUD_TRAIL", true),
    ("DNS_LOGS", true),
    ("FLOW_LOGS", true),
    ("S3_DATA_EVENTS", true),
    ("EKS_AUDIT_LOGS", true),
    ("EBS_MALWARE_PROTECTION", true),
    ("RDS_LOGIN_EVENTS", true),
    ("EKS_RUNTIME_MONITORING", false),
    ("LAMBDA_NETWORK_LOGS", true),
    ("RUNTIME_MONITORING", false),
];

/// The foundational sources, always on while the detector is.
const FOUNDATIONAL: &[&str] = &["CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS"];

/// `FindingPublishingFrequency` when none is given.
const DEFAULT_FREQUENCY: &str = "SIX_HOURS";

/// The service-linked role GuardDuty runs as, in the detector's partition.
fn service_role(d: &Detector) -> String {
    d.partition().iam_arn(
        d.account(),
        "role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty",
    )
}

fn status(on: bool) -> &'static str {
    if on {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

/// The features of a new detector.
fn default_features(now: DateTime<Utc>) -> BTreeMap<String, Feature> {
    FEATURES
        .iter()
        .map(|(name, on)| {
            (
                (*name).to_string(),
                Feature {
                    status: status(*on).into(),
                    updated_at: Some(now),
                    additional: BTreeMap::new(),
                },
            )
        })
        .collect()
}

/// Sets one feature's status (and additional configuration), stamping a change with `now`.
fn set_feature(
    features: &mut BTreeMap<String, Feature>,
    name: &str,
    on: Option<bool>,
    additional: &[(String, String)],
    now: DateTime<Utc>,
) {
    let f = features.entry(name.to_string()).or_default();
    if let Some(on) = on {
        if f.status != status(on) {
            f.status = status(on).into();
            f.updated_at = Some(now);
        }
    }
    for (k, v) in additional {
        f.additional.insert(k.clone(), v.clone());
        f.updated_at = Some(now);
    }
}

/// The protection plans a detector can turn on or off (every feature but the foundational
/// sources), in the order `GetDetector` lists them: AWS's `OrgFeature` values.
pub(crate) fn plans() -> impl Iterator<Item = &'static str> {
    FEATURES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !FOUNDATIONAL.contains(name))
}

/// Whether a stored feature is on.
pub(crate) fn is_enabled(f: &Feature) -> bool {
    f.status == "ENABLED"
}

/// The `Features` of a create or update input.
fn features_in(input: &Value) -> &[Value] {
    input
        .get("Features")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Refuses `Features` that cannot be applied together (AWS's rule: `EKS_RUNTIME_MONITORING`
/// and `RUNTIME_MONITORING` not both), before anything changes.
pub(crate) fn check_features(input: &Value) -> Result<(), GuardDutyError> {
    let given = features_in(input);
    let named = |n: &str| given.iter().any(|f| opt_str(f, "Name") == Some(n));
    if named("EKS_RUNTIME_MONITORING") && named("RUNTIME_MONITORING") {
        return Err(GuardDutyError::BadRequestException(
            "The request is rejected because both EKS_RUNTIME_MONITORING and RUNTIME_MONITORING are specified. Specify only one of them.".into(),
        ));
    }
    Ok(())
}

/// Applies `Features` and the older `DataSources` of a create or update input (of
/// `CreateDetector`, `UpdateDetector` or, on each member's detector, `UpdateMemberDetectors`).
pub(crate) fn apply_features(
    input: &Value,
    features: &mut BTreeMap<String, Feature>,
    now: DateTime<Utc>,
) -> Result<(), GuardDutyError> {
    check_features(input)?;
    for f in features_in(input) {
        let Some(name) = opt_str(f, "Name") else {
            continue;
        };
        let on = opt_str(f, "Status").map(|s| s == "ENABLED");
        let additional: Vec<(String, String)> = f
            .get("AdditionalConfiguration")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some((
                    opt_str(a, "Name")?.to_string(),
                    opt_str(a, "Status")?.to_string(),
                ))
            })
            .collect();
        set_feature(features, name, on, &additional, now);
    }
    if let Some(ds) = input.get("DataSources") {
        let pairs = [
            ("S3_DATA_EVENTS", ds.pointer("/S3Logs/Enable")),
            ("EKS_AUDIT_LOGS", ds.pointer("/Kubernetes/AuditLogs/Enable")),
            (
                "EBS_MALWARE_PROTECTION",
                ds.pointer("/MalwareProtection/ScanEc2InstanceWithFindings/EbsVolumes"),
            ),
        ];
        for (name, v) in pairs {
            if let Some(on) = v.and_then(Value::as_bool) {
                set_feature(features, name, Some(on), &[], now);
            }
        }
    }
    Ok(())
}

/// `CreateDetector`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let account = ctx.principal.account_id.clone();
    if model::detector_in(&mut db, &account, &ctx.region)
        .await?
        .is_some()
    {
        return Err(GuardDutyError::BadRequestException(
            "The request is rejected because a detector already exists for the current account."
                .into(),
        )
        .into());
    }
    let mut features = default_features(ctx.now);
    apply_features(input, &mut features, ctx.now)?;
    let doc = DetectorDoc {
        region: ctx.region.clone(),
        enabled: opt_bool(input, "Enable").unwrap_or(false),
        publishing_frequency: opt_str(input, "FindingPublishingFrequency")
            .unwrap_or(DEFAULT_FREQUENCY)
            .to_string(),
        features,
        tags: tags::parse(input.get("Tags"))?,
    };
    let id = store_new(&mut db, &account, doc, ctx.now).await?;
    Ok(json!({ "DetectorId": id }))
}

/// Stores a new detector of `account` in `doc.region`; returns its id.
async fn store_new(
    db: &mut Db<'_>,
    account: &str,
    doc: DetectorDoc,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let id = model::new_id();
    let mut e = Entity {
        account_id: account.to_string(),
        kind: DETECTOR.into(),
        name: doc.region.clone(),
        name_key: doc.region.clone(),
        id: id.clone(),
        path: "/".into(),
        arn: model::detector_arn(&doc.region, account, &id),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &doc, now)?;
    db.entities().create(&e).await?;
    Ok(id)
}

/// The enabled detector of `account` in `region`, created with the defaults when it has
/// none and enabled when it is off (how an administrator turns GuardDuty on in a member).
pub async fn ensure_enabled(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    match model::detector_in(db, account, region).await? {
        Some(d) if d.doc.enabled => Ok(d.id().to_string()),
        Some(mut d) => {
            d.doc.enabled = true;
            let id = d.id().to_string();
            entity::save_doc(db, d.entity, &d.doc, now).await?;
            Ok(id)
        }
        None => {
            let doc = DetectorDoc {
                region: region.to_string(),
                enabled: true,
                publishing_frequency: DEFAULT_FREQUENCY.into(),
                features: default_features(now),
                tags: BTreeMap::new(),
            };
            store_new(db, account, doc, now).await
        }
    }
}

/// The features as `GetDetector` reports them.
pub(crate) fn features_out(d: &Detector) -> Value {
    let mut out = Vec::new();
    for (name, _) in FEATURES {
        let Some(f) = d.doc.features.get(*name) else {
            continue;
        };
        let mut v = Map::new();
        v.insert("Name".into(), json!(name));
        let on = if FOUNDATIONAL.contains(name) {
            d.doc.enabled
        } else {
            is_enabled(f)
        };
        v.insert("Status".into(), json!(status(on)));
        if let Some(at) = f.updated_at {
            v.insert("UpdatedAt".into(), json!(at.timestamp()));
        }
        if !f.additional.is_empty() {
            let extra: Vec<Value> = f
                .additional
                .iter()
                .map(|(k, s)| json!({ "Name": k, "Status": s, "UpdatedAt": f.updated_at.map(|t| t.timestamp()) }))
                .collect();
            v.insert("AdditionalConfiguration".into(), json!(extra));
        }
        out.push(Value::Object(v));
    }
    json!(out)
}

/// The older `DataSources` view of the features.
pub(crate) fn data_sources_out(d: &Detector) -> Value {
    let on = |name: &str| d.doc.features.get(name).is_some_and(is_enabled);
    let base = status(d.doc.enabled);
    json!({
        "CloudTrail": { "Status": base },
        "DNSLogs": { "Status": base },
        "FlowLogs": { "Status": base },
        "S3Logs": { "Status": status(on("S3_DATA_EVENTS")) },
        "Kubernetes": { "AuditLogs": { "Status": status(on("EKS_AUDIT_LOGS")) } },
        "MalwareProtection": {
            "ScanEc2InstanceWithFindings": { "EbsVolumes": { "Status": status(on("EBS_MALWARE_PROTECTION")) } },
            "ServiceRole": d.partition().iam_arn(d.account(), "role/aws-service-role/malware-protection.guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDutyMalwareProtection"),
        },
    })
}

/// `GetDetector`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let d = model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let mut out = json!({
        "CreatedAt": ts(d.entity.created_at),
        "UpdatedAt": ts(d.entity.updated_at),
        "FindingPublishingFrequency": d.doc.publishing_frequency,
        "ServiceRole": service_role(&d),
        "Status": status(d.doc.enabled),
        "DataSources": data_sources_out(&d),
        "Features": features_out(&d),
    });
    if let Some(obj) = out.as_object_mut() {
        obj.insert("Tags".into(), json!(d.doc.tags));
    }
    Ok(out)
}

/// `UpdateDetector`.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let mut d = model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    apply_features(input, &mut d.doc.features, ctx.now)?;
    if let Some(on) = opt_bool(input, "Enable") {
        d.doc.enabled = on;
    }
    if let Some(f) = opt_str(input, "FindingPublishingFrequency") {
        d.doc.publishing_frequency = f.to_string();
    }
    entity::save_doc(&mut db, d.entity, &d.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DeleteDetector`: the detector, its findings, lists, filters, sign-in windows and
/// publishing destinations.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let d = model::detector(
        &mut db,
        ctx,
        opt_str(input, "DetectorId").unwrap_or_default(),
    )
    .await?;
    let account = d.account().to_string();
    for kind in [
        model::FINDING,
        model::IPSET,
        model::THREAT_INTEL_SET,
        crate::filters::FILTER,
        crate::signins::SIGNINS,
        crate::sigma::WINDOWS,
        crate::anomaly::PROFILES,
    ] {
        for e in model::all_under(&mut db, &account, kind, d.id()).await? {
            db.entities().delete(&account, kind, &e.name_key).await?;
        }
    }
    for dest in crate::destinations::of_detector(&mut db, &account, d.id()).await? {
        crate::destinations::remove(&mut db, &dest.entity).await?;
    }
    db.entities()
        .delete(&account, DETECTOR, &d.entity.name_key)
        .await?;
    Ok(json!({}))
}

/// `MaxResults` of a list call (1-50, 50 by default).
pub fn max_results(input: &Value) -> Result<usize, GuardDutyError> {
    match opt_int(input, "MaxResults") {
        None => Ok(50),
        Some(n @ 1..=50) => usize::try_from(n).map_err(|_| GuardDutyError::invalid_input()),
        Some(_) => Err(GuardDutyError::invalid_input()),
    }
}

/// A page of `items` from the input's `NextToken` (an offset token).
pub fn paged<T>(input: &Value, items: Vec<T>) -> Result<(Vec<T>, Option<String>), GuardDutyError> {
    let max = max_results(input)?;
    let token = opt_str(input, "NextToken").filter(|t| !t.is_empty());
    let p = page::at_offset(items, token, max).ok_or_else(GuardDutyError::invalid_input)?;
    Ok((p.items, p.next))
}

/// The answer of a list call: `{member: items}`, with the `NextToken` of the next page when
/// more follow.
pub fn page_answer(member: &str, items: Value, next: Option<String>) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(member.into(), items);
    if let Some(n) = next {
        out.insert("NextToken".into(), json!(n));
    }
    Value::Object(out)
}

/// The answer of a list call over `items`: the page the input's `MaxResults` and
/// `NextToken` ask for, as member `member`.
pub fn listed<T: serde::Serialize>(
    member: &str,
    input: &Value,
    items: Vec<T>,
) -> Result<Value, GuardDutyError> {
    let (items, next) = paged(input, items)?;
    Ok(page_answer(member, json!(items), next))
}

/// `ListDetectors`: the caller's detector in the caller's region (at most one).
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let found = model::detector_in(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    let ids: Vec<String> = found.into_iter().map(|d| d.id().to_string()).collect();
    Ok(listed("DetectorIds", input, ids)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn plans_are_the_features_but_the_foundational_sources() {
        let plans: Vec<&str> = plans().collect();
        assert_eq!(plans.len(), FEATURES.len() - FOUNDATIONAL.len());
        assert!(plans.contains(&"RUNTIME_MONITORING"));
        assert!(!plans.contains(&"CLOUD_TRAIL"));
    }

    #[test]
    fn both_runtime_plans_are_refused_and_change_nothing() {
        let mut features = default_features(t());
        let before = features.clone();
        let input = json!({"Features": [
            {"Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED"},
            {"Name": "RUNTIME_MONITORING", "Status": "ENABLED"},
        ]});
        assert!(check_features(&input).is_err());
        assert!(apply_features(&input, &mut features, t()).is_err());
        assert_eq!(features, before);
    }

    #[test]
    fn features_and_data_sources_both_apply() {
        let mut features = default_features(t());
        let input = json!({
            "Features": [{"Name": "RDS_LOGIN_EVENTS", "Status": "DISABLED",
                "AdditionalConfiguration": [{"Name": "EC2_AGENT_MANAGEMENT", "Status": "ENABLED"}]}],
            "DataSources": {"S3Logs": {"Enable": false}},
        });
        assert!(check_features(&input).is_ok());
        assert!(apply_features(&input, &mut features, t()).is_ok());
        let status = |n: &str| {
            features
                .get(n)
                .map(|f| f.status.clone())
                .unwrap_or_default()
        };
        assert_eq!(status("RDS_LOGIN_EVENTS"), "DISABLED");
        assert_eq!(status("S3_DATA_EVENTS"), "DISABLED");
        assert_eq!(status("EKS_AUDIT_LOGS"), "ENABLED");
        assert_eq!(
            features
                .get("RDS_LOGIN_EVENTS")
                .and_then(|f| f.additional.get("EC2_AGENT_MANAGEMENT"))
                .map(String::as_str),
            Some("ENABLED")
        );
    }
}
