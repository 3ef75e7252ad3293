//! Unused access analysis over the store: reads the facts of every IAM role and user in an
//! unused access analyzer's accounts (service last-accessed data, `RoleLastUsed`, access key
//! and password last use, identity policies), computes what is unused ([`crate::unused`])
//! and reconciles the analyzer's findings. The server's `access-analyzer-unused` job runs it
//! for every unused access analyzer; `CreateAnalyzer` runs it once for the new analyzer.
//!
//! A finding's id derives from the analyzer, the entity, the type and its key, so the same
//! unused access keeps its finding across runs. A new finding is `ACTIVE` (or `ARCHIVED` by an
//! archive rule); one no longer found (used again, entity deleted or excluded) is `RESOLVED`;
//! a resolved one found again is active again.

use std::collections::BTreeMap;

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use rampart_iam::{
    action_access, caller, last_accessed,
    model::{self as iam, RoleDoc, UserDoc},
    passwords,
};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::{Entity, KeyStatus};

use crate::{
    action_scope::{self, Catalogue},
    engine::{self, ACTIVE},
    model::{self, Analyzer, FindingDoc},
    resources, sync,
    unused::{self, EntityFacts, KeyFacts, PasswordFacts, Unused},
};

/// Path prefix of service-linked roles, which unused access analysis skips.
const SERVICE_LINKED_PATH: &str = "/aws-service-role/";

/// Analyses every unused access analyzer; returns how many ran.
pub async fn run_all(db: &mut Db<'_>, now: DateTime<Utc>) -> Result<usize, ServiceError> {
    let mut ran = 0;
    for mut a in model::every(db).await? {
        if a.is_unused() {
            analyze(db, &mut a, now).await?;
            ran += 1;
        }
    }
    Ok(ran)
}

/// Analyses one unused access analyzer's accounts and reconciles its findings.
pub async fn analyze(
    db: &mut Db<'_>,
    a: &mut Analyzer,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(config) = a.doc.unused_access.clone() else {
        return Ok(());
    };
    let accounts = match &a.doc.org_id {
        Some(org) => engine::org_accounts(db, org, a.account()).await?,
        None => vec![a.account().to_string()],
    };
    let mut found = Vec::new();
    for account in &accounts {
        for e in facts(db, account).await? {
            if unused::excluded(&config.exclusions, &e) {
                continue;
            }
            for u in unused::findings(&e, config.age_days, now) {
                found.push((e.clone(), u));
            }
        }
    }
    reconcile(db, a, &found, now).await?;
    if let Some(c) = a.doc.unused_access.as_mut() {
        c.analyzed = Some(now);
    }
    entity::save_doc(db, a.entity.clone(), &a.doc, now).await?;
    Ok(())
}

/// The service namespaces a wildcarded action prefix expands over.
fn known_namespaces() -> Vec<&'static str> {
    last_accessed::SERVICES.iter().map(|(ns, _)| *ns).collect()
}

/// Recorded service last uses of the entity `arn`.
async fn service_uses(
    db: &mut Db<'_>,
    account: &str,
    arn: &str,
) -> Result<BTreeMap<String, DateTime<Utc>>, ServiceError> {
    let uses: last_accessed::UseDoc = match db
        .entities()
        .get(account, last_accessed::LAST_ACCESS, &iam::name_key(arn))
        .await?
    {
        Some(e) => entity::read_doc(&e)?,
        None => last_accessed::UseDoc::new(),
    };
    Ok(uses.into_iter().map(|(ns, u)| (ns, u.at)).collect())
}

/// Recorded action last uses of the entity `arn`.
async fn action_uses(
    db: &mut Db<'_>,
    account: &str,
    arn: &str,
) -> Result<BTreeMap<String, DateTime<Utc>>, ServiceError> {
    let uses = action_access::uses_of(db, account, arn).await?;
    Ok(uses.into_iter().map(|(a, u)| (a, u.at)).collect())
}

