//! Elastic Load Balancing's access log delivery: every five minutes of the request clock,
//! each load balancer's entries of the window just ended (this node's access log buffer,
//! filled by the listeners) become one gzipped file in its access log bucket, under AWS's key
//! layout (`elbv2::access_log::object_key`, with the listener address as the node's address),
//! written through S3's own `PutObject` as `logdelivery.elasticloadbalancing.amazonaws.com`,
//! or, when the bucket policy names the regional Elastic Load Balancing account instead (the
//! form AWS documents for regions opened before August 2022), as that account
//! (`jobs::log_files`).

use std::{sync::Arc, time::Duration};

use rampart_services::{
    elbv2::{access_log, runtime::AccessLogSpec},
    log_buffer::{Batch, WINDOW_SECS},
    ServiceError,
};

use super::{
    log_files::{self, LogFile},
    Job, Scope, StepFuture,
};
use crate::{app::App, listeners::AccessLogs};

/// The job's name.
pub const NAME: &str = "elb-access-log-delivery";

/// ELB's access log delivery job (per node: each node delivers what its listeners logged).
pub struct AccessLogDelivery {
    /// The listeners' access log buffer.
    pub buffer: Arc<AccessLogs>,
}

impl Job for AccessLogDelivery {
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
        let node = app.config.listener_address.to_string();
        Box::pin(log_files::deliver_due(
            app,
            self.buffer.as_ref(),
            "ELB access",
            move |batch| file(batch, &node),
        ))
    }
}

/// The file of one batch: the load balancer's window, in its access log bucket.
fn file(batch: &Batch<AccessLogSpec>, node: &str) -> Result<LogFile, ServiceError> {
    let spec = &batch.destination;
    let mut arn = spec.load_balancer_arn.split(':');
    let region = arn.nth(3).unwrap_or_default().to_string();
    let account = arn.next().unwrap_or_default().to_string();
    let end = log_files::window_start(batch.window.saturating_add(WINDOW_SECS))?;
    let random = uuid::Uuid::new_v4().simple().to_string();
    let key = access_log::object_key(
        &spec.prefix,
        &account,
        &region,
        &spec.load_balancer_arn,
        end,
        node,
        random.get(..8).unwrap_or_default(),
    );
    Ok(LogFile {
        writers: access_log::writers(&account, &region, &spec.load_balancer_arn),
        agent: access_log::SERVICE_PRINCIPAL,
        account,
        region,
        bucket: spec.bucket.clone(),
        key,
        content_type: "text/plain",
        keys: access_log::write_keys(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_becomes_a_file_under_the_interval_it_ends() {
        let batch = Batch {
            destination: AccessLogSpec {
                load_balancer_arn: "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/0123456789abcdef".into(),
                bucket: "logs".into(),
                prefix: "p".into(),
            },
            window: 1_392_507_300,
            lines: vec!["x".into()],
        };
        let f = file(&batch, "127.0.0.1").unwrap();
        assert!(f.key.starts_with(
            "p/AWSLogs/111122223333/elasticloadbalancing/us-east-1/2014/02/15/\
             111122223333_elasticloadbalancing_us-east-1_app.web.0123456789abcdef_20140215T2340Z_127.0.0.1_"
        ), "{}", f.key);
        assert_eq!(
            (f.account.as_str(), f.region.as_str()),
            ("111122223333", "us-east-1")
        );
        assert_eq!(
            f.writers.len(),
            2,
            "the service principal, then us-east-1's ELB account"
        );
        assert_eq!(f.writers[1].account_id, "127311923021");
    }
}
