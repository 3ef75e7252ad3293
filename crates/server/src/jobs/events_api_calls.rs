//! "AWS API Call via CloudTrail" events: a consumer of the audit stream puts each management
//! write call (`readOnly: false`, failed ones included) on the default bus of the account
//! that owns its record, in the region of the call, as AWS does; read-only calls go only to
//! the rules in state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`. So rules on real activity
//! (`{"source": ["aws.iam"], "detail": {"eventName": ["CreateUser"]}}`) match. The event's
//! `source` is `aws.` and the service (`iam.amazonaws.com` gives `aws.iam`), its `detail` the
//! CloudTrail record. Deliveries are enqueued in the batch's transaction, with the cursor.
//! A rule sees the calls made after it was created, never older ones.

use std::collections::HashMap;

use rampart_services::db::Db;
use rampart_services::events::{model, publish};
use rampart_store::StreamBatch;
use serde_json::Value;

use super::consumer::{HandleFuture, StreamConsumer};
use crate::app::App;

/// The `detail-type` of these events.
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// The consumer.
pub struct ApiCallEvents;

/// The rule state that also receives read-only calls.
const ALL_MANAGEMENT_EVENTS: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// The event of one audit record: (account, region, event); `None` for records with no
/// account, and EventBridge's own `PutEvents`.
fn event_of(record: &rampart_store::AuditRecord) -> Option<(String, String, publish::Event)> {
    let account = record.account_id.clone()?;
    let service = record.event_source.strip_suffix(".amazonaws.com")?;
    if service == "events" && record.event_name == "PutEvents" {
        return None;
    }
    let detail: Value = serde_json::from_str(&record.event_json).ok()?;
    let region = detail.get("awsRegion")?.as_str()?.to_string();
    let event = publish::Event {
        source: format!("aws.{service}"),
        detail_type: DETAIL_TYPE.to_string(),
        detail,
        resources: Vec::new(),
        time: record.event_time,
    };
    Some((account, region, event))
}

impl StreamConsumer for ApiCallEvents {
    fn name(&self) -> &'static str {
        "events:api-calls"
    }

    fn handle<'a>(&'a self, _app: &'a App, batch: &'a mut StreamBatch) -> HandleFuture<'a> {
        Box::pin(async move {
            let events: Vec<_> = batch
                .records()
                .iter()
                .filter_map(|r| Some((r.event.record.read_only, event_of(&r.event.record)?)))
                .collect();
            let mut rules: HashMap<(String, String), Vec<model::Rule>> = HashMap::new();
            for (read_only, (account, region, event)) in events {
                let key = (account.clone(), region.clone());
                if !rules.contains_key(&key) {
                    let found = model::rules_of_bus(
                        &mut Db::Write(batch.tx()),
                        &account,
                        &region,
                        model::DEFAULT_BUS,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    rules.insert(key.clone(), found);
                }
                let Some(of_bus) = rules.get(&key) else {
                    continue;
                };
                let readers: Vec<model::Rule>;
                let eligible = if read_only {
                    readers = of_bus
                        .iter()
                        .filter(|r| r.doc.state == ALL_MANAGEMENT_EVENTS)
                        .cloned()
                        .collect();
                    &readers
                } else {
                    of_bus
                };
                if eligible.is_empty() {
                    continue;
                }
                let id = uuid::Uuid::new_v4().to_string();
                let envelope = publish::envelope(&id, &account, &region, &event);
                publish::route_to(batch.tx(), eligible, &envelope, event.time)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Ok(())
        })
    }
}
