//! Secrets Manager's due work: destroys secrets whose recovery window ended, and runs the
//! rotations asked for or come due (through the registered hooks, [`super::rotation_hooks`]).
//! What is due is indexed in the store and read on the request clock.

use std::time::Duration;

use rampart_services::secretsmanager::rotation_run::{
    Rotator, StepCall, StepFuture as RotationStep,
};
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
            let hooks = super::rotation_hooks::Hooks::parse(&app.config.rotation_hooks)?;
            let strategies = Strategies { app, hooks };
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
    hooks: super::rotation_hooks::Hooks,
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
