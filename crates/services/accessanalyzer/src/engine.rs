//! Re-analysis: an analyzer's zone of trust, the reconciliation of one resource's findings
//! with what it grants now, and the full scan `CreateAnalyzer` and `StartResourceScan` run.
//!
//! Reconciling a resource computes its accesses outside the zone; each is a finding whose id
//! is derived from the analyzer, the resource, the principal and the condition, so the same
//! grant keeps its finding across changes. A new finding is `ACTIVE`, or `ARCHIVED` when an
//! archive rule matches it; a finding whose grant is gone becomes `RESOLVED`; a resolved
//! finding whose grant comes back is active again (and archive rules apply again).

use std::collections::BTreeSet;

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;

use crate::{
    analysis::{Access, Zone},
    filter,
    model::{self, Analyzer, FindingDoc, ResourceDoc},
    resources::{self, Resource},
};

/// `ACTIVE`.
pub const ACTIVE: &str = "ACTIVE";
/// `ARCHIVED`.
pub const ARCHIVED: &str = "ARCHIVED";
/// `RESOLVED`.
pub const RESOLVED: &str = "RESOLVED";

/// The accounts of the organization `org_id` (its management account's member records).
pub(crate) async fn org_accounts(
    db: &mut Db<'_>,
    org_id: &str,
    owner: &str,
) -> Result<Vec<String>, ServiceError> {
    let Some(org) = rampart_organizations::common::org_of(db, owner).await? else {
        return Ok(vec![owner.to_string()]);
    };
    if org.id != org_id {
        return Ok(vec![owner.to_string()]);
    }
    let members = model::all(
        db,
        &org.management,
        rampart_organizations::model::MEMBER,
        "/",
    )
    .await?;
    Ok(members.into_iter().map(|e| e.name_key).collect())
}

/// The analyzer's zone of trust: its account, or its organization's accounts.
pub async fn zone(db: &mut Db<'_>, a: &Analyzer) -> Result<Zone, ServiceError> {
    match &a.doc.org_id {
        Some(org) => {
            let accounts = org_accounts(db, org, a.account()).await?;
            Ok(Zone::of(accounts, Some(org.clone())))
        }
        None => Ok(Zone::of([a.account().to_string()], None)),
    }
}

/// The id of the finding of `access` on `resource` for analyzer `analyzer`: a UUID-shaped
/// digest, stable while the grant's principal and condition stay.
pub fn finding_id(analyzer: &str, resource: &str, access: &Access) -> String {
    let text = format!(
        "{analyzer}\n{resource}\n{}\n{}",
        serde_json::to_string(&access.principal).unwrap_or_default(),
        serde_json::to_string(&access.condition).unwrap_or_default()
    );
    digest_id(&text)
}

