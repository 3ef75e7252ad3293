//! How rules, connections and API destinations are stored, and their ARNs.
//!
//! Each is an entity in its owner's account. A rule's name key is `REGION/BUS/NAME` and its
//! path `/REGION/BUS/`, so the rules of one bus are one prefix scan (what [`crate::publish`]
//! reads); its targets live in its document (at most five, as in AWS). Connections and API
//! destinations are keyed `REGION/NAME`, path `/REGION/`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{EventsError, EventsResult};

/// The entity kind of a rule.
pub const RULE: &str = "events:rule";
/// The entity kind of a connection.
pub const CONNECTION: &str = "events:connection";
/// The entity kind of an API destination.
pub const DESTINATION: &str = "events:api-destination";
/// The default event bus, the only one Rampart has.
pub const DEFAULT_BUS: &str = "default";
/// Targets per rule (AWS's quota).
pub const MAX_TARGETS: usize = 5;

/// A rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleDoc {
    /// The name.
    pub name: String,
    /// The event bus name.
    pub bus: String,
    /// `EventPattern`, as given.
    #[serde(default)]
    pub pattern: Option<String>,
    /// `ScheduleExpression` (always `None`: `PutRule` refuses schedules until they run).
    #[serde(default)]
    pub schedule: Option<String>,
    /// `ENABLED`, `DISABLED` or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub state: String,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `RoleArn`.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The targets, each as given (AWS member names).
    #[serde(default)]
    pub targets: Vec<Value>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The account that created it.
    #[serde(default)]
    pub created_by: String,
}

impl RuleDoc {
    /// Whether events are matched against it.
    pub fn enabled(&self) -> bool {
        self.state.starts_with("ENABLED")
    }
}

/// The ARN of the event bus `bus`.
pub fn bus_arn(region: &str, account: &str, bus: &str) -> String {
    format!(
        "arn:{partition}:events:{region}:{account}:event-bus/{bus}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The ARN of a rule: `rule/NAME` on the default bus, `rule/BUS/NAME` on another.
pub fn rule_arn(region: &str, account: &str, bus: &str, name: &str) -> String {
    if bus == DEFAULT_BUS {
        format!(
            "arn:{partition}:events:{region}:{account}:rule/{name}",
            partition = rampart_kit::Partition::of_region(region)
        )
    } else {
        format!(
            "arn:{partition}:events:{region}:{account}:rule/{bus}/{name}",
            partition = rampart_kit::Partition::of_region(region)
        )
    }
}

/// The name key of a rule.
pub fn rule_key(region: &str, bus: &str, name: &str) -> String {
    format!("{region}/{bus}/{name}")
}

/// The path of the rules of a bus.
pub fn rule_path(region: &str, bus: &str) -> String {
    format!("/{region}/{bus}/")
}

/// The bus an `EventBusName` member names (a name or an ARN), checked to exist: Rampart has
/// the default bus only.
pub fn bus_of(given: Option<&str>, region: &str, account: &str) -> EventsResult<String> {
    let name = match given {
        None | Some("") => return Ok(DEFAULT_BUS.to_string()),
        Some(g) if g.starts_with("arn:") => {
            if g != bus_arn(region, account, DEFAULT_BUS) {
                return Err(no_bus(g.rsplit('/').next().unwrap_or(g)));
            }
            DEFAULT_BUS
        }
        Some(g) => g,
    };
    if name != DEFAULT_BUS {
        return Err(no_bus(name));
    }
    Ok(name.to_string())
}

fn no_bus(name: &str) -> EventsError {
    EventsError::ResourceNotFoundException(format!("Event bus {name} does not exist."))
}

/// A rule as loaded.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The stored entity.
    pub entity: Entity,
    /// Its document.
    pub doc: RuleDoc,
}

impl Rule {
    /// Its ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }
}

/// The rule `name` on `bus`, if it exists.
pub async fn find_rule(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    bus: &str,
    name: &str,
) -> EventsResult<Option<Rule>> {
    let key = rule_key(region, bus, name);
    Ok(entity::load_doc::<RuleDoc>(db, account, RULE, &key)
        .await?
        .map(|(entity, doc)| Rule { entity, doc }))
}

/// The rule `name` on `bus`, or AWS's `ResourceNotFoundException`.
pub async fn rule(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    bus: &str,
    name: &str,
) -> EventsResult<Rule> {
    find_rule(db, account, region, bus, name)
        .await?
        .ok_or_else(|| {
            EventsError::ResourceNotFoundException(format!(
                "Rule {name} does not exist on EventBus {bus}."
            ))
        })
}

/// Every rule of a bus, in name order.
pub async fn rules_of_bus(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    bus: &str,
) -> EventsResult<Vec<Rule>> {
    let path = rule_path(region, bus);
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, RULE, &path, after.as_deref(), 500)
            .await?;
        for e in page.items {
            after = Some(e.name_key.clone());
            let doc = entity::read_doc::<RuleDoc>(&e)?;
            out.push(Rule { entity: e, doc });
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// A new entity of `kind`.
pub fn new_entity(
    account: &str,
    kind: &str,
    name: &str,
    key: String,
    path: String,
    arn: String,
    now: DateTime<Utc>,
) -> Entity {
    Entity {
        account_id: account.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        name_key: key,
        id: format!("{kind}:{}", uuid::Uuid::new_v4()),
        path,
        arn,
        created_at: now,
        updated_at: now,
        doc: String::new(),
    }
}

/// AWS's epoch-seconds timestamps (`CreationTime`, ...).
pub fn epoch(t: DateTime<Utc>) -> Value {
    serde_json::json!(t.timestamp_millis() as f64 / 1000.0)
}
