//! Further account-level managed rules: the security services turned on (GuardDuty, Security
//! Hub, IAM Access Analyzer) and what the account's trails log (a security trail, S3 data
//! events). The services' state is read from the entities they store (Security Hub depends
//! on Config, so Config reads the documents rather than the crates).

use chrono::{DateTime, Utc};
use rampart_kit::db::Db;
use rampart_kit::entity::all;
use rampart_trails::model::TrailDoc;
use rampart_trails::selectors::{Facts, Resource, Selectors};
use serde_json::Value;

use crate::checks_account::AccountFacts;
use crate::error::ConfigResult;
use crate::managed::{list, Params, Verdict};

/// GuardDuty's detectors (`region`, `enabled`, ...).
const DETECTOR: &str = "guardduty:detector";
/// GuardDuty's link from a member's region to its administrator account.
const ADMINISTRATOR: &str = "guardduty:administrator";
/// Security Hub's hub of an account in a region.
const HUB: &str = "securityhub:hub";
/// IAM Access Analyzer's analyzers (`type`, `status`, ...).
const ANALYZER: &str = "access-analyzer:analyzer";

/// One GuardDuty detector of the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detector {
    /// Its region.
    pub region: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// The administrator accounts its region reports to.
    pub administrators: Vec<String>,
}

/// What the security-service rules look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceFacts {
    /// The account.
    pub account: String,
    /// GuardDuty detectors.
    pub detectors: Vec<Detector>,
    /// Regions with a Security Hub hub.
    pub hubs: usize,
    /// Active external access analyzers (`ACCOUNT` or `ORGANIZATION`).
    pub external_analyzers: usize,
}

fn doc(e: &rampart_store::Entity) -> Value {
    serde_json::from_str(&e.doc).unwrap_or(Value::Null)
}

/// Reads the account's detectors, hubs and analyzers.
pub async fn gather(db: &mut Db<'_>, account: &str) -> ConfigResult<ServiceFacts> {
    let mut detectors = Vec::new();
    for e in all(db, account, DETECTOR, "").await? {
        let d = doc(&e);
        let region = d
            .get("region")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let administrators = db.links().targets(account, ADMINISTRATOR, &region).await?;
        detectors.push(Detector {
            enabled: d.get("enabled").and_then(Value::as_bool) == Some(true),
            region,
            administrators,
        });
    }
    let hubs = all(db, account, HUB, "").await?.len();
    let external_analyzers = all(db, account, ANALYZER, "")
        .await?
        .iter()
        .map(doc)
        .filter(|d| {
            matches!(
                d.get("type").and_then(Value::as_str),
                Some("ACCOUNT" | "ORGANIZATION")
            ) && d.get("status").and_then(Value::as_str) == Some("ACTIVE")
        })
        .count();
    Ok(ServiceFacts {
        account: account.to_string(),
        detectors,
        hubs,
        external_analyzers,
    })
}

/// `GUARDDUTY_ENABLED_CENTRALIZED`: an enabled detector, reporting to
/// `CentralMonitoringAccount` when that is another account.
pub fn guardduty_centralized(f: &AccountFacts, params: &Params, _: DateTime<Utc>) -> Verdict {
    let s = &f.services;
    let enabled: Vec<&Detector> = s.detectors.iter().filter(|d| d.enabled).collect();
    if enabled.is_empty() {
        return Verdict::fail("GuardDuty is not enabled in the account.");
    }
    let central = params
        .get("CentralMonitoringAccount")
        .filter(|c| **c != s.account);
    Verdict::check(
        central.is_none_or(|c| enabled.iter().any(|d| d.administrators.contains(c))),
        "GuardDuty findings are not centralized in the CentralMonitoringAccount.",
    )
}

/// `SECURITYHUB_ENABLED`: the account subscribes to Security Hub.
pub fn securityhub_enabled(f: &AccountFacts, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(
        f.services.hubs > 0,
        "Security Hub is not enabled in the account.",
    )
}

/// `IAM_EXTERNAL_ACCESS_ANALYZER_ENABLED`: an active account or organization analyzer.
pub fn external_analyzer(f: &AccountFacts, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(
        f.services.external_analyzers > 0,
        "No IAM Access Analyzer for external access is active in the account.",
    )
}

/// Whether the selectors log a management event of `source`, read or write.
fn logs_management(sel: &Selectors, source: &str, read_only: bool) -> bool {
    sel.matches(&Facts {
        event_category: "Management".into(),
        read_only,
        event_source: source.into(),
        event_name: "Describe".into(),
        ..Facts::default()
    })
}

