//! Configuration aggregators: `PutConfigurationAggregator`, `DescribeConfigurationAggregators`,
//! `DeleteConfigurationAggregator`, and the authorization question of every aggregator
//! operation (on the aggregator's ARN once it exists).
//!
//! An aggregator stores only its sources; what it shows is read at request time from the
//! source accounts' own items and evaluations ([`crate::aggregate_sources`]), so nothing is
//! copied and nothing goes stale.

use chrono::{DateTime, Utc};
use rampart_kit::authz::AuthzRequest;
use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::{all, load, read_doc, to_text};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::common::{limit, paged, random_suffix, strings};
use crate::error::{ConfigError, ConfigResult};
use crate::model::epoch;
use crate::{aggregation_auth, Op};

/// Kind of aggregators (name key: `REGION/NAME`; path `/REGION/`).
pub const AGGREGATOR: &str = "config:aggregator";

/// The service principal an organization's delegated administrator is registered for.
pub const CONFIG_PRINCIPAL: &str = "config.amazonaws.com";

/// AWS's limit of aggregators per account and region.
const MAX_AGGREGATORS: usize = 50;

/// A stored aggregator: its sources as given (AWS's shapes) and the organization it was made in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AggregatorDoc {
    /// `AccountAggregationSources` as given.
    pub account_sources: Vec<Value>,
    /// `OrganizationAggregationSource` as given.
    pub org_source: Option<Value>,
    /// The organization an organization aggregator was made in.
    pub org_id: Option<String>,
    /// `AggregatorFilters` as given.
    pub filters: Option<Value>,
    /// The last change.
    pub updated: DateTime<Utc>,
}

/// The aggregator-not-found error.
pub fn no_aggregator() -> ConfigError {
    ConfigError::NoSuchConfigurationAggregatorException(
        "The configuration aggregator does not exist. Check the configuration aggregator name and try again.".into(),
    )
}

fn key(ctx: &CallContext, name: &str) -> String {
    format!("{}/{name}", ctx.region)
}

/// The named aggregator of the caller in the request's region.
pub async fn load_named(
    db: &mut Db<'_>,
    ctx: &CallContext,
    name: &str,
) -> ConfigResult<(Entity, AggregatorDoc)> {
    let found = load::<AggregatorDoc>(db, &ctx.principal.account_id, AGGREGATOR, &key(ctx, name))
        .await?
        .ok_or_else(no_aggregator)?;
    Ok((found.entity, found.doc))
}

/// The aggregator named by the request's `ConfigurationAggregatorName`.
pub async fn from_input(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> ConfigResult<(Entity, AggregatorDoc)> {
    let name = input
        .get("ConfigurationAggregatorName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    load_named(db, ctx, name).await
}

/// The regions of a source as given: `None` for `AllAwsRegions`.
pub fn source_regions(source: &Value) -> Option<Vec<String>> {
    if source.get("AllAwsRegions").and_then(Value::as_bool) == Some(true) {
        None
    } else {
        Some(strings(source, "AwsRegions"))
    }
}

fn check_regions(source: &Value) -> ConfigResult<()> {
    let all = source.get("AllAwsRegions").and_then(Value::as_bool) == Some(true);
    let listed = !strings(source, "AwsRegions").is_empty();
    match (all, listed) {
        (true, true) => Err(ConfigError::invalid(
            "Your request can have either AllAwsRegions or AwsRegions, but not both.",
        )),
        (false, false) => Err(ConfigError::invalid(
            "Your request must have either AllAwsRegions or AwsRegions.",
        )),
        _ => Ok(()),
    }
}

fn check_account_sources(sources: &[Value]) -> ConfigResult<()> {
    for s in sources {
        let ids = strings(s, "AccountIds");
        if ids.is_empty() {
            return Err(ConfigError::invalid(
                "AccountIds must have at least one account ID.",
            ));
        }
        for id in &ids {
            check_account_id(id)?;
        }
        check_regions(s)?;
    }
    Ok(())
}

/// An account id of 12 digits, else `InvalidParameterValueException`.
pub fn check_account_id(id: &str) -> ConfigResult<()> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ConfigError::invalid(format!(
            "The account ID {id} is not valid. An account ID must be 12 digits."
        )))
    }
}

