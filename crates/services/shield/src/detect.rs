//! Attack detection: what the listeners' limits observe, aggregated into attacks.
//!
//! Each time a Shield Standard limit trips on a load balancer's listener (a request over the
//! per-address rate, a connection over a cap, headers or a body too slow), the listener
//! reports an [`Observation`]. The [`Tracker`] folds observations into one open attack per
//! load balancer: its start, its last observation, and per vector the count, the busiest
//! second and the seconds seen, plus the top source addresses. An attack ends once no
//! observation arrives for the quiet period. A job drains the tracker into the store.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

/// Source addresses kept per attack (the rest are counted under `other`).
const MAX_SOURCES: usize = 100;

/// What kind of limit tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vector {
    /// Requests over the per-address rate (AWS's `REQUEST_FLOOD`).
    RequestFlood,
    /// Connections over the per-address cap, or shed when the listener is full.
    ConnectionFlood,
    /// Request headers not complete within the header timeout.
    Slowloris,
    /// A request body not complete within the body timeout.
    SlowPost,
}

impl Vector {
    /// The `VectorType` Rampart reports (`REQUEST_FLOOD` is AWS's; the others are Rampart's
    /// names, AWS lists no vector for these, see docs/SHIELD.md).
    pub fn as_str(self) -> &'static str {
        match self {
            Vector::RequestFlood => "REQUEST_FLOOD",
            Vector::ConnectionFlood => "CONNECTION_FLOOD",
            Vector::Slowloris => "SLOWLORIS",
            Vector::SlowPost => "SLOW_POST",
        }
    }

    /// What the vector counts.
    pub fn unit(self) -> &'static str {
        match self {
            Vector::RequestFlood | Vector::SlowPost => "Requests",
            Vector::ConnectionFlood | Vector::Slowloris => "Connections",
        }
    }
}

/// One tripped limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The load balancer's owner.
    pub account: String,
    /// The load balancer's ARN.
    pub resource: String,
    /// Which limit.
    pub vector: Vector,
    /// The client, when known.
    pub source: Option<IpAddr>,
    /// When, in epoch seconds of the request clock.
    pub at: i64,
}

/// One vector's counts within an attack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorStats {
    /// What it counts (`Requests`, `Connections`).
    pub unit: String,
    /// Observations in all.
    pub total: u64,
    /// The most in one second.
    pub max_per_second: u64,
    /// Seconds with at least one observation.
    pub seconds: u64,
    /// The second being counted, and its count so far.
    pub current_second: i64,
    /// Observations in the current second.
    pub current_count: u64,
}

impl VectorStats {
    fn note(&mut self, at: i64) {
        self.total = self.total.saturating_add(1);
        if self.seconds == 0 || at != self.current_second {
            self.current_second = at;
            self.current_count = 0;
            self.seconds = self.seconds.saturating_add(1);
        }
        self.current_count = self.current_count.saturating_add(1);
        self.max_per_second = self.max_per_second.max(self.current_count);
    }
}

/// An attack as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackDoc {
    /// `AttackId`.
    pub id: String,
    /// The load balancer's ARN.
    pub resource: String,
    /// The first observation (epoch seconds).
    pub start: i64,
    /// The last observation.
    pub last: i64,
    /// Set once the attack has ended (the last observation's second, plus one).
    #[serde(default)]
    pub end: Option<i64>,
    /// Counts by `VectorType`.
    #[serde(default)]
    pub vectors: BTreeMap<String, VectorStats>,
    /// Observations by source address (`other` beyond the first ones).
    #[serde(default)]
    pub sources: BTreeMap<String, u64>,
    /// Mitigations applied (the automatic response's rule).
    #[serde(default)]
    pub mitigations: Vec<String>,
}

impl AttackDoc {
    /// True while the attack has not ended.
    pub fn ongoing(&self) -> bool {
        self.end.is_none()
    }

    /// True when the attack has this vector.
    pub fn has(&self, vector: Vector) -> bool {
        self.vectors.contains_key(vector.as_str())
    }
}

/// An open attack and whether it changed since the last drain.
struct Open {
    account: String,
    doc: AttackDoc,
    dirty: bool,
}

/// The open attacks of this node, by load balancer.
#[derive(Default)]
pub struct Tracker {
    open: Mutex<HashMap<String, Open>>,
}

