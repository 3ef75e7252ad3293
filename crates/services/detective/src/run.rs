//! The investigation job's part: the queued investigations, their computation from the
//! audit trail, GuardDuty's state and, with `ASFF_SECURITYHUB_FINDING` started, Security
//! Hub's findings (outside any transaction: reading is bounded by
//! [`crate::activity::MAX_RECORDS`]), and their completion.

use chrono::{DateTime, Utc};
use rampart_guardduty::{lists::IpList, model as gd};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Store;
use serde_json::Value;

use crate::{
    activity::{self, TrailPrincipal},
    datasources,
    geo::Locate,
    indicators::{self, Evidence, Indicator, RelatedFinding},
    investigations::{FAILED, SUCCESSFUL},
    model::{self, InvestigationDoc},
    securityhub,
};

/// A queued investigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The administrator account.
    pub account: String,
    /// The investigation's name key.
    pub key: String,
}

impl Pending {
    fn queue_key(&self) -> String {
        format!("{}/{}", self.account, self.key)
    }
}

/// What the job computed for one investigation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The indicators.
    pub indicators: Vec<Indicator>,
    /// The severity.
    pub severity: String,
    /// Whether every record was read.
    pub complete: bool,
    /// `SUCCESSFUL`, or `FAILED` when the entity ARN no longer reads as a principal.
    pub status: &'static str,
}

/// The queued investigations, oldest queue key first.
pub async fn pending(db: &mut Db<'_>) -> Result<Vec<Pending>, ServiceError> {
    let mut out = Vec::new();
    for e in model::all(db, model::SYSTEM_ACCOUNT, model::PENDING, "/").await? {
        if let Some((account, key)) = e.name_key.split_once('/') {
            out.push(Pending {
                account: account.to_string(),
                key: key.to_string(),
            });
        }
    }
    Ok(out)
}

/// A time text of a finding (`EventFirstSeen`).
fn finding_time(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    let text = v.pointer(pointer)?.as_str()?;
    Some(DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc))
}

/// The finding as a related finding, if it is on `principal` and active in the window.
fn related(
    f: &Value,
    principal: &TrailPrincipal,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<RelatedFinding> {
    let text = |p: &str| f.pointer(p).and_then(Value::as_str);
    let user_type = match principal {
        TrailPrincipal::User { .. } => "IAMUser",
        TrailPrincipal::Role { .. } => "AssumedRole",
    };
    if text("/Resource/AccessKeyDetails/UserName") != Some(principal.name())
        || text("/Resource/AccessKeyDetails/UserType") != Some(user_type)
    {
        return None;
    }
    let first = finding_time(f, "/Service/EventFirstSeen")?;
    let last = finding_time(f, "/Service/EventLastSeen").unwrap_or(first);
    if last < start || first > end {
        return None;
    }
    let action = "/Service/Action/AwsApiCallAction";
    Some(RelatedFinding {
        arn: text("/Arn")?.to_string(),
        kind: text("/Type")?.to_string(),
        ip: text(&format!("{action}/RemoteIpDetails/IpAddressV4"))
            .or_else(|| text(&format!("{action}/RemoteIpDetails/IpAddressV6")))
            .map(str::to_string),
        severity: f
            .get("Severity")
            .and_then(Value::as_f64)
            .unwrap_or_default(),
        api: text(&format!("{action}/Api")).map(str::to_string),
        first_seen: first,
        last_seen: last,
    })
}

/// GuardDuty's view of `account`: the active threat lists and the findings on `principal`
/// in the window, over every detector of the account.
pub async fn guardduty(
    db: &mut Db<'_>,
    account: &str,
    principal: &TrailPrincipal,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(IpList, Vec<RelatedFinding>), ServiceError> {
    let mut threats = Vec::new();
    let mut findings = Vec::new();
    for d in model::all(db, account, gd::DETECTOR, "/").await? {
        let detector_id = d.id.clone();
        for l in gd::lists(db, account, gd::THREAT_INTEL_SET, &detector_id).await? {
            if l.doc.status == "ACTIVE" {
                threats.extend(l.doc.entries);
            }
        }
        for f in gd::findings(db, account, &detector_id).await? {
            findings.extend(related(&f.doc, principal, start, end));
        }
    }
    findings.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.arn.cmp(&b.arn)));
    Ok((IpList::of(&threats), findings))
}

