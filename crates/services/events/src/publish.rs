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
/// due at `event.time`, which should be the caller's request clock (`ctx.now`): rules created
/// after it do not see the event, and the targets' event age counts from it.
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use crate::model::{RuleDoc, RULE};
    use rampart_kit::entity;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";
    const DEST: &str = "arn:aws:events:us-east-1:123456789012:api-destination/d/abc";

    async fn add_rule(tx: &mut Tx, name: &str, pattern: &str, state: &str, at: DateTime<Utc>) {
        let doc = RuleDoc {
            name: name.into(),
            bus: DEFAULT_BUS.into(),
            pattern: Some(pattern.into()),
            state: state.into(),
            targets: vec![
                json!({"Id": "a", "Arn": DEST}),
                json!({"Id": "b", "Arn": DEST, "InputPath": "$.detail"}),
            ],
            ..RuleDoc::default()
        };
        let mut e = model::new_entity(
            ACCOUNT,
            RULE,
            name,
            model::rule_key(REGION, DEFAULT_BUS, name),
            model::rule_path(REGION, DEFAULT_BUS),
            model::rule_arn(REGION, ACCOUNT, DEFAULT_BUS, name),
            at,
        );
        entity::write_doc(&mut e, &doc, at).unwrap();
        tx.entities().create(&e).await.unwrap();
    }

    #[tokio::test]
    async fn a_finding_is_delivered_to_each_target_of_each_matching_enabled_rule() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let t0 = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let mut tx = store.begin().await.unwrap();
        let findings = r#"{"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
            "detail": {"severity": [{"numeric": [">=", 7]}]}}"#;
        add_rule(&mut tx, "high", findings, "ENABLED", t0).await;
        add_rule(&mut tx, "off", findings, "DISABLED", t0).await;
        add_rule(&mut tx, "other", r#"{"source": ["aws.s3"]}"#, "ENABLED", t0).await;
        let event = |severity: f64| Event {
            source: "aws.guardduty".into(),
            detail_type: "GuardDuty Finding".into(),
            detail: json!({"severity": severity, "type": "Policy:IAMUser/RootCredentialUsage"}),
            resources: vec![],
            time: t0,
        };
        let high = publish(&mut tx, ACCOUNT, REGION, &event(8.0))
            .await
            .unwrap();
        assert_eq!(high.deliveries, 2);
        let low = publish(&mut tx, ACCOUNT, REGION, &event(2.0))
            .await
            .unwrap();
        assert_eq!(low.deliveries, 0);
        let elsewhere = publish(&mut tx, ACCOUNT, "eu-west-1", &event(8.0))
            .await
            .unwrap();
        assert_eq!(elsewhere.deliveries, 0);
        tx.commit().await.unwrap();

        let due = store.outbox().due(t0, 10).await.unwrap();
        assert_eq!(due.len(), 2);
        let mut bodies: Vec<Delivery> = due
            .iter()
            .map(|i| serde_json::from_str(&i.payload).unwrap())
            .collect();
        bodies.sort_by(|a, b| a.target_id.cmp(&b.target_id));
        let whole: Value = serde_json::from_str(&bodies[0].body).unwrap();
        assert_eq!(whole["id"], json!(high.event_id));
        assert_eq!(whole["detail-type"], json!("GuardDuty Finding"));
        assert_eq!(whole["account"], json!(ACCOUNT));
        assert_eq!(
            bodies[1].body,
            json!({"severity": 8.0, "type": "Policy:IAMUser/RootCredentialUsage"}).to_string()
        );

        // A rule created after the event does not see it.
        let mut tx = store.begin().await.unwrap();
        add_rule(
            &mut tx,
            "later",
            r#"{"source": ["aws.guardduty"]}"#,
            "ENABLED",
            t0 + chrono::Duration::seconds(5),
        )
        .await;
        let before = publish(&mut tx, ACCOUNT, REGION, &event(1.0))
            .await
            .unwrap();
        assert_eq!(before.deliveries, 0);
        drop(tx);
        let _ = std::fs::remove_dir_all(dir);
    }
}
