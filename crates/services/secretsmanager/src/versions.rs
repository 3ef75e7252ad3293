//! Versions and staging labels: `PutSecretValue`, `ListSecretVersionIds`,
//! `UpdateSecretVersionStage`, and the label rules every new version
//! follows (a label on at most one version; `AWSCURRENT` moving makes its former version
//! `AWSPREVIOUS`; past 100 versions, the oldest unlabelled ones at least a day old are
//! removed, as AWS does).

use serde_json::{json, Value};

use super::{
    common::{epoch, opt_str, page, paging, req_str, str_list},
    crypto::{self, Plain},
    error::{SmError, SmResult},
    model::{SecretDoc, Version, AWSCURRENT, AWSPREVIOUS},
    repo::{self, Secret},
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

/// Past this many versions, the oldest unlabelled ones go (if at least a day old).
pub const MAX_VERSIONS: usize = 100;
/// Versions younger than this are never removed to make room (AWS's rule).
const KEEP_YOUNGER_THAN: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Rampart's own ceiling on a secret's versions, reached only by writing many versions within
/// a day (AWS documents a quota without publishing the figure): a secret's document holds
/// every version, so it must stay bounded.
pub const VERSION_CEILING: usize = 1000;
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
    let now = version.created;
    doc.versions.push(Version {
        stages: Vec::new(),
        ..version
    });
    for s in stages {
        move_label(doc, s, Some(&id));
    }
    while doc.versions.len() > MAX_VERSIONS {
        let removable = |v: &Version| v.stages.is_empty() && v.created + KEEP_YOUNGER_THAN <= now;
        let Some(oldest) = doc.versions.iter().position(removable) else {
            break;
        };
        doc.versions.remove(oldest);
    }
    if doc.versions.len() > VERSION_CEILING {
        return Err(SmError::LimitExceededException(format!(
            "The secret has {VERSION_CEILING} versions; versions younger than a day are kept, so write new values less often (Secrets Manager removes unlabeled versions past 100 once they are a day old)."
        )));
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
        if let Some(existing) = secret.doc.version(token).filter(|v| !v.empty) {
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
        empty: false,
    };
    // A rotation's empty version takes its value and keeps its labels.
    if let Some(pos) = secret.doc.versions.iter().position(|v| v.id == version.id) {
        let mut all = secret.doc.versions.remove(pos).stages;
        for s in stages {
            if !all.contains(s) {
                all.push(s.clone());
            }
        }
        add_version(&mut secret.doc, version, &all)?;
    } else {
        add_version(&mut secret.doc, version, stages)?;
    }
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
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
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

/// `ListSecretVersionIds` (newest first; unlabelled versions with `IncludeDeprecated`).
pub async fn list_version_ids(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let secret = repo::resolve(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let limit = paging(input, 100, 100)?;
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
            });
            if !v.empty {
                out.set_field("KmsKeyIds", json!([v.kms_key_arn]));
            }
            if let Some(at) = v.last_accessed {
                out.set_field("LastAccessedDate", epoch(at));
            }
            out
        })
        .collect();
    let (items, next) = page(&entries, limit, input)?;
    let mut out = json!({ "ARN": secret.arn(), "Name": secret.name(), "Versions": items });
    if let Some(n) = next {
        out.set_field("NextToken", json!(n));
    }
    Ok(out)
}

/// `UpdateSecretVersionStage`: moves or removes one label.
pub async fn update_stage(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
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
            rotation: Default::default(),
            primary_region: None,
            replicas: Vec::new(),
            generation: 0,
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
            empty: false,
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

    fn version_at(id: &str, hours: i64) -> Version {
        Version {
            created: DateTime::from_timestamp(hours * 3600, 0).unwrap(),
            ..version(id)
        }
    }

    #[test]
    fn past_one_hundred_the_oldest_unlabelled_versions_a_day_old_go() {
        let mut d = doc();
        add_version(&mut d, version_at("keep", 0), &["pinned".into()]).unwrap();
        // 120 versions an hour apart: at each write, only versions a day older may go.
        for i in 0..120 {
            add_version(
                &mut d,
                version_at(&format!("v{i}"), i),
                &[AWSCURRENT.into()],
            )
            .unwrap();
        }
        assert_eq!(d.versions.len(), MAX_VERSIONS);
        assert!(d.version("keep").is_some());
        assert!(d.version("v0").is_none());
        assert!(d.version("v119").is_some());
        // Within one day nothing goes, up to Rampart's ceiling.
        let mut d = doc();
        for i in 0..VERSION_CEILING {
            add_version(
                &mut d,
                version_at(&format!("w{i}"), 1),
                &[AWSCURRENT.into()],
            )
            .unwrap();
        }
        assert_eq!(d.versions.len(), VERSION_CEILING);
        assert!(matches!(
            add_version(&mut d, version_at("over", 1), &[AWSCURRENT.into()]),
            Err(SmError::LimitExceededException(_))
        ));
    }
}
