//! Versions and staging labels: `PutSecretValue`, `GetSecretValue`, `BatchGetSecretValue`,
//! `ListSecretVersionIds`, `UpdateSecretVersionStage`, and the label rules every new version
//! follows (a label on at most one version; `AWSCURRENT` moving makes its former version
//! `AWSPREVIOUS`; at most 100 versions, the oldest unlabelled ones removed first).

use rampart_store::Store;
use serde_json::{json, Value};

use super::{
    common::{epoch, opt_str, page, paging, req_str, str_list},
    crypto::{self, Plain},
    error::{SmError, SmResult},
    model::{SecretDoc, Version, AWSCURRENT, AWSPREVIOUS},
    repo::{self, Secret},
    Op,
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

/// Most versions a secret keeps.
pub const MAX_VERSIONS: usize = 100;
/// Most labels on one version.
const MAX_LABELS: usize = 20;

/// Moves `label` to version `to` (or just removes it with `None`). `AWSCURRENT` leaving a
/// version makes that version `AWSPREVIOUS`, as AWS does.
pub fn move_label(doc: &mut SecretDoc, label: &str, to: Option<&str>) {
    let from = doc.labelled(label).map(|v| v.id.clone());
    for v in &mut doc.versions {
        v.stages.retain(|s| s != label);
    }
    if let Some(to) = to {
        if let Some(v) = doc.versions.iter_mut().find(|v| v.id == to) {
            v.stages.push(label.to_string());
        }
    }
    if label == AWSCURRENT {
        if let (Some(from), Some(to)) = (from, to) {
            if from != to {
                move_label(doc, AWSPREVIOUS, Some(&from));
            }
        }
    }
}

/// Adds a new version with its labels, then drops the oldest unlabelled versions beyond
/// [`MAX_VERSIONS`].
pub fn add_version(doc: &mut SecretDoc, version: Version, stages: &[String]) -> SmResult<()> {
    if stages.len() > MAX_LABELS {
        return Err(SmError::LimitExceededException(format!(
            "A version can have at most {MAX_LABELS} staging labels."
        )));
    }
    let id = version.id.clone();
    doc.versions.push(Version {
        stages: Vec::new(),
        ..version
    });
    for s in stages {
        move_label(doc, s, Some(&id));
    }
    while doc.versions.len() > MAX_VERSIONS {
        let Some(oldest) = doc.versions.iter().position(|v| v.stages.is_empty()) else {
            break;
        };
        doc.versions.remove(oldest);
    }
    Ok(())
}

/// The version a new value gets: the `ClientRequestToken`, or a fresh UUID.
pub fn version_id_of(input: &Value) -> String {
    opt_str(input, "ClientRequestToken")
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// What a request with a value does: add a version, or recognise a retried token.
pub enum NewValue {
    /// A version was added with this id.
    Added(String),
    /// The token names a version with the same value: nothing changes.
    Same(String),
}

/// Adds the request's value to `secret` as a new version with `stages`, honouring
/// `ClientRequestToken` idempotency: the same token with the same value changes nothing, with
/// another value it is AWS's `ResourceExistsException`.
pub fn store_value(
    db: &Db<'_>,
    ctx: &CallContext,
    secret: &mut Secret,
    input: &Value,
    value: &Plain,
    stages: &[String],
) -> SmResult<NewValue> {
    let digest = crypto::digest(db, secret.arn(), &secret.doc.digest_key, value)?;
    if let Some(token) = opt_str(input, "ClientRequestToken") {
        if let Some(existing) = secret.doc.version(token) {
            return if existing.digest == digest {
                Ok(NewValue::Same(token.to_string()))
            } else {
                Err(SmError::ResourceExistsException(
                    "You can't modify an existing version, you can only create a new version."
                        .into(),
                ))
            };
        }
    }
    let sealed = super::sealing::new_value(ctx)?;
    if sealed.arn != secret.arn() {
        tracing::error!("secretsmanager: a value was sealed for another secret");
        return Err(SmError::internal());
    }
    let version = Version {
        id: sealed.version_id.clone(),
        stages: Vec::new(),
        created: ctx.now,
        kms_key_arn: sealed.kms_key_arn.clone(),
        data_key: sealed.data_key.clone(),
        ciphertext: sealed.ciphertext.clone(),
        binary: value.is_binary(),
        digest,
        last_accessed: None,
    };
    add_version(&mut secret.doc, version, stages)?;
    secret.doc.last_changed = ctx.now;
    Ok(NewValue::Added(sealed.version_id.clone()))
}

/// `PutSecretValue`.
pub async fn put_value(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let value = crypto::value_of(input)?.ok_or_else(|| {
        SmError::InvalidParameterException(
            "You must provide either SecretString or SecretBinary.".into(),
        )
    })?;
    let mut secret = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let mut stages = str_list(input, "VersionStages");
    if input.get("VersionStages").is_none() {
        stages = vec![AWSCURRENT.to_string()];
    }
    let id = match store_value(&db, ctx, &mut secret, input, &value, &stages)? {
        NewValue::Added(id) => {
            repo::save(&mut db, &mut secret, ctx.now).await?;
            id
        }
        NewValue::Same(id) => id,
    };
    let stages = secret
        .doc
        .version(&id)
        .map(|v| v.stages.clone())
        .unwrap_or_default();
    Ok(json!({
        "ARN": secret.arn(),
        "Name": secret.name(),
        "VersionId": id,
        "VersionStages": stages,
    }))
}

/// The version `VersionId`/`VersionStage` name (default `AWSCURRENT`).
fn pick<'a>(secret: &'a Secret, input: &Value) -> SmResult<&'a Version> {
    let id = opt_str(input, "VersionId");
    let stage = opt_str(input, "VersionStage");
    let found = match (id, stage) {
        (Some(id), stage) => secret
            .doc
            .version(id)
            .filter(|v| stage.is_none_or(|s| v.stages.iter().any(|x| x == s))),
        (None, stage) => secret.doc.labelled(stage.unwrap_or(AWSCURRENT)),
    };
    found.ok_or_else(|| {
        SmError::ResourceNotFoundException(match (id, stage) {
            (Some(id), _) => {
                format!("Secrets Manager can't find the specified secret value for VersionId: {id}")
            }
            (None, s) => format!(
                "Secrets Manager can't find the specified secret value for staging label: {}",
                s.unwrap_or(AWSCURRENT)
            ),
        })
    })
}

