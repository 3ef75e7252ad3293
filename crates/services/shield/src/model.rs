//! How subscriptions, protections, protection groups and attacks are stored, and their ARNs.
//!
//! Each is an entity in its owner's account: the subscription under the key `subscription`,
//! protections and groups under their ids, attacks under their ids with the attacked
//! resource's ARN as the path (so one resource's attacks are one prefix scan).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, Partition};

pub use rampart_kit::entity::{list_all, load, Loaded};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ShieldError, ShieldResult};

/// The entity kind of the subscription.
pub const SUBSCRIPTION: &str = "shield:subscription";
/// The entity kind of a protection.
pub const PROTECTION: &str = "shield:protection";
/// The entity kind of a protection group.
pub const GROUP: &str = "shield:protection-group";
/// The entity kind of an attack.
pub const ATTACK: &str = "shield:attack";
/// The setting listing the accounts with automatic responses enabled (a JSON array).
pub const RESPONDING_ACCOUNTS: &str = "shield:automatic-response-accounts";
/// The subscription's commitment: one year.
pub const COMMITMENT_SECS: i64 = 31_536_000;
/// Protected application load balancers per subscription (AWS's default).
pub const MAX_PROTECTED_LOAD_BALANCERS: usize = 1000;
/// Protection groups per subscription (AWS's default).
pub const MAX_GROUPS: usize = 100;
/// Members of an `ARBITRARY` group (AWS's default).
pub const MAX_MEMBERS: usize = 10_000;

/// The subscription.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionDoc {
    /// Its id (in the ARN).
    pub id: String,
    /// `StartTime` (epoch seconds).
    pub start: i64,
    /// `AutoRenew`.
    pub auto_renew: String,
}

/// The automatic response's settings on a protection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomaticResponse {
    /// `Block` or `Count`.
    pub action: String,
}

/// A protection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtectionDoc {
    /// `Id`.
    pub id: String,
    /// `Name`.
    pub name: String,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `ApplicationLayerAutomaticResponseConfiguration`, when enabled.
    #[serde(default)]
    pub automatic_response: Option<AutomaticResponse>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A protection group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupDoc {
    /// `ProtectionGroupId`.
    pub id: String,
    /// `Aggregation`.
    pub aggregation: String,
    /// `Pattern`.
    pub pattern: String,
    /// `ResourceType` (for `BY_RESOURCE_TYPE`).
    #[serde(default)]
    pub resource_type: Option<String>,
    /// `Members` (for `ARBITRARY`).
    #[serde(default)]
    pub members: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The ARN of a Shield resource (`arn:PARTITION:shield::ACCOUNT:KIND/ID`: global, in the
/// account's partition).
pub fn arn(partition: Partition, account: &str, kind: &str, id: &str) -> String {
    partition.arn("shield", "", account, &format!("{kind}/{id}"))
}

/// A new entity.
pub fn new_entity(
    account: &str,
    kind: &str,
    key: &str,
    path: &str,
    arn: String,
    now: DateTime<Utc>,
) -> Entity {
    Entity {
        account_id: account.to_string(),
        kind: kind.to_string(),
        name: key.to_string(),
        name_key: key.to_string(),
        id: format!("{kind}:{}", uuid::Uuid::new_v4()),
        path: path.to_string(),
        arn,
        created_at: now,
        updated_at: now,
        doc: String::new(),
    }
}

/// Writes a new entity with its document.
pub async fn create<T: Serialize>(
    db: &mut Db<'_>,
    mut e: Entity,
    doc: &T,
    now: DateTime<Utc>,
) -> ShieldResult<()> {
    entity::write_doc(&mut e, doc, now)?;
    db.entities().create(&e).await?;
    Ok(())
}

/// The account's subscription, or `ResourceNotFoundException`.
pub async fn subscription(db: &mut Db<'_>, account: &str) -> ShieldResult<Loaded<SubscriptionDoc>> {
    load::<SubscriptionDoc>(db, account, SUBSCRIPTION, "subscription")
        .await?
        .ok_or_else(|| {
            ShieldError::ResourceNotFoundException("The subscription does not exist.".into())
        })
}

/// The account's protections.
pub async fn protections(
    db: &mut Db<'_>,
    account: &str,
) -> ShieldResult<Vec<Loaded<ProtectionDoc>>> {
    Ok(list_all(db, account, PROTECTION, "/").await?)
}

/// The protection of `resource`, if any.
pub async fn protection_of(
    db: &mut Db<'_>,
    account: &str,
    resource: &str,
) -> ShieldResult<Option<Loaded<ProtectionDoc>>> {
    Ok(protections(db, account)
        .await?
        .into_iter()
        .find(|p| p.doc.resource_arn == resource))
}

/// The `ProtectedResourceType` of a resource ARN Rampart can protect.
pub fn resource_type(arn: &str) -> Option<&'static str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let elb = Partition::of_arn(arn).and_then(|p| p.strip_arn(arn, "elasticloadbalancing"));
    if elb.is_some() && resource.starts_with("loadbalancer/app/") {
        Some("APPLICATION_LOAD_BALANCER")
    } else {
        None
    }
}

/// Epoch seconds as the wire's timestamp value.
pub fn epoch(secs: i64) -> Value {
    json!(secs)
}

/// AWS's tag list from a tag map.
pub fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

/// A tag map from the input's `Tags` list (AWS's `Tag` members are optional: a tag without a
/// key is refused).
pub fn tags_in(input: &Value) -> ShieldResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for t in input
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = t
            .get("Key")
            .and_then(Value::as_str)
            .ok_or_else(|| ShieldError::invalid("A tag must have a key."))?;
        let value = t.get("Value").and_then(Value::as_str).unwrap_or_default();
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_application_load_balancers_are_protectable() {
        let lb =
            "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/web/0123456789abcdef";
        assert_eq!(resource_type(lb), Some("APPLICATION_LOAD_BALANCER"));
        let tg = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/t/0123";
        assert_eq!(resource_type(tg), None);
        assert_eq!(resource_type("arn:aws:s3:::bucket"), None);
        let cn =
            "arn:aws-cn:elasticloadbalancing:cn-north-1:111111111111:loadbalancer/app/web/0123";
        assert_eq!(resource_type(cn), Some("APPLICATION_LOAD_BALANCER"));
        assert_eq!(
            arn(Partition::AwsCn, "111111111111", "protection", "p1"),
            "arn:aws-cn:shield::111111111111:protection/p1"
        );
    }
}
