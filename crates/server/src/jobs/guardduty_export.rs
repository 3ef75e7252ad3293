//! GuardDuty's export of findings to publishing destinations: for every destination whose
//! export is due (`rampart_services::guardduty::export`), the new and updated findings of its
//! detector are written to its bucket through S3's own `PutObject` as
//! `guardduty.amazonaws.com` (`pipeline::service_put`: the bucket policy decides, and the
//! object is encrypted with the destination's KMS key, whose key policy must let GuardDuty
//! use it). The object and the destination's state commit in one transaction; a refused write
//! sets the destination's status to `UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY`, and the
//! next round tries again.

use std::time::Duration;

use rampart_services::{
    guardduty::export::{self, Due},
    trails::logfile::gzip,
    Authorizer, Db, ServiceError,
};
use rampart_store::Lease;
use serde_json::json;

use super::{Job, Scope, StepFuture};
use crate::{app::App, pipeline::service_put};

/// The job's name.
pub const NAME: &str = "guardduty-export";

/// GuardDuty's export job.
#[derive(Debug)]
pub struct GuardDutyExport;

impl Job for GuardDutyExport {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let arc = app
                .me
                .upgrade()
                .ok_or_else(|| anyhow::anyhow!("the server is stopping"))?;
            let authorizer = Authorizer::new(arc);
            let destinations = export::indexed(&mut Db::Read(&app.store))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for (account, id) in destinations {
                if let Err(err) = destination(app, lease, &authorizer, &account, &id).await {
                    tracing::warn!(%account, destination = %id, error = %err.message,
                        "guardduty export failed");
                }
            }
            Ok(())
        })
    }
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
    let mut tx = app.store.begin().await?;
    if let Some(lease) = lease {
        tx.jobs().fence(lease).await?;
    }
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
    let mut tx = app.store.begin().await?;
    if let Some(lease) = lease {
        tx.jobs().fence(lease).await?;
    }
    export::failed(&mut Db::Write(&mut tx), due, now).await?;
    tx.commit().await.map_err(ServiceError::from)
}
