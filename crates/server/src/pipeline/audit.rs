//! The audit record of one request, in CloudTrail's format.

use rampart_services::cloudtrail::event::{self, EventFacts};
use rampart_store::{AuditFields, AuditRecord, EncodedAudit};

/// Builds the store record (the CloudTrail event plus the columns `LookupEvents` filters on),
/// for a mutating call's own transaction.
pub fn record(facts: &EventFacts<'_>, account_id: Option<&str>) -> AuditRecord {
    let source = event_source(facts);
    fields(facts, account_id, &source).to_record(event::build(facts))
}

/// The same record built straight into its canonical bytes, for the audit writer: the event
/// JSON is written once, where it is hashed and stored.
pub fn encoded(facts: &EventFacts<'_>, account_id: Option<&str>) -> EncodedAudit {
    let source = event_source(facts);
    EncodedAudit::new(&fields(facts, account_id, &source), |out| {
        event::build_into(out, facts)
    })
}

fn event_source(facts: &EventFacts<'_>) -> String {
    facts.service.map(event::event_source).unwrap_or_default()
}

fn fields<'a>(
    facts: &'a EventFacts<'a>,
    account_id: Option<&'a str>,
    event_source: &'a str,
) -> AuditFields<'a> {
    AuditFields {
        event_id: facts.event_id,
        event_time: facts.event_time,
        event_name: facts.operation.unwrap_or_default(),
        event_source,
        username: facts.principal.map(|p| {
            if p.name.is_empty() {
                "root"
            } else {
                p.name.as_str()
            }
        }),
        access_key_id: facts
            .principal
            .map(|p| p.access_key_id.as_str())
            .or(facts.access_key_id),
        read_only: facts.read_only,
        error_code: facts.error.map(|(code, _)| code),
        account_id,
        resources: &[],
    }
}
