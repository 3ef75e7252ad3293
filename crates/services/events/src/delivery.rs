//! One delivery of an event to a target, as the outbox carries it, and its retry policy.
//!
//! The payload holds the event as the target receives it (the envelope, or what the target's
//! `Input`, `InputPath` or `InputTransformer` makes of it), the target's API destination ARN
//! and its `RetryPolicy`. It holds no secret: the connection's credentials are unsealed when
//! the delivery is made ([`crate::destinations::resolve`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The outbox target name of EventBridge deliveries.
pub const OUTBOX_TARGET: &str = "events:api-destination";
/// AWS's default `MaximumEventAgeInSeconds`: 24 hours.
pub const DEFAULT_MAX_AGE: i64 = 86_400;
/// AWS's default `MaximumRetryAttempts`.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 185;
/// The first retry's delay; each further one doubles, up to [`MAX_BACKOFF_SECONDS`].
const FIRST_BACKOFF_SECONDS: i64 = 1;
const MAX_BACKOFF_SECONDS: i64 = 300;

/// A delivery in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The event's id.
    pub event_id: String,
    /// When the event was put on the bus: its age counts from here.
    pub event_time: DateTime<Utc>,
    /// The rule that matched.
    pub rule_arn: String,
    /// The target's `Id`.
    pub target_id: String,
    /// The target's `Arn` (an API destination).
    pub target_arn: String,
    /// The request body.
    pub body: String,
    /// `RetryPolicy.MaximumEventAgeInSeconds`.
    pub max_age_seconds: i64,
    /// `RetryPolicy.MaximumRetryAttempts`.
    pub max_retries: i64,
    /// `HttpParameters.HeaderParameters`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `HttpParameters.QueryStringParameters`.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// `HttpParameters.PathParameterValues`, replacing the endpoint's `*` in order.
    #[serde(default)]
    pub path_values: Vec<String>,
}

