//! What Security Hub keeps in the store.
//!
//! - The hub is an entity of kind `securityhub:hub` in its account, keyed by its region (one
//!   per account and region, as in AWS); its document holds the enabled standards and the
//!   controls turned off in them. An index entity per hub (in [`SYSTEM_ACCOUNT`]) lets the
//!   controls job find every hub without scanning accounts.
//! - A finding is an entity of kind `securityhub:finding` under the path `/<region>/`, keyed
//!   by a digest of (region, `ProductArn`, `Id`), which is a finding's identity in AWS; its
//!   document is the finding in ASFF (`AwsSecurityFinding`, AWS member names).
//! - Custom insights (`securityhub:insight`) and automation rules
//!   (`securityhub:automation-rule`) are entities under `/<region>/`, keyed by the id that
//!   ends their ARN; their documents are in AWS member names.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SecurityHubError;

/// The entity kind of a hub.
pub const HUB: &str = "securityhub:hub";
/// The entity kind of the index of hubs (in [`SYSTEM_ACCOUNT`], name `ACCOUNT|REGION`).
pub const HUB_INDEX: &str = "securityhub:hub-index";
/// The entity kind of a finding.
pub const FINDING: &str = "securityhub:finding";
/// The entity kind of a custom insight (under `/<region>/`, keyed by its id).
pub const INSIGHT: &str = "securityhub:insight";
/// The entity kind of an automation rule (under `/<region>/`, keyed by its id).
pub const AUTOMATION_RULE: &str = "securityhub:automation-rule";
/// The pseudo-account holding the index of hubs.
pub const SYSTEM_ACCOUNT: &str = "securityhub";

/// A hub's configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HubDoc {
    /// When the account subscribed.
    pub subscribed_at: DateTime<Utc>,
    /// `AutoEnableControls`.
    pub auto_enable_controls: bool,
    /// `ControlFindingGenerator` (`SECURITY_CONTROL` or `STANDARD_CONTROL`).
    pub control_finding_generator: String,
    /// Enabled standards by key (`aws-foundational-security-best-practices/v/1.0.0`), with
    /// when each was enabled.
    #[serde(default)]
    pub standards: BTreeMap<String, DateTime<Utc>>,
    /// Controls turned off, by `STANDARD_KEY|CONTROL_ID`.
    #[serde(default)]
    pub disabled_controls: BTreeMap<String, Disabled>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// AWS integrations whose import is turned off (`DisableImportFindingsForProduct`), by
    /// product key (`aws/guardduty`), with when. AWS's integrations import by default.
    #[serde(default)]
    pub disabled_products: BTreeMap<String, DateTime<Utc>>,
    /// When a product's import was turned on again, by product key: findings the product
    /// produced while it was off are imported only once they change after this.
    #[serde(default)]
    pub products_since: BTreeMap<String, DateTime<Utc>>,
}

impl HubDoc {
    /// Since when the hub imports the findings of the product `key`; `None` while off.
    pub fn imports_since(&self, key: &str) -> Option<DateTime<Utc>> {
        if self.disabled_products.contains_key(key) {
            return None;
        }
        Some(
            self.products_since
                .get(key)
                .copied()
                .unwrap_or(self.subscribed_at),
        )
    }
}

/// A control turned off in a standard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disabled {
    /// `DisabledReason`.
    pub reason: String,
    /// When it was turned off.
    pub at: DateTime<Utc>,
}

impl HubDoc {
    /// True when `control` runs in the enabled standard `standard`.
    pub fn control_enabled(&self, standard: &str, control: &str) -> bool {
        self.standards.contains_key(standard)
            && !self
                .disabled_controls
                .contains_key(&format!("{standard}|{control}"))
    }
}

