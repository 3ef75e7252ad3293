//! Config's stored shapes: the entity kinds it keeps and their JSON documents.
//!
//! Everything lives in the generic entities table under the account that owns it:
//! recorders and delivery channels by name, one discovered resource per recorded resource
//! (its latest snapshot, what rules evaluate), every configuration item (the history), rules
//! and their evaluation results. The change-log cursor is one entity of [`SYSTEM_ACCOUNT`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Kind of configuration recorders (name key: the name).
pub const RECORDER: &str = "config:recorder";
/// Kind of delivery channels (name key: the name).
pub const CHANNEL: &str = "config:channel";
/// Kind of discovered resources (name key: `TYPE|ID`; path: `/SOURCE_KIND/SOURCE_KEY/`).
pub const RESOURCE: &str = "config:resource";
/// Kind of configuration items (name key: `TYPE|ID|VERSION`, version zero-padded).
pub const ITEM: &str = "config:item";
/// Kind of rules (name key: the rule's name).
pub const RULE: &str = "config:rule";
/// Kind of evaluation results (name key: `RULE|TYPE|ID`).
pub const EVALUATION: &str = "config:evaluation";
/// Kind of pending custom Lambda rule invocations (in [`SYSTEM_ACCOUNT`], name key:
/// `CREATED_MILLIS-UUID`, so they are listed oldest first).
pub const INVOCATION: &str = "config:invocation";
/// Kind of the index of accounts that have rules (in [`SYSTEM_ACCOUNT`], name: the account).
pub const RULE_INDEX: &str = "config:rule-account";
/// Kind of the index of accounts whose recorder runs (in [`SYSTEM_ACCOUNT`], name: the
/// account): while it is empty, Config has nothing to record and writes nothing.
pub const RECORDING_INDEX: &str = "config:recording-account";
/// Kind of the change-log cursor.
pub const CURSOR: &str = "config:cursor";
/// The pseudo-account holding the cursor.
pub const SYSTEM_ACCOUNT: &str = "config";

/// The resource type of account-level evaluations.
pub const ACCOUNT_TYPE: &str = "AWS::::Account";

/// A configuration recorder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecorderDoc {
    /// The role Config would assume.
    pub role_arn: String,
    /// The recording group as given (camelCase members, AWS's shape).
    pub recording_group: Value,
    /// The recording mode as given.
    #[serde(default)]
    pub recording_mode: Option<Value>,
    /// True while recording.
    pub recording: bool,
    /// Last `StartConfigurationRecorder`.
    pub last_start: Option<DateTime<Utc>>,
    /// Last `StopConfigurationRecorder`.
    pub last_stop: Option<DateTime<Utc>>,
    /// Last status change.
    pub last_status_change: Option<DateTime<Utc>>,
}

/// A discovered resource: identity and latest snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDoc {
    /// `AWS::IAM::User`, ...
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The resource name.
    pub resource_name: Option<String>,
    /// The number of items recorded (the last item's version).
    pub version: u64,
    /// When deleted, the time of deletion.
    pub deleted_at: Option<DateTime<Utc>>,
    /// The latest snapshot (what rules evaluate).
    pub snapshot: Snapshot,
}

/// What Config knows of a resource at one moment: the item's content and the facts rules read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `AWS::IAM::User`, ...
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The resource name.
    pub resource_name: Option<String>,
    /// The ARN.
    pub arn: String,
    /// The region, `global` for IAM.
    pub region: String,
    /// When the resource was created.
    pub created: Option<DateTime<Utc>>,
    /// `configuration`, as an object (the API sends it as JSON text).
    pub configuration: Value,
    /// `supplementaryConfiguration`: name -> object (sent as JSON text each).
    pub supplementary: BTreeMap<String, Value>,
    /// `relationships`, AWS's shape.
    pub relationships: Vec<Value>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Facts rules read that items do not show (access key ages, MFA devices, ...).
    #[serde(default)]
    pub facts: Value,
}

impl Snapshot {
    /// True when `other` records the same configuration (facts aside).
    pub fn same_configuration(&self, other: &Snapshot) -> bool {
        self.configuration == other.configuration
            && self.supplementary == other.supplementary
            && self.relationships == other.relationships
            && self.tags == other.tags
            && self.resource_name == other.resource_name
    }
}

/// A stored configuration item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemDoc {
    /// `ResourceDiscovered`, `OK` or `ResourceDeleted`.
    pub status: String,
    /// The capture time.
    pub captured: DateTime<Utc>,
    /// The version (1, 2, ...).
    pub version: u64,
    /// The snapshot (configuration empty when deleted).
    pub snapshot: Snapshot,
}

