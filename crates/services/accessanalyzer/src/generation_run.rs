//! Policy generation's run (the server's `access-analyzer-policy-generation` job): each job
//! of the due index whose window has ended is read from the audit trail (its account, at most
//! [`MAX_RECORDS`] records, outside any transaction), then stored `SUCCEEDED` in one
//! transaction that first takes the job's due entry ([`model::take_generation_due`]): a job
//! canceled meanwhile has none, stays `CANCELED`, and what was read is discarded. A principal deleted meanwhile fails the job with
//! `RESOURCE_NOT_FOUND_ERROR`.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError, trail_principal::TrailPrincipal};
use rampart_store::{Lease, LookupQuery, Store, MAX_PAGE};

use crate::{
    generations::{JobDoc, IN_PROGRESS},
    model,
    policygen::{self, Actions, Resources},
};

/// Most audit records one generation reads.
pub const MAX_RECORDS: usize = 100_000;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Jobs that succeeded.
    pub succeeded: usize,
    /// Jobs that failed.
    pub failed: usize,
    /// Jobs found canceled (their entry removed).
    pub canceled: usize,
}

/// Runs every due job whose window has ended by `now`.
pub async fn run_due(
    store: &Store,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<RunReport, ServiceError> {
    let mut report = RunReport::default();
    let due = model::all(
        &mut Db::Read(store),
        model::SYSTEM_ACCOUNT,
        model::GENERATION_DUE,
        "/",
    )
    .await?;
    for entry in due {
        let Some((account, id)) = entry.name_key.split_once('/') else {
            continue;
        };
        let stored = store
            .entities()
            .get(account, model::POLICY_GENERATION, id)
            .await?;
        let pending = match &stored {
            Some(e) => {
                let doc: JobDoc = entity::read_doc(e)?;
                (doc.status == IN_PROGRESS).then_some(doc)
            }
            None => None,
        };
        let outcome = match &pending {
            Some(doc) if doc.end_time > now => continue,
            Some(doc) => Some(read_trail(store, account, doc).await?),
            None => None,
        };
        let mut tx = store.begin_fenced(lease).await?;
        let mut db = Db::Write(&mut tx);
        // Taking the entry first decides the race with a cancel: a job canceled meanwhile
        // has no entry left, and a cancel coming now waits for this transaction and then
        // finds none.
        let taken = model::take_generation_due(&mut db, account, id).await?;
        let current = db
            .entities()
            .get(account, model::POLICY_GENERATION, id)
            .await?;
        match (taken, current, outcome) {
            (true, Some(e), Some(outcome)) => {
                let mut doc: JobDoc = entity::read_doc(&e)?;
                if doc.status == IN_PROGRESS {
                    complete(&mut doc, outcome, now);
                    if doc.status == "SUCCEEDED" {
                        report.succeeded += 1;
                    } else {
                        report.failed += 1;
                    }
                    entity::save_doc(&mut db, e, &doc, now).await?;
                }
            }
            _ => report.canceled += 1,
        }
        tx.commit().await?;
    }
    Ok(report)
}

/// What reading a job's window found: the actions and whether the window was read whole, or
/// the `JobError` code and message.
type Outcome = Result<(Actions, Resources, bool), (String, String)>;

/// Stores an outcome in the job.
fn complete(doc: &mut JobDoc, outcome: Outcome, now: DateTime<Utc>) {
    doc.completed_on = Some(now);
    match outcome {
        Ok((actions, resources, complete)) => {
            doc.status = "SUCCEEDED".into();
            doc.actions = actions;
            doc.resources = resources;
            doc.complete = complete;
        }
        Err(error) => {
            doc.status = "FAILED".into();
            doc.error = Some(error);
        }
    }
}

/// Reads the job's window of its account's audit trail.
async fn read_trail(store: &Store, account: &str, doc: &JobDoc) -> Result<Outcome, ServiceError> {
    let Some(principal) = TrailPrincipal::of_arn(&doc.principal_arn) else {
        return Ok(Err(("SERVICE_ERROR".into(), "Invalid principalArn".into())));
    };
    if !principal_exists(store, account, &doc.principal_arn).await? {
        return Ok(Err((
            "RESOURCE_NOT_FOUND_ERROR".into(),
            format!("The principal {} does not exist", doc.principal_arn),
        )));
    }
    let mut query = LookupQuery {
        account_id: Some(account.to_string()),
        start_time: Some(doc.start_time),
        end_time: Some(doc.end_time),
        max_results: MAX_PAGE,
        ..Default::default()
    };
    let mut actions = Actions::new();
    let mut resources = Resources::new();
    let mut read = 0usize;
    let complete = loop {
        let page = store.lookup_events(&query).await?;
        for e in &page.events {
            policygen::note(
                &mut actions,
                &mut resources,
                &principal,
                &e.record.event_json,
            );
        }
        read += page.events.len();
        match page.next_token {
            None => break true,
            Some(_) if read >= MAX_RECORDS => break false,
            next => query.next_token = next,
        }
    };
    Ok(Ok((actions, resources, complete)))
}

/// Whether the role or user an ARN names exists in `account`.
async fn principal_exists(store: &Store, account: &str, arn: &str) -> Result<bool, ServiceError> {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    let kind = if resource.starts_with("role/") {
        rampart_iam::model::ROLE
    } else {
        rampart_iam::model::USER
    };
    let name = resource.rsplit('/').next().unwrap_or_default();
    let found = store
        .entities()
        .get(account, kind, &rampart_iam::model::name_key(name))
        .await?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_completes_the_job_as_succeeded_or_failed() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let mut doc = JobDoc {
            status: IN_PROGRESS.into(),
            ..Default::default()
        };
        let mut actions = Actions::new();
        actions
            .entry("iam".into())
            .or_default()
            .insert("iam:GetRole".into());
        complete(&mut doc, Ok((actions.clone(), Resources::new(), true)), now);
        assert_eq!(doc.status, "SUCCEEDED");
        assert_eq!(doc.actions, actions);
        assert!(doc.complete);
        assert_eq!(doc.completed_on, Some(now));

        let mut failed = JobDoc::default();
        complete(
            &mut failed,
            Err(("RESOURCE_NOT_FOUND_ERROR".into(), "gone".into())),
            now,
        );
        assert_eq!(failed.status, "FAILED");
        assert_eq!(
            failed.error,
            Some(("RESOURCE_NOT_FOUND_ERROR".into(), "gone".into()))
        );
        assert!(failed.actions.is_empty());
    }
}
