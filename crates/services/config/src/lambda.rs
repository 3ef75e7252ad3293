//! Custom Lambda rules (`Owner: CUSTOM_LAMBDA`): the rule's `Source` checked, and the
//! invocations its triggers queue. A change to a resource in scope queues a
//! `ConfigurationItemChangeNotification` carrying the new item (or an
//! `OversizedConfigurationItemChangeNotification` with its summary when the item is too large
//! for an event); a periodic rule queues a `ScheduledNotification` when its frequency has
//! passed. The server's `config-lambda` job sends them ([`crate::lambda_run`]); the function
//! answers with `PutEvaluations` ([`crate::evaluations`]).

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;
use rampart_kit::entity::to_text;
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::delivery_file::file_item;
use crate::error::{ConfigError, ConfigResult};
use crate::model::{
    evaluation_key, InvocationDoc, ItemDoc, ResourceDoc, RuleDoc, EVALUATION, INVOCATION,
    SYSTEM_ACCOUNT,
};

/// The message types a custom Lambda rule may name.
const MESSAGE_TYPES: [&str; 4] = [
    "ConfigurationItemChangeNotification",
    "OversizedConfigurationItemChangeNotification",
    "ScheduledNotification",
    "ConfigurationSnapshotDeliveryCompleted",
];

/// The frequencies AWS accepts.
const FREQUENCIES: [&str; 5] = [
    "One_Hour",
    "Three_Hours",
    "Six_Hours",
    "Twelve_Hours",
    "TwentyFour_Hours",
];

/// Largest configuration item sent whole in an event; a larger one goes as its summary in an
/// `OversizedConfigurationItemChangeNotification` (Lambda's event payload limit is 256 KB).
const MAX_ITEM_BYTES: usize = 200 * 1024;

/// A custom Lambda rule's checked source: its messages and the frequency of its schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaSource {
    /// The function's ARN.
    pub arn: String,
    /// `SourceDetails` as given.
    pub details: Value,
    /// True when a `ScheduledNotification` is asked for.
    pub periodic: bool,
    /// True when configuration changes trigger it.
    pub on_change: bool,
    /// The `MaximumExecutionFrequency` of a `SourceDetails` entry.
    pub frequency: Option<String>,
}

/// True for a Lambda function ARN, `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`
/// (the partition its region's).
fn lambda_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "lambda", region, account, "function", name, rest @ ..]
            if !region.is_empty()
                && Some(rampart_kit::Partition::of_region(region))
                    == rampart_kit::Partition::from_name(partition)
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && !name.is_empty()
                && rest.len() <= 1)
}

/// Checks a `CUSTOM_LAMBDA` rule's `Source`.
pub fn source_of(source: &Value) -> ConfigResult<LambdaSource> {
    let arn = source
        .get("SourceIdentifier")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !lambda_arn(arn) {
        return Err(ConfigError::invalid(format!(
            "The sourceIdentifier {arn} is invalid. Please provide the ARN of a Lambda function when CUSTOM_LAMBDA is the Owner."
        )));
    }
    let details = source.get("SourceDetails").cloned().unwrap_or(Value::Null);
    let entries = details
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ConfigError::invalid("SourceDetails are required for rules with Owner CUSTOM_LAMBDA.")
        })?;
    let mut out = LambdaSource {
        arn: arn.to_string(),
        details: details.clone(),
        periodic: false,
        on_change: false,
        frequency: None,
    };
    for d in entries {
        let event_source = d.get("EventSource").and_then(Value::as_str);
        if event_source.is_some_and(|s| s != "aws.config") {
            return Err(ConfigError::invalid(
                "The EventSource of a SourceDetails entry must be aws.config.",
            ));
        }
        let message = d
            .get("MessageType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !MESSAGE_TYPES.contains(&message) {
            return Err(ConfigError::invalid(format!(
                "The MessageType {message} is invalid. Valid values: {}.",
                MESSAGE_TYPES.join(", ")
            )));
        }
        let frequency = d.get("MaximumExecutionFrequency").and_then(Value::as_str);
        if let Some(f) = frequency {
            if !FREQUENCIES.contains(&f) {
                return Err(ConfigError::invalid(format!(
                    "The MaximumExecutionFrequency {f} is invalid."
                )));
            }
            if message.ends_with("ConfigurationItemChangeNotification") {
                return Err(ConfigError::invalid(
                    "A maximum execution frequency is not allowed for rules triggered by configuration changes.",
                ));
            }
            out.frequency = Some(f.to_string());
        }
        match message {
            "ScheduledNotification" => out.periodic = true,
            "ConfigurationSnapshotDeliveryCompleted" => {}
            _ => out.on_change = true,
        }
    }
    Ok(out)
}

