//! The indicators of an investigation, computed from the principal's activity
//! ([`crate::activity`]), the account's GuardDuty threat lists and findings, and the
//! operator's geolocation databases; and the investigation's severity.
//!
//! | Indicator | When |
//! | --- | --- |
//! | `TTP_OBSERVED` | a call in the window matches a tactic of [`ttp`]'s table, or a related GuardDuty finding names one (grouped by tactic, technique, API and address, with success and failure counts) |
//! | `FLAGGED_IP_ADDRESS` | a call in the window comes from an address on an active GuardDuty threat list of the account, or named by a related finding |
//! | `NEW_USER_AGENT` | a user agent of the window the principal did not use before it |
//! | `NEW_GEOLOCATION` | a location (city database) of the window the principal was not seen at before it |
//! | `NEW_ASO` | an autonomous system organization (ASN database) not seen for the principal before |
//! | `IMPOSSIBLE_TRAVEL` | two consecutive calls whose locations are more than [`TRAVEL_MIN_KM`] apart at more than [`TRAVEL_MAX_KMH`] |
//! | `RELATED_FINDING` | a GuardDuty finding on the principal active in the window (and a Security Hub finding on it, with `ASFF_SECURITYHUB_FINDING` started) |
//! | `RELATED_FINDING_GROUP` | related findings that belong together ([`crate::groups`]' rule) |
//!
//! `IsNewForEntireAccount` is true when nobody in the account used the value before the
//! window.
//!
//! Severity (the highest rule that holds): `CRITICAL` a flagged address together with
//! impossible travel or a high-severity (7 or more) related finding; `HIGH` a flagged address,
//! impossible travel or a high-severity related finding; `MEDIUM` an observed TTP or a related
//! finding; `LOW` any `NEW_*` indicator; `INFORMATIONAL` otherwise.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    activity::{Activity, Call},
    geo::{distance_km, Locate, Place},
    ttp,
};

/// Least distance between two locations for impossible travel.
pub const TRAVEL_MIN_KM: f64 = 500.0;
/// Speed above which travel between two locations is impossible (faster than an airliner).
pub const TRAVEL_MAX_KMH: f64 = 1000.0;

/// One indicator: its type and its `IndicatorDetail` (one member set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// `IndicatorType`.
    pub kind: String,
    /// `IndicatorDetail`.
    pub detail: Value,
}

impl Indicator {
    fn new(kind: &str, member: &str, detail: Value) -> Indicator {
        Indicator {
            kind: kind.into(),
            detail: json!({ member: detail }),
        }
    }

    /// The `Indicator` shape.
    pub fn to_value(&self) -> Value {
        json!({ "IndicatorType": self.kind, "IndicatorDetail": self.detail })
    }
}

/// A GuardDuty finding on the principal, as the indicators read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatedFinding {
    /// The finding's ARN.
    pub arn: String,
    /// Its type (`Stealth:IAMUser/CloudTrailLoggingDisabled`).
    pub kind: String,
    /// The remote address of its action, if any.
    pub ip: Option<String>,
    /// Its severity (0-10).
    pub severity: f64,
    /// The API its action names, if any.
    pub api: Option<String>,
    /// When the activity was first and last seen.
    pub first_seen: DateTime<Utc>,
    /// When it was last seen.
    pub last_seen: DateTime<Utc>,
}

/// What the indicators are computed from besides the activity.
pub struct Evidence<'a> {
    /// Whether an address is on an active threat list.
    pub flagged: &'a dyn Fn(IpAddr) -> bool,
    /// GuardDuty findings on the principal active in the window.
    pub findings: &'a [RelatedFinding],
    /// The geolocation databases, if the operator supplied them.
    pub geo: Option<&'a dyn Locate>,
}

fn ip_of(c: &Call) -> Option<IpAddr> {
    c.ip.parse().ok()
}

/// The indicators of an activity, in [`crate::indicators`]' order of types.
pub fn compute(activity: &Activity, evidence: &Evidence<'_>) -> Vec<Indicator> {
    let mut out = Vec::new();
    out.extend(ttps(activity, evidence.findings));
    out.extend(flagged(activity, evidence));
    out.extend(new_agents(activity));
    if let Some(geo) = evidence.geo {
        out.extend(new_places(activity, geo));
        out.extend(travel(activity, geo));
    }
    for f in evidence.findings {
        let mut d = json!({ "Arn": f.arn, "Type": f.kind });
        if let Some(ip) = &f.ip {
            rampart_kit::json_field::SetField::set_field(&mut d, "IpAddress", json!(ip));
        }
        out.push(Indicator::new("RELATED_FINDING", "RelatedFindingDetail", d));
    }
    out.extend(crate::groups::indicators(evidence.findings));
    out
}

