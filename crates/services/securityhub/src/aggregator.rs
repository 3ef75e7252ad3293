//! Cross-Region aggregation: `CreateFindingAggregator`, `GetFindingAggregator`,
//! `UpdateFindingAggregator`, `DeleteFindingAggregator`, `ListFindingAggregators`.
//!
//! An account has at most one finding aggregator, kept as one entity of kind
//! `securityhub:finding-aggregator` (key `default`) holding its id, its aggregation Region
//! (where it was created) and the linked Regions. The aggregation Region's `GetFindings`
//! and `BatchUpdateFindings` also reach the findings of the linked Regions
//! ([`regions_seen`]); the findings stay stored in their own Region, so a change made from
//! the aggregation Region is what the linked Region sees too, as AWS replicates it back.

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_str, str_list},
};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{error::SecurityHubError, model, products::paged};

/// The entity kind of the account's finding aggregator.
pub const AGGREGATOR: &str = "securityhub:finding-aggregator";
const KEY: &str = "default";

/// The stored aggregator.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AggregatorDoc {
    /// The id that ends its ARN.
    pub id: String,
    /// The aggregation Region.
    pub home: String,
    /// `ALL_REGIONS`, `ALL_REGIONS_EXCEPT_SPECIFIED` or `SPECIFIED_REGIONS`.
    pub mode: String,
    /// The Regions the mode names.
    pub regions: Vec<String>,
}

impl AggregatorDoc {
    fn arn(&self, account: &str) -> String {
        rampart_kit::Partition::of_region(&self.home).arn(
            "securityhub",
            &self.home,
            account,
            &format!("finding-aggregator/{}", self.id),
        )
    }

    fn out(&self, account: &str) -> Value {
        let mut v = json!({
            "FindingAggregatorArn": self.arn(account),
            "FindingAggregationRegion": self.home,
            "RegionLinkingMode": self.mode,
        });
        if !self.regions.is_empty() {
            crate::set(&mut v, "Regions", json!(self.regions));
        }
        v
    }

    /// Whether findings of `region` are linked to the aggregation Region.
    fn links(&self, region: &str) -> bool {
        region != self.home
            && match self.mode.as_str() {
                "ALL_REGIONS" => true,
                "ALL_REGIONS_EXCEPT_SPECIFIED" => !self.regions.iter().any(|r| r == region),
                _ => self.regions.iter().any(|r| r == region),
            }
    }
}

/// Whether a name has the shape of an AWS Region (`us-east-1`, `us-gov-west-1`).
fn region_shaped(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// The mode and Regions of a create or update request, checked as AWS checks them.
fn linking(input: &Value, home: &str) -> Result<(String, Vec<String>), SecurityHubError> {
    let mode = opt_str(input, "RegionLinkingMode").unwrap_or("");
    let regions = str_list(input, "Regions");
    match mode {
        "ALL_REGIONS" if !regions.is_empty() => Err(SecurityHubError::invalid(
            "Regions must be empty when RegionLinkingMode is ALL_REGIONS.",
        )),
        "ALL_REGIONS" => Ok((mode.into(), regions)),
        "ALL_REGIONS_EXCEPT_SPECIFIED" | "SPECIFIED_REGIONS" => {
            if regions.is_empty() && mode == "SPECIFIED_REGIONS" {
                return Err(SecurityHubError::invalid(
                    "Regions is required when RegionLinkingMode is SPECIFIED_REGIONS.",
                ));
            }
            if let Some(bad) = regions.iter().find(|r| !region_shaped(r) || *r == home) {
                return Err(SecurityHubError::invalid(format!(
                    "Region {bad} is not a valid Region to link."
                )));
            }
            Ok((mode.into(), regions))
        }
        _ => Err(SecurityHubError::invalid(format!(
            "RegionLinkingMode {mode} is not valid."
        ))),
    }
}

async fn load(
    db: &mut Db<'_>,
    account: &str,
) -> Result<Option<(Entity, AggregatorDoc)>, ServiceError> {
    entity::load_doc::<AggregatorDoc>(db, account, AGGREGATOR, KEY).await
}

/// The caller's aggregator named by `FindingAggregatorArn`, managed from its aggregation
/// Region only.
async fn named(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<(Entity, AggregatorDoc), ServiceError> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "FindingAggregatorArn").unwrap_or("");
    let found = load(db, account)
        .await?
        .filter(|(_, a)| a.arn(account) == arn)
        .ok_or_else(|| {
            SecurityHubError::ResourceNotFoundException(format!(
                "Finding aggregator {arn} not found."
            ))
        })?;
    if found.1.home != ctx.region {
        return Err(SecurityHubError::invalid(format!(
            "The finding aggregator is managed from its aggregation Region {}.",
            found.1.home
        ))
        .into());
    }
    Ok(found)
}

