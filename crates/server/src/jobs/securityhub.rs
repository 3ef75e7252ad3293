//! Security Hub's background work: every enabled control of every hub run on what AWS
//! Config records, its findings written or archived as the results change; and the findings
//! of the AWS integrations (GuardDuty, Config, IAM Access Analyzer) delivered to every hub.

use std::time::Duration;

use rampart_store::Lease;

use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "securityhub-controls";

/// Security Hub's control evaluation.
#[derive(Debug)]
pub struct SecurityHubControls;

impl Job for SecurityHubControls {
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
            rampart_services::securityhub::controls::run(&app.store, app.clock.now(), lease)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
    }
}

/// The import job's name (`POST /_rampart/clock` runs it at once).
pub const IMPORTS: &str = "securityhub-imports";

/// Delivery of the AWS integrations' findings (`rampart_securityhub::imports`).
#[derive(Debug)]
pub struct SecurityHubImports;

impl Job for SecurityHubImports {
    fn name(&self) -> &'static str {
        IMPORTS
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            rampart_services::securityhub::imports::run(&app.store, app.clock.now(), lease)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
    }
}
