//! Shield's background work: `shield-attacks` (every node) stores what the node's tracker
//! observed, ends attacks that went quiet, and, at its first round, ends the attacks a
//! stopped node left open; `shield-automatic-response` (one node) places and removes the
//! automatic response's rules.

use std::{sync::atomic::AtomicBool, sync::atomic::Ordering, time::Duration};

use rampart_services::shield::{attacks, automatic};

use crate::{
    app::App,
    jobs::{Job, Scope, StepFuture},
};

/// Stores the tracker's attacks.
#[derive(Default)]
pub struct AttackRecording {
    started: AtomicBool,
}

impl Job for AttackRecording {
    fn name(&self) -> &'static str {
        "shield-attacks"
    }

    fn scope(&self) -> Scope {
        Scope::Node
    }

    fn period(&self) -> Duration {
        Duration::from_millis(500)
    }

    fn step<'a>(
        &'a self,
        app: &'a App,
        _lease: Option<&'a rampart_store::Lease>,
    ) -> StepFuture<'a> {
        Box::pin(async move {
            let now = app.clock.now().timestamp();
            let quiet = app.shield.settings.attack_quiet_secs;
            if !self.started.load(Ordering::Relaxed) {
                let accounts = rampart_services::elbv2::model::accounts(
                    &mut rampart_services::Db::Read(&app.store),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.code()))?;
                attacks::close_stale(&app.store, &accounts, now, quiet)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.code()))?;
                self.started.store(true, Ordering::Relaxed);
            }
            let drained = app.shield.tracker.drain(now, quiet);
            if let Err(e) = attacks::record(&app.store, &drained).await {
                tracing::warn!(code = e.code(), "shield: attacks not stored");
                return Err(anyhow::anyhow!("{}", e.code()));
            }
            Ok(())
        })
    }
}

/// The automatic response.
pub struct AutomaticResponse;

impl Job for AutomaticResponse {
    fn name(&self) -> &'static str {
        "shield-automatic-response"
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a rampart_store::Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            automatic::respond(
                &app.store,
                lease,
                app.shield.settings.mitigation_limit,
                app.clock.now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.code()))?;
            Ok(())
        })
    }
}
