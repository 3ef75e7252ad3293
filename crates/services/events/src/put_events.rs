//! `PutEvents`: custom events onto the default bus, each published in the call's transaction
//! ([`crate::publish`]). An entry that is not valid fails alone (`ErrorCode`,
//! `ErrorMessage`), as in AWS; the others are put.

use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, input::opt_str};
use serde_json::{json, Value};

use crate::{
    error::{EventsError, EventsResult},
    model,
    publish::{self, Event},
};

/// AWS's limit on the entries' total size (as AWS counts it).
pub const MAX_TOTAL_SIZE: usize = 256 * 1024;

/// An entry's size as AWS counts it: 14 bytes for `Time`, the UTF-8 bytes of `Source`,
/// `DetailType`, `Detail` and each of `Resources`.
pub fn entry_size(entry: &Value) -> usize {
    let len = |k: &str| opt_str(entry, k).map_or(0, str::len);
    let time = if entry.get("Time").is_some() { 14 } else { 0 };
    let resources: usize = entry
        .get("Resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::len)
        .sum();
    time + len("Source") + len("DetailType") + len("Detail") + resources
}

/// The event of an entry, or its `(ErrorCode, ErrorMessage)`.
fn event_of(entry: &Value, ctx: &CallContext) -> Result<Event, (&'static str, String)> {
    let required = |k: &str| {
        opt_str(entry, k).ok_or_else(|| {
            (
                "InvalidArgument",
                format!("Parameter {k} is not valid. Reason: {k} is a required argument."),
            )
        })
    };
    let source = required("Source")?;
    let detail_type = required("DetailType")?;
    let detail_text = required("Detail")?;
    if let Err(e) = model::bus_of(
        opt_str(entry, "EventBusName"),
        &ctx.region,
        &ctx.principal.account_id,
    ) {
        return Err(("InvalidArgument", e.to_string()));
    }
    let detail: Value = serde_json::from_str(detail_text)
        .ok()
        .filter(Value::is_object)
        .ok_or(("MalformedDetail", "Detail is malformed.".to_string()))?;
    if source.starts_with("aws.") {
        return Err((
            "NotAuthorizedForSourceException",
            "Not authorized for the source.".into(),
        ));
    }
    let time = entry
        .get("Time")
        .and_then(Value::as_f64)
        .and_then(|secs| DateTime::<Utc>::from_timestamp_millis((secs * 1000.0) as i64))
        .unwrap_or(ctx.now);
    Ok(Event {
        source: source.to_string(),
        detail_type: detail_type.to_string(),
        detail,
        resources: rampart_kit::input::str_list(entry, "Resources"),
        time,
    })
}

/// `PutEvents`.
pub async fn put(input: &Value, ctx: &CallContext, db: Db<'_>) -> EventsResult<Value> {
    let Db::Write(tx) = db else {
        return Err(EventsError::internal());
    };
    let entries: Vec<Value> = input
        .get("Entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.iter().map(entry_size).sum::<usize>() > MAX_TOTAL_SIZE {
        return Err(EventsError::invalid(
            "Total size of the entries in the request is over the limit.",
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    let mut failed = 0usize;
    for entry in &entries {
        match event_of(entry, ctx) {
            Ok(mut event) => {
                // Deliveries are due now on the request clock, whatever time the event says.
                let time = event.time;
                event.time = ctx.now;
                let id = uuid::Uuid::new_v4().to_string();
                let mut envelope =
                    publish::envelope(&id, &ctx.principal.account_id, &ctx.region, &event);
                if let Some(o) = envelope.as_object_mut() {
                    o.insert(
                        "time".into(),
                        json!(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    );
                }
                publish::route(
                    tx,
                    &ctx.principal.account_id,
                    &ctx.region,
                    &envelope,
                    ctx.now,
                )
                .await?;
                out.push(json!({ "EventId": id }));
            }
            Err((code, message)) => {
                failed += 1;
                out.push(json!({ "ErrorCode": code, "ErrorMessage": message }));
            }
        }
    }
    Ok(json!({ "FailedEntryCount": failed, "Entries": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_counted_as_aws_counts_them() {
        let e = json!({"Time": 1.0, "Source": "abc", "DetailType": "dt", "Detail": "{}", "Resources": ["r1", "r22"]});
        assert_eq!(entry_size(&e), 14 + 3 + 2 + 2 + 2 + 3);
        assert_eq!(entry_size(&json!({"Source": "é"})), 2);
    }
}
