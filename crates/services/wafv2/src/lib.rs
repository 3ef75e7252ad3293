//! AWS WAF (v2) (awsJson1.1, `AWSWAF_20190729.*`): web ACLs, IP sets and regex pattern sets,
//! AWS managed rule groups, associations with load balancers, and the engine the listener runtime evaluates on each
//! proxied request.
//!
//! - [`web_acls`]: web ACLs and `CheckCapacity`; [`sets`]: IP sets and regex pattern sets;
//!   [`rule_groups`]: rule groups of one's own;
//!   [`associations`]: web ACLs on load balancers; [`managed_groups`]: the AWS managed rule
//!   groups on offer; [`managed_keys`]: the addresses rate-based rules block;
//!   [`sampled`]: requests the listeners sampled; [`logging_configs`]: web ACL logging;
//!   [`tags`];
//! - [`engine`]: statements, fields, text transformations, rate counting, evaluation;
//! - [`compiled`]: stored web ACL to compiled one; storage in [`model`]; [`token_key`]: the
//!   key of CAPTCHA and Challenge tokens.

use rampart_kit::{authz::AuthzRequest, context::CallContext, input::opt_str, routes};
use rampart_store::Store;
use serde_json::Value;

pub mod associations;
pub mod compiled;
pub mod engine;
pub mod error;
pub mod logging_configs;
pub mod managed_groups;
pub mod managed_keys;
pub mod model;
pub mod rule_groups;
pub mod sampled;
pub mod sets;
pub mod tags;
pub mod token_key;
pub mod web_acls;

pub use error::WafError;
use model::Kind;
pub use rampart_model::wafv2::Op;

routes! {
    authz: authorize;
    built {
        CreateWebACL => Write, |i, c, d| web_acls::create(i, c, d);
        GetWebACL => Read, |i, c, d| web_acls::get(i, c, d);
        UpdateWebACL => Write, |i, c, d| web_acls::update(i, c, d);
        DeleteWebACL => Write, |i, c, d| web_acls::delete(i, c, d);
        ListWebACLs => Read, |i, c, d| web_acls::list_kind(i, c, d, Kind::WebAcl, "WebACLs");
        CheckCapacity => Read, |i, c, d| web_acls::check_capacity(i, c, d);
        CreateIPSet => Write, |i, c, d| sets::create(i, c, d, Kind::IpSet);
        GetIPSet => Read, |i, c, d| sets::get(i, c, d, Kind::IpSet);
        UpdateIPSet => Write, |i, c, d| sets::update(i, c, d, Kind::IpSet);
        DeleteIPSet => Write, |i, c, d| sets::delete(i, c, d, Kind::IpSet);
        ListIPSets => Read, |i, c, d| web_acls::list_kind(i, c, d, Kind::IpSet, "IPSets");
        CreateRegexPatternSet => Write, |i, c, d| sets::create(i, c, d, Kind::RegexSet);
        GetRegexPatternSet => Read, |i, c, d| sets::get(i, c, d, Kind::RegexSet);
        UpdateRegexPatternSet => Write, |i, c, d| sets::update(i, c, d, Kind::RegexSet);
        DeleteRegexPatternSet => Write, |i, c, d| sets::delete(i, c, d, Kind::RegexSet);
        ListRegexPatternSets => Read,
            |i, c, d| web_acls::list_kind(i, c, d, Kind::RegexSet, "RegexPatternSets");
        AssociateWebACL => Write, |i, c, d| associations::associate(i, c, d);
        DisassociateWebACL => Write, |i, c, d| associations::disassociate(i, c, d);
        GetWebACLForResource => Read, |i, c, d| associations::for_resource(i, c, d);
        ListResourcesForWebACL => Read, |i, c, d| associations::resources(i, c, d);
        TagResource => Write, |i, c, d| tags::tag(i, c, d);
        UntagResource => Write, |i, c, d| tags::untag(i, c, d);
        ListTagsForResource => Read, |i, c, d| tags::list(i, c, d);
        ListAvailableManagedRuleGroups => Read, |i, c, d| managed_groups::list(i, c, d);
        DescribeManagedRuleGroup => Read, |i, c, d| managed_groups::describe(i, c, d);
        ListAvailableManagedRuleGroupVersions => Read,
            |i, c, d| managed_groups::versions(i, c, d);
        CreateRuleGroup => Write, |i, c, d| rule_groups::create(i, c, d);
        GetRuleGroup => Read, |i, c, d| rule_groups::get(i, c, d);
        UpdateRuleGroup => Write, |i, c, d| rule_groups::update(i, c, d);
        DeleteRuleGroup => Write, |i, c, d| rule_groups::delete(i, c, d);
        GetRateBasedStatementManagedKeys => Read, |i, c, d| managed_keys::get(i, c, d);
        GetSampledRequests => Read, |i, c, d| sampled::get(i, c, d);
        PutLoggingConfiguration => Write, |i, c, d| logging_configs::put(i, c, d);
        GetLoggingConfiguration => Read, |i, c, d| logging_configs::get(i, c, d);
        DeleteLoggingConfiguration => Write, |i, c, d| logging_configs::delete(i, c, d);
        ListLoggingConfigurations => Read, |i, c, d| logging_configs::list(i, c, d);
        ListRuleGroups => Read,
            |i, c, d| web_acls::list_kind(i, c, d, Kind::RuleGroup, "RuleGroups");
    }
    not_built {
        // Managed products and rule sets (the vendor side), API keys, mobile SDK,
        // permission policies, Firewall Manager.
        CreateAPIKey, DeleteAPIKey, DeleteFirewallManagerRuleGroups,
        DeletePermissionPolicy, DescribeAllManagedProducts, DescribeManagedProductsByVendor,
        GenerateMobileSdkReleaseUrl, GetDecryptedAPIKey,
        GetManagedRuleSet, GetMobileSdkRelease, GetPermissionPolicy,
        GetTopPathStatisticsByTraffic, ListAPIKeys, ListManagedRuleSets,
        ListMobileSdkReleases,
        PutManagedRuleSetVersions, PutPermissionPolicy, UpdateManagedRuleSetVersionExpiryDate,
    }
}

