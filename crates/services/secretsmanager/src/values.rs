//! Reading values: `GetSecretValue` and `BatchGetSecretValue`, each value opened with KMS on
//! the caller's behalf (see [`super::crypto`]), and the day of the last read
//! (`LastAccessedDate`).

use rampart_store::Store;
use serde_json::{json, Value};

use super::{
    common::{epoch, opt_str, page, paging, req_str},
    crypto::{self, Plain},
    error::{SmError, SmResult},
    model::{Version, AWSCURRENT},
    repo::{self, Secret},
    Op,
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

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
    // A rotation's version before its createSecret step has no value yet.
    found.filter(|v| !v.empty).ok_or_else(|| {
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
        // A read is no change to replicate.
        repo::save_quiet(&mut db, &mut fresh, updated).await?;
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
            let limit = paging(input, 20, 20)?;
            let matching = super::list::matching(&mut db, ctx, input, false).await?;
            let arns: Vec<String> = matching.iter().map(|s| s.arn().to_string()).collect();
            page(&arns, limit, input)?
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
            rampart_kit::AuthzError::Refused(e) => SmError::AccessDeniedException(e.message),
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