/// The role Config assumes for the account (its recorder's), the event's `executionRoleArn`.
async fn execution_role(db: &mut Db<'_>, account: &str) -> ConfigResult<String> {
    let page = db
        .entities()
        .list(account, crate::model::RECORDER, "", None, 1)
        .await?;
    Ok(match page.items.first() {
        Some(e) => crate::build::doc_of::<crate::model::RecorderDoc>(e)?.role_arn,
        None => String::new(),
    })
}

async fn enqueue(
    db: &mut Db<'_>,
    account: &str,
    rule: (&str, &RuleDoc),
    invoking_event: Value,
    event_left_scope: bool,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let (name, doc) = rule;
    let key = format!(
        "{:013}-{}",
        now.timestamp_millis().max(0),
        uuid::Uuid::new_v4()
    );
    let invocation = InvocationDoc {
        account: account.to_string(),
        rule: name.to_string(),
        rule_id: doc.rule_id.clone(),
        invoking_event: invoking_event.to_string(),
        event_left_scope,
        attempts: 0,
        next_attempt: now,
    };
    db.entities()
        .create(&Entity {
            account_id: SYSTEM_ACCOUNT.into(),
            kind: INVOCATION.into(),
            name: key.clone(),
            id: format!("config-invocation/{key}"),
            name_key: key,
            path: "/".into(),
            arn: String::new(),
            created_at: now,
            updated_at: now,
            doc: to_text(&invocation)?,
        })
        .await?;
    Ok(())
}

/// The item a change notification carries: the resource as last recorded.
fn item_of(r: &ResourceDoc, now: DateTime<Utc>) -> ItemDoc {
    let mut snapshot = r.snapshot.clone();
    let status = if r.deleted_at.is_some() {
        snapshot.configuration = Value::Null;
        snapshot.supplementary.clear();
        snapshot.relationships.clear();
        snapshot.tags.clear();
        "ResourceDeleted"
    } else if r.version <= 1 {
        "ResourceDiscovered"
    } else {
        "OK"
    };
    ItemDoc {
        status: status.into(),
        captured: r.deleted_at.unwrap_or(now),
        version: r.version,
        snapshot,
    }
}

/// The `invokingEvent` of a change to `r`, or none when the rule does not take it (only
/// oversized notifications asked for, and the item is not oversized).
pub fn change_event(
    account: &str,
    rule: &RuleDoc,
    r: &ResourceDoc,
    now: DateTime<Utc>,
) -> Option<Value> {
    let messages = rule.messages();
    let mut item = file_item(account, &item_of(r, now));
    let oversized = item.to_string().len() > MAX_ITEM_BYTES;
    if oversized && messages.contains(&"OversizedConfigurationItemChangeNotification") {
        if let Some(o) = item.as_object_mut() {
            o.remove("configuration");
            o.remove("supplementaryConfiguration");
            o.remove("relationships");
            o.remove("tags");
            o.remove("relatedEvents");
            o.insert("changeType".into(), json!(change_type(r)));
        }
        return Some(json!({
            "configurationItemSummary": item,
            "messageType": "OversizedConfigurationItemChangeNotification",
            "notificationCreationTime": ts_millis(now),
            "recordVersion": "1.0",
        }));
    }
    if !messages.contains(&"ConfigurationItemChangeNotification") {
        return None;
    }
    Some(json!({
        "configurationItemDiff": null,
        "configurationItem": item,
        "notificationCreationTime": ts_millis(now),
        "messageType": "ConfigurationItemChangeNotification",
        "recordVersion": "1.3",
    }))
}

fn change_type(r: &ResourceDoc) -> &'static str {
    if r.deleted_at.is_some() {
        "DELETE"
    } else if r.version <= 1 {
        "CREATE"
    } else {
        "UPDATE"
    }
}

/// A time as AWS writes it in events, with milliseconds (`2016-02-17T01:36:34.043Z`).
fn ts_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Queues the invocation of a change to `r` for the rule `name`: when it is in the rule's
/// scope, or when it has left it (deleted, or no longer matching) and the rule has a result
/// for it (`eventLeftScope` true).
pub async fn enqueue_change(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
    rule: &RuleDoc,
    r: &ResourceDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let in_scope = r.deleted_at.is_none() && crate::evaluate::in_scope(None, rule, r);
    let left = !in_scope && {
        let key = evaluation_key(name, &r.resource_type, &r.resource_id);
        db.entities()
            .get(account, EVALUATION, &key)
            .await?
            .is_some()
    };
    if !in_scope && !left {
        return Ok(());
    }
    match change_event(account, rule, r, now) {
        Some(event) => enqueue(db, account, (name, rule), event, left, now).await,
        None => Ok(()),
    }
}

/// Queues a `ScheduledNotification` for the rule `name`.
pub async fn enqueue_scheduled(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
    rule: &RuleDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    let event = json!({
        "awsAccountId": account,
        "notificationCreationTime": ts_millis(now),
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    });
    enqueue(db, account, (name, rule), event, false, now).await
}

