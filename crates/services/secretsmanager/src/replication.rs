//! Replication of secrets to other regions of the same account, as AWS does it:
//! `ReplicateSecretToRegions` (and `CreateSecret`'s `AddReplicaRegions`),
//! `RemoveRegionsFromReplication`, `StopReplicationToReplica`.
//!
//! A replica is a secret of the same name in another region, its ARN the primary's with that
//! region. Its document names the primary's region (`PrimaryRegion`) and it refuses every write
//! ([`refuses`]). The primary's document lists its replicas with their `Status`; every change
//! of the primary ([`super::repo::save`]) puts them back to `InProgress`, and the
//! `secretsmanager-replication` job ([`run_due`]) copies the primary to them asynchronously,
//! as AWS does: description, tags, resource policy, versions and labels, each value opened
//! with the primary's KMS key and sealed again with a data key from the replica region's key
//! (the replica's `KmsKeyId`, or that region's `aws/secretsmanager`). Those KMS calls are made
//! as Secrets Manager for the account (the job's [`Replicator`] gives their context and audits
//! them), so a key that refuses them leaves the replica `Failed` with the reason.

use chrono::{DateTime, Utc};
use rampart_store::{AuditRecord, Entity, Lease, Store};
use serde_json::{json, Value};

use super::{
    common::{opt_str, req_str, str_list},
    crypto,
    error::{SmError, SmResult},
    model::{Replica, SecretDoc, Version, DUE_ACCOUNT, FAILED, IN_PROGRESS, IN_SYNC},
    model::{REPLICATION_KIND, SECRET_KIND},
    repo::{self, Secret},
    Op,
};
use rampart_kit::{context::CallContext, db::Db};

/// The ARN of a secret's copy in `region`.
pub fn replica_arn(arn: &str, region: &str) -> String {
    let mut parts: Vec<&str> = arn.splitn(5, ':').collect();
    if let Some(r) = parts.get_mut(3) {
        *r = region;
    }
    parts.join(":")
}

/// AWS's refusal of a write to a replica.
pub fn replica_refusal() -> SmError {
    SmError::InvalidRequestException(
        "Operation not permitted on a replica secret. Call must be made in primary secret's region."
            .into(),
    )
}

/// True when `op` is refused on a replica (only reads and promotion are allowed).
pub fn refuses(op: Op) -> bool {
    !matches!(
        op,
        Op::DescribeSecret
            | Op::GetSecretValue
            | Op::BatchGetSecretValue
            | Op::ListSecretVersionIds
            | Op::ListSecrets
            | Op::GetResourcePolicy
            | Op::ValidateResourcePolicy
            | Op::GetRandomPassword
            | Op::StopReplicationToReplica
    )
}

/// A region name as AWS spells them (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`).
fn check_region(region: &str) -> SmResult<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let valid = parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    if valid {
        Ok(())
    } else {
        Err(SmError::InvalidParameterException(format!(
            "Invalid replica region: {region}."
        )))
    }
}

/// The replicas a request's `AddReplicaRegions` (with `ForceOverwriteReplicaSecret`) asks
/// for, for a secret in `own_region` that has `existing` replicas; they start `InProgress`.
pub fn requested(own_region: &str, existing: &[Replica], input: &Value) -> SmResult<Vec<Replica>> {
    let force = input["ForceOverwriteReplicaSecret"]
        .as_bool()
        .unwrap_or(false);
    let mut out: Vec<Replica> = Vec::new();
    for r in input
        .get("AddReplicaRegions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let region = req_str(r, "Region")?;
        check_region(region)?;
        if region == own_region {
            return Err(SmError::InvalidParameterException(
                "Invalid replica region: a secret cannot be replicated to its own region.".into(),
            ));
        }
        if existing
            .iter()
            .chain(out.iter())
            .any(|x| x.region == region)
        {
            return Err(SmError::InvalidParameterException(format!(
                "The secret is already replicated to {region}."
            )));
        }
        out.push(Replica {
            region: region.to_string(),
            kms_key_id: opt_str(r, "KmsKeyId").map(str::to_string),
            status: IN_PROGRESS.into(),
            message: None,
            force,
        });
    }
    Ok(out)
}

/// Adds the replicas a request asks for to a primary; returns their regions.
pub fn add_regions(doc: &mut SecretDoc, input: &Value) -> SmResult<Vec<String>> {
    let new = requested(&doc.region, &doc.replicas, input)?;
    let regions = new.iter().map(|r| r.region.clone()).collect();
    doc.replicas.extend(new);
    Ok(regions)
}