/// The caller's organization when it may aggregate it: the management account or a
/// delegated administrator for Config, in an organization with all features.
pub async fn caller_org(
    db: &mut Db<'_>,
    account: &str,
) -> ConfigResult<rampart_organizations::common::Org> {
    let org = rampart_organizations::common::org_of(db, account)
        .await
        .map_err(|_| ConfigError::internal())?
        .ok_or_else(|| {
            ConfigError::NoAvailableOrganizationException(
                "Organization is no longer available.".into(),
            )
        })?;
    if org.doc.feature_set != "ALL" {
        return Err(ConfigError::OrganizationAllFeaturesNotEnabledException(
            "Config resource cannot be created because your organization does not have all features enabled.".into(),
        ));
    }
    if org.management != account {
        let admins =
            rampart_organizations::delegated::registered_for_service(db, &org, CONFIG_PRINCIPAL)
                .await
                .map_err(|_| ConfigError::internal())?;
        if !admins.iter().any(|a| a == account) {
            return Err(ConfigError::OrganizationAccessDeniedException(format!(
                "This action can only be performed if you are a registered delegated administrator for {CONFIG_PRINCIPAL} or the management account of the organization."
            )));
        }
    }
    Ok(org)
}

/// Checks an organization source's role: an IAM role ARN of the caller's account that exists.
async fn check_role(
    db: &mut Db<'_>,
    ctx: &CallContext,
    account: &str,
    source: &Value,
) -> ConfigResult<()> {
    let role = source
        .get("RoleArn")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let invalid = || {
        ConfigError::InvalidRoleException(format!(
            "The role {role} provided is not valid. Verify that the role exists and that Config can assume it."
        ))
    };
    let name = role
        .strip_prefix(&ctx.partition().iam_arn(account, "role/"))
        .and_then(|rest| rest.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(invalid)?;
    db.entities()
        .get(account, rampart_iam::model::ROLE, name)
        .await?
        .map(|_| ())
        .ok_or_else(invalid)
}

/// `PutConfigurationAggregator`: creates or replaces an aggregator's sources.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = ctx.principal.account_id.clone();
    let name = input
        .get("ConfigurationAggregatorName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let account_sources = input
        .get("AccountAggregationSources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let org_source = input.get("OrganizationAggregationSource").cloned();
    match (&org_source, account_sources.is_empty()) {
        (Some(_), false) => {
            return Err(ConfigError::invalid(
                "Your request can have either AccountAggregationSources or OrganizationAggregationSource, but not both.",
            ))
        }
        (None, true) => {
            return Err(ConfigError::invalid(
                "Your request must have either AccountAggregationSources or OrganizationAggregationSource.",
            ))
        }
        _ => {}
    }
    check_account_sources(&account_sources)?;
    let org_id = match &org_source {
        Some(s) => {
            check_regions(s)?;
            check_role(&mut db, ctx, &account, s).await?;
            Some(caller_org(&mut db, &account).await?.id)
        }
        None => None,
    };
    let doc = AggregatorDoc {
        account_sources,
        org_source,
        org_id,
        filters: input.get("AggregatorFilters").cloned(),
        updated: ctx.now,
    };
    let k = key(ctx, name);
    let entity = match db.entities().get(&account, AGGREGATOR, &k).await? {
        Some(mut e) => {
            let before: AggregatorDoc = read_doc(&e)?;
            if before.org_id.is_some() && before.org_id != doc.org_id {
                return Err(ConfigError::OrganizationAccessDeniedException(
                    "The configuration aggregator is associated with a previous organization. Delete this aggregator and create a new one with the current organization.".into(),
                ));
            }
            e.doc = to_text(&doc)?;
            e.updated_at = ctx.now;
            db.entities().update(&k, &e).await?;
            e
        }
        None => {
            let path = format!("/{}/", ctx.region);
            if all(&mut db, &account, AGGREGATOR, &path).await?.len() >= MAX_AGGREGATORS {
                return Err(ConfigError::LimitExceededException(format!(
                    "Failed to put configuration aggregator '{name}' because the maximum number of configuration aggregators: {MAX_AGGREGATORS} is reached."
                )));
            }
            let id = format!("config-aggregator-{}", random_suffix(8));
            let e = Entity {
                account_id: account.clone(),
                kind: AGGREGATOR.into(),
                name: name.to_string(),
                name_key: k.clone(),
                id: format!("config-aggregator/{account}/{k}"),
                path,
                arn: ctx.partition().arn(
                    "config",
                    &ctx.region,
                    &account,
                    &format!("config-aggregator/{id}"),
                ),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: to_text(&doc)?,
            };
            db.entities().create(&e).await?;
            e
        }
    };
    Ok(json!({ "ConfigurationAggregator": aggregator_json(&entity, &doc) }))
}

/// An aggregator in AWS's shape.
pub fn aggregator_json(e: &Entity, d: &AggregatorDoc) -> Value {
    let mut v = json!({
        "ConfigurationAggregatorName": e.name,
        "ConfigurationAggregatorArn": e.arn,
        "CreationTime": epoch(e.created_at),
        "LastUpdatedTime": epoch(d.updated),
    });
    if !d.account_sources.is_empty() {
        crate::common::set(
            &mut v,
            "AccountAggregationSources",
            json!(d.account_sources),
        );
    }
    if let Some(s) = &d.org_source {
        crate::common::set(&mut v, "OrganizationAggregationSource", s.clone());
    }
    if let Some(f) = &d.filters {
        crate::common::set(&mut v, "AggregatorFilters", f.clone());
    }
    v
}

/// `DescribeConfigurationAggregators`: the named aggregators (each must exist), or all.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let names = strings(input, "ConfigurationAggregatorNames");
    let max = limit(input, "Limit", 100, 100)?;
    let mut found = Vec::new();
    if names.is_empty() {
        let path = format!("/{}/", ctx.region);
        for e in all(&mut db, &ctx.principal.account_id, AGGREGATOR, &path).await? {
            let d: AggregatorDoc = read_doc(&e)?;
            found.push((e, d));
        }
    } else {
        for n in &names {
            found.push(load_named(&mut db, ctx, n).await?);
        }
    }
    paged(
        found,
        input,
        "NextToken",
        max,
        "ConfigurationAggregators",
        |(e, d)| aggregator_json(e, d),
    )
}

/// `DeleteConfigurationAggregator`: the aggregator goes; the sources' data stays theirs.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let (e, _) = from_input(&mut db, ctx, input).await?;
    db.entities()
        .delete(&ctx.principal.account_id, AGGREGATOR, &e.name_key)
        .await?;
    Ok(json!({}))
}

/// The authorization question of an aggregator operation: `config:<Operation>` on the
/// aggregator's ARN once it exists, on the authorization's ARN for aggregation
/// authorizations, else on `*`.
pub async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ConfigError> {
    let action = format!("config:{}", op.name());
    let account = &ctx.principal.account_id;
    if matches!(
        op,
        Op::PutAggregationAuthorization | Op::DeleteAggregationAuthorization
    ) {
        let arn = aggregation_auth::arn_of(ctx, input);
        return Ok(Some(AuthzRequest::on(&action, arn, account)));
    }
    let name = input
        .get("ConfigurationAggregatorName")
        .and_then(Value::as_str);
    if let Some(name) = name {
        let found = Db::Read(store)
            .entities()
            .get(account, AGGREGATOR, &key(ctx, name))
            .await?;
        if let Some(e) = found {
            return Ok(Some(AuthzRequest::on(&action, e.arn, account)));
        }
    }
    Ok(Some(AuthzRequest::on_any(&action, account)))
}
