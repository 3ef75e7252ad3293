//! `GetOrganizationStatistics`: the delegated administrator's summary of GuardDuty across its
//! organization in its region, computed on each call from Organizations' accounts, the
//! administrator's member records and the members' detectors (AWS refreshes it within 24
//! hours; Rampart answers with the state at the call, `UpdatedAt` the request clock).
//!
//! Counts (over the organization's active accounts; AWS's documentation names them, the
//! exact populations are Rampart's reading of it):
//! - `TotalAccountsCount`: the organization's active accounts.
//! - `MemberAccountsCount`: those associated with the administrator (`Enabled` or
//!   `Disabled` members).
//! - `ActiveAccountsCount`: those the administrator monitors (`Enabled` members).
//! - `EnabledAccountsCount`: associated members whose detector is enabled.
//! - `CountByFeature`: per protection plan, the monitored members (`Enabled`, detector on)
//!   whose detector has it on ("how many active member accounts have each feature
//!   enabled"), with the same count per additional configuration.

use std::collections::BTreeMap;

use rampart_kit::{context::CallContext, db::Db, error::ServiceError, timestamp::ts};
use serde_json::{json, Value};

use crate::{
    detectors,
    model::{self, DetectorDoc},
    org::administered_org,
    relation::{self, DISABLED, ENABLED},
};

/// One account of the organization as the statistics see it.
#[derive(Debug, Clone, Default)]
pub struct AccountView {
    /// Its `RelationshipStatus` with the administrator, if it is a member.
    pub status: Option<String>,
    /// Its detector in the region, if any.
    pub detector: Option<DetectorDoc>,
}

/// `GetOrganizationStatistics`: only the organization's delegated administrator in the
/// caller's region may ask.
pub async fn get(_input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let (org, a) = administered_org(&mut db, ctx).await?;
    let mut accounts = Vec::new();
    for account in rampart_organizations::accounts::active_ids(&mut db, &org).await? {
        if account == a.admin {
            accounts.push(AccountView::default());
            continue;
        }
        let status = relation::member(&mut db, &a.admin, &ctx.region, &account)
            .await?
            .map(|(_, m)| m.status);
        let detector = model::detector_in(&mut db, &account, &ctx.region)
            .await?
            .map(|d| d.doc);
        accounts.push(AccountView { status, detector });
    }
    Ok(json!({ "OrganizationDetails": {
        "UpdatedAt": ts(ctx.now),
        "OrganizationStatistics": statistics(&accounts),
    }}))
}

/// AWS's `OrganizationStatistics` of the organization's accounts.
pub fn statistics(accounts: &[AccountView]) -> Value {
    let associated = |v: &&AccountView| matches!(v.status.as_deref(), Some(ENABLED | DISABLED));
    let on = |v: &&AccountView| v.detector.as_ref().is_some_and(|d| d.enabled);
    let members = accounts.iter().filter(associated).count();
    let enabled = accounts.iter().filter(associated).filter(on).count();
    let active: Vec<&DetectorDoc> = accounts
        .iter()
        .filter(|v| v.status.as_deref() == Some(ENABLED))
        .filter_map(|v| v.detector.as_ref())
        .collect();
    let monitored: Vec<&DetectorDoc> = active.iter().copied().filter(|d| d.enabled).collect();
    let by_feature: Vec<Value> = detectors::plans()
        .map(|name| feature_count(name, &monitored))
        .collect();
    json!({
        "TotalAccountsCount": accounts.len(),
        "MemberAccountsCount": members,
        "ActiveAccountsCount": active.len(),
        "EnabledAccountsCount": enabled,
        "CountByFeature": by_feature,
    })
}

