//! Product integrations: `DescribeProducts`, `EnableImportFindingsForProduct`,
//! `DisableImportFindingsForProduct`, `ListEnabledProductsForImport`.
//!
//! The products are the AWS services whose findings Rampart sends to Security Hub (GuardDuty,
//! Config, IAM Access Analyzer). As in AWS, their import is on as soon as the hub is enabled
//! (AWS's integration pages: "When you enable both GuardDuty and Security Hub CSPM, the
//! integration is enabled automatically"); turning one off stops its findings from being
//! imported until it is turned on again. Subscriptions are
//! `arn:aws:securityhub:REGION:ACCOUNT:product-subscription/aws/guardduty`.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str},
    page,
};
use serde_json::{json, Value};

use crate::{error::SecurityHubError, model};

/// A product Security Hub imports findings from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    /// `COMPANY/PRODUCT`, the tail of its ARN (`aws/guardduty`).
    pub key: &'static str,
    /// `ProductName`.
    pub name: &'static str,
    /// `CompanyName`.
    pub company: &'static str,
    /// `Description`.
    pub description: &'static str,
    /// `Categories`.
    pub categories: &'static [&'static str],
}

/// Amazon GuardDuty (its findings carry `CompanyName` `Amazon`, as AWS's example shows).
pub const GUARDDUTY: Product = Product {
    key: "aws/guardduty",
    name: "GuardDuty",
    company: "Amazon",
    description: "Amazon GuardDuty is a threat detection service that continuously monitors for malicious or unauthorized behavior to help you protect your AWS accounts and workloads.",
    categories: &["Intrusion Detection Systems (IDS)"],
};

/// AWS Config.
pub const CONFIG: Product = Product {
    key: "aws/config",
    name: "Config",
    company: "AWS",
    description: "AWS Config evaluates the configuration of your resources against the rules you set and sends the results of rules that Security Hub did not create.",
    categories: &["Configuration Management"],
};

/// AWS IAM Access Analyzer.
pub const ACCESS_ANALYZER: Product = Product {
    key: "aws/access-analyzer",
    name: "IAM Access Analyzer",
    company: "AWS",
    description: "IAM Access Analyzer identifies resources in your account that are shared with an external entity.",
    categories: &["Identity and Access Management"],
};

/// Every product, in `DescribeProducts`' order.
pub const PRODUCTS: &[Product] = &[GUARDDUTY, CONFIG, ACCESS_ANALYZER];

/// The ARN of a product in `region`.
pub fn product_arn(region: &str, p: &Product) -> String {
    format!(
        "arn:{partition}:securityhub:{region}::product/{}",
        p.key,
        partition = rampart_kit::Partition::of_region(region)
    )
}

/// The ARN of `account`'s subscription to a product in `region`.
pub fn subscription_arn(region: &str, account: &str, p: &Product) -> String {
    format!(
        "arn:{partition}:securityhub:{region}:{account}:product-subscription/{}",
        p.key,
        partition = rampart_kit::Partition::of_region(region)
    )
}

fn by_product_arn(region: &str, arn: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| product_arn(region, p) == arn)
}

fn by_subscription_arn(region: &str, account: &str, arn: &str) -> Option<&'static Product> {
    PRODUCTS
        .iter()
        .find(|p| subscription_arn(region, account, p) == arn)
}

fn max_results(input: &Value) -> Result<usize, ServiceError> {
    let max = opt_int(input, "MaxResults").unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(SecurityHubError::invalid("MaxResults must be between 1 and 100.").into());
    }
    Ok(usize::try_from(max).unwrap_or(100))
}

