//! GuardDuty's detection as an audit-stream consumer: each batch of records goes through the
//! detection rules (built in, and the operator's Sigma rules from `--sigma-rules`) of the
//! detectors that watch their accounts and regions, and the findings commit with the
//! consumer's cursor (`rampart_services::guardduty::stream`).

use std::time::Duration;

use rampart_services::guardduty::stream;
use rampart_store::StreamBatch;

use super::consumer::{HandleFuture, StreamConsumer};
use crate::app::App;

/// The consumer's (and its job's) name.
pub const NAME: &str = "guardduty-detection";

/// Time between rounds: a finding shows in `ListFindings` well within two seconds of the
/// call that caused it.
const PERIOD: Duration = Duration::from_millis(500);

/// The GuardDuty detection consumer.
pub struct GuardDutyDetection;

impl StreamConsumer for GuardDutyDetection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    fn handle<'a>(&'a self, app: &'a App, batch: &'a mut StreamBatch) -> HandleFuture<'a> {
        Box::pin(async move {
            let now = app.clock.now();
            let (records, tx) = batch.parts();
            stream::detect(tx, records, &app.sigma, now)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            Ok(())
        })
    }
}
