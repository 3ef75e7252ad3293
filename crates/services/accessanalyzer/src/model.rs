//! How analyzers, their findings and analysed resources are stored.
//!
//! - An analyzer is an entity of kind [`ANALYZER`] in its account, keyed `REGION/NAME` (names
//!   are unique per account and region), path `/REGION/`, ARN
//!   `arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME`; its archive rules live in its
//!   document. Each analyzer also has an entry of kind [`INDEX`] in the pseudo-account
//!   [`SYSTEM_ACCOUNT`] keyed by its ARN, so the re-analysis job finds every analyzer with one
//!   scan.
//! - A finding is an entity of kind [`FINDING`] in the analyzer's account keyed by its id, path
//!   `/REGION/NAME/RESOURCE-ARN/`: one analyzer's findings, or one resource's, are a path
//!   prefix away.
//! - A finding recommendation is an entity of kind [`RECOMMENDATION`] keyed by the finding's
//!   id, path `/REGION/NAME/`.
//! - An analysed resource is an entity of kind [`RESOURCE`] keyed `REGION/NAME/RESOURCE-ARN`,
//!   path `/REGION/NAME/`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};

use crate::filter::Criterion;

/// The entity kind of analyzers.
pub const ANALYZER: &str = "access-analyzer:analyzer";
/// The entity kind of the analyzer index.
pub const INDEX: &str = "access-analyzer:index";
/// The entity kind of findings.
pub const FINDING: &str = "access-analyzer:finding";
/// The entity kind of analysed resources.
pub const RESOURCE: &str = "access-analyzer:resource";
/// The entity kind of finding recommendations (keyed by the finding's id).
pub const RECOMMENDATION: &str = "access-analyzer:recommendation";
/// The entity kind of policy generation jobs (name: the job id; path: `/<region>/`).
pub const POLICY_GENERATION: &str = "access-analyzer:policy-generation";
/// The entity kind of the policy generation jobs still to run, in [`SYSTEM_ACCOUNT`] (name:
/// [`generation_due_key`]).
pub const GENERATION_DUE: &str = "access-analyzer:policy-generation-due";
/// The entity kind of access previews (name: the preview id; path: the analyzer's prefix).
pub const ACCESS_PREVIEW: &str = "access-analyzer:access-preview";
/// The pseudo-account of the analyzer index.
pub const SYSTEM_ACCOUNT: &str = "~access-analyzer";

/// An archive rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The filter: finding key -> criterion.
    pub filter: BTreeMap<String, Criterion>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
}

/// An analyzer's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerDoc {
    /// The name.
    pub name: String,
    /// The region.
    pub region: String,
    /// `ACCOUNT`, `ORGANIZATION`, `ACCOUNT_UNUSED_ACCESS`, ... (AWS's `Type`).
    #[serde(rename = "type")]
    pub analyzer_type: String,
    /// `ACTIVE`.
    pub status: String,
    /// The organization of an `ORGANIZATION` analyzer.
    #[serde(default)]
    pub org_id: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Archive rules by name.
    #[serde(default)]
    pub rules: BTreeMap<String, Rule>,
    /// The resource analysed last, and when.
    #[serde(default)]
    pub last_resource: Option<(String, DateTime<Utc>)>,
    /// The configuration of an unused access analyzer.
    #[serde(default)]
    pub unused_access: Option<UnusedConfig>,
    /// The configuration of an internal access analyzer.
    #[serde(default)]
    pub internal_access: Option<InternalConfig>,
}

/// `InternalAccessConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalConfig {
    /// `analysisRule.inclusions` as given (`InternalAccessAnalysisRuleCriteria` objects).
    #[serde(default)]
    pub inclusions: Vec<serde_json::Value>,
    /// When the analysis last ran.
    #[serde(default)]
    pub analyzed: Option<DateTime<Utc>>,
}

/// `UnusedAccessConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusedConfig {
    /// `unusedAccessAge`, in days.
    pub age_days: u32,
    /// `analysisRule.exclusions` as given (`AnalysisRuleCriteria` objects).
    #[serde(default)]
    pub exclusions: Vec<serde_json::Value>,
    /// When the analysis last ran.
    #[serde(default)]
    pub analyzed: Option<DateTime<Utc>>,
}

/// An analyzer as loaded.
#[derive(Debug, Clone)]
pub struct Analyzer {
    /// The entity.
    pub entity: Entity,
    /// The document.
    pub doc: AnalyzerDoc,
}

impl Analyzer {
    /// The ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }

    /// The owning account.
    pub fn account(&self) -> &str {
        &self.entity.account_id
    }

    /// Whether it is an unused access analyzer.
    pub fn is_unused(&self) -> bool {
        self.doc.unused_access.is_some()
    }

    /// Whether it is an internal access analyzer.
    pub fn is_internal(&self) -> bool {
        self.doc.internal_access.is_some()
    }

    /// Whether it is an external access analyzer.
    pub fn is_external(&self) -> bool {
        !self.is_unused() && !self.is_internal()
    }

    /// The path prefix of its findings and analysed resources.
    pub fn prefix(&self) -> String {
        format!("/{}/{}/", self.doc.region, self.doc.name)
    }
}

/// The ARN of an analyzer.
pub fn analyzer_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{partition}:access-analyzer:{region}:{account}:analyzer/{name}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The analyzer `name` of `account` in `region`.
pub async fn find(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<Analyzer>, ServiceError> {
    Ok(
        entity::load_doc::<AnalyzerDoc>(db, account, ANALYZER, &format!("{region}/{name}"))
            .await?
            .map(|(entity, doc)| Analyzer { entity, doc }),
    )
}

/// The analyzer an ARN names, if it exists.
pub async fn find_arn(db: &mut Db<'_>, arn: &str) -> Result<Option<Analyzer>, ServiceError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (Some(region), Some(account), Some(name)) = (
        parts.get(3),
        parts.get(4),
        parts.get(5).and_then(|r| r.strip_prefix("analyzer/")),
    ) else {
        return Ok(None);
    };
    find(db, account, region, name).await
}

