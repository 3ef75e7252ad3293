//! How web ACLs, IP sets and regex pattern sets are stored, and their ARNs.
//!
//! Each is an entity in its owner's account, kind per family, keyed `REGION/SCOPE/NAME` under
//! the path `/REGION/SCOPE/`. One document type holds all three families (the members a
//! family does not use stay empty), so lookups, lock tokens and tags are written once. A web
//! ACL's document lists the resources it is associated with; the reverse (a resource's web
//! ACL) is a setting per resource ARN. Every write bumps ELB's configuration generation, which
//! the listener runtime watches.

use std::collections::BTreeMap;

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{WafError, WafResult};

/// The setting prefix of a resource's association (followed by the resource ARN).
pub const ASSOCIATION: &str = "wafv2:association:";

/// A family of WAF items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Web ACLs.
    WebAcl,
    /// IP sets.
    IpSet,
    /// Regex pattern sets.
    RegexSet,
    /// Rule groups of one's own.
    RuleGroup,
}

impl Kind {
    /// The entity kind.
    pub fn entity_kind(self) -> &'static str {
        match self {
            Kind::WebAcl => "wafv2:webacl",
            Kind::IpSet => "wafv2:ipset",
            Kind::RegexSet => "wafv2:regexpatternset",
            Kind::RuleGroup => "wafv2:rulegroup",
        }
    }

    /// The ARN segment.
    pub fn segment(self) -> &'static str {
        match self {
            Kind::WebAcl => "webacl",
            Kind::IpSet => "ipset",
            Kind::RegexSet => "regexpatternset",
            Kind::RuleGroup => "rulegroup",
        }
    }

    /// The family an ARN segment names.
    pub fn of_segment(s: &str) -> Option<Kind> {
        match s {
            "webacl" => Some(Kind::WebAcl),
            "ipset" => Some(Kind::IpSet),
            "regexpatternset" => Some(Kind::RegexSet),
            "rulegroup" => Some(Kind::RuleGroup),
            _ => None,
        }
    }
}

/// A web ACL, IP set, regex pattern set or rule group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemDoc {
    /// `Name`.
    pub name: String,
    /// `Id`.
    pub id: String,
    /// `REGIONAL` or `CLOUDFRONT`.
    pub scope: String,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// The current lock token.
    pub lock_token: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Web ACL: `DefaultAction`, as given (rule groups have none).
    #[serde(default)]
    pub default_action: Value,
    /// Web ACL and rule group: `Rules`, as given.
    #[serde(default)]
    pub rules: Vec<Value>,
    /// Web ACL and rule group: `VisibilityConfig`, as given.
    #[serde(default)]
    pub visibility_config: Value,
    /// Web ACL and rule group: `CustomResponseBodies`, as given.
    #[serde(default)]
    pub custom_response_bodies: Value,
    /// Web ACL: its capacity (WCUs); rule group: the `Capacity` fixed at creation.
    #[serde(default)]
    pub capacity: u64,
    /// Web ACL: the resources it is associated with.
    #[serde(default)]
    pub associations: Vec<String>,
    /// IP set: `IPV4` or `IPV6`.
    #[serde(default)]
    pub ip_address_version: String,
    /// IP set: `Addresses` (CIDR).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Regex pattern set: the patterns.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Web ACL: `CaptchaConfig`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captcha_config: Option<Value>,
    /// Web ACL: `ChallengeConfig`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_config: Option<Value>,
    /// Web ACL: `TokenDomains`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_domains: Vec<String>,
    /// Web ACL: its `LoggingConfiguration`, as `GetLoggingConfiguration` returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
}

/// A stored item.
#[derive(Debug, Clone)]
pub struct Item {
    /// The entity.
    pub entity: Entity,
    /// Its document.
    pub doc: ItemDoc,
}

impl Item {
    /// Its ARN.
    pub fn arn(&self) -> &str {
        &self.entity.arn
    }
}

