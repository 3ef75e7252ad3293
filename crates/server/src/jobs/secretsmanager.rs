//! Secrets Manager's due work: destroys secrets whose recovery window ended, runs the
//! rotations asked for or come due (through the registered hooks, [`super::lambda_hooks`]),
//! and copies primaries to their replicas in other regions.
//! What is due is indexed in the store and read on the request clock.

use std::time::Duration;

use rampart_services::{
    secretsmanager::{
        replication::Replicator,
        rotation_run::{Rotator, StepCall, StepFuture as RotationStep},
    },
    Authorizer, CallContext,
};
use rampart_store::{AuditRecord, Lease};

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

/// The rotation job's name (`POST /_rampart/clock` runs it at once).
pub const ROTATION: &str = "secretsmanager-rotation";

/// Secrets Manager's rotations.
#[derive(Debug)]
pub struct SecretsRotation;

impl Job for SecretsRotation {
    fn name(&self) -> &'static str {
        ROTATION
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    /// Short: `RotateSecret` starts a rotation that should run at once, as in AWS.
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let strategies = Strategies {
                app,
                hooks: &app.lambda_hooks,
            };
            let ran = rampart_services::secretsmanager::rotation_run::run_due(
                &app.store,
                app.clock.now(),
                lease,
                &strategies,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if ran > 0 {
                tracing::info!(ran, "secrets manager rotations run");
            }
            Ok(())
        })
    }
}

/// The rotation strategies: built-in ones by their reserved function names, hooks otherwise.
struct Strategies<'a> {
    app: &'a App,
    hooks: &'a super::lambda_hooks::Hooks,
}

impl Rotator for Strategies<'_> {
    fn step<'a>(&'a self, call: &'a StepCall) -> RotationStep<'a> {
        let builtin = super::rotation_builtin::function_name(&call.lambda_arn)
            .is_some_and(|n| n.starts_with(super::rotation_builtin::BUILTIN_PREFIX));
        if builtin {
            Box::pin(super::rotation_builtin::step(self.app, call))
        } else {
            self.hooks.step(call)
        }
    }
}

/// The replication job's name.
pub const REPLICATION: &str = "secretsmanager-replication";

/// Secrets Manager's replication: every replica `InProgress` is brought in step with its
/// primary, its values sealed again in its region (as AWS does, asynchronously).
#[derive(Debug)]
pub struct SecretsReplication;

impl Job for SecretsReplication {
    fn name(&self) -> &'static str {
        REPLICATION
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    /// Short: a change reaches the replicas within about a second.
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let arc = app
                .me
                .upgrade()
                .ok_or_else(|| anyhow::anyhow!("the server is stopping"))?;
            let replicator = Replication {
                app,
                authorizer: Authorizer::new(arc),
            };
            let synced = rampart_services::secretsmanager::replication::run_due(
                &app.store,
                app.clock.now(),
                lease,
                &replicator,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if synced > 0 {
                tracing::info!(synced, "secrets manager replicas brought in sync");
            }
            Ok(())
        })
    }
}

/// The replication's KMS calls: made as Secrets Manager for the owning account (its root
/// principal, through Secrets Manager), and audited as the built-in rotation's are.
struct Replication<'a> {
    app: &'a App,
    authorizer: Authorizer,
}

impl Replicator for Replication<'_> {
    fn context(&self, account: &str, region: &str) -> CallContext {
        super::rotation_builtin::service_context(self.app, account, region, self.authorizer.clone())
    }

    fn records(&self, ctx: &CallContext) -> Vec<AuditRecord> {
        ctx.side_calls
            .take()
            .iter()
            .map(|side| super::rotation_builtin::side_record(ctx, side))
            .collect()
    }
}
