//! The KMS scheduler task: destroys keys whose deletion window ended, rotates keys whose
//! automatic rotation is due and expires imported material. Its work list lives in the store,
//! so what is due survives restarts; the task runs once at start, then every minute.

use std::{sync::Arc, time::Duration};

use crate::app::App;

/// How often the scheduler looks for due work.
const PERIOD: Duration = Duration::from_secs(60);

/// Runs everything due now on the server's clock.
pub async fn tick(app: &App) {
    match rampart_services::kms::deletion::run_due(&app.store, app.clock.now()).await {
        Ok(r) if r != Default::default() => tracing::info!(
            destroyed = r.destroyed,
            rotated = r.rotated,
            expired = r.expired,
            "kms scheduler ran"
        ),
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "kms scheduler failed"),
    }
}

/// Starts the periodic task; it ends when the last other reference to the app is dropped.
pub fn spawn(app: &Arc<App>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(PERIOD);
        loop {
            interval.tick().await;
            let Some(app) = weak.upgrade() else { break };
            tick(&app).await;
        }
    })
}