/// The `Scope` member, checked: `CLOUDFRONT` only through us-east-1, as in AWS.
pub fn scope_of(input: &Value, ctx: &CallContext) -> WafResult<String> {
    match opt_str(input, "Scope").unwrap_or_default() {
        "REGIONAL" => Ok("REGIONAL".into()),
        "CLOUDFRONT" if ctx.region == "us-east-1" => Ok("CLOUDFRONT".into()),
        other => Err(WafError::invalid(
            "SCOPE_VALUE",
            other,
            "The scope is not valid.",
        )),
    }
}

/// Checks a `Name` (1-128 of `[A-Za-z0-9_-]`).
pub fn check_name(name: &str) -> WafResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(WafError::invalid("NAME", name, "Your name is not valid."))
    }
}

/// The name key of an item.
pub fn key(region: &str, scope: &str, name: &str) -> String {
    format!("{region}/{scope}/{name}")
}

/// The ARN of an item.
pub fn arn(kind: Kind, region: &str, account: &str, scope: &str, name: &str, id: &str) -> String {
    let s = if scope == "CLOUDFRONT" {
        "global"
    } else {
        "regional"
    };
    format!(
        "arn:{partition}:wafv2:{region}:{account}:{s}/{}/{name}/{id}",
        kind.segment(),
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// An ARN's parts: family, scope, name and id.
pub fn parse_arn(arn: &str) -> Option<(Kind, String, String, String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, region, _, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "wafv2" {
        return None;
    }
    let mut seg = resource.split('/');
    let scope = match seg.next()? {
        "regional" => "REGIONAL",
        "global" => "CLOUDFRONT",
        _ => return None,
    };
    let kind = Kind::of_segment(seg.next()?)?;
    let name = seg.next()?.to_string();
    let id = seg.next()?.to_string();
    Some((kind, region.to_string(), scope.to_string(), name, id))
}

/// A new id or lock token.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The item of `kind` named `name` in `scope` whose id is `id`, or `WAFNonexistentItemException`.
pub async fn find(
    db: &mut Db<'_>,
    ctx: &CallContext,
    kind: Kind,
    scope: &str,
    name: &str,
    id: &str,
) -> WafResult<Item> {
    let key = key(&ctx.region, scope, name);
    match entity::load_doc::<ItemDoc>(db, &ctx.principal.account_id, kind.entity_kind(), &key)
        .await?
    {
        Some((entity, doc)) if doc.id == id => Ok(Item { entity, doc }),
        _ => Err(WafError::missing()),
    }
}

/// The item an ARN names in the caller's account, or `WAFNonexistentItemException`.
pub async fn find_arn(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> WafResult<Item> {
    let (kind, region, scope, name, id) = parse_arn(arn)
        .ok_or_else(|| WafError::invalid("RESOURCE_ARN", arn, "The ARN isn’t valid."))?;
    if region != ctx.region {
        return Err(WafError::missing());
    }
    find(db, ctx, kind, &scope, &name, &id).await
}

/// Every item of `kind` in `scope`, in name order.
pub async fn list_all(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    kind: Kind,
    scope: &str,
) -> WafResult<Vec<Item>> {
    let path = format!("/{region}/{scope}/");
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(account, kind.entity_kind(), &path, after.as_deref(), 500)
            .await?;
        for e in page.items {
            after = Some(e.name_key.clone());
            let doc = entity::read_doc::<ItemDoc>(&e)?;
            out.push(Item { entity: e, doc });
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// Checks the caller's lock token against the item's.
pub fn check_lock(input: &Value, item: &Item) -> WafResult<()> {
    if opt_str(input, "LockToken") == Some(item.doc.lock_token.as_str()) {
        Ok(())
    } else {
        Err(WafError::stale())
    }
}

/// Whether a web ACL in `scope` references the item `arn` (a set or a rule group).
pub async fn referenced(
    db: &mut Db<'_>,
    ctx: &CallContext,
    scope: &str,
    arn: &str,
) -> WafResult<bool> {
    let account = &ctx.principal.account_id;
    let mut holders = list_all(db, account, &ctx.region, Kind::WebAcl, scope).await?;
    holders.extend(list_all(db, account, &ctx.region, Kind::RuleGroup, scope).await?);
    let quoted = format!("\"{arn}\"");
    Ok(holders
        .iter()
        .any(|a| serde_json::to_string(&a.doc.rules).is_ok_and(|t| t.contains(&quoted))))
}

/// The name key of a new item of `kind` named `name` (checked), or
/// `WAFDuplicateItemException` when one exists.
pub async fn new_key(
    db: &mut Db<'_>,
    ctx: &CallContext,
    kind: Kind,
    scope: &str,
    name: &str,
) -> WafResult<String> {
    check_name(name)?;
    let key = key(&ctx.region, scope, name);
    if entity::find(db, &ctx.principal.account_id, kind.entity_kind(), &key)
        .await?
        .is_some()
    {
        return Err(WafError::WAFDuplicateItemException(
            "AWS WAF couldn’t perform the operation because some resource in your request is a duplicate of an existing one.".into(),
        ));
    }
    Ok(key)
}

/// Deletes an item.
pub async fn remove(db: &mut Db<'_>, item: &Item) -> WafResult<()> {
    db.entities()
        .delete(
            &item.entity.account_id,
            &item.entity.kind,
            &item.entity.name_key,
        )
        .await?;
    Ok(())
}

/// The error of an item in use.
pub fn in_use() -> WafError {
    WafError::WAFAssociatedItemException(
        "AWS WAF couldn’t perform the operation because your resource is being used by another resource or it’s associated with another resource.".into(),
    )
}

/// Adds a web ACL's or rule group's `Description` and `CustomResponseBodies`, when set, to
/// its `Get` answer.
pub fn put_extras(out: &mut Value, doc: &ItemDoc) {
    if let Some(desc) = &doc.description {
        put(out, "Description", desc.clone());
    }
    for (member, config) in [
        ("CaptchaConfig", &doc.captcha_config),
        ("ChallengeConfig", &doc.challenge_config),
    ] {
        if let Some(c) = config {
            put(out, member, c.clone());
        }
    }
    if !doc.token_domains.is_empty() {
        put(out, "TokenDomains", serde_json::json!(doc.token_domains));
    }
    if !doc.custom_response_bodies.is_null() {
        put(
            out,
            "CustomResponseBodies",
            doc.custom_response_bodies.clone(),
        );
    }
}

/// Saves an updated item with a new lock token, tells the listener runtime, and answers
/// `NextLockToken`.
pub async fn save_update(db: &mut Db<'_>, mut item: Item, ctx: &CallContext) -> WafResult<Value> {
    item.doc.lock_token = new_token();
    let next = item.doc.lock_token.clone();
    entity::save_doc(db, item.entity, &item.doc, ctx.now).await?;
    changed(db).await?;
    Ok(serde_json::json!({ "NextLockToken": next }))
}

/// Tells the listener runtime to reload.
pub async fn changed(db: &mut Db<'_>) -> WafResult<()> {
    rampart_elbv2::model::bump_generation(db).await?;
    Ok(())
}

/// The `Tags` member (`[{Key, Value}]`).
pub fn tags_in(input: &Value) -> BTreeMap<String, String> {
    input
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t.get("Key")?.as_str()?.to_string(),
                t.get("Value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ))
        })
        .collect()
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
    fn arns_round_trip() {
        let a = arn(
            Kind::IpSet,
            "eu-west-1",
            "123456789012",
            "REGIONAL",
            "ips",
            "abc",
        );
        assert_eq!(
            a,
            "arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/ips/abc"
        );
        let (k, r, s, n, i) = parse_arn(&a).unwrap();
        assert_eq!(
            (k, r.as_str(), s.as_str(), n.as_str(), i.as_str()),
            (Kind::IpSet, "eu-west-1", "REGIONAL", "ips", "abc")
        );
        assert!(parse_arn("arn:aws:s3:::bucket").is_none());
        assert!(check_name("a_b-1").is_ok());
        assert!(check_name("a b").is_err());
    }
}
