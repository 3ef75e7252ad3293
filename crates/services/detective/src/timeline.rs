//! A principal's timeline, as `rampart investigate` prints it: each call of the window with
//! where it came from, and the findings and flagged addresses on it.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{activity::Call, geo::Locate, indicators::RelatedFinding};

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// When.
    pub time: DateTime<Utc>,
    /// `service:Action`.
    pub action: String,
    /// The source address.
    pub ip: String,
    /// Where the address is, when a city database is loaded and knows it.
    pub location: Option<String>,
    /// The user agent.
    pub user_agent: String,
    /// `OK`, or the error code.
    pub outcome: String,
    /// The findings whose activity this call is (same API or same remote address, within the
    /// finding's first and last seen, to the second), by type.
    pub findings: Vec<String>,
    /// Whether the address is on an active threat list.
    pub flagged: bool,
}

/// The timeline of `calls` (oldest first).
pub fn rows(
    calls: &[Call],
    findings: &[RelatedFinding],
    flagged: &dyn Fn(&str) -> bool,
    geo: Option<&dyn Locate>,
) -> Vec<Row> {
    calls
        .iter()
        .map(|c| {
            let service = c.source.split('.').next().unwrap_or_default();
            let on = findings
                .iter()
                .filter(|f| {
                    (f.api.as_deref() == Some(c.name.as_str()) || f.ip.as_deref() == Some(&c.ip))
                        && f.first_seen.timestamp() <= c.time.timestamp()
                        && c.time.timestamp() <= f.last_seen.timestamp()
                })
                .map(|f| f.kind.clone())
                .collect();
            Row {
                time: c.time,
                action: format!("{service}:{}", c.name),
                ip: c.ip.clone(),
                location: geo
                    .zip(c.ip.parse().ok())
                    .and_then(|(g, ip)| g.place(ip).location),
                user_agent: c.user_agent.clone(),
                outcome: c.error.clone().unwrap_or_else(|| "OK".into()),
                findings: on,
                flagged: flagged(&c.ip),
            }
        })
        .collect()
}

/// A row as a line of text: time, action, address (and place), outcome, user agent, then
/// its marks.
pub fn line(r: &Row) -> String {
    let place = r
        .location
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let mut marks = String::new();
    if r.flagged {
        marks.push_str("  [FLAGGED IP]");
    }
    for f in &r.findings {
        marks.push_str(&format!("  [FINDING {f}]"));
    }
    format!(
        "{}  {:<40} {:<15}{place}  {:<12} {}{marks}",
        r.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        r.action,
        r.ip,
        r.outcome,
        r.user_agent,
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn calls_carry_their_findings_and_flags() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let call = |name: &str, ip: &str, error: Option<&str>| Call {
            time: t,
            name: name.into(),
            source: "cloudtrail.amazonaws.com".into(),
            ip: ip.into(),
            user_agent: "boto3".into(),
            error: error.map(str::to_string),
            caller: "arn:aws:iam::111111111111:user/alice".into(),
        };
        let finding = RelatedFinding {
            arn: "arn".into(),
            kind: "Stealth:IAMUser/CloudTrailLoggingDisabled".into(),
            ip: None,
            severity: 2.0,
            api: Some("StopLogging".into()),
            first_seen: t,
            last_seen: t,
        };
        let calls = [
            call("StopLogging", "10.0.0.1", None),
            call("GetTrail", "10.0.0.9", Some("AccessDenied")),
        ];
        let rows = rows(&calls, &[finding], &|ip| ip == "10.0.0.9", None);
        assert_eq!(
            rows[0].findings,
            ["Stealth:IAMUser/CloudTrailLoggingDisabled"]
        );
        assert!(!rows[0].flagged);
        assert!(rows[1].findings.is_empty());
        assert!(rows[1].flagged);
        assert_eq!(rows[1].outcome, "AccessDenied");
        let text = line(&rows[0]);
        assert!(text.starts_with("2026-01-01T12:00:00Z  cloudtrail:StopLogging"));
        assert!(text.ends_with("[FINDING Stealth:IAMUser/CloudTrailLoggingDisabled]"));
        assert!(line(&rows[1]).ends_with("[FLAGGED IP]"));
    }
}
