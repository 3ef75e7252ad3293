//! The audit record of one request, in CloudTrail's format.

use rampart_services::cloudtrail::event::{self, EventFacts};
use rampart_store::{AuditRecord, AuditResource};

/// Builds the store record (the CloudTrail event plus the columns `LookupEvents` filters on).
pub fn record(facts: &EventFacts<'_>, account_id: Option<&str>) -> AuditRecord {
    let json = event::build(facts);
    let username = facts.principal.map(|p| {
        if p.name.is_empty() {
            "root".to_string()
        } else {
            p.name.clone()
        }
    });
    AuditRecord {
        event_id: facts.event_id.to_string(),
        event_time: facts.event_time,
        event_name: facts.operation.unwrap_or_default().to_string(),
        event_source: facts.service.map(event::event_source).unwrap_or_default(),
        username,
        access_key_id: facts
            .principal
            .map(|p| p.access_key_id.clone())
            .or_else(|| facts.access_key_id.map(str::to_string)),
        read_only: facts.read_only,
        error_code: facts.error.map(|(code, _)| code.to_string()),
        account_id: account_id.map(str::to_string),
        resources: Vec::<AuditResource>::new(),
        event_json: json,
    }
}
