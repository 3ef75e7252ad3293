//! The `*/AnomalousBehavior` findings: each call is scored against its principal's baseline
//! ([`crate::profile`]) and a call of a tactic family ([`crate::tactics`]) that reaches the
//! threshold is a finding of the family's type.
//!
//! Baselines are entities of kind [`PROFILES`] under the detector, one per principal (named
//! by a digest of its ARN), so they survive restarts and go with the detector. A batch of the
//! audit stream loads each principal's baseline once, keeps it in [`Baselines`] while the
//! batch's records pass, and writes it back once with the batch ([`Baselines::save`]): the
//! memory held is one baseline per principal of the batch, and each baseline is bounded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde_json::{json, Map, Value};

use crate::{
    detect::Call,
    finding::Observation,
    model::{self, Detector},
    profile::{agent_of, range_of, Profile, Score, Seen, THRESHOLD},
    tactics::{self, Tactic},
};

/// The entity kind of a principal's baseline.
pub const PROFILES: &str = "guardduty:profile";

/// A baseline loaded in a batch.
struct Slot {
    account: String,
    detector_arn: String,
    detector_id: String,
    name: String,
    stored: Option<Entity>,
    profile: Profile,
    time: DateTime<Utc>,
}

/// The baselines a batch has loaded, by name key.
#[derive(Default)]
pub struct Baselines {
    slots: HashMap<String, Slot>,
}

/// Whether an error code is a refusal for lack of permission.
fn denied(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.contains("AccessDenied") || c.contains("UnauthorizedOperation"))
}

/// The short name of a service (`iam` of `iam.amazonaws.com`).
fn service_of(source: &str) -> &str {
    source.split('.').next().unwrap_or(source)
}

/// What a baseline reads of a call.
fn seen_of<'a>(call: &Call<'a>) -> Seen<'a> {
    Seen {
        api: format!("{}:{}", service_of(call.source), call.name),
        tactic: tactics::classify(call.source, call.name),
        range: range_of(call.ip),
        agent: agent_of(call.user_agent),
        failed: call.error.is_some(),
        denied: denied(call.error),
        time: call.time,
    }
}

/// The baseline's APIs, user agents and address ranges by frequency band (frequent,
/// infrequent, rare), with the names AWS's two shapes give each: `profiledBehavior`'s and
/// `Detection`'s.
fn profiled(p: &Profile) -> [(&'static str, &'static str, [Vec<String>; 3]); 3] {
    [
        ("APIs", "API", p.by_frequency(&p.apis)),
        ("UserAgents", "USER_AGENT", p.by_frequency(&p.agents)),
        ("IpRanges", "IP_RANGE", p.by_frequency(&p.ranges)),
    ]
}

impl Baselines {
    /// What `call` shows against its principal's baseline under `d`; learns the call.
    pub async fn observe(
        &mut self,
        db: &mut Db<'_>,
        d: &Detector,
        call: &Call<'_>,
    ) -> Result<Vec<Observation>, ServiceError> {
        if matches!(call.identity, "AWSService" | "" | "Unknown" | "AWSAccount") {
            return Ok(Vec::new());
        }
        let principal = call.principal_arn();
        let slot = self.slot(db, d, &principal, call.time).await?;
        let seen = seen_of(call);
        let score = slot.profile.score(&seen);
        let found = match seen.tactic {
            Some(t) if score.total >= THRESHOLD => {
                Some(observation(call, t, &slot.profile, &seen, &score))
            }
            _ => None,
        };
        slot.profile.learn(&seen);
        slot.time = call.time;
        Ok(found.into_iter().collect())
    }

    /// The baseline of `principal` under `d`: loaded once per batch, new when none is stored.
    async fn slot(
        &mut self,
        db: &mut Db<'_>,
        d: &Detector,
        principal: &str,
        t: DateTime<Utc>,
    ) -> Result<&mut Slot, ServiceError> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, principal.as_bytes());
        let name = hex::encode(digest.as_ref().get(..12).unwrap_or_default());
        let key = format!("{}/{name}", d.id());
        if !self.slots.contains_key(&key) {
            let (stored, profile) =
                match entity::load_doc::<Profile>(db, d.account(), PROFILES, &key).await? {
                    Some((e, p)) => (Some(e), p),
                    None => (None, Profile::new(principal, t)),
                };
            let slot = Slot {
                account: d.account().to_string(),
                detector_arn: d.entity.arn.clone(),
                detector_id: d.id().to_string(),
                name,
                stored,
                profile,
                time: t,
            };
            self.slots.insert(key.clone(), slot);
        }
        self.slots.get_mut(&key).ok_or_else(ServiceError::internal)
    }

    /// Writes every baseline of the batch back, in the batch's transaction.
    pub async fn save(self, db: &mut Db<'_>) -> Result<(), ServiceError> {
        for (key, slot) in self.slots {
            if let Some(e) = slot.stored {
                entity::save_doc(db, e, &slot.profile, slot.time).await?;
                continue;
            }
            let mut e = Entity {
                account_id: slot.account,
                kind: PROFILES.into(),
                name: slot.name.clone(),
                name_key: key.clone(),
                id: format!("guardduty-profile-{key}"),
                path: model::under(&slot.detector_id),
                arn: format!("{}/profile/{}", slot.detector_arn, slot.name),
                created_at: slot.time,
                updated_at: slot.time,
                doc: String::new(),
            };
            entity::write_doc(&mut e, &slot.profile, slot.time)?;
            db.entities().create(&e).await?;
        }
        Ok(())
    }
}

