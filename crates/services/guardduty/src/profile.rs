//! A principal's baseline of behaviour, learned from its calls, and the anomaly score of a new
//! call against it. Pure: the stored form and its bounds are here, the store is
//! [`crate::anomaly`]'s.
//!
//! The baseline holds how often the principal called each API, from which address ranges
//! (IPv4 /24, IPv6 /48) and with which user agents (the product before the first `/`), how
//! many of its calls failed, which tactic families it used, its denied reads of the last
//! minute, and per family its busiest minute. Each map keeps at most a fixed number of
//! entries; when full, the least-used entry makes room, so a baseline stays a few KiB.
//!
//! **Learning period**: a baseline scores nothing from novelty until [`LEARNING_DAYS`] have
//! passed on the request clock since the principal's first call was seen *and* it has made
//! [`LEARNING_CALLS`] calls. **Score** of a call, after learning:
//!
//! - action: +2 when the call's tactic family was never seen from the principal, else +1
//!   when its API was never seen;
//! - origin: +1 when its address range was never seen, +1 when its user agent was never seen;
//! - errors: +1 when it was denied and the principal's error rate is under 10%;
//! - bursts (also during learning): +3 when it makes [`BURST_DENIED`] or more denied
//!   Discovery calls within [`BURST_SECS`], or (after learning) when a volume family's calls
//!   in the current minute reach `max(VOLUME_MIN, 4 x the busiest earlier minute)`.
//!
//! A call of a tactic family with a score of [`THRESHOLD`] or more is a finding.

use std::{collections::BTreeMap, net::IpAddr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::tactics::Tactic;

/// Days of history before novelty counts.
pub const LEARNING_DAYS: i64 = 7;
/// Calls of history before novelty counts.
pub const LEARNING_CALLS: u64 = 20;
/// The score at which a call is a finding.
pub const THRESHOLD: u32 = 3;
/// Denied Discovery calls within [`BURST_SECS`] that make an enumeration burst.
pub const BURST_DENIED: usize = 10;
/// The enumeration burst's window, in seconds.
pub const BURST_SECS: i64 = 60;
/// The least number of a volume family's calls in a minute that can be a burst.
pub const VOLUME_MIN: u32 = 300;
/// An error rate under this share makes a denied call unusual.
const ERROR_RATE: f64 = 0.10;
/// APIs a baseline keeps.
pub const MAX_APIS: usize = 256;
/// Address ranges a baseline keeps.
pub const MAX_RANGES: usize = 32;
/// User agents a baseline keeps.
pub const MAX_AGENTS: usize = 16;

/// The busiest minute of a family, and the minute now being counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// The minute (epoch minutes) being counted.
    pub minute: i64,
    /// Calls in it.
    pub count: u32,
    /// The most calls in any earlier minute.
    pub peak: u32,
}

/// One principal's baseline, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The principal (ARN).
    pub principal: String,
    /// When its first call was seen (epoch milliseconds).
    pub first_seen: i64,
    /// Calls seen.
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Calls per API (`service:Name`).
    pub apis: BTreeMap<String, u32>,
    /// Calls per address range.
    pub ranges: BTreeMap<String, u32>,
    /// Calls per user agent.
    pub agents: BTreeMap<String, u32>,
    /// Calls per tactic family.
    pub tactics: BTreeMap<String, u32>,
    /// Denied Discovery calls within the burst window: (epoch ms, API).
    pub denied: Vec<(i64, String)>,
    /// Calls per minute of the volume families.
    pub rates: BTreeMap<String, Rate>,
}

/// What one call looks like to a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen<'a> {
    /// `service:Name`.
    pub api: String,
    /// Its tactic family.
    pub tactic: Option<Tactic>,
    /// Its address range.
    pub range: String,
    /// Its user agent's product.
    pub agent: &'a str,
    /// Whether it failed.
    pub failed: bool,
    /// Whether it was refused for lack of permission.
    pub denied: bool,
    /// When.
    pub time: DateTime<Utc>,
}

