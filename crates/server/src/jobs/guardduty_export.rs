//! GuardDuty's export of findings to publishing destinations: for every destination whose
//! export is due (`rampart_services::guardduty::export`), the new and updated findings of its
//! detector are written to its bucket through S3's own `PutObject` as
//! `guardduty.amazonaws.com` (`pipeline::service_put`: the bucket policy decides, and the
//! object is encrypted with the destination's KMS key, whose key policy must let GuardDuty
//! use it). The object and the destination's state commit in one transaction; a refused write
//! sets the destination's status to `UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY`, and the
//! next round tries again.

use std::time::Duration;

use chrono::{DateTime, Utc};

use rampart_services::{
    guardduty::export::{self, Due},
    trails::logfile::gzip,
    Authorizer, Db, ServiceError,
};
use rampart_store::Lease;
use serde_json::json;

use super::due::{self, DueJob, RoundFuture};
use crate::{app::App, pipeline::service_put};

/// The job's name.
pub const NAME: &str = "guardduty-export";

/// GuardDuty's export job, every second.
pub const JOB: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(1),
    "guardduty export round done",
    round,
);

/// Exports what is due for every indexed destination; a destination whose export fails is
/// logged and tried again next round.
fn round<'a>(app: &'a App, _now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let authorizer = due::authorizer(app)?;
        let mut failed = 0;
        for (account, id) in export::indexed(&mut Db::Read(&app.store)).await? {
            if let Err(err) = destination(app, lease, &authorizer, &account, &id).await {
                failed += 1;
                tracing::warn!(%account, destination = %id, error = %err.message,
                    "guardduty export failed");
            }
        }
        Ok(vec![("failed", failed)])
    })
}

/// Exports what is due for one destination.
async fn destination(
    app: &App,
    lease: Option<&Lease>,
    authorizer: &Authorizer,
    account: &str,
    id: &str,
) -> Result<(), ServiceError> {
    let now = app.clock.now();
    let Some(due) = export::due(&mut Db::Read(&app.store), account, id, now).await? else {
        return Ok(());
    };
    let mut tx = app.store.begin_fenced(lease).await?;
    if due.body.is_empty() {
        export::exported(&mut Db::Write(&mut tx), &due, false, now).await?;
        return tx.commit().await.map_err(ServiceError::from);
    }
    match put(app, authorizer, &due, &mut tx).await {
        Ok(written) => {
            let committed = match export::exported(&mut Db::Write(&mut tx), &due, true, now).await {
                Ok(()) => tx.commit().await.map_err(ServiceError::from),
                Err(err) => Err(err),
            };
            written.settle(committed.is_ok());
            committed
        }
        Err(err) => {
            drop(tx);
            note_failure(app, lease, &due, now).await?;
            Err(err)
        }
    }
}

/// Writes the export's object in `tx`.
async fn put(
    app: &App,
    authorizer: &Authorizer,
    due: &Due,
    tx: &mut rampart_store::Tx,
) -> Result<service_put::Written, ServiceError> {
    let account = due.detector.account();
    let gz = gzip(&due.body).map_err(|_| ServiceError::internal())?;
    let input = json!({
        "Bucket": due.bucket,
        "Key": due.key,
        "ContentType": "application/x-ndjson",
        "ContentEncoding": "gzip",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": due.destination.doc.kms_key_arn,
    });
    let ctx = service_put::service_context(
        app,
        authorizer.clone(),
        export::SERVICE_PRINCIPAL,
        account,
        &due.destination.doc.region,
    )
    .for_source(&due.detector.entity.arn);
    service_put::put_object(app, ctx, input, gz, &[], account, tx).await
}

/// Notes a refused export in the destination's state.
async fn note_failure(
    app: &App,
    lease: Option<&Lease>,
    due: &Due,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    let mut tx = app.store.begin_fenced(lease).await?;
    export::failed(&mut Db::Write(&mut tx), due, now).await?;
    tx.commit().await.map_err(ServiceError::from)
}