/// A UUID-shaped digest of `text`.
pub fn digest_id(text: &str) -> String {
    let d = digest::digest(&digest::SHA256, text.as_bytes());
    let h = hex::encode(d.as_ref());
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// Whether an archive rule of the analyzer matches the finding.
pub(crate) fn archived_by_rule(a: &Analyzer, f: &FindingDoc) -> bool {
    a.doc.rules.values().any(|r| filter::matches(&r.filter, f))
}

/// The findings of `resource` under analyzer `a`.
pub(crate) async fn findings_of(
    db: &mut Db<'_>,
    a: &Analyzer,
    resource: &str,
) -> Result<Vec<(Entity, FindingDoc)>, ServiceError> {
    let path = format!("{}{resource}/", a.prefix());
    let mut out = Vec::new();
    for e in model::all(db, a.account(), model::FINDING, &path).await? {
        let doc: FindingDoc = entity::read_doc(&e)?;
        if doc.resource == resource {
            out.push((e, doc));
        }
    }
    Ok(out)
}

/// An active finding, first seen `now`, of `access` on resource `r` (at `arn`).
pub(crate) fn active_finding(
    id: String,
    arn: &str,
    r: &Resource,
    access: &Access,
    now: DateTime<Utc>,
) -> FindingDoc {
    FindingDoc {
        id,
        resource: arn.to_string(),
        resource_type: r.rtype.to_string(),
        owner: r.owner.clone(),
        principal: access.principal.clone(),
        action: access.actions.iter().cloned().collect(),
        condition: access.condition.clone(),
        is_public: access.is_public,
        sources: access.sources.iter().cloned().collect(),
        status: ACTIVE.into(),
        created: now,
        analyzed: now,
        updated: now,
        finding_type: None,
        details: None,
    }
}

/// Brings analyzer `a`'s findings and analysed resource for `arn` in line with what the
/// resource grants now (`None`: it no longer exists). `zone` is `a`'s.
pub async fn reconcile(
    db: &mut Db<'_>,
    a: &Analyzer,
    zone: &Zone,
    arn: &str,
    found: Option<&Resource>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let accesses = found.map(|r| r.accesses(zone)).unwrap_or_default();
    let mut existing = findings_of(db, a, arn).await?;
    let mut kept = BTreeSet::new();
    for access in &accesses {
        let Some(r) = found else { break };
        let id = finding_id(a.arn(), arn, access);
        kept.insert(id.clone());
        let mut doc = active_finding(id.clone(), arn, r, access, now);
        match existing.iter_mut().find(|(_, d)| d.id == id) {
            Some((e, old)) => {
                let same = old.action == doc.action
                    && old.is_public == doc.is_public
                    && old.sources == doc.sources;
                doc.created = old.created;
                doc.status = old.status.clone();
                doc.updated = if same { old.updated } else { now };
                if old.status == RESOLVED {
                    doc.status = ACTIVE.into();
                    doc.updated = now;
                    if archived_by_rule(a, &doc) {
                        doc.status = ARCHIVED.into();
                    }
                }
                entity::save_doc(db, e.clone(), &doc, now).await?;
            }
            None => {
                if archived_by_rule(a, &doc) {
                    doc.status = ARCHIVED.into();
                }
                db.entities()
                    .create(&Entity {
                        account_id: a.account().to_string(),
                        kind: model::FINDING.into(),
                        name: id.clone(),
                        name_key: id.clone(),
                        id: format!("{}/{id}", model::FINDING),
                        path: format!("{}{arn}/", a.prefix()),
                        arn: format!("{}/finding/{id}", a.arn()),
                        created_at: now,
                        updated_at: now,
                        doc: entity::to_text(&doc)?,
                    })
                    .await?;
            }
        }
    }
    for (e, mut old) in existing {
        if !kept.contains(&old.id) && old.status != RESOLVED {
            old.status = RESOLVED.into();
            old.analyzed = now;
            old.updated = now;
            entity::save_doc(db, e, &old, now).await?;
        }
    }
    save_resource(db, a, arn, found, &accesses, now).await
}

/// Records (or forgets) the analysed resource.
async fn save_resource(
    db: &mut Db<'_>,
    a: &Analyzer,
    arn: &str,
    found: Option<&Resource>,
    accesses: &[Access],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let key = format!("{}/{}/{arn}", a.doc.region, a.doc.name);
    let stored = db
        .entities()
        .get(a.account(), model::RESOURCE, &key)
        .await?;
    let Some(r) = found else {
        if stored.is_some() {
            db.entities()
                .delete(a.account(), model::RESOURCE, &key)
                .await?;
        }
        return Ok(());
    };
    let actions: BTreeSet<String> = accesses.iter().flat_map(|x| x.actions.clone()).collect();
    let mut shared: BTreeSet<String> = accesses.iter().flat_map(|x| x.sources.clone()).collect();
    if shared.is_empty() && !accesses.is_empty() {
        shared.insert("POLICY".into());
    }
    let mut doc = ResourceDoc {
        arn: arn.to_string(),
        resource_type: r.rtype.to_string(),
        owner: r.owner.clone(),
        created: now,
        analyzed: now,
        updated: now,
        is_public: accesses.iter().any(|x| x.is_public),
        actions: actions.into_iter().collect(),
        shared_via: shared.into_iter().collect(),
        status: (!accesses.is_empty()).then(|| ACTIVE.to_string()),
    };
    match stored {
        Some(e) => {
            let old: ResourceDoc = entity::read_doc(&e)?;
            doc.created = old.created;
            if old.actions == doc.actions && old.is_public == doc.is_public {
                doc.updated = old.updated;
            }
            entity::save_doc(db, e, &doc, now).await?;
        }
        None => {
            db.entities()
                .create(&Entity {
                    account_id: a.account().to_string(),
                    kind: model::RESOURCE.into(),
                    name: arn.to_string(),
                    name_key: key.clone(),
                    id: format!("{}/{}/{arn}", model::RESOURCE, a.arn()),
                    path: a.prefix(),
                    arn: arn.to_string(),
                    created_at: now,
                    updated_at: now,
                    doc: entity::to_text(&doc)?,
                })
                .await?;
        }
    }
    Ok(())
}

/// Notes the last resource analysed on the analyzer.
pub async fn note_analyzed(
    db: &mut Db<'_>,
    a: &mut Analyzer,
    arn: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    a.doc.last_resource = Some((arn.to_string(), now));
    let fresh = db
        .entities()
        .get(a.account(), model::ANALYZER, &a.entity.name_key)
        .await?;
    if let Some(e) = fresh {
        let mut doc: model::AnalyzerDoc = entity::read_doc(&e)?;
        doc.last_resource = a.doc.last_resource.clone();
        entity::save_doc(db, e, &doc, now).await?;
    }
    Ok(())
}

/// Whether analyzer `a` (zone `zone`) analyses a resource of `owner` in `region`.
pub fn covers(a: &Analyzer, zone: &Zone, owner: &str, region: Option<&str>) -> bool {
    let account_in = if a.doc.org_id.is_some() {
        zone.trusts(owner)
    } else {
        a.account() == owner
    };
    account_in && region.is_none_or(|r| r == a.doc.region)
}

/// Analyses every resource in the analyzer's zone, and resolves the findings of resources
/// that no longer exist.
pub async fn scan(
    db: &mut Db<'_>,
    a: &mut Analyzer,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let zone = zone(db, a).await?;
    let mut seen = BTreeSet::new();
    let mut last = None;
    for account in zone.accounts.clone() {
        for rtype in resources::TYPES {
            for r in resources::list(db, &account, rtype, &a.doc.region).await? {
                reconcile(db, a, &zone, &r.arn, Some(&r), now).await?;
                seen.insert(r.arn.clone());
                last = Some(r.arn.clone());
            }
        }
    }
    forget_missing(db, a, &zone, &seen, None, now).await?;
    if let Some(arn) = last {
        note_analyzed(db, a, &arn, now).await?;
    }
    Ok(())
}

/// Resolves the findings (and forgets the analysed resources) of resources not in `seen`,
/// among those of type `only` owned by `owner` when given.
pub async fn forget_missing(
    db: &mut Db<'_>,
    a: &Analyzer,
    zone: &Zone,
    seen: &BTreeSet<String>,
    only: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut gone = BTreeSet::new();
    for kind in [model::RESOURCE, model::FINDING] {
        for e in model::all(db, a.account(), kind, &a.prefix()).await? {
            let (arn, rtype, owner) = if kind == model::RESOURCE {
                let d: ResourceDoc = entity::read_doc(&e)?;
                (d.arn, d.resource_type, d.owner)
            } else {
                let d: FindingDoc = entity::read_doc(&e)?;
                (d.resource, d.resource_type, d.owner)
            };
            let in_scope = only.is_none_or(|(t, o)| t == rtype && o == owner);
            if in_scope && !seen.contains(&arn) {
                gone.insert(arn);
            }
        }
    }
    for arn in gone {
        reconcile(db, a, zone, &arn, None, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_ids_are_stable_uuid_shaped_and_distinct() {
        let a = Access {
            principal: [("AWS".to_string(), "444455556666".to_string())].into(),
            ..Default::default()
        };
        let id = finding_id("arn:x", "arn:r", &a);
        assert_eq!(id, finding_id("arn:x", "arn:r", &a));
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, finding_id("arn:y", "arn:r", &a));
        let mut b = a.clone();
        b.condition
            .insert("aws:SourceIp".into(), "10.0.0.0/8".into());
        assert_ne!(id, finding_id("arn:x", "arn:r", &b));
    }
}

#[cfg(test)]
mod store_tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use super::*;
    use crate::{
        filter::Criterion,
        model::{AnalyzerDoc, Rule},
        resources::{Body, ROLE},
    };
    use serde_json::json;

    const ME: &str = "111122223333";
    const ARN: &str = "arn:aws:iam::111122223333:role/r";

    fn role(principal: &str) -> Resource {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]});
        Resource {
            arn: ARN.into(),
            rtype: ROLE,
            owner: ME.into(),
            region: None,
            body: Body::Role {
                trust: trust.to_string(),
            },
        }
    }

    async fn statuses(db: &mut Db<'_>, a: &Analyzer) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = findings_of(db, a, ARN)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, f)| (f.principal["AWS"].clone(), f.status))
            .collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn findings_appear_resolve_return_and_follow_archive_rules() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let mut tx = store.begin().await.unwrap();
        let mut db = Db::Write(&mut tx);
        let now = Utc::now();
        let doc = AnalyzerDoc {
            name: "a".into(),
            region: "us-east-1".into(),
            analyzer_type: "ACCOUNT".into(),
            status: ACTIVE.into(),
            rules: [(
                "partner".to_string(),
                Rule {
                    filter: [(
                        "principal.AWS".to_string(),
                        Criterion {
                            eq: Some(vec!["777777777777".into()]),
                            ..Default::default()
                        },
                    )]
                    .into(),
                    created: now,
                    updated: now,
                },
            )]
            .into(),
            ..Default::default()
        };
        let a = model::insert(&mut db, ME, &doc, now).await.unwrap();
        let z = zone(&mut db, &a).await.unwrap();
        let other = "444455556666";
        reconcile(&mut db, &a, &z, ARN, Some(&role(other)), now)
            .await
            .unwrap();
        assert_eq!(
            statuses(&mut db, &a).await,
            vec![(other.to_string(), ACTIVE.to_string())]
        );
        // The grant moves to a partner the archive rule matches: the old finding resolves,
        // the new one is archived as it is made.
        reconcile(&mut db, &a, &z, ARN, Some(&role("777777777777")), now)
            .await
            .unwrap();
        assert_eq!(
            statuses(&mut db, &a).await,
            vec![
                (other.to_string(), RESOLVED.to_string()),
                ("777777777777".to_string(), ARCHIVED.to_string()),
            ]
        );
        // Back to the first account: its finding is active again.
        reconcile(&mut db, &a, &z, ARN, Some(&role(other)), now)
            .await
            .unwrap();
        assert_eq!(statuses(&mut db, &a).await[0].1, ACTIVE);
        // Trusting only the owner, then deletion: everything resolved, the record gone.
        reconcile(&mut db, &a, &z, ARN, Some(&role(ME)), now)
            .await
            .unwrap();
        assert!(statuses(&mut db, &a)
            .await
            .iter()
            .all(|(_, s)| s == RESOLVED));
        let key = format!("us-east-1/a/{ARN}");
        assert!(db
            .entities()
            .get(ME, model::RESOURCE, &key)
            .await
            .unwrap()
            .is_some());
        reconcile(&mut db, &a, &z, ARN, None, now).await.unwrap();
        assert!(db
            .entities()
            .get(ME, model::RESOURCE, &key)
            .await
            .unwrap()
            .is_none());
        tx.commit().await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