/// How a call scored, and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    /// The total.
    pub total: u32,
    /// The family was never seen.
    pub new_tactic: bool,
    /// The API was never seen.
    pub new_api: bool,
    /// The address range was never seen.
    pub new_range: bool,
    /// The user agent was never seen.
    pub new_agent: bool,
    /// Denied with a low error rate.
    pub unusual_error: bool,
    /// Denied Discovery calls in the burst window, when they make a burst.
    pub burst: Option<usize>,
    /// The family's calls this minute, when they make a volume burst.
    pub volume: Option<u32>,
    /// Whether the baseline had finished learning.
    pub learned: bool,
}

/// The address range of an address: IPv4 /24, IPv6 /48, else the text itself.
pub fn range_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let part = |i: usize| s.get(i).copied().unwrap_or_default();
            format!("{:x}:{:x}:{:x}::/48", part(0), part(1), part(2))
        }
        Err(_) => ip.to_string(),
    }
}

/// A user agent's product: the text before its first `/` or space (`Boto3`, `aws-cli`).
pub fn agent_of(user_agent: &str) -> &str {
    let end = user_agent
        .find(|c: char| c == '/' || c.is_whitespace())
        .unwrap_or(user_agent.len());
    user_agent.get(..end).unwrap_or(user_agent)
}

/// Adds one to `key` in `map`, making room by dropping the least-used entry when the map
/// holds `max` entries already.
fn bump(map: &mut BTreeMap<String, u32>, key: &str, max: usize) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_add(1);
        return;
    }
    if map.len() >= max {
        let least = map.iter().min_by_key(|(_, n)| **n).map(|(k, _)| k.clone());
        if let Some(k) = least {
            map.remove(&k);
        }
    }
    map.insert(key.to_string(), 1);
}

impl Profile {
    /// A baseline for `principal` first seen at `t`.
    pub fn new(principal: &str, t: DateTime<Utc>) -> Profile {
        Profile {
            principal: principal.to_string(),
            first_seen: t.timestamp_millis(),
            ..Profile::default()
        }
    }

    /// Whether the learning period is over at `t`.
    pub fn learned(&self, t: DateTime<Utc>) -> bool {
        let days = t.timestamp_millis().saturating_sub(self.first_seen) / 86_400_000;
        days >= LEARNING_DAYS && self.calls >= LEARNING_CALLS
    }

