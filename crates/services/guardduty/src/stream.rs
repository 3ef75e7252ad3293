//! Detection over the audit stream: the server's GuardDuty consumer hands each batch of
//! records here, with the batch's transaction, so the findings commit with the consumer's
//! cursor (each record is looked at exactly once).
//!
//! A record is looked at by the detector of its account (`recipientAccountId`) in its region
//! (`awsRegion`) when that detector is enabled, with the detector's active lists as they are
//! when the batch is read. `ConsoleLogin` records also pass through [`signins`], whose
//! failure windows live in the store, every call is scored against its principal's
//! baseline ([`crate::anomaly`], the `*/AnomalousBehavior` types), and every call passes
//! through the operator's Sigma rules ([`sigma`]). Calls from a trusted address pass through
//! none of these (and teach no baseline).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, error::ServiceError};
use rampart_store::{AuditRecord, StreamRecord, Tx};
use serde_json::Value;

use crate::{
    anomaly::Baselines,
    detect::{self, Call, Intel, ThreatList},
    finding,
    lists::IpList,
    model::{self, Detector},
    org,
    sigma::{self, Rules},
    signins,
};

/// A detector and its lists, as a batch uses them.
struct Watch {
    detector: Detector,
    intel: Intel,
}

/// The active lists of a detector.
async fn intel_of(db: &mut Db<'_>, d: &Detector) -> Result<Intel, ServiceError> {
    let mut trusted = Vec::new();
    for l in model::lists(db, d.account(), model::IPSET, d.id()).await? {
        if l.doc.status == "ACTIVE" {
            trusted.extend(l.doc.entries);
        }
    }
    let mut threats = Vec::new();
    for l in model::lists(db, d.account(), model::THREAT_INTEL_SET, d.id()).await? {
        if l.doc.status == "ACTIVE" {
            threats.push(ThreatList {
                ranges: IpList::of(&l.doc.entries),
                name: l.doc.name,
            });
        }
    }
    Ok(Intel {
        trusted: IpList::of(&trusted),
        threats,
    })
}

/// Whether `account` has a detector in any region (read once per batch and account, so the
/// records of accounts without GuardDuty are passed over unparsed).
async fn has_detector(db: &mut Db<'_>, account: &str) -> Result<bool, ServiceError> {
    let page = db
        .entities()
        .list(account, model::DETECTOR, "/", None, 1)
        .await?;
    Ok(!page.items.is_empty())
}

/// An account joining or leaving an organization, as an audit record shows it.
#[derive(Debug, PartialEq)]
enum Change {
    Joined(String),
    Left(String),
}

/// The organization change a record shows: Organizations' `CreateAccountResult` service
/// event of a `SUCCEEDED` request or a successful `AcceptHandshake` by the invited account
/// (a join: auto-enable runs on it, [`org::joined`]); a successful `LeaveOrganization`,
/// `RemoveAccountFromOrganization` or `CloseAccount` (a departure: [`org::left`]).
fn membership_change(r: &AuditRecord) -> Option<Change> {
    if r.event_source != "organizations.amazonaws.com" || r.error_code.is_some() {
        return None;
    }
    let parsed = || serde_json::from_str::<Value>(&r.event_json).ok();
    let text = |v: &Value, path: &str| v.pointer(path).and_then(Value::as_str).map(str::to_string);
    match r.event_name.as_str() {
        "AcceptHandshake" => r.account_id.clone().map(Change::Joined),
        "LeaveOrganization" => r.account_id.clone().map(Change::Left),
        "RemoveAccountFromOrganization" | "CloseAccount" => {
            text(&parsed()?, "/requestParameters/accountId").map(Change::Left)
        }
        "CreateAccountResult" => {
            let event = parsed()?;
            let status = "/serviceEventDetails/createAccountStatus";
            (text(&event, &format!("{status}/state")).as_deref() == Some("SUCCEEDED"))
                .then(|| text(&event, &format!("{status}/accountId")))
                .flatten()
                .map(Change::Joined)
        }
        _ => None,
    }
}