/// Whether the trail's selectors log S3 object reads and writes in `bucket` (named in the
/// trail's partition).
fn logs_objects(t: &TrailDoc, bucket: &str) -> bool {
    let partition = rampart_kit::Partition::of_region(&t.home_region);
    [(true, "GetObject"), (false, "PutObject")]
        .iter()
        .all(|(read_only, name)| {
            t.selectors.matches(&Facts {
                event_category: "Data".into(),
                read_only: *read_only,
                event_source: "s3.amazonaws.com".into(),
                event_name: (*name).into(),
                resources: vec![
                    Resource {
                        kind: "AWS::S3::Object".into(),
                        arn: partition.arn("s3", "", "", &format!("{bucket}/rampart-config-check")),
                    },
                    Resource {
                        kind: "AWS::S3::Bucket".into(),
                        arn: partition.arn("s3", "", "", bucket),
                    },
                ],
                ..Facts::default()
            })
        })
}

/// Whether a trail meets AWS's security trail practices: logging, multi-region, global
/// service events, log file validation, SSE-KMS, every management event read and write.
fn security_trail(t: &TrailDoc) -> bool {
    let every_management = [
        "iam.amazonaws.com",
        "kms.amazonaws.com",
        "rdsdata.amazonaws.com",
    ]
    .iter()
    .all(|src| {
        logs_management(&t.selectors, src, true) && logs_management(&t.selectors, src, false)
    });
    t.logging
        && t.multi_region
        && t.include_global
        && t.validation
        && t.kms_key_arn.is_some()
        && every_management
}

/// `CLOUDTRAIL_SECURITY_TRAIL_ENABLED`: a trail meets the security practices.
pub fn security_trail_enabled(f: &AccountFacts, _: &Params, _: DateTime<Utc>) -> Verdict {
    Verdict::check(
        f.trails.iter().any(security_trail),
        "No trail is logging with the security best practices (multi-region, global events, validation, SSE-KMS, all management events).",
    )
}

/// `CLOUDTRAIL_S3_DATAEVENTS_ENABLED`: a logging trail records S3 object reads and writes of
/// every bucket of `S3BucketNames` (of any bucket when not given).
pub fn s3_data_events(f: &AccountFacts, params: &Params, _: DateTime<Utc>) -> Verdict {
    let mut buckets = list(params, "S3BucketNames");
    if buckets.is_empty() {
        // A name no bucket selector lists: only an every-bucket selector logs it.
        buckets.push("rampart-config-every-bucket".into());
    }
    let logged = f
        .trails
        .iter()
        .any(|t| t.logging && buckets.iter().all(|b| logs_objects(t, b)));
    Verdict::check(
        logged,
        "No trail is logging S3 data events for the buckets.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trail(selectors: Selectors) -> TrailDoc {
        TrailDoc {
            logging: true,
            multi_region: true,
            include_global: true,
            validation: true,
            kms_key_arn: Some("arn:aws:kms:us-east-1:111122223333:key/k".into()),
            selectors,
            ..TrailDoc::default()
        }
    }

    #[test]
    fn data_events_need_an_every_bucket_selector() {
        let one = Selectors::Basic(vec![
            json!({"ReadWriteType": "All", "IncludeManagementEvents": true,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logs/"]}]}),
        ]);
        let every = Selectors::Basic(vec![
            json!({"ReadWriteType": "All", "IncludeManagementEvents": true,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}),
        ]);
        let now = Utc::now();
        let facts = |s: Selectors| AccountFacts {
            trails: vec![trail(s)],
            ..AccountFacts::default()
        };
        let p = Params::new();
        assert_eq!(
            s3_data_events(&facts(one.clone()), &p, now).compliance,
            "NON_COMPLIANT"
        );
        assert_eq!(
            s3_data_events(&facts(every), &p, now).compliance,
            "COMPLIANT"
        );
        let named = Params::from([("S3BucketNames".to_string(), "logs".to_string())]);
        assert_eq!(
            s3_data_events(&facts(one), &named, now).compliance,
            "COMPLIANT"
        );
    }

    #[test]
    fn a_security_trail_logs_every_management_event() {
        let now = Utc::now();
        let p = Params::new();
        let good = AccountFacts {
            trails: vec![trail(Selectors::default())],
            ..AccountFacts::default()
        };
        assert_eq!(
            security_trail_enabled(&good, &p, now).compliance,
            "COMPLIANT"
        );
        let excluding = Selectors::Basic(vec![
            json!({"ReadWriteType": "All", "IncludeManagementEvents": true,
            "DataResources": [], "ExcludeManagementEventSources": ["kms.amazonaws.com"]}),
        ]);
        let bad = AccountFacts {
            trails: vec![trail(excluding)],
            ..AccountFacts::default()
        };
        assert_eq!(
            security_trail_enabled(&bad, &p, now).compliance,
            "NON_COMPLIANT"
        );
    }
}
