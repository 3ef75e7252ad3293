//! Security Hub's findings as related findings, when the graph has started the
//! `ASFF_SECURITYHUB_FINDING` package: the active findings of the entity's account in the
//! graph's region whose resources name the principal, active in the window.
//!
//! A finding names the principal when one of its `Resources` is the user (`AwsIamUser`) or
//! role (`AwsIamRole`) by ARN, or an access key (`AwsIamAccessKey`) whose
//! `PrincipalName` is the user's name. Findings Security Hub imported from GuardDuty are
//! left out: the investigation reads GuardDuty's findings themselves.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, error::ServiceError};
use rampart_securityhub::model as sh;
use serde_json::Value;

use crate::indicators::RelatedFinding;

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    let text = v.get(key)?.as_str()?;
    Some(DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc))
}

/// Whether a resource of a finding is the principal (`entity_arn`, named `name`).
fn names(resource: &Value, entity_arn: &str, name: &str) -> bool {
    let text = |p: &str| resource.pointer(p).and_then(Value::as_str);
    match text("/Type") {
        Some("AwsIamUser" | "AwsIamRole") => text("/Id") == Some(entity_arn),
        Some("AwsIamAccessKey") => {
            entity_arn.contains(":user/")
                && text("/Details/AwsIamAccessKey/PrincipalName") == Some(name)
        }
        _ => false,
    }
}

/// The finding as a related finding, if it is active, on the principal and active in the
/// window.
pub fn related(
    f: &Value,
    (entity_arn, name): (&str, &str),
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<RelatedFinding> {
    let text = |p: &str| f.pointer(p).and_then(Value::as_str);
    if text("/RecordState") == Some("ARCHIVED") || text("/ProductName") == Some("GuardDuty") {
        return None;
    }
    let resources = f.get("Resources")?.as_array()?;
    if !resources.iter().any(|r| names(r, entity_arn, name)) {
        return None;
    }
    let first = time(f, "FirstObservedAt").or_else(|| time(f, "CreatedAt"))?;
    let last = time(f, "LastObservedAt")
        .or_else(|| time(f, "UpdatedAt"))
        .unwrap_or(first);
    if last < start || first > end {
        return None;
    }
    let kind = f
        .pointer("/Types/0")
        .and_then(Value::as_str)
        .or_else(|| text("/Title"))?;
    Some(RelatedFinding {
        arn: text("/Id")?.to_string(),
        kind: kind.to_string(),
        ip: text("/Network/SourceIpV4")
            .or_else(|| text("/Network/SourceIpV6"))
            .map(str::to_string),
        severity: f
            .pointer("/Severity/Normalized")
            .and_then(Value::as_f64)
            .map(|n| n / 10.0)
            .unwrap_or_default(),
        api: None,
        first_seen: first,
        last_seen: last,
    })
}

/// The Security Hub findings of `account` in `region` on the principal in the window.
pub async fn findings(
    db: &mut Db<'_>,
    (account, region): (&str, &str),
    (entity_arn, name): (&str, &str),
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<RelatedFinding>, ServiceError> {
    Ok(sh::findings(db, account, region)
        .await?
        .iter()
        .filter_map(|f| related(&f.doc, (entity_arn, name), start, end))
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_finding_on_the_user_in_the_window_is_related() {
        let t = |h| Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap();
        let user = "arn:aws:iam::111111111111:user/alice";
        let f = json!({
            "Id": "custom/1", "Types": ["TTPs/Initial Access"], "RecordState": "ACTIVE",
            "ProductName": "Custom", "Severity": {"Normalized": 70},
            "FirstObservedAt": "2026-01-01T10:00:00Z", "LastObservedAt": "2026-01-01T10:30:00Z",
            "Resources": [{"Type": "AwsIamUser", "Id": user}],
        });
        let got = related(&f, (user, "alice"), t(9), t(12)).unwrap();
        assert_eq!(got.arn, "custom/1");
        assert_eq!(got.kind, "TTPs/Initial Access");
        assert!((got.severity - 7.0).abs() < f64::EPSILON);
        let bob = "arn:aws:iam::111111111111:user/bob";
        assert!(related(&f, (bob, "bob"), t(9), t(12)).is_none());
        assert!(related(&f, (user, "alice"), t(11), t(12)).is_none());
        let mut archived = f.clone();
        archived["RecordState"] = json!("ARCHIVED");
        assert!(related(&archived, (user, "alice"), t(9), t(12)).is_none());
        let key = json!({
            "Id": "custom/2", "Title": "key", "CreatedAt": "2026-01-01T10:00:00Z",
            "Resources": [{"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:AKIA",
                "Details": {"AwsIamAccessKey": {"PrincipalName": "alice"}}}],
        });
        assert_eq!(
            related(&key, (user, "alice"), t(9), t(12)).unwrap().kind,
            "key"
        );
    }
}