/// What `TTP_OBSERVED` groups by: tactic, technique, procedure, API, address.
type TtpKey = (String, String, String, String, String);

fn ttps(activity: &Activity, findings: &[RelatedFinding]) -> Vec<Indicator> {
    // Successes and failures of each group.
    let mut seen: BTreeMap<TtpKey, (i64, i64)> = BTreeMap::new();
    for c in &activity.calls {
        let Some(t) = ttp::of_call(&c.source, &c.name) else {
            continue;
        };
        let key = (
            t.tactic.to_string(),
            t.technique.to_string(),
            format!(
                "{}:{}",
                c.source.split('.').next().unwrap_or_default(),
                c.name
            ),
            c.name.clone(),
            c.ip.clone(),
        );
        let counts = seen.entry(key).or_default();
        if c.error.is_none() {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    for f in findings {
        let Some(t) = ttp::of_finding(&f.kind) else {
            continue;
        };
        let key = (
            t.tactic.to_string(),
            t.technique.to_string(),
            f.kind.clone(),
            f.api.clone().unwrap_or_default(),
            f.ip.clone().unwrap_or_default(),
        );
        seen.entry(key).or_default();
    }
    seen.into_iter()
        .map(|((tactic, technique, procedure, api, ip), (ok, failed))| {
            let mut d = json!({
                "Tactic": tactic,
                "Technique": technique,
                "Procedure": procedure,
                "APISuccessCount": ok,
                "APIFailureCount": failed,
            });
            if !api.is_empty() {
                rampart_kit::json_field::SetField::set_field(&mut d, "APIName", json!(api));
            }
            if !ip.is_empty() {
                rampart_kit::json_field::SetField::set_field(&mut d, "IpAddress", json!(ip));
            }
            Indicator::new("TTP_OBSERVED", "TTPsObservedDetail", d)
        })
        .collect()
}

fn flagged(activity: &Activity, evidence: &Evidence<'_>) -> Vec<Indicator> {
    let mut ips: BTreeSet<String> = activity
        .calls
        .iter()
        .filter(|c| ip_of(c).is_some_and(|ip| (evidence.flagged)(ip)))
        .map(|c| c.ip.clone())
        .collect();
    let from_findings = evidence.findings.iter().filter_map(|f| f.ip.clone());
    ips.extend(
        from_findings.filter(|ip| ip.parse::<IpAddr>().is_ok_and(|a| (evidence.flagged)(a))),
    );
    ips.into_iter()
        .map(|ip| {
            Indicator::new(
                "FLAGGED_IP_ADDRESS",
                "FlaggedIpAddressDetail",
                json!({ "IpAddress": ip, "Reason": "AWS_THREAT_INTELLIGENCE" }),
            )
        })
        .collect()
}

fn new_agents(activity: &Activity) -> Vec<Indicator> {
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for c in &activity.calls {
        if c.user_agent.is_empty()
            || activity.principal.agents.contains(&c.user_agent)
            || !done.insert(c.user_agent.clone())
        {
            continue;
        }
        out.push(Indicator::new(
            "NEW_USER_AGENT",
            "NewUserAgentDetail",
            json!({
                "UserAgent": c.user_agent,
                "IsNewForEntireAccount": !activity.account.agents.contains(&c.user_agent),
            }),
        ));
    }
    out
}

/// The places of a set of addresses.
fn places_of<'a>(ips: impl Iterator<Item = &'a String>, geo: &dyn Locate) -> Vec<Place> {
    ips.filter_map(|ip| ip.parse().ok())
        .map(|ip| geo.place(ip))
        .collect()
}

fn new_places(activity: &Activity, geo: &dyn Locate) -> Vec<Indicator> {
    let before = places_of(activity.principal.ips.iter(), geo);
    let account = places_of(activity.account.ips.iter(), geo);
    let known_locations: BTreeSet<&String> =
        before.iter().filter_map(|p| p.location.as_ref()).collect();
    let known_asos: BTreeSet<&String> = before.iter().filter_map(|p| p.aso.as_ref()).collect();
    let account_has = |f: &dyn Fn(&Place) -> bool| account.iter().any(f);
    let (mut seen_locations, mut seen_asos) = (BTreeSet::new(), BTreeSet::new());
    let mut out = Vec::new();
    for c in &activity.calls {
        let Some(ip) = ip_of(c) else { continue };
        let place = geo.place(ip);
        if let Some(loc) = &place.location {
            if !known_locations.contains(loc) && seen_locations.insert(loc.clone()) {
                out.push(Indicator::new(
                    "NEW_GEOLOCATION",
                    "NewGeolocationDetail",
                    json!({
                        "Location": loc,
                        "IpAddress": c.ip,
                        "IsNewForEntireAccount": !account_has(&|p| p.location.as_ref() == Some(loc)),
                    }),
                ));
            }
        }
        if let Some(aso) = &place.aso {
            if !known_asos.contains(aso) && seen_asos.insert(aso.clone()) {
                out.push(Indicator::new(
                    "NEW_ASO",
                    "NewAsoDetail",
                    json!({
                        "Aso": aso,
                        "IsNewForEntireAccount": !account_has(&|p| p.aso.as_ref() == Some(aso)),
                    }),
                ));
            }
        }
    }
    out
}

fn travel(activity: &Activity, geo: &dyn Locate) -> Vec<Indicator> {
    let mut out = Vec::new();
    let mut reported = BTreeSet::new();
    let mut last: Option<(&Call, Place, (f64, f64))> = None;
    for c in &activity.calls {
        let Some(ip) = ip_of(c) else { continue };
        let place = geo.place(ip);
        let Some(here) = place.coordinates else {
            continue;
        };
        if let Some((prev, prev_place, there)) = &last {
            let km = distance_km(*there, here);
            let hours = (c.time - prev.time).num_milliseconds().max(1) as f64 / 3_600_000.0;
            let pair = (prev.ip.clone(), c.ip.clone());
            if km > TRAVEL_MIN_KM && km / hours > TRAVEL_MAX_KMH && reported.insert(pair) {
                out.push(Indicator::new(
                    "IMPOSSIBLE_TRAVEL",
                    "ImpossibleTravelDetail",
                    json!({
                        "StartingIpAddress": prev.ip,
                        "EndingIpAddress": c.ip,
                        "StartingLocation": prev_place.location.clone().unwrap_or_default(),
                        "EndingLocation": place.location.clone().unwrap_or_default(),
                        "HourlyTimeDelta": hours.floor() as i64,
                    }),
                ));
            }
        }
        last = Some((c, place, here));
    }
    out
}

/// The investigation's severity from its indicators and related findings (see the module
/// documentation).
pub fn severity(indicators: &[Indicator], findings: &[RelatedFinding]) -> &'static str {
    let has = |k: &str| indicators.iter().any(|i| i.kind == k);
    let flagged = has("FLAGGED_IP_ADDRESS");
    let travel = has("IMPOSSIBLE_TRAVEL");
    let high_finding = findings.iter().any(|f| f.severity >= 7.0);
    if flagged && (travel || high_finding) {
        "CRITICAL"
    } else if flagged || travel || high_finding {
        "HIGH"
    } else if has("TTP_OBSERVED") || has("RELATED_FINDING") {
        "MEDIUM"
    } else if has("NEW_USER_AGENT") || has("NEW_GEOLOCATION") || has("NEW_ASO") {
        "LOW"
    } else {
        "INFORMATIONAL"
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::TimeZone;

    use super::*;
    use crate::activity::Baseline;

    struct Table(HashMap<IpAddr, Place>);

    impl Locate for Table {
        fn place(&self, ip: IpAddr) -> Place {
            self.0.get(&ip).cloned().unwrap_or_default()
        }
    }

    fn place(location: &str, coordinates: (f64, f64), aso: &str) -> Place {
        Place {
            location: Some(location.into()),
            coordinates: Some(coordinates),
            aso: Some(aso.into()),
        }
    }

    fn geo() -> Table {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Table(HashMap::from([
            (
                ip("10.0.0.1"),
                place("Seattle, US", (47.61, -122.33), "Amazon"),
            ),
            (
                ip("10.0.0.2"),
                place("Sydney, AU", (-33.87, 151.21), "Telstra"),
            ),
        ]))
    }

    fn call(minute: u32, name: &str, ip: &str, agent: &str, error: Option<&str>) -> Call {
        Call {
            time: Utc.with_ymd_and_hms(2026, 1, 1, 12, minute, 0).unwrap(),
            name: name.into(),
            source: "iam.amazonaws.com".into(),
            ip: ip.into(),
            user_agent: agent.into(),
            error: error.map(str::to_string),
            caller: "arn:aws:iam::111111111111:user/alice".into(),
        }
    }

    fn baseline(agents: &[&str], ips: &[&str]) -> Baseline {
        Baseline {
            agents: agents.iter().map(|s| s.to_string()).collect(),
            ips: ips.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn kinds(i: &[Indicator]) -> Vec<&str> {
        i.iter().map(|i| i.kind.as_str()).collect()
    }

    #[test]
    fn ordinary_activity_yields_nothing_new() {
        let activity = Activity {
            calls: vec![call(0, "GetUser", "10.0.0.1", "boto3", None)],
            principal: baseline(&["boto3"], &["10.0.0.1"]),
            account: baseline(&["boto3"], &["10.0.0.1"]),
            complete: true,
        };
        let g = geo();
        let evidence = Evidence {
            flagged: &|_| false,
            findings: &[],
            geo: Some(&g),
        };
        let found = compute(&activity, &evidence);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(severity(&found, &[]), "INFORMATIONAL");
    }

    #[test]
    fn a_new_agent_a_flagged_address_and_a_jump_across_the_world_are_indicated() {
        let activity = Activity {
            calls: vec![
                call(0, "GetUser", "10.0.0.1", "boto3", None),
                call(5, "ListUsers", "10.0.0.2", "evil/1.0", None),
                call(6, "ListUsers", "10.0.0.2", "evil/1.0", Some("AccessDenied")),
            ],
            principal: baseline(&["boto3"], &["10.0.0.1"]),
            account: baseline(&["boto3", "evil/1.0"], &["10.0.0.1"]),
            complete: true,
        };
        let g = geo();
        let bad: IpAddr = "10.0.0.2".parse().unwrap();
        let evidence = Evidence {
            flagged: &|ip| ip == bad,
            findings: &[],
            geo: Some(&g),
        };
        let found = compute(&activity, &evidence);
        assert_eq!(
            kinds(&found),
            [
                "TTP_OBSERVED",
                "FLAGGED_IP_ADDRESS",
                "NEW_USER_AGENT",
                "NEW_GEOLOCATION",
                "NEW_ASO",
                "IMPOSSIBLE_TRAVEL"
            ]
        );
        let ttp = &found[0].detail["TTPsObservedDetail"];
        assert_eq!(ttp["Tactic"], "Discovery");
        assert_eq!(ttp["APISuccessCount"], 1);
        assert_eq!(ttp["APIFailureCount"], 1);
        assert_eq!(
            found[2].detail["NewUserAgentDetail"]["IsNewForEntireAccount"],
            false
        );
        assert_eq!(
            found[3].detail["NewGeolocationDetail"]["Location"],
            "Sydney, AU"
        );
        assert_eq!(
            found[3].detail["NewGeolocationDetail"]["IsNewForEntireAccount"],
            true
        );
        assert_eq!(
            found[5].detail["ImpossibleTravelDetail"]["EndingLocation"],
            "Sydney, AU"
        );
        assert_eq!(severity(&found, &[]), "CRITICAL");
        // Without databases, no geolocation indicator.
        let blind = Evidence {
            geo: None,
            ..evidence
        };
        assert_eq!(
            kinds(&compute(&activity, &blind)),
            ["TTP_OBSERVED", "FLAGGED_IP_ADDRESS", "NEW_USER_AGENT"]
        );
    }

    #[test]
    fn findings_on_the_principal_are_related_and_set_the_severity() {
        let activity = Activity {
            calls: vec![call(0, "GetUser", "10.0.0.1", "boto3", None)],
            principal: baseline(&["boto3"], &["10.0.0.1"]),
            account: baseline(&["boto3"], &["10.0.0.1"]),
            complete: true,
        };
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let finding = RelatedFinding {
            arn: "arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/f".into(),
            kind: "Stealth:IAMUser/CloudTrailLoggingDisabled".into(),
            ip: Some("10.0.0.1".into()),
            severity: 2.0,
            api: Some("StopLogging".into()),
            first_seen: t,
            last_seen: t,
        };
        let findings = [finding];
        let evidence = Evidence {
            flagged: &|_| false,
            findings: &findings,
            geo: None,
        };
        let found = compute(&activity, &evidence);
        assert_eq!(kinds(&found), ["TTP_OBSERVED", "RELATED_FINDING"]);
        assert_eq!(
            found[0].detail["TTPsObservedDetail"]["Tactic"],
            "Defense Evasion"
        );
        assert_eq!(severity(&found, &findings), "MEDIUM");
        let mut high = findings.to_vec();
        high[0].severity = 8.0;
        assert_eq!(severity(&found, &high), "HIGH");
    }

    #[test]
    fn slow_travel_is_possible() {
        let mut later = call(0, "GetUser", "10.0.0.2", "boto3", None);
        later.time += chrono::Duration::hours(20);
        let activity = Activity {
            calls: vec![call(0, "GetUser", "10.0.0.1", "boto3", None), later],
            principal: baseline(&["boto3"], &["10.0.0.1", "10.0.0.2"]),
            account: baseline(&["boto3"], &["10.0.0.1", "10.0.0.2"]),
            complete: true,
        };
        let g = geo();
        let evidence = Evidence {
            flagged: &|_| false,
            findings: &[],
            geo: Some(&g),
        };
        assert!(compute(&activity, &evidence).is_empty());
    }
}