/// `CreateFindingAggregator`: the caller's Region becomes the aggregation Region.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let account = &ctx.principal.account_id;
    let (mode, regions) = linking(input, &ctx.region)?;
    if load(&mut db, account).await?.is_some() {
        return Err(SecurityHubError::LimitExceededException(
            "The account already has a finding aggregator.".into(),
        )
        .into());
    }
    let doc = AggregatorDoc {
        id: uuid::Uuid::new_v4().to_string(),
        home: ctx.region.clone(),
        mode,
        regions,
    };
    let mut e = new_entity(account, &doc, ctx.now);
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(doc.out(account))
}

fn new_entity(account: &str, doc: &AggregatorDoc, now: DateTime<Utc>) -> Entity {
    Entity {
        account_id: account.to_string(),
        kind: AGGREGATOR.into(),
        name: KEY.into(),
        name_key: KEY.into(),
        id: format!("securityhub-finding-aggregator/{account}"),
        path: "/".into(),
        arn: doc.arn(account),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    }
}

/// `GetFindingAggregator`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let (_, doc) = named(input, ctx, &mut db).await?;
    Ok(doc.out(&ctx.principal.account_id))
}

/// `UpdateFindingAggregator`.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut doc) = named(input, ctx, &mut db).await?;
    let (mode, regions) = linking(input, &doc.home)?;
    doc.mode = mode;
    doc.regions = regions;
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(doc.out(&ctx.principal.account_id))
}

/// `DeleteFindingAggregator`.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, _) = named(input, ctx, &mut db).await?;
    db.entities()
        .delete(&e.account_id, AGGREGATOR, &e.name_key)
        .await?;
    Ok(json!({}))
}

/// `ListFindingAggregators`: the account's aggregator, from any Region.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let account = &ctx.principal.account_id;
    let items = load(&mut db, account)
        .await?
        .map(|(_, a)| json!({"FindingAggregatorArn": a.arn(account)}))
        .into_iter()
        .collect();
    paged(input, items, "FindingAggregators")
}

/// The Regions whose findings `account` sees from `region`: `region` itself, then, when it
/// is the aggregation Region, every linked Region where the account has a hub.
pub async fn regions_seen(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<String>, ServiceError> {
    let mut out = vec![region.to_string()];
    let Some((_, a)) = load(db, account).await?.filter(|(_, a)| a.home == region) else {
        return Ok(out);
    };
    for hub in entity::all(db, account, model::HUB, "/").await? {
        if a.links(&hub.name_key) {
            out.push(hub.name_key);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(mode: &str, regions: &[&str]) -> AggregatorDoc {
        AggregatorDoc {
            id: "x".into(),
            home: "us-east-1".into(),
            mode: mode.into(),
            regions: regions.iter().map(|r| (*r).to_string()).collect(),
        }
    }

    #[test]
    fn linking_modes_link_the_regions_aws_links() {
        let all = agg("ALL_REGIONS", &[]);
        assert!(all.links("eu-west-1") && !all.links("us-east-1"));
        let except = agg("ALL_REGIONS_EXCEPT_SPECIFIED", &["eu-west-1"]);
        assert!(!except.links("eu-west-1") && except.links("us-west-2"));
        let only = agg("SPECIFIED_REGIONS", &["eu-west-1"]);
        assert!(only.links("eu-west-1") && !only.links("us-west-2"));
    }

    #[test]
    fn requests_are_checked() {
        let req = |m: &str, r: &[&str]| json!({"RegionLinkingMode": m, "Regions": r});
        assert!(linking(&req("ALL_REGIONS", &[]), "us-east-1").is_ok());
        assert!(linking(&req("ALL_REGIONS", &["eu-west-1"]), "us-east-1").is_err());
        assert!(linking(&req("SPECIFIED_REGIONS", &[]), "us-east-1").is_err());
        assert!(linking(&req("SPECIFIED_REGIONS", &["us-east-1"]), "us-east-1").is_err());
        assert!(linking(&req("SPECIFIED_REGIONS", &["nowhere"]), "us-east-1").is_err());
        assert!(linking(&req("SOME", &[]), "us-east-1").is_err());
    }
}
