//! Running rotations: AWS's four steps (`createSecret`, `setSecret`, `testSecret`,
//! `finishSecret`) for every secret whose rotation was asked for (`RotateSecret`) or whose
//! schedule came due, on the request clock (the dev clock moves it).
//!
//! A rotation is three short transactions around the steps, which run outside any
//! transaction because a rotation function calls back into Secrets Manager:
//! 1. start: the empty `AWSPENDING` version with the rotation's token, the `RotationStarted`
//!    service event;
//! 2. the steps, each given to a [`Rotator`] (a registered hook, or a built-in strategy);
//! 3. the end: on success (`AWSCURRENT` now on the new version) `AWSPENDING` leaves it,
//!    `LastRotatedDate` and `NextRotationDate` move and `RotationSucceeded` is recorded; on a
//!    failed step nothing else changes (`AWSCURRENT` stays where it was, `AWSPENDING` stays on
//!    the unfinished version, as in AWS) and `RotationFailed` records the step and the reason.
//!
//! The rotation waiting to run is stored in the secret and indexed, so a rotation cut short
//! by a restart runs again (the steps are idempotent, as AWS asks of rotation functions).

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};
use rampart_store::{Lease, Store};
use serde_json::{json, Value};

use super::{
    error::SmResult,
    model::{RotationRun, AWSCURRENT, AWSPENDING, DUE_ACCOUNT, ROTATION_KIND},
    repo::{self, Secret},
    rotation, schedule,
    versions::move_label,
};
use rampart_cloudtrail::service_event::ServiceEvent;
use rampart_kit::db::Db;

/// The event source of Secrets Manager's own work.
const SECRETS_MANAGER: &str = "secretsmanager.amazonaws.com";
/// Longest failure reason kept (a rotation function's message is cut there).
const MAX_REASON: usize = 512;

/// A step of a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Make the new value and store it as `AWSPENDING`.
    CreateSecret,
    /// Set the new value in the system the secret is for.
    SetSecret,
    /// Check that the new value works.
    TestSecret,
    /// Move `AWSCURRENT` to the new version.
    FinishSecret,
}

impl Step {
    /// The four steps, in order.
    pub const ALL: [Step; 4] = [
        Step::CreateSecret,
        Step::SetSecret,
        Step::TestSecret,
        Step::FinishSecret,
    ];

    /// The name AWS gives the step in a rotation function's event.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CreateSecret => "createSecret",
            Step::SetSecret => "setSecret",
            Step::TestSecret => "testSecret",
            Step::FinishSecret => "finishSecret",
        }
    }
}

/// One step to run: what a rotation function receives, and where it runs.
#[derive(Debug, Clone)]
pub struct StepCall {
    /// The secret's ARN (the event's `SecretId`).
    pub secret_arn: String,
    /// The owning account.
    pub account: String,
    /// The secret's region.
    pub region: String,
    /// The rotation's `ClientRequestToken` (the new version's id).
    pub token: String,
    /// The `RotationLambdaARN`.
    pub lambda_arn: String,
    /// The step.
    pub step: Step,
}

impl StepCall {
    /// The event JSON a rotation Lambda receives.
    pub fn event(&self) -> Value {
        json!({
            "SecretId": self.secret_arn,
            "ClientRequestToken": self.token,
            "Step": self.step.as_str(),
        })
    }
}

/// A step's future: `Err` holds the reason the step failed.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// What runs rotation steps (the server gives one: hooks and built-in strategies).
pub trait Rotator: Send + Sync {
    /// Runs one step.
    fn step<'a>(&'a self, call: &'a StepCall) -> StepFuture<'a>;
}

