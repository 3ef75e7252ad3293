//! `AWS::Config::ResourceCompliance`: when the recorder records that type, every evaluated
//! resource has an item of its own recording its compliance with each rule that evaluated it,
//! written in the transaction that stores the results, so `GetResourceConfigHistory` shows
//! the resource's compliance timeline as AWS's does.
//!
//! AWS's item (Config developer guide, "Querying Compliance History"): resource id
//! `TYPE/ID` of the evaluated resource, no ARN or name, a relationship `Is associated with `
//! (AWS's text, trailing space included) to the resource, and as configuration the overall
//! `complianceType`, `targetResourceId`, `targetResourceType` and a `configRuleList` of
//! `{configRuleArn, configRuleId, configRuleName, complianceType}`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::error::ConfigResult;
use crate::model::{evaluation_key, EvaluationDoc, RuleDoc, Snapshot, EVALUATION};
use crate::record;

/// The resource type of compliance items.
pub const RESOURCE_COMPLIANCE: &str = "AWS::Config::ResourceCompliance";

/// The source kind noted on compliance items' discovered resources (they come from results,
/// not from another service's entity).
const SOURCE: &str = "config:evaluation";

/// An evaluated resource: its type and id.
pub type Evaluated = (String, String);

/// The compliance item's resource id for an evaluated resource.
pub fn item_id(resource_type: &str, resource_id: &str) -> String {
    format!("{resource_type}/{resource_id}")
}

/// The region in a rule's ARN (`arn:aws:config:REGION:...`).
fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The overall compliance of a resource: `NON_COMPLIANT` when a rule finds it so, else
/// `COMPLIANT` when a rule does, else `INSUFFICIENT_DATA`.
fn overall<'a>(kinds: impl Iterator<Item = &'a str>) -> &'static str {
    let mut compliant = false;
    for k in kinds {
        match k {
            "NON_COMPLIANT" => return "NON_COMPLIANT",
            "COMPLIANT" => compliant = true,
            _ => {}
        }
    }
    if compliant {
        "COMPLIANT"
    } else {
        "INSUFFICIENT_DATA"
    }
}

/// The compliance item of `target` from the rules' stored results (`None`: no rule has a
/// result for it that counts, `NOT_APPLICABLE` ones left out as the compliance APIs do).
async fn snapshot(
    db: &mut Db<'_>,
    account: &str,
    target: (&str, &str),
    rules: &[(Entity, RuleDoc)],
) -> ConfigResult<Option<Snapshot>> {
    let (resource_type, resource_id) = target;
    let mut list = Vec::new();
    let mut region = None;
    for (e, rule) in rules {
        let key = evaluation_key(&e.name, resource_type, resource_id);
        let Some(found) = db.entities().get(account, EVALUATION, &key).await? else {
            continue;
        };
        let result: EvaluationDoc = doc_of(&found)?;
        if result.compliance == "NOT_APPLICABLE" {
            continue;
        }
        region = region.or_else(|| region_of(&e.arn).map(str::to_string));
        list.push(json!({
            "configRuleArn": e.arn,
            "configRuleId": rule.rule_id,
            "configRuleName": e.name,
            "complianceType": result.compliance,
        }));
    }
    if list.is_empty() {
        return Ok(None);
    }
    let compliance = overall(
        list.iter()
            .filter_map(|r| r.get("complianceType").and_then(Value::as_str)),
    );
    let id = item_id(resource_type, resource_id);
    Ok(Some(Snapshot {
        resource_type: RESOURCE_COMPLIANCE.into(),
        resource_id: id,
        resource_name: None,
        arn: String::new(),
        region: region.unwrap_or_else(|| "us-east-1".into()),
        created: None,
        configuration: json!({
            "complianceType": compliance,
            "targetResourceId": resource_id,
            "targetResourceType": resource_type,
            "configRuleList": list,
        }),
        supplementary: BTreeMap::new(),
        relationships: vec![json!({
            "resourceType": resource_type,
            "resourceId": resource_id,
            "relationshipName": "Is associated with ",
        })],
        tags: BTreeMap::new(),
        facts: Value::Null,
    }))
}

/// Records the compliance items of `targets` as the stored results now make them (a new item
/// when one changed; `ResourceDeleted` once no rule has a result for it), when the account's
/// recorder records compliance items.
pub async fn refresh(
    db: &mut Db<'_>,
    account: &str,
    targets: &[Evaluated],
    now: DateTime<Utc>,
) -> ConfigResult<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let Some(recording) = record::recording(db, account).await? else {
        return Ok(());
    };
    if !recording.records(RESOURCE_COMPLIANCE) {
        return Ok(());
    }
    let rules = crate::evaluate::rules(db, account).await?;
    for (resource_type, resource_id) in targets {
        let id = item_id(resource_type, resource_id);
        match snapshot(db, account, (resource_type, resource_id), &rules).await? {
            Some(s) => {
                record::record(db, account, (SOURCE, &id), Some(s), now).await?;
            }
            None => {
                if let Some((e, doc)) =
                    record::resource(db, account, RESOURCE_COMPLIANCE, &id).await?
                {
                    record::record_deleted(db, account, e, doc, now).await?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_non_compliant_rule_makes_the_resource_non_compliant() {
        assert_eq!(
            overall(["COMPLIANT", "NON_COMPLIANT"].into_iter()),
            "NON_COMPLIANT"
        );
        assert_eq!(overall(["COMPLIANT"].into_iter()), "COMPLIANT");
        assert_eq!(overall(std::iter::empty()), "INSUFFICIENT_DATA");
        assert_eq!(item_id("AWS::IAM::User", "AIDA1"), "AWS::IAM::User/AIDA1");
        assert_eq!(
            region_of("arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-a"),
            Some("eu-west-1")
        );
    }
}
