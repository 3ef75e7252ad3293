//! Secrets Manager's due work: destroys secrets whose recovery window ended, runs the
//! rotations asked for or come due (through the registered hooks, [`super::lambda_hooks`]),
//! and copies primaries to their replicas in other regions.
//! What is due is indexed in the store and read on the request clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::{
    secretsmanager::{
        deletion,
        replication::{self, Replicator},
        rotation_run::{self, Rotator, StepCall, StepFuture as RotationStep},
    },
    Authorizer, CallContext,
};
use rampart_store::{AuditRecord, Lease};

use super::due::{self, DueJob, RoundFuture};
use crate::app::App;

/// The job's name (`POST /_rampart/clock` runs it at once).
pub const NAME: &str = "secretsmanager-due";

/// The end of Secrets Manager's recovery windows, every minute.
pub const DUE: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(60),
    "secrets manager due work done",
    deletions,
);

fn deletions<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let destroyed = deletion::run_due(&app.store, now, lease).await?;
        Ok(vec![("destroyed", destroyed)])
    })
}

/// The rotation job's name (`POST /_rampart/clock` runs it at once).
pub const ROTATION: &str = "secretsmanager-rotation";

/// Secrets Manager's rotations, every second: `RotateSecret` starts a rotation that should
/// run at once, as in AWS.
pub const ROTATIONS: DueJob = DueJob::new(
    ROTATION,
    Duration::from_secs(1),
    "secrets manager rotations run",
    rotations,
);

fn rotations<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let strategies = Strategies {
            app,
            hooks: &app.lambda_hooks,
        };
        let ran = rotation_run::run_due(&app.store, now, lease, &strategies).await?;
        Ok(vec![("ran", ran)])
    })
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

/// Secrets Manager's replication, every second: every replica `InProgress` is brought in
/// step with its primary, its values sealed again in its region (as AWS does,
/// asynchronously), so a change reaches the replicas within about a second.
pub const REPLICATIONS: DueJob = DueJob::new(
    REPLICATION,
    Duration::from_secs(1),
    "secrets manager replicas brought in sync",
    replications,
);

fn replications<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let replicator = Replication {
            app,
            authorizer: due::authorizer(app)?,
        };
        let synced = replication::run_due(&app.store, now, lease, &replicator).await?;
        Ok(vec![("synced", synced)])
    })
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
            .map(|side| super::rotation_builtin::side_record(self.app, ctx, side))
            .collect()
    }
}
