//! What an aggregator collects, decided at read time: its account sources that authorized it
//! (the aggregator's own account needs no authorization), or the accounts of its organization
//! while the caller may still aggregate it; and `DescribeConfigurationAggregatorSourcesStatus`,
//! the same decision per source and region.

use std::collections::{BTreeMap, BTreeSet};

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use serde_json::{json, Value};

use crate::aggregation_auth;
use crate::aggregators::{self, source_regions, AggregatorDoc};
use crate::common::{limit, paged, strings};
use crate::error::{ConfigError, ConfigResult};
use crate::model::epoch;

/// The regions of one account an aggregator collects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// Every region (`AllAwsRegions` of the aggregator's own account or organization).
    All,
    /// These regions.
    Only(BTreeSet<String>),
}

impl Regions {
    /// True when data of `region` is collected; IAM's `global` items go with any region.
    pub fn takes(&self, region: &str) -> bool {
        match self {
            Regions::All => true,
            Regions::Only(set) => !set.is_empty() && (region == "global" || set.contains(region)),
        }
    }
}

/// What an aggregator collects: each source account with its regions.
pub type Members = BTreeMap<String, Regions>;

/// One source and region's status, in AWS's shape.
fn status(
    ctx: &CallContext,
    id: &str,
    kind: &str,
    region: &str,
    error: Option<(&str, String)>,
) -> Value {
    let mut v = json!({
        "SourceId": id,
        "SourceType": kind,
        "AwsRegion": region,
        "LastUpdateStatus": if error.is_some() { "FAILED" } else { "SUCCEEDED" },
        "LastUpdateTime": epoch(ctx.now),
    });
    if let Some((code, message)) = error {
        crate::common::set(&mut v, "LastErrorCode", json!(code));
        crate::common::set(&mut v, "LastErrorMessage", json!(message));
    }
    v
}

/// The members and the per-source statuses of an aggregator.
pub async fn resolve(
    db: &mut Db<'_>,
    ctx: &CallContext,
    doc: &AggregatorDoc,
) -> ConfigResult<(Members, Vec<Value>)> {
    let mut members = Members::new();
    let mut statuses = Vec::new();
    for source in &doc.account_sources {
        let wanted = source_regions(source);
        for account in strings(source, "AccountIds") {
            let got = account_source(db, ctx, &account, wanted.as_deref(), &mut statuses).await?;
            merge(&mut members, account, got);
        }
    }
    if let Some(source) = &doc.org_source {
        organization_source(db, ctx, doc, source, &mut members, &mut statuses).await?;
    }
    Ok((members, statuses))
}

fn merge(members: &mut Members, account: String, got: Regions) {
    let entry = members
        .entry(account)
        .or_insert_with(|| Regions::Only(BTreeSet::new()));
    match (entry, got) {
        (Regions::All, _) => {}
        (e, Regions::All) => *e = Regions::All,
        (Regions::Only(have), Regions::Only(more)) => have.extend(more),
    }
}

/// One account of an account source: the regions it authorized (all wanted ones for the
/// aggregator's own account), with a status per wanted region.
async fn account_source(
    db: &mut Db<'_>,
    ctx: &CallContext,
    account: &str,
    wanted: Option<&[String]>,
    statuses: &mut Vec<Value>,
) -> ConfigResult<Regions> {
    let own = account == ctx.principal.account_id;
    if own {
        for r in wanted.unwrap_or(std::slice::from_ref(&ctx.region)) {
            statuses.push(status(ctx, account, "ACCOUNT", r, None));
        }
        return Ok(match wanted {
            None => Regions::All,
            Some(w) => Regions::Only(w.iter().cloned().collect()),
        });
    }
    let authorized: BTreeSet<String> =
        aggregation_auth::authorized_regions(db, account, &ctx.principal.account_id, &ctx.region)
            .await?
            .into_iter()
            .collect();
    let shown: Vec<String> = match wanted {
        Some(w) => w.to_vec(),
        None if authorized.is_empty() => vec![ctx.region.clone()],
        None => authorized.iter().cloned().collect(),
    };
    let mut collected = BTreeSet::new();
    for r in shown {
        if authorized.contains(&r) {
            statuses.push(status(ctx, account, "ACCOUNT", &r, None));
            collected.insert(r);
        } else {
            let message = format!(
                "The source account {account} has not authorized the aggregator account {} in region {} to collect data of region {r}.",
                ctx.principal.account_id, ctx.region
            );
            statuses.push(status(
                ctx,
                account,
                "ACCOUNT",
                &r,
                Some(("AggregationAuthorizationNotFound", message)),
            ));
        }
    }
    Ok(Regions::Only(collected))
}

/// An organization source: every active account of the organization the aggregator was made
/// in, while the caller is still its management account or Config's delegated administrator.
async fn organization_source(
    db: &mut Db<'_>,
    ctx: &CallContext,
    doc: &AggregatorDoc,
    source: &Value,
    members: &mut Members,
    statuses: &mut Vec<Value>,
) -> ConfigResult<()> {
    let wanted = source_regions(source);
    let shown = wanted.clone().unwrap_or_else(|| vec![ctx.region.clone()]);
    let org = match aggregators::caller_org(db, &ctx.principal.account_id).await {
        Ok(org) if Some(&org.id) == doc.org_id.as_ref() => org,
        Ok(_) => {
            return org_failed(
                ctx,
                doc,
                &shown,
                statuses,
                "The configuration aggregator is associated with a previous organization.".into(),
            )
        }
        Err(ConfigError::InternalFailure(m)) => return Err(ConfigError::InternalFailure(m)),
        Err(e) => return org_failed(ctx, doc, &shown, statuses, e.to_string()),
    };
    for r in &shown {
        statuses.push(status(ctx, &org.id, "ORGANIZATION", r, None));
    }
    let accounts = rampart_organizations::accounts::active_ids(db, &org)
        .await
        .map_err(|_| ConfigError::internal())?;
    for account in accounts {
        let regions = match &wanted {
            None => Regions::All,
            Some(w) => Regions::Only(w.iter().cloned().collect()),
        };
        merge(members, account, regions);
    }
    Ok(())
}

fn org_failed(
    ctx: &CallContext,
    doc: &AggregatorDoc,
    shown: &[String],
    statuses: &mut Vec<Value>,
    message: String,
) -> ConfigResult<()> {
    let id = doc.org_id.clone().unwrap_or_default();
    for r in shown {
        statuses.push(status(
            ctx,
            &id,
            "ORGANIZATION",
            r,
            Some(("OrganizationAccessDeniedException", message.clone())),
        ));
    }
    Ok(())
}

/// The members of the aggregator the request names.
pub async fn members_of(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> ConfigResult<Members> {
    let (_, doc) = aggregators::from_input(db, ctx, input).await?;
    Ok(resolve(db, ctx, &doc).await?.0)
}

/// `DescribeConfigurationAggregatorSourcesStatus`.
pub async fn sources_status(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> ConfigResult<Value> {
    let (_, doc) = aggregators::from_input(&mut db, ctx, input).await?;
    let max = limit(input, "Limit", 100, 100)?;
    let only = strings(input, "UpdateStatus");
    let (_, statuses) = resolve(&mut db, ctx, &doc).await?;
    let shown: Vec<Value> = statuses
        .into_iter()
        .filter(|s| {
            only.is_empty()
                || s.get("LastUpdateStatus")
                    .and_then(Value::as_str)
                    .is_some_and(|t| only.iter().any(|o| o == t))
        })
        .collect();
    paged(
        shown,
        input,
        "NextToken",
        max,
        "AggregatedSourceStatusList",
        Value::clone,
    )
}