    /// The share of calls that failed.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        self.errors as f64 / self.calls as f64
    }

    /// Scores `call` against the baseline as it was, then learns it.
    pub fn observe(&mut self, call: &Seen<'_>) -> Score {
        let s = self.score(call);
        self.learn(call);
        s
    }

    /// Scores `call` against the baseline: counts it in the burst windows, compares it with
    /// what was learned (which [`Profile::learn`] then extends).
    pub fn score(&mut self, call: &Seen<'_>) -> Score {
        let mut s = Score {
            learned: self.learned(call.time),
            ..Score::default()
        };
        let now = call.time.timestamp_millis();
        if call.denied && call.tactic == Some(Tactic::Discovery) {
            let start = now.saturating_sub(BURST_SECS * 1000);
            self.denied.retain(|(t, _)| *t > start);
            self.denied.push((now, call.api.clone()));
            if self.denied.len() > 2 * BURST_DENIED {
                let extra = self.denied.len() - 2 * BURST_DENIED;
                self.denied.drain(..extra);
            }
            let n = self.denied.len();
            if n >= BURST_DENIED {
                s.burst = Some(n);
            }
        }
        if let Some(t) = call.tactic.filter(|t| t.volume_matters()) {
            let minute = now.div_euclid(60_000);
            let rate = self.rates.entry(t.key().to_string()).or_default();
            if rate.minute != minute {
                rate.peak = rate.peak.max(rate.count);
                rate.minute = minute;
                rate.count = 0;
            }
            rate.count = rate.count.saturating_add(1);
            let bar = VOLUME_MIN.max(rate.peak.saturating_mul(4));
            if s.learned && rate.count >= bar {
                s.volume = Some(rate.count);
            }
        }
        if s.learned {
            s.new_tactic = call
                .tactic
                .is_some_and(|t| !self.tactics.contains_key(t.key()));
            s.new_api = !self.apis.contains_key(&call.api);
            s.new_range = !self.ranges.contains_key(&call.range);
            s.new_agent = !self.agents.contains_key(call.agent);
            s.unusual_error = call.denied && self.error_rate() < ERROR_RATE;
        }
        s.total = if s.new_tactic {
            2
        } else {
            u32::from(s.new_api)
        } + u32::from(s.new_range)
            + u32::from(s.new_agent)
            + u32::from(s.unusual_error)
            + if s.burst.is_some() || s.volume.is_some() {
                3
            } else {
                0
            };
        s
    }

    /// Adds `call` to what the baseline has seen.
    pub fn learn(&mut self, call: &Seen<'_>) {
        self.calls = self.calls.saturating_add(1);
        if call.failed {
            self.errors = self.errors.saturating_add(1);
        }
        bump(&mut self.apis, &call.api, MAX_APIS);
        bump(&mut self.ranges, &call.range, MAX_RANGES);
        bump(&mut self.agents, call.agent, MAX_AGENTS);
        if let Some(t) = call.tactic {
            bump(&mut self.tactics, t.key(), usize::MAX);
        }
    }

    /// The baseline's entries of one kind by how often they were used: frequent (10% of
    /// the calls or more), infrequent (1% or more) and rare.
    pub fn by_frequency(&self, map: &BTreeMap<String, u32>) -> [Vec<String>; 3] {
        let total = self.calls.max(1) as f64;
        let (mut frequent, mut infrequent, mut rare) = (Vec::new(), Vec::new(), Vec::new());
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (k, n) in entries {
            let share = f64::from(*n) / total;
            let slot = if share >= 0.10 {
                &mut frequent
            } else if share >= 0.01 {
                &mut infrequent
            } else {
                &mut rare
            };
            slot.push(k.clone());
        }
        [frequent, infrequent, rare]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    const DAY: i64 = 86_400;

    fn call(
        api: &str,
        tactic: Option<Tactic>,
        ip: &str,
        agent: &'static str,
        t: i64,
    ) -> Seen<'static> {
        Seen {
            api: api.into(),
            tactic,
            range: range_of(ip),
            agent,
            failed: false,
            denied: false,
            time: at(t),
        }
    }

    /// A principal that listed users and read objects from one address with boto3 for a week.
    fn learned() -> Profile {
        let mut p = Profile::new("arn:aws:iam::123456789012:user/alice", at(0));
        for i in 0..40 {
            let t = i * (DAY / 5);
            p.observe(&call(
                "iam:ListUsers",
                Some(Tactic::Discovery),
                "10.0.0.5",
                "Boto3",
                t,
            ));
            p.observe(&call(
                "s3:GetObject",
                Some(Tactic::S3Exfiltration),
                "10.0.0.9",
                "Boto3",
                t + 1,
            ));
        }
        assert!(p.learned(at(8 * DAY)));
        p
    }

    #[test]
    fn nothing_scores_from_novelty_while_learning() {
        let mut p = Profile::new("p", at(0));
        let s = p.observe(&call(
            "iam:CreateAccessKey",
            Some(Tactic::Persistence),
            "203.0.113.1",
            "kali",
            10,
        ));
        assert_eq!(s.total, 0);
        assert!(!s.learned);
        // Enough calls but not enough days is still learning.
        for i in 0..30 {
            p.observe(&call(
                "iam:ListUsers",
                Some(Tactic::Discovery),
                "10.0.0.5",
                "Boto3",
                20 + i,
            ));
        }
        assert!(!p.learned(at(DAY)));
    }

    #[test]
    fn ordinary_calls_score_nothing() {
        let mut p = learned();
        for i in 0..100 {
            let s = p.observe(&call(
                "iam:ListUsers",
                Some(Tactic::Discovery),
                "10.0.0.77",
                "Boto3",
                9 * DAY + i,
            ));
            assert_eq!(s.total, 0, "call {i}");
        }
    }

    #[test]
    fn a_new_family_from_a_new_agent_or_range_reaches_the_threshold() {
        let mut p = learned();
        let t = 9 * DAY;
        // A new family from the usual origin is only 2.
        let s = p.observe(&call(
            "iam:CreateAccessKey",
            Some(Tactic::Persistence),
            "10.0.0.5",
            "Boto3",
            t,
        ));
        assert!(s.new_tactic && s.total == 2);
        // A new family from a new agent is 3.
        let s = p.observe(&call(
            "iam:PutUserPolicy",
            Some(Tactic::PrivilegeEscalation),
            "10.0.0.5",
            "kali",
            t + 1,
        ));
        assert_eq!(s.total, THRESHOLD);
        // From a new range and a new agent, a new API of a known family is 3 too.
        let s = p.observe(&call(
            "iam:GetUser",
            Some(Tactic::Discovery),
            "198.51.100.4",
            "curl",
            t + 2,
        ));
        assert!(s.new_api && s.new_range && s.new_agent && !s.new_tactic);
        assert_eq!(s.total, 3);
        // Once seen, the family is part of the baseline.
        let s = p.observe(&call(
            "iam:PutUserPolicy",
            Some(Tactic::PrivilegeEscalation),
            "10.0.0.5",
            "kali",
            t + 3,
        ));
        assert_eq!(s.total, 0);
    }

    #[test]
    fn a_burst_of_denied_reads_scores_and_slow_denials_do_not() {
        let mut p = learned();
        let t = 9 * DAY;
        let denied = |api: &str, secs: i64| Seen {
            denied: true,
            failed: true,
            ..call(api, Some(Tactic::Discovery), "10.0.0.5", "Boto3", secs)
        };
        let mut scores = Vec::new();
        for i in 0..12 {
            scores.push(p.observe(&denied("iam:ListRoles", t + i)));
        }
        assert!(scores[..9].iter().all(|s| s.burst.is_none()));
        assert_eq!(scores[9].burst, Some(BURST_DENIED));
        assert!(scores[9].total >= THRESHOLD);
        assert!(scores[11].total >= THRESHOLD);
        // One denial a minute never makes a burst.
        let mut slow = learned();
        let most = (0..30)
            .map(|i| slow.observe(&denied("iam:ListRoles", t + i * 61)).burst)
            .max()
            .flatten();
        assert_eq!(most, None);
        // The window keeps a bounded number of entries.
        assert!(p.denied.len() <= 2 * BURST_DENIED);
    }

    #[test]
    fn a_volume_burst_is_measured_against_the_busiest_minute() {
        let mut p = learned();
        let t = 9 * DAY;
        // A busy minute of 200 reads sets the peak without being a burst.
        for i in 0..200 {
            let s = p.observe(&call(
                "s3:GetObject",
                Some(Tactic::S3Exfiltration),
                "10.0.0.9",
                "Boto3",
                t + i % 60,
            ));
            assert!(s.volume.is_none());
        }
        // The next minute needs 4 x 200 reads.
        let mut first = None;
        for i in 0..900u32 {
            let s = p.observe(&call(
                "s3:GetObject",
                Some(Tactic::S3Exfiltration),
                "10.0.0.9",
                "Boto3",
                t + 60,
            ));
            if s.volume.is_some() && first.is_none() {
                first = Some(i + 1);
                assert!(s.total >= THRESHOLD);
            }
        }
        assert_eq!(first, Some(800));
    }

    #[test]
    fn baselines_stay_bounded() {
        let mut p = Profile::new("p", at(0));
        for i in 0..1000 {
            p.observe(&Seen {
                agent: "Boto3",
                ..call(
                    &format!("iam:Api{i}"),
                    None,
                    &format!("10.{}.{}.1", i / 256, i % 256),
                    "Boto3",
                    i,
                )
            });
        }
        assert_eq!(p.apis.len(), MAX_APIS);
        assert_eq!(p.ranges.len(), MAX_RANGES);
        assert!(serde_json::to_string(&p).unwrap().len() < 16 * 1024);
    }

    #[test]
    fn ranges_agents_and_frequencies() {
        assert_eq!(range_of("198.51.100.7"), "198.51.100.0/24");
        assert_eq!(range_of("2001:db8:1:2::9"), "2001:db8:1::/48");
        assert_eq!(agent_of("Boto3/1.35.0 md/Botocore#1.35.0"), "Boto3");
        assert_eq!(agent_of("aws-cli/2.15.0 Python/3.11"), "aws-cli");
        assert_eq!(agent_of("curl"), "curl");
        let p = learned();
        let [frequent, infrequent, rare] = p.by_frequency(&p.apis);
        assert_eq!(frequent, ["iam:ListUsers", "s3:GetObject"]);
        assert!(infrequent.is_empty() && rare.is_empty());
    }
}
