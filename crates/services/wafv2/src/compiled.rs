//! From stored web ACLs to compiled ones: loading the rule groups and sets a web ACL
//! references and compiling it, for the operations (to check and count capacity) and for the listener runtime.

use rampart_kit::{db::Db, entity};
use rampart_store::Store;
use serde_json::Value;

use crate::{
    engine::{
        compile::{GroupDef, Invalid, Refs},
        geo, group,
        logging::LogConfig,
        managed_statements, references, rule_group_references, Action, Response, WebAcl,
        MAX_CAPACITY,
    },
    error::{WafError, WafResult},
    model::{self, ItemDoc, Kind, ASSOCIATION},
};

/// A compile error as AWS's `WAFInvalidParameterException`.
pub fn invalid(e: Invalid) -> WafError {
    WafError::invalid(e.field, &e.parameter, &e.reason)
}

/// The label namespace of a web ACL.
pub fn namespace(account: &str, name: &str) -> String {
    format!("awswaf:{account}:webacl:{name}:")
}

/// The stored item an ARN names in `account`, of `kind`; `WAFNonexistentItemException` when
/// there is none, `WAFInvalidParameterException` for an ARN of another kind.
async fn load_arn(db: &mut Db<'_>, account: &str, arn: &str, kind: Kind) -> WafResult<ItemDoc> {
    let (k, region, scope, name, id) = model::parse_arn(arn)
        .ok_or_else(|| WafError::invalid("RESOURCE_ARN", arn, "The ARN isn’t valid."))?;
    if k != kind {
        return Err(WafError::invalid(
            "RESOURCE_ARN",
            arn,
            "The ARN names another kind of item.",
        ));
    }
    let key = model::key(&region, &scope, &name);
    entity::load_doc::<ItemDoc>(db, account, kind.entity_kind(), &key)
        .await?
        .map(|(_, d)| d)
        .filter(|d| d.id == id)
        .ok_or_else(WafError::missing)
}

/// Loads the rule groups and sets `rules` reference (in `account`), and the geolocation
/// database when one is configured; a missing item is `WAFNonexistentItemException`.
pub async fn refs(
    db: &mut Db<'_>,
    account: &str,
    rules: &[Value],
    namespace: String,
) -> WafResult<Refs> {
    for statement in managed_statements(rules) {
        group::group_of(statement).map_err(|_| WafError::missing())?;
    }
    let mut out = Refs {
        namespace,
        geo: geo::installed(),
        ..Refs::default()
    };
    let mut all_rules = rules.to_vec();
    for arn in rule_group_references(rules) {
        let doc = load_arn(db, account, &arn, Kind::RuleGroup).await?;
        all_rules.extend(doc.rules.iter().cloned());
        out.rule_groups.insert(
            arn,
            GroupDef {
                name: doc.name,
                account: account.to_string(),
                rules: doc.rules,
                bodies: doc.custom_response_bodies,
                capacity: doc.capacity,
            },
        );
    }
    let (ips, regexes) = references(&all_rules);
    for (list, kind) in [(ips, Kind::IpSet), (regexes, Kind::RegexSet)] {
        for arn in list {
            let doc = load_arn(db, account, &arn, kind).await?;
            match kind {
                Kind::IpSet => out.ip_sets.insert(arn, doc.addresses),
                _ => out.regex_sets.insert(arn, doc.patterns),
            };
        }
    }
    Ok(out)
}

/// Compiles a web ACL's definition, checking its capacity against AWS's limit.
pub async fn compile(
    db: &mut Db<'_>,
    account: &str,
    arn: &str,
    doc: &ItemDoc,
) -> WafResult<WebAcl> {
    let refs = refs(db, account, &doc.rules, namespace(account, &doc.name)).await?;
    let mut acl = WebAcl::compile(
        arn,
        &doc.rules,
        &doc.default_action,
        &doc.custom_response_bodies,
        &refs,
    )
    .map_err(invalid)?;
    acl.sampled_metric = crate::engine::samples::metric_of(Some(&doc.visibility_config));
    acl.set_token_config(
        doc.captcha_config.as_ref(),
        doc.challenge_config.as_ref(),
        &doc.token_domains,
    )
    .map_err(invalid)?;
    acl.logging = logging_of(doc);
    if acl.capacity > MAX_CAPACITY {
        return Err(WafError::WAFLimitsExceededException(format!(
            "AWS WAF couldn’t perform the operation because you exceeded your resource limit: the web ACL needs {} WCUs, the limit is {MAX_CAPACITY}.",
            acl.capacity
        )));
    }
    Ok(acl)
}

/// A web ACL's logging configuration, compiled (one that no longer compiles is logged and
/// left out: the web ACL still filters, unlogged).
fn logging_of(doc: &ItemDoc) -> Option<std::sync::Arc<LogConfig>> {
    let v = doc.logging.as_ref()?;
    match LogConfig::compile(v) {
        Ok(c) => Some(std::sync::Arc::new(c)),
        Err(e) => {
            tracing::error!(web_acl = %doc.name, reason = %e.reason, "wafv2: stored logging configuration does not compile");
            None
        }
    }
}

/// The web ACL associated with a resource, compiled; `None` when there is none (or it no
/// longer compiles, which is logged: the listener then serves without it).
pub async fn for_resource(store: &Store, resource_arn: &str) -> WafResult<Option<WebAcl>> {
    let mut db = Db::Read(store);
    let Some(acl_arn) = db
        .settings()
        .get(&format!("{ASSOCIATION}{resource_arn}"))
        .await?
    else {
        return Ok(None);
    };
    let Some((kind, region, scope, name, id)) = model::parse_arn(&acl_arn) else {
        return Ok(None);
    };
    let account = acl_arn.split(':').nth(4).unwrap_or_default().to_string();
    let key = model::key(&region, &scope, &name);
    let Some((_, doc)) = entity::load_doc::<ItemDoc>(&mut db, &account, kind.entity_kind(), &key)
        .await?
        .filter(|(_, d)| d.id == id)
    else {
        return Ok(None);
    };
    match compile(&mut db, &account, &acl_arn, &doc).await {
        Ok(acl) => Ok(Some(acl)),
        Err(e) => {
            // Fails closed: a web ACL that cannot be applied blocks every request rather than
            // letting traffic through unfiltered (e.g. a GeoMatch rule after a restart without
            // the geolocation database).
            tracing::error!(web_acl = %acl_arn, code = e.code(), "wafv2: stored web ACL does not compile; its resources answer 403 to every request until it is fixed");
            Ok(Some(WebAcl {
                arn: acl_arn,
                rules: Vec::new(),
                default: Action::Block(Response::forbidden()),
                capacity: 0,
                sampled_metric: None,
                captcha_immunity: crate::engine::DEFAULT_IMMUNITY,
                challenge_immunity: crate::engine::DEFAULT_IMMUNITY,
                token_domains: Vec::new(),
                logging: logging_of(&doc),
            }))
        }
    }
}
