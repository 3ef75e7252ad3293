//! AWS managed keys (`alias/aws/<service>`): created on first use, by a service that encrypts
//! for its callers or by `DescribeKey` of the predefined alias (as AWS documents), with AWS's
//! policy: usable only through the service (`kms:ViaService`) by principals of the account,
//! readable by the account, and not manageable by anyone.

use rampart_store::{Entity, Store};
use serde_json::json;

use super::{
    error::KmsResult,
    keys::new_material,
    model::{KeyDoc, KeyState, ALIAS_KIND, KEY_KIND},
    repo::{self, alias_arn, alias_key, key_arn, region_path, Key},
};
use rampart_kit::{context::CallContext, db::Db, Partition};

/// The service name of a predefined alias (`alias/aws/s3` -> `s3`), if it is one.
pub fn service_of(alias: &str) -> Option<&str> {
    alias
        .strip_prefix("alias/aws/")
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// The `kms:ViaService` value of `service`'s calls in `region` (its endpoint's host name).
fn via_service(service: &str, region: &str) -> String {
    Partition::of_region(region).host(service, region)
}

/// AWS's key policy of an AWS managed key.
pub fn policy(account: &str, region: &str, service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": format!("auto-{service}-1"),
        "Statement": [
            {
                "Sid": format!("Allow access through {service} for all principals in the account that are authorized to use {service}"),
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": via_service(service, region),
                }},
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": Partition::of_region(region).root_arn(account)},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    })
    .to_string()
}

/// The account's AWS managed key for `service` in the caller's region, created (with its
/// alias) in the given transaction if it does not exist yet.
pub async fn get_or_create(db: &mut Db<'_>, ctx: &CallContext, service: &str) -> KmsResult<Key> {
    let account = ctx.principal.account_id.clone();
    let alias = format!("alias/aws/{service}");
    if let Some(id) = repo::alias_target(db, &account, &ctx.region, &alias).await? {
        if let Some(key) = repo::load(db, &account, &ctx.region, &id).await? {
            return Ok(key);
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = ctx.now;
    let doc = KeyDoc {
        region: ctx.region.clone(),
        description: format!(
            "Default key that protects my {service} data when no other key is defined"
        ),
        key_usage: "ENCRYPT_DECRYPT".into(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        origin: "AWS_KMS".into(),
        key_manager: "AWS".into(),
        state: KeyState::Enabled,
        deletion_date: None,
        pending_window_days: None,
        policy: policy(&account, &ctx.region, service),
        tags: Vec::new(),
        materials: vec![new_material(
            db,
            &id,
            super::crypto::KeySpec::SymmetricDefault,
            now,
            None,
        )?],
        // AWS rotates AWS managed keys every year.
        rotation_period_days: Some(365),
        next_rotation: Some(now + chrono::Duration::days(365)),
        on_demand_rotation_start: None,
        grants: Vec::new(),
        import: None,
        expiration_model: None,
        multi_region: None,
        external_key: None,
    };
    let arn = key_arn(&ctx.region, &account, &id);
    let mut key = Key {
        entity: Entity {
            account_id: account.clone(),
            kind: KEY_KIND.into(),
            name: id.clone(),
            name_key: id.clone(),
            id: id.clone(),
            path: region_path(&ctx.region),
            arn,
            created_at: now,
            updated_at: now,
            doc: String::new(),
        },
        doc,
    };
    repo::insert(db, &mut key, now).await?;
    let alias_arn = alias_arn(&ctx.region, &account, &alias);
    let entity = Entity {
        account_id: account.clone(),
        kind: ALIAS_KIND.into(),
        name: alias.clone(),
        name_key: alias_key(&ctx.region, &alias),
        id: alias_arn.clone(),
        path: region_path(&ctx.region),
        arn: alias_arn,
        created_at: now,
        updated_at: now,
        doc: json!({ "target": id }).to_string(),
    };
    db.entities().create(&entity).await?;
    Ok(key)
}

/// `DescribeKey` of a predefined alias that does not exist yet creates the key (in its own
/// transaction, since `DescribeKey` is otherwise read-only).
pub async fn create_for_describe(
    store: &Store,
    ctx: &CallContext,
    service: &str,
) -> KmsResult<Key> {
    let mut tx = store.begin().await?;
    let key = get_or_create(&mut Db::Write(&mut tx), ctx, service).await?;
    tx.commit().await?;
    Ok(key)
}

/// True when `input` is a predefined alias of the caller's account that has no key yet.
pub async fn is_missing_predefined(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &str,
) -> KmsResult<Option<String>> {
    let Ok(repo::KeyName::Alias { account, alias }) = repo::parse_key_name(input, ctx) else {
        return Ok(None);
    };
    let Some(service) = service_of(&alias) else {
        return Ok(None);
    };
    if account != ctx.principal.account_id {
        return Ok(None);
    }
    if repo::alias_target(db, &account, &ctx.region, &alias)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    Ok(Some(service.to_string()))
}
