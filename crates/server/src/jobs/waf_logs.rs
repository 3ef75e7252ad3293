//! AWS WAF's log delivery: every five minutes of the request clock, each web ACL's log
//! records of the window just ended (this node's WAF log buffer, filled by the listeners)
//! become one gzipped file of JSON lines in the logging configuration's bucket, under AWS's
//! key layout, written as `delivery.logs.amazonaws.com` (`jobs::log_files`): the bucket
//! policy AWS documents for log delivery decides.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rampart_services::{log_buffer::Batch, wafv2::model, Principal, ServiceError};

use super::{
    log_files::{self, LogFile},
    Job, Scope, StepFuture,
};
use crate::{app::App, listeners::WafLogs};

/// The job's name.
pub const NAME: &str = "waf-log-delivery";
/// The service principal that writes the files.
pub const SERVICE_PRINCIPAL: &str = "delivery.logs.amazonaws.com";

/// WAF's log delivery job (per node: each node delivers what its listeners logged).
pub struct WafLogDelivery {
    /// The listeners' WAF log buffer.
    pub buffer: Arc<WafLogs>,
}

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
        Box::pin(log_files::deliver_due(
            app,
            self.buffer.as_ref(),
            "WAF",
            file,
        ))
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

/// The file of one batch: the web ACL's window, in its configuration's bucket.
fn file(batch: &Batch<(String, String)>) -> Result<LogFile, ServiceError> {
    let (web_acl, bucket) = &batch.destination;
    let (_, region, _, name, _) = model::parse_arn(web_acl).ok_or_else(ServiceError::internal)?;
    let account = web_acl.split(':').nth(4).unwrap_or_default().to_string();
    let window = log_files::window_start(batch.window)?;
    let hash = uuid::Uuid::new_v4().simple().to_string();
    let key = object_key(
        &account,
        &region,
        &name,
        window,
        hash.get(..8).unwrap_or_default(),
    );
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
    Ok(LogFile {
        writers: vec![Principal::service(SERVICE_PRINCIPAL, &account)],
        agent: SERVICE_PRINCIPAL,
        account,
        region,
        bucket: bucket.clone(),
        key,
        content_type: "application/json",
        keys,
    })
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
