//! AWS WAF's log delivery: every five minutes of the request clock, each web ACL's log
//! records of the window just ended (this node's log buffer, filled by the listeners) become
//! one gzipped file of JSON lines in the logging configuration's bucket, under AWS's key
//! layout, written through S3's own `PutObject` as `delivery.logs.amazonaws.com`
//! (`pipeline::service_put`): the bucket policy AWS documents for log delivery decides. A
//! refused write loses the window's records, which are counted with those the full buffer
//! dropped.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::{
    trails::logfile::gzip,
    wafv2::{
        engine::log_buffer::{self, Batch},
        model,
    },
    Authorizer, ServiceError,
};
use serde_json::json;

use super::{Job, Scope, StepFuture};
use crate::{app::App, pipeline::service_put};

/// The job's name.
pub const NAME: &str = "waf-log-delivery";
/// The service principal that writes the files.
pub const SERVICE_PRINCIPAL: &str = "delivery.logs.amazonaws.com";

/// WAF's log delivery job (per node: each node delivers what its listeners logged).
#[derive(Debug)]
pub struct WafLogDelivery;

impl Job for WafLogDelivery {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Node
    }

    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(
        &'a self,
        app: &'a App,
        _lease: Option<&'a rampart_store::Lease>,
    ) -> StepFuture<'a> {
        Box::pin(async move {
            let Some(buffer) = log_buffer::installed() else {
                return Ok(());
            };
            let now = app.clock.now();
            let due = buffer.take_due(u64::try_from(now.timestamp()).unwrap_or(0));
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
                if let Err(err) = deliver(app, &authorizer, &batch).await {
                    buffer.count_dropped(records);
                    tracing::warn!(web_acl = %batch.web_acl, bucket = %batch.bucket,
                        code = err.code, error = %err.message, records,
                        dropped = buffer.dropped(), "WAF log delivery refused; records lost");
                }
            }
            Ok(())
        })
    }
}

/// The object key of a batch, in AWS's layout:
/// `AWSLogs/ACCOUNT/WAFLogs/REGION/WEBACL/YYYY/MM/DD/HH/mm/ACCOUNT_waflogs_REGION_WEBACL_YYYYMMDDTHHmmZ_HASH.log.gz`.
pub fn object_key(
    account: &str,
    region: &str,
    web_acl: &str,
    window: DateTime<Utc>,
    hash: &str,
) -> String {
    format!(
        "AWSLogs/{account}/WAFLogs/{region}/{web_acl}/{}/{account}_waflogs_{region}_{web_acl}_{}_{hash}.log.gz",
        window.format("%Y/%m/%d/%H/%M"),
        window.format("%Y%m%dT%H%MZ"),
    )
}

/// Writes one batch as one file.
async fn deliver(app: &App, authorizer: &Authorizer, batch: &Batch) -> Result<(), ServiceError> {
    let (_, region, _, name, _) =
        model::parse_arn(&batch.web_acl).ok_or_else(ServiceError::internal)?;
    let account = batch
        .web_acl
        .split(':')
        .nth(4)
        .unwrap_or_default()
        .to_string();
    let window = DateTime::<Utc>::from_timestamp(i64::try_from(batch.window).unwrap_or(0), 0)
        .ok_or_else(ServiceError::internal)?;
    let hash = uuid::Uuid::new_v4().simple().to_string();
    let key = object_key(
        &account,
        &region,
        &name,
        window,
        hash.get(..8).unwrap_or_default(),
    );
    let mut body = batch.lines.join("\n");
    body.push('\n');
    let gz = gzip(body.as_bytes()).map_err(|_| ServiceError::internal())?;
    let input = json!({
        "Bucket": batch.bucket,
        "Key": key,
        "ContentType": "application/json",
        "ContentEncoding": "gzip",
        "ACL": "bucket-owner-full-control",
    });
    let keys = vec![
        ("aws:SourceAccount".to_string(), vec![account.clone()]),
        (
            "aws:SourceArn".to_string(),
            vec![
                rampart_services::Partition::of_region(&region).arn("logs", &region, &account, "*")
            ],
        ),
        (
            "s3:x-amz-acl".to_string(),
            vec!["bucket-owner-full-control".to_string()],
        ),
    ];
    let ctx = service_put::service_context(
        app,
        authorizer.clone(),
        SERVICE_PRINCIPAL,
        &account,
        &region,
    );
    let mut tx = app.store.begin().await?;
    let written = service_put::put_object(app, ctx, input, gz, &keys, &account, &mut tx).await?;
    let committed = tx.commit().await.map_err(ServiceError::from);
    written.settle(committed.is_ok());
    committed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_aws_layout() {
        let at = DateTime::<Utc>::from_timestamp(1_635_450_600, 0).unwrap();
        assert_eq!(
            object_key("111111111111", "us-east-2", "TEST-WEBACL", at, "e0ca43b5"),
            "AWSLogs/111111111111/WAFLogs/us-east-2/TEST-WEBACL/2021/10/28/19/50/111111111111_waflogs_us-east-2_TEST-WEBACL_20211028T1950Z_e0ca43b5.log.gz"
        );
    }
}