/// The store behind a read-only call (the KMS calls read it).
pub fn read_store<'a>(db: &Db<'a>) -> SmResult<&'a Store> {
    match db {
        Db::Read(store) => Ok(store),
        Db::Write(_) => {
            tracing::error!("secretsmanager: a value was read inside a write transaction");
            Err(SmError::internal())
        }
    }
}

/// The `GetSecretValue` output of a version.
async fn value_out(
    store: &Store,
    ctx: &CallContext,
    secret: &Secret,
    v: &Version,
) -> SmResult<Value> {
    let mut out = json!({
        "ARN": secret.arn(),
        "Name": secret.name(),
        "VersionId": v.id,
        "VersionStages": v.stages,
        "CreatedDate": epoch(v.created),
    });
    match crypto::unseal(store, ctx, secret.arn(), v).await? {
        Plain::Text(s) => out.set_field("SecretString", json!(s.as_str())),
        Plain::Binary(b) => out.set_field("SecretBinary", json!(crypto_b64(&b))),
    }
    note_access(store, ctx, secret, v).await;
    Ok(out)
}

/// The day of `now`, as AWS keeps access dates.
fn day_of(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Records the day a version was read (`LastAccessedDate`): one small write per secret and
/// version per day, in its own transaction. It is bookkeeping: a failure is logged, and the
/// read it follows still succeeds.
async fn note_access(store: &Store, ctx: &CallContext, secret: &Secret, v: &Version) {
    let day = day_of(ctx.now);
    if secret.doc.last_accessed == Some(day) && v.last_accessed == Some(day) {
        return;
    }
    let noted = async {
        let mut tx = store.begin().await?;
        let mut db = Db::Write(&mut tx);
        let Some(e) = db.entities().get_by_id(secret.arn()).await? else {
            return Ok(());
        };
        let mut fresh = repo::parse(e)?;
        fresh.doc.last_accessed = Some(day);
        if let Some(version) = fresh.doc.versions.iter_mut().find(|x| x.id == v.id) {
            version.last_accessed = Some(day);
        }
        let updated = fresh.entity.updated_at;
        repo::save(&mut db, &mut fresh, updated).await?;
        tx.commit().await?;
        Ok::<(), SmError>(())
    };
    if let Err(err) = noted.await {
        tracing::warn!(error = %err, secret = %secret.arn(), "secret access date not recorded");
    }
}

fn crypto_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `GetSecretValue`.
pub async fn get_value(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let store = read_store(&db)?;
    let secret = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let version = pick(&secret, input)?;
    value_out(store, ctx, &secret, version).await
}

/// `BatchGetSecretValue`: each secret is also authorized for `GetSecretValue`; a secret the
/// caller may not read, or that fails, is reported in `Errors` rather than failing the call.
pub async fn batch_get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let store = read_store(&db)?;
    let ids = input.get("SecretIdList").and_then(Value::as_array);
    let filters = input.get("Filters").and_then(Value::as_array);
    let (targets, next): (Vec<String>, Option<String>) = match (ids, filters) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(SmError::InvalidParameterException(
                "Either 'SecretIdList' or 'Filters' must be provided, but not both.".into(),
            ))
        }
        (Some(ids), None) => {
            if input.get("MaxResults").is_some() {
                return Err(SmError::InvalidParameterException(
                    "'MaxResults' is only valid with 'Filters'.".into(),
                ));
            }
            (
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                None,
            )
        }
        (None, Some(_)) => {
            // Filtering lists secrets, which the caller must be allowed to do too.
            let list = super::authz::question(Op::ListSecrets, input, ctx, store).await?;
            authorize(ctx, list).await?;
            let (limit, start) = paging(input, 20, 20)?;
            let matching = super::secrets::matching(&mut db, ctx, input, false).await?;
            let arns: Vec<String> = matching.iter().map(|s| s.arn().to_string()).collect();
            page(&arns, limit, start)?
        }
    };
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for id in targets {
        match batch_one(store, ctx, &mut db, &id).await {
            Ok(v) => values.push(v),
            Err(err) => {
                let err = rampart_kit::error::ServiceError::from(err);
                errors
                    .push(json!({ "SecretId": id, "ErrorCode": err.code, "Message": err.message }));
            }
        }
    }
    let mut out = json!({ "SecretValues": values, "Errors": errors });
    if let Some(n) = next {
        out.set_field("NextToken", json!(n));
    }
    Ok(out)
}

