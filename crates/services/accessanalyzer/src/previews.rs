//! Access previews: `CreateAccessPreview`, `GetAccessPreview`, `ListAccessPreviews`,
//! `ListAccessPreviewFindings`.
//!
//! A preview runs the analyzer's own analysis ([`Resource::accesses`] in its zone of trust,
//! finding ids from [`engine::finding_id`], archive rules) on each proposed configuration in
//! place of the stored resource, and compares the result with the resource's findings: an
//! access with no finding is `NEW`; one whose finding would keep its status is `UNCHANGED`;
//! a resolved finding that would come back, or an active or archived finding whose access the
//! proposal removes (preview status `RESOLVED`), is `CHANGED`. The analysis is pure and
//! in-memory (the cost of one re-analysis per configuration), so it runs within the request
//! and the preview is stored `COMPLETED` (or `FAILED` with `INVALID_CONFIGURATION`).
//! Stored as an entity of kind [`model::ACCESS_PREVIEW`] keyed by its id, path the
//! analyzer's prefix.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str, page, timestamp::ts};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    analysis::{Access, Zone},
    analyzers::{self, max_results},
    engine::{self, ACTIVE, ARCHIVED, RESOLVED},
    error::{invalid, not_found, AaResult, AnalyzerError},
    filter::{self, Criterion},
    model::{self, Analyzer, FindingDoc},
    preview_config::{self, ConfigError, Place},
    resources::{self, Resource},
};

/// Most configurations one preview analyses (bounds the request's work).
pub const MAX_CONFIGURATIONS: usize = 100;

/// AWS's "access previews per analyzer per hour" quota.
pub const PER_HOUR: usize = 1000;

/// A stored access preview.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PreviewDoc {
    /// The id (UUID-shaped).
    pub id: String,
    /// The analyzer's ARN.
    pub analyzer_arn: String,
    /// The configurations as given.
    pub configurations: Value,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// `COMPLETED` or `FAILED`.
    pub status: String,
    /// The `statusReason.code` of a failed preview.
    #[serde(default)]
    pub reason: Option<String>,
    /// The `clientToken` given.
    #[serde(default)]
    pub client_token: Option<String>,
    /// The findings.
    #[serde(default)]
    pub findings: Vec<PreviewFinding>,
}

/// One access preview finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewFinding {
    /// The finding as the proposal would leave it (its id: the preview finding's id; its
    /// status: the preview status).
    pub finding: FindingDoc,
    /// `NEW`, `UNCHANGED` or `CHANGED`.
    pub change_type: String,
    /// The existing finding's id and status, if any.
    pub existing: Option<(String, String)>,
}

/// The preview findings of one proposed resource: its accesses (`accesses`, from the
/// analysis) compared with the resource's `existing` findings under analyzer `a`.
pub fn compare(
    a: &Analyzer,
    preview_id: &str,
    r: &Resource,
    accesses: &[Access],
    existing: &[FindingDoc],
    now: DateTime<Utc>,
) -> Vec<PreviewFinding> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for access in accesses {
        let id = engine::finding_id(a.arn(), &r.arn, access);
        seen.push(id.clone());
        let mut doc = engine::active_finding(
            engine::digest_id(&format!("{preview_id}\n{id}")),
            &r.arn,
            r,
            access,
            now,
        );
        let old = existing.iter().find(|f| f.id == id);
        doc.status = match old {
            Some(f) if f.status != RESOLVED => f.status.clone(),
            _ if engine::archived_by_rule(a, &doc) => ARCHIVED.into(),
            _ => ACTIVE.into(),
        };
        let change = match old {
            None => "NEW",
            Some(f) if f.status == doc.status => "UNCHANGED",
            Some(_) => "CHANGED",
        };
        out.push(PreviewFinding {
            existing: old.map(|f| (f.id.clone(), f.status.clone())),
            finding: doc,
            change_type: change.into(),
        });
    }
    for f in existing {
        if seen.contains(&f.id) || f.status == RESOLVED {
            continue;
        }
        let mut doc = f.clone();
        doc.id = engine::digest_id(&format!("{preview_id}\n{}", f.id));
        doc.status = RESOLVED.into();
        doc.created = now;
        out.push(PreviewFinding {
            finding: doc,
            change_type: "CHANGED".into(),
            existing: Some((f.id.clone(), f.status.clone())),
        });
    }
    out
}

