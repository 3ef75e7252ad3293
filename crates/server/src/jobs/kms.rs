//! KMS's due work: destroys keys whose deletion window ended, rotates keys whose automatic
//! rotation is due and expires imported material, each change with its CloudTrail event. What
//! is due is indexed in the store and read on the request clock.

use std::time::Duration;

use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "kms-due";

/// KMS deletion, rotation and material expiry.
#[derive(Debug)]
pub struct KmsDue;

impl Job for KmsDue {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    fn period(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let r = rampart_services::kms::deletion::run_due(&app.store, app.clock.now(), lease)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if r != Default::default() {
                tracing::info!(
                    destroyed = r.destroyed,
                    rotated = r.rotated,
                    expired = r.expired,
                    "kms due work done"
                );
            }
            Ok(())
        })
    }
}