/// AWS's `OrganizationFeatureStatistics` of one plan over the monitored detectors.
fn feature_count(name: &str, detectors: &[&DetectorDoc]) -> Value {
    let mut count = 0;
    let mut additional: BTreeMap<&str, usize> = BTreeMap::new();
    for f in detectors.iter().filter_map(|d| d.features.get(name)) {
        if detectors::is_enabled(f) {
            count += 1;
        }
        for (k, s) in &f.additional {
            *additional.entry(k).or_default() += usize::from(s == "ENABLED");
        }
    }
    let mut v = json!({ "Name": name, "EnabledAccountsCount": count });
    if let (false, Some(obj)) = (additional.is_empty(), v.as_object_mut()) {
        let extra: Vec<Value> = additional
            .iter()
            .map(|(k, n)| json!({ "Name": k, "EnabledAccountsCount": n }))
            .collect();
        obj.insert("AdditionalConfiguration".into(), json!(extra));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Feature;

    fn detector(enabled: bool, on: &[&str]) -> DetectorDoc {
        let features = detectors::plans()
            .map(|n| {
                let status = if on.contains(&n) {
                    "ENABLED"
                } else {
                    "DISABLED"
                };
                (
                    n.to_string(),
                    Feature {
                        status: status.into(),
                        ..Default::default()
                    },
                )
            })
            .collect();
        DetectorDoc {
            enabled,
            features,
            ..Default::default()
        }
    }

    fn view(status: Option<&str>, d: Option<DetectorDoc>) -> AccountView {
        AccountView {
            status: status.map(str::to_string),
            detector: d,
        }
    }

    fn count_of(stats: &Value, name: &str) -> Option<u64> {
        stats["CountByFeature"]
            .as_array()?
            .iter()
            .find(|f| f["Name"] == name)?["EnabledAccountsCount"]
            .as_u64()
    }

    #[test]
    fn counts_each_population_and_plan() {
        let accounts = vec![
            // The administrator (or the management account): not a member.
            view(None, Some(detector(true, &["S3_DATA_EVENTS"]))),
            view(Some(ENABLED), Some(detector(true, &["S3_DATA_EVENTS"]))),
            view(
                Some(ENABLED),
                Some(detector(true, &["S3_DATA_EVENTS", "RDS_LOGIN_EVENTS"])),
            ),
            // Monitored but GuardDuty turned off: active, not enabled, no plans counted.
            view(Some(ENABLED), Some(detector(false, &["S3_DATA_EVENTS"]))),
            view(Some(DISABLED), Some(detector(true, &["S3_DATA_EVENTS"]))),
            view(Some("Removed"), Some(detector(true, &["S3_DATA_EVENTS"]))),
            view(None, None),
        ];
        let s = statistics(&accounts);
        assert_eq!(s["TotalAccountsCount"], 7);
        assert_eq!(s["MemberAccountsCount"], 4);
        assert_eq!(s["ActiveAccountsCount"], 3);
        assert_eq!(s["EnabledAccountsCount"], 3);
        assert_eq!(count_of(&s, "S3_DATA_EVENTS"), Some(2));
        assert_eq!(count_of(&s, "RDS_LOGIN_EVENTS"), Some(1));
        assert_eq!(count_of(&s, "RUNTIME_MONITORING"), Some(0));
        assert_eq!(count_of(&s, "CLOUD_TRAIL"), None);
        assert_eq!(s["CountByFeature"].as_array().map(Vec::len), Some(7));
    }

    #[test]
    fn counts_additional_configurations() {
        let mut d = detector(true, &["RUNTIME_MONITORING"]);
        if let Some(f) = d.features.get_mut("RUNTIME_MONITORING") {
            f.additional
                .insert("EKS_ADDON_MANAGEMENT".into(), "ENABLED".into());
            f.additional
                .insert("EC2_AGENT_MANAGEMENT".into(), "DISABLED".into());
        }
        let s = statistics(&[view(Some(ENABLED), Some(d))]);
        let rm = s["CountByFeature"]
            .as_array()
            .and_then(|l| l.iter().find(|f| f["Name"] == "RUNTIME_MONITORING"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(rm["EnabledAccountsCount"], 1);
        assert_eq!(
            rm["AdditionalConfiguration"],
            json!([
                {"Name": "EC2_AGENT_MANAGEMENT", "EnabledAccountsCount": 0},
                {"Name": "EKS_ADDON_MANAGEMENT", "EnabledAccountsCount": 1},
            ])
        );
        assert!(s["CountByFeature"][0]
            .get("AdditionalConfiguration")
            .is_none());
    }

    #[test]
    fn an_organization_without_members_counts_zero() {
        let s = statistics(&[view(None, None)]);
        assert_eq!(s["TotalAccountsCount"], 1);
        assert_eq!(s["MemberAccountsCount"], 0);
        assert_eq!(count_of(&s, "S3_DATA_EVENTS"), Some(0));
    }
}