/// The external access analyzer an `analyzerArn` names.
async fn analyzer(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> AaResult<Analyzer> {
    let arn = opt_str(input, "analyzerArn").unwrap_or_default();
    let a = analyzers::by_arn(db, ctx, arn).await?;
    if !a.is_external() {
        return Err(invalid(
            "Access previews are only supported for external access analyzers",
        ));
    }
    Ok(a)
}

/// The analyzer's previews.
async fn previews(db: &mut Db<'_>, a: &Analyzer) -> AaResult<Vec<(Entity, PreviewDoc)>> {
    let mut out = Vec::new();
    for e in model::all(db, a.account(), model::ACCESS_PREVIEW, &a.prefix()).await? {
        let doc: PreviewDoc = entity::read_doc(&e)?;
        out.push((e, doc));
    }
    Ok(out)
}

/// Analyses every configuration; `Err` is a `ValidationException`, `Ok(Err(()))` an unusable
/// configuration (the preview fails).
async fn analyse(
    db: &mut Db<'_>,
    ctx: &CallContext,
    a: &Analyzer,
    zone: &Zone,
    id: &str,
    configurations: &serde_json::Map<String, Value>,
) -> AaResult<Result<Vec<PreviewFinding>, ()>> {
    let mut findings = Vec::new();
    let mut unusable = false;
    for (arn, config) in configurations {
        let (rtype, body) = preview_config::member(config).map_err(config_error)?;
        if resources::type_of_arn(arn) != Some(rtype) {
            return Err(invalid(format!(
                "The resource ARN {arn} does not match its configuration's resource type"
            )));
        }
        let Some(locator) = resources::locator_of_arn(arn) else {
            return Err(invalid(format!("Invalid resource ARN: {arn}")));
        };
        // A role, key or secret names its account (an organization's member's, say); a
        // bucket's ARN does not, and bucket names are global.
        let arn_account = arn.split(':').nth(4).filter(|s| !s.is_empty());
        let lookup = arn_account.unwrap_or(a.account());
        let existing = resources::find(db, lookup, &locator).await?;
        let owner = existing
            .as_ref()
            .map(|r| r.owner.clone())
            .or(arn_account.map(str::to_string))
            .unwrap_or_else(|| a.account().to_string());
        let region = arn
            .split(':')
            .nth(3)
            .filter(|s| !s.is_empty())
            .unwrap_or(&ctx.region)
            .to_string();
        let covered_region = existing
            .as_ref()
            .map_or(Some(region.as_str()), |r| r.region.as_deref());
        if !engine::covers(a, zone, &owner, covered_region) {
            return Err(invalid(format!(
                "The resource {arn} is not in the analyzer's zone of trust"
            )));
        }
        let account_block = rampart_s3::public_access::account_block(db, &owner)
            .await
            .map_err(rampart_kit::error::ServiceError::from)?;
        let at = Place {
            owner,
            region,
            account_block,
        };
        let stored = match &existing {
            Some(r) => engine::findings_of(db, a, &r.arn).await?,
            None => Vec::new(),
        };
        let stored: Vec<FindingDoc> = stored.into_iter().map(|(_, d)| d).collect();
        match preview_config::proposed(arn, rtype, body, existing, &at, ctx.now) {
            Ok(r) => {
                let accesses = r.accesses(zone);
                findings.extend(compare(a, id, &r, &accesses, &stored, ctx.now));
            }
            Err(ConfigError::Unusable) => unusable = true,
            Err(e) => return Err(config_error(e)),
        }
    }
    Ok(if unusable { Err(()) } else { Ok(findings) })
}

fn config_error(e: ConfigError) -> rampart_kit::error::ServiceError {
    match e {
        ConfigError::Invalid(m) => invalid(m),
        ConfigError::Unusable => invalid("Invalid configuration"),
    }
}

/// `CreateAccessPreview`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = analyzer(input, ctx, &mut db).await?;
    let configurations = input
        .get("configurations")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("configurations must name at least one resource"))?;
    if configurations.len() > MAX_CONFIGURATIONS {
        return Err(invalid(format!(
            "An access preview may hold at most {MAX_CONFIGURATIONS} configurations"
        )));
    }
    let token = opt_str(input, "clientToken").map(str::to_string);
    let existing = previews(&mut db, &a).await?;
    if let Some((_, same)) = existing
        .iter()
        .find(|(_, p)| token.is_some() && p.client_token == token)
    {
        return Ok(json!({ "id": same.id }));
    }
    let last_hour = existing
        .iter()
        .filter(|(_, p)| p.created > ctx.now - Duration::hours(1))
        .count();
    if last_hour >= PER_HOUR {
        return Err(AnalyzerError::ServiceQuotaExceededException(
            format!("Access previews per analyzer per hour quota ({PER_HOUR}) exceeded"),
            a.arn().to_string(),
            "AccessPreview".into(),
        )
        .into());
    }
    let id = engine::digest_id(&format!("access-preview\n{}", ctx.request_id));
    let zone = engine::zone(&mut db, &a).await?;
    let outcome = analyse(&mut db, ctx, &a, &zone, &id, configurations).await?;
    let (status, reason, findings) = match outcome {
        Ok(f) => ("COMPLETED", None, f),
        Err(()) => (
            "FAILED",
            Some("INVALID_CONFIGURATION".to_string()),
            Vec::new(),
        ),
    };
    let doc = PreviewDoc {
        id: id.clone(),
        analyzer_arn: a.arn().to_string(),
        configurations: Value::Object(configurations.clone()),
        created: ctx.now,
        status: status.into(),
        reason,
        client_token: token,
        findings,
    };
    db.entities()
        .create(&Entity {
            account_id: a.account().to_string(),
            kind: model::ACCESS_PREVIEW.into(),
            name: id.clone(),
            name_key: id.clone(),
            id: format!("{}/{id}", model::ACCESS_PREVIEW),
            path: a.prefix(),
            arn: format!("{}/access-preview/{id}", a.arn()),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: entity::to_text(&doc)?,
        })
        .await?;
    Ok(json!({ "id": id }))
}

