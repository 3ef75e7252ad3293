//! What a sealed segment holds, in brief: its time range and the values of each lookup
//! attribute, so `LookupEvents` reads only the segments that can match. Written beside the
//! segment when it is sealed (`<segment>.sum`) and rebuilt from the segment if missing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::audit_lookup::{LookupAttribute, LookupQuery};
use crate::db::to_ms;
use crate::journal::frame::RecordView;

/// Distinct values kept per attribute; beyond that the attribute is "any" and the segment
/// is scanned whenever it is filtered on (event ids and resource names usually end there).
const MAX_VALUES: usize = 1024;

/// The summary of one sealed segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// First and last sequence numbers (0, 0 when empty).
    pub(crate) first_seq: i64,
    pub(crate) last_seq: i64,
    /// Records in the segment.
    pub(crate) count: u64,
    /// Earliest and latest `eventTime` (milliseconds).
    pub(crate) min_ms: i64,
    pub(crate) max_ms: i64,
    /// Values seen per attribute; `None` once there were too many to list.
    pub(crate) values: BTreeMap<String, Option<BTreeSet<String>>>,
}

/// The attribute names a summary keys its value sets by.
const ACCOUNT: &str = "account";

fn attribute_key(attr: LookupAttribute) -> Option<&'static str> {
    Some(match attr {
        LookupAttribute::EventName => "EventName",
        LookupAttribute::EventSource => "EventSource",
        LookupAttribute::Username => "Username",
        LookupAttribute::AccessKeyId => "AccessKeyId",
        LookupAttribute::ResourceType => "ResourceType",
        LookupAttribute::ResourceName => "ResourceName",
        // Unique per record or two-valued: a value list would not narrow anything.
        LookupAttribute::EventId | LookupAttribute::ReadOnly => return None,
    })
}

impl Summary {
    /// Adds one record.
    pub(crate) fn add(&mut self, r: &RecordView<'_>) {
        if self.count == 0 {
            self.first_seq = r.seq;
            self.min_ms = r.time_ms;
            self.max_ms = r.time_ms;
        }
        self.count += 1;
        self.last_seq = r.seq;
        self.min_ms = self.min_ms.min(r.time_ms);
        self.max_ms = self.max_ms.max(r.time_ms);
        self.note(ACCOUNT, r.account_id.unwrap_or(""));
        self.note("EventName", r.event_name);
        self.note("EventSource", r.event_source);
        if let Some(u) = r.username {
            self.note("Username", u);
        }
        if let Some(k) = r.access_key_id {
            self.note("AccessKeyId", k);
        }
        for (t, n) in &r.resources {
            if let Some(t) = t {
                self.note("ResourceType", t);
            }
            if let Some(n) = n {
                self.note("ResourceName", n);
            }
        }
    }

    fn note(&mut self, key: &str, value: &str) {
        // Looked up by &str: the key is allocated once per segment, not per record.
        let Some(slot) = self.values.get_mut(key) else {
            self.values
                .insert(key.to_string(), Some(BTreeSet::from([value.to_string()])));
            return;
        };
        if let Some(set) = slot {
            if !set.contains(value) {
                if set.len() >= MAX_VALUES {
                    *slot = None;
                } else {
                    set.insert(value.to_string());
                }
            }
        }
    }

    fn may_hold(&self, key: &str, value: &str) -> bool {
        match self.values.get(key) {
            Some(Some(set)) => set.contains(value),
            Some(None) => true,
            // No record had the attribute at all.
            None => false,
        }
    }

    /// False when no record of the segment can match `q` (ignoring pagination).
    pub(crate) fn may_match(&self, q: &LookupQuery) -> bool {
        if self.count == 0 {
            return false;
        }
        if q.start_time.is_some_and(|t| self.max_ms < to_ms(t))
            || q.end_time.is_some_and(|t| self.min_ms > to_ms(t))
        {
            return false;
        }
        if let Some(acct) = &q.account_id {
            if !self.may_hold(ACCOUNT, acct) {
                return false;
            }
        }
        match &q.attribute {
            Some((attr, value)) => match attribute_key(*attr) {
                Some(key) => self.may_hold(key, value),
                None => true,
            },
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(
        seq: i64,
        ms: i64,
        name: &'static str,
        user: Option<&'static str>,
    ) -> RecordView<'static> {
        RecordView {
            seq,
            event_id: "id",
            time_ms: ms,
            event_name: name,
            event_source: "iam.amazonaws.com",
            username: user,
            access_key_id: None,
            read_only: true,
            error_code: None,
            account_id: Some("123456789012"),
            resources: vec![(Some("AWS::IAM::User"), Some("bob"))],
            event_json: "{}",
        }
    }

    #[test]
    fn narrows_by_time_account_and_value() {
        let mut s = Summary::default();
        s.add(&view(5, 2_000, "GetUser", Some("alice")));
        s.add(&view(6, 1_000, "ListUsers", None));
        assert_eq!((s.first_seq, s.last_seq, s.count), (5, 6, 2));
        assert_eq!((s.min_ms, s.max_ms), (1_000, 2_000));
        let q = |attr: Option<(LookupAttribute, &str)>| LookupQuery {
            account_id: Some("123456789012".into()),
            attribute: attr.map(|(a, v)| (a, v.to_string())),
            ..Default::default()
        };
        assert!(s.may_match(&q(None)));
        assert!(s.may_match(&q(Some((LookupAttribute::EventName, "ListUsers")))));
        assert!(!s.may_match(&q(Some((LookupAttribute::EventName, "CreateUser")))));
        assert!(!s.may_match(&q(Some((LookupAttribute::AccessKeyId, "AKIA")))));
        assert!(s.may_match(&q(Some((LookupAttribute::ResourceName, "bob")))));
        assert!(s.may_match(&q(Some((LookupAttribute::EventId, "whatever")))));
        let other = LookupQuery {
            account_id: Some("999999999999".into()),
            ..Default::default()
        };
        assert!(!s.may_match(&other));
        let late = LookupQuery {
            start_time: chrono::DateTime::from_timestamp_millis(2_001),
            ..Default::default()
        };
        assert!(!s.may_match(&late));
    }

    #[test]
    fn too_many_values_means_any() {
        let mut s = Summary::default();
        let names: Vec<String> = (0..=MAX_VALUES).map(|i| format!("u{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            let mut v = view(i as i64 + 1, 1, "GetUser", None);
            v.username = Some(n.as_str());
            s.add(&v);
        }
        let q = LookupQuery {
            attribute: Some((LookupAttribute::Username, "never-seen".into())),
            ..Default::default()
        };
        assert!(s.may_match(&q));
    }
}