/// `ReplicationStatus` entries of a primary's replicas (all of them, or those in `only`).
pub fn status_json(doc: &SecretDoc, only: Option<&[String]>) -> Value {
    json!(doc
        .replicas
        .iter()
        .filter(|r| only.is_none_or(|o| o.contains(&r.region)))
        .map(|r| {
            let mut e = json!({ "Region": r.region, "Status": r.status });
            if let Some(obj) = e.as_object_mut() {
                if let Some(k) = &r.kms_key_id {
                    obj.insert("KmsKeyId".into(), json!(k));
                }
                if let Some(m) = &r.message {
                    obj.insert("StatusMessage".into(), json!(m));
                }
            }
            e
        })
        .collect::<Vec<_>>())
}

/// `PrimaryRegion` and `ReplicationStatus` for `DescribeSecret`/`ListSecrets`.
pub fn describe_into(doc: &SecretDoc, out: &mut Value) {
    let Some(obj) = out.as_object_mut() else {
        return;
    };
    if let Some(primary) = &doc.primary_region {
        obj.insert("PrimaryRegion".into(), json!(primary));
    } else if !doc.replicas.is_empty() {
        obj.insert("PrimaryRegion".into(), json!(doc.region));
        obj.insert("ReplicationStatus".into(), status_json(doc, None));
    }
}

/// `ReplicateSecretToRegions`.
pub async fn replicate(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    if input
        .get("AddReplicaRegions")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty())
    {
        return Err(SmError::InvalidParameterException(
            "AddReplicaRegions must name at least one region.".into(),
        ));
    }
    let added = add_regions(&mut secret.doc, input)?;
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({
        "ARN": secret.arn(),
        "ReplicationStatus": status_json(&secret.doc, Some(&added)),
    }))
}

/// `RemoveRegionsFromReplication`: the replicas in those regions are deleted at once.
pub async fn remove(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let regions = str_list(input, "RemoveReplicaRegions");
    if regions.is_empty() {
        return Err(SmError::InvalidParameterException(
            "RemoveReplicaRegions must name at least one region.".into(),
        ));
    }
    for region in &regions {
        if !secret.doc.replicas.iter().any(|r| &r.region == region) {
            return Err(SmError::InvalidParameterException(format!(
                "The secret has no replica in {region}."
            )));
        }
    }
    for region in &regions {
        if let Some(replica) = replica_of(&mut db, &secret, region).await? {
            repo::destroy(&mut db, &replica).await?;
        }
    }
    secret.doc.replicas.retain(|r| !regions.contains(&r.region));
    repo::save_quiet(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({
        "ARN": secret.arn(),
        "ReplicationStatus": status_json(&secret.doc, None),
    }))
}

/// The replica of `primary` in `region`, if it exists (a secret of that name that is not its
/// replica is not returned).
async fn replica_of(db: &mut Db<'_>, primary: &Secret, region: &str) -> SmResult<Option<Secret>> {
    let key = repo::name_key(region, primary.name());
    let Some(e) = db
        .entities()
        .get(primary.account(), SECRET_KIND, &key)
        .await?
    else {
        return Ok(None);
    };
    let found = repo::parse(e)?;
    let ours = found.doc.primary_region.as_deref() == Some(primary.doc.region.as_str())
        && found.arn() == replica_arn(primary.arn(), region);
    Ok(ours.then_some(found))
}

/// `StopReplicationToReplica`, called in the replica's region: the replica becomes a
/// standalone secret and the primary forgets it.
pub async fn stop(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut replica = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let Some(primary_region) = replica.doc.primary_region.take() else {
        return Err(SmError::InvalidRequestException(
            "The secret is not a replica: StopReplicationToReplica must be called in a replica's region."
                .into(),
        ));
    };
    let primary_arn = replica_arn(replica.arn(), &primary_region);
    if let Some(e) = db.entities().get_by_id(&primary_arn).await? {
        if e.kind == SECRET_KIND {
            let mut primary = repo::parse(e)?;
            primary.doc.replicas.retain(|r| r.region != ctx.region);
            repo::save_quiet(&mut db, &mut primary, ctx.now).await?;
        }
    }
    replica.doc.last_changed = ctx.now;
    repo::save_quiet(&mut db, &mut replica, ctx.now).await?;
    Ok(json!({ "ARN": replica.arn() }))
}

