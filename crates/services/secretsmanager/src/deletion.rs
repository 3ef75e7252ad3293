//! The end of recovery windows: [`run_due`] destroys every secret whose window has ended,
//! one transaction each, with the service events AWS records for it
//! (`StartSecretVersionDelete`, `EndSecretVersionDelete`). What is due is indexed in the store
//! (see [`super::repo`]), so the schedule survives restarts, and it is read on the request
//! clock, so the dev clock moves it.

use chrono::{DateTime, Utc};
use rampart_store::{Lease, Store};

use super::{
    error::SmResult,
    model::{DUE_ACCOUNT, DUE_KIND},
    repo,
};
use rampart_cloudtrail::service_event::ServiceEvent;
use rampart_kit::db::Db;

/// The event source of Secrets Manager's own work.
const SECRETS_MANAGER: &str = "secretsmanager.amazonaws.com";

/// Destroys the secrets whose recovery window ended by `now`; returns how many. Under a job
/// `lease`, each transaction commits only while the lease is still current.
pub async fn run_due(store: &Store, now: DateTime<Utc>, lease: Option<&Lease>) -> SmResult<usize> {
    let mut destroyed = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entities()
            .list(DUE_ACCOUNT, DUE_KIND, "/", after.as_deref(), 100)
            .await?;
        for entry in &page.items {
            let mut tx = store.begin_fenced(lease).await?;
            let mut events = Vec::new();
            let mut db = Db::Write(&mut tx);
            let secret = match db.entities().get_by_id(&entry.name_key).await? {
                Some(e) => Some(repo::parse(e)?),
                None => None,
            };
            match secret {
                Some(s) if repo::is_destroyed(&s.doc, now) => {
                    repo::destroy(&mut db, &s).await?;
                    for name in ["StartSecretVersionDelete", "EndSecretVersionDelete"] {
                        let event = ServiceEvent {
                            source: SECRETS_MANAGER,
                            name,
                            account_id: s.account(),
                            region: &s.doc.region,
                            time: now,
                            resources: vec![("AWS::SecretsManager::Secret", s.arn())],
                            details: None,
                        };
                        events.push(event.to_record());
                    }
                    tracing::info!(secret = %s.arn(), "secret deleted at the end of its recovery window");
                    destroyed += 1;
                }
                Some(s) if s.doc.deletion_date.is_some() => {}
                _ => {
                    db.entities()
                        .delete(DUE_ACCOUNT, DUE_KIND, &entry.name_key)
                        .await?;
                }
            }
            tx.append_audit_batch(&events).await?;
            tx.commit().await?;
        }
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    Ok(destroyed)
}
