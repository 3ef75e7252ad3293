//! An audit record built straight into its canonical bytes (the chain's and the journal's
//! encoding), for callers that would otherwise fill an [`AuditRecord`] only to have it
//! encoded: the event JSON is written once, where it will be hashed and stored.

use chrono::{DateTime, Utc};

use crate::audit::{AuditRecord, AuditResource};
use crate::audit_chain::{append_fields, canonical_bytes};

/// The columns of a record that `LookupEvents` filters on, borrowed (an [`AuditRecord`]
/// without its event JSON).
#[derive(Debug, Clone, Copy)]
pub struct AuditFields<'a> {
    /// `eventID` (a UUID); unique.
    pub event_id: &'a str,
    /// `eventTime`; kept to the millisecond.
    pub event_time: DateTime<Utc>,
    /// `eventName`.
    pub event_name: &'a str,
    /// `eventSource`.
    pub event_source: &'a str,
    /// `LookupEvents`' `Username`, if known.
    pub username: Option<&'a str>,
    /// `userIdentity.accessKeyId`, if the caller signed with one.
    pub access_key_id: Option<&'a str>,
    /// `readOnly`.
    pub read_only: bool,
    /// `errorCode`, for failed or denied calls.
    pub error_code: Option<&'a str>,
    /// `recipientAccountId`.
    pub account_id: Option<&'a str>,
    /// The resources the event names.
    pub resources: &'a [AuditResource],
}

impl AuditRecord {
    /// The record's columns, borrowed.
    pub fn fields(&self) -> AuditFields<'_> {
        AuditFields {
            event_id: &self.event_id,
            event_time: self.event_time,
            event_name: &self.event_name,
            event_source: &self.event_source,
            username: self.username.as_deref(),
            access_key_id: self.access_key_id.as_deref(),
            read_only: self.read_only,
            error_code: self.error_code.as_deref(),
            account_id: self.account_id.as_deref(),
            resources: &self.resources,
        }
    }
}

impl AuditFields<'_> {
    /// An owned record of these columns and the event JSON.
    pub fn to_record(&self, event_json: String) -> AuditRecord {
        let owned = |v: Option<&str>| v.map(str::to_string);
        AuditRecord {
            event_id: self.event_id.to_string(),
            event_time: self.event_time,
            event_name: self.event_name.to_string(),
            event_source: self.event_source.to_string(),
            username: owned(self.username),
            access_key_id: owned(self.access_key_id),
            read_only: self.read_only,
            error_code: owned(self.error_code),
            account_id: owned(self.account_id),
            resources: self.resources.to_vec(),
            event_json,
        }
    }
}

/// A record in canonical bytes, its chain position left for the audit writer to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedAudit(pub(crate) Vec<u8>);

impl EncodedAudit {
    /// Encodes `fields`, then lets `json` append the complete CloudTrail event as UTF-8 JSON
    /// text. Bytes that are not UTF-8 are replaced (U+FFFD), so the journal only ever holds
    /// text its readers can decode.
    pub fn new(fields: &AuditFields<'_>, json: impl FnOnce(&mut Vec<u8>)) -> EncodedAudit {
        let mut out = Vec::with_capacity(1024);
        append_fields(&mut out, 0, fields);
        // The event is a length-prefixed string: a placeholder length, the text, then the
        // real length.
        out.push(1);
        let len_at = out.len();
        out.extend_from_slice(&[0u8; 8]);
        json(&mut out);
        let text_at = len_at + 8;
        // `from_utf8` first: its check is word-at-a-time, the lossy one byte-at-a-time.
        if let Some(fixed) = out
            .get(text_at..)
            .filter(|text| std::str::from_utf8(text).is_err())
            .map(|text| String::from_utf8_lossy(text).into_owned())
        {
            out.truncate(text_at);
            out.extend_from_slice(fixed.as_bytes());
        }
        let len = (out.len() - text_at) as u64;
        if let Some(slot) = out.get_mut(len_at..len_at + 8) {
            slot.copy_from_slice(&len.to_be_bytes());
        }
        EncodedAudit(out)
    }
}

impl From<&AuditRecord> for EncodedAudit {
    fn from(record: &AuditRecord) -> EncodedAudit {
        EncodedAudit(canonical_bytes(0, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            event_id: "01a20ee5-9fd6-7382-b880-695642331e37".into(),
            event_time: DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(),
            event_name: "GetCallerIdentity".into(),
            event_source: "sts.amazonaws.com".into(),
            username: Some("root".into()),
            access_key_id: Some("AKIAEXAMPLE".into()),
            read_only: true,
            error_code: None,
            account_id: Some("123456789012".into()),
            resources: vec![AuditResource {
                resource_type: Some("AWS::IAM::User".into()),
                resource_name: None,
            }],
            event_json: "{\"eventName\":\"GetCallerIdentity\",\"é\":1}".into(),
        }
    }

    #[test]
    fn built_in_place_encodes_as_the_record_does() {
        let r = record();
        let built = EncodedAudit::new(&r.fields(), |out| {
            out.extend_from_slice(r.event_json.as_bytes())
        });
        assert_eq!(built, EncodedAudit::from(&r));
        let empty = EncodedAudit::new(&r.fields(), |_| {});
        let mut no_json = r.clone();
        no_json.event_json.clear();
        assert_eq!(empty, EncodedAudit::from(&no_json));
        assert_eq!(r.fields().to_record(r.event_json.clone()), r);
    }

    #[test]
    fn an_event_that_is_not_utf8_is_stored_as_replaced_text() {
        let r = record();
        let built = EncodedAudit::new(&r.fields(), |out| {
            out.extend_from_slice(b"{\"a\":\"\xff\"}")
        });
        let mut fixed = r.clone();
        fixed.event_json = "{\"a\":\"\u{fffd}\"}".into();
        assert_eq!(built, EncodedAudit::from(&fixed));
    }
}
