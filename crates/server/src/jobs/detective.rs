//! Detective's investigations: each investigation `StartInvestigation` queued is computed
//! from the audit trail, GuardDuty's threat lists and findings and the operator's geolocation
//! databases (`--geoip-city-db`, `--geoip-asn-db`), outside any transaction, then recorded
//! `SUCCESSFUL` with its indicators and severity in one fenced transaction
//! (`rampart_services::detective::run`); one that cannot be read is recorded `FAILED`. And
//! [`AutoEnable`]: organization accounts taken into the organization behavior graph.

use std::time::Duration;

use chrono::{DateTime, Utc};

use rampart_services::{
    detective::{geo::Geo, geo::Locate, org, run},
    Db,
};
use rampart_store::Lease;

use super::due::{DueJob, RoundFuture};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "detective-investigations";

/// Time between rounds: an investigation is computed within about a second of its start.
const PERIOD: Duration = Duration::from_millis(500);

/// The investigation job.
pub const INVESTIGATIONS: DueJob =
    DueJob::new(NAME, PERIOD, "investigations computed", investigations);

fn investigations<'a>(
    app: &'a App,
    now: DateTime<Utc>,
    lease: Option<&'a Lease>,
) -> RoundFuture<'a> {
    Box::pin(async move {
        let failed = |e: rampart_services::ServiceError| {
            anyhow::anyhow!("investigation failed: {}: {}", e.code, e.message)
        };
        let queued = run::pending(&mut Db::Read(&app.store))
            .await
            .map_err(failed)?;
        let geo = app
            .extensions
            .get::<std::sync::Arc<Geo>>()
            .map(|g| g.as_ref() as &dyn Locate);
        for p in &queued {
            // One investigation that cannot be computed is recorded FAILED rather than
            // holding up the ones queued after it.
            let outcome = match run::compute(&app.store, p, geo, now).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    tracing::warn!(investigation = %p.key, error = %e, "investigation failed");
                    Some(run::failed())
                }
            };
            let mut tx = app.store.begin_fenced(lease).await?;
            run::finish(&mut Db::Write(&mut tx), p, outcome, app.clock.now())
                .await
                .map_err(failed)?;
            tx.commit().await?;
        }
        Ok(vec![("investigations", queued.len())])
    })
}

/// The auto-enable job's name.
pub const AUTO_ENABLE: &str = "detective-auto-enable";

/// Time between auto-enable rounds: an account that joins the organization is a member of
/// the organization behavior graph within seconds (AWS: within an hour), and one that
/// leaves is removed as soon.
const AUTO_ENABLE_PERIOD: Duration = Duration::from_secs(2);

/// Detective's organization members kept in step with the organization: the accounts that
/// joined an organization whose Detective administrator has `AutoEnable` on become members of
/// its graph (`rampart_services::detective::org::auto_enable`, their data volumes measured
/// before the transaction), and the members that left the organization or were closed are
/// removed from it (`org::remove_departed`); each organization in its own fenced transaction,
/// opened only when there is an account to take or remove.
pub const AUTO_ENABLING: DueJob = DueJob::new(
    AUTO_ENABLE,
    AUTO_ENABLE_PERIOD,
    "organization behavior graphs kept in step",
    auto_enable,
);

fn auto_enable<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let failed = |e: rampart_services::ServiceError| {
            anyhow::anyhow!("detective auto-enable failed: {}: {}", e.code, e.message)
        };
        let (mut taken, mut removed) = (0, 0);
        for (management, region) in org::administrators(&mut Db::Read(&app.store))
            .await
            .map_err(failed)?
        {
            let measured = org::measure_joined(&app.store, &management, &region, now)
                .await
                .map_err(failed)?;
            let departed = org::departed(&mut Db::Read(&app.store), &management, &region)
                .await
                .map_err(failed)?;
            if measured.is_none() && departed.is_empty() {
                continue;
            }
            let mut tx = app.store.begin_fenced(lease).await?;
            let mut db = Db::Write(&mut tx);
            removed += org::remove_departed(&mut db, &management, &region)
                .await
                .map_err(failed)?;
            if let Some(mut volumes) = measured {
                taken += org::auto_enable(&mut db, &management, &region, &mut volumes, now)
                    .await
                    .map_err(failed)?;
            }
            tx.commit().await?;
        }
        Ok(vec![("taken", taken), ("removed", removed)])
    })
}
