//! IAM Access Analyzer's re-analysis: a consumer of the audit stream that hands the records of
//! successful writes to IAM, KMS, Secrets Manager, S3, S3 Control and Organizations to
//! `rampart_accessanalyzer::react`, which analyses the resources they changed again for every
//! analyzer covering them. The findings commit with the consumer's cursor, so each change is
//! analysed exactly once, within a round (a second) of its call.

use rampart_services::{accessanalyzer::react, Db};
use rampart_store::StreamBatch;
use serde_json::Value;

use super::consumer::{HandleFuture, StreamConsumer};
use crate::app::App;

/// The consumer's name (its cursor's and its job's).
pub const NAME: &str = "access-analyzer";

/// The services whose writes can change what a resource grants.
const SOURCES: &[&str] = &[
    "iam.amazonaws.com",
    "kms.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "s3.amazonaws.com",
    "s3control.amazonaws.com",
    "organizations.amazonaws.com",
];

/// The re-analysis consumer.
pub struct Reanalysis;

impl StreamConsumer for Reanalysis {
    fn name(&self) -> &'static str {
        NAME
    }

    fn changes_only(&self) -> bool {
        true
    }

    fn handle<'a>(&'a self, app: &'a App, batch: &'a mut StreamBatch) -> HandleFuture<'a> {
        Box::pin(async move {
            let events: Vec<Value> = batch
                .records()
                .iter()
                .map(|r| &r.event.record)
                .filter(|r| {
                    !r.read_only
                        && r.error_code.is_none()
                        && SOURCES.contains(&r.event_source.as_str())
                })
                .filter_map(|r| serde_json::from_str(&r.event_json).ok())
                .collect();
            if events.is_empty() {
                return Ok(());
            }
            let now = app.clock.now();
            react::react(&mut Db::Write(batch.tx()), &events, now)
                .await
                .map_err(|e| anyhow::anyhow!("access analysis failed: {}", e.message))
        })
    }
}