/// The authorization question of a WAF operation: `wafv2:<Operation>` on the item or
/// resource it names; association calls also on the load balancer; `*` for lists.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, WafError> {
    let action = format!("wafv2:{}", op.name());
    let account = &ctx.principal.account_id;
    let arn_member = match op {
        Op::AssociateWebACL | Op::ListResourcesForWebACL => Some("WebACLArn"),
        Op::GetSampledRequests => Some("WebAclArn"),
        Op::DisassociateWebACL | Op::GetWebACLForResource => Some("ResourceArn"),
        Op::TagResource | Op::UntagResource | Op::ListTagsForResource => Some("ResourceARN"),
        Op::GetWebACL | Op::GetRuleGroup => Some("ARN"),
        _ => None,
    };
    let arn_member = match op {
        Op::GetLoggingConfiguration | Op::DeleteLoggingConfiguration => Some("ResourceArn"),
        _ => arn_member,
    };
    let logged = input.get("LoggingConfiguration");
    if let Some(arn) = logged.and_then(|l| opt_str(l, "ResourceArn")) {
        return Ok(Some(AuthzRequest::on(&action, arn.to_string(), account)));
    }
    if let Some(arn) = arn_member.and_then(|m| opt_str(input, m)) {
        return Ok(Some(AuthzRequest::on(&action, arn.to_string(), account)));
    }
    let kind = match op {
        Op::CreateWebACL | Op::GetWebACL | Op::UpdateWebACL | Op::DeleteWebACL => {
            Some(Kind::WebAcl)
        }
        Op::CreateIPSet | Op::GetIPSet | Op::UpdateIPSet | Op::DeleteIPSet => Some(Kind::IpSet),
        Op::CreateRegexPatternSet
        | Op::GetRegexPatternSet
        | Op::UpdateRegexPatternSet
        | Op::DeleteRegexPatternSet => Some(Kind::RegexSet),
        Op::CreateRuleGroup | Op::GetRuleGroup | Op::UpdateRuleGroup | Op::DeleteRuleGroup => {
            Some(Kind::RuleGroup)
        }
        _ => None,
    };
    let name = match op {
        Op::GetRateBasedStatementManagedKeys => opt_str(input, "WebACLName"),
        _ => opt_str(input, "Name"),
    };
    let kind = kind.or((op == Op::GetRateBasedStatementManagedKeys).then_some(Kind::WebAcl));
    match (kind, name, opt_str(input, "Scope")) {
        (Some(kind), Some(name), Some(scope)) => {
            let id = opt_str(input, "Id")
                .or_else(|| opt_str(input, "WebACLId"))
                .unwrap_or("*");
            let arn = model::arn(kind, &ctx.region, account, scope, name, id);
            Ok(Some(AuthzRequest::on(&action, arn, account)))
        }
        _ => Ok(Some(AuthzRequest::on_any(&action, account))),
    }
}