/// The entries of a list as AWS's profile texts join them (`a , b`).
fn joined(items: &[String]) -> String {
    items.join(" , ")
}

/// The finding of an anomalous call of family `t`, with the baseline it was scored against.
fn observation(
    call: &Call<'_>,
    t: Tactic,
    p: &Profile,
    seen: &Seen<'_>,
    score: &Score,
) -> Observation {
    let details = call.access_key_details();
    let field = |k: &str| details.get(k).and_then(Value::as_str).unwrap_or_default();
    let who = format!("{} : {}", field("UserType"), field("UserName"));
    let tactic = t.tactic_name();
    let title =
        format!("User {who} is anomalously invoking APIs commonly used in {tactic} tactics.");
    let bucket = call.bucket().filter(|_| t.on_s3());
    let mut o = call.observe(t.finding_type(), t.level(), title, bucket);
    if bucket.is_some() {
        if let Some(r) = o.resource.as_object_mut() {
            r.insert("ResourceType".into(), json!("S3Bucket"));
        }
    }
    o.description = format!(
        "APIs commonly used in {tactic} tactics were invoked by user {who}, under anomalous circumstances. Such activity is not typically seen from this user. Anomaly score {} (threshold {THRESHOLD}): {}.",
        score.total,
        reasons(score).join(", ")
    );
    o.additional_info = Some(json!({
        "Value": additional_info(call, p, seen, score).to_string(),
        "Type": "default",
    }));
    o.detection = Some(detection(p, seen, score));
    o
}

/// Why a call scored, in words.
fn reasons(s: &Score) -> Vec<String> {
    let mut out = Vec::new();
    if s.new_tactic {
        out.push("a tactic never seen from this principal".to_string());
    } else if s.new_api {
        out.push("an API never seen from this principal".to_string());
    }
    if s.new_range {
        out.push("a new address range".to_string());
    }
    if s.new_agent {
        out.push("a new user agent".to_string());
    }
    if s.unusual_error {
        out.push("denied, where this principal is rarely denied".to_string());
    }
    if let Some(n) = s.burst {
        out.push(format!("{n} denied Discovery calls within a minute"));
    }
    if let Some(n) = s.volume {
        out.push(format!(
            "{n} calls within a minute, past the busiest earlier minute"
        ));
    }
    out
}

/// `Service.AdditionalInfo.Value`: AWS's `anomalies`, `profiledBehavior` and `unusualBehavior`
/// as far as Rampart has the data (APIs, user agents, and address ranges where AWS profiles
/// ASNs), with the score.
fn additional_info(call: &Call<'_>, p: &Profile, seen: &Seen<'_>, s: &Score) -> Value {
    let outcome = |failed: bool| if failed { "failure" } else { "success" };
    let anomalous = match (s.burst, p.denied.is_empty()) {
        (Some(_), false) => {
            let mut apis: Vec<String> = p
                .denied
                .iter()
                .map(|(_, api)| api.split(':').nth(1).unwrap_or(api).to_string())
                .collect();
            apis.dedup();
            apis.sort();
            apis.dedup();
            let list: Vec<String> = apis.iter().map(|a| format!("{a}:failure")).collect();
            format!("{}:[{}]", call.source, joined(&list))
        }
        _ => format!("{}:[{}:{}]", call.source, call.name, outcome(seen.failed)),
    };
    let mut profiled_behavior = Map::new();
    for (kind, _, [frequent, infrequent, rare]) in profiled(p) {
        for (band, items) in [
            ("rare", rare),
            ("infrequent", infrequent),
            ("frequent", frequent),
        ] {
            profiled_behavior.insert(
                format!("{band}Profiled{kind}UserIdentityProfiling"),
                json!(joined(&items)),
            );
        }
    }
    let flag = |on: bool, v: &str| if on { v.to_string() } else { String::new() };
    json!({
        "userAgent": { "fullUserAgent": call.user_agent, "userAgentCategory": seen.agent },
        "anomalies": { "anomalousAPIs": anomalous },
        "profiledBehavior": Value::Object(profiled_behavior),
        "unusualBehavior": {
            "unusualAPIsUserIdentityProfiling": flag(s.new_api || s.new_tactic, call.name),
            "unusualUserAgentsUserIdentityProfiling": flag(s.new_agent, seen.agent),
            "unusualIpRangesUserIdentityProfiling": flag(s.new_range, &seen.range),
            "isUnusualUserIdentity": "false",
        },
        "anomalyScore": s.total,
        "anomalyThreshold": THRESHOLD,
    })
}

