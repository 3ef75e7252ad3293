//! Secrets themselves: `CreateSecret`, `DescribeSecret`, `UpdateSecret`, `DeleteSecret`
//! (a recovery window of 7-30 days, or `ForceDeleteWithoutRecovery`), `RestoreSecret` and tags
//! (`ListSecrets` is in [`super::list`]).

use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{epoch, opt_str, req_str, str_list},
    crypto,
    error::{SmError, SmResult},
    model::{SecretDoc, Tag, AWSCURRENT, SECRET_KIND},
    repo::{self, Secret},
    versions::{self, NewValue},
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

/// Most tags on a secret.
const MAX_TAGS: usize = 50;

/// The `Tags` of a request, validated.
pub fn tags_of(input: &Value) -> SmResult<Vec<Tag>> {
    let mut out = Vec::new();
    for t in input
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = opt_str(t, "Key").unwrap_or_default();
        if key.is_empty() || key.len() > 128 {
            return Err(SmError::InvalidParameterException(
                "The tag key must be between 1 and 128 characters.".into(),
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(SmError::InvalidParameterException(
                "Tag keys prefixed with aws: are reserved for AWS use.".into(),
            ));
        }
        let value = opt_str(t, "Value").unwrap_or_default();
        if value.len() > 256 {
            return Err(SmError::InvalidParameterException(
                "The tag value must be at most 256 characters.".into(),
            ));
        }
        out.retain(|x: &Tag| x.key != key);
        out.push(Tag {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(out)
}

fn tags_json(tags: &[Tag]) -> Value {
    json!(tags
        .iter()
        .map(|t| json!({ "Key": t.key, "Value": t.value }))
        .collect::<Vec<_>>())
}

/// `CreateSecret`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let name = req_str(input, "Name")?;
    repo::check_name(name)?;
    let value = crypto::value_of(input)?;
    let tags = tags_of(input)?;
    if tags.len() > MAX_TAGS {
        return Err(SmError::InvalidParameterException(format!(
            "A secret can have at most {MAX_TAGS} tags."
        )));
    }
    let account = ctx.principal.account_id.clone();
    let key = repo::name_key(&ctx.region, name);
    if let Some(existing) = db.entities().get(&account, SECRET_KIND, &key).await? {
        let existing = repo::parse(existing)?;
        if !repo::is_destroyed(&existing.doc, ctx.now) {
            return create_again(&db, ctx, existing, input, value.as_ref());
        }
        // Its recovery window has ended: the scheduler has not come by yet, but it is gone.
        repo::destroy(&mut db, &existing).await?;
    }
    let arn = match &value {
        Some(_) => super::sealing::new_value(ctx)?.arn.clone(),
        None => repo::secret_arn(&ctx.region, &account, name, &repo::random_suffix()?),
    };
    let doc = SecretDoc {
        region: ctx.region.clone(),
        description: opt_str(input, "Description").map(str::to_string),
        kms_key_id: opt_str(input, "KmsKeyId").map(str::to_string),
        tags,
        versions: Vec::new(),
        policy: None,
        deleted_date: None,
        deletion_date: None,
        last_changed: ctx.now,
        last_accessed: None,
        digest_key: crypto::new_digest_key(&db, &arn)?,
        secret_type: opt_str(input, "Type").map(str::to_string),
        rotation: Default::default(),
        primary_region: None,
        replicas: Vec::new(),
        generation: 0,
    };
    let mut secret = Secret {
        entity: Entity {
            account_id: account,
            kind: SECRET_KIND.into(),
            name: name.to_string(),
            name_key: key,
            id: arn.clone(),
            path: repo::region_path(&ctx.region),
            arn: arn.clone(),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: String::new(),
        },
        doc,
    };
    let replicas = super::replication::add_regions(&mut secret.doc, input)?;
    let mut out = json!({ "ARN": arn, "Name": name });
    if let Some(value) = &value {
        let current = [AWSCURRENT.to_string()];
        let (NewValue::Added(id) | NewValue::Same(id)) =
            versions::store_value(&db, ctx, &mut secret, input, value, &current)?;
        out.set_field("VersionId", json!(id));
    }
    repo::insert(&mut db, &mut secret).await?;
    if !replicas.is_empty() {
        // The replication job's index entry.
        repo::save_quiet(&mut db, &mut secret, ctx.now).await?;
        out.set_field(
            "ReplicationStatus",
            super::replication::status_json(&secret.doc, None),
        );
    }
    Ok(out)
}

/// `CreateSecret` of a name that exists: a retried request (same token, same value) answers
/// as the first did; anything else is refused.
fn create_again(
    db: &Db<'_>,
    ctx: &CallContext,
    mut secret: Secret,
    input: &Value,
    value: Option<&crypto::Plain>,
) -> SmResult<Value> {
    if secret.is_deleted() {
        return Err(SmError::InvalidRequestException(
            "You can't create this secret because a secret with this name is already scheduled for deletion."
                .into(),
        ));
    }
    let token = opt_str(input, "ClientRequestToken");
    if let (Some(token), Some(value)) = (token, value) {
        if secret.doc.version(token).is_some() {
            let current = [AWSCURRENT.to_string()];
            if let NewValue::Same(id) =
                versions::store_value(db, ctx, &mut secret, input, value, &current)?
            {
                return Ok(json!({ "ARN": secret.arn(), "Name": secret.name(), "VersionId": id }));
            }
        }
    }
    Err(SmError::ResourceExistsException(format!(
        "The operation failed because the secret {} already exists.",
        secret.name()
    )))
}

/// The `DescribeSecret`/`ListSecrets` shape of a secret (`versions_member` names the map of
/// version ids to labels, which the two call differently).
pub fn describe_json(secret: &Secret, versions_member: &str) -> Value {
    let d = &secret.doc;
    let mut out = json!({
        "ARN": secret.arn(),
        "Name": secret.name(),
        "LastChangedDate": epoch(d.last_changed),
        "CreatedDate": epoch(secret.entity.created_at),
    });
    if let Some(desc) = &d.description {
        out.set_field("Description", json!(desc));
    }
    if let Some(k) = &d.kms_key_id {
        out.set_field("KmsKeyId", json!(k));
    }
    if let Some(t) = &d.secret_type {
        out.set_field("Type", json!(t));
    }
    if let Some(at) = d.last_accessed {
        out.set_field("LastAccessedDate", epoch(at));
    }
    if let Some(at) = d.deleted_date {
        out.set_field("DeletedDate", epoch(at));
    }
    if !d.tags.is_empty() {
        out.set_field("Tags", tags_json(&d.tags));
    }
    let stages = d.versions_to_stages();
    if stages.as_object().is_some_and(|m| !m.is_empty()) {
        out.set_field(versions_member, stages);
    }
    super::rotation::describe_into(secret, &mut out);
    super::replication::describe_into(d, &mut out);
    out
}

/// `DescribeSecret` (also of a secret scheduled for deletion).
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let secret = repo::resolve(&mut db, ctx, req_str(input, "SecretId")?).await?;
    Ok(describe_json(&secret, "VersionIdsToStages"))
}

/// `UpdateSecret`: description, KMS key for new versions, and a new `AWSCURRENT` value.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let value = crypto::value_of(input)?;
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    if let Some(d) = opt_str(input, "Description") {
        secret.doc.description = Some(d.to_string());
    }
    if let Some(k) = opt_str(input, "KmsKeyId") {
        super::sealing::apply_reencrypted(ctx, &mut secret);
        secret.doc.kms_key_id = Some(k.to_string()).filter(|k| !k.is_empty());
    }
    let mut out = json!({ "ARN": secret.arn(), "Name": secret.name() });
    if let Some(value) = &value {
        let current = [AWSCURRENT.to_string()];
        let (NewValue::Added(id) | NewValue::Same(id)) =
            versions::store_value(&db, ctx, &mut secret, input, value, &current)?;
        out.set_field("VersionId", json!(id));
    }
    secret.doc.last_changed = ctx.now;
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(out)
}

/// `DeleteSecret`.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let force = input["ForceDeleteWithoutRecovery"]
        .as_bool()
        .unwrap_or(false);
    let window = input.get("RecoveryWindowInDays").and_then(Value::as_i64);
    if force && window.is_some() {
        return Err(SmError::InvalidParameterException(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
                .into(),
        ));
    }
    let days = window.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(SmError::InvalidParameterException(
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).".into(),
        ));
    }
    let mut secret = repo::resolve_primary(&mut db, ctx, req_str(input, "SecretId")?).await?;
    if !secret.doc.replicas.is_empty() {
        return Err(SmError::InvalidRequestException(format!(
            "You can't delete secret {} because it is replicated to other regions. Remove the replicas first with RemoveRegionsFromReplication.",
            secret.name()
        )));
    }
    if force {
        repo::destroy(&mut db, &secret).await?;
        return Ok(json!({
            "ARN": secret.arn(),
            "Name": secret.name(),
            "DeletionDate": epoch(ctx.now),
        }));
    }
    secret.require_active()?;
    let date = rampart_kit::checked_time::plus_days(ctx.now, days).ok_or_else(SmError::internal)?;
    secret.doc.deleted_date = Some(ctx.now);
    secret.doc.deletion_date = Some(date);
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({ "ARN": secret.arn(), "Name": secret.name(), "DeletionDate": epoch(date) }))
}