/// Computes a queued investigation; `None` when it no longer exists.
pub async fn compute(
    store: &Store,
    p: &Pending,
    geo: Option<&dyn Locate>,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>, ServiceError> {
    let mut db = Db::Read(store);
    let Some((_, doc)) =
        entity::load_doc::<InvestigationDoc>(&mut db, &p.account, model::INVESTIGATION, &p.key)
            .await?
    else {
        return Ok(None);
    };
    let Some(principal) = TrailPrincipal::of_arn(&doc.entity_arn) else {
        return Ok(Some(failed()));
    };
    let account = doc
        .entity_arn
        .split(':')
        .nth(4)
        .unwrap_or_default()
        .to_string();
    let end = doc.scope_end.min(now);
    let activity = activity::read(store, &account, &principal, doc.scope_start, end).await?;
    let (threats, mut findings) =
        guardduty(&mut db, &account, &principal, doc.scope_start, end).await?;
    let graph = model::graph_of_arn(&mut db, &doc.graph_arn).await?;
    if let Some(g) = graph.filter(|g| datasources::started(g, datasources::ASFF).is_some()) {
        let more = securityhub::findings(
            &mut db,
            (&account, &g.doc.region),
            (&doc.entity_arn, principal.name()),
            doc.scope_start,
            end,
        )
        .await?;
        findings.extend(more);
        findings.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.arn.cmp(&b.arn)));
    }
    let flagged = |ip| threats.contains(ip);
    let evidence = Evidence {
        flagged: &flagged,
        findings: &findings,
        geo,
    };
    let found = indicators::compute(&activity, &evidence);
    let severity = indicators::severity(&found, &findings).to_string();
    Ok(Some(Outcome {
        indicators: found,
        severity,
        complete: activity.complete,
        status: SUCCESSFUL,
    }))
}

/// The outcome of an investigation that could not be computed: `FAILED`, so that it does not
/// hold up the queue.
pub fn failed() -> Outcome {
    Outcome {
        indicators: Vec::new(),
        severity: "INFORMATIONAL".into(),
        complete: false,
        status: FAILED,
    }
}

/// Records an investigation's outcome and takes it off the queue.
pub async fn finish(
    db: &mut Db<'_>,
    p: &Pending,
    outcome: Option<Outcome>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let queued = p.queue_key();
    if entity::find(db, model::SYSTEM_ACCOUNT, model::PENDING, &queued)
        .await?
        .is_some()
    {
        db.entities()
            .delete(model::SYSTEM_ACCOUNT, model::PENDING, &queued)
            .await?;
    }
    let (Some(o), Some((e, mut doc))) = (
        outcome,
        entity::load_doc::<InvestigationDoc>(db, &p.account, model::INVESTIGATION, &p.key).await?,
    ) else {
        return Ok(());
    };
    doc.status = o.status.into();
    doc.severity = Some(o.severity);
    doc.indicators = o.indicators;
    doc.complete = o.complete;
    entity::save_doc(db, e, &doc, now).await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn findings_on_the_principal_in_the_window_are_related() {
        let t = |h| Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap();
        let finding = json!({
            "Arn": "arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/f",
            "Type": "Stealth:IAMUser/CloudTrailLoggingDisabled",
            "Severity": 2.0,
            "Resource": {"AccessKeyDetails": {"UserName": "alice", "UserType": "IAMUser"}},
            "Service": {
                "EventFirstSeen": "2026-01-01T10:00:00.000Z",
                "EventLastSeen": "2026-01-01T11:00:00.000Z",
                "Action": {"AwsApiCallAction": {"Api": "StopLogging",
                    "RemoteIpDetails": {"IpAddressV4": "10.0.0.1"}}}
            }
        });
        let alice = TrailPrincipal::of_arn("arn:aws:iam::111111111111:user/alice").unwrap();
        let bob = TrailPrincipal::of_arn("arn:aws:iam::111111111111:user/bob").unwrap();
        let role = TrailPrincipal::of_arn("arn:aws:iam::111111111111:role/alice").unwrap();
        let got = related(&finding, &alice, t(9), t(12)).unwrap();
        assert_eq!(got.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(got.api.as_deref(), Some("StopLogging"));
        assert!(related(&finding, &bob, t(9), t(12)).is_none());
        assert!(related(&finding, &role, t(9), t(12)).is_none());
        assert!(related(&finding, &alice, t(12), t(13)).is_none());
        assert!(related(&finding, &alice, t(6), t(9)).is_none());
    }
}
