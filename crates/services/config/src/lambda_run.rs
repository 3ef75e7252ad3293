//! Sending custom Lambda rule invocations: every queued invocation that is due goes to an
//! [`Invoker`] (the server's Lambda hooks) with a fresh `resultToken`, outside any
//! transaction, because the function calls back into Config (`PutEvaluations`) while it runs.
//! A success removes the invocation; a failure is retried with backoff ([`BACKOFF`] doubled
//! each time, [`MAX_ATTEMPTS`] in all) and shows in `DescribeConfigRuleEvaluationStatus`
//! (`LastFailedInvocationTime`, `LastErrorCode`, `LastErrorMessage`). An invocation of a
//! rule deleted (or made again) since it was queued is dropped.

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Duration, Utc};
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::{Entity, Lease, Store};
use serde_json::Value;

use crate::build::doc_of;
use crate::error::ConfigResult;
use crate::lambda::Event;
use crate::model::{InvocationDoc, RuleDoc, INVOCATION, RULE, SYSTEM_ACCOUNT};
use crate::result_token;
use crate::sync;

/// Attempts made before an invocation is given up.
pub const MAX_ATTEMPTS: u32 = 5;
/// Wait before the first retry; each later one waits twice as long.
pub const BACKOFF: Duration = Duration::seconds(10);
/// Longest error message kept.
const MAX_MESSAGE: usize = 512;

/// Why an invocation failed: a code and a message, as the rule's status shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeError {
    /// `LastErrorCode`.
    pub code: String,
    /// `LastErrorMessage`.
    pub message: String,
}

/// An invocation's future.
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), InvokeError>> + Send + 'a>>;

/// What invokes Lambda functions (the server gives its registered hooks).
pub trait Invoker: Send + Sync {
    /// Invokes the function `arn` with `event`.
    fn invoke<'a>(&'a self, arn: &'a str, event: &'a Value) -> InvokeFuture<'a>;
}

/// The wait after `attempts` failed attempts.
fn backoff(attempts: u32) -> Duration {
    BACKOFF * 2_i32.pow(attempts.saturating_sub(1).min(10))
}

/// The invocation's rule, if it is still the rule that queued it.
async fn rule_of(store: &Store, inv: &InvocationDoc) -> ConfigResult<Option<(Entity, RuleDoc)>> {
    let Some(e) = Db::Read(store)
        .entities()
        .get(&inv.account, RULE, &inv.rule)
        .await?
    else {
        return Ok(None);
    };
    let doc: RuleDoc = doc_of(&e)?;
    Ok((doc.rule_id == inv.rule_id && doc.is_lambda()).then_some((e, doc)))
}

