//! AWS Config's delivery: for every delivery channel of an account whose recorder runs, the
//! snapshots asked by `DeliverConfigSnapshot` or due at the channel's `deliveryFrequency`, and
//! the history files due every six hours, written to the channel's bucket through S3's own
//! `PutObject` as `config.amazonaws.com` (`pipeline::service_put`: the bucket policy decides,
//! the bucket's default encryption or the channel's `s3KmsKeyArn` applies). A channel's files
//! and its delivery state commit in one transaction; a refused write is noted as the
//! delivery's failure (`DescribeDeliveryChannelStatus`) and retried on the next round.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::{
    config::delivery::{self, Channel, DueFile},
    trails::logfile::gzip,
    Authorizer, CallContext, Db, ServiceError,
};
use rampart_store::Lease;
use serde_json::json;

use super::due::{self, DueJob, RoundFuture};
use crate::{app::App, pipeline::service_put};

/// The job's name.
pub const NAME: &str = "config-delivery";

/// Config's delivery job, every second.
pub const JOB: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(1),
    "config delivery round done",
    round,
);

/// Delivers what is due for every channel of every recording account; a channel whose
/// delivery fails is logged and tried again next round.
fn round<'a>(app: &'a App, _now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let run = Run {
            app,
            lease,
            authorizer: due::authorizer(app)?,
        };
        let (mut files, mut failed) = (0, 0);
        for account in delivery::recording_accounts(&mut Db::Read(&app.store)).await? {
            for ch in delivery::channels(&mut Db::Read(&app.store), &account).await? {
                match run.channel(&ch).await {
                    Ok(written) => files += written,
                    Err(err) => {
                        failed += 1;
                        tracing::warn!(account = %ch.account, channel = %ch.key,
                            error = %err.message, "config delivery failed");
                    }
                }
            }
        }
        Ok(vec![("files", files), ("failed", failed)])
    })
}

/// One round's shared state.
struct Run<'a> {
    app: &'a App,
    lease: Option<&'a Lease>,
    authorizer: Authorizer,
}

impl Run<'_> {
    /// The context of Config's own calls for `ch`.
    fn context(&self, ch: &Channel) -> CallContext {
        service_put::service_context(
            self.app,
            self.authorizer.clone(),
            delivery::SERVICE_PRINCIPAL,
            &ch.account,
            &ch.region,
        )
    }

    /// Delivers what is due for `ch`, files and state in one transaction; returns how many
    /// files it wrote.
    async fn channel(&self, ch: &Channel) -> Result<usize, ServiceError> {
        let now = self.app.clock.now();
        let files = delivery::due(&mut Db::Read(&self.app.store), ch, now).await?;
        let mut tx = self.app.store.begin_fenced(self.lease).await?;
        let mut written = Vec::new();
        let mut outcome = Ok(());
        for f in &files {
            match self.put(ch, f, &mut tx).await {
                Ok(w) => written.push(w),
                Err(err) => {
                    outcome = Err((f.snapshot.is_some(), err));
                    break;
                }
            }
        }
        let committed = match outcome {
            Ok(()) => {
                delivery::delivered(&mut Db::Write(&mut tx), ch, &files, now).await?;
                tx.commit().await.map_err(ServiceError::from)
            }
            Err((snapshot, err)) => {
                drop(tx);
                for w in written.drain(..) {
                    w.settle(false);
                }
                self.note_failure(ch, snapshot, &err, now).await;
                return Err(err);
            }
        };
        let ok = committed.is_ok();
        for w in written {
            w.settle(ok);
        }
        committed.map(|()| files.len())
    }

    /// Puts one file in `tx`.
    async fn put(
        &self,
        ch: &Channel,
        f: &DueFile,
        tx: &mut rampart_store::Tx,
    ) -> Result<service_put::Written, ServiceError> {
        let gz = gzip(&f.body).map_err(|_| ServiceError::internal())?;
        let mut input = json!({
            "Bucket": ch.bucket,
            "Key": f.key,
            "ContentType": "application/json",
            "ContentEncoding": "gzip",
            "ACL": "bucket-owner-full-control",
        });
        if let (Some(kms), Some(obj)) = (&ch.kms_key, input.as_object_mut()) {
            obj.insert("ServerSideEncryption".into(), json!("aws:kms"));
            obj.insert("SSEKMSKeyId".into(), json!(kms));
        }
        let keys = vec![(
            "s3:x-amz-acl".to_string(),
            vec!["bucket-owner-full-control".to_string()],
        )];
        service_put::put_object(
            self.app,
            self.context(ch),
            input,
            gz,
            &keys,
            &ch.account,
            tx,
        )
        .await
    }

    /// Notes a refused delivery in the channel's state.
    async fn note_failure(
        &self,
        ch: &Channel,
        snapshot: bool,
        err: &ServiceError,
        now: DateTime<Utc>,
    ) {
        let result = async {
            let mut tx = self.app.store.begin_fenced(self.lease).await?;
            let error = (err.code, err.message.as_str());
            delivery::failed(&mut Db::Write(&mut tx), ch, snapshot, error, now).await?;
            tx.commit().await?;
            Ok::<(), ServiceError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e.message, "config delivery error not recorded");
        }
    }
}