/// Every analyzer of `account` in `region`.
pub async fn list(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<Analyzer>, ServiceError> {
    let mut out = Vec::new();
    for e in all(db, account, ANALYZER, &format!("/{region}/")).await? {
        let doc = entity::read_doc(&e)?;
        out.push(Analyzer { entity: e, doc });
    }
    Ok(out)
}

/// Every analyzer of every account, from the index.
pub async fn every(db: &mut Db<'_>) -> Result<Vec<Analyzer>, ServiceError> {
    let mut out = Vec::new();
    for e in all(db, SYSTEM_ACCOUNT, INDEX, "/").await? {
        if let Some(a) = find_arn(db, &e.name_key).await? {
            out.push(a);
        }
    }
    Ok(out)
}

/// The key of a job's entry in the due index: `ACCOUNT/JOB-ID`.
pub fn generation_due_key(account: &str, job_id: &str) -> String {
    format!("{account}/{job_id}")
}

/// Takes a job's entry out of the due index; false if it was gone. The entry is what a
/// cancel and the run contend for: whichever deletes it first decides the job's end (a
/// concurrent delete waits for the first one's transaction and then finds nothing).
pub async fn take_generation_due(
    db: &mut Db<'_>,
    account: &str,
    job_id: &str,
) -> Result<bool, ServiceError> {
    let key = generation_due_key(account, job_id);
    match db
        .entities()
        .delete(SYSTEM_ACCOUNT, GENERATION_DUE, &key)
        .await
    {
        Ok(()) => Ok(true),
        Err(rampart_store::StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub use rampart_kit::entity::all;

/// Stores a new analyzer and its index entry.
pub async fn insert(
    db: &mut Db<'_>,
    account: &str,
    doc: &AnalyzerDoc,
    now: DateTime<Utc>,
) -> Result<Analyzer, ServiceError> {
    let arn = analyzer_arn(&doc.region, account, &doc.name);
    let entity = Entity {
        account_id: account.to_string(),
        kind: ANALYZER.into(),
        name: doc.name.clone(),
        name_key: format!("{}/{}", doc.region, doc.name),
        id: format!("{ANALYZER}/{arn}"),
        path: format!("/{}/", doc.region),
        arn: arn.clone(),
        created_at: now,
        updated_at: now,
        doc: entity::to_text(doc)?,
    };
    db.entities().create(&entity).await?;
    db.entities()
        .create(&Entity {
            account_id: SYSTEM_ACCOUNT.into(),
            kind: INDEX.into(),
            name: arn.clone(),
            name_key: arn.clone(),
            id: format!("{INDEX}/{arn}"),
            path: "/".into(),
            arn: arn.clone(),
            created_at: now,
            updated_at: now,
            doc: String::new(),
        })
        .await?;
    Ok(Analyzer {
        entity,
        doc: doc.clone(),
    })
}

/// Deletes an analyzer with its findings, analysed resources and index entry.
pub async fn delete(db: &mut Db<'_>, a: &Analyzer) -> Result<(), ServiceError> {
    for kind in [FINDING, RESOURCE, RECOMMENDATION] {
        for e in all(db, a.account(), kind, &a.prefix()).await? {
            db.entities().delete(a.account(), kind, &e.name_key).await?;
        }
    }
    db.entities().delete(SYSTEM_ACCOUNT, INDEX, a.arn()).await?;
    db.entities()
        .delete(a.account(), ANALYZER, &a.entity.name_key)
        .await?;
    Ok(())
}

/// A finding's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingDoc {
    /// The id.
    pub id: String,
    /// The resource's ARN.
    pub resource: String,
    /// Its type.
    pub resource_type: String,
    /// Its owner.
    pub owner: String,
    /// The external principal.
    pub principal: BTreeMap<String, String>,
    /// The actions granted.
    pub action: Vec<String>,
    /// The conditions on the grant.
    pub condition: BTreeMap<String, String>,
    /// Whether it is public.
    pub is_public: bool,
    /// How access is granted (S3: `POLICY`, `BUCKET_ACL`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// `ACTIVE`, `ARCHIVED` or `RESOLVED`.
    pub status: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When the resource was last analysed.
    pub analyzed: DateTime<Utc>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
    /// The finding type of an unused access finding (none: `ExternalAccess`).
    #[serde(default)]
    pub finding_type: Option<String>,
    /// The `FindingDetails` member of an unused access finding.
    #[serde(default)]
    pub details: Option<serde_json::Value>,
}

/// An analysed resource's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDoc {
    /// The ARN.
    pub arn: String,
    /// The type.
    pub resource_type: String,
    /// The owner.
    pub owner: String,
    /// When first analysed.
    pub created: DateTime<Utc>,
    /// When last analysed.
    pub analyzed: DateTime<Utc>,
    /// When what it grants last changed.
    pub updated: DateTime<Utc>,
    /// Whether it grants public access.
    pub is_public: bool,
    /// The actions it grants outside the zone.
    #[serde(default)]
    pub actions: Vec<String>,
    /// How it is shared (`POLICY`, `BUCKET_ACL`, `GRANT` ...).
    #[serde(default)]
    pub shared_via: Vec<String>,
    /// The status of its findings (`ACTIVE` while one is active).
    #[serde(default)]
    pub status: Option<String>,
}
