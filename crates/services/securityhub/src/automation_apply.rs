//! Running automation rules on findings, as AWS does: when a finding is created or updated
//! by its provider (`BatchImportFindings`, the AWS integrations' deliveries, Security Hub's
//! own control findings when a control's result changes), the enabled
//! rules run in `RuleOrder` (equal orders: the rule updated earlier first); a rule whose
//! `Criteria` match the finding as it stands applies its `FindingFieldsUpdate` (the same
//! change `BatchUpdateFindings` makes, [`crate::findings::apply_update`]: `ProcessedAt` is
//! stamped, the provider's `UpdatedAt` stays), and a terminal rule that applied ends the run.
//! Customers' own `BatchUpdateFindings` calls do not run rules.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    filters, findings,
    model::{self, AUTOMATION_RULE},
};

/// An automation rule as stored (AWS's members; the ARN is its entity's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleDoc {
    /// `RuleStatus` (`ENABLED` or `DISABLED`).
    pub status: String,
    /// `RuleOrder` (1-1000, lower first).
    pub order: i64,
    /// `RuleName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `IsTerminal`.
    pub terminal: bool,
    /// `Criteria` (`AutomationRulesFindingFilters`).
    pub criteria: Value,
    /// `Actions` (one `FINDING_FIELDS_UPDATE`).
    pub actions: Value,
    /// `CreatedAt`.
    pub created_at: DateTime<Utc>,
    /// `UpdatedAt`.
    pub updated_at: DateTime<Utc>,
    /// `CreatedBy`: the creator's ARN.
    pub created_by: String,
}

/// Every rule of `account` in `region` with its ARN, in the order rules apply.
pub async fn rules(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<(String, RuleDoc)>, ServiceError> {
    let mut out = Vec::new();
    for e in model::in_region(db, account, AUTOMATION_RULE, region).await? {
        let doc = entity::read_doc::<RuleDoc>(&e)?;
        out.push((e.arn, doc));
    }
    out.sort_by(|(a_arn, a), (b_arn, b)| {
        a.order
            .cmp(&b.order)
            .then(a.updated_at.cmp(&b.updated_at))
            .then(a_arn.cmp(b_arn))
    });
    Ok(out)
}

/// The rules that run on `account`'s findings in `region`: its administrator's when it has
/// an enabled one (as AWS applies the administrator's rules to its members' findings), else
/// its own.
pub async fn rules_applying(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<(String, RuleDoc)>, ServiceError> {
    let admin = crate::org::RELATIONS
        .enabled_administrator(db, account, region)
        .await?;
    rules(db, admin.as_deref().unwrap_or(account), region).await
}

/// Runs `rules` (in their order) on a finding; answers the ARNs of the rules that applied.
pub fn apply(rules: &[(String, RuleDoc)], finding: &mut Value, now: DateTime<Utc>) -> Vec<String> {
    let empty = Map::new();
    let mut applied = Vec::new();
    for (arn, rule) in rules {
        if rule.status != "ENABLED" {
            continue;
        }
        let criteria = rule.criteria.as_object().unwrap_or(&empty);
        // Criteria were checked when the rule was saved; one that cannot be evaluated on
        // this finding (a malformed date in it) does not match.
        if !filters::matches(criteria, finding, now).unwrap_or(false) {
            continue;
        }
        for action in rule.actions.as_array().into_iter().flatten() {
            if let Some(update) = action.get("FindingFieldsUpdate") {
                findings::apply_update(finding, update, now);
            }
        }
        applied.push(arn.clone());
        if rule.terminal {
            break;
        }
    }
    applied
}

/// Runs the rules of `account` in `region` on a finding its provider created or updated.
pub async fn apply_stored(
    db: &mut Db<'_>,
    (account, region): (&str, &str),
    finding: &mut Value,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let rules = rules_applying(db, account, region).await?;
    apply(&rules, finding, now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(order: i64, terminal: bool, criteria: Value, update: Value) -> (String, RuleDoc) {
        let doc = RuleDoc {
            status: "ENABLED".into(),
            order,
            terminal,
            criteria,
            actions: json!([{"Type": "FINDING_FIELDS_UPDATE", "FindingFieldsUpdate": update}]),
            ..RuleDoc::default()
        };
        (format!("rule-{order}"), doc)
    }

    fn finding(title: &str) -> Value {
        json!({
            "Title": title,
            "Severity": {"Label": "HIGH", "Normalized": 70},
            "Workflow": {"Status": "NEW"},
            "UpdatedAt": "2026-12-07T00:00:00.000Z",
        })
    }

    fn now() -> DateTime<Utc> {
        crate::asff::parse_time("2026-12-07T01:00:00Z").unwrap()
    }

    fn title(prefix: &str) -> Value {
        json!({"Title": [{"Comparison": "PREFIX", "Value": prefix}]})
    }

    #[test]
    fn matching_rules_apply_in_order_and_others_do_not() {
        let rules = vec![
            rule(
                2,
                false,
                title("Test"),
                json!({"Severity": {"Label": "LOW"}}),
            ),
            rule(
                1,
                false,
                title("Test"),
                json!({"Severity": {"Label": "CRITICAL"}, "Note": {"Text": "n", "UpdatedBy": "r"}}),
            ),
            rule(
                3,
                false,
                title("Prod"),
                json!({"Workflow": {"Status": "SUPPRESSED"}}),
            ),
        ];
        let mut sorted = rules.clone();
        sorted.sort_by_key(|(_, r)| r.order);
        let mut f = finding("Test host");
        let applied = apply(&sorted, &mut f, now());
        assert_eq!(applied, vec!["rule-1", "rule-2"]);
        assert_eq!(f["Severity"]["Label"], "LOW");
        assert_eq!(f["Severity"]["Normalized"], 1);
        assert_eq!(f["Note"]["Text"], "n");
        assert_eq!(f["Workflow"]["Status"], "NEW");
        assert_eq!(f["UpdatedAt"], "2026-12-07T00:00:00.000Z");
        assert_eq!(f["ProcessedAt"], "2026-12-07T01:00:00.000Z");

        let mut other = finding("Other");
        assert!(apply(&sorted, &mut other, now()).is_empty());
        assert_eq!(other, finding("Other"));
    }

    #[test]
    fn a_terminal_rule_ends_the_run_and_disabled_rules_are_skipped() {
        let mut rules = vec![
            rule(
                1,
                true,
                title("Test"),
                json!({"Severity": {"Label": "MEDIUM"}}),
            ),
            rule(
                2,
                false,
                title("Test"),
                json!({"Severity": {"Label": "LOW"}}),
            ),
        ];
        let mut f = finding("Test");
        assert_eq!(apply(&rules, &mut f, now()), vec!["rule-1"]);
        assert_eq!(f["Severity"]["Label"], "MEDIUM");
        rules[0].1.status = "DISABLED".into();
        let mut g = finding("Test");
        assert_eq!(apply(&rules, &mut g, now()), vec!["rule-2"]);
        assert_eq!(g["Severity"]["Label"], "LOW");
    }
}