/// `RestoreSecret`: cancels a scheduled deletion.
pub async fn restore(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_primary(&mut db, ctx, req_str(input, "SecretId")?).await?;
    if secret.is_deleted() {
        secret.doc.deleted_date = None;
        secret.doc.deletion_date = None;
        repo::save(&mut db, &mut secret, ctx.now).await?;
        // AWS records the cancelled deletion as a service event besides the call itself.
        let event = rampart_cloudtrail::service_event::ServiceEvent {
            source: "secretsmanager.amazonaws.com",
            name: "CancelSecretVersionDelete",
            account_id: secret.account(),
            region: &secret.doc.region,
            time: ctx.now,
            resources: vec![("AWS::SecretsManager::Secret", secret.arn())],
            details: None,
        };
        if let Db::Write(tx) = &mut db {
            tx.append_audit_batch(&[event.to_record()]).await?;
        }
    }
    Ok(json!({ "ARN": secret.arn(), "Name": secret.name() }))
}

/// `TagResource`: adds or replaces tags.
pub async fn tag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    for t in tags_of(input)? {
        secret.doc.tags.retain(|x| x.key != t.key);
        secret.doc.tags.push(t);
    }
    if secret.doc.tags.len() > MAX_TAGS {
        return Err(SmError::InvalidParameterException(format!(
            "A secret can have at most {MAX_TAGS} tags."
        )));
    }
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({}))
}