/// Looks at `records` with the built-in rules and the operator's Sigma `rules`, and records
/// what they show in `tx`; returns how many findings were created or updated. Activity from
/// before a detector was created is not its to see.
pub async fn detect(
    tx: &mut Tx,
    records: &[StreamRecord],
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let mut db = Db::Write(tx);
    let mut accounts: HashMap<String, bool> = HashMap::new();
    let mut watches: HashMap<(String, String), Option<Watch>> = HashMap::new();
    let mut baselines = Baselines::default();
    let mut recorded = 0;
    for r in records {
        let Some(account) = r.event.record.account_id.as_deref() else {
            continue;
        };
        match membership_change(&r.event.record) {
            Some(Change::Joined(new)) => {
                org::joined(&mut db, &new, r.event.record.event_time, now).await?;
                accounts.remove(&new);
            }
            Some(Change::Left(gone)) => org::left(&mut db, &gone, now).await?,
            None => {}
        }
        let watched = match accounts.get(account) {
            Some(w) => *w,
            None => {
                let w = has_detector(&mut db, account).await?;
                accounts.insert(account.to_string(), w);
                w
            }
        };
        if !watched {
            continue;
        }
        let Ok(event) = serde_json::from_str::<Value>(&r.event.record.event_json) else {
            continue;
        };
        let Some(call) = Call::of(&event) else {
            continue;
        };
        let region = event
            .get("awsRegion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let key = (account.to_string(), region);
        if !watches.contains_key(&key) {
            let watch = match model::detector_in(&mut db, &key.0, &key.1).await? {
                Some(d) if d.doc.enabled => {
                    let intel = intel_of(&mut db, &d).await?;
                    Some(Watch { detector: d, intel })
                }
                _ => None,
            };
            watches.insert(key.clone(), watch);
        }
        let Some(Some(w)) = watches.get(&key) else {
            continue;
        };
        if call.time.timestamp() < w.detector.entity.created_at.timestamp() {
            continue;
        }
        let mut seen = detect::observe(&call, &w.intel);
        let trusted = call.ip.parse().is_ok_and(|ip| w.intel.trusted.contains(ip));
        if !trusted {
            seen.extend(signins::observe(&mut db, &w.detector, &call).await?);
            seen.extend(baselines.observe(&mut db, &w.detector, &call).await?);
            seen.extend(sigma::observe(&mut db, &w.detector, rules, &call).await?);
        }
        for o in seen {
            finding::record(&mut db, &w.detector, &o, now).await?;
            recorded += 1;
        }
    }
    baselines.save(&mut db).await?;
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, error: Option<&str>, json: &str) -> AuditRecord {
        AuditRecord {
            event_id: "e".into(),
            event_time: Utc::now(),
            event_name: name.into(),
            event_source: "organizations.amazonaws.com".into(),
            username: None,
            access_key_id: None,
            read_only: false,
            error_code: error.map(str::to_string),
            account_id: Some("111111111111".into()),
            resources: Vec::new(),
            event_json: json.into(),
        }
    }

    #[test]
    fn joins_and_departures_are_read_from_organizations_records() {
        let created = r#"{"serviceEventDetails":{"createAccountStatus":{"state":"SUCCEEDED","accountId":"222222222222"}}}"#;
        let failed = r#"{"serviceEventDetails":{"createAccountStatus":{"state":"FAILED"}}}"#;
        let removed = r#"{"requestParameters":{"accountId":"333333333333"}}"#;
        let change = |name, error, json| membership_change(&record(name, error, json));
        let joined = |a: &str| Some(Change::Joined(a.into()));
        let left = |a: &str| Some(Change::Left(a.into()));
        assert_eq!(
            change("CreateAccountResult", None, created),
            joined("222222222222")
        );
        assert_eq!(change("CreateAccountResult", None, failed), None);
        assert_eq!(
            change("AcceptHandshake", None, "{}"),
            joined("111111111111")
        );
        assert_eq!(change("AcceptHandshake", Some("Denied"), "{}"), None);
        assert_eq!(change("DeclineHandshake", None, "{}"), None);
        assert_eq!(
            change("LeaveOrganization", None, "{}"),
            left("111111111111")
        );
        assert_eq!(
            change("RemoveAccountFromOrganization", None, removed),
            left("333333333333")
        );
        assert_eq!(change("CloseAccount", None, removed), left("333333333333"));
        assert_eq!(change("CloseAccount", Some("AccessDenied"), removed), None);
    }
}