/// The ARN of the hub of `account` in `region`.
pub fn hub_arn(region: &str, account: &str) -> String {
    format!(
        "arn:{partition}:securityhub:{region}:{account}:hub/default",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The hub of `account` in `region`, if the account is subscribed there.
pub async fn hub_in(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Option<(Entity, HubDoc)>, ServiceError> {
    entity::load_doc::<HubDoc>(db, account, HUB, region).await
}

/// The caller's hub, or AWS's `InvalidAccessException` when the account is not subscribed.
pub async fn require_hub(
    db: &mut Db<'_>,
    ctx: &CallContext,
) -> Result<(Entity, HubDoc), ServiceError> {
    let account = &ctx.principal.account_id;
    hub_in(db, account, &ctx.region)
        .await?
        .ok_or_else(|| SecurityHubError::not_subscribed(account).into())
}

/// Every subscribed (account, region), from the index.
pub async fn hubs(db: &mut Db<'_>) -> Result<Vec<(String, String)>, ServiceError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(SYSTEM_ACCOUNT, HUB_INDEX, "", after.as_deref(), 500)
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        for e in &page.items {
            if let Some((account, region)) = e.name_key.split_once('|') {
                out.push((account.to_string(), region.to_string()));
            }
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// The name key of a finding: a digest of its identity (region, product, id).
pub fn finding_key(region: &str, product_arn: &str, id: &str) -> String {
    let text = format!("{region}\n{product_arn}\n{id}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    hex::encode(digest.as_ref())
}

/// A finding as stored.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    /// Its entity (`None` for a finding not stored yet).
    pub entity: Option<Entity>,
    /// The finding in ASFF.
    pub doc: Value,
}

/// The finding of `account` in `region` with this product and id, if stored.
pub async fn finding(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    product_arn: &str,
    id: &str,
) -> Result<Option<StoredFinding>, ServiceError> {
    let key = finding_key(region, product_arn, id);
    Ok(entity::load_doc::<Value>(db, account, FINDING, &key)
        .await?
        .map(|(e, doc)| StoredFinding {
            entity: Some(e),
            doc,
        }))
}

/// Every entity of `kind` of `account` kept under the path `/<region>/`.
pub async fn in_region(
    db: &mut Db<'_>,
    account: &str,
    kind: &str,
    region: &str,
) -> Result<Vec<Entity>, ServiceError> {
    let path = format!("/{region}/");
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, kind, &path, after.as_deref(), 500)
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        let truncated = page.truncated;
        out.extend(page.items);
        if !truncated {
            return Ok(out);
        }
    }
}

/// A new entity of `kind` of `account` under `/<region>/`, keyed by `key`, with this ARN.
pub fn regional_entity(
    (account, region): (&str, &str),
    kind: &str,
    key: &str,
    arn: String,
    now: DateTime<Utc>,
) -> Entity {
    Entity {
        account_id: account.to_string(),
        kind: kind.into(),
        name: key.to_string(),
        id: format!("{kind}/{account}/{key}"),
        name_key: key.to_string(),
        path: format!("/{region}/"),
        arn,
        created_at: now,
        updated_at: now,
        doc: String::new(),
    }
}

/// Every finding of `account` in `region`.
pub async fn findings(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<StoredFinding>, ServiceError> {
    let mut out = Vec::new();
    for e in in_region(db, account, FINDING, region).await? {
        let doc = entity::read_doc::<Value>(&e)?;
        out.push(StoredFinding {
            entity: Some(e),
            doc,
        });
    }
    Ok(out)
}

/// Archives the active findings of `account` in `region` whose product is a key of `present`
/// and whose `Id` is not in that product's set (their source is gone), in one pass.
pub async fn archive_absent(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    present: &BTreeMap<String, &std::collections::BTreeSet<String>>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let text = |doc: &Value, key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    for mut f in findings(db, account, region).await? {
        let Some(ids) = present.get(&text(&f.doc, "ProductArn")) else {
            continue;
        };
        if text(&f.doc, "RecordState") == "ACTIVE" && !ids.contains(&text(&f.doc, "Id")) {
            crate::set(&mut f.doc, "RecordState", serde_json::json!("ARCHIVED"));
            crate::set(
                &mut f.doc,
                "UpdatedAt",
                serde_json::json!(crate::time_text(now)),
            );
            save_finding(db, account, region, f, now).await?;
        }
    }
    Ok(())
}

/// Creates or updates a finding of `account` in `region`.
pub async fn save_finding(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    f: StoredFinding,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    match f.entity {
        Some(e) => entity::save_doc(db, e, &f.doc, now).await,
        None => {
            let product = f
                .doc
                .get("ProductArn")
                .and_then(Value::as_str)
                .unwrap_or("");
            let id = f.doc.get("Id").and_then(Value::as_str).unwrap_or("");
            let key = finding_key(region, product, id);
            let mut e = Entity {
                account_id: account.to_string(),
                kind: FINDING.into(),
                name: key.clone(),
                id: format!("securityhub-finding/{account}/{key}"),
                name_key: key,
                path: format!("/{region}/"),
                arn: String::new(),
                created_at: now,
                updated_at: now,
                doc: String::new(),
            };
            entity::write_doc(&mut e, &f.doc, now)?;
            db.entities().create(&e).await?;
            Ok(())
        }
    }
}
