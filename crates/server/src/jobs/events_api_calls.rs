//! "AWS API Call via CloudTrail" events: a consumer of the audit stream puts each management
//! write call (`readOnly: false`, failed ones included) on the default bus of the account
//! that owns its record, in the region of the call, as AWS does; read-only calls go only to
//! the rules in state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`. So rules on real activity
//! (`{"source": ["aws.iam"], "detail": {"eventName": ["CreateUser"]}}`) match. The event's
//! `source` is `aws.` and the service (`iam.amazonaws.com` gives `aws.iam`), its `detail` the
//! CloudTrail record. Deliveries are enqueued in the batch's transaction, with the cursor.
//! A rule sees the calls made after it was created, never older ones.

use std::{borrow::Cow, collections::HashMap};

use rampart_services::db::Db;
use rampart_services::events::{model, publish};
use rampart_store::{AuditRecord, StreamBatch};
use serde_json::Value;

use super::consumer::{HandleFuture, StreamConsumer};
use crate::app::App;

/// The `detail-type` of these events.
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// The consumer.
pub struct ApiCallEvents;

/// The rule state that also receives read-only calls.
const ALL_MANAGEMENT_EVENTS: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// The one field of a record's CloudTrail JSON needed before deciding to publish it. Reading it
/// borrows instead of building the whole document: most records (every read-only call, unless a
/// rule asks for them) match no rule, and parsing each into a `Value` was the largest part of
/// this consumer's cost under a read-heavy load.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(rename = "awsRegion", borrow)]
    region: Cow<'a, str>,
}

/// Where a record's event goes: (account, region, `source`); `None` for records with no account
/// or region, and for EventBridge's own `PutEvents`.
fn route_of(record: &AuditRecord) -> Option<(&str, String, String)> {
    let account = record.account_id.as_deref()?;
    let service = record.event_source.strip_suffix(".amazonaws.com")?;
    if service == "events" && record.event_name == "PutEvents" {
        return None;
    }
    let head: Head<'_> = serde_json::from_str(&record.event_json).ok()?;
    Some((account, head.region.into_owned(), format!("aws.{service}")))
}

/// Whether `rule` takes a record: it is enabled and, for a read-only call, receives those.
fn takes(rule: &model::Rule, read_only: bool) -> bool {
    rule.doc.enabled() && (!read_only || rule.doc.state == ALL_MANAGEMENT_EVENTS)
}

impl StreamConsumer for ApiCallEvents {
    fn name(&self) -> &'static str {
        "events:api-calls"
    }

    fn handle<'a>(&'a self, _app: &'a App, batch: &'a mut StreamBatch) -> HandleFuture<'a> {
        Box::pin(async move {
            let (records, tx) = batch.parts();
            let mut rules: HashMap<(String, String), Vec<model::Rule>> = HashMap::new();
            for r in records {
                let record = &r.event.record;
                let Some((account, region, source)) = route_of(record) else {
                    continue;
                };
                let key = (account.to_string(), region);
                if !rules.contains_key(&key) {
                    let found =
                        model::rules_of_bus(&mut Db::Write(tx), &key.0, &key.1, model::DEFAULT_BUS)
                            .await
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                    rules.insert(key.clone(), found);
                }
                let Some(of_bus) = rules.get(&key) else {
                    continue;
                };
                if !of_bus.iter().any(|rule| takes(rule, record.read_only)) {
                    continue;
                }
                let Ok(detail) = serde_json::from_str::<Value>(&record.event_json) else {
                    continue;
                };
                let event = publish::Event {
                    source,
                    detail_type: DETAIL_TYPE.to_string(),
                    detail,
                    resources: Vec::new(),
                    time: record.event_time,
                };
                let id = uuid::Uuid::new_v4().to_string();
                let envelope = publish::envelope(&id, &key.0, &key.1, &event);
                let readers: Vec<model::Rule>;
                let targets = if record.read_only {
                    readers = of_bus
                        .iter()
                        .filter(|rule| takes(rule, true))
                        .cloned()
                        .collect();
                    &readers
                } else {
                    of_bus
                };
                publish::route_to(tx, targets, &envelope, event.time)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(source: &str, name: &str, account: Option<&str>, json: &str) -> AuditRecord {
        AuditRecord {
            event_id: "e".into(),
            event_time: chrono::Utc::now(),
            event_name: name.into(),
            event_source: source.into(),
            username: None,
            access_key_id: None,
            read_only: true,
            error_code: None,
            account_id: account.map(str::to_string),
            resources: Vec::new(),
            event_json: json.into(),
        }
    }

    #[test]
    fn a_record_routes_by_account_region_and_service() {
        let json = r#"{"eventVersion":"1.08","awsRegion":"eu-west\u002d1","requestParameters":{"a":[1,{"b":null}]}}"#;
        let r = record("iam.amazonaws.com", "GetUser", Some("111122223333"), json);
        assert_eq!(
            route_of(&r),
            Some((
                "111122223333",
                "eu-west-1".to_string(),
                "aws.iam".to_string()
            ))
        );
    }

    #[test]
    fn records_without_account_or_region_and_put_events_do_not_route() {
        let json = r#"{"awsRegion":"us-east-1"}"#;
        assert_eq!(
            route_of(&record("iam.amazonaws.com", "GetUser", None, json)),
            None
        );
        let none = record("iam.amazonaws.com", "GetUser", Some("1"), "{}");
        assert_eq!(route_of(&none), None);
        let own = record("events.amazonaws.com", "PutEvents", Some("1"), json);
        assert_eq!(route_of(&own), None);
    }
}
