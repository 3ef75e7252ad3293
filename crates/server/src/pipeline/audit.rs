//! The audit record of one request, in CloudTrail's format.

use rampart_services::{
    cloudtrail::event::{self, EventFacts},
    Principal, SideCall,
};
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

/// The facts of a call a service made on a caller's behalf (Secrets Manager's `kms:Decrypt`),
/// handed to `build`: the caller as `userIdentity` with `invokedBy` the calling service, which
/// is also the source address and user agent, and request and event ids of its own, as AWS
/// records it. One place for the request path's side calls and the server's own (built-in
/// rotation steps, replication).
pub(crate) fn on_behalf<T>(
    principal: &Principal,
    access_key_id: Option<&str>,
    region: &str,
    now: chrono::DateTime<chrono::Utc>,
    side: &SideCall,
    build: impl FnOnce(&EventFacts<'_>) -> T,
) -> T {
    let model =
        rampart_model::service(side.service).and_then(|s| Some((s, s.operation(side.operation)?)));
    let request_id = uuid::Uuid::new_v4().to_string();
    let event_id = super::new_event_id();
    build(&EventFacts {
        request_id: &request_id,
        event_id: &event_id,
        event_time: now,
        service: model.map(|(s, _)| s.signing_name),
        operation: Some(side.operation),
        region,
        source_ip: &side.invoked_by,
        user_agent: &side.invoked_by,
        principal: Some(principal),
        access_key_id,
        request_parameters: Some(&side.request_parameters),
        response_elements: None,
        error: side
            .error
            .as_ref()
            .map(|(code, message)| (*code, message.as_str())),
        read_only: side.read_only,
        model,
        invoked_by: Some(&side.invoked_by),
        data_resources: None,
    })
}

/// The record of a side call made during `call`, for the audit writer; `seen` is shown the
/// record's facts (its ids) first.
pub(super) fn side_call(
    call: &super::Call,
    side: &SideCall,
    seen: impl FnOnce(&EventFacts<'_>),
) -> Option<EncodedAudit> {
    let principal = call.principal.as_deref()?;
    Some(on_behalf(
        principal,
        call.access_key_id.as_deref(),
        &call.region,
        call.now,
        side,
        |facts| {
            seen(facts);
            encoded(facts, call.account_id.as_deref())
        },
    ))
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
        username: facts.principal.filter(|p| !p.is_service()).map(|p| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoded_record_is_the_record_encoded() {
        let params = serde_json::json!({"UserName": "alice", "Password": "hunter2"});
        for error in [None, Some(("AccessDenied", "User: x is not authorized"))] {
            let facts = EventFacts {
                request_id: "7b3e9b4a-0000-4000-8000-000000000001",
                event_id: "01a20ee5-9fd6-7382-b880-695642331e37",
                event_time: chrono::DateTime::from_timestamp_millis(1_700_000_000_123)
                    .unwrap_or_default(),
                service: Some("iam"),
                operation: Some("GetUser"),
                region: "us-east-1",
                source_ip: "127.0.0.1",
                user_agent: "aws-cli/2 \"quoted\" é",
                principal: None,
                access_key_id: Some("AKIAEXAMPLE"),
                request_parameters: Some(&params),
                response_elements: None,
                error,
                read_only: true,
                model: None,
                invoked_by: None,
                data_resources: None,
            };
            let record = record(&facts, Some("123456789012"));
            assert_eq!(record.event_source, "iam.amazonaws.com");
            assert_eq!(record.access_key_id.as_deref(), Some("AKIAEXAMPLE"));
            assert_eq!(record.error_code.as_deref(), error.map(|(c, _)| c));
            assert_eq!(
                encoded(&facts, Some("123456789012")),
                EncodedAudit::from(&record)
            );
        }
    }
}