/// `Service.Detection.Anomaly`: the principal's profiles of APIs, user agents and address
/// ranges by frequency, and the unusual values of this call.
fn detection(p: &Profile, seen: &Seen<'_>, s: &Score) -> Value {
    let object = |subtype: &str, text: Vec<String>| {
        json!({
            "ProfileType": "FREQUENCY",
            "ProfileSubtype": subtype,
            "Observations": { "Text": text },
        })
    };
    let mut features = Map::new();
    for (_, feature, [frequent, infrequent, rare]) in profiled(p) {
        let list: Vec<Value> = [
            ("FREQUENT", frequent),
            ("INFREQUENT", infrequent),
            ("RARE", rare),
        ]
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(sub, items)| object(sub, items))
        .collect();
        features.insert(feature.into(), Value::Array(list));
    }
    let mut unusual = Map::new();
    for (on, feature, value) in [
        (
            s.new_api || s.new_tactic || s.burst.is_some(),
            "API",
            seen.api.as_str(),
        ),
        (s.new_agent, "USER_AGENT", seen.agent),
        (s.new_range, "IP_RANGE", seen.range.as_str()),
    ] {
        if on {
            unusual.insert(feature.into(), object("UNSEEN", vec![value.to_string()]));
        }
    }
    json!({
        "Anomaly": {
            "Profiles": { "USER_IDENTITY": Value::Object(features) },
            "Unusual": { "Behavior": { "USER_IDENTITY": Value::Object(unusual) } },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(name: &str, agent: &str, time: &str) -> Value {
        json!({
            "eventType": "AwsApiCall",
            "eventTime": time,
            "eventSource": "iam.amazonaws.com",
            "eventName": name,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": agent,
            "userIdentity": {
                "type": "IAMUser",
                "arn": "arn:aws:iam::123456789012:user/alice",
                "principalId": "AIDAEXAMPLE",
                "accessKeyId": "AKIAEXAMPLE",
                "userName": "alice",
            },
        })
    }

    #[test]
    fn an_anomalous_call_is_a_finding_in_aws_shape() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let mut p = Profile::new("arn:aws:iam::123456789012:user/alice", start);
        let ordinary = event(
            "ListUsers",
            "Boto3/1.35.0 md/Botocore#1.35.0",
            "2026-12-01T10:00:00Z",
        );
        for _ in 0..25 {
            p.observe(&seen_of(&Call::of(&ordinary).unwrap()));
        }
        let odd = event("CreateAccessKey", "exfil-kit/0.1", "2026-12-09T10:00:00Z");
        let call = Call::of(&odd).unwrap();
        let seen = seen_of(&call);
        assert_eq!(seen.api, "iam:CreateAccessKey");
        let score = p.score(&seen);
        assert!(score.new_tactic && score.new_agent && score.total == THRESHOLD);
        let o = observation(&call, Tactic::Persistence, &p, &seen, &score);
        assert_eq!(o.finding_type, "Persistence:IAMUser/AnomalousBehavior");
        assert_eq!(o.severity, 5.0);
        assert_eq!(
            o.title,
            "User IAMUser : alice is anomalously invoking APIs commonly used in Persistence tactics."
        );
        assert!(o.description.contains("Anomaly score 3 (threshold 3)"));
        assert_eq!(o.resource_key, "AKIAEXAMPLE");
        let value = o.additional_info.unwrap()["Value"]
            .as_str()
            .unwrap()
            .to_string();
        let info: Value = serde_json::from_str(&value).unwrap();
        assert_eq!(
            info["anomalies"]["anomalousAPIs"],
            "iam.amazonaws.com:[CreateAccessKey:success]"
        );
        assert_eq!(
            info["profiledBehavior"]["frequentProfiledAPIsUserIdentityProfiling"],
            "iam:ListUsers"
        );
        assert_eq!(
            info["unusualBehavior"]["unusualUserAgentsUserIdentityProfiling"],
            "exfil-kit"
        );
        let anomaly = &o.detection.unwrap()["Anomaly"];
        assert_eq!(
            anomaly["Unusual"]["Behavior"]["USER_IDENTITY"]["API"]["Observations"]["Text"],
            json!(["iam:CreateAccessKey"])
        );
        assert_eq!(
            anomaly["Profiles"]["USER_IDENTITY"]["USER_AGENT"][0]["ProfileSubtype"],
            "FREQUENT"
        );
    }

    #[test]
    fn refusals_are_told_from_other_failures() {
        assert!(denied(Some("AccessDenied")));
        assert!(denied(Some("AccessDeniedException")));
        assert!(denied(Some("Client.UnauthorizedOperation")));
        assert!(!denied(Some("NoSuchEntity")));
        assert!(!denied(None));
        assert_eq!(service_of("s3.amazonaws.com"), "s3");
    }
}
