//! `RELATED_FINDING_GROUP`: the related findings of an investigation that belong together.
//!
//! Every related finding is on the investigated principal, so they all share that entity;
//! what ties two of them into one group is time and their other entities:
//!
//! - two findings are linked when their activity periods (first to last seen) are at most
//!   [`NEAR`] apart, or at most [`NEAR_SAME_ENTITY`] apart when they also share a source
//!   address or the API (resource) acted on;
//! - a group is a set of at least two findings connected by links (a finding linked to one
//!   of the group is in it).
//!
//! A group's `Id` is a UUID formed from a SHA-256 digest of its findings' ARNs, sorted: the
//! same findings make the same group in every investigation.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::indicators::{Indicator, RelatedFinding};

/// Greatest gap between two findings on the principal linked by time alone.
pub const NEAR: Duration = Duration::hours(1);
/// Greatest gap between two findings that also share an address or an API.
pub const NEAR_SAME_ENTITY: Duration = Duration::hours(24);

/// The time between two periods (zero when they overlap).
fn gap(a: &RelatedFinding, b: &RelatedFinding) -> Duration {
    let later_start: DateTime<Utc> = a.first_seen.max(b.first_seen);
    let earlier_end: DateTime<Utc> = a.last_seen.min(b.last_seen);
    (later_start - earlier_end).max(Duration::zero())
}

/// Whether two related findings are linked.
fn linked(a: &RelatedFinding, b: &RelatedFinding) -> bool {
    let shared = (a.ip.is_some() && a.ip == b.ip) || (a.api.is_some() && a.api == b.api);
    let within = if shared { NEAR_SAME_ENTITY } else { NEAR };
    gap(a, b) <= within
}

/// The groups of `findings`: each a list of indexes into it, in order.
pub fn group(findings: &[RelatedFinding]) -> Vec<Vec<usize>> {
    // Union-find over the pairs that are linked.
    let mut parent: Vec<usize> = (0..findings.len()).collect();
    fn root(parent: &[usize], mut i: usize) -> usize {
        while let Some(&p) = parent.get(i) {
            if p == i {
                break;
            }
            i = p;
        }
        i
    }
    for (i, a) in findings.iter().enumerate() {
        for (j, b) in findings.iter().enumerate().skip(i + 1) {
            if linked(a, b) {
                let (ri, rj) = (root(&parent, i), root(&parent, j));
                if let Some(slot) = parent.get_mut(rj.max(ri)) {
                    *slot = rj.min(ri);
                }
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in 0..findings.len() {
        let r = root(&parent, i);
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, members)) => members.push(i),
            None => groups.push((r, vec![i])),
        }
    }
    groups
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m.len() >= 2)
        .collect()
}

/// A group's id: a UUID from the digest of its findings' sorted ARNs.
pub fn group_id(arns: &[&str]) -> String {
    let mut sorted = arns.to_vec();
    sorted.sort_unstable();
    let text = sorted.join("\n");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let mut bytes = [0u8; 16];
    for (slot, b) in bytes.iter_mut().zip(digest.as_ref()) {
        *slot = *b;
    }
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The `RELATED_FINDING_GROUP` indicators of `findings`.
pub fn indicators(findings: &[RelatedFinding]) -> Vec<Indicator> {
    group(findings)
        .into_iter()
        .map(|members| {
            let arns: Vec<&str> = members
                .iter()
                .filter_map(|i| findings.get(*i))
                .map(|f| f.arn.as_str())
                .collect();
            Indicator {
                kind: "RELATED_FINDING_GROUP".into(),
                detail: json!({ "RelatedFindingGroupDetail": { "Id": group_id(&arns) } }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn finding(arn: &str, hour: u32, ip: Option<&str>, api: Option<&str>) -> RelatedFinding {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap();
        RelatedFinding {
            arn: arn.into(),
            kind: "PenTest:IAMUser/KaliLinux".into(),
            ip: ip.map(str::to_string),
            severity: 5.0,
            api: api.map(str::to_string),
            first_seen: at,
            last_seen: at + Duration::minutes(10),
        }
    }

    #[test]
    fn findings_near_in_time_or_sharing_an_address_group() {
        let found = [
            finding("a", 1, Some("10.0.0.1"), Some("GetCallerIdentity")),
            finding(
                "b",
                1,
                Some("10.0.0.2"),
                Some("UpdateAccountPasswordPolicy"),
            ),
            // Five hours later: too far for time alone, near enough with a shared address.
            finding("c", 6, Some("10.0.0.2"), None),
            // Apart from all.
            finding("d", 12, Some("10.0.0.9"), None),
        ];
        assert_eq!(group(&found), vec![vec![0, 1, 2]]);
        let ind = indicators(&found);
        assert_eq!(ind.len(), 1);
        assert_eq!(ind[0].kind, "RELATED_FINDING_GROUP");
        let id = ind[0].detail["RelatedFindingGroupDetail"]["Id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 36);
        // The same findings in another order make the same group.
        assert_eq!(id, group_id(&["c", "a", "b"]));
        assert_ne!(id, group_id(&["a", "b"]));
    }

    #[test]
    fn a_lone_finding_is_no_group() {
        assert!(group(&[finding("a", 1, None, None)]).is_empty());
        let apart = [finding("a", 1, None, None), finding("b", 5, None, None)];
        assert!(group(&apart).is_empty());
    }
}
