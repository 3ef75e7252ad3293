//! Aggregation authorizations: `PutAggregationAuthorization`,
//! `DescribeAggregationAuthorizations`, `DeleteAggregationAuthorization`. A source account
//! authorizes an aggregator account and region to collect its data of the region the
//! authorization is made in; an account source of an aggregator is collected only then.

use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use rampart_kit::entity::{all, to_text};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::common::{limit, paged};
use crate::error::ConfigResult;
use crate::model::epoch;

/// Kind of aggregation authorizations (in the source account; name key
/// `REGION/AGGREGATOR_ACCOUNT/AGGREGATOR_REGION`, path `/REGION/`).
pub const AUTHORIZATION: &str = "config:aggregation-authorization";

/// A stored authorization (who and where are its key; the document is its tags).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationDoc {
    /// `Tags` given at creation.
    #[serde(default)]
    pub tags: Vec<Value>,
}

fn members(input: &Value) -> (&str, &str) {
    let get = |m: &str| input.get(m).and_then(Value::as_str).unwrap_or_default();
    (get("AuthorizedAccountId"), get("AuthorizedAwsRegion"))
}

fn key(region: &str, account: &str, aggregator_region: &str) -> String {
    format!("{region}/{account}/{aggregator_region}")
}

/// The ARN of the authorization the request names.
pub fn arn_of(ctx: &CallContext, input: &Value) -> String {
    let (account, region) = members(input);
    ctx.partition().arn(
        "config",
        &ctx.region,
        &ctx.principal.account_id,
        &format!("aggregation-authorization/{account}/{region}"),
    )
}

/// True when `source` has authorized the aggregator account and region to collect its data
/// of `source_region`.
pub async fn authorized(
    db: &mut Db<'_>,
    source: &str,
    source_region: &str,
    aggregator_account: &str,
    aggregator_region: &str,
) -> ConfigResult<bool> {
    let k = key(source_region, aggregator_account, aggregator_region);
    Ok(db
        .entities()
        .get(source, AUTHORIZATION, &k)
        .await?
        .is_some())
}

/// The regions in which `source` has authorized the aggregator account and region.
pub async fn authorized_regions(
    db: &mut Db<'_>,
    source: &str,
    aggregator_account: &str,
    aggregator_region: &str,
) -> ConfigResult<Vec<String>> {
    let suffix = format!("/{aggregator_account}/{aggregator_region}");
    Ok(all(db, source, AUTHORIZATION, "")
        .await?
        .into_iter()
        .filter_map(|e| e.name_key.strip_suffix(&suffix).map(str::to_string))
        .filter(|r| !r.contains('/'))
        .collect())
}

fn authorization_json(e: &Entity) -> Value {
    let mut parts = e.name_key.splitn(3, '/').skip(1);
    json!({
        "AggregationAuthorizationArn": e.arn,
        "AuthorizedAccountId": parts.next().unwrap_or_default(),
        "AuthorizedAwsRegion": parts.next().unwrap_or_default(),
        "CreationTime": epoch(e.created_at),
    })
}

/// `PutAggregationAuthorization`: idempotent; a second call keeps the first's tags.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = ctx.principal.account_id.clone();
    let (who, region) = members(input);
    crate::aggregators::check_account_id(who)?;
    let k = key(&ctx.region, who, region);
    let entity = match db.entities().get(&account, AUTHORIZATION, &k).await? {
        Some(e) => e,
        None => {
            let doc = AuthorizationDoc {
                tags: input
                    .get("Tags")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            };
            let e = Entity {
                account_id: account.clone(),
                kind: AUTHORIZATION.into(),
                name: k.clone(),
                name_key: k.clone(),
                id: format!("config-aggregation-authorization/{account}/{k}"),
                path: format!("/{}/", ctx.region),
                arn: arn_of(ctx, input),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: to_text(&doc)?,
            };
            db.entities().create(&e).await?;
            e
        }
    };
    Ok(json!({ "AggregationAuthorization": authorization_json(&entity) }))
}

/// `DescribeAggregationAuthorizations`: the caller's authorizations made in the region.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let max = limit(input, "Limit", 100, 100)?;
    let path = format!("/{}/", ctx.region);
    let found = all(&mut db, &ctx.principal.account_id, AUTHORIZATION, &path).await?;
    paged(
        found,
        input,
        "NextToken",
        max,
        "AggregationAuthorizations",
        authorization_json,
    )
}

/// `DeleteAggregationAuthorization`: nothing to delete is not an error, as in AWS.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let (who, region) = members(input);
    let k = key(&ctx.region, who, region);
    let account = &ctx.principal.account_id;
    if db
        .entities()
        .get(account, AUTHORIZATION, &k)
        .await?
        .is_some()
    {
        db.entities().delete(account, AUTHORIZATION, &k).await?;
    }
    Ok(json!({}))
}
