//! Putting an event on the default bus, inside the caller's transaction: the event is matched
//! against the bus's enabled rules and one delivery per target of each matching rule is
//! enqueued in the outbox, so deliveries exist exactly when the change that caused the event
//! committed. `PutEvents` uses it; so do other services (GuardDuty findings, `source:
//! aws.guardduty`, `detail-type: GuardDuty Finding`) and the API-call events of the audit
//! stream.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_kit::db::Db;
use rampart_store::Tx;
use serde_json::{json, Value};

use crate::{
    delivery::{Delivery, OUTBOX_TARGET},
    error::{EventsError, EventsResult},
    model::{self, Rule, DEFAULT_BUS},
    pattern,
};

/// An event to put on a bus.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `source` (`aws.guardduty`, `com.example.app`).
    pub source: String,
    /// `detail-type` (`GuardDuty Finding`).
    pub detail_type: String,
    /// `detail`: a JSON object.
    pub detail: Value,
    /// `resources`: ARNs.
    pub resources: Vec<String>,
    /// `time`: when it happened.
    pub time: DateTime<Utc>,
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The event's id (the envelope's `id`).
    pub event_id: String,
    /// Deliveries enqueued (one per target of each matching rule).
    pub deliveries: usize,
}

/// AWS's event envelope.
pub fn envelope(id: &str, account: &str, region: &str, event: &Event) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": event.detail_type,
        "source": event.source,
        "account": account,
        "time": event.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": region,
        "resources": event.resources,
        "detail": event.detail,
    })
}

/// Puts `event` on the default bus of `account` in `region`: matches it against the bus's
/// enabled rules and enqueues a delivery for each of their targets, in `tx`. Deliveries are
/// due at `event.time` (the request clock of the caller).
pub async fn publish(
    tx: &mut Tx,
    account: &str,
    region: &str,
    event: &Event,
) -> EventsResult<Published> {
    let id = uuid::Uuid::new_v4().to_string();
    let envelope = envelope(&id, account, region, event);
    let deliveries = route(tx, account, region, &envelope, event.time).await?;
    Ok(Published {
        event_id: id,
        deliveries,
    })
}

/// Matches an envelope against the rules of the default bus and enqueues its deliveries;
/// returns how many.
pub async fn route(
    tx: &mut Tx,
    account: &str,
    region: &str,
    envelope: &Value,
    now: DateTime<Utc>,
) -> EventsResult<usize> {
    let rules = model::rules_of_bus(&mut Db::Write(&mut *tx), account, region, DEFAULT_BUS).await?;
    route_to(tx, &rules, envelope, now).await
}

/// [`route`] over rules already read (a stream consumer reads them once per batch). A rule
/// created after `now` does not see the event.
pub async fn route_to(
    tx: &mut Tx,
    rules: &[Rule],
    envelope: &Value,
    now: DateTime<Utc>,
) -> EventsResult<usize> {
    let mut count = 0;
    for rule in rules
        .iter()
        .filter(|r| r.doc.enabled() && r.entity.created_at <= now)
    {
        let Some(text) = rule.doc.pattern.as_deref() else {
            continue;
        };
        let matched = match pattern::parse(text) {
            Ok(p) => p.matches(envelope),
            Err(err) => {
                tracing::warn!(rule = %rule.arn(), error = %err, "stored pattern does not parse");
                false
            }
        };
        if !matched {
            continue;
        }
        for target in &rule.doc.targets {
            let Some(delivery) = Delivery::for_target(envelope, rule.arn(), target, now) else {
                continue;
            };
            let payload = serde_json::to_string(&delivery).map_err(|err| {
                tracing::error!(error = %err, "delivery does not serialize");
                EventsError::internal()
            })?;
            tx.outbox().enqueue(OUTBOX_TARGET, &payload, now).await?;
            count += 1;
        }
    }
    Ok(count)
}