/// What the replication job gives [`run_due`]: the context its KMS calls are made in (as
/// Secrets Manager for the account, in a region) and the audit records of the calls a context
/// made.
pub trait Replicator: Sync {
    /// The context of calls made for `account` in `region`.
    fn context(&self, account: &str, region: &str) -> CallContext;
    /// The audit records of the side calls `ctx` made (taken from it).
    fn records(&self, ctx: &CallContext) -> Vec<AuditRecord>;
}

/// Brings every `InProgress` replica in step with its primary; returns how many were synced.
pub async fn run_due(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
    replicator: &dyn Replicator,
) -> SmResult<usize> {
    let mut done = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entities()
            .list(DUE_ACCOUNT, REPLICATION_KIND, "/", after.as_deref(), 100)
            .await?;
        for entry in &page.items {
            let Some(e) = store.entities().get_by_id(&entry.name_key).await? else {
                continue;
            };
            let primary = repo::parse(e)?;
            for r in primary
                .doc
                .replicas
                .iter()
                .filter(|r| r.status == IN_PROGRESS)
            {
                if sync_one(store, &primary, r, now, lease, replicator).await? {
                    done += 1;
                }
            }
        }
        if !page.truncated {
            return Ok(done);
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
}

/// Copies `primary` to its replica `r`; true when it is now in sync.
async fn sync_one(
    store: &Store,
    primary: &Secret,
    r: &Replica,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
    replicator: &dyn Replicator,
) -> SmResult<bool> {
    let generation = primary.doc.generation;
    let (records, built) = build(store, primary, r, now, replicator).await;
    let mut tx = store.begin_fenced(lease).await?;
    let mut db = Db::Write(&mut tx);
    let mut synced = false;
    // The primary as it is now: a replica removed meanwhile is left alone.
    let fresh = match db.entities().get_by_id(primary.arn()).await? {
        Some(e) => Some(repo::parse(e)?),
        None => None,
    };
    if let Some(mut fresh) = fresh.filter(|f| f.doc.replicas.iter().any(|x| x.region == r.region)) {
        let outcome = match built {
            Ok(mut replica) => place(&mut db, &fresh, r, &mut replica).await,
            Err(message) => Err(message),
        };
        synced = outcome.is_ok();
        if let Some(entry) = fresh.doc.replicas.iter_mut().find(|x| x.region == r.region) {
            match outcome {
                Ok(()) if fresh.doc.generation == generation => {
                    entry.status = IN_SYNC.into();
                    entry.message = None;
                }
                Ok(()) => {}
                Err(message) => {
                    entry.status = FAILED.into();
                    entry.message = Some(message);
                }
            }
        }
        repo::save_quiet(&mut db, &mut fresh, now).await?;
    }
    // The KMS calls were made whatever came of them: they are audited.
    if let Db::Write(tx) = &mut db {
        tx.append_audit_batch(&records).await?;
    }
    tx.commit().await?;
    Ok(synced)
}

/// Writes the replica, replacing a standalone secret of its name when forced.
async fn place(
    db: &mut Db<'_>,
    primary: &Secret,
    r: &Replica,
    replica: &mut Secret,
) -> Result<(), String> {
    let key = replica.entity.name_key.clone();
    let existing = db
        .entities()
        .get(primary.account(), SECRET_KIND, &key)
        .await
        .map_err(|_| internal())?;
    match existing {
        None => repo::insert(db, replica).await.map_err(|_| internal()),
        Some(e) => {
            let current = repo::parse(e).map_err(|_| internal())?;
            let ours = current.doc.primary_region.as_deref() == Some(primary.doc.region.as_str())
                && current.arn() == replica.arn();
            if !ours {
                if !r.force {
                    return Err(format!(
                        "Replication failed: a secret named {} already exists in {}. Use ForceOverwriteReplicaSecret to replace it.",
                        primary.name(),
                        r.region
                    ));
                }
                repo::destroy(db, &current).await.map_err(|_| internal())?;
                return repo::insert(db, replica).await.map_err(|_| internal());
            }
            replica.entity.created_at = current.entity.created_at;
            replica.doc.last_accessed = current.doc.last_accessed;
            repo::save_quiet(db, replica, replica.entity.updated_at)
                .await
                .map_err(|_| internal())
        }
    }
}

fn internal() -> String {
    "Replication failed: an error occurred on the server side.".into()
}

/// The replica's document, every value opened with the primary's key and sealed again in the
/// replica's region, with the audit records of those KMS calls.
async fn build(
    store: &Store,
    primary: &Secret,
    r: &Replica,
    now: DateTime<Utc>,
    replicator: &dyn Replicator,
) -> (Vec<AuditRecord>, Result<Secret, String>) {
    let account = primary.account();
    let from = replicator.context(account, &primary.doc.region);
    let to = replicator.context(account, &r.region);
    let arn = replica_arn(primary.arn(), &r.region);
    // Versions already copied under the same key are kept as they are.
    let current = match store.entities().get_by_id(&arn).await {
        Ok(Some(e)) => repo::parse(e)
            .ok()
            .filter(|c| c.doc.primary_region.is_some() && c.doc.kms_key_id == r.kms_key_id),
        _ => None,
    };
    let mut versions = Vec::new();
    let mut failure = None;
    for v in &primary.doc.versions {
        let copied = current.as_ref().and_then(|c| c.doc.version(&v.id));
        if let Some(copy) = copied.filter(|c| c.digest == v.digest && c.empty == v.empty) {
            versions.push(Version {
                stages: v.stages.clone(),
                ..copy.clone()
            });
            continue;
        }
        if v.empty {
            versions.push(v.clone());
            continue;
        }
        match reseal(store, &from, &to, primary, &arn, r, v).await {
            Ok(copy) => versions.push(copy),
            Err(e) => {
                failure = Some(format!("Replication failed: {e}"));
                break;
            }
        }
    }
    let mut records = replicator.records(&from);
    records.extend(replicator.records(&to));
    if let Some(message) = failure {
        return (records, Err(message));
    }
    let digest_key = match crypto::reseal_digest_key(
        &Db::Read(store),
        primary.arn(),
        &arn,
        &primary.doc.digest_key,
    ) {
        Ok(k) => k,
        Err(_) => return (records, Err(internal())),
    };
    let d = &primary.doc;
    let doc = SecretDoc {
        region: r.region.clone(),
        description: d.description.clone(),
        kms_key_id: r.kms_key_id.clone(),
        tags: d.tags.clone(),
        versions,
        policy: d.policy.clone(),
        deleted_date: None,
        deletion_date: None,
        last_changed: d.last_changed,
        last_accessed: None,
        digest_key,
        secret_type: d.secret_type.clone(),
        rotation: Default::default(),
        primary_region: Some(d.region.clone()),
        replicas: Vec::new(),
        generation: 0,
    };
    let secret = Secret {
        entity: Entity {
            account_id: account.to_string(),
            kind: SECRET_KIND.into(),
            name: primary.name().to_string(),
            name_key: repo::name_key(&r.region, primary.name()),
            id: arn.clone(),
            path: repo::region_path(&r.region),
            arn,
            created_at: now,
            updated_at: now,
            doc: String::new(),
        },
        doc,
    };
    (records, Ok(secret))
}

/// One version opened in the primary's region and sealed in the replica's.
async fn reseal(
    store: &Store,
    from: &CallContext,
    to: &CallContext,
    primary: &Secret,
    arn: &str,
    r: &Replica,
    v: &Version,
) -> SmResult<Version> {
    let plain = crypto::unseal(store, from, primary.arn(), v).await?;
    let sealed = crypto::seal(
        store,
        to,
        primary.account(),
        arn,
        &v.id,
        r.kms_key_id.as_deref(),
        &plain,
    )
    .await?;
    Ok(Version {
        kms_key_arn: sealed.kms_key_arn,
        data_key: sealed.data_key,
        ciphertext: sealed.ciphertext,
        last_accessed: None,
        ..v.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(region: &str) -> CallContext {
        CallContext {
            region: region.into(),
            ..rampart_kit::test_support::root_context()
        }
    }

    struct Calls;

    impl Replicator for Calls {
        fn context(&self, _account: &str, region: &str) -> CallContext {
            ctx(region)
        }
        fn records(&self, _ctx: &CallContext) -> Vec<AuditRecord> {
            Vec::new()
        }
    }

    /// Runs a handler in a write transaction, committed when it succeeds.
    macro_rules! write {
        ($store:expr, $f:path, $input:expr, $ctx:expr) => {{
            let mut tx = $store.begin().await.unwrap();
            let out = $f($input, $ctx, Db::Write(&mut tx)).await;
            if out.is_ok() {
                tx.commit().await.unwrap();
            }
            out
        }};
    }

    async fn status(store: &Store, id: &str) -> Value {
        let d = crate::secrets::describe(
            &json!({ "SecretId": id }),
            &ctx("us-east-1"),
            Db::Read(store),
        )
        .await
        .unwrap();
        d["ReplicationStatus"][0].clone()
    }

    #[tokio::test]
    async fn replicas_are_copied_by_the_job_and_a_taken_name_needs_force() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let (east, west) = (ctx("us-east-1"), ctx("eu-west-1"));
        let make = json!({"Name": "app", "Description": "d"});
        write!(store, crate::secrets::create, &make, &east).unwrap();
        let mine = json!({"Name": "app"});
        write!(store, crate::secrets::create, &mine, &west).unwrap();
        let add = json!({"SecretId": "app", "AddReplicaRegions": [{"Region": "eu-west-1"}]});
        let out = write!(store, replicate, &add, &east).unwrap();
        assert_eq!(out["ReplicationStatus"][0]["Status"], IN_PROGRESS);

        // The region has a standalone secret of that name: replication fails and leaves it.
        let now = east.now;
        assert_eq!(run_due(&store, now, None, &Calls).await.unwrap(), 0);
        assert_eq!(status(&store, "app").await["Status"], FAILED);
        let theirs = crate::secrets::describe(&json!({"SecretId": "app"}), &west, Db::Read(&store))
            .await
            .unwrap();
        assert!(theirs.get("PrimaryRegion").is_none());

        let drop_it = json!({"SecretId": "app", "RemoveReplicaRegions": ["eu-west-1"]});
        write!(store, remove, &drop_it, &east).unwrap();
        let forced = json!({"SecretId": "app", "ForceOverwriteReplicaSecret": true,
            "AddReplicaRegions": [{"Region": "eu-west-1"}]});
        write!(store, replicate, &forced, &east).unwrap();
        assert_eq!(run_due(&store, now, None, &Calls).await.unwrap(), 1);
        assert_eq!(status(&store, "app").await["Status"], IN_SYNC);
        let copy = crate::secrets::describe(&json!({"SecretId": "app"}), &west, Db::Read(&store))
            .await
            .unwrap();
        assert_eq!(
            (copy["PrimaryRegion"].as_str(), copy["Description"].as_str()),
            (Some("us-east-1"), Some("d"))
        );

        // A replica refuses writes; the primary's change puts it back in progress.
        let tag = json!({"SecretId": "app", "Tags": [{"Key": "k", "Value": "v"}]});
        let refused = write!(store, crate::secrets::tag, &tag, &west);
        assert_eq!(refused.unwrap_err(), replica_refusal());
        write!(store, crate::secrets::tag, &tag, &east).unwrap();
        assert_eq!(status(&store, "app").await["Status"], IN_PROGRESS);
        assert_eq!(run_due(&store, now, None, &Calls).await.unwrap(), 1);
        let copy = crate::secrets::describe(&json!({"SecretId": "app"}), &west, Db::Read(&store))
            .await
            .unwrap();
        assert_eq!(copy["Tags"], json!([{"Key": "k", "Value": "v"}]));

        // Promoted, it is standalone and the primary forgets it.
        let stop_it = json!({"SecretId": "app"});
        write!(store, stop, &stop_it, &west).unwrap();
        write!(store, crate::secrets::tag, &tag, &west).unwrap();
        assert_eq!(status(&store, "app").await, Value::Null);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn replica_arns_change_the_region_only() {
        assert_eq!(
            replica_arn(
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:a:b-AbCdEf",
                "eu-west-1"
            ),
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:a:b-AbCdEf"
        );
    }

    #[test]
    fn regions_are_checked() {
        for ok in ["eu-west-1", "us-gov-west-1", "ap-southeast-2"] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in ["", "eu", "eu-west", "EU-west-1", "eu-west-x", "eu--1"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_are_refused_on_replicas_but_reads_and_promotion_are_not() {
        assert!(refuses(Op::PutSecretValue));
        assert!(refuses(Op::UpdateSecretVersionStage));
        assert!(refuses(Op::DeleteSecret));
        assert!(refuses(Op::RotateSecret));
        assert!(!refuses(Op::GetSecretValue));
        assert!(!refuses(Op::StopReplicationToReplica));
    }
}