/// The preview a request's `accessPreviewId` names under its analyzer.
async fn one(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> AaResult<PreviewDoc> {
    let a = analyzer(input, ctx, db).await?;
    let id = opt_str(input, "accessPreviewId").unwrap_or_default();
    let e = db
        .entities()
        .get(a.account(), model::ACCESS_PREVIEW, id)
        .await?
        .filter(|e| e.path == a.prefix())
        .ok_or_else(|| not_found(format!("Access preview {id} not found")))?;
    entity::read_doc(&e)
}

/// `AccessPreviewSummary`.
fn summary(p: &PreviewDoc) -> Value {
    let mut out = json!({
        "id": p.id,
        "analyzerArn": p.analyzer_arn,
        "createdAt": ts(p.created),
        "status": p.status,
    });
    if let (Some(code), Some(o)) = (&p.reason, out.as_object_mut()) {
        o.insert("statusReason".into(), json!({ "code": code }));
    }
    out
}

/// `GetAccessPreview`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let p = one(input, ctx, &mut db).await?;
    let mut out = summary(&p);
    if let Some(o) = out.as_object_mut() {
        o.insert("configurations".into(), p.configurations.clone());
    }
    Ok(json!({ "accessPreview": out }))
}

/// `ListAccessPreviews`: the analyzer's previews, oldest first.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let a = analyzer(input, ctx, &mut db).await?;
    let mut all: Vec<PreviewDoc> = previews(&mut db, &a)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    all.sort_by(|x, y| (x.created, &x.id).cmp(&(y.created, &y.id)));
    let items: Vec<Value> = all.iter().map(summary).collect();
    let page = page::at_offset(items, opt_str(input, "nextToken"), max_results(input))
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({ "accessPreviews": page.items });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}

/// `AccessPreviewFinding`.
fn finding_output(p: &PreviewFinding) -> Value {
    let f = &p.finding;
    let mut out = json!({
        "id": f.id,
        "principal": f.principal,
        "action": f.action,
        "condition": f.condition,
        "resource": f.resource,
        "isPublic": f.is_public,
        "resourceType": f.resource_type,
        "createdAt": ts(f.created),
        "changeType": p.change_type,
        "status": f.status,
        "resourceOwnerAccount": f.owner,
    });
    if let Some(o) = out.as_object_mut() {
        if let Some((id, status)) = &p.existing {
            o.insert("existingFindingId".into(), json!(id));
            o.insert("existingFindingStatus".into(), json!(status));
        }
        if !f.sources.is_empty() {
            let sources: Vec<Value> = f.sources.iter().map(|s| json!({ "type": s })).collect();
            o.insert("sources".into(), json!(sources));
        }
    }
    out
}

/// The preview-only filter keys and their values for a finding.
const PREVIEW_KEYS: [&str; 3] = ["changeType", "existingFindingId", "existingFindingStatus"];

fn preview_values(p: &PreviewFinding, key: &str) -> Vec<String> {
    match key {
        "changeType" => vec![p.change_type.clone()],
        "existingFindingId" => p.existing.iter().map(|(id, _)| id.clone()).collect(),
        _ => p.existing.iter().map(|(_, s)| s.clone()).collect(),
    }
}