fn tag_map(tags: &[iam::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// The facts of every role (but service-linked ones) and user of `account`.
async fn facts(db: &mut Db<'_>, account: &str) -> Result<Vec<EntityFacts>, ServiceError> {
    let known = known_namespaces();
    let catalogue = action_scope::catalogue();
    let mut out = Vec::new();
    for e in model::all(db, account, iam::ROLE, "/").await? {
        if e.path.starts_with(SERVICE_LINKED_PATH) {
            continue;
        }
        let doc: RoleDoc = entity::read_doc(&e)?;
        let policies = caller::role_policies(db, account, &e.id).await?.identity;
        out.push(EntityFacts {
            resource_type: resources::ROLE.into(),
            owner: account.to_string(),
            created: e.created_at,
            role_last_used: doc.last_used.map(|l| l.date),
            services: service_uses(db, account, &e.arn).await?,
            allowed: unused::allowed_namespaces(
                policies.iter().map(|p| p.document.as_str()),
                &known,
            ),
            actions: action_uses(db, account, &e.arn).await?,
            allowed_actions: action_scope::allowed_actions(
                policies.iter().map(|p| p.document.as_str()),
                &catalogue,
            ),
            tags: tag_map(&doc.tags),
            arn: e.arn,
            ..Default::default()
        });
    }
    for e in model::all(db, account, iam::USER, "/").await? {
        out.push(user_facts(db, account, e, &known, &catalogue).await?);
    }
    Ok(out)
}

async fn user_facts(
    db: &mut Db<'_>,
    account: &str,
    e: Entity,
    known: &[&str],
    catalogue: &Catalogue,
) -> Result<EntityFacts, ServiceError> {
    let doc: UserDoc = entity::read_doc(&e)?;
    let policies = caller::user_policies(db, account, &e.id).await?.identity;
    let keys = db
        .credentials()
        .list_for_principal(account, &e.id)
        .await?
        .into_iter()
        .filter(|k| k.session.is_none())
        .map(|k| KeyFacts {
            active: k.status == KeyStatus::Active,
            created: k.created_at,
            last_used: k.last_used.map(|l| l.at),
            id: k.access_key_id,
        })
        .collect();
    let password = passwords::login_of(db, account, &e.id)
        .await?
        .map(|(_, d)| PasswordFacts {
            changed: d.changed_at,
            last_used: d.last_used,
        });
    Ok(EntityFacts {
        resource_type: resources::USER.into(),
        owner: account.to_string(),
        created: e.created_at,
        services: service_uses(db, account, &e.arn).await?,
        allowed: unused::allowed_namespaces(policies.iter().map(|p| p.document.as_str()), known),
        actions: action_uses(db, account, &e.arn).await?,
        allowed_actions: action_scope::allowed_actions(
            policies.iter().map(|p| p.document.as_str()),
            catalogue,
        ),
        keys,
        password,
        tags: tag_map(&doc.tags),
        arn: e.arn,
        ..Default::default()
    })
}

/// The id of an unused access finding: a UUID-shaped digest of what identifies it.
fn finding_id(analyzer: &str, resource: &str, u: &Unused) -> String {
    let text = format!("{analyzer}\n{resource}\n{}\n{}", u.finding_type, u.key);
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

/// Brings the analyzer's findings in line with `found`.
async fn reconcile(
    db: &mut Db<'_>,
    a: &Analyzer,
    found: &[(EntityFacts, Unused)],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let docs = found
        .iter()
        .map(|(e, u)| FindingDoc {
            id: finding_id(a.arn(), &e.arn, u),
            resource: e.arn.clone(),
            resource_type: e.resource_type.clone(),
            owner: e.owner.clone(),
            status: ACTIVE.into(),
            created: now,
            analyzed: now,
            updated: now,
            finding_type: Some(u.finding_type.to_string()),
            details: Some(u.details.clone()),
            ..Default::default()
        })
        .collect();
    sync::sync(db, a, docs, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        engine::{ARCHIVED, RESOLVED},
        filter::Criterion,
        model::{AnalyzerDoc, Rule, UnusedConfig},
        unused::{UNUSED_PASSWORD, UNUSED_ROLE},
    };
    use serde_json::json;

    const ME: &str = "111122223333";

    fn entity(name: &str) -> EntityFacts {
        EntityFacts {
            arn: format!("arn:aws:iam::{ME}:role/{name}"),
            resource_type: resources::ROLE.into(),
            owner: ME.into(),
            ..Default::default()
        }
    }

    fn unused(t: &'static str) -> Unused {
        Unused {
            finding_type: t,
            key: String::new(),
            details: json!({ "unusedIamRoleDetails": {} }),
        }
    }

    async fn statuses(db: &mut Db<'_>, a: &Analyzer) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = model::all(db, ME, model::FINDING, &a.prefix())
            .await
            .unwrap()
            .iter()
            .map(|e| {
                let f: FindingDoc = entity::read_doc(e).unwrap();
                (f.resource.rsplit('/').next().unwrap().to_string(), f.status)
            })
            .collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn findings_resolve_when_no_longer_found_and_follow_archive_rules() {
        let (store, _dir) = rampart_kit::test_support::store().await;
        let mut tx = store.begin().await.unwrap();
        let mut db = Db::Write(&mut tx);
        let now = Utc::now();
        let doc = AnalyzerDoc {
            name: "u".into(),
            region: "us-east-1".into(),
            analyzer_type: "ACCOUNT_UNUSED_ACCESS".into(),
            status: ACTIVE.into(),
            unused_access: Some(UnusedConfig {
                age_days: 1,
                ..Default::default()
            }),
            rules: [(
                "pw".to_string(),
                Rule {
                    filter: [(
                        "findingType".to_string(),
                        Criterion {
                            eq: Some(vec![UNUSED_PASSWORD.into()]),
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
        let both = [
            (entity("idle"), unused(UNUSED_ROLE)),
            (entity("pw"), unused(UNUSED_PASSWORD)),
        ];
        reconcile(&mut db, &a, &both, now).await.unwrap();
        let active = |n: &str, s: &str| (n.to_string(), s.to_string());
        assert_eq!(
            statuses(&mut db, &a).await,
            vec![active("idle", ACTIVE), active("pw", ARCHIVED)]
        );
        reconcile(&mut db, &a, &both[1..], now).await.unwrap();
        assert_eq!(
            statuses(&mut db, &a).await,
            vec![active("idle", RESOLVED), active("pw", ARCHIVED)]
        );
        reconcile(&mut db, &a, &both, now).await.unwrap();
        assert_eq!(
            statuses(&mut db, &a).await,
            vec![active("idle", ACTIVE), active("pw", ARCHIVED)]
        );
    }
}
