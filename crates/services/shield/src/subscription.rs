//! The subscription: `CreateSubscription`, `DescribeSubscription`, `GetSubscriptionState`,
//! `UpdateSubscription`, `DeleteSubscription`.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    error::{ShieldError, ShieldResult},
    model::{self, SubscriptionDoc, COMMITMENT_SECS, SUBSCRIPTION},
};

/// `CreateSubscription`: one per account.
pub async fn create(_input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let account = &ctx.principal.account_id;
    if model::load::<SubscriptionDoc>(&mut db, account, SUBSCRIPTION, "subscription")
        .await?
        .is_some()
    {
        return Err(ShieldError::ResourceAlreadyExistsException(
            "The subscription already exists.".into(),
        ));
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let doc = SubscriptionDoc {
        id: id.clone(),
        start: ctx.now.timestamp(),
        auto_renew: "ENABLED".into(),
    };
    let arn = model::arn(ctx.partition(), account, "subscription", &id);
    let e = model::new_entity(account, SUBSCRIPTION, "subscription", "/", arn, ctx.now);
    model::create(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DescribeSubscription`.
pub async fn describe(_input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let account = &ctx.principal.account_id;
    let sub = model::subscription(&mut db, account).await?;
    let d = &sub.doc;
    // The end of the current commitment period (renewed yearly while AutoRenew is on).
    let elapsed = ctx.now.timestamp().saturating_sub(d.start).max(0);
    let periods = if d.auto_renew == "ENABLED" {
        elapsed / COMMITMENT_SECS + 1
    } else {
        1
    };
    let end = d
        .start
        .saturating_add(COMMITMENT_SECS.saturating_mul(periods));
    Ok(json!({
        "Subscription": {
            "StartTime": model::epoch(d.start),
            "EndTime": model::epoch(end),
            "TimeCommitmentInSeconds": COMMITMENT_SECS,
            "AutoRenew": d.auto_renew,
            "Limits": [{"Type": "APPLICATION_LOAD_BALANCER", "Max": model::MAX_PROTECTED_LOAD_BALANCERS}],
            "ProactiveEngagementStatus": "DISABLED",
            "SubscriptionLimits": {
                "ProtectionLimits": {
                    "ProtectedResourceTypeLimits": [
                        {"Type": "APPLICATION_LOAD_BALANCER", "Max": model::MAX_PROTECTED_LOAD_BALANCERS}
                    ]
                },
                "ProtectionGroupLimits": {
                    "MaxProtectionGroups": model::MAX_GROUPS,
                    "PatternTypeLimits": {"ArbitraryPatternLimits": {"MaxMembers": model::MAX_MEMBERS}}
                }
            },
            "SubscriptionArn": sub.entity.arn,
        }
    }))
}

/// `GetSubscriptionState`.
pub async fn state(_input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let active = model::load::<SubscriptionDoc>(
        &mut db,
        &ctx.principal.account_id,
        SUBSCRIPTION,
        "subscription",
    )
    .await?
    .is_some();
    Ok(json!({"SubscriptionState": if active { "ACTIVE" } else { "INACTIVE" }}))
}

/// `UpdateSubscription`: `AutoRenew`.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let mut sub = model::subscription(&mut db, &ctx.principal.account_id).await?;
    if let Some(auto_renew) = opt_str(input, "AutoRenew") {
        sub.doc.auto_renew = auto_renew.to_string();
        entity::save_doc(&mut db, sub.entity, &sub.doc, ctx.now).await?;
    }
    Ok(json!({}))
}

/// `DeleteSubscription`: refused during the commitment, as AWS does.
pub async fn delete(_input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    model::subscription(&mut db, &ctx.principal.account_id).await?;
    Err(ShieldError::LockedSubscriptionException(
        "You cannot delete a subscription during its commitment period.".into(),
    ))
}