/// One page of `items` under `member`, with `MaxResults` and `NextToken`.
pub(crate) fn paged(input: &Value, items: Vec<Value>, member: &str) -> Result<Value, ServiceError> {
    let token = opt_str(input, "NextToken").filter(|t| !t.is_empty());
    let page = page::at_offset(items, token, max_results(input)?)
        .ok_or_else(|| SecurityHubError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ member: page.items });
    if let Some(next) = page.next {
        crate::set(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

/// `DescribeProducts`.
pub async fn describe(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    model::require_hub(&mut db, ctx).await?;
    let asked = opt_str(input, "ProductArn");
    let items: Vec<Value> = PRODUCTS
        .iter()
        .map(|p| (p, product_arn(&ctx.region, p)))
        .filter(|(_, arn)| asked.is_none_or(|a| a == arn))
        .map(|(p, arn)| {
            json!({
                "ProductArn": arn,
                "ProductName": p.name,
                "CompanyName": p.company,
                "Description": p.description,
                "Categories": p.categories,
                "IntegrationTypes": ["SEND_FINDINGS_TO_SECURITY_HUB"],
            })
        })
        .collect();
    paged(input, items, "Products")
}

/// `ListEnabledProductsForImport`.
pub async fn list_enabled(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, hub) = model::require_hub(&mut db, ctx).await?;
    let account = &ctx.principal.account_id;
    let items: Vec<Value> = PRODUCTS
        .iter()
        .filter(|p| hub.imports_since(p.key).is_some())
        .map(|p| json!(subscription_arn(&ctx.region, account, p)))
        .collect();
    paged(input, items, "ProductSubscriptions")
}

/// `EnableImportFindingsForProduct`.
pub async fn enable(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut hub) = model::require_hub(&mut db, ctx).await?;
    let arn = opt_str(input, "ProductArn").unwrap_or("");
    let p = by_product_arn(&ctx.region, arn).ok_or_else(|| {
        SecurityHubError::invalid(format!("Product {arn} is not a product in {}.", ctx.region))
    })?;
    if hub.disabled_products.remove(p.key).is_none() {
        return Err(SecurityHubError::ResourceConflictException(format!(
            "Account {} is already subscribed to product {arn}",
            ctx.principal.account_id
        ))
        .into());
    }
    hub.products_since.insert(p.key.to_string(), ctx.now);
    entity::save_doc(&mut db, e, &hub, ctx.now).await?;
    Ok(json!({
        "ProductSubscriptionArn": subscription_arn(&ctx.region, &ctx.principal.account_id, p),
    }))
}

/// `DisableImportFindingsForProduct`.
pub async fn disable(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut hub) = model::require_hub(&mut db, ctx).await?;
    let arn = opt_str(input, "ProductSubscriptionArn").unwrap_or("");
    let p = by_subscription_arn(&ctx.region, &ctx.principal.account_id, arn)
        .filter(|p| hub.imports_since(p.key).is_some())
        .ok_or_else(|| {
            SecurityHubError::ResourceNotFoundException(format!(
                "Product subscription {arn} not found"
            ))
        })?;
    hub.disabled_products.insert(p.key.to_string(), ctx.now);
    entity::save_doc(&mut db, e, &hub, ctx.now).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HubDoc;
    use chrono::{TimeZone, Utc};

    #[test]
    fn arns_name_the_product_and_the_subscription() {
        assert_eq!(
            product_arn("us-east-1", &GUARDDUTY),
            "arn:aws:securityhub:us-east-1::product/aws/guardduty"
        );
        assert_eq!(
            subscription_arn("us-east-1", "123456789012", &ACCESS_ANALYZER),
            "arn:aws:securityhub:us-east-1:123456789012:product-subscription/aws/access-analyzer"
        );
        assert_eq!(
            by_product_arn(
                "us-east-1",
                "arn:aws:securityhub:us-east-1::product/aws/config"
            ),
            Some(&CONFIG)
        );
        assert_eq!(
            by_product_arn(
                "eu-west-1",
                "arn:aws:securityhub:us-east-1::product/aws/config"
            ),
            None
        );
    }

    #[test]
    fn integrations_import_by_default_until_turned_off() {
        let t0 = Utc.timestamp_opt(1_800_000_000, 0).single().unwrap();
        let t1 = Utc.timestamp_opt(1_800_000_100, 0).single().unwrap();
        let mut hub = HubDoc {
            subscribed_at: t0,
            ..HubDoc::default()
        };
        assert_eq!(hub.imports_since(GUARDDUTY.key), Some(t0));
        hub.disabled_products.insert(GUARDDUTY.key.into(), t1);
        assert_eq!(hub.imports_since(GUARDDUTY.key), None);
        assert_eq!(hub.imports_since(CONFIG.key), Some(t0));
        hub.disabled_products.remove(GUARDDUTY.key);
        hub.products_since.insert(GUARDDUTY.key.into(), t1);
        assert_eq!(hub.imports_since(GUARDDUTY.key), Some(t1));
    }
}
