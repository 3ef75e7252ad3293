//! Rotation's API: `RotateSecret` (configure, and start a rotation at once unless
//! `RotateImmediately` is false), `CancelRotateSecret`, and the rotation members of
//! `DescribeSecret`/`ListSecrets`. The rotation itself runs in the background
//! ([`super::rotation_run`]); a call only records what is to run, so a rotation function that
//! calls back into Secrets Manager never waits on the call that started it.

use rampart_kit::Partition;
use serde_json::{json, Value};

use super::{
    common::{epoch, opt_str, req_str},
    error::{SmError, SmResult},
    model::{RotationRules, RotationRun, SecretDoc, Version, AWSCURRENT, AWSPENDING},
    repo::{self, Secret},
    schedule,
    versions::add_version,
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

/// The `RotationRules` of a request.
fn rules_of(input: &Value) -> Option<RotationRules> {
    let r = input.get("RotationRules")?;
    Some(RotationRules {
        after_days: r.get("AutomaticallyAfterDays").and_then(Value::as_i64),
        schedule: opt_str(r, "ScheduleExpression").map(str::to_string),
        duration: opt_str(r, "Duration").map(str::to_string),
    })
}

/// Refuses a `RotationLambdaARN` that names no Lambda function.
fn check_lambda_arn(partition: Partition, arn: &str) -> SmResult<()> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", p, "lambda", _, _, "function", name] if *p == partition.name() && !name.is_empty() => {
            Ok(())
        }
        _ => Err(SmError::InvalidParameterException(
            "The RotationLambdaARN must be a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME).".into(),
        )),
    }
}

/// The version carrying `AWSPENDING` apart from `AWSCURRENT`: a rotation not finished.
pub fn unfinished(doc: &SecretDoc) -> Option<&Version> {
    doc.labelled(AWSPENDING)
        .filter(|v| !v.stages.iter().any(|s| s == AWSCURRENT))
}

/// Adds the empty `AWSPENDING` version a rotation fills, as AWS does before `createSecret`.
pub fn open_pending(
    doc: &mut SecretDoc,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> SmResult<()> {
    if doc.version(token).is_some() {
        return Ok(());
    }
    let version = Version {
        id: token.to_string(),
        stages: Vec::new(),
        created: now,
        kms_key_arn: String::new(),
        data_key: String::new(),
        ciphertext: String::new(),
        binary: false,
        digest: String::new(),
        last_accessed: None,
        empty: true,
    };
    add_version(doc, version, &[AWSPENDING.to_string()])
}

/// `RotateSecret`.
pub async fn rotate(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let lambda = opt_str(input, "RotationLambdaARN").filter(|a| !a.is_empty());
    if let Some(arn) = lambda {
        check_lambda_arn(ctx.partition(), arn)?;
    }
    let rules = rules_of(input);
    if let Some(r) = &rules {
        schedule::check(r)?;
    }
    let immediately = input["RotateImmediately"].as_bool().unwrap_or(true);
    let token = opt_str(input, "ClientRequestToken")
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let out = json!({ "ARN": secret.arn(), "Name": secret.name() });
    // A retried request: the rotation it started is recorded already.
    if secret.doc.version(&token).is_some() {
        let mut out = out;
        out.set_field("VersionId", json!(token));
        return Ok(out);
    }
    if secret.doc.labelled(AWSCURRENT).is_none() {
        return Err(SmError::InvalidRequestException(
            "You can't rotate a secret that has no current value (AWSCURRENT).".into(),
        ));
    }
    if unfinished(&secret.doc).is_some() && immediately {
        return Err(SmError::InvalidRequestException(
            "A previous rotation isn't complete. That rotation will be reattempted.".into(),
        ));
    }
    let rot = &mut secret.doc.rotation;
    if let Some(arn) = lambda {
        rot.lambda_arn = Some(arn.to_string());
    }
    if rot.lambda_arn.is_none() {
        return Err(SmError::InvalidRequestException(
            "No Lambda rotation function ARN is associated with this secret.".into(),
        ));
    }
    if let Some(r) = rules {
        rot.rules = Some(r);
    }
    rot.enabled = true;
    rot.last_failure = None;
    rot.next = match &rot.rules {
        Some(r) => schedule::next_after(r, ctx.now)?,
        None => None,
    };
    let mut out = out;
    if immediately {
        rot.run = Some(RotationRun {
            token: token.clone(),
            requested: ctx.now,
        });
        open_pending(&mut secret.doc, &token, ctx.now)?;
        out.set_field("VersionId", json!(token));
    }
    secret.doc.last_changed = ctx.now;
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(out)
}

/// `CancelRotateSecret`: turns automatic rotation off and drops a rotation not yet run. The
/// labels stay as they are (a partly made `AWSPENDING` version too), as in AWS. A secret
/// without rotation is left as it is.
pub async fn cancel(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let rot = &mut secret.doc.rotation;
    rot.enabled = false;
    rot.next = None;
    let pending = rot
        .run
        .take()
        .map(|r| r.token)
        .or_else(|| unfinished(&secret.doc).map(|v| v.id.clone()));
    secret.doc.last_changed = ctx.now;
    repo::save(&mut db, &mut secret, ctx.now).await?;
    let mut out = json!({ "ARN": secret.arn(), "Name": secret.name() });
    if let Some(id) = pending {
        out.set_field("VersionId", json!(id));
    }
    Ok(out)
}

/// Adds the rotation members of `DescribeSecret`/`ListSecrets` to `out`.
pub fn describe_into(secret: &Secret, out: &mut Value) {
    let rot = &secret.doc.rotation;
    if rot.lambda_arn.is_none() && !rot.enabled {
        return;
    }
    out.set_field("RotationEnabled", json!(rot.enabled));
    if let Some(arn) = &rot.lambda_arn {
        out.set_field("RotationLambdaARN", json!(arn));
    }
    if let Some(r) = &rot.rules {
        let mut rules = json!({});
        if let Some(d) = r.after_days {
            rules.set_field("AutomaticallyAfterDays", json!(d));
        }
        if let Some(s) = &r.schedule {
            rules.set_field("ScheduleExpression", json!(s));
        }
        if let Some(d) = &r.duration {
            rules.set_field("Duration", json!(d));
        }
        out.set_field("RotationRules", rules);
    }
    if let Some(at) = rot.last_rotated {
        out.set_field("LastRotatedDate", epoch(at));
    }
    if let (true, Some(at)) = (rot.enabled, rot.next) {
        out.set_field("NextRotationDate", epoch(at));
    }
}
