//! Internal access analysis over the store: reads the IAM roles and users of an internal
//! access analyzer's zone (their identity policies, boundaries and tags), the critical
//! resources its analysis rule includes (S3 buckets and their policies), and the organization
//! of each account (SCPs and RCPs); asks [`crate::internal`] what each principal can do to
//! each resource, and reconciles the analyzer's findings ([`crate::sync`]). `CreateAnalyzer`
//! and `UpdateAnalyzer` run it, and [`crate::react`] runs it again when a policy, role, user,
//! bucket or the organization changes.
//!
//! A finding's id derives from the analyzer, the resource and the principal, so the same
//! access keeps its finding while its actions change; access that goes away resolves it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use rampart_iam::{caller, model as iam};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_model::ServiceOp;
use rampart_organizations::enforcement;
use rampart_policy::PolicyKind;

use crate::{
    engine::{self, digest_id, ACTIVE},
    internal::{self, OrgFacts, Subject, Target, INTERNAL_ACCESS},
    model::{self, Analyzer, FindingDoc},
    resources::{self, Body, Resource, BUCKET},
    sync,
};

/// Path prefix of service-linked roles, which internal access analysis skips.
const SERVICE_LINKED_PATH: &str = "/aws-service-role/";

/// S3's actions, each with whether it acts on objects.
fn s3_actions() -> &'static [(String, bool)] {
    static A: OnceLock<Vec<(String, bool)>> = OnceLock::new();
    A.get_or_init(|| {
        let mut by_action = BTreeMap::new();
        for op in rampart_s3::Op::all() {
            if let Some(action) = rampart_s3::authz::action(*op) {
                by_action.insert(action.to_string(), rampart_s3::authz::on_object(*op));
            }
        }
        by_action.into_iter().collect()
    })
}

/// Analyses every internal access analyzer whose zone holds `account` (`None`: every one).
pub async fn run_covering(
    db: &mut Db<'_>,
    account: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    for mut a in model::every(db).await? {
        if !a.is_internal() {
            continue;
        }
        let zone = engine::zone(db, &a).await?;
        if account.is_none_or(|acct| zone.trusts(acct)) {
            analyze(db, &mut a, now).await?;
        }
    }
    Ok(())
}

/// Analyses one internal access analyzer's zone and reconciles its findings.
pub async fn analyze(
    db: &mut Db<'_>,
    a: &mut Analyzer,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(config) = a.doc.internal_access.clone() else {
        return Ok(());
    };
    let org_zone = a.doc.org_id.is_some();
    let accounts = match &a.doc.org_id {
        Some(org) => engine::org_accounts(db, org, a.account()).await?,
        None => vec![a.account().to_string()],
    };
    let mut orgs = BTreeMap::new();
    let mut subjects = Vec::new();
    for account in &accounts {
        let view = enforcement::view_in(db, account).await?;
        orgs.insert(account.clone(), OrgFacts::of(view));
        subjects.extend(subjects_of(db, account).await?);
    }
    let none = OrgFacts::default();
    let mut found = Vec::new();
    let mut last = None;
    for owner in &accounts {
        for r in resources::list(db, owner, BUCKET, &a.doc.region).await? {
            if !internal::included(&config.inclusions, &r.arn, r.rtype, &r.owner) {
                continue;
            }
            let Some(target) = target_of(&r) else {
                continue;
            };
            let owners = orgs.get(&r.owner).unwrap_or(&none);
            for who in &subjects {
                let theirs = orgs.get(&who.account).unwrap_or(&none);
                if let Some(f) = internal::access(who, &target, theirs, owners, org_zone) {
                    found.push(finding(a, &r, who, &target, &f, now));
                }
            }
            last = Some(r.arn.clone());
        }
    }
    sync::sync(db, a, found, now).await?;
    if let Some(c) = a.doc.internal_access.as_mut() {
        c.analyzed = Some(now);
    }
    if let Some(arn) = last {
        a.doc.last_resource = Some((arn, now));
    }
    let fresh = db
        .entities()
        .get(a.account(), model::ANALYZER, &a.entity.name_key)
        .await?;
    if let Some(e) = fresh {
        entity::save_doc(db, e, &a.doc, now).await?;
    }
    Ok(())
}

/// The roles (but service-linked ones) and users of `account`, with their policies.
async fn subjects_of(db: &mut Db<'_>, account: &str) -> Result<Vec<Subject>, ServiceError> {
    let mut out = Vec::new();
    for e in model::all(db, account, iam::ROLE, "/").await? {
        if e.path.starts_with(SERVICE_LINKED_PATH) {
            continue;
        }
        let p = caller::role_policies(db, account, &e.id).await?;
        out.push(subject(e.arn, account, internal::IAM_ROLE, p));
    }
    for e in model::all(db, account, iam::USER, "/").await? {
        let p = caller::user_policies(db, account, &e.id).await?;
        out.push(subject(e.arn, account, internal::IAM_USER, p));
    }
    Ok(out)
}

fn subject(
    arn: String,
    account: &str,
    principal_type: &'static str,
    p: rampart_kit::authz::CallerPolicies,
) -> Subject {
    Subject {
        arn,
        account: account.to_string(),
        principal_type,
        identity: internal::layer(&p.identity, PolicyKind::Identity),
        boundary: p
            .boundary
            .map(|b| internal::layer(std::slice::from_ref(&b), PolicyKind::Boundary)),
        tags: p.principal_tags,
    }
}

/// A bucket as a critical resource.
fn target_of(r: &Resource) -> Option<Target> {
    let Body::Bucket(b) = &r.body else {
        return None;
    };
    let policy = b.doc.policy.as_ref().map(|text| {
        internal::layer(
            &[rampart_kit::authz::NamedPolicy {
                name: "BucketPolicy".into(),
                document: text.clone(),
            }],
            PolicyKind::Resource,
        )
    });
    Some(Target {
        arn: r.arn.clone(),
        owner: r.owner.clone(),
        policy,
        actions: s3_actions().to_vec(),
    })
}

/// The finding of `who`'s access to resource `r`.
fn finding(
    a: &Analyzer,
    r: &Resource,
    who: &Subject,
    target: &Target,
    f: &internal::Found,
    now: DateTime<Utc>,
) -> FindingDoc {
    let id = digest_id(&format!(
        "{}\n{}\n{}\n{INTERNAL_ACCESS}",
        a.arn(),
        r.arn,
        who.arn
    ));
    FindingDoc {
        id,
        resource: r.arn.clone(),
        resource_type: r.rtype.to_string(),
        owner: r.owner.clone(),
        principal: [("AWS".to_string(), who.arn.clone())].into(),
        action: f.actions.clone(),
        sources: if f.via_policy {
            vec!["POLICY".into()]
        } else {
            Vec::new()
        },
        status: ACTIVE.into(),
        created: now,
        analyzed: now,
        updated: now,
        finding_type: Some(INTERNAL_ACCESS.into()),
        details: Some(internal::details(who, target, f)),
        ..Default::default()
    }
}