/// `UntagResource`.
pub async fn untag(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let keys = str_list(input, "TagKeys");
    secret.doc.tags.retain(|t| !keys.contains(&t.key));
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(days: i64) -> CallContext {
        CallContext {
            request_id: "r".into(),
            principal: std::sync::Arc::new(rampart_kit::principal::Principal::root(
                rampart_kit::Partition::Aws,
                "111122223333",
                "AKIA",
            )),
            region: "eu-west-1".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "t".into(),
            now: chrono::DateTime::from_timestamp(1_700_000_000 + days * 86_400, 0).unwrap(),
            secure_transport: false,
            prepared: None,
            authorizer: rampart_kit::Authorizer::refusing(),
            via_service: None,
            side_calls: Default::default(),
            payload: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_secret_past_its_window_is_gone_before_the_scheduler_comes() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let mut tx = store.begin().await.unwrap();
        let first = create(&json!({"Name": "app"}), &ctx(0), Db::Write(&mut tx))
            .await
            .unwrap();
        delete(
            &json!({"SecretId": "app", "RecoveryWindowInDays": 7}),
            &ctx(0),
            Db::Write(&mut tx),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let seen = describe(&json!({"SecretId": "app"}), &ctx(6), Db::Read(&store)).await;
        assert!(seen.unwrap().get("DeletedDate").is_some());
        match create(&json!({"Name": "app"}), &ctx(6), Db::Read(&store)).await {
            Err(SmError::InvalidRequestException(_)) => {}
            other => panic!("a name waiting for deletion was reused: {other:?}"),
        }
        let gone = describe(&json!({"SecretId": "app"}), &ctx(8), Db::Read(&store)).await;
        assert_eq!(gone.unwrap_err(), SmError::no_secret());
        let mut tx = store.begin().await.unwrap();
        let second = create(&json!({"Name": "app"}), &ctx(8), Db::Write(&mut tx))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_ne!(first["ARN"], second["ARN"]);
        assert_eq!(
            crate::deletion::run_due(&store, ctx(9).now, None)
                .await
                .unwrap(),
            0
        );
        let found = describe(&json!({"SecretId": "app"}), &ctx(9), Db::Read(&store)).await;
        assert_eq!(found.unwrap()["ARN"], second["ARN"]);
        std::fs::remove_dir_all(dir).ok();
    }
}