/// Sends every invocation due by `now`; returns how many were sent. Under a job `lease`,
/// each transaction commits only while the lease is still current.
pub async fn run_due(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
    invoker: &dyn Invoker,
) -> ConfigResult<usize> {
    let mut sent = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entities()
            .list(SYSTEM_ACCOUNT, INVOCATION, "", after.as_deref(), 100)
            .await?;
        for entry in &page.items {
            let inv: InvocationDoc = doc_of(entry)?;
            if inv.next_attempt > now {
                continue;
            }
            let Some((rule_entity, rule)) = rule_of(store, &inv).await? else {
                finish(store, entry, None, now, lease).await?;
                continue;
            };
            let token = result_token::issue(
                store.master_key(),
                &inv.account,
                (&rule_entity.name, &rule.rule_id),
                now,
            )?;
            let event = Event {
                rule: &rule_entity,
                doc: &rule,
                invocation: &inv,
                token: &token,
            }
            .json(&mut Db::Read(store))
            .await?;
            let outcome = invoker.invoke(&rule.source_identifier, &event).await;
            finish(store, entry, Some((&inv, outcome)), now, lease).await?;
            sent += 1;
        }
        if !page.truncated {
            return Ok(sent);
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
}

/// Ends one attempt: the rule's status updated, the invocation removed or rescheduled (a
/// dropped invocation, `outcome` none, is only removed).
async fn finish(
    store: &Store,
    entry: &Entity,
    outcome: Option<(&InvocationDoc, Result<(), InvokeError>)>,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> ConfigResult<()> {
    let mut tx = store.begin_fenced(lease).await?;
    let mut db = Db::Write(&mut tx);
    let mut remove = true;
    if let Some((inv, result)) = outcome {
        if let Some(mut e) = db.entities().get(&inv.account, RULE, &inv.rule).await? {
            let mut rule: RuleDoc = doc_of(&e)?;
            match &result {
                Ok(()) => rule.status.last_invoked = Some(now),
                Err(err) => {
                    rule.status.last_failed = Some(now);
                    rule.status.error_code = Some(err.code.clone());
                    rule.status.error_message =
                        Some(err.message.chars().take(MAX_MESSAGE).collect());
                }
            }
            sync::save_rule(&mut db, &mut e, &rule, now).await?;
        }
        if result.is_err() && inv.attempts + 1 < MAX_ATTEMPTS {
            let mut again = inv.clone();
            again.attempts += 1;
            again.next_attempt = now + backoff(again.attempts);
            let mut e = entry.clone();
            e.doc = to_text(&again)?;
            e.updated_at = now;
            db.entities().update(&entry.name_key, &e).await?;
            remove = false;
        }
    }
    if remove {
        db.entities()
            .delete(SYSTEM_ACCOUNT, INVOCATION, &entry.name_key)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::test_support::{root_context, store};
    use serde_json::json;
    use std::sync::Mutex;

    const ACCOUNT: &str = "111122223333";

    /// A function that fails or answers, keeping the events it got.
    struct Fake {
        fail: bool,
        events: Mutex<Vec<Value>>,
    }

    impl Fake {
        fn new(fail: bool) -> Fake {
            Fake {
                fail,
                events: Mutex::default(),
            }
        }
    }

    impl Invoker for Fake {
        fn invoke<'a>(&'a self, _arn: &'a str, event: &'a Value) -> InvokeFuture<'a> {
            self.events.lock().unwrap().push(event.clone());
            let fail = self.fail;
            Box::pin(async move {
                if fail {
                    Err(InvokeError {
                        code: "ServiceException".into(),
                        message: "down".into(),
                    })
                } else {
                    Ok(())
                }
            })
        }
    }

    /// A store with one periodic Lambda rule, `periodic`, whose first invocation is queued.
    async fn rig() -> (Store, std::path::PathBuf, DateTime<Utc>) {
        let (store, dir) = store().await;
        let ctx = root_context();
        let rule = json!({"ConfigRuleName": "periodic", "Source": {
            "Owner": "CUSTOM_LAMBDA",
            "SourceIdentifier": "arn:aws:lambda:us-east-1:111122223333:function:f",
            "SourceDetails": [{"EventSource": "aws.config", "MessageType": "ScheduledNotification",
                               "MaximumExecutionFrequency": "One_Hour"}]}});
        let mut tx = store.begin().await.unwrap();
        crate::rules::put_rule(&mut Db::Write(&mut tx), &ctx, &rule, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        (store, dir, ctx.now)
    }

    async fn status(store: &Store) -> crate::model::RuleStatus {
        let (_, doc) = crate::rules::load(&mut Db::Read(store), ACCOUNT, "periodic")
            .await
            .unwrap();
        doc.status
    }

    #[tokio::test]
    async fn a_failure_is_retried_after_its_backoff() {
        let (store, dir, now) = rig().await;
        let down = Fake::new(true);
        assert_eq!(run_due(&store, now, None, &down).await.unwrap(), 1);
        assert_eq!(
            status(&store).await.error_code.as_deref(),
            Some("ServiceException")
        );
        let soon = now + Duration::seconds(5);
        assert_eq!(run_due(&store, soon, None, &down).await.unwrap(), 0);
        let later = now + BACKOFF;
        let up = Fake::new(false);
        assert_eq!(run_due(&store, later, None, &up).await.unwrap(), 1);
        assert_eq!(
            run_due(&store, later + BACKOFF, None, &up).await.unwrap(),
            0
        );
        assert_eq!(status(&store).await.last_invoked, Some(later));
        let event = up.events.lock().unwrap()[0].clone();
        assert_eq!(event["configRuleName"], "periodic");
        assert_eq!(event["accountId"], ACCOUNT);
        let invoking: Value =
            serde_json::from_str(event["invokingEvent"].as_str().unwrap()).unwrap();
        assert_eq!(invoking["messageType"], "ScheduledNotification");
        let token = event["resultToken"].as_str().unwrap();
        let claims = result_token::check(store.master_key(), token, ACCOUNT, later).unwrap();
        assert_eq!(claims.rule, "periodic");
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn an_invocation_is_given_up_after_the_last_attempt() {
        let (store, dir, mut now) = rig().await;
        let down = Fake::new(true);
        for attempt in 1..=MAX_ATTEMPTS {
            assert_eq!(run_due(&store, now, None, &down).await.unwrap(), 1);
            now += backoff(attempt);
        }
        assert_eq!(
            run_due(&store, now + BACKOFF * 100, None, &down)
                .await
                .unwrap(),
            0
        );
        assert_eq!(down.events.lock().unwrap().len(), MAX_ATTEMPTS as usize);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_deleted_rule_drops_its_invocations() {
        let (store, dir, now) = rig().await;
        let mut tx = store.begin().await.unwrap();
        Db::Write(&mut tx)
            .entities()
            .delete(ACCOUNT, RULE, "periodic")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let up = Fake::new(false);
        assert_eq!(run_due(&store, now, None, &up).await.unwrap(), 0);
        assert!(up.events.lock().unwrap().is_empty());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(2), Duration::seconds(20));
        assert_eq!(backoff(4), Duration::seconds(80));
    }
}
