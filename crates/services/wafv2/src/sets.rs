//! IP sets and regex pattern sets: `Create`, `Get`, `Update`, `Delete`, `List` of each. A set
//! a web ACL references cannot be deleted; updating one recompiles the web ACLs that use it
//! (through the listener runtime's reload).

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    engine::stmt::Net,
    error::{WafError, WafResult},
    model::{self, Item, ItemDoc, Kind},
    web_acls::{find_named, rampart_kit_entity, summary},
};

/// Most addresses in an IP set (AWS's quota).
const MAX_ADDRESSES: usize = 10_000;
/// Most patterns in a regex pattern set (AWS's quota).
const MAX_PATTERNS: usize = 10;

/// The addresses of an input, checked (CIDR of the set's version).
fn addresses(input: &Value, version: &str) -> WafResult<Vec<String>> {
    let list = rampart_kit::input::str_list(input, "Addresses");
    if list.len() > MAX_ADDRESSES {
        return Err(WafError::WAFLimitsExceededException(
            "AWS WAF couldn’t perform the operation because you exceeded your resource limit."
                .into(),
        ));
    }
    for a in &list {
        let ok = Net::parse(a).is_some_and(|n| n.addr.is_ipv4() == (version == "IPV4"));
        if !ok {
            return Err(WafError::invalid(
                "IP_ADDRESS",
                a,
                "The IP address is not valid.",
            ));
        }
    }
    Ok(list)
}

/// The patterns of an input (`RegularExpressionList`), checked to compile.
fn patterns(input: &Value) -> WafResult<Vec<String>> {
    let list: Vec<String> = input
        .get("RegularExpressionList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("RegexString").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    if list.len() > MAX_PATTERNS {
        return Err(WafError::WAFLimitsExceededException(
            "AWS WAF couldn’t perform the operation because you exceeded your resource limit."
                .into(),
        ));
    }
    for p in &list {
        if regex::bytes::RegexBuilder::new(p)
            .size_limit(1 << 20)
            .build()
            .is_err()
        {
            return Err(WafError::invalid(
                "REGEX_STRING",
                p,
                "The regular expression is not valid.",
            ));
        }
    }
    Ok(list)
}

/// `CreateIPSet` and `CreateRegexPatternSet`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    kind: Kind,
) -> WafResult<Value> {
    let scope = model::scope_of(input, ctx)?;
    let name = opt_str(input, "Name").unwrap_or_default();
    let account = &ctx.principal.account_id;
    let key = model::new_key(&mut db, ctx, kind, &scope, name).await?;
    let mut doc = ItemDoc {
        name: name.to_string(),
        id: model::new_token(),
        scope: scope.clone(),
        description: opt_str(input, "Description").map(str::to_string),
        lock_token: model::new_token(),
        tags: model::tags_in(input),
        ..ItemDoc::default()
    };
    if kind == Kind::IpSet {
        let version = opt_str(input, "IPAddressVersion").unwrap_or("IPV4");
        doc.ip_address_version = version.to_string();
        doc.addresses = addresses(input, version)?;
    } else {
        doc.patterns = patterns(input)?;
    }
    let arn = model::arn(kind, &ctx.region, account, &scope, name, &doc.id);
    let mut e = rampart_kit_entity(account, kind, name, key, &ctx.region, &scope, arn, ctx);
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(json!({ "Summary": summary(&Item { entity: e, doc }) }))
}

/// `GetIPSet` and `GetRegexPatternSet`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>, kind: Kind) -> WafResult<Value> {
    let item = find_named(&mut db, input, ctx, kind).await?;
    let d = &item.doc;
    let mut out = json!({"Name": d.name, "Id": d.id, "ARN": item.arn()});
    if let Some(desc) = &d.description {
        crate::model::put(&mut out, "Description", json!(desc));
    }
    let member = if kind == Kind::IpSet {
        crate::model::put(&mut out, "IPAddressVersion", json!(d.ip_address_version));
        crate::model::put(&mut out, "Addresses", json!(d.addresses));
        "IPSet"
    } else {
        crate::model::put(
            &mut out,
            "RegularExpressionList",
            json!(d
                .patterns
                .iter()
                .map(|p| json!({"RegexString": p}))
                .collect::<Vec<_>>()),
        );
        "RegexPatternSet"
    };
    Ok(json!({ member: out, "LockToken": d.lock_token }))
}

/// `UpdateIPSet` and `UpdateRegexPatternSet`: replaces the contents when the lock token is
/// current.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    kind: Kind,
) -> WafResult<Value> {
    let mut item = find_named(&mut db, input, ctx, kind).await?;
    model::check_lock(input, &item)?;
    if kind == Kind::IpSet {
        item.doc.addresses = addresses(input, &item.doc.ip_address_version.clone())?;
    } else {
        item.doc.patterns = patterns(input)?;
    }
    if let Some(desc) = opt_str(input, "Description") {
        item.doc.description = Some(desc.to_string());
    }
    model::save_update(&mut db, item, ctx).await
}

/// `DeleteIPSet` and `DeleteRegexPatternSet`: refused while a web ACL references the set.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
    kind: Kind,
) -> WafResult<Value> {
    let item = find_named(&mut db, input, ctx, kind).await?;
    model::check_lock(input, &item)?;
    if model::referenced(&mut db, ctx, &item.doc.scope, item.arn()).await? {
        return Err(model::in_use());
    }
    model::remove(&mut db, &item).await?;
    Ok(json!({}))
}
