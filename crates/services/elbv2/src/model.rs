//! How load balancers, target groups, listeners and rules are stored, and their ARNs.
//!
//! Each is an entity in its owner's account. Load balancers and target groups are keyed
//! `REGION/NAME` (names are unique per account and region), listeners and rules by their ARN.
//! Listeners live under the path `/REGION/LB-ID/`, rules under `/REGION/LISTENER-ID/`, so a
//! load balancer's listeners and a listener's rules are one prefix scan each. Registered
//! targets live in their group's document.
//!
//! Every write bumps one setting, the configuration generation, which the server's listener
//! runtime watches; the accounts that own load balancers are listed in another.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;

pub use rampart_kit::entity::{list_all, load, Loaded};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ElbError, ElbResult};

/// The entity kind of a load balancer.
pub const LOAD_BALANCER: &str = "elbv2:loadbalancer";
/// The entity kind of a target group.
pub const TARGET_GROUP: &str = "elbv2:targetgroup";
/// The entity kind of a listener.
pub const LISTENER: &str = "elbv2:listener";
/// The entity kind of a listener rule.
pub const RULE: &str = "elbv2:rule";
/// The setting holding the configuration generation.
pub const GENERATION: &str = "elbv2:generation";
/// The setting listing the accounts that own load balancers (a JSON array).
pub const ACCOUNTS: &str = "elbv2:accounts";
/// The prefix of the setting holding a target group's health (followed by its ARN).
pub const HEALTH: &str = "elbv2:health:";
/// Tags per resource (AWS's quota).
pub const MAX_TAGS: usize = 50;

/// A health check's settings (`CreateTargetGroup`'s `HealthCheck*` members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `HealthCheckEnabled`.
    pub enabled: bool,
    /// `HealthCheckProtocol` (`HTTP`).
    pub protocol: String,
    /// `HealthCheckPort`: `traffic-port` or a port number.
    pub port: String,
    /// `HealthCheckPath`.
    pub path: String,
    /// `HealthCheckIntervalSeconds`.
    pub interval: u32,
    /// `HealthCheckTimeoutSeconds`.
    pub timeout: u32,
    /// `HealthyThresholdCount`.
    pub healthy_threshold: u32,
    /// `UnhealthyThresholdCount`.
    pub unhealthy_threshold: u32,
    /// `Matcher.HttpCode` (`200`, `200,202`, `200-299`).
    pub matcher: String,
}

impl Default for HealthCheck {
    fn default() -> HealthCheck {
        HealthCheck {
            enabled: true,
            protocol: "HTTP".into(),
            port: "traffic-port".into(),
            path: "/".into(),
            interval: 30,
            timeout: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: "200".into(),
        }
    }
}

/// A load balancer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerDoc {
    /// `LoadBalancerName`.
    pub name: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// `ipv4` or `dualstack`.
    pub ip_address_type: String,
    /// The VPC, recorded as given (Rampart has no VPCs).
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// `Subnets`, recorded as given.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// `SecurityGroups`, recorded as given.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Attributes set by `ModifyLoadBalancerAttributes` (the others have their defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A registered target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `Id`: a host address (for `ip` and `instance` targets alike).
    pub id: String,
    /// `Port`.
    pub port: u16,
}

/// A target group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetGroupDoc {
    /// `TargetGroupName`.
    pub name: String,
    /// `Protocol` (`HTTP`).
    pub protocol: String,
    /// `Port`.
    pub port: u16,
    /// `VpcId`, recorded as given.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// `TargetType`: `ip` or `instance`.
    pub target_type: String,
    /// The health check.
    pub health_check: HealthCheck,
    /// Registered targets.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListenerDoc {
    /// The load balancer's ARN.
    pub load_balancer_arn: String,
    /// `Port`.
    pub port: u16,
    /// `Protocol` (`HTTP` or `HTTPS`).
    pub protocol: String,
    /// `DefaultActions`, as given (AWS member names).
    pub default_actions: Vec<Value>,
    /// `SslPolicy` (HTTPS listeners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// The default certificate's ARN (HTTPS listeners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The certificates added by `AddListenerCertificates`, chosen by SNI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_certificates: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A listener rule (not the default one, which is the listener's default actions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleDoc {
    /// The listener's ARN.
    pub listener_arn: String,
    /// `Priority`.
    pub priority: u32,
    /// `Conditions`, as given.
    pub conditions: Vec<Value>,
    /// `Actions`, as given.
    pub actions: Vec<Value>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A new random resource id (16 hex digits, as AWS's).
pub fn new_id() -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(16)
        .collect()
}