/// Runs a custom Lambda rule now (a new or changed rule, `StartConfigRulesEvaluation`): one
/// change notification per resource in scope, and a scheduled one for a periodic rule.
pub async fn run_rule(
    db: &mut Db<'_>,
    account: &str,
    name: &str,
    rule: &RuleDoc,
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    if rule.change_triggered_custom() {
        for r in crate::evaluate::resources(db, account).await? {
            if crate::evaluate::in_scope(None, rule, &r) {
                if let Some(event) = change_event(account, rule, &r, now) {
                    enqueue(db, account, (name, rule), event, false, now).await?;
                }
            }
        }
    }
    if rule.periodic_custom() {
        enqueue_scheduled(db, account, name, rule, now).await?;
    }
    Ok(())
}

/// The event a custom Lambda rule's function receives, AWS's shape.
pub struct Event<'a> {
    /// The rule's entity (name, ARN).
    pub rule: &'a Entity,
    /// The rule.
    pub doc: &'a RuleDoc,
    /// The invocation.
    pub invocation: &'a InvocationDoc,
    /// The `resultToken` made for this attempt.
    pub token: &'a str,
}

impl Event<'_> {
    /// The event JSON (`executionRoleArn`: the recorder's role).
    pub async fn json(&self, db: &mut Db<'_>) -> ConfigResult<Value> {
        let role = execution_role(db, &self.invocation.account).await?;
        Ok(json!({
            "version": "1.0",
            "invokingEvent": self.invocation.invoking_event,
            "ruleParameters": self.doc.input_parameters.clone().unwrap_or_else(|| "{}".into()),
            "resultToken": self.token,
            "eventLeftScope": self.invocation.event_left_scope,
            "executionRoleArn": role,
            "configRuleArn": self.rule.arn,
            "configRuleName": self.rule.name,
            "configRuleId": self.doc.rule_id,
            "accountId": self.invocation.account,
            "evaluationMode": "DETECTIVE",
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns_carry_their_regions_partition() {
        assert!(lambda_arn(
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f"
        ));
        assert!(lambda_arn(
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:1"
        ));
        assert!(!lambda_arn(
            "arn:aws:lambda:cn-north-1:123456789012:function:f"
        ));
        assert!(!lambda_arn(
            "arn:aws-cn:lambda:us-east-1:123456789012:function:f"
        ));
    }

    #[test]
    fn lambda_sources_are_checked() {
        let good = json!({
            "Owner": "CUSTOM_LAMBDA",
            "SourceIdentifier": "arn:aws:lambda:us-east-1:123456789012:function:check",
            "SourceDetails": [
                {"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"},
                {"EventSource": "aws.config", "MessageType": "ScheduledNotification",
                 "MaximumExecutionFrequency": "Six_Hours"},
            ],
        });
        let s = source_of(&good).unwrap();
        assert!(s.on_change && s.periodic);
        assert_eq!(s.frequency.as_deref(), Some("Six_Hours"));
        let mut bad = good.clone();
        bad["SourceIdentifier"] = json!("arn:aws:s3:::bucket");
        assert!(source_of(&bad).is_err());
        let mut bad = good.clone();
        bad["SourceDetails"] = json!([]);
        assert!(source_of(&bad).is_err());
        let mut bad = good.clone();
        bad["SourceDetails"][0]["MaximumExecutionFrequency"] = json!("One_Hour");
        assert!(source_of(&bad).is_err());
        let mut bad = good;
        bad["SourceDetails"][1]["MessageType"] = json!("Nope");
        assert!(source_of(&bad).is_err());
    }

    #[test]
    fn change_events_carry_the_item() {
        let rule = RuleDoc {
            owner: "CUSTOM_LAMBDA".into(),
            source_details: Some(json!([{"MessageType": "ConfigurationItemChangeNotification"}])),
            ..RuleDoc::default()
        };
        let r = ResourceDoc {
            resource_type: "AWS::S3::Bucket".into(),
            resource_id: "b".into(),
            version: 2,
            snapshot: crate::model::Snapshot {
                resource_type: "AWS::S3::Bucket".into(),
                resource_id: "b".into(),
                configuration: json!({"name": "b"}),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = change_event("111122223333", &rule, &r, Utc::now()).unwrap();
        assert_eq!(e["messageType"], "ConfigurationItemChangeNotification");
        assert_eq!(e["configurationItem"]["configurationItemStatus"], "OK");
        assert_eq!(e["configurationItem"]["configuration"]["name"], "b");
        let only_oversized = RuleDoc {
            source_details: Some(
                json!([{"MessageType": "OversizedConfigurationItemChangeNotification"}]),
            ),
            ..rule
        };
        assert!(change_event("111122223333", &only_oversized, &r, Utc::now()).is_none());
    }
}