/// A rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleDoc {
    /// `config-rule-xxxxxx`.
    pub rule_id: String,
    /// The managed rule's identifier.
    pub source_identifier: String,
    /// `InputParameters`, JSON text as given.
    pub input_parameters: Option<String>,
    /// The parsed parameters.
    pub params: BTreeMap<String, String>,
    /// The scope as given (AWS's shape).
    pub scope: Option<Value>,
    /// The description.
    pub description: Option<String>,
    /// `MaximumExecutionFrequency` (periodic rules).
    pub frequency: Option<String>,
    /// `ACTIVE`, `DELETING`, ...
    pub state: String,
    /// First activation.
    pub first_activated: DateTime<Utc>,
    /// Last evaluation run.
    pub last_run: Option<DateTime<Utc>>,
    /// `AWS` (managed; also when empty) or `CUSTOM_POLICY`.
    #[serde(default)]
    pub owner: String,
    /// A custom policy rule's Guard policy.
    #[serde(default)]
    pub policy: Option<crate::custom::Policy>,
    /// A custom rule's `SourceDetails` as given (AWS's shape).
    #[serde(default)]
    pub source_details: Option<Value>,
    /// `CreatedBy`: the service that made the rule (conformance packs).
    #[serde(default)]
    pub created_by: Option<String>,
    /// A custom Lambda rule's invocations and evaluations, as
    /// `DescribeConfigRuleEvaluationStatus` shows them.
    #[serde(default)]
    pub status: RuleStatus,
}

/// What became of a custom Lambda rule's invocations and of the evaluations it put.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    /// The last invocation the function answered with success.
    pub last_invoked: Option<DateTime<Utc>>,
    /// The last invocation that failed.
    pub last_failed: Option<DateTime<Utc>>,
    /// The last `PutEvaluations` that stored the rule's evaluations.
    pub last_evaluated: Option<DateTime<Utc>>,
    /// The last failure's code.
    pub error_code: Option<String>,
    /// The last failure's message.
    pub error_message: Option<String>,
}

/// A custom Lambda rule invocation waiting to be sent (or sent again after a failure).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvocationDoc {
    /// The rule's account.
    pub account: String,
    /// The rule's name.
    pub rule: String,
    /// The rule's id when the invocation was queued (a rule made again is another rule).
    pub rule_id: String,
    /// The event's `invokingEvent`, JSON text, made when the trigger happened.
    pub invoking_event: String,
    /// The event's `eventLeftScope`.
    pub event_left_scope: bool,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt: DateTime<Utc>,
}

/// The owner of custom Lambda rules.
pub const CUSTOM_LAMBDA: &str = "CUSTOM_LAMBDA";

impl RuleDoc {
    /// True for a custom Lambda rule (its `source_identifier` is the function's ARN).
    pub fn is_lambda(&self) -> bool {
        self.owner == CUSTOM_LAMBDA
    }

    /// True for a custom policy or Lambda rule triggered by configuration changes (a policy
    /// rule also when its `SourceDetails` name no message type).
    pub fn change_triggered_custom(&self) -> bool {
        let messages = self.messages();
        let on_change = messages
            .iter()
            .any(|m| m.ends_with("ConfigurationItemChangeNotification"));
        (self.policy.is_some() && (messages.is_empty() || on_change))
            || (self.is_lambda() && on_change)
    }

    /// True for a custom policy or Lambda rule that runs periodically.
    pub fn periodic_custom(&self) -> bool {
        (self.policy.is_some() || self.is_lambda())
            && (self.frequency.is_some() || self.messages().contains(&"ScheduledNotification"))
    }

    /// The `MessageType`s of the rule's `SourceDetails`.
    pub fn messages(&self) -> Vec<&str> {
        self.source_details
            .as_ref()
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.get("MessageType").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One rule's result for one resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluationDoc {
    /// The rule.
    pub rule: String,
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// `COMPLIANT`, `NON_COMPLIANT` or `NOT_APPLICABLE`.
    pub compliance: String,
    /// Why.
    pub annotation: Option<String>,
    /// When the rule ran.
    pub invoked: DateTime<Utc>,
    /// When the result was recorded.
    pub recorded: DateTime<Utc>,
    /// The time of the configuration the result is about.
    pub ordering: DateTime<Utc>,
}

/// The change-log cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CursorDoc {
    /// The last change processed.
    pub seq: i64,
}

/// The name key of an item.
pub fn item_key(resource_type: &str, resource_id: &str, version: u64) -> String {
    format!("{resource_type}|{resource_id}|{version:012}")
}

/// The name key of a discovered resource.
pub fn resource_key(resource_type: &str, resource_id: &str) -> String {
    format!("{resource_type}|{resource_id}")
}

/// The name key of an evaluation.
pub fn evaluation_key(rule: &str, resource_type: &str, resource_id: &str) -> String {
    format!("{rule}|{resource_type}|{resource_id}")
}

/// The path of a discovered resource: where its source entity is (found again on deletion).
pub fn source_path(kind: &str, key: &str) -> String {
    format!("/{kind}/{key}/")
}

/// Epoch seconds, as awsJson sends timestamps.
pub fn epoch(t: DateTime<Utc>) -> Value {
    serde_json::json!(t.timestamp_millis() as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys_sort_by_version() {
        assert!(item_key("AWS::S3::Bucket", "b", 9) < item_key("AWS::S3::Bucket", "b", 10));
    }

    #[test]
    fn facts_do_not_make_a_new_configuration() {
        let a = Snapshot {
            facts: serde_json::json!({"k": 1}),
            ..Snapshot::default()
        };
        assert!(a.same_configuration(&Snapshot::default()));
    }
}