impl Delivery {
    /// The delivery of `envelope` to `target` (a stored target, AWS member names) of the rule
    /// `rule_arn`, put on the bus at `now`; `None` for a target that is not an API
    /// destination.
    pub fn for_target(
        envelope: &Value,
        rule_arn: &str,
        target: &Value,
        now: DateTime<Utc>,
    ) -> Option<Delivery> {
        let arn = target.get("Arn")?.as_str()?;
        if !is_api_destination(arn) {
            return None;
        }
        let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let retry = target.get("RetryPolicy");
        let int_of = |k: &str, default: i64| {
            retry
                .and_then(|r| r.get(k))
                .and_then(Value::as_i64)
                .unwrap_or(default)
        };
        let http = target.get("HttpParameters");
        let map_of = |k: &str| -> BTreeMap<String, String> {
            http.and_then(|h| h.get(k))
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(Delivery {
            event_id: str_of(envelope, "id").unwrap_or_default(),
            event_time: now,
            rule_arn: rule_arn.to_string(),
            target_id: str_of(target, "Id").unwrap_or_default(),
            target_arn: arn.to_string(),
            body: body_for(envelope, rule_arn, target),
            max_age_seconds: int_of("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE),
            max_retries: int_of("MaximumRetryAttempts", DEFAULT_MAX_ATTEMPTS),
            headers: map_of("HeaderParameters"),
            query: map_of("QueryStringParameters"),
            path_values: http
                .and_then(|h| h.get("PathParameterValues"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// When to try again after a failed attempt, `failures` counting the failures before it;
    /// `None` once the retries or the event's age are used up (the delivery is dead).
    pub fn retry_at(&self, failures: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if i64::from(failures) >= self.max_retries {
            return None;
        }
        let shift = u32::try_from(failures).unwrap_or(0).min(16);
        let delay = FIRST_BACKOFF_SECONDS
            .checked_shl(shift)
            .unwrap_or(MAX_BACKOFF_SECONDS)
            .min(MAX_BACKOFF_SECONDS);
        let at = now.checked_add_signed(Duration::seconds(delay))?;
        let deadline = self
            .event_time
            .checked_add_signed(Duration::seconds(self.max_age_seconds))?;
        (at <= deadline).then_some(at)
    }
}

/// Whether `arn` is an API destination's (in any partition).
pub fn is_api_destination(arn: &str) -> bool {
    rampart_kit::Partition::of_arn(arn)
        .and_then(|p| p.strip_arn(arn, "events"))
        .is_some_and(|rest| rest.contains(":api-destination/"))
}

/// What the target receives: `Input` as given, the value `InputPath` selects, the
/// `InputTransformer`'s template filled in, or the whole event.
pub fn body_for(envelope: &Value, rule_arn: &str, target: &Value) -> String {
    if let Some(input) = target.get("Input").and_then(Value::as_str) {
        return input.to_string();
    }
    if let Some(path) = target.get("InputPath").and_then(Value::as_str) {
        return select(envelope, path).map_or_else(String::new, |v| v.to_string());
    }
    if let Some(t) = target.get("InputTransformer") {
        return transform(envelope, rule_arn, t);
    }
    envelope.to_string()
}

/// The value at a JSON path `$.a.b` (`$` alone is the whole event).
pub fn select<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    let mut at = event;
    for step in rest.split('.').filter(|s| !s.is_empty()) {
        at = at.get(step)?;
    }
    Some(at)
}

/// `InputTransformer`: each `<name>` of `InputTemplate` replaced by the value its
/// `InputPathsMap` path selects (a string as its text, anything else as JSON), and the
/// predefined `<aws.events.rule-arn>`, `<aws.events.event>`, `<aws.events.event.json>`,
/// `<aws.events.event.ingestion-time>`.
fn transform(envelope: &Value, rule_arn: &str, transformer: &Value) -> String {
    let mut out = transformer
        .get("InputTemplate")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut values: Vec<(String, String)> = vec![
        ("aws.events.rule-arn".into(), rule_arn.to_string()),
        ("aws.events.event.json".into(), envelope.to_string()),
        ("aws.events.event".into(), envelope.to_string()),
        (
            "aws.events.event.ingestion-time".into(),
            envelope
                .get("time")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
    ];
    if let Some(map) = transformer.get("InputPathsMap").and_then(Value::as_object) {
        for (name, path) in map {
            let text = path
                .as_str()
                .and_then(|p| select(envelope, p))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            values.push((name.clone(), text));
        }
    }
    for (name, text) in values {
        out = out.replace(&format!("<{name}>"), &text);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use serde_json::json;

    fn envelope() -> Value {
        json!({"id": "e1", "time": "2030-01-01T00:00:00Z", "source": "s", "detail": {"a": {"b": 7}, "s": "x"}})
    }

    const DEST: &str = "arn:aws:events:us-east-1:123456789012:api-destination/d/abc";

    #[test]
    fn api_destinations_are_known_in_every_partition() {
        assert!(is_api_destination(DEST));
        assert!(is_api_destination(
            "arn:aws-cn:events:cn-north-1:123456789012:api-destination/d/abc"
        ));
        assert!(!is_api_destination("arn:aws-cn:events:cn-north-1:1:rule/r"));
        assert!(!is_api_destination(
            "arn:aws-cn:sqs:cn-north-1:1:api-destination/d"
        ));
    }

    #[test]
    fn bodies_follow_the_target_input() {
        let e = envelope();
        let t = |extra: Value| {
            let mut t = json!({"Id": "t", "Arn": DEST});
            if let (Some(o), Some(x)) = (t.as_object_mut(), extra.as_object()) {
                o.extend(x.clone());
            }
            Delivery::for_target(&e, "arn:rule", &t, Utc::now())
                .unwrap()
                .body
        };
        assert_eq!(t(json!({})), e.to_string());
        assert_eq!(t(json!({"Input": "{\"k\":1}"})), "{\"k\":1}");
        assert_eq!(t(json!({"InputPath": "$.detail.a"})), "{\"b\":7}");
        assert_eq!(
            t(
                json!({"InputTransformer": {"InputPathsMap": {"b": "$.detail.a.b", "s": "$.detail.s"},
                "InputTemplate": "{\"n\": <b>, \"s\": \"<s>\", \"r\": \"<aws.events.rule-arn>\"}"}})
            ),
            "{\"n\": 7, \"s\": \"x\", \"r\": \"arn:rule\"}"
        );
        assert!(Delivery::for_target(
            &e,
            "r",
            &json!({"Id": "t", "Arn": "arn:aws:sqs:us-east-1:1:q"}),
            Utc::now()
        )
        .is_none());
    }

    #[test]
    fn retries_back_off_within_the_policy() {
        let e = envelope();
        let t0 = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = Delivery::for_target(&e, "r", &json!({"Id": "t", "Arn": DEST}), t0).unwrap();
        assert_eq!(d.max_retries, DEFAULT_MAX_ATTEMPTS);
        assert_eq!(d.retry_at(0, t0), Some(t0 + Duration::seconds(1)));
        assert_eq!(d.retry_at(3, t0), Some(t0 + Duration::seconds(8)));
        assert_eq!(d.retry_at(30, t0), Some(t0 + Duration::seconds(300)));
        // Past the event's age: dead.
        assert_eq!(d.retry_at(3, t0 + Duration::seconds(86_399)), None);
        let limited = Delivery::for_target(
            &e,
            "r",
            &json!({"Id": "t", "Arn": DEST,
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}}),
            t0,
        )
        .unwrap();
        assert!(limited.retry_at(1, t0).is_some());
        assert_eq!(limited.retry_at(2, t0), None);
        assert_eq!(limited.retry_at(0, t0 + Duration::seconds(60)), None);
    }
}