impl Tracker {
    /// Folds one observation in, opening an attack on the resource if none is open.
    pub fn observe(&self, obs: Observation) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = open.entry(obs.resource.clone()).or_insert_with(|| Open {
            account: obs.account.clone(),
            doc: AttackDoc {
                id: uuid::Uuid::new_v4().to_string(),
                resource: obs.resource.clone(),
                start: obs.at,
                last: obs.at,
                ..AttackDoc::default()
            },
            dirty: true,
        });
        entry.dirty = true;
        let doc = &mut entry.doc;
        doc.last = doc.last.max(obs.at);
        let stats = doc
            .vectors
            .entry(obs.vector.as_str().to_string())
            .or_insert_with(|| VectorStats {
                unit: obs.vector.unit().to_string(),
                ..VectorStats::default()
            });
        stats.note(obs.at);
        if let Some(ip) = obs.source {
            let key = ip.to_string();
            let key = if doc.sources.contains_key(&key) || doc.sources.len() < MAX_SOURCES {
                key
            } else {
                "other".to_string()
            };
            let n = doc.sources.entry(key).or_insert(0);
            *n = n.saturating_add(1);
        }
    }

    /// The attacks that changed since the last drain, with their owners; an attack with no
    /// observation for `quiet` seconds before `now` is ended and forgotten.
    pub fn drain(&self, now: i64, quiet: i64) -> Vec<(String, AttackDoc)> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        open.retain(|_, attack| {
            let ended = now.saturating_sub(attack.doc.last) >= quiet;
            if ended {
                attack.doc.end = Some(attack.doc.last.saturating_add(1));
            }
            if ended || attack.dirty {
                attack.dirty = false;
                out.push((attack.account.clone(), attack.doc.clone()));
            }
            !ended
        });
        out
    }

    /// Forgets every open attack (dev mode's reset wipes the stored ones).
    pub fn clear(&self) {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Marks the open attack on `resource` as mitigated by `name` (kept once).
    pub fn note_mitigation(&self, resource: &str, name: &str) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(attack) = open.get_mut(resource) {
            if !attack.doc.mitigations.iter().any(|m| m == name) {
                attack.doc.mitigations.push(name.to_string());
                attack.dirty = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(resource: &str, vector: Vector, ip: &str, at: i64) -> Observation {
        Observation {
            account: "111111111111".into(),
            resource: resource.into(),
            vector,
            source: ip.parse().ok(),
            at,
        }
    }

    #[test]
    fn observations_fold_into_one_attack_per_resource_until_quiet() {
        let t = Tracker::default();
        for s in 0..3 {
            for _ in 0..(s + 1) {
                t.observe(obs("lb-a", Vector::RequestFlood, "127.0.0.9", 100 + s));
            }
        }
        t.observe(obs("lb-a", Vector::Slowloris, "127.0.0.8", 101));
        t.observe(obs("lb-b", Vector::ConnectionFlood, "127.0.0.7", 101));
        let first = t.drain(103, 10);
        assert_eq!(first.len(), 2);
        let (_, a) = first
            .iter()
            .find(|(_, d)| d.resource == "lb-a")
            .cloned()
            .unwrap();
        assert!(a.ongoing());
        assert_eq!((a.start, a.last), (100, 102));
        let flood = &a.vectors["REQUEST_FLOOD"];
        assert_eq!(
            (flood.total, flood.max_per_second, flood.seconds),
            (6, 3, 3)
        );
        assert_eq!(a.vectors["SLOWLORIS"].unit, "Connections");
        assert_eq!(a.sources["127.0.0.9"], 6);
        // Nothing new: nothing drained.
        assert!(t.drain(104, 10).is_empty());
        // The same attack continues with the same id.
        t.observe(obs("lb-a", Vector::RequestFlood, "127.0.0.9", 105));
        let again = t.drain(105, 10);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].1.id, a.id);
        // Quiet for the period: ended at the last second plus one, then forgotten.
        let ended = t.drain(115, 10);
        assert_eq!(ended.len(), 2);
        let a_end = ended.iter().find(|(_, d)| d.resource == "lb-a").unwrap();
        assert_eq!(a_end.1.end, Some(106));
        assert!(t.drain(200, 10).is_empty());
        // A new observation opens a new attack.
        t.observe(obs("lb-a", Vector::RequestFlood, "127.0.0.9", 300));
        let fresh = t.drain(300, 10);
        assert_ne!(fresh[0].1.id, a.id);
    }

    #[test]
    fn sources_are_bounded() {
        let t = Tracker::default();
        for i in 0..300u32 {
            let ip = std::net::Ipv4Addr::from(0x7f00_0000 + i);
            t.observe(obs("lb", Vector::ConnectionFlood, &ip.to_string(), 1));
        }
        let (_, doc) = t.drain(1, 10).pop().unwrap();
        assert_eq!(doc.sources.len(), MAX_SOURCES + 1);
        assert_eq!(doc.sources["other"], 200);
    }

    #[test]
    fn mitigations_are_noted_once() {
        let t = Tracker::default();
        t.observe(obs("lb", Vector::RequestFlood, "127.0.0.2", 1));
        t.drain(1, 10);
        t.note_mitigation("lb", "rule");
        t.note_mitigation("lb", "rule");
        let (_, doc) = t.drain(2, 10).pop().unwrap();
        assert_eq!(doc.mitigations, vec!["rule".to_string()]);
    }
}