/// Decides a further request of the caller's inside a call (a batch's own checks).
async fn authorize(ctx: &CallContext, request: rampart_kit::authz::AuthzRequest) -> SmResult<()> {
    ctx.authorizer
        .authorize(ctx, &request.into())
        .await
        .map_err(|err| match err {
            rampart_kit::AuthzError::AccessDenied(m) => SmError::AccessDeniedException(m),
            rampart_kit::AuthzError::InternalFailure(_) => SmError::internal(),
        })
}

async fn batch_one(store: &Store, ctx: &CallContext, db: &mut Db<'_>, id: &str) -> SmResult<Value> {
    let question =
        super::authz::question(Op::GetSecretValue, &json!({ "SecretId": id }), ctx, store).await?;
    authorize(ctx, question).await?;
    let secret = repo::resolve_active(db, ctx, id).await?;
    let version = pick(&secret, &json!({}))?;
    value_out(store, ctx, &secret, version).await
}

/// `ListSecretVersionIds` (newest first; unlabelled versions with `IncludeDeprecated`).
pub async fn list_version_ids(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let secret = repo::resolve(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let (limit, start) = paging(input, 100, 100)?;
    let deprecated = input["IncludeDeprecated"].as_bool().unwrap_or(false);
    let entries: Vec<Value> = secret
        .doc
        .versions
        .iter()
        .rev()
        .filter(|v| deprecated || !v.stages.is_empty())
        .map(|v| {
            let mut out = json!({
                "VersionId": v.id,
                "VersionStages": v.stages,
                "CreatedDate": epoch(v.created),
                "KmsKeyIds": [v.kms_key_arn],
            });
            if let Some(at) = v.last_accessed {
                out.set_field("LastAccessedDate", epoch(at));
            }
            out
        })
        .collect();
    let (items, next) = page(&entries, limit, start)?;
    let mut out = json!({ "ARN": secret.arn(), "Name": secret.name(), "Versions": items });
    if let Some(n) = next {
        out.set_field("NextToken", json!(n));
    }
    Ok(out)
}

/// `UpdateSecretVersionStage`: moves or removes one label.
pub async fn update_stage(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let label = req_str(input, "VersionStage")?;
    let remove_from = opt_str(input, "RemoveFromVersionId");
    let move_to = opt_str(input, "MoveToVersionId");
    let holder = secret.doc.labelled(label).map(|v| v.id.clone());
    for id in [remove_from, move_to].into_iter().flatten() {
        if secret.doc.version(id).is_none() {
            return Err(SmError::InvalidParameterException(format!(
                "The version {id} doesn't exist in this secret."
            )));
        }
    }
    if let Some(from) = remove_from {
        if holder.as_deref() != Some(from) {
            return Err(SmError::InvalidParameterException(format!(
                "The staging label {label} is not attached to version {from}."
            )));
        }
    }
    match (move_to, &holder) {
        (Some(to), Some(h)) if remove_from.is_none() && h != to => {
            return Err(SmError::InvalidParameterException(format!(
                "The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
            )));
        }
        (None, _) if label == AWSCURRENT => {
            return Err(SmError::InvalidParameterException(
                "You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed."
                    .into(),
            ));
        }
        _ => {}
    }
    if let Some(to) = move_to {
        let count = secret.doc.version(to).map_or(0, |v| v.stages.len());
        if holder.as_deref() != Some(to) && count >= MAX_LABELS {
            return Err(SmError::LimitExceededException(format!(
                "A version can have at most {MAX_LABELS} staging labels."
            )));
        }
    }
    move_label(&mut secret.doc, label, move_to);
    secret.doc.last_changed = ctx.now;
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({ "ARN": secret.arn(), "Name": secret.name() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn doc() -> SecretDoc {
        SecretDoc {
            region: "eu-west-1".into(),
            description: None,
            kms_key_id: None,
            tags: Vec::new(),
            versions: Vec::new(),
            policy: None,
            deleted_date: None,
            deletion_date: None,
            last_changed: DateTime::from_timestamp(0, 0).unwrap(),
            last_accessed: None,
            digest_key: String::new(),
            secret_type: None,
        }
    }

    fn version(id: &str) -> Version {
        Version {
            id: id.into(),
            stages: Vec::new(),
            created: DateTime::from_timestamp(0, 0).unwrap(),
            kms_key_arn: "k".into(),
            data_key: String::new(),
            ciphertext: String::new(),
            binary: false,
            digest: String::new(),
            last_accessed: None,
        }
    }

    fn stages(d: &SecretDoc, id: &str) -> Vec<String> {
        d.version(id).unwrap().stages.clone()
    }

    #[test]
    fn a_new_current_version_makes_the_old_one_previous() {
        let mut d = doc();
        let current = vec![AWSCURRENT.to_string()];
        add_version(&mut d, version("v1"), &current).unwrap();
        add_version(&mut d, version("v2"), &current).unwrap();
        add_version(&mut d, version("v3"), &current).unwrap();
        assert_eq!(stages(&d, "v3"), vec![AWSCURRENT]);
        assert_eq!(stages(&d, "v2"), vec![AWSPREVIOUS]);
        assert!(stages(&d, "v1").is_empty());
        // A pending version leaves the current one alone; a custom label moves.
        add_version(&mut d, version("v4"), &["AWSPENDING".into(), "blue".into()]).unwrap();
        add_version(&mut d, version("v5"), &["blue".into()]).unwrap();
        assert_eq!(stages(&d, "v3"), vec![AWSCURRENT]);
        assert_eq!(stages(&d, "v4"), vec!["AWSPENDING"]);
        assert_eq!(stages(&d, "v5"), vec!["blue"]);
        // Moving AWSCURRENT back makes the version it left AWSPREVIOUS.
        move_label(&mut d, AWSCURRENT, Some("v1"));
        assert_eq!(stages(&d, "v1"), vec![AWSCURRENT]);
        assert_eq!(stages(&d, "v3"), vec![AWSPREVIOUS]);
        assert!(stages(&d, "v2").is_empty());
    }

    #[test]
    fn at_most_one_hundred_versions_oldest_unlabelled_first() {
        let mut d = doc();
        add_version(&mut d, version("keep"), &["pinned".into()]).unwrap();
        for i in 0..120 {
            add_version(&mut d, version(&format!("v{i}")), &[AWSCURRENT.into()]).unwrap();
        }
        assert_eq!(d.versions.len(), MAX_VERSIONS);
        assert!(d.version("keep").is_some());
        assert!(d.version("v0").is_none());
        assert!(d.version("v119").is_some());
    }
}
