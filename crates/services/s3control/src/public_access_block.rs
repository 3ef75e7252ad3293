//! The account's Block Public Access settings: `PutPublicAccessBlock`,
//! `GetPublicAccessBlock`, `DeletePublicAccessBlock` (`s3:PutAccountPublicAccessBlock`,
//! `s3:GetAccountPublicAccessBlock`; the delete needs the put action, as in AWS).
//!
//! `x-amz-account-id` names the account acted on, the resource's owner: a caller of another
//! account has no resource policy to grant it and is refused by the one authorizer. The
//! settings are stored and applied by the S3 crate ([`rampart_s3::public_access`]).

use rampart_kit::{
    authz::{AuthzQuestion, AuthzRequest},
    context::CallContext,
    db::Db,
    input::opt_str,
};
use rampart_s3::public_access::{self, PublicAccessBlock};
use rampart_store::Store;
use serde_json::{json, Value};

use crate::{
    error::{S3ControlError, S3ControlResult},
    Op,
};

/// The account a call names (`x-amz-account-id`).
fn account_id(input: &Value) -> S3ControlResult<&str> {
    opt_str(input, "AccountId")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            S3ControlError::InvalidRequest("Missing required header x-amz-account-id".into())
        })
}

/// The authorization question: the account-level action on the named account's `*`.
pub async fn authorize(
    op: Op,
    input: &Value,
    _ctx: &CallContext,
    _store: &Store,
) -> S3ControlResult<Option<AuthzQuestion>> {
    let action = match op {
        Op::PutPublicAccessBlock | Op::DeletePublicAccessBlock => "s3:PutAccountPublicAccessBlock",
        Op::GetPublicAccessBlock => "s3:GetAccountPublicAccessBlock",
        _ => return Ok(None),
    };
    Ok(Some(
        AuthzRequest::on_any(action, account_id(input)?).into(),
    ))
}

/// `PutPublicAccessBlock`: replaces the account's settings.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> S3ControlResult<Value> {
    let account = account_id(input)?;
    let config = input
        .get("PublicAccessBlockConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let block = PublicAccessBlock::from_input(&config)?;
    public_access::put_account_block(&mut db, account, block, ctx.now).await?;
    Ok(json!({}))
}

/// `GetPublicAccessBlock`: `NoSuchPublicAccessBlockConfiguration` when none is set.
pub async fn get(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3ControlResult<Value> {
    let block = public_access::account_block(&mut db, account_id(input)?)
        .await?
        .ok_or_else(|| {
            S3ControlError::NoSuchPublicAccessBlockConfiguration(
                "The public access block configuration was not found".into(),
            )
        })?;
    Ok(json!({ "PublicAccessBlockConfiguration": block.to_output() }))
}

/// `DeletePublicAccessBlock` (succeeds when there is none).
pub async fn delete(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3ControlResult<Value> {
    public_access::delete_account_block(&mut db, account_id(input)?).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::{principal::Principal, test_support};

    #[tokio::test]
    async fn the_account_settings_are_set_read_and_removed() {
        let (store, dir) = test_support::store().await;
        let ctx = test_support::context(Principal::root(
            rampart_kit::Partition::Aws,
            "111122223333",
            "AKIA",
        ));
        let account = json!({ "AccountId": "111122223333" });
        let missing = get(&account, &ctx, Db::Read(&store)).await;
        assert!(matches!(
            missing,
            Err(S3ControlError::NoSuchPublicAccessBlockConfiguration(_))
        ));
        let input = json!({
            "AccountId": "111122223333",
            "PublicAccessBlockConfiguration": { "BlockPublicPolicy": true },
        });
        let mut tx = store.begin().await.unwrap();
        put(&input, &ctx, Db::Write(&mut tx)).await.unwrap();
        tx.commit().await.unwrap();
        let got = get(&account, &ctx, Db::Read(&store)).await.unwrap();
        assert_eq!(
            got["PublicAccessBlockConfiguration"],
            json!({
                "BlockPublicAcls": false,
                "IgnorePublicAcls": false,
                "BlockPublicPolicy": true,
                "RestrictPublicBuckets": false,
            })
        );
        let other = json!({ "AccountId": "444455556666" });
        assert!(get(&other, &ctx, Db::Read(&store)).await.is_err());
        let empty = json!({ "AccountId": "111122223333", "PublicAccessBlockConfiguration": {} });
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            put(&empty, &ctx, Db::Write(&mut tx)).await,
            Err(S3ControlError::InvalidRequest(_))
        ));
        delete(&account, &ctx, Db::Write(&mut tx)).await.unwrap();
        delete(&account, &ctx, Db::Write(&mut tx)).await.unwrap();
        tx.commit().await.unwrap();
        assert!(get(&account, &ctx, Db::Read(&store)).await.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
