//! Log files AWS services deliver to S3 from this node's log buffers (AWS WAF's logs, ELB's
//! access logs): once a five-minute window of the request clock ends, each destination's
//! records of that window become one gzipped file, written through S3's own `PutObject` as
//! the delivering service (`pipeline::service_put`), so the bucket policy AWS documents for
//! that delivery decides. A file no writer may write loses its records, which are counted
//! with those the full buffer dropped.

use chrono::{DateTime, Utc};
use rampart_services::{
    context::ContextEntry,
    log_buffer::{Batch, LogBuffer},
    trails::logfile::gzip,
    Authorizer, Principal, ServiceError,
};
use serde_json::json;

use crate::{app::App, pipeline::service_put};

/// One file to write.
pub struct LogFile {
    /// Who writes it, tried in order: the first the bucket policy lets write does.
    pub writers: Vec<Principal>,
    /// The user agent of the write (the delivering service).
    pub agent: &'static str,
    /// The account whose trail records the write (the logs' owner).
    pub account: String,
    /// The region of the logged resource.
    pub region: String,
    /// The destination bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// `Content-Type` of the uncompressed records.
    pub content_type: &'static str,
    /// Condition keys the write carries beyond its principal's.
    pub keys: Vec<ContextEntry>,
}

/// The start of a batch's window as a time.
pub fn window_start(batch_window: u64) -> Result<DateTime<Utc>, ServiceError> {
    DateTime::<Utc>::from_timestamp(i64::try_from(batch_window).unwrap_or(0), 0)
        .ok_or_else(ServiceError::internal)
}

/// Delivers every batch of `buffer` whose window has ended, one file each (`file` says
/// where and by whom); `what` names the logs in warnings.
pub async fn deliver_due<K, F>(
    app: &App,
    buffer: &LogBuffer<K>,
    what: &str,
    file: F,
) -> anyhow::Result<()>
where
    K: Ord + Clone + std::fmt::Debug,
    F: Fn(&Batch<K>) -> Result<LogFile, ServiceError>,
{
    let now = u64::try_from(app.clock.now().timestamp()).unwrap_or(0);
    let due = buffer.take_due(now);
    if due.is_empty() {
        return Ok(());
    }
    let arc = app
        .me
        .upgrade()
        .ok_or_else(|| anyhow::anyhow!("the server is stopping"))?;
    let authorizer = Authorizer::new(arc);
    for batch in due {
        let records = batch.lines.len() as u64;
        let written = match file(&batch) {
            Ok(f) => put(app, &authorizer, f, &batch.lines).await,
            Err(err) => Err(err),
        };
        if let Err(err) = written {
            buffer.count_dropped(records);
            tracing::warn!(logs = what, destination = ?batch.destination, code = err.code,
                error = %err.message, records, dropped = buffer.dropped(),
                "log delivery refused; records lost");
        }
    }
    Ok(())
}

/// Writes the records as one gzipped file, as the first writer the bucket lets write.
async fn put(
    app: &App,
    authorizer: &Authorizer,
    file: LogFile,
    lines: &[String],
) -> Result<(), ServiceError> {
    let mut body = lines.join("\n");
    body.push('\n');
    let gz = gzip(body.as_bytes()).map_err(|_| ServiceError::internal())?;
    let input = json!({
        "Bucket": file.bucket,
        "Key": file.key,
        "ContentType": file.content_type,
        "ContentEncoding": "gzip",
        "ACL": "bucket-owner-full-control",
    });
    let mut refused = ServiceError::internal();
    for writer in file.writers {
        let ctx =
            service_put::context_as(app, authorizer.clone(), writer, file.agent, &file.region);
        let mut tx = app.store.begin().await?;
        let written = match service_put::put_object(
            app,
            ctx,
            input.clone(),
            gz.clone(),
            &file.keys,
            &file.account,
            &mut tx,
        )
        .await
        {
            Ok(w) => w,
            // The next writer tries in a transaction of its own; this one rolls back.
            Err(err) if err.code == "AccessDenied" => {
                refused = err;
                continue;
            }
            Err(err) => return Err(err),
        };
        let committed = tx.commit().await.map_err(ServiceError::from);
        written.settle(committed.is_ok());
        return committed;
    }
    Err(refused)
}