/// Runs every rotation due by `now`; returns how many ran. Under a job `lease`, each
/// transaction commits only while the lease is still current.
pub async fn run_due(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
    rotator: &dyn Rotator,
) -> SmResult<usize> {
    let mut ran = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entities()
            .list(DUE_ACCOUNT, ROTATION_KIND, "/", after.as_deref(), 100)
            .await?;
        for entry in &page.items {
            let Some(call) = start(store, &entry.name_key, now, lease).await? else {
                continue;
            };
            let mut outcome = Ok(());
            for step in Step::ALL {
                let call = StepCall {
                    step,
                    ..call.clone()
                };
                if let Err(reason) = rotator.step(&call).await {
                    outcome = Err((step, reason));
                    break;
                }
            }
            end(store, &call, outcome, now, lease).await?;
            ran += 1;
        }
        if !page.truncated {
            return Ok(ran);
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
}

fn event(
    secret: &Secret,
    name: &'static str,
    now: DateTime<Utc>,
    details: Option<Value>,
) -> rampart_store::AuditRecord {
    ServiceEvent {
        source: SECRETS_MANAGER,
        name,
        account_id: secret.account(),
        region: &secret.doc.region,
        time: now,
        resources: vec![("AWS::SecretsManager::Secret", secret.arn())],
        details,
    }
    .to_record()
}

/// Starts the rotation of the secret `arn` if one is due: returns its steps' call.
async fn start(
    store: &Store,
    arn: &str,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> SmResult<Option<StepCall>> {
    let mut tx = store.begin_fenced(lease).await?;
    let mut db = Db::Write(&mut tx);
    let Some(entity) = db.entities().get_by_id(arn).await? else {
        db.entities()
            .delete(DUE_ACCOUNT, ROTATION_KIND, arn)
            .await?;
        tx.commit().await?;
        return Ok(None);
    };
    let mut secret = repo::parse(entity)?;
    if secret.is_deleted() {
        return Ok(None);
    }
    let rot = &secret.doc.rotation;
    let token = match &rot.run {
        Some(run) => run.token.clone(),
        None if rot.enabled && rot.next.is_some_and(|at| at <= now) => {
            // A rotation left unfinished is reattempted with its token, as AWS does.
            rotation::unfinished(&secret.doc)
                .map(|v| v.id.clone())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
        }
        None => return Ok(None),
    };
    let Some(lambda_arn) = rot.lambda_arn.clone() else {
        return Ok(None);
    };
    secret.doc.rotation.run = Some(RotationRun {
        token: token.clone(),
        requested: now,
    });
    rotation::open_pending(&mut secret.doc, &token, now)?;
    repo::save(&mut db, &mut secret, now).await?;
    let started = event(&secret, "RotationStarted", now, None);
    tx.append_audit_batch(&[started]).await?;
    tx.commit().await?;
    Ok(Some(StepCall {
        secret_arn: secret.arn().to_string(),
        account: secret.account().to_string(),
        region: secret.doc.region.clone(),
        token,
        lambda_arn,
        step: Step::CreateSecret,
    }))
}

/// Records how a rotation ended (see the module's documentation).
async fn end(
    store: &Store,
    call: &StepCall,
    outcome: Result<(), (Step, String)>,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> SmResult<()> {
    let mut tx = store.begin_fenced(lease).await?;
    let mut db = Db::Write(&mut tx);
    let Some(entity) = db.entities().get_by_id(&call.secret_arn).await? else {
        return Ok(());
    };
    let mut secret = repo::parse(entity)?;
    let finished = secret
        .doc
        .version(&call.token)
        .is_some_and(|v| v.stages.iter().any(|s| s == AWSCURRENT));
    let outcome = match outcome {
        Ok(()) if !finished => Err((
            Step::FinishSecret,
            "The finishSecret step did not move AWSCURRENT to the new version.".to_string(),
        )),
        other => other,
    };
    let rot = &mut secret.doc.rotation;
    rot.run = None;
    let record = match outcome {
        Ok(()) => {
            rot.last_rotated = Some(now);
            rot.last_failure = None;
            rot.next = match (&rot.rules, rot.enabled) {
                (Some(r), true) => schedule::next_after(r, now)?,
                _ => None,
            };
            if secret
                .doc
                .labelled(AWSPENDING)
                .is_some_and(|v| v.id == call.token)
            {
                move_label(&mut secret.doc, AWSPENDING, None);
            }
            secret.doc.last_changed = now;
            tracing::info!(secret = %secret.arn(), "secret rotated");
            event(&secret, "RotationSucceeded", now, None)
        }
        Err((step, reason)) => {
            let reason: String = reason.chars().take(MAX_REASON).collect();
            tracing::warn!(secret = %call.secret_arn, step = step.as_str(), %reason, "secret rotation failed");
            rot.last_failure = Some(format!("{}: {reason}", step.as_str()));
            // A scheduled rotation that failed is tried again at the next date.
            rot.next = match (&rot.rules, rot.enabled) {
                (Some(r), true) => schedule::next_after(r, now)?,
                _ => None,
            };
            let details = json!({ "step": step.as_str(), "failureReason": reason });
            event(&secret, "RotationFailed", now, Some(details))
        }
    };
    repo::save(&mut db, &mut secret, now).await?;
    tx.append_audit_batch(&[record]).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{model::Version, rotation, secrets};
    use rampart_kit::context::CallContext;

    const HOOK: &str = "arn:aws:lambda:eu-west-1:111122223333:function:rotate";

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn ctx(now: DateTime<Utc>) -> CallContext {
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
            now,
            secure_transport: false,
            prepared: None,
            authorizer: rampart_kit::Authorizer::refusing(),
            via_service: None,
            side_calls: Default::default(),
            payload: Default::default(),
        }
    }

    /// A rotation function: records the steps, fails at `fail_at`, and finishes by moving
    /// `AWSCURRENT` as a rotation function does.
    struct Fake {
        store: Store,
        fail_at: Option<Step>,
        seen: Mutex<Vec<Step>>,
    }

    impl Rotator for Fake {
        fn step<'a>(&'a self, call: &'a StepCall) -> StepFuture<'a> {
            Box::pin(async move {
                self.seen.lock().unwrap().push(call.step);
                if self.fail_at == Some(call.step) {
                    return Err("the new password does not log in".into());
                }
                if call.step == Step::FinishSecret {
                    let mut tx = self.store.begin().await.unwrap();
                    let mut db = Db::Write(&mut tx);
                    let e = db
                        .entities()
                        .get_by_id(&call.secret_arn)
                        .await
                        .unwrap()
                        .unwrap();
                    let mut s = repo::parse(e).unwrap();
                    move_label(&mut s.doc, AWSCURRENT, Some(&call.token));
                    repo::save(&mut db, &mut s, at(0)).await.unwrap();
                    tx.commit().await.unwrap();
                }
                Ok(())
            })
        }
    }

    async fn secret_with_value(store: &Store) -> String {
        let mut tx = store.begin().await.unwrap();
        let out = secrets::create(&json!({"Name": "app"}), &ctx(at(0)), Db::Write(&mut tx))
            .await
            .unwrap();
        let arn = out["ARN"].as_str().unwrap().to_string();
        let mut db = Db::Write(&mut tx);
        let mut s = repo::parse(db.entities().get_by_id(&arn).await.unwrap().unwrap()).unwrap();
        let v = Version {
            id: "v1".into(),
            stages: Vec::new(),
            created: at(0),
            kms_key_arn: "k".into(),
            data_key: String::new(),
            ciphertext: String::new(),
            binary: false,
            digest: String::new(),
            last_accessed: None,
            empty: false,
        };
        crate::versions::add_version(&mut s.doc, v, &[AWSCURRENT.into()]).unwrap();
        repo::save(&mut db, &mut s, at(0)).await.unwrap();
        tx.commit().await.unwrap();
        arn
    }

    async fn rotate(store: &Store, input: Value, now: DateTime<Utc>) -> SmResult<Value> {
        let mut tx = store.begin().await?;
        let out = rotation::rotate(&input, &ctx(now), Db::Write(&mut tx)).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn load(store: &Store, arn: &str) -> Secret {
        repo::parse(store.entities().get_by_id(arn).await.unwrap().unwrap()).unwrap()
    }

    fn fake(store: &Store, fail_at: Option<Step>) -> Fake {
        Fake {
            store: store.clone(),
            fail_at,
            seen: Mutex::new(Vec::new()),
        }
    }

    #[tokio::test]
    async fn a_rotation_runs_the_four_steps_and_moves_the_current_label() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let arn = secret_with_value(&store).await;
        let input = json!({"SecretId": arn, "RotationLambdaARN": HOOK,
            "RotationRules": {"AutomaticallyAfterDays": 1}});
        let token = rotate(&store, input, at(10)).await.unwrap()["VersionId"]
            .as_str()
            .unwrap()
            .to_string();
        let pending = load(&store, &arn).await;
        assert!(pending.doc.version(&token).unwrap().empty);
        assert_eq!(pending.doc.labelled(AWSPENDING).unwrap().id, token);
        let f = fake(&store, None);
        assert_eq!(run_due(&store, at(20), None, &f).await.unwrap(), 1);
        assert_eq!(*f.seen.lock().unwrap(), Step::ALL.to_vec());
        let done = load(&store, &arn).await;
        assert_eq!(done.doc.version(&token).unwrap().stages, vec![AWSCURRENT]);
        assert_eq!(done.doc.version("v1").unwrap().stages, vec!["AWSPREVIOUS"]);
        assert_eq!(done.doc.rotation.last_rotated, Some(at(20)));
        assert_eq!(done.doc.rotation.next, Some(at(20 + 86_400)));
        assert!(done.doc.rotation.run.is_none());
        // Nothing is due until the next date; then the schedule rotates with a new token.
        let f = fake(&store, None);
        assert_eq!(run_due(&store, at(30), None, &f).await.unwrap(), 0);
        assert_eq!(run_due(&store, at(20 + 86_400), None, &f).await.unwrap(), 1);
        let again = load(&store, &arn).await;
        assert_ne!(again.doc.labelled(AWSCURRENT).unwrap().id, token);
        assert_eq!(again.doc.labelled("AWSPREVIOUS").unwrap().id, token);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_failed_step_leaves_the_current_version_and_blocks_a_new_rotation() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let arn = secret_with_value(&store).await;
        let input = json!({"SecretId": arn, "RotationLambdaARN": HOOK});
        let token = rotate(&store, input.clone(), at(10)).await.unwrap()["VersionId"]
            .as_str()
            .unwrap()
            .to_string();
        let f = fake(&store, Some(Step::TestSecret));
        run_due(&store, at(20), None, &f).await.unwrap();
        assert_eq!(f.seen.lock().unwrap().len(), 3);
        let s = load(&store, &arn).await;
        assert_eq!(s.doc.labelled(AWSCURRENT).unwrap().id, "v1");
        assert_eq!(s.doc.labelled(AWSPENDING).unwrap().id, token);
        assert!(s.doc.rotation.last_rotated.is_none());
        assert!(s
            .doc
            .rotation
            .last_failure
            .as_deref()
            .unwrap()
            .starts_with("testSecret"));
        // Nothing runs again by itself (no schedule); a new rotation is refused, as in AWS.
        assert_eq!(run_due(&store, at(30), None, &f).await.unwrap(), 0);
        match rotate(&store, input, at(40)).await {
            Err(crate::SmError::InvalidRequestException(m)) => {
                assert!(m.contains("previous rotation"))
            }
            other => panic!("a second rotation started: {other:?}"),
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_finish_that_does_not_move_the_label_is_a_failure() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let arn = secret_with_value(&store).await;
        rotate(
            &store,
            json!({"SecretId": arn, "RotationLambdaARN": HOOK}),
            at(10),
        )
        .await
        .unwrap();
        // A function whose finishSecret does nothing.
        struct Idle;
        impl Rotator for Idle {
            fn step<'a>(&'a self, _call: &'a StepCall) -> StepFuture<'a> {
                Box::pin(async { Ok(()) })
            }
        }
        run_due(&store, at(20), None, &Idle).await.unwrap();
        let s = load(&store, &arn).await;
        assert_eq!(s.doc.labelled(AWSCURRENT).unwrap().id, "v1");
        assert!(s
            .doc
            .rotation
            .last_failure
            .as_deref()
            .unwrap()
            .starts_with("finishSecret"));
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn rotate_and_cancel_keep_aws_rules() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let arn = secret_with_value(&store).await;
        let no_function = rotate(&store, json!({"SecretId": arn}), at(0)).await;
        assert!(matches!(
            no_function,
            Err(crate::SmError::InvalidRequestException(_))
        ));
        let bad_rules = json!({"SecretId": arn, "RotationLambdaARN": HOOK,
            "RotationRules": {"AutomaticallyAfterDays": 2, "ScheduleExpression": "rate(1 days)"}});
        assert!(matches!(
            rotate(&store, bad_rules, at(0)).await,
            Err(crate::SmError::InvalidParameterException(_))
        ));
        let later = json!({"SecretId": arn, "RotationLambdaARN": HOOK, "RotateImmediately": false,
            "RotationRules": {"ScheduleExpression": "rate(4 hours)"}});
        let out = rotate(&store, later, at(0)).await.unwrap();
        assert!(out.get("VersionId").is_none());
        let described = secrets::describe_json(&load(&store, &arn).await, "VersionIdsToStages");
        assert_eq!(described["RotationEnabled"], json!(true));
        assert_eq!(described["RotationLambdaARN"], json!(HOOK));
        assert_eq!(
            described["RotationRules"],
            json!({"ScheduleExpression": "rate(4 hours)"})
        );
        assert!(described.get("NextRotationDate").is_some());
        let mut tx = store.begin().await.unwrap();
        rotation::cancel(&json!({"SecretId": arn}), &ctx(at(1)), Db::Write(&mut tx))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let described = secrets::describe_json(&load(&store, &arn).await, "VersionIdsToStages");
        assert_eq!(described["RotationEnabled"], json!(false));
        assert!(described.get("NextRotationDate").is_none());
        let f = fake(&store, None);
        assert_eq!(run_due(&store, at(86_400), None, &f).await.unwrap(), 0);
        std::fs::remove_dir_all(dir).ok();
    }
}