/// The ARN prefix of the account's resources in `region`.
pub fn arn_prefix(region: &str, account: &str) -> String {
    format!(
        "arn:{partition}:elasticloadbalancing:{region}:{account}",
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The part of an ELB ARN after its resource type (`app/NAME/ID/...`), if it is one of `kind`.
pub fn arn_tail<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    resource.strip_prefix(kind)?.strip_prefix('/')
}

/// The name segment of an ARN's tail (`app/NAME/...` → `NAME`; `NAME/ID` → `NAME`).
pub fn name_in_arn(arn: &str, kind: &str) -> Option<String> {
    let tail = arn_tail(arn, kind)?;
    let tail = tail.strip_prefix("app/").unwrap_or(tail);
    tail.split('/').next().map(str::to_string)
}

/// A name key (`REGION/NAME`).
pub fn name_key(region: &str, name: &str) -> String {
    format!("{region}/{name}")
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

/// The load balancer an ARN names, or `LoadBalancerNotFound`.
pub async fn load_balancer(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    arn: &str,
) -> ElbResult<Loaded<LoadBalancerDoc>> {
    let missing =
        || ElbError::LoadBalancerNotFound(format!("One or more load balancers not found: {arn}"));
    let name = name_in_arn(arn, "loadbalancer").ok_or_else(missing)?;
    match load::<LoadBalancerDoc>(db, account, LOAD_BALANCER, &name_key(region, &name)).await? {
        Some(lb) if lb.arn() == arn => Ok(lb),
        _ => Err(missing()),
    }
}

/// The target group an ARN names, or `TargetGroupNotFound`.
pub async fn target_group(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    arn: &str,
) -> ElbResult<Loaded<TargetGroupDoc>> {
    let missing =
        || ElbError::TargetGroupNotFound(format!("One or more target groups not found: {arn}"));
    let name = name_in_arn(arn, "targetgroup").ok_or_else(missing)?;
    match load::<TargetGroupDoc>(db, account, TARGET_GROUP, &name_key(region, &name)).await? {
        Some(tg) if tg.arn() == arn => Ok(tg),
        _ => Err(missing()),
    }
}

/// The listener an ARN names, or `ListenerNotFound`.
pub async fn listener(db: &mut Db<'_>, account: &str, arn: &str) -> ElbResult<Loaded<ListenerDoc>> {
    load::<ListenerDoc>(db, account, LISTENER, arn)
        .await?
        .ok_or_else(|| {
            ElbError::ListenerNotFound(format!("One or more listeners not found: {arn}"))
        })
}

/// The rule an ARN names, or `RuleNotFound`.
pub async fn rule(db: &mut Db<'_>, account: &str, arn: &str) -> ElbResult<Loaded<RuleDoc>> {
    load::<RuleDoc>(db, account, RULE, arn)
        .await?
        .ok_or_else(|| ElbError::RuleNotFound(format!("One or more rules not found: {arn}")))
}

/// The id segment at the end of an ARN.
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The path of a load balancer's listeners.
pub fn listener_path(region: &str, lb_arn: &str) -> String {
    format!("/{region}/{}/", last_segment(lb_arn))
}

/// The path of a listener's rules.
pub fn rule_path(region: &str, listener_arn: &str) -> String {
    format!("/{region}/{}/", last_segment(listener_arn))
}

/// Bumps the configuration generation the listener runtime watches (inside the write).
pub async fn bump_generation(db: &mut Db<'_>) -> ElbResult<()> {
    let current = db
        .settings()
        .get(GENERATION)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    db.settings()
        .set(GENERATION, &current.saturating_add(1).to_string())
        .await?;
    Ok(())
}

/// The accounts that own load balancers.
pub async fn accounts(db: &mut Db<'_>) -> ElbResult<Vec<String>> {
    Ok(db
        .settings()
        .get(ACCOUNTS)
        .await?
        .and_then(|v| serde_json::from_str::<Vec<String>>(&v).ok())
        .unwrap_or_default())
}

/// Notes that `account` owns load balancers.
pub async fn note_account(db: &mut Db<'_>, account: &str) -> ElbResult<()> {
    let mut all = accounts(db).await?;
    if !all.iter().any(|a| a == account) {
        all.push(account.to_string());
        let text = serde_json::to_string(&all).map_err(|_| ElbError::internal())?;
        db.settings().set(ACCOUNTS, &text).await?;
    }
    Ok(())
}

/// AWS's timestamps (ISO 8601 on the awsQuery wire; epoch seconds in the decoded value).
pub fn epoch(t: DateTime<Utc>) -> Value {
    serde_json::json!(t.timestamp_millis() as f64 / 1000.0)
}

/// Sets a member of a JSON object (a no-op on anything else).
pub fn put(v: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_give_their_names() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef";
        assert_eq!(name_in_arn(lb, "loadbalancer").as_deref(), Some("web"));
        assert_eq!(name_in_arn(lb, "targetgroup"), None);
        let tg =
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg1/0123456789abcdef";
        assert_eq!(name_in_arn(tg, "targetgroup").as_deref(), Some("tg1"));
        assert_eq!(last_segment(tg), "0123456789abcdef");
        assert_eq!(name_in_arn("nonsense", "targetgroup"), None);
    }
}