/// `ListAccessPreviewFindings`: the preview's findings, filtered by the finding keys and
/// `changeType`, `existingFindingId`, `existingFindingStatus`.
pub async fn list_findings(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let p = one(input, ctx, &mut db).await?;
    if p.status != "COMPLETED" {
        return Err(AnalyzerError::ConflictException(
            format!("Access preview {} is {}", p.id, p.status),
            p.id.clone(),
            "AccessPreview".into(),
        )
        .into());
    }
    let mut rest = input
        .get("filter")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut own: BTreeMap<String, Criterion> = BTreeMap::new();
    for key in PREVIEW_KEYS {
        if let Some(c) = rest.remove(key) {
            let c: Criterion =
                serde_json::from_value(c).map_err(|_| invalid("Invalid filter criterion"))?;
            own.insert(key.to_string(), c);
        }
    }
    let finding_filter = filter::parse(Some(&Value::Object(rest)))?;
    let items: Vec<Value> = p
        .findings
        .iter()
        .filter(|f| filter::matches(&finding_filter, &f.finding))
        .filter(|f| {
            own.iter()
                .all(|(k, c)| filter::criterion_matches(c, &preview_values(f, k)))
        })
        .map(finding_output)
        .collect();
    let page = page::at_offset(items, opt_str(input, "nextToken"), max_results(input))
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({ "findings": page.items });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::AnalyzerDoc,
        resources::{Body, ROLE},
    };

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn analyzer() -> Analyzer {
        Analyzer {
            entity: Entity {
                account_id: "111122223333".into(),
                kind: model::ANALYZER.into(),
                name: "a".into(),
                name_key: "us-east-1/a".into(),
                id: "a".into(),
                path: "/us-east-1/".into(),
                arn: "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/a".into(),
                created_at: now(),
                updated_at: now(),
                doc: String::new(),
            },
            doc: AnalyzerDoc {
                name: "a".into(),
                region: "us-east-1".into(),
                analyzer_type: "ACCOUNT".into(),
                status: "ACTIVE".into(),
                ..Default::default()
            },
        }
    }

    fn role(trusted: &[&str]) -> Resource {
        let statements: Vec<Value> = trusted
            .iter()
            .map(
                |t| json!({"Effect": "Allow", "Principal": {"AWS": t}, "Action": "sts:AssumeRole"}),
            )
            .collect();
        Resource {
            arn: "arn:aws:iam::111122223333:role/r".into(),
            rtype: ROLE,
            owner: "111122223333".into(),
            region: None,
            body: Body::Role {
                trust: json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
            },
        }
    }

    /// The stored findings the analyzer would hold for `r`.
    fn stored(a: &Analyzer, r: &Resource, zone: &Zone, status: &str) -> Vec<FindingDoc> {
        compare(a, "p0", r, &r.accesses(zone), &[], now())
            .into_iter()
            .map(|p| FindingDoc {
                id: p
                    .existing
                    .map(|(id, _)| id)
                    .unwrap_or_else(|| engine::finding_id(a.arn(), &r.arn, &r.accesses(zone)[0])),
                status: status.into(),
                ..p.finding
            })
            .collect()
    }

    #[test]
    fn new_unchanged_and_resolved_grants_are_told_apart() {
        let a = analyzer();
        let zone = Zone::of(["111122223333".to_string()], None);
        let before = role(&["444455556666"]);
        let existing = stored(&a, &before, &zone, ACTIVE);
        assert_eq!(existing.len(), 1);

        let after = role(&["444455556666", "777788889999"]);
        let found = compare(&a, "p1", &after, &after.accesses(&zone), &existing, now());
        let kinds: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.change_type.as_str(), f.finding.status.as_str()))
            .collect();
        assert_eq!(kinds, vec![("UNCHANGED", ACTIVE), ("NEW", ACTIVE)]);
        assert_eq!(
            found[0].existing,
            Some((existing[0].id.clone(), ACTIVE.to_string()))
        );
        assert_ne!(found[0].finding.id, existing[0].id);

        let none = role(&[]);
        let found = compare(&a, "p2", &none, &none.accesses(&zone), &existing, now());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].change_type, "CHANGED");
        assert_eq!(found[0].finding.status, RESOLVED);
    }

    #[test]
    fn a_resolved_finding_that_comes_back_is_changed_and_stays_resolved_otherwise() {
        let a = analyzer();
        let zone = Zone::of(["111122223333".to_string()], None);
        let r = role(&["444455556666"]);
        let resolved = stored(&a, &r, &zone, RESOLVED);
        let found = compare(&a, "p", &r, &r.accesses(&zone), &resolved, now());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].change_type, "CHANGED");
        assert_eq!(found[0].finding.status, ACTIVE);
        let none = role(&[]);
        assert!(compare(&a, "p", &none, &none.accesses(&zone), &resolved, now()).is_empty());
    }
}
