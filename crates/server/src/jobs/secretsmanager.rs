//! Secrets Manager's due work: destroys secrets whose recovery window ended. What is due is
//! indexed in the store and read on the request clock.

use std::time::Duration;

use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "secretsmanager-due";

/// The end of Secrets Manager's recovery windows.
#[derive(Debug)]
pub struct SecretsDue;

impl Job for SecretsDue {
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
            let destroyed = rampart_services::secretsmanager::deletion::run_due(
                &app.store,
                app.clock.now(),
                lease,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if destroyed > 0 {
                tracing::info!(destroyed, "secrets manager due work done");
            }
            Ok(())
        })
    }
}
